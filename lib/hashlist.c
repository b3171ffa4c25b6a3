/* hashlist.c: hash lists and their indexes.  PDQ hashes go into a multi-index hash table
 * (Norouzi et al.): the 256 bits split into 16 chunks of 16 bits, each with a bucket table,
 * so a query within distance D probes, in each chunk, every value within D/16 bits of its
 * own chunk (pigeonhole: some chunk of a match differs in at most that many bits).  On 10
 * million random hashes at D = 31 this reads a few tens of thousands of candidates instead
 * of all 10 million (bench/image measures both).  Exact hashes live in an open-addressed
 * table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_int.h"

#define HL_MAX_ENTRIES (200u * 1000 * 1000)
#define HL_MAX_LABELS  (1u << 31) /* bytes of labels */
#define HL_LINE_MAX    4096
#define HL_LABEL_MAX   255
#define MIH_CHUNKS     16

typedef struct entry_meta {
	uint32_t label; /* offset into labels */
	uint32_t line;
	int8_t area;
} entry_meta;

typedef struct exact_list {
	size_t n, cap, len; /* len: bytes per hash */
	uint8_t *hashes;
	entry_meta *meta;
	uint32_t *table; /* open addressing: entry + 1, 0 empty */
	size_t tsize;    /* power of two */
	int dirty;
} exact_list;

struct ward_hashlist {
	size_t npdq, cap;
	ward_pdq_hash *pdq;
	entry_meta *pmeta;
	uint32_t *mih_off; /* MIH_CHUNKS * 65537 */
	uint32_t *mih_ids; /* MIH_CHUNKS * npdq */
	int pdq_dirty;
	exact_list exact[3]; /* md5, sha1, sha256 */
	char *labels;
	size_t labels_len, labels_cap;
};

static const size_t exact_len[3] = {16, 20, 32};

const char *ward_hash_kind_name(ward_hash_kind k)
{
	static const char *names[] = {"pdq", "md5", "sha1", "sha256"};
	return (unsigned)k < 4 ? names[k] : "?";
}

/* Caller frees with ward_hashlist_free. */
ward_status ward_hashlist_new(ward_hashlist **out)
{
	ward_status st = WARD_OK;
	ward_hashlist *hl = NULL;
	if (!out) {
		st = WARD_EINVAL;
		goto done;
	}
	hl = calloc(1, sizeof *hl);
	if (!hl) {
		st = WARD_ENOMEM;
		goto done;
	}
	for (int k = 0; k < 3; k++)
		hl->exact[k].len = exact_len[k];
	/* Offset 0 is the empty label. */
	hl->labels = malloc(64);
	if (!hl->labels) {
		st = WARD_ENOMEM;
		goto done;
	}
	hl->labels[0] = '\0';
	hl->labels_len = 1;
	hl->labels_cap = 64;
	*out = hl;
	hl = NULL;
done:
	ward_hashlist_free(hl);
	return st;
}

void ward_hashlist_free(ward_hashlist *hl)
{
	if (!hl)
		return;
	free(hl->pdq);
	free(hl->pmeta);
	free(hl->mih_off);
	free(hl->mih_ids);
	for (int k = 0; k < 3; k++) {
		free(hl->exact[k].hashes);
		free(hl->exact[k].meta);
		free(hl->exact[k].table);
	}
	free(hl->labels);
	free(hl);
}

static ward_status add_label(ward_hashlist *hl, const char *label, uint32_t *off)
{
	ward_status st = WARD_OK;
	size_t n = label ? strnlen(label, HL_LABEL_MAX) : 0;
	*off = 0;
	if (n == 0)
		goto done;
	if (hl->labels_len + n + 1 > HL_MAX_LABELS) {
		st = WARD_ELIMIT;
		goto done;
	}
	if (hl->labels_len + n + 1 > hl->labels_cap) {
		size_t c = hl->labels_cap * 2;
		while (c < hl->labels_len + n + 1)
			c *= 2;
		char *p = realloc(hl->labels, c);
		if (!p) {
			st = WARD_ENOMEM;
			goto done;
		}
		hl->labels = p;
		hl->labels_cap = c;
	}
	memcpy(hl->labels + hl->labels_len, label, n);
	hl->labels[hl->labels_len + n] = '\0';
	*off = (uint32_t)hl->labels_len;
	hl->labels_len += n + 1;
done:
	return st;
}

static ward_status grow(void **p, size_t *cap, size_t need, size_t size)
{
	ward_status st = WARD_OK;
	if (need <= *cap)
		goto done;
	size_t c = *cap ? *cap * 2 : 1024;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * size);
	if (!q) {
		st = WARD_ENOMEM;
		goto done;
	}
	*p = q;
	*cap = c;
done:
	return st;
}

static ward_status add_entry(ward_hashlist *hl, ward_hash_kind kind, const uint8_t *hash,
                             const char *label, int area, unsigned line)
{
	ward_status st = WARD_OK;
	entry_meta m = {0, line, (int8_t)(area >= 0 && area < WARD_AREA_COUNT ? area : -1)};
	if (!hl || !hash || (unsigned)kind > WARD_HASH_SHA256) {
		st = WARD_EINVAL;
		goto done;
	}
	st = add_label(hl, label, &m.label);
	if (st != WARD_OK)
		goto done;
	if (kind == WARD_HASH_PDQ) {
		if (hl->npdq >= HL_MAX_ENTRIES) {
			st = WARD_ELIMIT;
			goto done;
		}
		size_t c1 = hl->cap, c2 = hl->cap;
		st = grow((void **)&hl->pdq, &c1, hl->npdq + 1, sizeof *hl->pdq);
		if (st == WARD_OK)
			st = grow((void **)&hl->pmeta, &c2, hl->npdq + 1, sizeof *hl->pmeta);
		if (st != WARD_OK)
			goto done;
		hl->cap = c1 < c2 ? c1 : c2;
		memcpy(&hl->pdq[hl->npdq], hash, sizeof(ward_pdq_hash));
		hl->pmeta[hl->npdq++] = m;
		hl->pdq_dirty = 1;
	} else {
		exact_list *e = &hl->exact[kind - 1];
		if (e->n >= HL_MAX_ENTRIES) {
			st = WARD_ELIMIT;
			goto done;
		}
		size_t c1 = e->cap, c2 = e->cap;
		st = grow((void **)&e->hashes, &c1, e->n + 1, e->len);
		if (st == WARD_OK)
			st = grow((void **)&e->meta, &c2, e->n + 1, sizeof *e->meta);
		if (st != WARD_OK)
			goto done;
		e->cap = c1 < c2 ? c1 : c2;
		memcpy(e->hashes + e->n * e->len, hash, e->len);
		e->meta[e->n++] = m;
		e->dirty = 1;
	}
done:
	return st;
}

/* hash is copied; label copied. */
ward_status ward_hashlist_add(ward_hashlist *hl, ward_hash_kind kind, const uint8_t *hash,
                              const char *label, int area)
{
	return add_entry(hl, kind, hash, label, area, 0);
}

ward_status ward_hashlist_add_pdq(ward_hashlist *hl, const ward_pdq_hash *h, const char *label,
                                  int area)
{
	return add_entry(hl, WARD_HASH_PDQ, (const uint8_t *)h, label, area, 0);
}

size_t ward_hashlist_count(const ward_hashlist *hl, ward_hash_kind k)
{
	if (!hl || (unsigned)k > WARD_HASH_SHA256)
		return 0;
	return k == WARD_HASH_PDQ ? hl->npdq : hl->exact[k - 1].n;
}

size_t ward_hashlist_memory(const ward_hashlist *hl)
{
	size_t m = 0;
	if (!hl)
		return 0;
	m += sizeof *hl + hl->cap * (sizeof(ward_pdq_hash) + sizeof(entry_meta)) + hl->labels_cap;
	if (hl->mih_off)
		m +=
		    sizeof(uint32_t) * ((size_t)MIH_CHUNKS * 65537 + (size_t)MIH_CHUNKS * hl->npdq);
	for (int k = 0; k < 3; k++)
		m += hl->exact[k].cap * (hl->exact[k].len + sizeof(entry_meta)) +
		     hl->exact[k].tsize * sizeof(uint32_t);
	return m;
}

static uint64_t exact_key(const uint8_t *h)
{
	uint64_t k;
	memcpy(&k, h, 8); /* the hashes are already uniform */
	return k;
}

static ward_status build_exact(exact_list *e)
{
	ward_status st = WARD_OK;
	size_t ts = 16;
	while (ts < e->n * 2)
		ts *= 2;
	uint32_t *t = calloc(ts, sizeof *t);
	if (!t) {
		st = WARD_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < e->n; i++) {
		size_t s = exact_key(e->hashes + i * e->len) & (ts - 1);
		while (t[s])
			s = (s + 1) & (ts - 1);
		t[s] = (uint32_t)i + 1;
	}
	free(e->table);
	e->table = t;
	e->tsize = ts;
	e->dirty = 0;
done:
	return st;
}

static ward_status build_mih(ward_hashlist *hl)
{
	ward_status st = WARD_OK;
	size_t n = hl->npdq;
	uint32_t *off = calloc((size_t)MIH_CHUNKS * 65537, sizeof *off);
	uint32_t *ids = malloc(sizeof *ids * (n ? n : 1) * MIH_CHUNKS);
	if (!off || !ids) {
		st = WARD_ENOMEM;
		goto done;
	}
	for (int c = 0; c < MIH_CHUNKS; c++) {
		uint32_t *o = off + (size_t)c * 65537;
		for (size_t i = 0; i < n; i++)
			o[hl->pdq[i].w[c] + 1]++;
		for (size_t v = 0; v < 65536; v++)
			o[v + 1] += o[v];
		uint32_t *id = ids + (size_t)c * n;
		/* Fill using o[v] as a cursor, then shift back. */
		for (size_t i = 0; i < n; i++)
			id[o[hl->pdq[i].w[c]]++] = (uint32_t)i;
		for (size_t v = 65536; v > 0; v--)
			o[v] = o[v - 1];
		o[0] = 0;
	}
	free(hl->mih_off);
	free(hl->mih_ids);
	hl->mih_off = off;
	hl->mih_ids = ids;
	off = NULL;
	ids = NULL;
	hl->pdq_dirty = 0;
done:
	free(off);
	free(ids);
	return st;
}

ward_status ward_hashlist_build(ward_hashlist *hl)
{
	ward_status st = WARD_OK;
	if (!hl) {
		st = WARD_EINVAL;
		goto done;
	}
	if (hl->pdq_dirty || !hl->mih_off)
		st = build_mih(hl);
	for (int k = 0; k < 3 && st == WARD_OK; k++)
		if (hl->exact[k].dirty || !hl->exact[k].table)
			st = build_exact(&hl->exact[k]);
done:
	return st;
}

static int report(ward_hashlist *hl, ward_hash_kind kind, size_t i, int dist, ward_hash_match_fn fn,
                  void *ctx)
{
	const entry_meta *m = kind == WARD_HASH_PDQ ? &hl->pmeta[i] : &hl->exact[kind - 1].meta[i];
	ward_hash_match r = {kind,    i,    hl->labels + m->label,
	                     m->area, dist, kind == WARD_HASH_PDQ ? &hl->pdq[i] : NULL,
	                     m->line};
	return fn(&r, ctx);
}

/* Hamming distance, inlined in the candidate loop. */
static inline int dist256(const ward_pdq_hash *a, const ward_pdq_hash *b)
{
	uint64_t x[4], y[4];
	memcpy(x, a, 32);
	memcpy(y, b, 32);
	return __builtin_popcountll(x[0] ^ y[0]) + __builtin_popcountll(x[1] ^ y[1]) +
	       __builtin_popcountll(x[2] ^ y[2]) + __builtin_popcountll(x[3] ^ y[3]);
}

/* Enumerates chunk values within r bits of v (r <= 2) into out; returns how many. */
static int neighbours(uint16_t v, int r, uint16_t *out)
{
	int n = 0;
	out[n++] = v;
	if (r >= 1)
		for (int a = 0; a < 16; a++)
			out[n++] = (uint16_t)(v ^ (1u << a));
	if (r >= 2)
		for (int a = 0; a < 16; a++)
			for (int b = a + 1; b < 16; b++)
				out[n++] = (uint16_t)(v ^ (1u << a) ^ (1u << b));
	return n;
}

ward_status ward_hashlist_query_pdq(ward_hashlist *hl, const ward_pdq_hash *h, int max_distance,
                                    ward_hash_match_fn fn, void *ctx)
{
	ward_status st = WARD_OK;
	if (!hl || !h || !fn || max_distance < 0) {
		st = WARD_EINVAL;
		goto done;
	}
	int r = max_distance / MIH_CHUNKS;
	if (r > 2) {
		/* Wide radius: the index would probe more than it saves; scan. */
		for (size_t i = 0; i < hl->npdq; i++) {
			int d = ward_pdq_distance(h, &hl->pdq[i]);
			if (d <= max_distance && report(hl, WARD_HASH_PDQ, i, d, fn, ctx)) {
				st = WARD_ESTOPPED;
				goto done;
			}
		}
		goto done;
	}
	if (hl->pdq_dirty || !hl->mih_off) {
		st = build_mih(hl);
		if (st != WARD_OK)
			goto done;
	}
	uint16_t probes[1 + 16 + 120];
	for (int c = 0; c < MIH_CHUNKS; c++) {
		const uint32_t *o = hl->mih_off + (size_t)c * 65537;
		const uint32_t *ids = hl->mih_ids + (size_t)c * hl->npdq;
		int np = neighbours(h->w[c], r, probes);
		/* Candidates are random reads into a large array: a second cursor runs 16 ahead
		 * across all the probed buckets, so many cache misses overlap. */
		int pr = 0;
		uint32_t pk = o[probes[0]];
		for (int ahead = 0; ahead < 16; ahead++) {
			while (pr < np && pk >= o[probes[pr] + 1])
				if (++pr < np)
					pk = o[probes[pr]];
			if (pr >= np)
				break;
			__builtin_prefetch(&hl->pdq[ids[pk++]]);
		}
		for (int p = 0; p < np; p++) {
			uint16_t v = probes[p];
			for (uint32_t k = o[v], end = o[v + 1]; k < end; k++) {
				while (pr < np && pk >= o[probes[pr] + 1])
					if (++pr < np)
						pk = o[probes[pr]];
				if (pr < np)
					__builtin_prefetch(&hl->pdq[ids[pk++]]);
				uint32_t i = ids[k];
				const ward_pdq_hash *e = &hl->pdq[i];
				int d = dist256(h, e);
				if (d > max_distance)
					continue;
				/* Reported already from an earlier chunk that was also within r? */
				int seen = 0;
				for (int c2 = 0; c2 < c && !seen; c2++)
					seen = __builtin_popcount(
					           (unsigned)(h->w[c2] ^ e->w[c2])) <= r;
				if (!seen && report(hl, WARD_HASH_PDQ, i, d, fn, ctx)) {
					st = WARD_ESTOPPED;
					goto done;
				}
			}
		}
	}
done:
	return st;
}

static ward_status query_exact(ward_hashlist *hl, ward_hash_kind kind, const uint8_t *h,
                               ward_hash_match_fn fn, void *ctx)
{
	ward_status st = WARD_OK;
	exact_list *e = &hl->exact[kind - 1];
	if (e->n == 0)
		goto done;
	if (e->dirty || !e->table) {
		st = build_exact(e);
		if (st != WARD_OK)
			goto done;
	}
	for (size_t s = exact_key(h) & (e->tsize - 1); e->table[s]; s = (s + 1) & (e->tsize - 1)) {
		size_t i = e->table[s] - 1;
		if (memcmp(e->hashes + i * e->len, h, e->len) == 0 &&
		    report(hl, kind, i, 0, fn, ctx)) {
			st = WARD_ESTOPPED;
			goto done;
		}
	}
done:
	return st;
}

typedef struct dedup_ctx {
	ward_hash_match_fn fn;
	void *ctx;
	uint32_t *seen; /* PDQ entries already reported (dihedral variants) */
	size_t nseen, cap;
} dedup_ctx;

static int dedup_cb(const ward_hash_match *m, void *c)
{
	dedup_ctx *d = c;
	for (size_t i = 0; i < d->nseen; i++)
		if (d->seen[i] == m->entry)
			return 0;
	if (d->nseen < d->cap)
		d->seen[d->nseen++] = (uint32_t)m->entry;
	return d->fn(m, d->ctx);
}

/* ih is read, not kept. */
ward_status ward_hashlist_match(ward_hashlist *hl, const ward_image_hashes *ih, int max_distance,
                                ward_hash_match_fn fn, void *ctx)
{
	ward_status st = WARD_OK;
	uint32_t seen[4096];
	dedup_ctx d = {fn, ctx, seen, 0, sizeof seen / sizeof seen[0]};
	if (!hl || !ih || !fn) {
		st = WARD_EINVAL;
		goto done;
	}
	st = query_exact(hl, WARD_HASH_MD5, ih->md5, fn, ctx);
	if (st == WARD_OK)
		st = query_exact(hl, WARD_HASH_SHA1, ih->sha1, fn, ctx);
	if (st == WARD_OK)
		st = query_exact(hl, WARD_HASH_SHA256, ih->sha256, fn, ctx);
	if (st != WARD_OK || hl->npdq == 0 || ih->format == NULL)
		goto done;
	st = ward_hashlist_query_pdq(hl, &ih->pdq, max_distance, dedup_cb, &d);
	/* Dihedral variants, when computed: a rotated or mirrored copy of a listed image. */
	for (int v = 1; v < WARD_PDQ_DIHEDRAL_COUNT && st == WARD_OK; v++) {
		static const ward_pdq_hash zero;
		if (memcmp(&ih->dihedral[v], &zero, sizeof zero) == 0)
			continue;
		st = ward_hashlist_query_pdq(hl, &ih->dihedral[v], max_distance, dedup_cb, &d);
	}
done:
	return st == WARD_ESTOPPED ? WARD_OK : st;
}

/* ---- The list reader ---- */

static void warn_line(ward_hashlist_warn_fn warn, void *ctx, const char *name, unsigned line,
                      const char *msg, size_t *bad)
{
	ward_diag d;
	if (bad)
		(*bad)++;
	if (!warn)
		return;
	snprintf(d.file, sizeof d.file, "%s", name ? name : "");
	d.line = line;
	snprintf(d.message, sizeof d.message, "%s", msg);
	warn(&d, ctx);
}

static int is_sep(char c)
{
	return c == ',' || c == '\t' || c == ' ' || c == ';';
}

static int parse_hex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n / 2; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			int x = c >= '0' && c <= '9'   ? c - '0'
			        : c >= 'a' && c <= 'f' ? c - 'a' + 10
			        : c >= 'A' && c <= 'F' ? c - 'A' + 10
			                               : -1;
			if (x < 0)
				return -1;
			v = v << 4 | x;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* One line (NUL-free, no newline).  Returns WARD_OK or an error that stops the load
 * (only running out of memory or a limit); bad lines are reported and skipped. */
static ward_status parse_line(ward_hashlist *hl, const char *name, unsigned lineno, const char *s,
                              size_t n, ward_hashlist_warn_fn warn, void *ctx, size_t *bad)
{
	ward_status st = WARD_OK;
	const char *tok[3];
	size_t tl[3];
	int nt = 0;
	size_t i = 0;
	char msg[160];
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n || s[i] == '#')
		goto done;
	while (i < n && nt < 3) {
		size_t j = i;
		while (j < n && !is_sep(s[j]))
			j++;
		tok[nt] = s + i;
		tl[nt++] = j - i;
		i = j;
		while (i < n && is_sep(s[i]))
			i++;
	}
	if (i < n) {
		warn_line(warn, ctx, name, lineno, "too many fields (HASH [LABEL [AREA]])", bad);
		goto done;
	}
	const char *h = tok[0];
	size_t hl_ = tl[0];
	ward_hash_kind kind;
	int forced = -1;
	static const struct {
		const char *p;
		ward_hash_kind k;
	} prefixes[] = {{"pdq:", WARD_HASH_PDQ},
	                {"md5:", WARD_HASH_MD5},
	                {"sha1:", WARD_HASH_SHA1},
	                {"sha256:", WARD_HASH_SHA256}};
	for (size_t p = 0; p < 4; p++) {
		size_t pl = strlen(prefixes[p].p);
		if (hl_ > pl && strncasecmp(h, prefixes[p].p, pl) == 0) {
			forced = (int)prefixes[p].k;
			h += pl;
			hl_ -= pl;
			break;
		}
	}
	if (forced < 0 && hl_ == 4 && strncasecmp(h, "hash", 4) == 0)
		goto done; /* a CSV header */
	if (forced >= 0)
		kind = (ward_hash_kind)forced;
	else if (hl_ == 64)
		kind = WARD_HASH_PDQ;
	else if (hl_ == 32)
		kind = WARD_HASH_MD5;
	else if (hl_ == 40)
		kind = WARD_HASH_SHA1;
	else {
		snprintf(msg, sizeof msg,
		         "a hash of %zu characters is not PDQ (64), MD5 (32) or SHA-1 (40); "
		         "write sha256:HEX for SHA-256",
		         hl_);
		warn_line(warn, ctx, name, lineno, msg, bad);
		goto done;
	}
	size_t want = kind == WARD_HASH_PDQ ? 64 : exact_len[kind - 1] * 2;
	uint8_t bytes[32];
	if (hl_ != want) {
		snprintf(msg, sizeof msg, "a %s hash has %zu hex digits, not %zu",
		         ward_hash_kind_name(kind), hl_, want);
		warn_line(warn, ctx, name, lineno, msg, bad);
		goto done;
	}
	if (kind == WARD_HASH_PDQ) {
		ward_pdq_hash p;
		if (ward_pdq_from_hex(h, hl_, &p) != WARD_OK) {
			warn_line(warn, ctx, name, lineno, "not a hexadecimal hash", bad);
			goto done;
		}
		memcpy(bytes, &p, sizeof p);
	} else if (parse_hex(h, hl_, bytes) != 0) {
		warn_line(warn, ctx, name, lineno, "not a hexadecimal hash", bad);
		goto done;
	}
	char label[HL_LABEL_MAX + 1] = "";
	int area = -1;
	if (nt >= 2) {
		if (tl[1] > HL_LABEL_MAX) {
			warn_line(warn, ctx, name, lineno, "label longer than 255 bytes", bad);
			goto done;
		}
		memcpy(label, tok[1], tl[1]);
		label[tl[1]] = '\0';
	}
	if (nt == 3) {
		char a[64];
		if (tl[2] >= sizeof a || (memcpy(a, tok[2], tl[2]), a[tl[2]] = '\0',
		                          (area = ward_area_from_id(a)) < 0)) {
			snprintf(msg, sizeof msg, "unknown area '%.40s' (see `ward areas`)",
			         tl[2] < sizeof a ? a : "(too long)");
			warn_line(warn, ctx, name, lineno, msg, bad);
			goto done;
		}
	}
	st = add_entry(hl, kind, bytes, label, area, lineno);
done:
	return st;
}

/* buf is read, not kept. */
ward_status ward_hashlist_load_mem(ward_hashlist *hl, const char *name, const char *buf, size_t len,
                                   ward_hashlist_warn_fn warn, void *ctx, size_t *bad)
{
	ward_status st = WARD_OK;
	unsigned lineno = 0;
	size_t i = 0;
	if (!hl || (!buf && len)) {
		st = WARD_EINVAL;
		goto done;
	}
	while (i < len && st == WARD_OK) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - buf) : len;
		size_t n = e - i;
		lineno++;
		if (n && buf[i + n - 1] == '\r')
			n--;
		if (n > HL_LINE_MAX)
			warn_line(warn, ctx, name, lineno, "line longer than 4096 bytes", bad);
		else if (memchr(buf + i, '\0', n))
			warn_line(warn, ctx, name, lineno, "NUL byte in line", bad);
		else
			st = parse_line(hl, name, lineno, buf + i, n, warn, ctx, bad);
		i = e + 1;
	}
done:
	return st;
}

/* path is read, not kept.  Lines are read into a fixed buffer: a line over the limit is
 * reported and skipped without growing memory. */
ward_status ward_hashlist_load(ward_hashlist *hl, const char *path, ward_hashlist_warn_fn warn,
                               void *ctx, size_t *bad)
{
	ward_status st = WARD_OK;
	FILE *f = NULL;
	char line[HL_LINE_MAX + 2];
	unsigned lineno = 0;
	if (!hl || !path) {
		st = WARD_EINVAL;
		goto done;
	}
	f = fopen(path, "re");
	if (!f) {
		st = errno == ENOENT ? WARD_ENOENT : WARD_EIO;
		goto done;
	}
	for (;;) {
		size_t n = 0;
		int c = 0, toolong = 0, nul = 0;
		while ((c = getc_unlocked(f)) != EOF && c != '\n') {
			if (n < sizeof line - 1)
				line[n++] = (char)c;
			else
				toolong = 1;
			nul |= c == '\0';
		}
		if (c == EOF && n == 0 && !toolong)
			break;
		lineno++;
		if (n && line[n - 1] == '\r')
			n--;
		if (toolong || n > HL_LINE_MAX)
			warn_line(warn, ctx, path, lineno, "line longer than 4096 bytes", bad);
		else if (nul)
			warn_line(warn, ctx, path, lineno, "NUL byte in line", bad);
		else
			st = parse_line(hl, path, lineno, line, n, warn, ctx, bad);
		if (st != WARD_OK || c == EOF)
			break;
	}
	if (st == WARD_OK && ferror(f))
		st = WARD_EIO;
done:
	if (f)
		fclose(f);
	return st;
}
