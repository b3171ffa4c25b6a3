/*
 * ward/text.h: rule databases and the text engine.
 *
 * A ward_engine is compiled once from a rule database (see ward-rules(5)) and is then read-only:
 * share it between threads.  A ward_scanner holds one thread's scratch space and buffers; use
 * one scanner per thread.  Findings carry byte offsets into the ORIGINAL input, whatever the
 * normaliser did to it (case, lookalike letters, leetspeak, separators, stretched letters).
 */
#ifndef WARD_TEXT_H
#define WARD_TEXT_H

#include <ward/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ward_engine ward_engine;
typedef struct ward_scanner ward_scanner;

/* What the engine knows of one rule.  Valid until ward_engine_free. */
typedef struct ward_rule_info {
	const char *id;          /* e.g. "grooming.secrecy.dont-tell" */
	ward_area area;          /* first (primary) area */
	uint32_t areas;          /* bit (1u << area) for every area the rule names */
	ward_severity severity;
	double weight;           /* contribution to scores */
	const char *stage;       /* conversation stage tag, or NULL */
	const char *description; /* one line, plain words */
	const char *file;        /* rule file it came from */
	unsigned line;           /* line of its "rule" statement */
} ward_rule_info;

/* One finding.  Every pointer is valid only during the callback that receives it. */
typedef struct ward_finding {
	const ward_rule_info *rule; /* valid until ward_engine_free */
	uint64_t start, end;        /* byte offsets [start, end) in the original input; for a
	                               stream, counted from the start of the stream */
	uint64_t line;              /* 1-based line number of start */
	const char *excerpt;        /* the original bytes around the finding (at most
	                               WARD_EXCERPT_MAX), not NUL-terminated; may hold invalid UTF-8 */
	size_t excerpt_len;
	size_t excerpt_match;       /* offset of the finding's start inside excerpt */
} ward_finding;

#define WARD_EXCERPT_MAX 160

/* Called for each finding, in order of start offset within each scanned block.
 * Return 0 to go on, anything else to stop the scan (which then returns WARD_ESTOPPED). */
typedef int (*ward_finding_cb)(const ward_finding *f, void *ctx);

enum {
	WARD_LOAD_NOCACHE = 1u << 0, /* neither read nor write the compiled-database cache */
};

/* Loads and compiles the rule database at path: a .rules file, or a directory whose *.rules
 * files are read in name order.  path NULL means the default: $WARD_RULES, else ./rules if it
 * exists, else the installed rules.  A compiled copy is cached (in $WARD_CACHE_DIR, else
 * $XDG_CACHE_HOME/ward, else ~/.cache/ward) keyed by the rules' content, so later loads are
 * fast.  On error *diag says which file and line.  *out is owned by the caller: free it with
 * ward_engine_free. */
WARD_API ward_status ward_engine_load(const char *path, unsigned flags, ward_engine **out,
                                      ward_diag *diag);

/* As ward_engine_load, from rule text in memory; name is used in messages.  text is copied. */
WARD_API ward_status ward_engine_load_string(const char *text, size_t len, const char *name,
                                             unsigned flags, ward_engine **out, ward_diag *diag);

/* Frees e.  NULL is allowed.  No scanner of e may be used afterwards. */
WARD_API void ward_engine_free(ward_engine *e);

/* Number of rules in e, and rule i (NULL when out of range).  Valid until ward_engine_free. */
WARD_API size_t ward_engine_rule_count(const ward_engine *e);
WARD_API const ward_rule_info *ward_engine_rule(const ward_engine *e, size_t i);
/* The rule with this id, or NULL. */
WARD_API const ward_rule_info *ward_engine_find_rule(const ward_engine *e, const char *id);

/* The plain phrases of e's rules as written (for exporting to other tools).  For i below the
 * number of patterns, returns the phrase of pattern i, or "" when pattern i is not a plain
 * phrase (a regex, an all-of term, an unless); NULL once i is past the end.  *rule (may be
 * NULL) gets the phrase's rule, or NULL.  Valid until ward_engine_free. */
WARD_API const char *ward_engine_phrase(const ward_engine *e, size_t i,
                                        const ward_rule_info **rule);

/* Each rule's inline examples: those marked to match must give a finding of that rule, those
 * marked not to must not.  cb (may be NULL) is told of every failure; *failed and *total
 * (either may be NULL) receive the counts.  Returns WARD_OK even when examples fail. */
typedef void (*ward_example_cb)(const ward_rule_info *rule, int should_match,
                                const char *example, void *ctx);
WARD_API ward_status ward_engine_test_examples(const ward_engine *e, ward_example_cb cb,
                                               void *ctx, size_t *failed, size_t *total);

/* The anchors of all-of combinations (ward rules anchors).  The engine searches the whole
 * text for one term of each "all" line, its anchor, and for the other terms only around the
 * anchor's occurrences: an anchor that is rare in ordinary text makes scans faster, and any
 * anchor gives the same findings.  A rule names it with "all N anchor K:" (ward-rules(5)). */
#define WARD_ANCHOR_MAX_TERMS 16

/* One term of a combination.  phrase is valid until ward_engine_free. */
typedef struct ward_anchor_term {
	const char *phrase; /* its first phrase, as the rule wrote it */
	size_t nphrases;    /* how many phrases it has (separated by '|') */
	uint64_t hits;      /* occurrences of any of them in the sample */
} ward_anchor_term;

/* One combination: rule is valid until ward_engine_free.  current and suggested number the
 * terms from 1, as "anchor K" does: the current anchor is terms[current - 1]. */
typedef struct ward_anchor {
	const ward_rule_info *rule; /* the rule the "all" line is in */
	unsigned line;              /* the "all" line in rule->file */
	unsigned nterms;            /* terms[0, nterms) are used */
	unsigned current;           /* the term the engine anchors on */
	int named;          /* 1 when the rule names it ("anchor K"), 0 when the engine chose */
	unsigned suggested; /* the term with the fewest hits; a tie keeps current */
	ward_anchor_term terms[WARD_ANCHOR_MAX_TERMS];
} ward_anchor;

/* Counts how often each term of each of e's all-of combinations occurs in a sample of text
 * the school considers ordinary, every term searched for everywhere: the files at
 * paths[0..npaths) (a directory: every regular file under it, links inside not followed).
 * *out gets one ward_anchor per combination, in the order of the rule files (caller frees the
 * array with free(); its pointers are valid until ward_engine_free), *n their number, and
 * *sample_bytes (may be NULL) the bytes read.  With npaths 0 every count is 0 and each
 * suggestion the current anchor.  A path that cannot be read stops it (WARD_ENOENT,
 * WARD_EIO) with diag naming the path; so does a block with more matches than the engine
 * keeps (WARD_ELIMIT), which would make a count short. */
WARD_API ward_status ward_engine_anchors(const ward_engine *e, const char *const *paths,
                                         size_t npaths, ward_anchor **out, size_t *n,
                                         uint64_t *sample_bytes, ward_diag *diag);

/* A scanner for e, for use by one thread at a time.  Caller frees with ward_scanner_free;
 * it must be freed before e. */
WARD_API ward_status ward_scanner_new(const ward_engine *e, ward_scanner **out);
WARD_API void ward_scanner_free(ward_scanner *s);

/* Scans one buffer (any bytes: invalid UTF-8 and NULs are safe).  buf is not kept.  Buffers
 * larger than an internal block size are scanned in overlapping blocks, so memory stays
 * bounded; a finding is reported once. */
WARD_API ward_status ward_scan(ward_scanner *s, const char *buf, size_t len, ward_finding_cb cb,
                               void *ctx);

/* Streaming: begin, write any number of pieces of any size, end.  Offsets and line numbers run
 * on across writes.  Memory is bounded whatever the input (a 1 GB line included).  Findings
 * may be reported during write or end. */
WARD_API ward_status ward_stream_begin(ward_scanner *s, ward_finding_cb cb, void *ctx);
WARD_API ward_status ward_stream_write(ward_scanner *s, const char *buf, size_t len);
WARD_API ward_status ward_stream_end(ward_scanner *s);

/* The normalised form ward matches against: lower case, NFKC, lookalike letters folded,
 * leetspeak read as letters, separators inside words removed, repeated letters squeezed,
 * words separated by single spaces with one space at each end.  *out is NUL-terminated and
 * *map (may be NULL) has *out_len + 1 entries: map[i] is the offset in `in` of the character
 * that produced output byte i (map[*out_len] == len).  Caller frees *out and *map with free(). */
WARD_API ward_status ward_normalise(const char *in, size_t len, char **out, size_t *out_len,
                                    uint32_t **map);

#ifdef __cplusplus
}
#endif
#endif
