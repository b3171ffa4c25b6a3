/*
 * engine.c: compiling rule databases to Vectorscan and scanning text with them.
 *
 * A scan normalises a block of input (normalise.c), runs the compiled database over the
 * normalised bytes, then applies the rule logic that a regex engine cannot: all-of terms
 * within a window of words, and "unless" phrases near a finding.  Neither window reaches
 * across a blank line, the end of a paragraph.
 *
 * All-of terms are often common words ("he", "send", "your"), and unless phrases only matter
 * next to a finding, so they are not searched everywhere.  The main database holds the
 * triggers and, for each combination, one term (its anchor: the term the rule names with
 * "anchor K", else its most specific; ward rules anchors finds the rarest); each combination
 * has a near database of its other terms, run only over the words around its own anchor's
 * hits; each rule with unless phrases has an unless database of them, run only around
 * those of its candidate findings that would otherwise be reported.  A small database over a
 * few words is much faster than a large one, and finds no other rule's phrases to be sorted
 * and thrown away.
 *
 * A near or unless database of plain phrases only is matched without Vectorscan, by a small
 * table built at load time (build_direct): over a region of a few words, an hs_scan call's
 * fixed cost is most of its time.  Its hits are Vectorscan's (tests hold it to them).
 *
 * Asking Vectorscan for the start of every regex match (SOM) slows the whole database
 * several times over, so regexes run without it; when one matches, a database of the
 * regexes with SOM runs over a few words before the match's end to find where it starts.
 * Word positions come from a bitmap of the spaces in the normalised block, so a hit's word
 * index, and the region k words around it, cost a popcount, not a walk.  Each finding is
 * mapped back to byte offsets in the original input.  Large inputs are cut into blocks at
 * line or word boundaries with an overlap, so memory stays bounded and nothing is reported
 * twice.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hs.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <nettle/sha2.h>

#include "text_int.h"

#define BLOCK         ((size_t)1 << 20) /* input bytes scanned at once */
#define OVERLAP       ((size_t)2048)    /* bytes re-scanned across a cut */
#define MAX_HITS      ((size_t)1 << 22) /* per block; beyond this, hits are dropped */
#define MAX_RULE_FILE ((size_t)16 << 20)
#define UNLESS_WINDOW 8
#define SAMPLE_CHUNK  ((size_t)1 << 20) /* bytes of a sample file read at once (anchors) */

/* The databases: main (triggers and anchor terms) runs over everything; som (the regexes
 * with start of match) before a regex's end; one near database per combination (its other
 * terms), run only around that combination's anchor hits; and one unless database per rule
 * with unless phrases, run only around that rule's candidate findings.  In e->db: main, som,
 * then the near ones (NEAR_DB), then the unless ones (UNLESS_DB).  All but main may be NULL.
 * DB_NEAR and DB_UNLESS are also the kinds of pattern in e->which. */
enum which { DB_MAIN, DB_SOM, DB_NEAR, DB_UNLESS };
#define NEAR_DB(e, c)   ((size_t)DB_NEAR + (c))
#define UNLESS_DB(e, r) ((size_t)DB_NEAR + (e)->rs.ncombos + (r))

struct ward_engine {
	ruleset rs;
	hs_database_t **db; /* ndb of them: main, som, one per combination, one per rule */
	size_t ndb;
	uint16_t *anchor;     /* per combo: the term index in the main database */
	uint32_t *span;       /* per combo: the most words in one of its phrases */
	uint32_t unless_span; /* the most words in one unless phrase */
	uint8_t *which;       /* per pattern: its database (DB_MAIN, DB_NEAR or DB_UNLESS) */
	bool *open_end;       /* per pattern: a phrase ending in a prefix word ("photo*") */
	uint32_t *group;      /* per pattern: its group of equal unless patterns */
	struct direct **direct; /* per database: its direct matcher, or NULL (build_direct) */
	bool forced;          /* every combination anchors on term force % nterms (tests) */
	unsigned force;
};

/* Every Vectorscan scan is given SCAN_PAD bytes more than the span it is asked about, and
 * matches that end beyond the span are dropped.  Debian's Vectorscan 5.4.9 can miss a literal
 * match when the buffer ends a few tens of bytes after it (a literal across a 64-byte boundary
 * close to the end; about 0.5% of short random texts with one literal, with small databases and
 * with ones the size of the main database; Intel Hyperscan 5.4.0 does not).  With 32 bytes
 * more after the span, no miss was seen in several million such texts; SCAN_PAD doubles that.
 * The extra bytes are the block's own text after a region, or, after the block's end, the zero
 * bytes norm_run leaves there (NORM_PAD), which no pattern matches.  The direct matcher
 * (build_direct) has no such miss and is given no padding. */
#define SCAN_PAD NORM_PAD

#define NO_START  UINT32_MAX
#define SOM_WORDS 64 /* how far back a regex's start is looked for */
#define SOM_BYTES 4096

typedef struct region {
	uint32_t start, end;
	uint32_t tag; /* the combination (near) or rule (unless) whose hit made it */
} region;

typedef struct hit {
	uint32_t pat;
	uint32_t from, to;   /* normalised offsets, trimmed of boundary spaces */
	uint32_t wfrom, wto; /* word indexes of from and to */
	uint32_t para;       /* paragraph of from: breaks before it in the block */
} hit;

typedef struct cand {
	uint32_t rule;
	uint32_t from, to, wfrom, wto;
} cand;

struct ward_scanner {
	const ward_engine *e;
	hs_scratch_t *scratch;
	bool exhaustive; /* near and unless databases over whole blocks (scanner_set_exhaustive) */
	bool no_direct;  /* Vectorscan even where a direct matcher exists (scanner_set_direct) */
	bool spaced;     /* spacebits and spacecount are those of the block in nb (space_index) */
	uint64_t *counts; /* per pattern: term occurrences (count_terms), or NULL: a normal scan */
	norm_buf nb;
	hit *hits;
	size_t nhits, caphits;
	bool hits_overflow;
	cand *cands;
	size_t ncands, capcands;
	cand *ctmp; /* capcands of them: candidates being sorted */
	region *regions;
	size_t nregions, capregions;
	region *rtmp; /* capregions of them: near regions grouped by combination */
	uint32_t *ccount; /* per combination, then one more: a counting sort's counts */
	uint64_t *keys; /* sort keys, then as many of scratch */
	size_t capkeys;
	uint64_t *spacebits;  /* index_words: spaces of the normalised block, a bit each */
	uint32_t *spacecount; /* spaces before each 64-byte chunk */
	size_t nchunks, capspace;
	uint32_t *breaks; /* find_breaks: the word after each paragraph break */
	size_t nbreaks, capbreaks;
	uint32_t region_base; /* added to offsets reported by the near database */
	uint32_t region_len;  /* the span asked about: later matches are in SCAN_PAD, dropped */
	/* streaming */
	ward_finding_cb cb;
	void *ctx;
	char *sbuf;
	size_t slen;
	uint64_t sbase, sline, reported_upto;
	bool streaming;
};

/* ---------- loading ---------- */

static ward_status read_file(const char *path, char **out, size_t *len, ward_diag *diag)
{
	ward_status st = WARD_OK;
	char *buf = NULL;
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		diag_set(diag, path, 0, "%s", strerror(errno));
		return errno == ENOENT ? WARD_ENOENT : WARD_EIO;
	}
	if (fstat(fd, &sb) != 0) {
		diag_set(diag, path, 0, "%s", strerror(errno));
		st = WARD_EIO;
		goto done;
	}
	if ((size_t)sb.st_size > MAX_RULE_FILE) {
		diag_set(diag, path, 0, "rule file larger than %zu MB", MAX_RULE_FILE >> 20);
		st = WARD_ETOOBIG;
		goto done;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		st = WARD_ENOMEM;
		goto done;
	}
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)sb.st_size - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			diag_set(diag, path, 0, "read failed: %s",
			         k < 0 ? strerror(errno) : "file shrank");
			st = WARD_EIO;
			goto done;
		}
		got += (size_t)k;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
done:
	free(buf);
	close(fd);
	return st;
}

static int rules_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 6 && strcmp(d->d_name + n - 6, ".rules") == 0;
}

static ward_status parse_path(ruleset *rs, const char *path, ward_diag *diag)
{
	ward_status st = WARD_OK;
	struct stat sb;
	struct dirent **list = NULL;
	int n = 0;
	char *text = NULL;
	size_t len = 0;
	if (stat(path, &sb) != 0) {
		diag_set(diag, path, 0, "%s", strerror(errno));
		return errno == ENOENT ? WARD_ENOENT : WARD_EIO;
	}
	if (!S_ISDIR(sb.st_mode)) {
		if ((st = read_file(path, &text, &len, diag)) == WARD_OK)
			st = rules_parse(rs, text, len, path, diag);
		goto done;
	}
	n = scandir(path, &list, rules_filter, alphasort);
	if (n < 0) {
		diag_set(diag, path, 0, "%s", strerror(errno));
		st = WARD_EIO;
		n = 0;
		goto done;
	}
	if (n == 0) {
		diag_set(diag, path, 0, "no .rules files in this directory");
		st = WARD_ENOENT;
		goto done;
	}
	for (int i = 0; i < n && st == WARD_OK; i++) {
		char full[4096];
		int k = snprintf(full, sizeof full, "%s/%s", path, list[i]->d_name);
		if (k < 0 || (size_t)k >= sizeof full) {
			diag_set(diag, path, 0, "path too long");
			st = WARD_EINVAL;
			break;
		}
		free(text);
		text = NULL;
		if ((st = read_file(full, &text, &len, diag)) == WARD_OK)
			st = rules_parse(rs, text, len, full, diag);
	}
done:
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	free(text);
	return st;
}

/* ---------- compiling and the cache ---------- */

static int cache_dir(char *buf, size_t n)
{
	const char *d = getenv("WARD_CACHE_DIR");
	int k;
	if (d && *d)
		k = snprintf(buf, n, "%s", d);
	else if ((d = getenv("XDG_CACHE_HOME")) && *d)
		k = snprintf(buf, n, "%s/ward", d);
	else if ((d = getenv("HOME")) && *d)
		k = snprintf(buf, n, "%s/.cache/ward", d);
	else
		return -1;
	return (k < 0 || (size_t)k >= n) ? -1 : 0;
}

static int cache_path(const ward_engine *e, char *buf, size_t n)
{
	char dir[3072];
	uint8_t key[32];
	char hex[65];
	struct sha256_ctx c;
	hs_platform_info_t plat;
	if (cache_dir(dir, sizeof dir) != 0)
		return -1;
	memset(&plat, 0, sizeof plat);
	hs_populate_platform(&plat);
	sha256_init(&c);
	sha256_update(&c, sizeof e->rs.digest, e->rs.digest);
	sha256_update(&c, strlen(hs_version()), (const uint8_t *)hs_version());
	sha256_update(&c, sizeof plat, (const uint8_t *)&plat);
	sha256_update(&c, strlen(WARD_VERSION), (const uint8_t *)WARD_VERSION);
	sha256_digest(&c, sizeof key, key);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	int k = snprintf(buf, n, "%s/rules-%s.hsdb", dir, hex);
	return (k < 0 || (size_t)k >= n) ? -1 : 0;
}

static int mkdir_p(const char *dir)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s", dir);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return (mkdir(tmp, 0700) != 0 && errno != EEXIST) ? -1 : 0;
}

/* The cache file: "WARDHS7\0", the number of databases as a 64-bit count, then for each
 * database (main, som, the near one of each combination, the unless one of each rule) a
 * 64-bit length and its serialised bytes (a length of 0 for a missing one).  Change the magic
 * when the layout or the way patterns are split between the databases changes (an anchor
 * named in the rules needs no change: it is in the source, so in the key). */
static const char CACHE_MAGIC[8] = "WARDHS7";

static void cache_load(ward_engine *e, const char *path)
{
	char *buf = NULL;
	size_t len = 0, at = sizeof CACHE_MAGIC;
	uint64_t count;
	hs_database_t **dbs = calloc(e->ndb, sizeof *dbs);
	if (!dbs || read_file(path, &buf, &len, NULL) != WARD_OK)
		goto done;
	if (len < at + sizeof count || memcmp(buf, CACHE_MAGIC, sizeof CACHE_MAGIC) != 0)
		goto done;
	memcpy(&count, buf + at, sizeof count);
	at += sizeof count;
	if (count != e->ndb)
		goto done;
	for (size_t i = 0; i < e->ndb; i++) {
		uint64_t n;
		if (len - at < sizeof n)
			goto done;
		memcpy(&n, buf + at, sizeof n);
		at += sizeof n;
		if (n > len - at)
			goto done;
		if (n && hs_deserialize_database(buf + at, (size_t)n, &dbs[i]) != HS_SUCCESS)
			goto done;
		at += (size_t)n;
	}
	if (!dbs[DB_MAIN] || at != len)
		goto done;
	for (size_t i = 0; i < e->ndb; i++) {
		e->db[i] = dbs[i];
		dbs[i] = NULL;
	}
done:
	for (size_t i = 0; dbs && i < e->ndb; i++)
		hs_free_database(dbs[i]);
	free(dbs);
	free(buf);
}

static int write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	while (len > 0) {
		ssize_t k = write(fd, c, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Best effort: a cache that cannot be written only makes the next start slower. */
static void cache_store(const ward_engine *e, const char *path)
{
	char **bytes = calloc(e->ndb, sizeof *bytes);
	size_t *len = calloc(e->ndb, sizeof *len);
	char dir[4096], tmp[4200];
	int fd = -1, ok = 0;
	uint64_t count = e->ndb;
	if (!bytes || !len)
		goto done;
	for (size_t i = 0; i < e->ndb; i++)
		if (e->db[i] && hs_serialize_database(e->db[i], &bytes[i], &len[i]) != HS_SUCCESS)
			goto done;
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	if (mkdir_p(dir) != 0 ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		goto done;
	ok = write_all(fd, CACHE_MAGIC, sizeof CACHE_MAGIC) == 0 &&
	     write_all(fd, &count, sizeof count) == 0;
	for (size_t i = 0; i < e->ndb && ok; i++) {
		uint64_t n = len[i];
		ok = write_all(fd, &n, sizeof n) == 0 && write_all(fd, bytes[i], len[i]) == 0;
	}
	if (close(fd) == 0 && ok)
		rename(tmp, path);
	unlink(tmp);
done:
	for (size_t i = 0; bytes && i < e->ndb; i++)
		free(bytes[i]);
	free(bytes);
	free(len);
}

/* Unless patterns by expression, boundary check, then index (so a group's first is its
 * lowest index). */
static int cmp_unless_pat(const void *a, const void *b, void *arg)
{
	const pat *pats = arg, *x = &pats[*(const uint32_t *)a], *y = &pats[*(const uint32_t *)b];
	int c = strcmp(x->expr, y->expr);
	if (c == 0)
		c = (int)x->is_regex - (int)y->is_regex;
	if (c == 0)
		c = (int)x->check_end - (int)y->check_end;
	if (c == 0 && *(const uint32_t *)a != *(const uint32_t *)b)
		c = *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
	return c;
}

static bool same_unless(const pat *x, const pat *y)
{
	return x->is_regex == y->is_regex && x->check_end == y->check_end &&
	       x->litlen == y->litlen && strcmp(x->expr, y->expr) == 0;
}

/* Groups equal unless patterns (same expression, same boundary check), so that a rule that
 * lists one phrase twice compiles it once. */
static ward_status plan_unless(ward_engine *e)
{
	const ruleset *rs = &e->rs;
	ward_status st = WARD_ENOMEM;
	size_t nu = 0, ng = 0;
	uint32_t *idx = calloc(rs->npats + 1, sizeof *idx);
	e->group = calloc(rs->npats + 1, sizeof *e->group);
	if (!idx || !e->group)
		goto done;
	for (size_t i = 0; i < rs->npats; i++)
		if (rs->pats[i].kind == PAT_UNLESS)
			idx[nu++] = (uint32_t)i;
	qsort_r(idx, nu, sizeof *idx, cmp_unless_pat, rs->pats);
	for (size_t k = 0; k < nu; k++) {
		if (k == 0 || !same_unless(&rs->pats[idx[k - 1]], &rs->pats[idx[k]]))
			ng++;
		e->group[idx[k]] = (uint32_t)(ng - 1);
	}
	st = WARD_OK;
done:
	free(idx);
	return st;
}

/* How many words a pattern's matches can cover: one more than the spaces it holds (escaped
 * as \x20; a regex's boundary spaces make this an overestimate, which is safe). */
static uint32_t pat_words(const pat *p)
{
	uint32_t n = 1;
	for (const char *c = p->expr; (c = strstr(c, "\\x20")) != NULL; c += 4)
		n++;
	return n;
}

/* Chooses each combination's anchor, and marks which patterns go to the near database.  The
 * anchor is the term its rule names ("anchor K"), else the term whose shortest phrase is
 * longest (the most specific, so often the rarest in ordinary text); tests force each term
 * in turn.  Any anchor gives the same findings: it only decides where the near database
 * runs. */
static ward_status plan(ward_engine *e)
{
	const ruleset *rs = &e->rs;
	e->anchor = calloc(rs->ncombos ? rs->ncombos : 1, sizeof *e->anchor);
	e->which = calloc(rs->npats ? rs->npats : 1, sizeof *e->which);
	e->span = calloc(rs->ncombos ? rs->ncombos : 1, sizeof *e->span);
	e->open_end = calloc(rs->npats ? rs->npats : 1, sizeof *e->open_end);
	size_t *shortest = calloc(rs->ncombos * COMBO_MAX_TERMS + 1, sizeof *shortest);
	if (!e->anchor || !e->which || !e->span || !e->open_end || !shortest) {
		free(shortest);
		return WARD_ENOMEM;
	}
	for (size_t i = 0; i < rs->npats; i++) {
		const pat *p = &rs->pats[i];
		uint32_t words = pat_words(p);
		/* a phrase's literal without its end checked, or its regex without the closing
		 * space, ends in a prefix word */
		size_t el = strlen(p->expr);
		e->open_end[i] =
		    p->src && (p->is_regex ? el < 4 || strcmp(p->expr + el - 4, "\\x20") != 0
		                           : !p->check_end);
		if (p->kind == PAT_UNLESS && words > e->unless_span)
			e->unless_span = words;
		if (p->kind != PAT_TERM)
			continue;
		if (words > e->span[p->combo])
			e->span[p->combo] = words;
		size_t len = p->src ? strlen(p->src) : strlen(p->expr);
		size_t *m = &shortest[p->combo * COMBO_MAX_TERMS + p->term];
		if (*m == 0 || len < *m)
			*m = len;
	}
	for (size_t c = 0; c < rs->ncombos; c++) {
		const combo *cb = &rs->combos[c];
		const size_t *sh = &shortest[c * COMBO_MAX_TERMS];
		uint16_t best = 0;
		for (uint16_t t = 1; t < cb->nterms; t++)
			if (sh[t] > sh[best])
				best = t;
		if (cb->anchor)
			best = (uint16_t)(cb->anchor - 1);
		if (e->forced)
			best = (uint16_t)(e->force % cb->nterms);
		e->anchor[c] = best;
	}
	for (size_t i = 0; i < rs->npats; i++) {
		const pat *p = &rs->pats[i];
		e->which[i] = p->kind == PAT_UNLESS                                   ? DB_UNLESS
		              : p->kind == PAT_TERM && p->term != e->anchor[p->combo] ? DB_NEAR
		                                                                      : DB_MAIN;
	}
	free(shortest);
	e->ndb = UNLESS_DB(e, rs->nrules);
	if (!(e->db = calloc(e->ndb, sizeof *e->db)) ||
	    !(e->direct = calloc(e->ndb, sizeof *e->direct)))
		return WARD_ENOMEM;
	return plan_unless(e);
}

static enum which db_kind(const ward_engine *e, size_t d)
{
	return d < DB_NEAR ? (enum which)d : d < UNLESS_DB(e, 0) ? DB_NEAR : DB_UNLESS;
}

/* The patterns of database d, in ids (room for every pattern); returns how many: main, each
 * combination's near one and each rule's unless one as planned (a rule's unless phrase
 * listed twice only once); som, every regex. */
static size_t db_pats(const ward_engine *e, size_t d, unsigned *ids)
{
	enum which which = db_kind(e, d);
	size_t k = 0;
	for (size_t i = 0; i < e->rs.npats; i++) {
		bool take = which == DB_SOM ? e->rs.pats[i].is_regex : e->which[i] == which;
		if (which == DB_NEAR && NEAR_DB(e, e->rs.pats[i].combo) != d)
			take = false;
		if (which == DB_UNLESS && UNLESS_DB(e, e->rs.pats[i].rule) != d)
			take = false;
		for (size_t j = 0; take && which == DB_UNLESS && j < k; j++)
			take = e->group[ids[j]] != e->group[i];
		if (take)
			ids[k++] = (unsigned)i;
	}
	return k;
}

/* The direct matcher of a near or unless database whose patterns are all literals: an
 * hs_scan call costs about 70 ns before it reads a byte, and these databases run over
 * regions of a few words (about 150 bytes), some 170,000 times in 64 MB of text.  Every
 * literal is matched as Vectorscan matches it (a space, then its bytes), so a match starts at
 * a space of the normalised block: the scan walks the block's space bitmap over the region,
 * looks up the three bytes after each space in a bit filter of the three bytes the literals
 * can start with (most spaces stop there), hashes the two bytes after a space that passes to
 * a bucket of the literals that begin with them, and compares each: its first eight bytes
 * (with the space after a shorter one whose end is checked) at once, then the rest.  Built
 * at load time from the ruleset, never cached; a database with a regex keeps Vectorscan. */
#define DM_BUCKETS 256u
typedef struct dlit {
	uint64_t head, mask; /* the first 8 bytes (fewer: zeros) and a mask of those it has */
	uint32_t pat;        /* pattern id, as Vectorscan reports it */
	uint32_t len;        /* bytes after the space */
	uint32_t off;        /* into bytes */
	bool check_end;      /* the pattern's: a space must follow */
} dlit;

typedef struct direct {
	uint64_t filter[64]; /* a bit for the hash (dm_hash3) of each three bytes a literal may
	                      * start with (after the space): most spaces need look no further */
	uint32_t first[DM_BUCKETS + 1]; /* bucket b's literals: ent[first[b] .. first[b + 1]) */
	dlit *ent;                      /* copies of lit, by bucket */
	dlit *lit;
	size_t nlit;
	char *bytes; /* every literal's bytes, one after another, then 8 zero bytes */
} direct;

static inline uint64_t load64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static inline unsigned dm_hash3(uint32_t three)
{
	return (three * 0x9E3779B1u) >> 20;
}

static inline void dm_filter_set(direct *dm, unsigned a, unsigned b, unsigned c)
{
	unsigned h = dm_hash3(a | b << 8 | c << 16);
	dm->filter[h >> 6] |= (uint64_t)1 << (h & 63);
}

static inline unsigned dm_hash(unsigned char a, unsigned char b)
{
	return ((unsigned)a * 31u + b) & (DM_BUCKETS - 1);
}

static void direct_free(direct *dm)
{
	if (!dm)
		return;
	free(dm->ent);
	free(dm->lit);
	free(dm->bytes);
	free(dm);
}

/* The bytes of a literal's expression (rules.c writes a-z and 0-9 as themselves, every other
 * byte as \xHH) into out; returns their number, or SIZE_MAX for anything else. */
static size_t lit_unescape(const char *x, char *out)
{
	size_t n = 0;
	while (*x) {
		unsigned v = 0;
		if ((*x >= 'a' && *x <= 'z') || (*x >= '0' && *x <= '9')) {
			out[n++] = *x++;
			continue;
		}
		if (x[0] != '\\' || x[1] != 'x')
			return SIZE_MAX;
		for (int i = 2; i < 4; i++) {
			char c = x[i];
			if (c >= '0' && c <= '9')
				v = v * 16 + (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (unsigned)(c - 'a' + 10);
			else
				return SIZE_MAX;
		}
		out[n++] = (char)v;
		x += 4;
	}
	return n;
}

/* Builds database d's direct matcher into e->direct[d] if it is a near or unless one and
 * every pattern in it a literal; else leaves it NULL (Vectorscan runs it). */
static ward_status build_direct(ward_engine *e, size_t d)
{
	enum which which = db_kind(e, d);
	ward_status st = WARD_ENOMEM;
	unsigned *ids = NULL;
	uint32_t *cnt = NULL;
	size_t k, total = 0, nent = 0;
	direct *dm = NULL;
	if ((which != DB_NEAR && which != DB_UNLESS) || !e->db[d])
		return WARD_OK;
	if (!(ids = calloc(e->rs.npats + 1, sizeof *ids)))
		return WARD_ENOMEM;
	k = db_pats(e, d, ids);
	for (size_t j = 0; j < k; j++) {
		const pat *p = &e->rs.pats[ids[j]];
		if (p->is_regex || p->litlen == 0) {
			st = WARD_OK; /* Vectorscan keeps it */
			goto done;
		}
		total += strlen(p->expr);
	}
	if (!(dm = calloc(1, sizeof *dm)) || !(dm->lit = calloc(k, sizeof *dm->lit)) ||
	    !(dm->bytes = calloc(total + 8, 1)) || !(cnt = calloc(DM_BUCKETS + 1, sizeof *cnt)))
		goto done;
	total = 0;
	for (size_t j = 0; j < k; j++) {
		const pat *p = &e->rs.pats[ids[j]];
		size_t n = lit_unescape(p->expr, dm->bytes + total);
		if (n != p->litlen || (n > 0 && dm->bytes[total] == ' ')) {
			st = WARD_OK; /* not as expected: Vectorscan keeps it */
			goto done;
		}
		unsigned char ones[8] = {0};
		memset(ones, 0xff, n < 8 ? n : 8);
		dm->lit[j] =
		    (dlit){0, load64(ones), ids[j], (uint32_t)n, (uint32_t)total, p->check_end};
		if (p->check_end && n < 8) {
			/* the space after it is compared with it */
			dm->bytes[total + n] = ' ';
			ones[n] = 0xff;
			dm->lit[j].mask = load64(ones);
		}
		dm->lit[j].head = load64(dm->bytes + total) & dm->lit[j].mask;
		dm->bytes[total + n] = 0;
		/* the three bytes it may start with: a literal of fewer has a space after it
		 * (its end checked) or any byte (a prefix) */
		const unsigned char *b = (const unsigned char *)dm->bytes + total;
		unsigned b1 = n > 1 ? b[1] : ' ';
		if (n >= 3)
			dm_filter_set(dm, b[0], b[1], b[2]);
		else if (n == 1 && !p->check_end)
			memset(dm->filter, 0xff, sizeof dm->filter);
		else if (n == 2 && p->check_end)
			dm_filter_set(dm, b[0], b[1], ' ');
		else
			for (unsigned c = 0; c < 256; c++)
				dm_filter_set(dm, b[0], b1, c);
		total += n;
	}
	dm->nlit = k;
	/* a literal of one byte ending in a prefix word may be followed by any byte: it goes
	 * in the bucket of each; of one byte with its end checked, a space follows it */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t j = 0; j < k; j++) {
			const dlit *l = &dm->lit[j];
			const unsigned char *b = (const unsigned char *)dm->bytes + l->off;
			bool any = l->len == 1 && !e->rs.pats[l->pat].check_end;
			uint8_t seen[DM_BUCKETS] = {0};
			for (unsigned nx = 0; nx < (any ? 256u : 1u); nx++) {
				unsigned h = dm_hash(b[0], l->len > 1 ? b[1]
				                           : any      ? (unsigned char)nx
				                                      : ' ');
				if (seen[h])
					continue;
				seen[h] = 1;
				if (pass == 0) {
					cnt[h + 1]++;
					nent++;
				} else {
					dm->ent[cnt[h]++] = *l;
				}
			}
		}
		if (pass == 0) {
			for (unsigned h = 0; h < DM_BUCKETS; h++)
				cnt[h + 1] += cnt[h];
			memcpy(dm->first, cnt, sizeof dm->first);
			if (!(dm->ent = malloc((nent + 1) * sizeof *dm->ent)))
				goto done;
		}
	}
	e->direct[d] = dm;
	dm = NULL;
	st = WARD_OK;
done:
	direct_free(dm);
	free(cnt);
	free(ids);
	return st;
}

/* Compiles the patterns of database d into e->db[d] (left NULL when there are none): main,
 * each combination's near one and each rule's unless one as planned, without start of match
 * (a rule's unless phrase listed twice only once); som, every regex with it. */
static ward_status compile_one(ward_engine *e, size_t d, ward_diag *diag)
{
	hs_database_t **db = &e->db[d];
	enum which which = db_kind(e, d);
	ward_status st = WARD_OK;
	size_t n = e->rs.npats, k;
	const char **exprs = calloc(n + 1, sizeof *exprs);
	unsigned *flags = calloc(n + 1, sizeof *flags);
	unsigned *ids = calloc(n + 1, sizeof *ids);
	char **owned = calloc(n + 1, sizeof *owned);
	hs_compile_error_t *err = NULL;
	if (!exprs || !flags || !ids || !owned) {
		st = WARD_ENOMEM;
		goto done;
	}
	k = db_pats(e, d, ids);
	for (size_t j = 0; j < k; j++) {
		const pat *pt = &e->rs.pats[ids[j]];
		exprs[j] = pt->expr;
		if (!pt->is_regex) {
			/* a literal with the space before it: longer, so rarer for the literal
			 * matcher, and never a match inside a word to reject in on_match (every
			 * block and region starts with a space) */
			size_t el = strlen(pt->expr);
			if (!(owned[j] = malloc(el + 5))) {
				st = WARD_ENOMEM;
				goto done;
			}
			memcpy(owned[j], "\\x20", 4);
			memcpy(owned[j] + 4, pt->expr, el + 1);
			exprs[j] = owned[j];
		}
		flags[j] = which == DB_SOM ? HS_FLAG_SOM_LEFTMOST : 0;
	}
	if (k == 0)
		goto done;
	if (hs_compile_multi(exprs, flags, ids, (unsigned)k, HS_MODE_BLOCK, NULL, db, &err) !=
	    HS_SUCCESS) {
		if (err && err->expression >= 0 && (size_t)err->expression < k) {
			const pat *p = &e->rs.pats[ids[err->expression]];
			diag_set(diag, p->file, p->line, "pattern rejected: %s", err->message);
		} else {
			diag_set(diag, "", 0, "rule database could not be compiled: %s",
			         err ? err->message : "unknown reason");
		}
		st = WARD_ECOMPILE;
	}
done:
	if (err)
		hs_free_compile_error(err);
	for (size_t i = 0; owned && i < n; i++)
		free(owned[i]);
	free(owned);
	free(exprs);
	free(flags);
	free(ids);
	return st;
}

static ward_status compile(ward_engine *e, ward_diag *diag)
{
	ward_status st = WARD_OK;
	for (size_t i = 0; i < e->ndb && st == WARD_OK; i++)
		st = compile_one(e, i, diag);
	if (st == WARD_OK && !e->db[DB_MAIN])
		st = WARD_EINTERNAL; /* every rule has a trigger or an anchor */
	return st;
}

static ward_status engine_build(ward_engine *e, unsigned flags, ward_diag *diag)
{
	ward_status st;
	char cpath[4096];
	if ((st = rules_finish(&e->rs, diag)) != WARD_OK || (st = plan(e)) != WARD_OK)
		return st;
	bool cached = !(flags & WARD_LOAD_NOCACHE) && cache_path(e, cpath, sizeof cpath) == 0;
	if (cached)
		cache_load(e, cpath);
	if (!e->db[DB_MAIN]) {
		if ((st = compile(e, diag)) != WARD_OK)
			return st;
		if (cached)
			cache_store(e, cpath);
	}
	for (size_t d = 0; d < e->ndb; d++)
		if ((st = build_direct(e, d)) != WARD_OK)
			return st;
	return WARD_OK;
}

static const char *default_rules_path(void)
{
	const char *p = getenv("WARD_RULES");
	struct stat sb;
	if (p && *p)
		return p;
	if (stat("rules", &sb) == 0 && S_ISDIR(sb.st_mode))
		return "rules";
	return WARD_DATADIR "/rules";
}

/* Loads the database at path (NULL: the default) into a new engine, *out (caller frees);
 * force >= 0 anchors every combination on that term (engine_load_anchored). */
static ward_status load_path(const char *path, unsigned flags, int force, ward_engine **out,
                             ward_diag *diag)
{
	ward_status st;
	ward_engine *e;
	if (diag)
		memset(diag, 0, sizeof *diag);
	if (!out)
		return WARD_EINVAL;
	*out = NULL;
	e = calloc(1, sizeof *e);
	if (!e)
		return WARD_ENOMEM;
	e->forced = force >= 0;
	e->force = force >= 0 ? (unsigned)force : 0;
	if (!path)
		path = default_rules_path();
	if ((st = parse_path(&e->rs, path, diag)) == WARD_OK)
		st = engine_build(e, flags, diag);
	if (st != WARD_OK) {
		if (diag && !diag->file[0])
			snprintf(diag->file, sizeof diag->file, "%s", path);
		ward_engine_free(e);
		return st;
	}
	*out = e;
	return WARD_OK;
}

ward_status ward_engine_load(const char *path, unsigned flags, ward_engine **out, ward_diag *diag)
{
	return load_path(path, flags, -1, out, diag);
}

ward_status engine_load_anchored(const char *path, unsigned force, ward_engine **out,
                                 ward_diag *diag)
{
	return load_path(path, WARD_LOAD_NOCACHE, (int)(force % COMBO_MAX_TERMS), out, diag);
}

ward_status ward_engine_load_string(const char *text, size_t len, const char *name, unsigned flags,
                                    ward_engine **out, ward_diag *diag)
{
	ward_status st;
	ward_engine *e;
	if (diag)
		memset(diag, 0, sizeof *diag);
	if (!out || (!text && len))
		return WARD_EINVAL;
	*out = NULL;
	e = calloc(1, sizeof *e);
	if (!e)
		return WARD_ENOMEM;
	if ((st = rules_parse(&e->rs, text ? text : "", len, name ? name : "(string)", diag)) ==
	    WARD_OK)
		st = engine_build(e, flags, diag);
	if (st != WARD_OK) {
		ward_engine_free(e);
		return st;
	}
	*out = e;
	return WARD_OK;
}

void ward_engine_free(ward_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; e->db && i < e->ndb; i++)
		hs_free_database(e->db[i]);
	for (size_t i = 0; e->direct && i < e->ndb; i++)
		direct_free(e->direct[i]);
	free(e->db);
	free(e->direct);
	free(e->anchor);
	free(e->span);
	free(e->which);
	free(e->open_end);
	free(e->group);
	rules_free(&e->rs);
	free(e);
}

size_t ward_engine_rule_count(const ward_engine *e)
{
	return e ? e->rs.nrules : 0;
}

const ward_rule_info *ward_engine_rule(const ward_engine *e, size_t i)
{
	return e && i < e->rs.nrules ? &e->rs.rules[i].info : NULL;
}

const ward_rule_info *ward_engine_find_rule(const ward_engine *e, const char *id)
{
	for (size_t i = 0; e && id && i < e->rs.nrules; i++)
		if (strcmp(e->rs.rules[i].info.id, id) == 0)
			return &e->rs.rules[i].info;
	return NULL;
}

const char *ward_engine_phrase(const ward_engine *e, size_t i, const ward_rule_info **ri)
{
	if (!e || i >= e->rs.npats)
		return NULL;
	const pat *p = &e->rs.pats[i];
	if (ri)
		*ri = p->kind == PAT_TRIGGER && p->src ? &e->rs.rules[p->rule].info : NULL;
	return p->kind == PAT_TRIGGER && p->src ? p->src : "";
}

/* ---------- scanning ---------- */

ward_status ward_scanner_new(const ward_engine *e, ward_scanner **out)
{
	if (!e || !out)
		return WARD_EINVAL;
	ward_scanner *s = calloc(1, sizeof *s);
	if (!s)
		return WARD_ENOMEM;
	s->e = e;
	for (size_t i = 0; i < e->ndb; i++)
		if (e->db[i] && hs_alloc_scratch(e->db[i], &s->scratch) != HS_SUCCESS) {
			hs_free_scratch(s->scratch);
			free(s);
			return WARD_ENOMEM;
		}
	*out = s;
	return WARD_OK;
}

void scanner_set_exhaustive(ward_scanner *s, bool on)
{
	if (s)
		s->exhaustive = on;
}

void scanner_set_direct(ward_scanner *s, bool on)
{
	if (s)
		s->no_direct = !on;
}

void ward_scanner_free(ward_scanner *s)
{
	if (!s)
		return;
	hs_free_scratch(s->scratch);
	norm_buf_free(&s->nb);
	free(s->hits);
	free(s->cands);
	free(s->ctmp);
	free(s->regions);
	free(s->rtmp);
	free(s->ccount);
	free(s->keys);
	free(s->spacebits);
	free(s->spacecount);
	free(s->breaks);
	free(s->sbuf);
	free(s->counts);
	free(s);
}

/* Adds a hit of pattern id over the normalised bytes [from, to) (from NO_START for a regex,
 * whose start find_starts finds). */
static void add_hit(ward_scanner *s, uint32_t id, uint32_t from, uint32_t to)
{
	if (s->nhits == s->caphits) {
		size_t nc = s->caphits ? s->caphits * 2 : 256;
		hit *nh;
		if (nc > MAX_HITS || !(nh = realloc(s->hits, nc * sizeof *nh))) {
			s->hits_overflow = true;
			return;
		}
		s->hits = nh;
		s->caphits = nc;
	}
	hit *h = &s->hits[s->nhits++];
	h->pat = id;
	h->from = from;
	h->to = to;
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx)
{
	ward_scanner *s = ctx;
	const pat *p = &s->e->rs.pats[id];
	(void)flags;
	(void)from;
	if (to > s->region_len)
		return 0;
	if (!p->is_regex) {
		/* a literal is compiled with the space before it but not the one after (ending
		 * every literal in a space would make each space a candidate): check the end */
		const char *o = s->nb.out + s->region_base;
		if (p->check_end && o[to] != ' ')
			return 0;
	}
	/* a regex's start is found afterwards (find_starts) */
	add_hit(s, id, p->is_regex ? NO_START : s->region_base + (uint32_t)(to - p->litlen),
	        s->region_base + (uint32_t)to);
	return 0;
}

/* Sorts a[0..n) ascending by radix, 11 bits a pass, skipping the passes in which every key
 * has the same digit; tmp has room for n keys. */
static void radix_sort(uint64_t *a, uint64_t *tmp, size_t n)
{
	uint64_t or_all = 0, and_all = ~(uint64_t)0, *src = a, *dst = tmp;
	for (size_t i = 0; i < n; i++) {
		or_all |= a[i];
		and_all &= a[i];
	}
	uint64_t differ = or_all ^ and_all;
	for (unsigned shift = 0; shift < 64; shift += 11) {
		size_t count[2048 + 1];
		if (((differ >> shift) & 2047) == 0)
			continue;
		memset(count, 0, sizeof count);
		for (size_t i = 0; i < n; i++)
			count[((src[i] >> shift) & 2047) + 1]++;
		for (size_t d = 1; d <= 2048; d++)
			count[d] += count[d - 1];
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 2047]++] = src[i];
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof *a);
}

/* A growable array of n 64-bit keys and as many of scratch, for sorting. */
static ward_status keys_reserve(ward_scanner *s, size_t n)
{
	if (n <= s->capkeys)
		return WARD_OK;
	uint64_t *k = realloc(s->keys, 2 * n * sizeof *k);
	if (!k)
		return WARD_ENOMEM;
	s->keys = k;
	s->capkeys = n;
	return WARD_OK;
}

/* Set bits in x.  Without the popcnt instruction in the build's baseline, __builtin_popcountll
 * is a call into libgcc (2% of a scan's samples): inline bit arithmetic instead. */
static inline uint32_t pop64(uint64_t x)
{
#ifdef __POPCNT__
	return (uint32_t)__builtin_popcountll(x);
#else
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (uint32_t)((x * 0x0101010101010101ull) >> 56);
#endif
}

/* Bitmap of the spaces in the normalised block and the count of spaces before each 64-byte
 * chunk, so that the word index of any position is a lookup and a popcount. */
static ward_status space_index(ward_scanner *s)
{
	const unsigned char *o = (const unsigned char *)s->nb.out;
	size_t n = s->nb.len, nw = n / 64 + 1;
	if (nw > s->capspace) {
		uint64_t *b = realloc(s->spacebits, nw * sizeof *b);
		if (!b)
			return WARD_ENOMEM;
		s->spacebits = b;
		uint32_t *c = realloc(s->spacecount, nw * sizeof *c);
		if (!c)
			return WARD_ENOMEM;
		s->spacecount = c;
		s->capspace = nw;
	}
	uint32_t total = 0;
	for (size_t w = 0; w < nw; w++) {
		size_t at = w * 64, lim = n - at < 64 ? n - at : 64;
		uint64_t m = 0;
		if (lim == 64) {
#ifdef __SSE2__
			const __m128i sp = _mm_set1_epi8(' ');
			for (unsigned i = 0; i < 4; i++) {
				__m128i v = _mm_loadu_si128((const __m128i *)(o + at + 16 * i));
				m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, sp))
				     << (16 * i);
			}
#else
			for (unsigned i = 0; i < 64; i++)
				m |= (uint64_t)(o[at + i] == ' ') << i;
#endif
		} else {
			for (size_t i = 0; i < lim; i++)
				m |= (uint64_t)(o[at + i] == ' ') << i;
		}
		s->spacebits[w] = m;
		s->spacecount[w] = total;
		total += pop64(m);
	}
	s->nchunks = nw;
	s->spaced = true;
	return WARD_OK;
}

/* Spaces before position pos of the normalised block (pos <= its length). */
static inline uint32_t word_at(const ward_scanner *s, uint32_t pos)
{
	uint64_t below = ((uint64_t)1 << (pos & 63)) - 1;
	return s->spacecount[pos >> 6] +
	       pop64(s->spacebits[pos >> 6] & below);
}

/* The first newline in q[0..end - q), or NULL: inline, for text of short lines. */
static inline const char *next_nl(const char *q, const char *end)
{
#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n');
	while (end - q >= 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)q), nl));
		if (m)
			return q + __builtin_ctz(m);
		q += 16;
	}
#endif
	return memchr(q, '\n', (size_t)(end - q));
}

/* Finds the paragraph breaks of block p[0..n): a line holding nothing but white space ends a
 * paragraph, and all-of and unless windows do not reach across it.  A break is kept as the
 * word index of the first word after it.  space_index must have run. */
static ward_status find_breaks(ward_scanner *s, const char *p, size_t n)
{
	const char *q = p, *end = p + n;
	const uint32_t *map = s->nb.map;
	s->nbreaks = 0;
	while ((q = next_nl(q, end)) != NULL) {
		const char *r = q + 1;
		while (r < end &&
		       (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\f' || *r == '\v'))
			r++;
		q = r;
		if (r == end || *r != '\n')
			continue;
		/* the first normalised byte from at or after the blank line */
		uint32_t b = (uint32_t)(r - p);
		size_t a = 0, z = s->nb.len;
		while (a < z) {
			size_t m = a + (z - a) / 2;
			if (map[m] < b)
				a = m + 1;
			else
				z = m;
		}
		uint32_t w = word_at(s, (uint32_t)a);
		if (s->nbreaks > 0 && s->breaks[s->nbreaks - 1] >= w)
			continue;
		if (s->nbreaks == s->capbreaks) {
			size_t nc = s->capbreaks ? s->capbreaks * 2 : 64;
			uint32_t *nb = realloc(s->breaks, nc * sizeof *nb);
			if (!nb)
				return WARD_ENOMEM;
			s->breaks = nb;
			s->capbreaks = nc;
		}
		s->breaks[s->nbreaks++] = w;
	}
	return WARD_OK;
}

/* The paragraph of word w: the number of breaks at or before it. */
static uint32_t para_of(const ward_scanner *s, uint32_t w)
{
	size_t a = 0, z = s->nbreaks;
	while (a < z) {
		size_t m = a + (z - a) / 2;
		if (s->breaks[m] <= w)
			a = m + 1;
		else
			z = m;
	}
	return (uint32_t)a;
}

/* Trims boundary spaces off hits first.. and gives them word indexes (spaces before them)
 * and paragraphs.  A match of a phrase ending in a prefix word runs on to the end of the
 * word: "photo*" in "photographs" is the whole word.  space_index and find_breaks must have
 * run. */
static void index_words(ward_scanner *s, size_t first)
{
	const char *o = s->nb.out;
	uint32_t n = (uint32_t)s->nb.len;
	for (size_t i = first; i < s->nhits; i++) {
		hit *h = &s->hits[i];
		while (h->from < h->to && o[h->from] == ' ')
			h->from++;
		while (h->to > h->from && o[h->to - 1] == ' ')
			h->to--;
		if (s->e->open_end[h->pat])
			while (h->to < n && o[h->to] != ' ')
				h->to++;
		h->wfrom = word_at(s, h->from);
		h->wto = word_at(s, h->to);
		h->para = para_of(s, h->wfrom);
	}
}

static ward_status add_cand(ward_scanner *s, uint32_t ri, uint32_t from, uint32_t to,
                            uint32_t wfrom, uint32_t wto)
{
	if (s->ncands == s->capcands) {
		size_t nc = s->capcands ? s->capcands * 2 : 64;
		cand *c = realloc(s->cands, nc * sizeof *c);
		if (!c)
			return WARD_ENOMEM;
		s->cands = c;
		if (!(c = realloc(s->ctmp, nc * sizeof *c)))
			return WARD_ENOMEM;
		s->ctmp = c;
		s->capcands = nc;
	}
	s->cands[s->ncands++] = (cand){ri, from, to, wfrom, wto};
	return WARD_OK;
}

static int cmp_term_hits(const void *a, const void *b, void *arg)
{
	const ward_scanner *s = arg;
	const hit *x = &s->hits[*(const uint32_t *)a], *y = &s->hits[*(const uint32_t *)b];
	uint32_t cx = s->e->rs.pats[x->pat].combo, cy = s->e->rs.pats[y->pat].combo;
	if (cx != cy)
		return cx < cy ? -1 : 1;
	if (x->wfrom != y->wfrom)
		return x->wfrom < y->wfrom ? -1 : 1;
	return x->from < y->from ? -1 : x->from > y->from;
}

/* all-of: a candidate for each hit that completes, with the latest hit of every other term,
 * a set of all the terms within the window and in one paragraph. */
static ward_status eval_combos(ward_scanner *s)
{
	ward_status st = WARD_OK;
	const ruleset *rs = &s->e->rs;
	size_t nt = 0;
	uint32_t *idx = malloc(s->nhits * sizeof *idx);
	if (!idx)
		return WARD_ENOMEM;
	for (size_t i = 0; i < s->nhits; i++)
		if (rs->pats[s->hits[i].pat].kind == PAT_TERM)
			idx[nt++] = (uint32_t)i;
	/* by combination, then position: word indexes grow with positions, so this is the
	 * order of cmp_term_hits; a radix sort of packed keys when they fit */
	if (nt < 2) {
		/* nothing to sort */
	} else if (rs->ncombos < ((size_t)1 << 16) && s->nb.len < ((size_t)1 << 26) &&
	           s->nhits <= ((size_t)1 << 22) && keys_reserve(s, nt) == WARD_OK) {
		for (size_t i = 0; i < nt; i++) {
			const hit *h = &s->hits[idx[i]];
			s->keys[i] = (uint64_t)rs->pats[h->pat].combo << 48 |
			             (uint64_t)h->from << 22 | idx[i];
		}
		radix_sort(s->keys, s->keys + nt, nt);
		for (size_t i = 0; i < nt; i++)
			idx[i] = (uint32_t)(s->keys[i] & 0x3fffff);
	} else {
		qsort_r(idx, nt, sizeof *idx, cmp_term_hits, s);
	}
	for (size_t i = 0; i < nt && st == WARD_OK;) {
		uint32_t ci = rs->pats[s->hits[idx[i]].pat].combo;
		const combo *cb = &rs->combos[ci];
		int32_t last[16];
		for (int t = 0; t < 16; t++)
			last[t] = -1;
		for (; i < nt && rs->pats[s->hits[idx[i]].pat].combo == ci; i++) {
			const hit *h = &s->hits[idx[i]];
			last[rs->pats[h->pat].term] = (int32_t)idx[i];
			uint32_t lo = UINT32_MAX, hi = 0, wlo = UINT32_MAX, whi = 0;
			bool all = true;
			for (uint16_t t = 0; t < cb->nterms && all; t++) {
				if (last[t] < 0 || h->wfrom - s->hits[last[t]].wfrom > cb->window ||
				    s->hits[last[t]].para != h->para) {
					all = false;
					break;
				}
				const hit *g = &s->hits[last[t]];
				lo = g->from < lo ? g->from : lo;
				hi = g->to > hi ? g->to : hi;
				wlo = g->wfrom < wlo ? g->wfrom : wlo;
				whi = g->wto > whi ? g->wto : whi;
			}
			if (!all)
				continue;
			/* no reset: a later hit may complete a set with these terms again, and
			 * that set may be the one no unless phrase is near; overlapping findings
			 * of one rule are merged afterwards */
			st = add_cand(s, cb->rule, lo, hi, wlo, whi);
		}
	}
	free(idx);
	return st;
}

static int cmp_cand_rule(const void *a, const void *b)
{
	const cand *x = a, *y = b;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->from < y->from ? -1 : x->from > y->from;
}

/* Sorts the candidates by rule, then start, keeping the order of equal ones (as a merge
 * sort would): a radix sort of packed keys when they fit, else qsort. */
static void sort_cands_by_rule(ward_scanner *s)
{
	size_t n = s->ncands;
	if (n < 2)
		return;
	if (s->e->rs.nrules >= ((size_t)1 << 16) || s->nb.len >= ((size_t)1 << 26) ||
	    n >= ((size_t)1 << 22) || keys_reserve(s, n) != WARD_OK) {
		qsort(s->cands, n, sizeof *s->cands, cmp_cand_rule);
		return;
	}
	for (size_t i = 0; i < n; i++)
		s->keys[i] = (uint64_t)s->cands[i].rule << 48 | (uint64_t)s->cands[i].from << 22 | i;
	radix_sort(s->keys, s->keys + n, n);
	for (size_t i = 0; i < n; i++)
		s->ctmp[i] = s->cands[s->keys[i] & 0x3fffff];
	cand *t = s->cands;
	s->cands = s->ctmp;
	s->ctmp = t;
}

static int cmp_cand_pos(const void *a, const void *b)
{
	const cand *x = a, *y = b;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* The start of the region k words before pos: the (k + 1)th space before it, or 0.  Walks
 * the space bitmap back from pos a chunk at a time: regions are a few words. */
static uint32_t words_back(const ward_scanner *s, uint32_t pos, uint32_t k)
{
	size_t c = pos >> 6;
	uint64_t bits = s->spacebits[c] & (((uint64_t)1 << (pos & 63)) - 1);
	uint32_t need = k + 1, have;
	while ((have = pop64(bits)) < need) {
		if (c == 0)
			return 0;
		need -= have;
		bits = s->spacebits[--c];
	}
	while (--need > 0)
		bits &= ~((uint64_t)1 << (63 - __builtin_clzll(bits)));
	return (uint32_t)(c * 64 + 63 - (size_t)__builtin_clzll(bits));
}

/* The end (exclusive, just past a space) of the region k words after pos: just past the
 * (k + 1)th space at or after it, or the block's end. */
static uint32_t words_fwd(const ward_scanner *s, uint32_t pos, uint32_t k)
{
	size_t c = pos >> 6;
	uint64_t bits = s->spacebits[c] & ~(((uint64_t)1 << (pos & 63)) - 1);
	uint32_t need = k + 1, have;
	while ((have = pop64(bits)) < need) {
		if (++c >= s->nchunks)
			return (uint32_t)s->nb.len;
		need -= have;
		bits = s->spacebits[c];
	}
	while (--need > 0)
		bits &= bits - 1;
	uint32_t at = (uint32_t)(c * 64 + (size_t)__builtin_ctzll(bits));
	return at < s->nb.len ? at + 1 : at;
}

static int cmp_region_tag(const void *a, const void *b)
{
	const region *x = a, *y = b;
	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static ward_status add_region(ward_scanner *s, uint32_t start, uint32_t end, uint32_t ci)
{
	if (s->nregions == s->capregions) {
		size_t nc = s->capregions ? s->capregions * 2 : 64;
		region *r = realloc(s->regions, nc * sizeof *r);
		if (!r)
			return WARD_ENOMEM;
		s->regions = r;
		if (!(r = realloc(s->rtmp, nc * sizeof *r)))
			return WARD_ENOMEM;
		s->rtmp = r;
		s->capregions = nc;
	}
	s->regions[s->nregions++] = (region){start, end, ci};
	return WARD_OK;
}

/* Whether a[0, n) == b[0, n), eight bytes at a time: both may be read up to 7 bytes past n. */
static inline bool tail_eq(const unsigned char *a, const unsigned char *b, uint32_t n)
{
	for (; n >= 8; n -= 8, a += 8, b += 8)
		if (load64(a) != load64(b))
			return false;
	if (n == 0)
		return true;
	unsigned char ones[8] = {0};
	memset(ones, 0xff, n);
	return ((load64(a) ^ load64(b)) & load64(ones)) == 0;
}

/* Runs direct matcher dm over the normalised bytes [from, to): a match starts at a space in
 * [from, to) and ends by to, and its end is checked as on_match checks it (the byte after
 * may lie past to).  The hits join s->hits by end, then pattern.  What depends on their
 * order (eval_combos sorts a combination's hits by start and keeps the order of those that
 * start together) sees Vectorscan's: of the matches that start together it reports the
 * shorter first, and of equal ones (one phrase in two terms) the lower pattern first; the
 * unit test holds the two to that.  Needs no padding: every byte it reads is below the
 * block's length + 8, inside norm_run's NORM_PAD zero bytes. */
static void scan_direct(ward_scanner *s, const direct *dm, uint32_t from, uint32_t to)
{
	const unsigned char *o = (const unsigned char *)s->nb.out;
	const unsigned char *lb = (const unsigned char *)dm->bytes;
	size_t first = s->nhits;
	if (from >= to)
		return;
	for (size_t c = from >> 6, last = (to - 1) >> 6; c <= last; c++) {
		uint64_t bits = s->spacebits[c];
		if (c == from >> 6)
			bits &= ~(uint64_t)0 << (from & 63);
		if (c == last && (to & 63) != 0)
			bits &= ((uint64_t)1 << (to & 63)) - 1;
		for (; bits; bits &= bits - 1) {
			uint32_t at = (uint32_t)(c * 64 + (size_t)__builtin_ctzll(bits)) + 1;
			unsigned f =
			    dm_hash3(o[at] | (uint32_t)o[at + 1] << 8 | (uint32_t)o[at + 2] << 16);
			if (!(dm->filter[f >> 6] >> (f & 63) & 1))
				continue;
			unsigned h = dm_hash(o[at], o[at + 1]);
			for (uint32_t i = dm->first[h]; i < dm->first[h + 1]; i++) {
				const dlit *l = &dm->ent[i];
				uint32_t end = at + l->len;
				if (end > to || (load64(o + at) & l->mask) != l->head ||
				    (l->check_end && l->len >= 8 && o[end] != ' ') ||
				    (l->len > 8 &&
				     !tail_eq(o + at + 8, lb + l->off + 8, l->len - 8)))
					continue;
				add_hit(s, l->pat, at, end);
			}
		}
	}
	for (size_t i = first + 1; i < s->nhits; i++) {
		hit x = s->hits[i];
		size_t j = i;
		while (j > first && (s->hits[j - 1].to > x.to ||
		                     (s->hits[j - 1].to == x.to && s->hits[j - 1].pat > x.pat))) {
			s->hits[j] = s->hits[j - 1];
			j--;
		}
		s->hits[j] = x;
	}
}

/* Runs database d over the normalised bytes [from, to): its direct matcher if it has one,
 * else Vectorscan over them and SCAN_PAD more.  Its hits that end by to join s->hits. */
static ward_status scan_span(ward_scanner *s, size_t d, uint32_t from, uint32_t to)
{
	const direct *dm = s->e->direct[d];
	s->region_base = from;
	s->region_len = to - from;
	if (dm && s->spaced && !s->no_direct) {
		scan_direct(s, dm, from, to);
		return WARD_OK;
	}
	if (hs_scan(s->e->db[d], s->nb.out + from, to - from + SCAN_PAD, 0, s->scratch, on_match,
	            s) != HS_SUCCESS)
		return WARD_EINTERNAL;
	return WARD_OK;
}

/* Merges the regions r[0..n) (sorted by start) where they overlap and runs database d over
 * each; its hits join s->hits. */
static ward_status scan_merged(ward_scanner *s, size_t d, region *r, size_t n)
{
	ward_status st = WARD_OK;
	size_t m = 0;
	if (n == 0 || !s->e->db[d])
		return WARD_OK;
	for (size_t i = 1; i < n; i++) {
		if (r[i].start <= r[m].end) {
			if (r[i].end > r[m].end)
				r[m].end = r[i].end;
		} else {
			r[++m] = r[i];
		}
	}
	for (size_t i = 0; i <= m && st == WARD_OK; i++)
		st = scan_span(s, d, r[i].start, r[i].end);
	s->region_base = 0;
	s->region_len = UINT32_MAX;
	return st;
}

/* Runs the near databases over the words around anchor hits: each combination's own over
 * its anchor's window, so a term is looked for only where its combination can complete.
 * Their hits join s->hits. */
static ward_status scan_near(ward_scanner *s)
{
	const ward_engine *e = s->e;
	const ruleset *rs = &e->rs;
	size_t nmain = s->nhits;
	ward_status st = WARD_OK;
	s->nregions = 0;
	for (size_t i = 0; i < nmain && st == WARD_OK; i++) {
		const hit *h = &s->hits[i];
		const pat *p = &rs->pats[h->pat];
		if (p->kind != PAT_TERM)
			continue;
		/* every other term starts within the window of the anchor's start, and may run
		 * on for its phrase's words */
		uint32_t k = rs->combos[p->combo].window;
		st = add_region(s, words_back(s, h->from, k + 1),
		                words_fwd(s, h->to, k + e->span[p->combo] + 1), p->combo);
	}
	if (st != WARD_OK || s->nregions == 0)
		goto done;
	if (s->exhaustive) {
		/* the reference: every combination's terms, wherever they are */
		region all = {0, (uint32_t)s->nb.len, 0};
		for (size_t c = 0; c < rs->ncombos && st == WARD_OK; c++) {
			region r = all;
			st = scan_merged(s, NEAR_DB(e, c), &r, 1);
		}
		goto done;
	}
	/* grouped by combination with a counting sort that keeps the hits' order, in which
	 * each group's starts are nearly sorted already: an insertion sort finishes them */
	if (!s->ccount && !(s->ccount = malloc((rs->ncombos + 1) * sizeof *s->ccount))) {
		st = WARD_ENOMEM;
		goto done;
	}
	memset(s->ccount, 0, (rs->ncombos + 1) * sizeof *s->ccount);
	for (size_t i = 0; i < s->nregions; i++)
		s->ccount[s->regions[i].tag + 1]++;
	for (size_t c = 0; c < rs->ncombos; c++)
		s->ccount[c + 1] += s->ccount[c];
	for (size_t i = 0; i < s->nregions; i++)
		s->rtmp[s->ccount[s->regions[i].tag]++] = s->regions[i];
	for (size_t i = 1; i < s->nregions; i++) {
		region r = s->rtmp[i];
		size_t j = i;
		while (j > 0 && cmp_region_tag(&s->rtmp[j - 1], &r) > 0) {
			s->rtmp[j] = s->rtmp[j - 1];
			j--;
		}
		s->rtmp[j] = r;
	}
	for (size_t i = 0, j; i < s->nregions && st == WARD_OK; i = j) {
		uint32_t c = s->rtmp[i].tag;
		for (j = i + 1; j < s->nregions && s->rtmp[j].tag == c; j++)
			;
		st = scan_merged(s, NEAR_DB(e, c), s->rtmp + i, j - i);
	}
done:
	s->nregions = 0;
	return st;
}

typedef struct som_ctx {
	unsigned id;
	unsigned long long end;
	unsigned long long best;
} som_ctx;

static int on_som(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                  void *ctx)
{
	som_ctx *c = ctx;
	(void)flags;
	if (id == c->id && to == c->end && from < c->best)
		c->best = from;
	return 0;
}

/* Finds where each regex match from hit first on starts: the leftmost start of a match of
 * the same regex ending at the same place, within the words before it. */
static ward_status find_starts(ward_scanner *s, size_t first)
{
	const char *o = s->nb.out;
	for (size_t i = first; i < s->nhits; i++) {
		hit *h = &s->hits[i];
		if (h->from != NO_START)
			continue;
		uint32_t ws = words_back(s, h->to, SOM_WORDS);
		if (h->to - ws > SOM_BYTES)
			ws = h->to - SOM_BYTES;
		som_ctx c = {h->pat, h->to - ws, ULLONG_MAX};
		if (hs_scan(s->e->db[DB_SOM], o + ws, h->to - ws + SCAN_PAD, 0, s->scratch, on_som,
		            &c) != HS_SUCCESS)
			return WARD_EINTERNAL;
		h->from = ws + (c.best == ULLONG_MAX ? 0 : (uint32_t)c.best);
	}
	return WARD_OK;
}

/* Whether an unless phrase of c's rule overlaps the words from UNLESS_WINDOW before c to
 * UNLESS_WINDOW after it (not across a paragraph break).  Asked only of the candidates that
 * could become findings, it runs the rule's unless database over those words and as many
 * more either side as its longest phrase, so every phrase that overlaps them is found whole;
 * the hits are dropped again. */
static ward_status unless_near(ward_scanner *s, const cand *c, bool *near)
{
	const ward_engine *e = s->e;
	ward_status st;
	uint32_t lo = c->wfrom > UNLESS_WINDOW ? c->wfrom - UNLESS_WINDOW : 0;
	uint32_t hi = c->wto + UNLESS_WINDOW;
	uint32_t para = para_of(s, c->wfrom);
	size_t first = s->nhits;
	if (para > 0 && s->breaks[para - 1] > lo)
		lo = s->breaks[para - 1];
	if (para < s->nbreaks && s->breaks[para] - 1 < hi)
		hi = s->breaks[para] - 1;
	region r = {words_back(s, c->from, UNLESS_WINDOW + e->unless_span),
	            words_fwd(s, c->to, UNLESS_WINDOW + e->unless_span + 1), 0};
	if (s->exhaustive)
		r = (region){0, (uint32_t)s->nb.len, 0}; /* the reference: the whole block */
	*near = false;
	st = scan_merged(s, UNLESS_DB(e, c->rule), &r, 1);
	if (st == WARD_OK && e->db[DB_SOM])
		st = find_starts(s, first);
	if (st == WARD_OK) {
		index_words(s, first);
		for (size_t i = first; i < s->nhits && !*near; i++)
			*near = s->hits[i].wto >= lo && s->hits[i].wfrom <= hi;
	}
	s->nhits = first;
	return st;
}

size_t engine_db_count(const ward_engine *e)
{
	return e ? e->ndb : 0;
}

size_t engine_direct_literals(const ward_engine *e, size_t d)
{
	return e && d < e->ndb && e->direct[d] ? e->direct[d]->nlit : 0;
}

const char *engine_direct_literal(const ward_engine *e, size_t d, size_t i, size_t *len)
{
	if (i >= engine_direct_literals(e, d))
		return NULL;
	const dlit *l = &e->direct[d]->lit[i];
	*len = l->len;
	return e->direct[d]->bytes + l->off;
}

ward_status scanner_load_block(ward_scanner *s, const char *text, size_t len, const char **out,
                               size_t *nlen)
{
	ward_status st;
	s->spaced = false;
	s->nhits = 0;
	if ((st = norm_run(&s->nb, text, len)) != WARD_OK || (st = space_index(s)) != WARD_OK)
		return st;
	*out = s->nb.out;
	*nlen = s->nb.len;
	return WARD_OK;
}

size_t scanner_region_hits(ward_scanner *s, size_t d, bool use_direct, uint32_t from, uint32_t to,
                           engine_hit *out, size_t cap)
{
	bool was = s->no_direct;
	size_t n = 0;
	if (d >= s->e->ndb || from > to || to > s->nb.len || !s->spaced)
		return SIZE_MAX;
	s->nhits = 0;
	s->hits_overflow = false;
	s->no_direct = !use_direct;
	region r = {from, to, 0};
	ward_status st = scan_merged(s, d, &r, 1);
	s->no_direct = was;
	s->region_base = 0;
	s->region_len = UINT32_MAX;
	if (st != WARD_OK || s->hits_overflow)
		return SIZE_MAX;
	for (size_t i = 0; i < s->nhits && n < cap; i++)
		out[n++] = (engine_hit){s->hits[i].pat, s->hits[i].from, s->hits[i].to};
	s->nhits = 0;
	return n;
}

/* Builds an excerpt of the original block around [start, end): same line(s), bounded. */
void text_excerpt(const char *p, size_t n, size_t start, size_t end, ward_finding *f)
{
	size_t lo = start > 48 ? start - 48 : 0;
	for (size_t i = start; i > lo; i--)
		if (p[i - 1] == '\n') {
			lo = i;
			break;
		}
	size_t hi = lo + WARD_EXCERPT_MAX;
	if (hi > n)
		hi = n;
	for (size_t i = end; i < hi; i++)
		if (p[i] == '\n') {
			hi = i;
			break;
		}
	if (hi < end && end - lo <= WARD_EXCERPT_MAX)
		hi = end;
	f->excerpt = p + lo;
	f->excerpt_len = hi > lo ? hi - lo : 0;
	f->excerpt_match = start - lo;
}

/* Newlines in p[0..n): sixteen bytes at a time, each lane counting its own up to 255 before
 * the lanes are summed, since text of short lines makes a memchr per line slow. */
static size_t count_nl(const char *p, size_t n)
{
	size_t c = 0, i = 0;
#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
	while (n - i >= 16) {
		__m128i acc = zero;
		for (unsigned k = 0; k < 255 && n - i >= 16; k++, i += 16)
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), nl));
		__m128i sum = _mm_sad_epu8(acc, zero);
		c += (size_t)_mm_cvtsi128_si32(sum) + (size_t)_mm_extract_epi16(sum, 4);
	}
#endif
	for (; i < n; i++)
		c += p[i] == '\n';
	return c;
}

/* Counting, for ward_engine_anchors: the main database has run over the block; every
 * combination's near database runs over the whole block too, so that each term is searched
 * for everywhere, and each term occurrence ending after skip_upto (the block before counted
 * those) is added to s->counts.  A regex phrase ending in a prefix word matches at every byte
 * of that word: it counts once, where the word ends. */
static ward_status count_terms(ward_scanner *s, uint64_t base, uint64_t skip_upto)
{
	const ward_engine *e = s->e;
	const ruleset *rs = &e->rs;
	ward_status st = WARD_OK;
	/* c == 0: the main database's hits, already there; c > 0: combination c - 1's terms */
	for (size_t c = 0; c <= rs->ncombos && st == WARD_OK; c++) {
		if (c > 0) {
			region all = {0, (uint32_t)s->nb.len, 0};
			s->nhits = 0;
			st = scan_merged(s, NEAR_DB(e, c - 1), &all, 1);
		}
		if (st == WARD_OK && s->hits_overflow)
			st = WARD_ELIMIT; /* a count would be short */
		for (size_t i = 0; i < s->nhits && st == WARD_OK; i++) {
			const hit *h = &s->hits[i];
			const pat *p = &rs->pats[h->pat];
			if (p->kind != PAT_TERM ||
			    (p->is_regex && e->open_end[h->pat] && h->to < s->nb.len &&
			     s->nb.out[h->to] != ' ') ||
			    base + s->nb.map[h->to] <= skip_upto)
				continue;
			s->counts[h->pat]++;
		}
	}
	s->nhits = 0;
	return st;
}

/* Scans block p[0..n) whose first byte is at absolute offset base and on line line0.
 * Findings ending at or before skip_upto were reported by the previous block. */
static ward_status scan_block(ward_scanner *s, const char *p, size_t n, uint64_t base,
                              uint64_t line0, uint64_t skip_upto)
{
	ward_status st;
	const ruleset *rs = &s->e->rs;
	if ((st = norm_run(&s->nb, p, n)) != WARD_OK)
		return st;
	s->nhits = 0;
	s->ncands = 0;
	s->hits_overflow = false;
	s->spaced = false; /* the bitmap is the last block's until space_index runs */
	if ((st = scan_span(s, DB_MAIN, 0, (uint32_t)s->nb.len)) != WARD_OK)
		return st;
	s->region_base = 0;
	s->region_len = UINT32_MAX;
	if (s->counts)
		return (st = space_index(s)) != WARD_OK ? st : count_terms(s, base, skip_upto);
	if (s->nhits == 0)
		return WARD_OK;
	if ((st = space_index(s)) != WARD_OK || (st = find_breaks(s, p, n)) != WARD_OK)
		return st;
	/* starts first: the near regions are measured from them */
	if (s->e->db[DB_SOM] && (st = find_starts(s, 0)) != WARD_OK)
		return st;
	size_t nmain = s->nhits;
	if ((st = scan_near(s)) != WARD_OK)
		return st;
	if (s->e->db[DB_SOM] && (st = find_starts(s, nmain)) != WARD_OK)
		return st;
	index_words(s, 0);
	for (size_t i = 0; i < s->nhits; i++) {
		const hit *h = &s->hits[i];
		const pat *pt = &rs->pats[h->pat];
		if (pt->kind == PAT_TRIGGER && h->to > h->from &&
		    (st = add_cand(s, pt->rule, h->from, h->to, h->wfrom, h->wto)) != WARD_OK)
			return st;
	}
	if (rs->ncombos && (st = eval_combos(s)) != WARD_OK)
		return st;
	if (s->ncands == 0)
		return WARD_OK;
	/* drop overlapping duplicates of one rule, and unless'd candidates */
	sort_cands_by_rule(s);
	size_t k = 0;
	for (size_t i = 0; i < s->ncands; i++) {
		cand *c = &s->cands[i];
		if (k > 0 && s->cands[k - 1].rule == c->rule && c->from < s->cands[k - 1].to) {
			if (c->to > s->cands[k - 1].to)
				s->cands[k - 1].to = c->to;
			continue;
		}
		if (rs->rules[c->rule].has_unless) {
			bool near;
			if ((st = unless_near(s, c, &near)) != WARD_OK)
				return st;
			if (near)
				continue;
		}
		s->cands[k++] = *c;
	}
	s->ncands = k;
	qsort(s->cands, s->ncands, sizeof *s->cands, cmp_cand_pos);
	uint64_t line = line0;
	size_t lpos = 0;
	for (size_t i = 0; i < s->ncands; i++) {
		const cand *c = &s->cands[i];
		size_t start = s->nb.map[c->from], end = s->nb.map[c->to];
		if (end < start)
			end = start;
		if (base + end <= skip_upto)
			continue;
		line += count_nl(p + lpos, start - lpos);
		lpos = start;
		ward_finding f;
		memset(&f, 0, sizeof f);
		f.rule = &rs->rules[c->rule].info;
		f.start = base + start;
		f.end = base + end;
		f.line = line;
		text_excerpt(p, n, start, end, &f);
		if (s->cb && s->cb(&f, s->ctx) != 0)
			return WARD_ESTOPPED;
	}
	return WARD_OK;
}

/* Where to end a full block of n >= BLOCK bytes: a newline, else a space, else a UTF-8
 * character boundary near BLOCK. */
static size_t block_cut(const char *p, size_t n)
{
	size_t lim = n < BLOCK ? n : BLOCK;
	for (size_t i = lim; i > lim - 65536; i--)
		if (p[i - 1] == '\n')
			return i;
	for (size_t i = lim; i > lim - 4096; i--)
		if (p[i - 1] == ' ' || p[i - 1] == '\t')
			return i;
	size_t i = lim;
	while (i > lim - 4 && ((unsigned char)p[i] & 0xC0) == 0x80)
		i--;
	return i;
}

/* Where the next block starts: OVERLAP bytes before cut, just after a space or newline. */
static size_t block_next(const char *p, size_t cut)
{
	if (cut <= OVERLAP)
		return cut;
	for (size_t i = cut - OVERLAP; i < cut; i++)
		if (p[i] == '\n' || p[i] == ' ' || p[i] == '\t')
			return i + 1;
	return cut;
}

/* Scans the full blocks at the front of p[0..n), which starts at absolute offset base on
 * line *line; returns in *used the bytes the caller may drop. */
static ward_status scan_full_blocks(ward_scanner *s, const char *p, size_t n, uint64_t base,
                                    uint64_t *line, size_t *used)
{
	ward_status st = WARD_OK;
	size_t pos = 0;
	while (n - pos > BLOCK) {
		size_t cut = block_cut(p + pos, n - pos);
		if ((st = scan_block(s, p + pos, cut, base + pos, *line, s->reported_upto)) !=
		    WARD_OK)
			break;
		s->reported_upto = base + pos + cut;
		size_t next = block_next(p + pos, cut);
		*line += count_nl(p + pos, next);
		pos += next;
	}
	*used = pos;
	return st;
}

ward_status ward_scan(ward_scanner *s, const char *buf, size_t len, ward_finding_cb cb, void *ctx)
{
	ward_status st;
	if (!s || (!buf && len) || s->streaming)
		return WARD_EINVAL;
	s->cb = cb;
	s->ctx = ctx;
	s->reported_upto = 0;
	uint64_t line = 1;
	size_t used = 0;
	if ((st = scan_full_blocks(s, buf, len, 0, &line, &used)) == WARD_OK)
		st = scan_block(s, buf + used, len - used, used, line, s->reported_upto);
	s->cb = NULL;
	return st;
}

ward_status ward_stream_begin(ward_scanner *s, ward_finding_cb cb, void *ctx)
{
	if (!s)
		return WARD_EINVAL;
	if (!s->sbuf && !(s->sbuf = malloc(2 * BLOCK)))
		return WARD_ENOMEM;
	s->cb = cb;
	s->ctx = ctx;
	s->slen = 0;
	s->sbase = 0;
	s->sline = 1;
	s->reported_upto = 0;
	s->streaming = true;
	return WARD_OK;
}

ward_status ward_stream_write(ward_scanner *s, const char *buf, size_t len)
{
	ward_status st = WARD_OK;
	if (!s || !s->streaming || (!buf && len))
		return WARD_EINVAL;
	while (len > 0) {
		size_t room = 2 * BLOCK - s->slen, k = len < room ? len : room;
		memcpy(s->sbuf + s->slen, buf, k);
		s->slen += k;
		buf += k;
		len -= k;
		if (s->slen > BLOCK) {
			size_t used = 0;
			st = scan_full_blocks(s, s->sbuf, s->slen, s->sbase, &s->sline, &used);
			memmove(s->sbuf, s->sbuf + used, s->slen - used);
			s->slen -= used;
			s->sbase += used;
			if (st != WARD_OK)
				break;
		}
	}
	return st;
}

ward_status ward_stream_end(ward_scanner *s)
{
	if (!s || !s->streaming)
		return WARD_EINVAL;
	ward_status st = scan_block(s, s->sbuf, s->slen, s->sbase, s->sline, s->reported_upto);
	s->streaming = false;
	s->cb = NULL;
	s->slen = 0;
	return st;
}

/* ---------- inline examples ---------- */

typedef struct ex_ctx {
	const ward_rule_info *want;
	bool found;
} ex_ctx;

static int ex_cb(const ward_finding *f, void *ctx)
{
	ex_ctx *x = ctx;
	if (f->rule == x->want) {
		x->found = true;
		return 1;
	}
	return 0;
}

ward_status ward_engine_test_examples(const ward_engine *e, ward_example_cb cb, void *ctx,
                                      size_t *failed, size_t *total)
{
	ward_status st;
	ward_scanner *s = NULL;
	size_t nf = 0, nt = 0;
	if (!e)
		return WARD_EINVAL;
	if ((st = ward_scanner_new(e, &s)) != WARD_OK)
		return st;
	for (size_t i = 0; i < e->rs.nrules; i++) {
		const rule *r = &e->rs.rules[i];
		for (size_t j = 0; j < r->nexamples; j++) {
			const char *ex = r->examples[j];
			ex_ctx x = {&r->info, false};
			st = ward_scan(s, ex + 1, strlen(ex + 1), ex_cb, &x);
			if (st != WARD_OK && st != WARD_ESTOPPED)
				goto done;
			st = WARD_OK;
			nt++;
			bool want = ex[0] == '+';
			if (x.found != want) {
				nf++;
				if (cb)
					cb(&r->info, want, ex + 1, ctx);
			}
		}
	}
done:
	ward_scanner_free(s);
	if (failed)
		*failed = nf;
	if (total)
		*total = nt;
	return st;
}

/* ---------- anchors (ward rules anchors) ---------- */

_Static_assert(COMBO_MAX_TERMS == WARD_ANCHOR_MAX_TERMS, "the public bound on an all's terms");

/* Streams the file at path through s, a counting scanner, adding its size to *bytes; buf
 * has SAMPLE_CHUNK bytes. */
static ward_status count_file(ward_scanner *s, const char *path, char *buf, uint64_t *bytes,
                              ward_diag *diag)
{
	ward_status st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int err = errno;
		diag_set(diag, path, 0, "%s", strerror(err));
		return err == ENOENT ? WARD_ENOENT : WARD_EIO;
	}
	if ((st = ward_stream_begin(s, NULL, NULL)) != WARD_OK)
		goto done;
	for (;;) {
		ssize_t k = read(fd, buf, SAMPLE_CHUNK);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			diag_set(diag, path, 0, "%s", strerror(errno));
			st = WARD_EIO;
			break;
		}
		if (k == 0)
			break;
		*bytes += (uint64_t)k;
		if ((st = ward_stream_write(s, buf, (size_t)k)) != WARD_OK)
			break;
	}
	ward_status end = ward_stream_end(s); /* always: it leaves streaming */
	if (st == WARD_OK)
		st = end;
	if (st != WARD_OK && diag && !diag->file[0])
		diag_set(diag, path, 0, "%s", ward_strerror(st));
done:
	close(fd);
	return st;
}

static int fts_by_name(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

/* Counts the file at path, or every regular file under the directory at path in name order
 * (links inside not followed, as ward scan reads a directory). */
static ward_status count_path(ward_scanner *s, const char *path, char *buf, uint64_t *bytes,
                              ward_diag *diag)
{
	ward_status st = WARD_OK;
	char *const paths[] = {(char *)path, NULL};
	FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_COMFOLLOW | FTS_NOCHDIR, fts_by_name);
	FTSENT *f;
	if (!fts) {
		diag_set(diag, path, 0, "%s", strerror(errno));
		return WARD_EIO;
	}
	while (st == WARD_OK && (f = fts_read(fts)) != NULL) {
		switch (f->fts_info) {
		case FTS_F:
			st = count_file(s, f->fts_path, buf, bytes, diag);
			break;
		case FTS_DNR:
		case FTS_ERR:
		case FTS_NS:
			diag_set(diag, f->fts_path, 0, "%s", strerror(f->fts_errno));
			st = f->fts_errno == ENOENT ? WARD_ENOENT : WARD_EIO;
			break;
		case FTS_SLNONE:
			if (f->fts_level == FTS_ROOTLEVEL) {
				diag_set(diag, f->fts_path, 0, "%s", strerror(ENOENT));
				st = WARD_ENOENT;
			}
			break;
		default:
			break; /* directories, devices, sockets, links inside a directory */
		}
	}
	fts_close(fts);
	return st;
}

ward_status ward_engine_anchors(const ward_engine *e, const char *const *paths, size_t npaths,
                                ward_anchor **out, size_t *n, uint64_t *sample_bytes,
                                ward_diag *diag)
{
	ward_status st = WARD_OK;
	ward_scanner *s = NULL;
	ward_anchor *a = NULL;
	char *buf = NULL;
	uint64_t bytes = 0;
	if (diag)
		memset(diag, 0, sizeof *diag);
	if (!e || !out || !n || (npaths && !paths))
		return WARD_EINVAL;
	*out = NULL;
	*n = 0;
	const ruleset *rs = &e->rs;
	if (!(a = calloc(rs->ncombos + 1, sizeof *a))) {
		st = WARD_ENOMEM;
		goto done;
	}
	if (npaths) {
		if ((st = ward_scanner_new(e, &s)) != WARD_OK)
			goto done;
		if (!(s->counts = calloc(rs->npats + 1, sizeof *s->counts)) ||
		    !(buf = malloc(SAMPLE_CHUNK))) {
			st = WARD_ENOMEM;
			goto done;
		}
		for (size_t i = 0; i < npaths && st == WARD_OK; i++)
			st = count_path(s, paths[i], buf, &bytes, diag);
		if (st != WARD_OK)
			goto done;
	}
	for (size_t c = 0; c < rs->ncombos; c++) {
		const combo *cb = &rs->combos[c];
		a[c].rule = &rs->rules[cb->rule].info;
		a[c].nterms = cb->nterms;
		a[c].current = e->anchor[c] + 1u;
		a[c].named = cb->anchor != 0;
	}
	for (size_t i = 0; i < rs->npats; i++) {
		const pat *p = &rs->pats[i];
		if (p->kind != PAT_TERM)
			continue;
		ward_anchor *x = &a[p->combo];
		ward_anchor_term *t = &x->terms[p->term];
		if (!x->line)
			x->line = p->line;
		if (!t->phrase)
			t->phrase = p->src ? p->src : p->expr;
		t->nphrases++;
		t->hits += s ? s->counts[i] : 0;
	}
	for (size_t c = 0; c < rs->ncombos; c++) {
		ward_anchor *x = &a[c];
		x->suggested = x->current;
		for (unsigned t = 0; t < x->nterms; t++)
			if (x->terms[t].hits < x->terms[x->suggested - 1].hits)
				x->suggested = t + 1;
	}
	*out = a;
	*n = rs->ncombos;
	a = NULL;
	if (sample_bytes)
		*sample_bytes = bytes;
done:
	free(a);
	free(buf);
	ward_scanner_free(s);
	return st;
}
