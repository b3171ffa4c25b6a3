/* urllist.c: category lists, the mapping to areas, the index and its atomic reload.
 *
 * The index is an open-addressing hash table of 64-bit words (linear probing, load at most
 * 3/4): 48 bits of hash and a 16-bit list number each, behind a Bloom filter small enough to
 * stay in the CPU's cache.  A domain entry's key is the hash of the
 * domain; a URL entry's key is the hash of "host/path[?query]" with a different seed.  A URL
 * is looked up by hashing each suffix of its host at a label boundary ("a.b.example.test",
 * "b.example.test", "example.test", "test") and each prefix of its path at a segment boundary,
 * so a lookup is a handful of probes, nearly all of them misses that touch one cache line.
 * No entry text is kept: the entry that matched is a piece of the URL itself, which keeps
 * 3 million domains in about 40 MB.  The seed is random per index, so nobody can craft a URL
 * that collides with a list entry. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ward/url.h>

#include "url_int.h"

#define MAX_LISTS       65535
#define MAX_ENTRIES     ((size_t)1 << 30)
#define READ_CHUNK      ((size_t)1 << 20)
#define MAP_MAX         ((size_t)1 << 20)
#define MAX_PATH_PROBES 64

enum { ACT_IGNORE = 0, ACT_FLAG, ACT_BLOCK, ACT_ALLOW };

typedef struct ulist {
	char category[64];
	char file[512];
	int area;   /* ward_area or -1 */
	int action; /* ACT_* */
} ulist;

/* One hash table.  While loading: full 64-bit hashes (0 marks an empty slot) and beside them
 * the list number of each.  Once sealed: one word a slot, the hash's high 48 bits and the list
 * number in the low 16, so a probe, hit or miss, reads one word. */
typedef struct utab {
	uint64_t *keys;
	uint16_t *vals;
	size_t cap, count;
	/* a blocked Bloom filter (two bits in one word, about 8 bits an entry) built once the
	 * table is loaded: it fits in the CPU's cache where the table does not, so most misses
	 * never touch the table */
	uint64_t *bloom;
	size_t bloom_mask;
} utab;

typedef struct uindex {
	utab dom, url; /* domains; URL entries (usually few, so their table stays in cache) */
	utab uhost;    /* the hosts that have URL entries: most URLs need no path probes */
	uint64_t seed_dom, seed_url;
	ulist *lists;
	size_t nlists, lists_cap;
	atomic_size_t refs;
} uindex;

typedef struct mapent {
	char category[64];
	int area, action;
} mapent;

struct ward_urllists {
	char *dir, *map;
	ward_list_warn_cb warn;
	void *ctx;
	pthread_mutex_t mu;
	uindex *cur;
};

uint64_t url_hash(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ull);
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, s, 8);
		h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
		s += 8;
		n -= 8;
	}
	uint64_t v = 0;
	memcpy(&v, s, n);
	h = (h ^ v) * 0x94d049bb133111ebull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	/* never 0 in the bits a sealed slot keeps (0 marks an empty slot) */
	return h >> 16 ? h : h | (uint64_t)1 << 63;
}

/* Large tables are aligned to 2 MiB and asked for huge pages: a random probe then costs one
 * cache miss instead of a cache miss and a page walk.  zero: clear the memory.  Caller frees
 * with free(). */
static void *big_alloc(size_t bytes, int zero)
{
	const size_t huge = (size_t)2 << 20;
	void *p = NULL;
	if (bytes < huge)
		return zero ? calloc(1, bytes) : malloc(bytes);
	if (posix_memalign(&p, huge, bytes) != 0)
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(p, bytes, MADV_HUGEPAGE);
#endif
	if (zero)
		memset(p, 0, bytes);
	return p;
}

static void idx_free(uindex *x)
{
	if (!x)
		return;
	free(x->dom.keys);
	free(x->dom.vals);
	free(x->dom.bloom);
	free(x->url.bloom);
	free(x->url.keys);
	free(x->url.vals);
	free(x->uhost.keys);
	free(x->uhost.vals);
	free(x->uhost.bloom);
	free(x->lists);
	free(x);
}

static ward_status tab_grow(utab *t)
{
	size_t ncap = t->cap ? t->cap * 2 : (size_t)1 << 10;
	uint64_t *nk = big_alloc(ncap * sizeof *nk, 1);
	uint16_t *nv = big_alloc(ncap * sizeof *nv, 0);
	if (!nk || !nv) {
		free(nk);
		free(nv);
		return WARD_ENOMEM;
	}
	size_t mask = ncap - 1;
	for (size_t i = 0; i < t->cap; i++) {
		uint64_t k = t->keys[i];
		if (!k)
			continue;
		size_t j = (size_t)k & mask;
		while (nk[j])
			j = (j + 1) & mask;
		nk[j] = k;
		nv[j] = t->vals[i];
	}
	free(t->keys);
	free(t->vals);
	t->keys = nk;
	t->vals = nv;
	t->cap = ncap;
	return WARD_OK;
}

static int act_rank(int act)
{
	return act == ACT_ALLOW ? 3 : act == ACT_BLOCK ? 2 : act == ACT_FLAG ? 1 : 0;
}

/* Adds hash h for list li.  When the key is already there, the list whose action ranks higher
 * (allow, block, flag) keeps it; on a tie the first loaded. */
static ward_status tab_add(utab *t, const ulist *lists, uint64_t h, uint16_t li)
{
	if ((t->count + 1) * 4 > t->cap * 3) {
		if (t->count >= MAX_ENTRIES)
			return WARD_ELIMIT;
		ward_status st = tab_grow(t);
		if (st != WARD_OK)
			return st;
	}
	size_t mask = t->cap - 1, j = (size_t)h & mask;
	while (t->keys[j]) {
		if (t->keys[j] == h) {
			if (act_rank(lists[li].action) > act_rank(lists[t->vals[j]].action))
				t->vals[j] = li;
			return WARD_OK;
		}
		j = (j + 1) & mask;
	}
	t->keys[j] = h;
	t->vals[j] = li;
	t->count++;
	return WARD_OK;
}

static inline uint64_t bloom_bits(uint64_t h)
{
	return ((uint64_t)1 << ((h >> 20) & 63)) | ((uint64_t)1 << ((h >> 26) & 63));
}

static inline size_t bloom_word(const utab *t, uint64_t h)
{
	return (size_t)(h >> 34) & t->bloom_mask;
}

static ward_status tab_seal(utab *t)
{
	size_t words = 64;
	while (words * 64 < t->count * 8 && words < ((size_t)1 << 32))
		words *= 2;
	t->bloom = big_alloc(words * sizeof *t->bloom, 1);
	if (!t->bloom)
		return WARD_ENOMEM;
	t->bloom_mask = words - 1;
	/* pack each list number into the low 16 bits of its slot, in place: a hit then reads
	 * one word.  The slot's position holds the low bits of the hash, the word the high 48,
	 * so two entries are confused only when 42 or more bits agree by chance. */
	for (size_t i = 0; i < t->cap; i++)
		if (t->keys[i]) {
			t->bloom[bloom_word(t, t->keys[i])] |= bloom_bits(t->keys[i]);
			t->keys[i] = (t->keys[i] & ~(uint64_t)0xffff) | t->vals[i];
		}
	free(t->vals);
	t->vals = NULL;
	return WARD_OK;
}

static inline int tab_maybe(const utab *t, uint64_t h)
{
	uint64_t b = bloom_bits(h);
	return (t->bloom[bloom_word(t, h)] & b) == b;
}

static inline void tab_prefetch(const utab *t, uint64_t h)
{
	size_t j = (size_t)h & (t->cap - 1);
	__builtin_prefetch(&t->keys[j]);
}

static inline int tab_find(const utab *t, uint64_t h)
{
	if (!t->count || !tab_maybe(t, h))
		return -1;
	const uint64_t key = h & ~(uint64_t)0xffff;
	size_t mask = t->cap - 1, j = (size_t)h & mask;
	for (;;) {
		uint64_t w = t->keys[j];
		if ((w & ~(uint64_t)0xffff) == key)
			return (int)(w & 0xffff);
		if (!w)
			return -1;
		j = (j + 1) & mask;
	}
}

/* ---- loading ---- */

typedef struct loader {
	uindex *x;
	const mapent *map;
	size_t nmap;
	int have_map;
	ward_list_warn_cb warn;
	void *ctx;
	const char *file;
	unsigned warned, suppressed;
} loader;

static void lwarn(loader *L, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void lwarn(loader *L, unsigned line, const char *fmt, ...)
{
	if (!L->warn)
		return;
	if (L->warned >= WARD_LIST_WARN_MAX) {
		L->suppressed++;
		return;
	}
	L->warned++;
	ward_diag d;
	memset(&d, 0, sizeof d);
	snprintf(d.file, sizeof d.file, "%s", L->file);
	d.line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d.message, sizeof d.message, fmt, ap);
	va_end(ap);
	L->warn(&d, L->ctx);
}

static void diag_set(ward_diag *d, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void diag_set(ward_diag *d, const char *file, unsigned line, const char *fmt, ...)
{
	if (!d)
		return;
	snprintf(d->file, sizeof d->file, "%s", file ? file : "");
	d->line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->message, sizeof d->message, fmt, ap);
	va_end(ap);
}

/* Printable copy of an entry for a message. */
static const char *shown(const char *s, size_t n, char *buf, size_t cap)
{
	size_t w = 0;
	for (size_t i = 0; i < n && w + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f) {
			snprintf(buf + w, cap - w, "\\x%02x", c);
			w += 4;
		} else {
			buf[w++] = (char)c;
		}
	}
	buf[w] = '\0';
	return buf;
}

static ward_status add_domain(loader *L, uint16_t li, const char *s, size_t n, unsigned line)
{
	char host[WARD_HOST_MAX + 64], sh[160];
	int is_ip;
	/* "*.example.test" and ".example.test" mean the domain and its subdomains: so does
	 * "example.test" */
	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		n -= 2;
	}
	while (n > 0 && s[0] == '.') {
		s++;
		n--;
	}
	char v6[WARD_HOST_MAX];
	unsigned char a6[16];
	if (n > 2 && n + 3 < sizeof v6 && memchr(s, ':', n) && s[0] != '[') {
		/* a bare IPv6 address: bracket it as in a URL */
		memcpy(v6 + 1, s, n);
		v6[n + 1] = '\0';
		if (inet_pton(AF_INET6, v6 + 1, a6) == 1) {
			v6[0] = '[';
			v6[n + 1] = ']';
			s = v6;
			n += 2;
		}
	}
	size_t hl = n ? url_canon_host(s, n, host, sizeof host, &is_ip) : 0;
	size_t alnum = 0;
	for (size_t i = 0; i < hl; i++)
		alnum += host[i] != '.' && host[i] != '-' && host[i] != '_';
	if (hl == 0 || alnum == 0) {
		lwarn(L, line, "not a domain name: %s", shown(s, n, sh, sizeof sh));
		return WARD_OK;
	}
	const char *h = host;
	if (!is_ip && hl > 4 && memcmp(h, "www.", 4) == 0) {
		h += 4;
		hl -= 4;
	}
	return tab_add(&L->x->dom, L->x->lists, url_hash(h, hl, L->x->seed_dom), li);
}

/* The key text of a URL entry or lookup: host without "www.", then path and query. */
static size_t url_key(const ward_url *u, char *buf, size_t cap, size_t *host_skip)
{
	const char *h = u->text + u->host_off;
	size_t hl = u->host_len, skip = 0;
	if (!u->is_ip && hl > 4 && memcmp(h, "www.", 4) == 0)
		skip = 4;
	size_t need = hl - skip + u->path_len + 1 + u->query_len;
	if (need + 1 > cap)
		return 0;
	size_t w = hl - skip;
	memcpy(buf, h + skip, w);
	memcpy(buf + w, u->text + u->path_off, u->path_len);
	w += u->path_len;
	if (u->query_len) {
		buf[w++] = '?';
		memcpy(buf + w, u->text + u->query_off, u->query_len);
		w += u->query_len;
	}
	buf[w] = '\0';
	*host_skip = skip;
	return w;
}

static ward_status add_url(loader *L, uint16_t li, const char *s, size_t n, unsigned line)
{
	ward_url u;
	char sh[160], key[WARD_LIST_LINE_MAX * 3 + 512];
	size_t skip;
	ward_status st = ward_url_canonicalise(s, n, &u);
	if (st == WARD_ENOMEM)
		return st;
	if (st != WARD_OK) {
		lwarn(L, line, "not a URL: %s", shown(s, n, sh, sizeof sh));
		return WARD_OK;
	}
	size_t kl = url_key(&u, key, sizeof key, &skip);
	size_t hl = u.host_len - skip;
	/* "host/dir/" is the prefix "host/dir"; "host/" stays the whole site */
	if (kl > hl + 1 && key[kl - 1] == '/' && !u.query_len)
		kl--;
	if (kl)
		st = tab_add(&L->x->url, L->x->lists, url_hash(key, kl, L->x->seed_url), li);
	if (kl && st == WARD_OK)
		st = tab_add(&L->x->uhost, L->x->lists, url_hash(key, hl, L->x->seed_url), li);
	ward_url_clear(&u);
	return st;
}

static int inet_pton_any(const char *s, unsigned char *a)
{
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static int is_ip_token(const char *s, size_t n)
{
	char buf[64];
	unsigned char a[16];
	if (n == 0 || n >= sizeof buf)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton_any(buf, a);
}

/* One list line: a domain, a hosts-file line or a URL.  url_file forces URLs. */
static ward_status add_line(loader *L, uint16_t li, char *s, size_t n, unsigned line, int url_file)
{
	ward_status st = WARD_OK;
	char sh[160];
	/* comments: whole-line, and " #..." after an entry */
	for (size_t i = 0; i < n; i++)
		if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
			n = i;
			break;
		}
	const char *tok[8];
	size_t tl[8];
	int nt = 0, extra = 0;
	for (size_t i = 0; i < n;) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i >= n)
			break;
		size_t b = i;
		while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			i++;
		if (nt < 8) {
			tok[nt] = s + b;
			tl[nt++] = i - b;
		} else {
			extra = 1;
		}
	}
	if (nt == 0)
		return WARD_OK;
	if (nt > 1 && is_ip_token(tok[0], tl[0])) {
		/* hosts file: address then names */
		for (int k = 1; k < nt && st == WARD_OK; k++) {
			static const char *skip[] = {
			    "localhost",     "localhost.localdomain", "local",  "broadcasthost",
			    "ip6-localhost", "ip6-loopback",          "0.0.0.0"};
			int sk = 0;
			for (size_t j = 0; j < sizeof skip / sizeof skip[0]; j++)
				if (strlen(skip[j]) == tl[k] && memcmp(skip[j], tok[k], tl[k]) == 0)
					sk = 1;
			if (!sk)
				st = add_domain(L, li, tok[k], tl[k], line);
		}
		if (extra)
			lwarn(L, line, "more than 7 names on a hosts line: the rest are skipped");
		return st;
	}
	if (nt > 1) {
		lwarn(L, line, "more than one entry on a line: %s", shown(s, n, sh, sizeof sh));
		return WARD_OK;
	}
	if (url_file || memchr(tok[0], '/', tl[0]))
		return add_url(L, li, tok[0], tl[0], line);
	return add_domain(L, li, tok[0], tl[0], line);
}

static const mapent *map_find(const loader *L, const char *cat)
{
	const mapent *star = NULL;
	for (size_t i = 0; i < L->nmap; i++) {
		if (strcmp(L->map[i].category, cat) == 0)
			return &L->map[i];
		if (strcmp(L->map[i].category, "*") == 0)
			star = &L->map[i];
	}
	return star;
}

/* Reads one list file as category cat.  A file that cannot be opened is an error. */
static ward_status load_file(loader *L, const char *path, const char *cat, int url_file,
                             ward_diag *diag)
{
	ward_status st = WARD_OK;
	char *buf = NULL;
	int fd = -1;
	int area = -1, action = ACT_BLOCK;
	if (L->have_map) {
		const mapent *m = map_find(L, cat);
		if (!m || m->action == ACT_IGNORE)
			return WARD_OK;
		area = m->area;
		action = m->action;
	} else {
		area = ward_area_from_id(cat);
	}
	uindex *x = L->x;
	if (x->nlists >= MAX_LISTS) {
		diag_set(diag, path, 0, "too many list files (at most %d)", MAX_LISTS);
		return WARD_ELIMIT;
	}
	if (x->nlists == x->lists_cap) {
		size_t nc = x->lists_cap ? x->lists_cap * 2 : 16;
		ulist *nl = realloc(x->lists, nc * sizeof *nl);
		if (!nl)
			return WARD_ENOMEM;
		x->lists = nl;
		x->lists_cap = nc;
	}
	uint16_t li = (uint16_t)x->nlists++;
	ulist *l = &x->lists[li];
	memset(l, 0, sizeof *l);
	snprintf(l->category, sizeof l->category, "%s", cat);
	snprintf(l->file, sizeof l->file, "%s", path);
	l->area = area;
	l->action = action;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		diag_set(diag, path, 0, "cannot open: %s", strerror(errno));
		st = errno == ENOENT ? WARD_ENOENT : WARD_EIO;
		goto done;
	}
	buf = malloc(READ_CHUNK + WARD_LIST_LINE_MAX + 1);
	if (!buf) {
		st = WARD_ENOMEM;
		goto done;
	}
	L->file = path;
	L->warned = L->suppressed = 0;
	size_t have = 0;
	unsigned line = 0;
	int skipping = 0, eof = 0;
	while (!eof) {
		ssize_t r = read(fd, buf + have, READ_CHUNK);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			diag_set(diag, path, line, "read failed: %s", strerror(errno));
			st = WARD_EIO;
			goto done;
		}
		if (r == 0) {
			eof = 1;
			if (have == 0)
				break;
			buf[have++] = '\n'; /* a last line without its newline */
		}
		have += (size_t)r;
		size_t pos = 0;
		for (;;) {
			char *nl = memchr(buf + pos, '\n', have - pos);
			if (!nl)
				break;
			size_t ll = (size_t)(nl - (buf + pos));
			if (skipping) {
				skipping = 0; /* tail of an overlong line: already reported */
			} else {
				line++;
				if (ll > WARD_LIST_LINE_MAX)
					lwarn(L, line, "line longer than %d bytes",
					      WARD_LIST_LINE_MAX);
				else if ((st = add_line(L, li, buf + pos, ll, line, url_file)) !=
				         WARD_OK)
					goto done;
			}
			pos += ll + 1;
		}
		memmove(buf, buf + pos, have - pos);
		have -= pos;
		if (have > WARD_LIST_LINE_MAX) {
			/* an overlong line: report it once, drop what we have, skip to its end */
			if (!skipping) {
				line++;
				lwarn(L, line, "line longer than %d bytes", WARD_LIST_LINE_MAX);
			}
			skipping = 1;
			have = 0;
		}
	}
	if (L->suppressed && L->warn) {
		ward_diag d;
		memset(&d, 0, sizeof d);
		snprintf(d.file, sizeof d.file, "%s", path);
		snprintf(d.message, sizeof d.message, "%u more broken lines not shown",
		         L->suppressed);
		L->warn(&d, L->ctx);
	}
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	return st;
}

static int skip_name(const char *n)
{
	static const char *ends[] = {".db", ".md", ".diff", ".gz", ".bak", "~"};
	if (n[0] == '.' || strncmp(n, "README", 6) == 0 || strncmp(n, "LICENSE", 7) == 0)
		return 1;
	size_t l = strlen(n);
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		size_t e = strlen(ends[i]);
		if (l >= e && strcmp(n + l - e, ends[i]) == 0)
			return 1;
	}
	return 0;
}

static void cat_of(const char *name, char *cat, size_t cap)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	size_t n = strcspn(base, ".");
	if (n == 0)
		n = strlen(base);
	if (n >= cap)
		n = cap - 1;
	memcpy(cat, base, n);
	cat[n] = '\0';
}

static ward_status load_dir(loader *L, const char *dir, const char *mapfile, ward_diag *diag)
{
	ward_status st = WARD_OK;
	struct dirent **ents = NULL;
	int n = 0;
	struct stat sb;
	char path[1024], cat[64];
	if (stat(dir, &sb) != 0) {
		diag_set(diag, dir, 0, "cannot open: %s", strerror(errno));
		return errno == ENOENT ? WARD_ENOENT : WARD_EIO;
	}
	if (!S_ISDIR(sb.st_mode)) {
		cat_of(dir, cat, sizeof cat);
		return load_file(L, dir, cat, 0, diag);
	}
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		diag_set(diag, dir, 0, "cannot read directory: %s", strerror(errno));
		return WARD_EIO;
	}
	for (int i = 0; i < n && st == WARD_OK; i++) {
		const char *nm = ents[i]->d_name;
		if (skip_name(nm))
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, nm) >= sizeof path) {
			diag_set(diag, dir, 0, "path too long: %s", nm);
			st = WARD_ETOOBIG;
			break;
		}
		if (mapfile && strcmp(path, mapfile) == 0)
			continue;
		if (stat(path, &sb) != 0)
			continue; /* a dangling link: nothing to load */
		if (S_ISDIR(sb.st_mode)) {
			/* squidGuard / UT1: CATEGORY/domains and CATEGORY/urls */
			static const char *files[] = {"domains", "urls"};
			snprintf(cat, sizeof cat, "%s", nm);
			for (int k = 0; k < 2 && st == WARD_OK; k++) {
				char fp[1100];
				snprintf(fp, sizeof fp, "%s/%s", path, files[k]);
				if (stat(fp, &sb) == 0 && S_ISREG(sb.st_mode))
					st = load_file(L, fp, cat, k == 1, diag);
			}
		} else if (S_ISREG(sb.st_mode)) {
			cat_of(nm, cat, sizeof cat);
			st = load_file(L, path, cat, 0, diag);
		}
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return st;
}

/* Reads the mapping file: "CATEGORY AREA ACTION" a line.  *out is the caller's (free()). */
static ward_status read_map(const char *path, mapent **out, size_t *count, ward_diag *diag)
{
	ward_status st = WARD_OK;
	FILE *f = NULL;
	mapent *m = NULL;
	size_t n = 0, cap = 0;
	char line[1024];
	unsigned ln = 0;
	struct stat sb;
	f = fopen(path, "re");
	if (!f) {
		diag_set(diag, path, 0, "cannot open: %s", strerror(errno));
		st = errno == ENOENT ? WARD_ENOENT : WARD_EIO;
		goto done;
	}
	if (fstat(fileno(f), &sb) == 0 && (size_t)sb.st_size > MAP_MAX) {
		diag_set(diag, path, 0, "mapping file larger than %zu bytes", MAP_MAX);
		st = WARD_ETOOBIG;
		goto done;
	}
	while (fgets(line, sizeof line, f)) {
		ln++;
		size_t l = strlen(line);
		if (l == sizeof line - 1 && line[l - 1] != '\n') {
			diag_set(diag, path, ln, "line too long");
			st = WARD_ESYNTAX;
			goto done;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *save = NULL, *c = strtok_r(line, " \t\r\n", &save);
		if (!c)
			continue;
		char *a = strtok_r(NULL, " \t\r\n", &save);
		char *act = a ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		char *more = act ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		if (!act || more) {
			diag_set(diag, path, ln, "expected CATEGORY AREA ACTION");
			st = WARD_ESYNTAX;
			goto done;
		}
		if (strlen(c) >= sizeof m->category) {
			diag_set(diag, path, ln, "category name too long");
			st = WARD_ESYNTAX;
			goto done;
		}
		int area = -1, action;
		if (strcmp(a, "-") != 0 && (area = ward_area_from_id(a)) < 0) {
			diag_set(diag, path, ln, "unknown area '%s' (see ward areas)", a);
			st = WARD_ESYNTAX;
			goto done;
		}
		if (strcmp(act, "block") == 0)
			action = ACT_BLOCK;
		else if (strcmp(act, "flag") == 0)
			action = ACT_FLAG;
		else if (strcmp(act, "allow") == 0)
			action = ACT_ALLOW;
		else if (strcmp(act, "ignore") == 0)
			action = ACT_IGNORE;
		else {
			diag_set(diag, path, ln,
			         "unknown action '%s' (block, flag, allow or ignore)", act);
			st = WARD_ESYNTAX;
			goto done;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			mapent *nm = realloc(m, nc * sizeof *nm);
			if (!nm) {
				st = WARD_ENOMEM;
				goto done;
			}
			m = nm;
			cap = nc;
		}
		snprintf(m[n].category, sizeof m[n].category, "%s", c);
		m[n].area = area;
		m[n].action = action;
		n++;
	}
	if (ferror(f)) {
		diag_set(diag, path, ln, "read failed");
		st = WARD_EIO;
	}
done:
	if (f)
		fclose(f);
	if (st == WARD_OK) {
		*out = m;
		*count = n;
	} else {
		free(m);
	}
	return st;
}

static ward_status build(const ward_urllists *l, uindex **out, ward_diag *diag)
{
	ward_status st = WARD_OK;
	mapent *map = NULL;
	size_t nmap = 0;
	uindex *x = calloc(1, sizeof *x);
	if (!x)
		return WARD_ENOMEM;
	if (getrandom(&x->seed_dom, sizeof x->seed_dom, 0) != sizeof x->seed_dom ||
	    getrandom(&x->seed_url, sizeof x->seed_url, 0) != sizeof x->seed_url) {
		x->seed_dom = 0x243f6a8885a308d3ull ^ (uint64_t)(uintptr_t)x;
		x->seed_url = 0x13198a2e03707344ull ^ (uint64_t)getpid();
	}
	if (l->map && (st = read_map(l->map, &map, &nmap, diag)) != WARD_OK)
		goto done;
	loader L = {.x = x,
	            .map = map,
	            .nmap = nmap,
	            .have_map = l->map != NULL,
	            .warn = l->warn,
	            .ctx = l->ctx};
	if ((st = tab_grow(&x->dom)) != WARD_OK || (st = tab_grow(&x->url)) != WARD_OK ||
	    (st = tab_grow(&x->uhost)) != WARD_OK)
		goto done;
	if (l->dir)
		st = load_dir(&L, l->dir, l->map, diag);
	if (st == WARD_OK && (st = tab_seal(&x->dom)) == WARD_OK &&
	    (st = tab_seal(&x->url)) == WARD_OK)
		st = tab_seal(&x->uhost);
done:
	free(map);
	if (st != WARD_OK) {
		idx_free(x);
		x = NULL;
	} else {
		atomic_init(&x->refs, 1);
	}
	*out = x;
	return st;
}

ward_status ward_urllists_load(const char *dir, const char *map, ward_list_warn_cb warn, void *ctx,
                               ward_urllists **out, ward_diag *diag)
{
	ward_status st = WARD_OK;
	ward_urllists *l = NULL;
	if (diag)
		memset(diag, 0, sizeof *diag);
	if (!out)
		return WARD_EINVAL;
	*out = NULL;
	l = calloc(1, sizeof *l);
	if (!l)
		return WARD_ENOMEM;
	pthread_mutex_init(&l->mu, NULL);
	l->warn = warn;
	l->ctx = ctx;
	if ((dir && !(l->dir = strdup(dir))) || (map && !(l->map = strdup(map)))) {
		st = WARD_ENOMEM;
		goto done;
	}
	st = build(l, &l->cur, diag);
done:
	if (st != WARD_OK) {
		ward_urllists_free(l);
		l = NULL;
	}
	*out = l;
	return st;
}

static uindex *acquire(ward_urllists *l)
{
	pthread_mutex_lock(&l->mu);
	uindex *x = l->cur;
	atomic_fetch_add(&x->refs, 1);
	pthread_mutex_unlock(&l->mu);
	return x;
}

static void release(uindex *x)
{
	if (x && atomic_fetch_sub(&x->refs, 1) == 1)
		idx_free(x);
}

ward_status ward_urllists_reload(ward_urllists *l, ward_diag *diag)
{
	uindex *x = NULL, *old;
	if (diag)
		memset(diag, 0, sizeof *diag);
	if (!l)
		return WARD_EINVAL;
	ward_status st = build(l, &x, diag);
	if (st != WARD_OK)
		return st;
	pthread_mutex_lock(&l->mu);
	old = l->cur;
	l->cur = x;
	pthread_mutex_unlock(&l->mu);
	release(old);
	return WARD_OK;
}

void ward_urllists_free(ward_urllists *l)
{
	if (!l)
		return;
	release(l->cur);
	pthread_mutex_destroy(&l->mu);
	free(l->dir);
	free(l->map);
	free(l);
}

size_t ward_urllists_entries(const ward_urllists *l)
{
	size_t n = 0;
	if (l) {
		uindex *x = acquire((ward_urllists *)l);
		n = x->dom.count + x->url.count;
		release(x);
	}
	return n;
}

size_t ward_urllists_categories(const ward_urllists *l)
{
	size_t n = 0;
	if (l) {
		uindex *x = acquire((ward_urllists *)l);
		for (size_t i = 0; i < x->nlists; i++) {
			size_t j = 0;
			while (j < i && strcmp(x->lists[j].category, x->lists[i].category) != 0)
				j++;
			n += j == i;
		}
		release(x);
	}
	return n;
}

/* ---- lookups ---- */

typedef struct hit {
	int li;
	int kind;
	size_t off, len;
} hit;

static void consider(const uindex *x, hit best[4], int li, int kind, size_t off, size_t len)
{
	int a = x->lists[li].action;
	if (a <= ACT_IGNORE || best[a].li >= 0)
		return;
	best[a] = (hit){li, kind, off, len};
}

static void url_lookups(const uindex *x, const ward_url *u, hit best[4], char *key, size_t keycap)
{
	size_t skip, kl = url_key(u, key, keycap, &skip);
	if (kl == 0)
		return;
	size_t hl = u->host_len - skip;
	/* where the key starts in the canonical text; the match is reported from there */
	size_t base = u->host_off + skip;
	size_t portlen = u->path_off - (u->host_off + u->host_len);
	size_t pathend = hl + u->path_len;
	size_t probes = 0;
	/* full URL with query, full path, then each shorter prefix at a '/' */
	if (u->query_len) {
		int li = tab_find(&x->url, url_hash(key, kl, x->seed_url));
		if (li >= 0)
			consider(x, best, li, 2, base, kl + portlen);
	}
	size_t e = pathend;
	if (e > hl + 1 && key[e - 1] == '/')
		e--;
	for (;;) {
		int li = tab_find(&x->url, url_hash(key, e, x->seed_url));
		if (li >= 0)
			consider(x, best, li, 2, base, e + portlen);
		if (e <= hl + 1 || ++probes > MAX_PATH_PROBES)
			break;
		size_t k = e - 1;
		while (k > hl && key[k] != '/')
			k--;
		e = k == hl ? hl + 1 : k; /* the root "host/" */
	}
}

typedef struct search_ctx {
	ward_url_result *r;
	ward_search_cb cb;
	void *ctx;
	const ward_rule_info *top;
} search_ctx;

static int on_search_finding(const ward_finding *f, void *ctx)
{
	search_ctx *s = ctx;
	s->r->search_findings++;
	if (!s->top || f->rule->severity > s->top->severity)
		s->top = f->rule;
	if (s->cb)
		s->cb(f, s->ctx);
	return 0;
}

void ward_url_result_clear(ward_url_result *r)
{
	if (!r)
		return;
	free(r->query);
	memset(r, 0, sizeof *r);
	r->area = -1;
}

#define PROBE_MAX (WARD_HOST_MAX / 2 + 2) /* most labels a host can have, and one */
#define BATCH     32

/* The domain probes of one URL: the hash of every host suffix at a label boundary. */
typedef struct probe {
	uint64_t hs[PROBE_MAX];
	uint16_t offs[PROBE_MAX];
	size_t np;
} probe;

/* Hashes every suffix and prefetches its Bloom word, so that the cache misses overlap
 * instead of following one another. */
static void probe_hash(const uindex *x, const ward_url *u, probe *p)
{
	const char *h = u->text + u->host_off;
	size_t hl = u->host_len;
	p->np = 0;
	for (size_t s = 0; s < hl && p->np < PROBE_MAX;) {
		uint64_t hv = url_hash(h + s, hl - s, x->seed_dom);
		__builtin_prefetch(&x->dom.bloom[bloom_word(&x->dom, hv)]);
		p->hs[p->np] = hv;
		p->offs[p->np++] = (uint16_t)s;
		if (u->is_ip)
			break;
		while (s < hl && h[s] != '.')
			s++;
		s++;
	}
}

/* Keeps the probes the Bloom filter lets through and prefetches their table slots. */
static void probe_filter(const uindex *x, probe *p)
{
	size_t nc = 0;
	for (size_t i = 0; i < p->np; i++)
		if (tab_maybe(&x->dom, p->hs[i])) {
			tab_prefetch(&x->dom, p->hs[i]);
			p->hs[nc] = p->hs[i];
			p->offs[nc++] = p->offs[i];
		}
	p->np = nc;
}

/* Looks up the URL entries and the filtered domain probes and fills r's verdict. */
static ward_status decide(const uindex *x, const ward_url *u, const probe *p, ward_url_result *r)
{
	ward_status st = WARD_OK;
	char stackkey[2048], *key = NULL;
	hit best[4];
	for (int i = 0; i < 4; i++)
		best[i].li = -1;
	const char *uh = u->text + u->host_off;
	size_t uhl = u->host_len;
	if (!u->is_ip && uhl > 4 && memcmp(uh, "www.", 4) == 0) {
		uh += 4;
		uhl -= 4;
	}
	if (x->url.count && tab_find(&x->uhost, url_hash(uh, uhl, x->seed_url)) >= 0) {
		size_t cap = u->host_len + u->path_len + u->query_len + 4;
		key = cap <= sizeof stackkey ? stackkey : malloc(cap);
		if (!key)
			return WARD_ENOMEM;
		url_lookups(x, u, best, key, cap);
	}
	for (size_t i = 0; i < p->np; i++) {
		int li = tab_find(&x->dom, p->hs[i]);
		if (li >= 0)
			consider(x, best, li, 1, u->host_off + p->offs[i],
			         u->host_len - p->offs[i]);
	}
	int pick = best[ACT_ALLOW].li >= 0   ? ACT_ALLOW
	           : best[ACT_BLOCK].li >= 0 ? ACT_BLOCK
	           : best[ACT_FLAG].li >= 0  ? ACT_FLAG
	                                     : -1;
	if (pick >= 0) {
		const hit *b = &best[pick];
		const ulist *ul = &x->lists[b->li];
		r->verdict = pick == ACT_ALLOW   ? WARD_VERDICT_ALLOW
		             : pick == ACT_BLOCK ? WARD_VERDICT_BLOCK
		                                 : WARD_VERDICT_FLAG;
		r->area = ul->area;
		r->matched_kind = b->kind;
		r->matched_off = b->off;
		r->matched_len = b->len;
		memcpy(r->category, ul->category, sizeof r->category);
		memcpy(r->list, ul->file, sizeof r->list);
	}
	if (key != stackkey)
		free(key);
	return st;
}

/* Empties r without touching its text buffers beyond their first byte. */
static void result_init(ward_url_result *r)
{
	r->verdict = WARD_VERDICT_ALLOW;
	r->area = -1;
	r->matched_kind = 0;
	r->category[0] = r->list[0] = '\0';
	r->matched_off = r->matched_len = 0;
	r->engine = NULL;
	r->query = NULL;
	r->query_len = 0;
	r->search_severity = WARD_SEV_LOW;
	r->search_findings = 0;
}

ward_status ward_urllists_check_many(ward_urllists *l, const ward_url *u, size_t n,
                                     ward_url_result *r)
{
	ward_status st = WARD_OK;
	uindex *x = NULL;
	probe *p = NULL;
	if ((!u || !r) && n)
		return WARD_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!u[i].text)
			return WARD_EINVAL;
		result_init(&r[i]);
	}
	if (!l || !n)
		return WARD_OK;
	p = malloc(BATCH * sizeof *p);
	if (!p)
		return WARD_ENOMEM;
	x = acquire(l);
	/* three passes over a batch: hash and prefetch filter words, filter and prefetch
	 * slots, probe: the memory latency of one URL hides behind the work on the others */
	for (size_t b = 0; b < n && st == WARD_OK; b += BATCH) {
		size_t m = n - b < BATCH ? n - b : BATCH;
		for (size_t i = 0; i < m; i++)
			probe_hash(x, &u[b + i], &p[i]);
		for (size_t i = 0; i < m; i++)
			probe_filter(x, &p[i]);
		for (size_t i = 0; i < m && st == WARD_OK; i++)
			st = decide(x, &u[b + i], &p[i], &r[b + i]);
	}
	release(x);
	free(p);
	return st;
}

ward_status ward_urllists_check(ward_urllists *l, const ward_url *u, ward_scanner *sc,
                                ward_search_cb cb, void *ctx, ward_url_result *r)
{
	ward_status st = WARD_OK;
	uindex *x = NULL;
	if (!u || !u->text || !r)
		return WARD_EINVAL;
	result_init(r);
	if (l) {
		probe p;
		x = acquire(l);
		probe_hash(x, u, &p);
		probe_filter(x, &p);
		if ((st = decide(x, u, &p, r)) != WARD_OK)
			goto done;
	}
	st = ward_search_query(u, &r->engine, &r->query, &r->query_len);
	if (st != WARD_OK)
		goto done;
	if (r->query && sc) {
		search_ctx s = {r, cb, ctx, NULL};
		st = ward_scan(sc, r->query, r->query_len, on_search_finding, &s);
		if (st != WARD_OK)
			goto done;
		if (s.top) {
			r->search_severity = s.top->severity;
			/* a search that the rules flag is reported even on an allowed site */
			if (r->verdict == WARD_VERDICT_ALLOW) {
				r->verdict = WARD_VERDICT_FLAG;
				r->area = (int)s.top->area;
				r->matched_kind = 3;
				snprintf(r->category, sizeof r->category, "search");
				snprintf(r->list, sizeof r->list, "%s",
				         s.top->file ? s.top->file : "");
				r->matched_off = u->query_off;
				r->matched_len = u->query_len;
			}
		}
	}
done:
	release(x);
	if (st != WARD_OK)
		ward_url_result_clear(r);
	return st;
}
