/* text_int.h: internals of the text engine shared by normalise.c, rules.c and engine.c. */
#ifndef WARD_TEXT_INT_H
#define WARD_TEXT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ward/ward.h>

/* ---- normaliser (normalise.c) ---- */

/* Growable output of the normaliser; reused between calls to avoid allocation. */
typedef struct norm_buf {
	char *out;      /* normalised bytes, NUL-terminated */
	uint32_t *map;  /* map[i]: offset in the input of the character behind out[i] */
	size_t len;     /* bytes in out, not counting the NUL */
	size_t cap;     /* capacity of out and map, in entries */
	struct norm_cache *cache; /* per-buffer cache of non-ASCII code point foldings */
} norm_buf;

/* Normalises in[0..len) into nb (see ward_normalise for the form).  len must be below
 * WARD_NORM_MAX_INPUT.  nb's buffers are reused and grown as needed.  out[len] and the
 * NORM_PAD bytes after it are zero, so a matcher may read past the end (engine.c, SCAN_PAD). */
#define NORM_PAD 64
ward_status norm_run(norm_buf *nb, const char *in, size_t len);
/* norm_run with flags: NORM_NO_FAST reads every byte through the general path, never the
 * ASCII fast path; NORM_NO_SIMD keeps the fast path to a byte at a time; NORM_NO_AVX512 keeps
 * it from 64 bytes at a time and NORM_NO_AVX2 from 32, so tests can check that every path
 * gives the same bytes and map. */
#define NORM_NO_FAST   1u
#define NORM_NO_SIMD   2u
#define NORM_NO_AVX2   4u
#define NORM_NO_AVX512 8u
ward_status norm_run_opts(norm_buf *nb, const char *in, size_t len, unsigned flags);
/* The bytes at a time the fast path takes with these flags on this CPU: 64, 32, 16 or 1. */
size_t norm_chunk_width(unsigned flags);
void norm_buf_free(norm_buf *nb);

#define WARD_NORM_MAX_INPUT ((size_t)64 << 20)

/* ---- rules (rules.c) ---- */

typedef enum pat_kind { PAT_TRIGGER = 0, PAT_TERM, PAT_UNLESS } pat_kind;

/* One pattern given to the matcher: a normalised literal or a regex over normalised text. */
typedef struct pat {
	uint32_t rule;     /* index into engine rules */
	uint8_t kind;      /* pat_kind */
	uint8_t is_regex;  /* 1: regex (needs start-of-match); 0: literal */
	uint8_t check_end; /* literal: must be followed by a space (not a prefix) */
	uint16_t term;     /* for PAT_TERM: term index within its combo */
	uint32_t combo;    /* for PAT_TERM: index into engine combos */
	uint32_t litlen;   /* for literals: length of the literal, which must start a word */
	char *expr;        /* the expression given to Vectorscan (escaped for literals) */
	const char *src;   /* the phrase as the rule wrote it (NULL for regexes) */
	unsigned line;     /* rule-file line, for compile errors */
	const char *file;
} pat;

/* An all-of combination: every term within window words. */
#define COMBO_MAX_TERMS 16
typedef struct combo {
	uint32_t rule;
	uint16_t nterms;
	uint16_t anchor; /* the term named by "anchor K" (from 1), or 0: the engine chooses */
	uint32_t window;
} combo;

typedef struct rule {
	ward_rule_info info;
	char **examples;   /* examples, each prefixed by '+' or '-' */
	size_t nexamples;
	bool has_unless;
} rule;

typedef struct ruleset {
	rule *rules;
	size_t nrules, caprules;
	pat *pats;
	size_t npats, cappats;
	combo *combos;
	size_t ncombos, capcombos;
	char **files;      /* file names (rule info points at these) */
	size_t nfiles;
	struct strpool *pool;
	uint8_t digest[32];   /* SHA-256 of every source byte, for the compiled cache */
	void *digest_ctx;
} ruleset;

/* Parses rule text into rs (which accumulates across files).  name is the file name for
 * messages.  On error fills diag. */
ward_status rules_parse(ruleset *rs, const char *text, size_t len, const char *name,
                        ward_diag *diag);
/* Checks what only a whole database can tell (duplicate ids, at least one rule) and finishes
 * the digest. */
ward_status rules_finish(ruleset *rs, ward_diag *diag);
void rules_free(ruleset *rs);

/* ---- engine (engine.c) ---- */

/* With on, the scanner runs each near and unless database over whole blocks instead of only
 * the words around the hits that can use them: slower, and the reference that tests hold
 * the windowed scan to (the same findings). */
void scanner_set_exhaustive(ward_scanner *s, bool on);
/* With on (the default), a near or unless database whose patterns are all literals runs
 * through its direct matcher (engine.c, build_direct); off, through Vectorscan, which tests
 * hold the direct matcher to. */
void scanner_set_direct(ward_scanner *s, bool on);
/* For tests of the direct matcher: the engine's databases (0 and 1 are the main and som
 * ones); how many literals database d's direct matcher holds (0: it has none); the bytes of
 * its ith literal (without the space before it). */
size_t engine_db_count(const ward_engine *e);
size_t engine_direct_literals(const ward_engine *e, size_t d);
const char *engine_direct_literal(const ward_engine *e, size_t d, size_t i, size_t *len);
/* For tests: normalises text[0, len) into s as a block to be scanned and indexes its spaces;
 * *out and *nlen are the normalised bytes (valid until s scans again).  Then
 * scanner_region_hits runs database d over the normalised bytes [from, to) (from <= to <=
 * *nlen) as the near and unless scans do, through its direct matcher or Vectorscan, and puts
 * up to cap of the hits in out, in the order they came; returns their number, or SIZE_MAX on
 * an error. */
typedef struct engine_hit {
	uint32_t pat, from, to;
} engine_hit;
ward_status scanner_load_block(ward_scanner *s, const char *text, size_t len, const char **out,
                               size_t *nlen);
size_t scanner_region_hits(ward_scanner *s, size_t d, bool use_direct, uint32_t from, uint32_t to,
                           engine_hit *out, size_t cap);
/* For tests: as ward_engine_load, but every all-of combination anchors on its term number
 * force % nterms (from 0), whatever its rule says or the engine would choose.  Findings must
 * not change.  Never reads or writes the compiled cache, whose key is the rules' source. */
ward_status engine_load_anchored(const char *path, unsigned force, ward_engine **out,
                                 ward_diag *diag);
/* Points f's excerpt at the line(s) of p[0, n) around [start, end), bounded to
 * WARD_EXCERPT_MAX bytes (engine.c; the conversation model cuts its excerpts the same way). */
void text_excerpt(const char *p, size_t n, size_t start, size_t end, ward_finding *f);

/* Copies s into rs's pool; valid until rules_free. */
char *rules_strdup(ruleset *rs, const char *s, size_t n);

/* Sets diag (if not NULL): file, line and a formatted message. */
void diag_set(ward_diag *diag, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
