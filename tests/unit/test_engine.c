/* Unit tests for the rule reader and the scanner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>

#include <ward/ward.h>

#include "text_int.h"

static const char RULES[] = "# test rules\n"
                            "rule grooming.secrecy.test\n"
                            "  area grooming\n"
                            "  severity medium\n"
                            "  stage secrecy\n"
                            "  description Asks for secrecy\n"
                            "  phrase dont tell anyone | our little secret\n"
                            "  unless surprise party\n"
                            "  example+ please don't tell anyone\n"
                            "  example- don't tell anyone about the surprise party\n"
                            "end\n"
                            "rule grooming.meet.test\n"
                            "  area grooming, exploitation\n"
                            "  severity high\n"
                            "  weight 5\n"
                            "  description Meeting in secret\n"
                            "  all 6: meet up | meet; secret\n"
                            "  example+ lets meet up but keep it secret\n"
                            "  example- meet the team on saturday\n"
                            "end\n"
                            "rule adult-content.prefix.test\n"
                            "  area adult-content\n"
                            "  severity low\n"
                            "  description Prefix words\n"
                            "  phrase adult vid* site\n"
                            "  regex \\bhow old (r|are) (u|you)\\b\n"
                            "  example+ an adult videos site\n"
                            "end\n";

typedef struct found {
	char rule[64];
	uint64_t start, end, line;
} found;

typedef struct results {
	found f[256];
	size_t n;
} results;

static int collect(const ward_finding *f, void *ctx)
{
	results *r = ctx;
	if (r->n < 256) {
		snprintf(r->f[r->n].rule, sizeof r->f[r->n].rule, "%s", f->rule->id);
		r->f[r->n].start = f->start;
		r->f[r->n].end = f->end;
		r->f[r->n].line = f->line;
		r->n++;
	}
	return 0;
}

static int setup(void **state)
{
	ward_engine *e = NULL;
	ward_diag d;
	ward_status st = ward_engine_load_string(RULES, sizeof RULES - 1, "test.rules",
	                                         WARD_LOAD_NOCACHE, &e, &d);
	if (st != WARD_OK) {
		fprintf(stderr, "%s:%u: %s\n", d.file, d.line, d.message);
		return -1;
	}
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	ward_engine_free(*state);
	return 0;
}

static void scan_str(ward_engine *e, const char *s, results *r)
{
	ward_scanner *sc = NULL;
	memset(r, 0, sizeof *r);
	assert_int_equal(ward_scanner_new(e, &sc), WARD_OK);
	assert_int_equal(ward_scan(sc, s, strlen(s), collect, r), WARD_OK);
	ward_scanner_free(sc);
}

static void test_load_and_info(void **state)
{
	ward_engine *e = *state;
	assert_int_equal(ward_engine_rule_count(e), 3);
	const ward_rule_info *r = ward_engine_find_rule(e, "grooming.meet.test");
	assert_non_null(r);
	assert_int_equal(r->area, WARD_AREA_GROOMING);
	assert_true(r->areas & (1u << WARD_AREA_EXPLOITATION));
	assert_int_equal(r->severity, WARD_SEV_HIGH);
	assert_true(r->weight == 5.0);
	r = ward_engine_find_rule(e, "grooming.secrecy.test");
	assert_string_equal(r->stage, "secrecy");
	assert_true(r->weight == 2.0); /* medium's default */
	assert_int_equal(r->line, 2);
	assert_null(ward_engine_find_rule(e, "nope"));
}

static void test_examples(void **state)
{
	size_t failed = 9, total = 0;
	assert_int_equal(ward_engine_test_examples(*state, NULL, NULL, &failed, &total), WARD_OK);
	assert_int_equal(total, 5);
	assert_int_equal(failed, 0);
}

static void test_offsets_point_at_original(void **state)
{
	results r;
	const char *s = "Hi!\nplease D0N'T  t.e.l.l  any0ne, ok?";
	scan_str(*state, s, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.f[0].rule, "grooming.secrecy.test");
	assert_int_equal(r.f[0].line, 2);
	assert_int_equal(r.f[0].start, (uint64_t)(strstr(s, "D0N") - s));
	assert_int_equal(r.f[0].end, (uint64_t)(strstr(s, ", ok") - s));
}

static void test_unless(void **state)
{
	results r;
	scan_str(*state, "don't tell anyone about the surprise party for mum", &r);
	assert_int_equal(r.n, 0);
	/* far from the unless phrase, it still counts */
	scan_str(*state,
	         "the surprise party is on friday and it will be great fun for all of us. "
	         "later: our little secret",
	         &r);
	assert_int_equal(r.n, 1);
}

static void test_all_of_window(void **state)
{
	results r;
	scan_str(*state, "we could meet up later, it is our secret", &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.f[0].rule, "grooming.meet.test");
	scan_str(*state,
	         "meet me at the park with your friends and your dog then home for a secret", &r);
	assert_int_equal(r.n, 0);                /* too far apart */
	scan_str(*state, "secret ... meet", &r); /* any order */
	assert_int_equal(r.n, 1);
}

static void test_prefix_and_regex(void **state)
{
	results r;
	scan_str(*state, "the adult video site and the adult vidz site", &r);
	assert_int_equal(r.n, 2);
	scan_str(*state, "adult vid site", &r);
	assert_int_equal(r.n, 1);
	scan_str(*state, "How old r u?", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.f[0].start, 0);
	assert_int_equal(r.f[0].end, 11);
}

/* A stream written in pieces of any size gives exactly what one whole scan gives, across
 * block boundaries too. */
static void test_stream_equals_whole(void **state)
{
	ward_engine *e = *state;
	size_t n = 3u << 20;
	char *big = malloc(n);
	const char *filler = "ordinary homework about rivers and mountains. ";
	size_t fl = strlen(filler), pos = 0, planted = 0;
	while (pos + 64 < n) {
		if (pos % 300000 < fl) {
			memcpy(big + pos, "our little secret\n", 18);
			pos += 18;
			planted++;
		} else {
			memcpy(big + pos, filler, fl);
			pos += fl;
		}
	}
	memset(big + pos, ' ', n - pos);
	results *whole = calloc(1, sizeof *whole), *part = calloc(1, sizeof *part);
	ward_scanner *sc = NULL;
	assert_int_equal(ward_scanner_new(e, &sc), WARD_OK);
	assert_int_equal(ward_scan(sc, big, n, collect, whole), WARD_OK);
	assert_int_equal(whole->n, planted);
	assert_int_equal(ward_stream_begin(sc, collect, part), WARD_OK);
	size_t at = 0, step = 1;
	while (at < n) {
		size_t k = step < n - at ? step : n - at;
		assert_int_equal(ward_stream_write(sc, big + at, k), WARD_OK);
		at += k;
		step = step * 7 % 100003 + 1;
	}
	assert_int_equal(ward_stream_end(sc), WARD_OK);
	assert_int_equal(part->n, whole->n);
	for (size_t i = 0; i < whole->n; i++) {
		assert_int_equal(part->f[i].start, whole->f[i].start);
		assert_int_equal(part->f[i].end, whole->f[i].end);
		assert_int_equal(part->f[i].line, whole->f[i].line);
		assert_memory_equal(big + whole->f[i].start, "our little secret", 17);
	}
	ward_scanner_free(sc);
	free(whole);
	free(part);
	free(big);
}

/* One line far longer than a block, with a phrase on the cut. */
static void test_huge_line(void **state)
{
	size_t n = (1u << 20) * 2 + 5000;
	char *big = malloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = "abcd "[i % 5];
	size_t at = (1u << 20) - 6;
	memcpy(big + at, " our little secret ", 19);
	results r;
	memset(&r, 0, sizeof r);
	ward_scanner *sc = NULL;
	assert_int_equal(ward_scanner_new(*state, &sc), WARD_OK);
	assert_int_equal(ward_scan(sc, big, n, collect, &r), WARD_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.f[0].start, at + 1);
	ward_scanner_free(sc);
	free(big);
}

static int stop_first(const ward_finding *f, void *ctx)
{
	(void)f;
	(*(int *)ctx)++;
	return 1;
}

static void test_stop_and_binary(void **state)
{
	ward_scanner *sc = NULL;
	int calls = 0;
	const char s[] = "our little secret and our little secret";
	assert_int_equal(ward_scanner_new(*state, &sc), WARD_OK);
	assert_int_equal(ward_scan(sc, s, sizeof s - 1, stop_first, &calls), WARD_ESTOPPED);
	assert_int_equal(calls, 1);
	unsigned char bin[4096];
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(i * 131 + 7);
	results r;
	memset(&r, 0, sizeof r);
	assert_int_equal(ward_scan(sc, (const char *)bin, sizeof bin, collect, &r), WARD_OK);
	assert_int_equal(ward_scan(sc, "", 0, collect, &r), WARD_OK);
	ward_scanner_free(sc);
}

/* Rules for the edges of windows and regions: a term or unless phrase of several words that
 * starts inside its window counts whole, and rules that share unless phrases each keep them. */
static const char EDGE_RULES[] =
    "rule grooming.edge.combo\n"
    "  area grooming\n"
    "  severity medium\n"
    "  description a multi-word term at the window's edge\n"
    "  all 4: secret; pick you up\n"
    "end\n"
    "rule grooming.edge.unless\n"
    "  area grooming\n"
    "  severity medium\n"
    "  description a multi-word unless phrase at the window's edge\n"
    "  phrase keep quiet\n"
    "  unless surprise party for dad | birthday\n"
    "end\n"
    "rule grooming.edge.shared\n"
    "  area grooming\n"
    "  severity medium\n"
    "  description shares an unless phrase with the rule above, and lists one twice\n"
    "  phrase hush now\n"
    "  unless birthday | cake | birthday\n"
    "end\n"
    "rule grooming.edge.reset\n"
    "  area grooming\n"
    "  severity medium\n"
    "  description a second set of terms after one that an unless phrase dropped\n"
    "  all 20: collect; alone\n"
    "  unless birthday\n"
    "end\n"
    "rule grooming.edge.prefix\n"
    "  area grooming\n"
    "  severity medium\n"
    "  description a phrase ending in a prefix word\n"
    "  phrase send photo*\n"
    "end\n";

static void test_window_edges(void **state)
{
	(void)state;
	ward_engine *e = NULL;
	ward_diag d;
	results r;
	assert_int_equal(ward_engine_load_string(EDGE_RULES, sizeof EDGE_RULES - 1, "edge.rules",
	                                         WARD_LOAD_NOCACHE, &e, &d),
	                 WARD_OK);
	/* "pick" starts four words after "secret": inside the window of 4 */
	scan_str(e, "secret one two three pick you up", &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.f[0].rule, "grooming.edge.combo");
	scan_str(e, "secret one two three four pick you up", &r);
	assert_int_equal(r.n, 0);
	/* the unless phrase starts 8 words after the finding: it counts, all four words of it */
	scan_str(e, "keep quiet one two three four five six seven surprise party for dad", &r);
	assert_int_equal(r.n, 0);
	scan_str(e, "keep quiet one two three four five six seven eight surprise party for dad",
	         &r);
	assert_int_equal(r.n, 1);
	/* one unless phrase shared by two rules */
	scan_str(e, "keep quiet and hush now, it is for the birthday", &r);
	assert_int_equal(r.n, 0);
	scan_str(e, "keep quiet and hush now, there is cake", &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.f[0].rule, "grooming.edge.unless");
	ward_engine_free(e);
}

/* A blank line ends all-of and unless windows; a single line break inside text does not. */
static void test_paragraphs(void **state)
{
	(void)state;
	ward_engine *e = NULL;
	ward_diag d;
	results r;
	assert_int_equal(ward_engine_load_string(EDGE_RULES, sizeof EDGE_RULES - 1, "edge.rules",
	                                         WARD_LOAD_NOCACHE, &e, &d),
	                 WARD_OK);
	scan_str(e, "secret one two\nthree pick you up", &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.f[0].rule, "grooming.edge.combo");
	scan_str(e, "secret one two\n\nthree pick you up", &r);
	assert_int_equal(r.n, 0);
	scan_str(e, "secret one two\r\n \t\r\nthree pick you up", &r);
	assert_int_equal(r.n, 0);
	scan_str(e, "pick you up\n\nsecret", &r);
	assert_int_equal(r.n, 0);
	/* the unless phrase on the next line counts; after a blank line it does not */
	scan_str(e, "keep quiet\nbirthday", &r);
	assert_int_equal(r.n, 0);
	scan_str(e, "birthday\n\nkeep quiet", &r);
	assert_int_equal(r.n, 1);
	scan_str(e, "keep quiet\n\nbirthday", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.f[0].start, 0);
	assert_int_equal(r.f[0].end, 10);
	ward_engine_free(e);
}

/* A set of all-of terms that an unless phrase drops does not use up its terms: a later set,
 * away from the unless phrase, is still found. */
static void test_all_of_after_unless(void **state)
{
	(void)state;
	ward_engine *e = NULL;
	ward_diag d;
	results r;
	const char *s = "birthday collect one two three four five six seven eight nine ten alone "
	                "eleven collect";
	assert_int_equal(ward_engine_load_string(EDGE_RULES, sizeof EDGE_RULES - 1, "edge.rules",
	                                         WARD_LOAD_NOCACHE, &e, &d),
	                 WARD_OK);
	scan_str(e, s, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.f[0].rule, "grooming.edge.reset");
	assert_int_equal(r.f[0].start, (uint64_t)(strstr(s, "alone") - s));
	assert_int_equal(r.f[0].end, strlen(s));
	/* near the unless phrase, nothing */
	scan_str(e, "birthday collect one alone", &r);
	assert_int_equal(r.n, 0);
	ward_engine_free(e);
}

/* A phrase ending in a prefix word: the finding ends where the word ends. */
static void test_prefix_span(void **state)
{
	ward_engine *e = NULL;
	ward_diag d;
	results r;
	const char *s = "please send photographs, now";
	assert_int_equal(ward_engine_load_string(EDGE_RULES, sizeof EDGE_RULES - 1, "edge.rules",
	                                         WARD_LOAD_NOCACHE, &e, &d),
	                 WARD_OK);
	scan_str(e, s, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.f[0].start, 7);
	assert_int_equal(r.f[0].end, (uint64_t)(strstr(s, ",") - s));
	ward_engine_free(e);
	/* a prefix word inside a phrase (a regex): the end is the phrase's last word */
	scan_str(*state, "an adult videos site here", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.f[0].start, 3);
	assert_int_equal(r.f[0].end, 20);
}

typedef struct bad {
	const char *text;
	unsigned line;
	const char *msg;
} bad;

static void test_syntax_errors(void **state)
{
	(void)state;
	static const bad cases[] = {
	    {"rule a\n area nowhere\nend\n", 2, "unknown area"},
	    {"rule a\n area grooming\n severity huge\nend\n", 3, "unknown severity"},
	    {"rule a\n area grooming\n severity low\n description d\nend\n", 1, "nothing to match"},
	    {"rule a\n area grooming\n severity low\n description d\n phrase x\n", 1, "no end"},
	    {"\n\nphrase x\n", 3, "outside a rule"},
	    {"rule A!\n", 1, "bad rule id"},
	    {"rule a\n area grooming\n severity low\n description d\n all 3: x\nend\n", 5,
	     "at least two"},
	    {"rule a\n area grooming\n severity low\n description d\n phrase ...\nend\n", 5,
	     "no letters"},
	    {"rule a\n area grooming\n severity low\n weight -1\nend\n", 4, "weight"},
	    {"\n\nrule b\n area grooming\n phrase x\nend\n", 3, "has no severity"},
	    {"rule a\n area grooming\n severity low\n description d\n frobnicate\nend\n", 5,
	     "unknown statement"},
	    {"rule a\n area grooming\n severity low\n description d\n phrase x\nend\n"
	     "rule a\n area grooming\n severity low\n description d\n phrase y\nend\n",
	     7, "already used"},
	    {"rule a\n area grooming\n severity low\n description d\n regex (unclosed\nend\n", 5,
	     "pattern rejected"},
	    {"", 0, "no rules"},
	    /* all N anchor K: a bad K is an error on the all line */
	    {"rule a\n area grooming\n severity low\n description d\n phrase x\n"
	     " all 3 anchor x: a; b\nend\n",
	     6, "anchor needs the number of a term"},
	    {"rule a\n area grooming\n severity low\n description d\n all 3 anchor: a; b\nend\n", 5,
	     "anchor needs the number of a term"},
	    {"rule a\n area grooming\n severity low\n description d\n all 3 anchor -1: a; b\nend\n",
	     5, "anchor needs the number of a term"},
	    {"rule a\n area grooming\n severity low\n description d\n"
	     " all 3 anchor 99999999999999999999: a; b\nend\n",
	     5, "anchor needs the number of a term"},
	    {"rule a\n area grooming\n severity low\n description d\n all 3 anchor 0: a; b\nend\n", 5,
	     "numbered from 1"},
	    {"\nrule a\n area grooming\n severity low\n description d\n all 3 anchor 3: a; b\nend\n",
	     6, "anchor 3, but this all has 2 terms"},
	    {"rule a\n area grooming\n severity low\n description d\n"
	     " all 3 anchor 17: a; b; c; d; e; f; g; h; i; j; k; l; m; n; o; p\nend\n",
	     5, "anchor 17, but this all has 16 terms"},
	    {"rule a\n area grooming\n severity low\n description d\n all 3 anchor 2x: a; b\nend\n",
	     5, "expected ':' after the anchor"},
	    {"rule a\n area grooming\n severity low\n description d\n all 3 anchors 2: a; b\nend\n",
	     5, "expected ':' (or anchor K)"},
	    {"rule a\n area grooming\n severity low\n description d\n all 3 2: a; b\nend\n", 5,
	     "expected ':' (or anchor K)"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ward_engine *e = NULL;
		ward_diag d;
		ward_status st = ward_engine_load_string(cases[i].text, strlen(cases[i].text),
		                                         "bad.rules", WARD_LOAD_NOCACHE, &e, &d);
		assert_int_not_equal(st, WARD_OK);
		assert_null(e);
		if (d.line != cases[i].line || !strstr(d.message, cases[i].msg))
			fail_msg("case %zu: got line %u \"%s\"", i, d.line, d.message);
	}
	ward_engine *e = NULL;
	ward_diag d;
	assert_int_equal(ward_engine_load("/nonexistent/rules", 0, &e, &d), WARD_ENOENT);
	assert_string_equal(d.file, "/nonexistent/rules");
	assert_int_equal(ward_engine_load_string("rule a\0", 7, "nul.rules", 0, &e, &d),
	                 WARD_ESYNTAX);
}

static void test_taxonomy(void **state)
{
	(void)state;
	assert_int_equal(WARD_AREA_COUNT, 9);
	for (int i = 0; i < WARD_AREA_COUNT; i++) {
		const ward_area_info *a = ward_area_get((ward_area)i);
		assert_non_null(a);
		assert_int_equal(ward_area_from_id(a->id), i);
		assert_true(strlen(a->guidance) > 20);
	}
	assert_null(ward_area_get(WARD_AREA_COUNT));
	assert_int_equal(ward_area_from_id("peer-images"), WARD_AREA_PEER_IMAGES);
	assert_int_equal(ward_area_from_id("nope"), -1);
	assert_string_equal(ward_severity_name(WARD_SEV_CRITICAL), "critical");
	assert_int_equal(ward_severity_from_name("high"), WARD_SEV_HIGH);
	assert_string_equal(ward_strerror(WARD_ENOMEM), "out of memory");
	assert_string_equal(ward_strerror((ward_status)999), "unknown error");
	assert_non_null(strstr(ward_area_get(WARD_AREA_HOUSEHOLD_IMAGES)->guidance, "parents"));
}

/* Calls fn with the text of each example line ("example+ TEXT", "example- TEXT") of the rule
 * files (*.rules) in dir, in name order; returns how many, or -1 when dir cannot be read. */
typedef void example_fn(char *text, void *ctx);

static int each_example(const char *dir, example_fn *fn, void *ctx)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, alphasort), count = 0;
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char path[512], line[2048];
		size_t nl = strlen(list[i]->d_name);
		if (list[i]->d_name[0] != '.' && nl > 6 &&
		    strcmp(list[i]->d_name + nl - 6, ".rules") == 0) {
			snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
			FILE *f = fopen(path, "r");
			assert_non_null(f);
			while (fgets(line, sizeof line, f)) {
				char *x = strstr(line, "example");
				if (x && (x[7] == '+' || x[7] == '-')) {
					fn(x + 8, ctx);
					count++;
				}
			}
			fclose(f);
		}
		free(list[i]);
	}
	free(list);
	return count;
}

typedef struct word_list {
	char (*w)[48];
	size_t n, cap;
} word_list;

/* each word of an example, so texts mix pieces of several */
static void add_words(char *text, void *ctx)
{
	word_list *wl = ctx;
	for (char *w = strtok(text, " \t\r\n"); w && wl->n < wl->cap; w = strtok(NULL, " \t\r\n"))
		snprintf(wl->w[wl->n++], sizeof wl->w[0], "%s", w);
}

typedef struct text_buf {
	char *p;
	size_t len, cap;
} text_buf;

/* the whole example, after the others, while it fits with room to spare */
static void append_text(char *text, void *ctx)
{
	text_buf *b = ctx;
	size_t n = strlen(text);
	if (b->len + n + 2 <= b->cap) {
		memcpy(b->p + b->len, text, n);
		b->len += n;
	}
}

/* The windowed scan (near terms and unless phrases looked for only around the hits that can
 * use them) against the exhaustive one (their databases over whole blocks): the same
 * findings, over random texts made of the shipped rules' own examples, cut into pieces and
 * shuffled with filler words, separators and blank lines.  Skipped when rules/ is not in
 * the working directory (the suites run from the top of the tree). */
static void test_windowed_equals_exhaustive(void **state)
{
	static char words[4096][48];
	size_t nwords = 0;
	static const char *const filler[] = {"the", "and", "homework", "match", "later",
	                                     "\n\n", "\n", ", ", ". ", "!", " ", "a", "i",
	                                     "x", "Ok", "lol", "2", "12", "s.e.c"};
	ward_engine *e = NULL;
	ward_scanner *fast = NULL, *ref = NULL;
	ward_diag d;
	word_list ex_words = {words, 0, 4000};
	(void)state;
	if (each_example("rules", add_words, &ex_words) < 0) {
		skip();
		return;
	}
	nwords = ex_words.n;
	assert_true(nwords > 100);
	assert_int_equal(ward_engine_load("rules", WARD_LOAD_NOCACHE, &e, &d), WARD_OK);
	assert_int_equal(ward_scanner_new(e, &fast), WARD_OK);
	assert_int_equal(ward_scanner_new(e, &ref), WARD_OK);
	scanner_set_exhaustive(ref, true);
	static char text[16384];
	static results a, b;
	uint64_t seed = 0x77a2d2026u;
	size_t total = 0;
	for (int round = 0; round < 1500; round++) {
		size_t len = 0, start = 0;
		while (len < sizeof text - 200) {
			seed = seed * 6364136223846793005u + 1442695040888963407u;
			unsigned r = (unsigned)(seed >> 33);
			const char *w;
			if (r % 5 == 0) {
				w = filler[(r >> 3) % (sizeof filler / sizeof *filler)];
			} else if (r % 5 == 1 || start == 0) {
				start = (r >> 3) % nwords; /* jump to another example's words */
				w = words[start];
			} else {
				start = (start + 1) % nwords; /* or run on through this one */
				w = words[start];
			}
			size_t wl = strlen(w);
			memcpy(text + len, w, wl);
			len += wl;
			text[len++] = ' ';
			if ((r >> 20) % 97 == 0)
				break;
		}
		memset(&a, 0, sizeof a);
		memset(&b, 0, sizeof b);
		assert_int_equal(ward_scan(fast, text, len, collect, &a), WARD_OK);
		assert_int_equal(ward_scan(ref, text, len, collect, &b), WARD_OK);
		if (a.n != b.n || memcmp(a.f, b.f, a.n * sizeof *a.f) != 0) {
			print_error("windowed scan differs (%zu findings, exhaustive %zu) on:\n%.*s\n",
			            a.n, b.n, (int)len, text);
			fail();
		}
		total += a.n;
	}
	assert_true(total > 100); /* the texts did exercise the rules */
	ward_scanner_free(fast);
	ward_scanner_free(ref);
	ward_engine_free(e);
}

/* ---- the direct matcher of the small literal databases, held to Vectorscan ---- */

static uint64_t dm_rand(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005u + 1442695040888963407u;
	return *seed >> 33;
}

/* A file's first cap bytes, appended to buf at *len (a text to scan). */
static void dm_read(const char *path, char *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return;
	*len += fread(buf + *len, 1, cap - *len, f);
	fclose(f);
}

typedef struct dm_stats {
	size_t regions, hits, ties; /* ties: hits that start where the one before does */
	size_t same;                /* hits of the same bytes as the one before */
} dm_stats;

/* Sorts h[0, n) by start, keeping the order of hits that start together. */
static void dm_by_start(engine_hit *h, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		engine_hit x = h[i];
		size_t j = i;
		for (; j > 0 && h[j - 1].from > x.from; j--)
			h[j] = h[j - 1];
		h[j] = x;
	}
}

/* Database d over the region [from, to) of the block loaded in sc: the direct matcher's hits
 * must be Vectorscan's.  The scanner sorts a combination's hits by where they start, keeping
 * the order in which they came of those that start together (eval_combos), so that order
 * must be Vectorscan's too: the two lists must be equal once sorted so. */
static void dm_compare(ward_scanner *sc, size_t d, const char *out, uint32_t from, uint32_t to,
                       dm_stats *st)
{
	static engine_hit a[4096], b[4096];
	size_t na = scanner_region_hits(sc, d, true, from, to, a, 4096);
	size_t nb = scanner_region_hits(sc, d, false, from, to, b, 4096);
	assert_true(na != SIZE_MAX && nb != SIZE_MAX);
	dm_by_start(a, na);
	dm_by_start(b, nb);
	if (na != nb || memcmp(a, b, na * sizeof *a) != 0) {
		print_error(
		    "database %zu over [%u, %u) \"%.*s\": direct %zu hits, Vectorscan %zu\n", d,
		    from, to, (int)(to - from), out + from, na, nb);
		for (size_t i = 0; i < na || i < nb; i++)
			print_error("  %zu: direct %u [%u, %u)  Vectorscan %u [%u, %u)\n", i,
			            i < na ? a[i].pat : 0, i < na ? a[i].from : 0,
			            i < na ? a[i].to : 0, i < nb ? b[i].pat : 0,
			            i < nb ? b[i].from : 0, i < nb ? b[i].to : 0);
		fail();
	}
	st->regions++;
	st->hits += na;
	for (size_t i = 1; i < na; i++) {
		st->ties += a[i].from == a[i - 1].from;
		st->same += a[i].from == a[i - 1].from && a[i].to == a[i - 1].to;
	}
}

/* Random regions of the block text[0, len) for database d (every one when d is SIZE_MAX):
 * the whole block, regions up to the block's end, from and to just past a space, and any. */
static void dm_regions(ward_scanner *sc, const ward_engine *e, size_t d, const char *text,
                       size_t len, unsigned nregions, uint64_t *seed, dm_stats *st)
{
	const char *out;
	size_t n;
	assert_int_equal(scanner_load_block(sc, text, len, &out, &n), WARD_OK);
	for (size_t db = 0; db < engine_db_count(e); db++) {
		if (!engine_direct_literals(e, db) || (d != SIZE_MAX && db != d))
			continue;
		dm_compare(sc, db, out, 0, (uint32_t)n, st);
		for (unsigned k = 0; k < nregions; k++) {
			uint64_t r = dm_rand(seed);
			uint32_t from = (uint32_t)(r % (n + 1));
			uint32_t to = from + (uint32_t)((r >> 12) % 320);
			if (to > n || (r >> 24) % 4 == 0)
				to = (uint32_t)n; /* phrases at the very end */
			if ((r >> 26) % 2 == 0) {
				/* as the scanner cuts regions: from a space, to just past one */
				while (from > 0 && out[from] != ' ')
					from--;
				while (to > 0 && to < n && out[to - 1] != ' ')
					to++;
			}
			dm_compare(sc, db, out, from, to, st);
		}
	}
}

/* Texts of a few words made of each direct database's own phrases (whole, cut short, run
 * into a longer word, repeated, overlapping) among one-letter and common words, compared
 * over random regions. */
static void dm_phrase_texts(ward_scanner *sc, const ward_engine *e, int rounds, uint64_t *seedp,
                            dm_stats *st)
{
	static char text[8192];
	static const char *const filler[] = {"the",   "and", "a",   "i", "u",    "x",  "homework",
	                                     "later", "ok",  "lol", "2", "\n\n", ", ", "."};
	uint64_t seed = *seedp;
	for (size_t d = 2; d < engine_db_count(e); d++) {
		size_t nlit = engine_direct_literals(e, d);
		if (!nlit)
			continue;
		for (int round = 0; round < rounds; round++) {
			size_t len = 0, prev = SIZE_MAX;
			unsigned words = 1 + (unsigned)(dm_rand(&seed) % 40);
			for (unsigned w = 0; w < words && len < 4000; w++) {
				uint64_t r = dm_rand(&seed);
				size_t ll, i = (r >> 4) % nlit;
				const char *l = engine_direct_literal(e, d, i, &ll);
				switch (r % 8) {
				case 0:
				case 1: /* a phrase */
					memcpy(text + len, l, ll);
					len += ll;
					break;
				case 2: /* the same again, or one after the last */
					if (prev != SIZE_MAX)
						l = engine_direct_literal(e, d, prev, &ll);
					memcpy(text + len, l, ll);
					len += ll;
					break;
				case 3: /* a phrase cut short (may end inside a word) */
					ll = 1 + (r >> 12) % ll;
					memcpy(text + len, l, ll);
					len += ll;
					break;
				case 4: /* a phrase run into a longer word */
					memcpy(text + len, l, ll);
					len += ll;
					text[len++] = (char)('a' + (r >> 12) % 26);
					break;
				case 5: { /* overlapping: from the first's second word */
					size_t l2;
					const char *m =
					    engine_direct_literal(e, d, (r >> 12) % nlit, &l2);
					const char *sp = memchr(l, ' ', ll);
					size_t keep = sp ? (size_t)(sp - l) + 1 : 0;
					memcpy(text + len, l, keep);
					len += keep;
					memcpy(text + len, m, l2);
					len += l2;
					break;
				}
				default: /* one-letter and common words, paragraph breaks */
					i = (r >> 12) % (sizeof filler / sizeof *filler);
					ll = strlen(filler[i]);
					memcpy(text + len, filler[i], ll);
					len += ll;
					break;
				}
				prev = (r >> 4) % nlit;
				if (w + 1 < words || (r >> 20) % 3 == 0)
					text[len++] = ' ';
			}
			dm_regions(sc, e, d, text, len, 12, &seed, st);
		}
	}
	*seedp = seed;
}

/* Every near and unless database of the library's rules that gets a direct matcher finds
 * what Vectorscan finds in it, hit for hit and in its order, over random regions of the test
 * corpus, the rules' examples and texts made of the database's own phrases: whole and cut
 * short, run into longer words, repeated, overlapping, between one-letter and common words,
 * at a region's edges.  And whole scans give the same findings either way. */
static void test_direct_equals_vectorscan(void **state)
{
	static char text[1 << 16];
	static char ex[1 << 16];
	static results ra, rb;
	ward_engine *e = NULL;
	ward_scanner *sc = NULL, *ref = NULL;
	ward_diag diag;
	dm_stats st = {0, 0, 0, 0};
	uint64_t seed = 0xd1ec7u;
	size_t ndirect = 0, nsmall = 0, exlen = 0;
	(void)state;
	text_buf eb = {ex, 0, sizeof ex};
	if (each_example("rules", append_text, &eb) < 0) {
		skip();
		return;
	}
	exlen = eb.len;
	assert_true(exlen > 1000);
	assert_int_equal(ward_engine_load("rules", WARD_LOAD_NOCACHE, &e, &diag), WARD_OK);
	assert_int_equal(ward_scanner_new(e, &sc), WARD_OK);
	assert_int_equal(ward_scanner_new(e, &ref), WARD_OK);
	scanner_set_direct(ref, false);
	for (size_t d = 2; d < engine_db_count(e); d++)
		ndirect += engine_direct_literals(e, d) > 0;
	/* the library has near and unless databases of literals only: most of them */
	assert_true(ndirect >= 10);

	/* the rules' examples, every database */
	dm_regions(sc, e, SIZE_MAX, ex, exlen, 40, &seed, &st);

	/* the test corpus, every database, a slice of each file */
	static const char *const corpus[] = {"tests/corpus/ordinary", "tests/corpus/evasion"};
	for (size_t c = 0; c < 2; c++) {
		struct dirent *de;
		DIR *cd = opendir(corpus[c]);
		if (!cd)
			continue;
		while ((de = readdir(cd)) != NULL) {
			char path[1024];
			size_t len = 0;
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", corpus[c], de->d_name);
			dm_read(path, text, 24576, &len);
			if (len == 0)
				continue;
			dm_regions(sc, e, SIZE_MAX, text, len, 25, &seed, &st);
			memset(&ra, 0, sizeof ra);
			memset(&rb, 0, sizeof rb);
			assert_int_equal(ward_scan(sc, text, len, collect, &ra), WARD_OK);
			assert_int_equal(ward_scan(ref, text, len, collect, &rb), WARD_OK);
			assert_int_equal(ra.n, rb.n);
			assert_memory_equal(ra.f, rb.f, ra.n * sizeof *ra.f);
			nsmall++;
		}
		closedir(cd);
	}
	assert_true(nsmall > 0);

	/* each database's own phrases, in texts of a few words */
	dm_phrase_texts(sc, e, 60, &seed, &st);
	ward_scanner_free(sc);
	ward_scanner_free(ref);
	ward_engine_free(e);
	fprintf(stderr, "# %zu direct databases, %zu regions compared, %zu hits, %zu ties\n",
	        ndirect, st.regions, st.hits, st.ties);
	assert_true(st.hits > 1000); /* the texts did hold the phrases */
	assert_true(st.ties > 100);  /* and phrases that start together */
}

/* The direct matcher's corners, held to Vectorscan: a one-letter phrase and short prefixes
 * (which a three-byte filter cannot see whole; a one-letter prefix in a database of its own),
 * phrases of 7, 8, 9 and 17 bytes (either side of the eight compared at once), one phrase in two
 * terms of a combination (equal hits of two patterns, whose order the scanner keeps), a phrase
 * inside a longer one. */
static const char DIRECT_RULES[] =
    "rule t.edge\n  area grooming\n  severity low\n  description test\n"
    "  all 6: u | ok* | he | dont tell | abcdefg | abcdefgh | abcdefghijklmnopq; he | "
    "dont tell anyone | abcdefghi; secret zone\n"
    "  unless p | xy* | dont tell anyone | dont tell | abcdefghi | abcdefgh\nend\n"
    "rule t.edge2\n  area grooming\n  severity low\n  description test\n"
    "  phrase secret zone\n  unless q* | u | he\nend\n";

static void test_direct_edges(void **state)
{
	static const char *const texts[] = {
	    "u",
	    "u ",
	    "uu u",
	    "ok",
	    "okay ok",
	    "he",
	    "hehe he",
	    "her he",
	    "dont tell anyone",
	    "dont tell anyon",
	    "abcdefg abcdefgh abcdefghi abcdefghijklmnopq abcdefghijklmnop",
	    "p",
	    "pp p",
	    "xy",
	    "xyz",
	    "q",
	    "qq",
	    "secret zone u he"};
	ward_engine *e = NULL;
	ward_scanner *sc = NULL;
	ward_diag d;
	dm_stats st = {0, 0, 0, 0};
	uint64_t seed = 0xed9e5u;
	size_t ndirect = 0;
	(void)state;
	assert_int_equal(ward_engine_load_string(DIRECT_RULES, sizeof DIRECT_RULES - 1,
	                                         "direct.rules", WARD_LOAD_NOCACHE, &e, &d),
	                 WARD_OK);
	assert_int_equal(ward_scanner_new(e, &sc), WARD_OK);
	for (size_t i = 2; i < engine_db_count(e); i++)
		ndirect += engine_direct_literals(e, i) > 0;
	assert_int_equal(ndirect, 3); /* the near and the two unless databases */
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
		for (size_t j = 0; j < sizeof texts / sizeof *texts; j++) {
			char buf[256];
			int n = snprintf(buf, sizeof buf, "%s %s", texts[i], texts[j]);
			dm_regions(sc, e, SIZE_MAX, buf, (size_t)n, 30, &seed, &st);
		}
	dm_phrase_texts(sc, e, 3000, &seed, &st);
	fprintf(stderr, "# %zu regions compared, %zu hits, %zu ties, %zu equal\n", st.regions,
	        st.hits, st.ties, st.same);
	assert_true(st.hits > 1000);
	assert_true(st.same > 100); /* "he" as both terms */
	ward_scanner_free(sc);
	ward_engine_free(e);
}

/* The anchors of a database with no sample: each combination's current anchor, no hits. */
static ward_anchor *anchors_of(const ward_engine *e, size_t *n)
{
	ward_anchor *a = NULL;
	ward_diag d;
	assert_int_equal(ward_engine_anchors(e, NULL, 0, &a, n, NULL, &d), WARD_OK);
	assert_non_null(a);
	return a;
}

/* "all N anchor K:" is read, K is the anchor, and the findings are those without it. */
static void test_anchor_named(void **state)
{
	static const char text[] =
	    "rule grooming.meet.one\n area grooming\n severity high\n description d\n"
	    "  all 6 anchor 2: meet up | meet; secret\n"
	    "  example+ lets meet up but keep it secret\n"
	    "  example- meet the team on saturday\nend\n"
	    "rule grooming.meet.two\n area grooming\n severity high\n description d\n"
	    "  all 6: meet up | meet; secret\n"
	    "  all 4 anchor 3 : send* pic* | photo; now; please\nend\n"
	    "rule grooming.meet.three\n area grooming\n severity high\n description d\n"
	    "  all 6 anchor 1: meet up | meet; secret\nend\n";
	ward_engine *e = NULL;
	ward_diag d;
	size_t n = 0, failed = 9, total = 0;
	(void)state;
	assert_int_equal(ward_engine_load_string(text, sizeof text - 1, "anchor.rules",
	                                         WARD_LOAD_NOCACHE, &e, &d),
	                 WARD_OK);
	ward_anchor *a = anchors_of(e, &n);
	assert_int_equal(n, 4);
	assert_string_equal(a[0].rule->id, "grooming.meet.one");
	assert_int_equal(a[0].line, 5);
	assert_int_equal(a[0].nterms, 2);
	assert_int_equal(a[0].current, 2);
	assert_true(a[0].named);
	assert_int_equal(a[0].suggested, 2); /* no sample: no reason to move */
	assert_string_equal(a[0].terms[0].phrase, "meet up");
	assert_int_equal(a[0].terms[0].nphrases, 2);
	assert_string_equal(a[0].terms[1].phrase, "secret");
	assert_int_equal(a[0].terms[1].nphrases, 1);
	assert_int_equal(a[0].terms[0].hits, 0);
	/* unnamed: the longest shortest phrase, "secret" over "meet" */
	assert_false(a[1].named);
	assert_int_equal(a[1].current, 2);
	assert_int_equal(a[1].line, 13);
	assert_true(a[2].named);
	assert_int_equal(a[2].current, 3);
	assert_int_equal(a[2].nterms, 3);
	assert_string_equal(a[2].terms[0].phrase, "send* pic*");
	assert_true(a[3].named);
	assert_int_equal(a[3].current, 1);
	free(a);
	assert_int_equal(ward_engine_test_examples(e, NULL, NULL, &failed, &total), WARD_OK);
	assert_int_equal(failed, 0);
	assert_int_equal(total, 2);
	/* each anchor finds the same: rules one, two and three are one rule three times */
	static const char *const texts[] = {
	    "lets meet up but keep it secret", "secret! meet me", "meet the team on saturday",
	    "a secret\n\nmeet up", "meet one two three four five six seven secret",
	    "meet one two three four five secret", "meet meet secret secret meet"};
	size_t found_all = 0;
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		results r;
		scan_str(e, texts[i], &r);
		found_all += r.n;
		assert_int_equal(r.n % 3, 0);
		for (size_t j = 0; j + 2 < r.n; j += 3)
			if (r.f[j].start != r.f[j + 1].start || r.f[j].start != r.f[j + 2].start ||
			    r.f[j].end != r.f[j + 1].end || r.f[j].end != r.f[j + 2].end)
				fail_msg("text %zu: anchors 2, default and 1 differ", i);
	}
	assert_int_equal(found_all, 3 * 4);
	ward_engine_free(e);
}

/* Writes len bytes of text to dir/name. */
static void write_sample(const char *dir, const char *name, const char *text, size_t len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* ward_engine_anchors counts each term's occurrences in files and directories, once each
 * (across the engine's blocks too), and suggests the rarest; a tie keeps the anchor. */
static void test_anchor_counts(void **state)
{
	static const char text[] =
	    "rule grooming.count.a\n area grooming\n severity low\n description d\n"
	    "  all 6: meet up | meet; secret\n"
	    "  all 5: send* pic* | selfie; just for me; tonight\nend\n"
	    "rule grooming.count.b\n area grooming\n severity low\n description d\n"
	    "  all 3 anchor 2: photo*; homework\nend\n";
	char dir[64], sub[128], path[192];
	ward_engine *e = NULL;
	ward_anchor *a = NULL;
	ward_diag d;
	size_t n = 0;
	uint64_t bytes = 0;
	(void)state;
	assert_int_equal(ward_engine_load_string(text, sizeof text - 1, "count.rules",
	                                         WARD_LOAD_NOCACHE, &e, &d),
	                 WARD_OK);
	snprintf(dir, sizeof dir, "/tmp/ward-anchor-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof sub, "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	/* meet: 3 (meet up counts once, as one phrase of the term; meeting is not meet), secret
	 * 1; send* pic*: 2 (once each, however long the last word), selfie 1 */
	static const char one[] = "Meet up later? meet me. A meeting. It is a SECRET.\n"
	                          "sending pictures, send pic, a selfie\n";
	write_sample(dir, "one.txt", one, sizeof one - 1);
	static const char two[] = "meet at the photographs, photo, homework\n";
	write_sample(sub, "two.txt", two, sizeof two - 1);
	/* more than the engine's 1 MB block, so the overlap between blocks is crossed */
	size_t big = (size_t)3 << 20, rep = 0;
	char *b = malloc(big);
	assert_non_null(b);
	static const char line[] = "the homework is due tonight ok\n";
	for (size_t at = 0; at + sizeof line - 1 <= big; at += sizeof line - 1, rep++)
		memcpy(b + at, line, sizeof line - 1);
	write_sample(dir, "big.txt", b, rep * (sizeof line - 1));
	free(b);
	const char *paths[] = {dir};
	assert_int_equal(ward_engine_anchors(e, paths, 1, &a, &n, &bytes, &d), WARD_OK);
	assert_int_equal(n, 3);
	assert_int_equal(bytes, sizeof one - 1 + sizeof two - 1 + rep * (sizeof line - 1));
	assert_int_equal(a[0].terms[0].hits, 4);
	assert_int_equal(a[0].terms[1].hits, 1);
	assert_int_equal(a[0].current, 2);
	assert_int_equal(a[0].suggested, 2);
	assert_int_equal(a[1].terms[0].hits, 3);
	assert_int_equal(a[1].terms[1].hits, 0);
	assert_int_equal(a[1].terms[2].hits, rep);
	assert_int_equal(a[1].suggested, 2);
	assert_int_equal(a[2].terms[0].hits, 2);
	assert_int_equal(a[2].terms[1].hits, rep + 1);
	assert_int_equal(a[2].current, 2);
	assert_true(a[2].named);
	assert_int_equal(a[2].suggested, 1);
	free(a);
	/* the file alone; a tie keeps the current anchor */
	snprintf(path, sizeof path, "%s/one.txt", dir);
	static const char tie[] = "meet secret";
	write_sample(dir, "tie.txt", tie, sizeof tie - 1);
	snprintf(sub, sizeof sub, "%s/tie.txt", dir);
	const char *two_paths[] = {path, sub};
	assert_int_equal(ward_engine_anchors(e, two_paths, 1, &a, &n, &bytes, &d), WARD_OK);
	assert_int_equal(a[0].terms[0].hits, 3);
	assert_int_equal(bytes, sizeof one - 1);
	free(a);
	assert_int_equal(ward_engine_anchors(e, two_paths + 1, 1, &a, &n, NULL, &d), WARD_OK);
	assert_int_equal(a[0].terms[0].hits, 1);
	assert_int_equal(a[0].terms[1].hits, 1);
	assert_int_equal(a[0].suggested, a[0].current);
	free(a);
	/* both files: their counts add up */
	assert_int_equal(ward_engine_anchors(e, two_paths, 2, &a, &n, NULL, &d), WARD_OK);
	assert_int_equal(a[0].terms[0].hits, 4);
	assert_int_equal(a[0].terms[1].hits, 2);
	free(a);
	/* a path that is not there stops it, named */
	snprintf(path, sizeof path, "%s/missing.txt", dir);
	const char *missing[] = {dir, path};
	a = NULL;
	assert_int_equal(ward_engine_anchors(e, missing, 2, &a, &n, NULL, &d), WARD_ENOENT);
	assert_null(a);
	assert_string_equal(d.file, path);
	assert_int_equal(ward_engine_anchors(e, NULL, 1, &a, &n, NULL, &d), WARD_EINVAL);
	ward_engine_free(e);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A growable list of findings. */
typedef struct flist {
	found *f;
	size_t n, cap;
} flist;

static int collect_all(const ward_finding *f, void *ctx)
{
	flist *l = ctx;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		found *nf = realloc(l->f, nc * sizeof *nf);
		if (!nf)
			return 1;
		l->f = nf;
		l->cap = nc;
	}
	found *x = &l->f[l->n++];
	memset(x, 0, sizeof *x);
	snprintf(x->rule, sizeof x->rule, "%s", f->rule->id);
	x->start = f->start;
	x->end = f->end;
	x->line = f->line;
	return 0;
}

/* The texts the anchor test scans: tests/corpus's files whole, every inline example of
 * rules/, and texts that run one example's words into another's. */
typedef struct texts {
	char **t;
	size_t *len;
	size_t n, cap;
} texts;

static void add_text(texts *x, const char *p, size_t len)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->t = realloc(x->t, x->cap * sizeof *x->t);
		x->len = realloc(x->len, x->cap * sizeof *x->len);
		assert_true(x->t && x->len);
	}
	x->t[x->n] = malloc(len + 1);
	assert_non_null(x->t[x->n]);
	memcpy(x->t[x->n], p, len);
	x->t[x->n][len] = '\0';
	x->len[x->n++] = len;
}

static void add_file(texts *x, const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char buf[1 << 20];
	size_t len = fread(buf, 1, sizeof buf, f);
	assert_true(len < sizeof buf);
	fclose(f);
	add_text(x, buf, len);
}

static void add_dir(texts *x, const char *dir, const char *suffix)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, alphasort);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		char path[512];
		size_t nl = strlen(list[i]->d_name), sl = strlen(suffix);
		if (list[i]->d_name[0] != '.' && nl > sl &&
		    strcmp(list[i]->d_name + nl - sl, suffix) == 0) {
			snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
			add_file(x, path);
		}
		free(list[i]);
	}
	free(list);
}

static void add_example(char *text, void *ctx)
{
	add_text(ctx, text, strlen(text));
}

static void scan_texts(ward_scanner *sc, const texts *x, flist *out)
{
	out->n = 0;
	for (size_t i = 0; i < x->n; i++)
		assert_int_equal(ward_scan(sc, x->t[i], x->len[i], collect_all, out), WARD_OK);
}

/* The anchor only decides where a combination's near database runs: with every
 * combination of rules/ anchored on each of its terms in turn, the findings on tests/corpus,
 * on the rules' examples and on texts mixing them are those of the default anchors and those
 * of the exhaustive scan.  Skipped when rules/ is not in the working directory. */
static void test_anchor_never_changes_findings(void **state)
{
	ward_engine *e = NULL;
	ward_scanner *sc = NULL, *ref = NULL;
	ward_diag d;
	texts x = {0};
	flist want = {0}, exh = {0}, got = {0};
	size_t n = 0, most = 0, three = 0, examples;
	DIR *dir = opendir("rules");
	(void)state;
	if (!dir) {
		skip();
		return;
	}
	closedir(dir);
	add_dir(&x, "tests/corpus/ordinary", ".txt");
	add_dir(&x, "tests/corpus/evasion", ".txt");
	size_t files = x.n;
	assert_true(each_example("rules", add_example, &x) > 0);
	examples = x.n - files;
	assert_true(files >= 5 && examples > 200);
	/* each example's last words then the next one's first: sets of terms across two */
	for (size_t i = files; i + 1 < files + examples; i++) {
		char mix[4200];
		size_t a = x.len[i] / 2, b = x.len[i + 1] / 2;
		if (a + b + 2 > sizeof mix)
			continue;
		memcpy(mix, x.t[i] + a, x.len[i] - a);
		mix[x.len[i] - a] = ' ';
		memcpy(mix + x.len[i] - a + 1, x.t[i + 1], b);
		add_text(&x, mix, x.len[i] - a + 1 + b);
	}
	assert_int_equal(ward_engine_load("rules", WARD_LOAD_NOCACHE, &e, &d), WARD_OK);
	ward_anchor *a = anchors_of(e, &n);
	for (size_t c = 0; c < n; c++) {
		most = a[c].nterms > most ? a[c].nterms : most;
		three += a[c].nterms >= 3;
	}
	free(a);
	assert_true(n >= 10 && three >= 5);
	assert_int_equal(ward_scanner_new(e, &sc), WARD_OK);
	assert_int_equal(ward_scanner_new(e, &ref), WARD_OK);
	scanner_set_exhaustive(ref, true);
	scan_texts(sc, &x, &want);
	scan_texts(ref, &x, &exh);
	print_message("anchors: %zu texts, %zu findings\n", x.n, want.n);
	assert_true(want.n > 800); /* the texts do exercise the rules */
	if (exh.n != want.n || memcmp(exh.f, want.f, want.n * sizeof *want.f) != 0)
		fail_msg("the exhaustive scan differs from the default anchors' (%zu, %zu findings)",
		         exh.n, want.n);
	ward_scanner_free(sc);
	ward_scanner_free(ref);
	ward_engine_free(e);
	for (unsigned t = 0; t < most; t++) {
		ward_engine *f = NULL;
		assert_int_equal(engine_load_anchored("rules", t, &f, &d), WARD_OK);
		/* the hook did move every anchor */
		a = anchors_of(f, &n);
		for (size_t c = 0; c < n; c++)
			assert_int_equal(a[c].current, t % a[c].nterms + 1);
		free(a);
		assert_int_equal(ward_scanner_new(f, &sc), WARD_OK);
		scan_texts(sc, &x, &got);
		for (size_t i = 0; i < want.n && i < got.n; i++)
			if (memcmp(&want.f[i], &got.f[i], sizeof *got.f) != 0)
				fail_msg("anchored on term %u: finding %zu is %s %llu-%llu, not %s "
				         "%llu-%llu", t + 1, i, got.f[i].rule,
				         (unsigned long long)got.f[i].start,
				         (unsigned long long)got.f[i].end, want.f[i].rule,
				         (unsigned long long)want.f[i].start,
				         (unsigned long long)want.f[i].end);
		if (got.n != want.n)
			fail_msg("anchored on term %u: %zu findings, not %zu", t + 1, got.n, want.n);
		ward_scanner_free(sc);
		ward_engine_free(f);
	}
	for (size_t i = 0; i < x.n; i++)
		free(x.t[i]);
	free(x.t);
	free(x.len);
	free(want.f);
	free(exh.f);
	free(got.f);
}

/* Debian's Vectorscan 5.4.9 misses some literal matches that end a few tens of bytes before the
 * end of the buffer it scans (engine.c, SCAN_PAD).  A phrase is put after runs of common words
 * and followed by a few more, at every length up to well past that distance: each text must
 * give its finding, where the phrase is.  Without the padding 812 of these 43,200 texts gave
 * none (for example "and and ... and looks at and and"). */
static const char TAIL_RULES[] = "rule t.looks\n  area household-images\n"
                                 "  severity low\n  description test\n"
                                 "  phrase looks at\n  phrase watches\n"
                                 "  phrase pictures of children\nend\n";

static void test_match_near_buffer_end(void **state)
{
	(void)state;
	static const char *words[] = {"the ", "and ", "to ", "a ", "of ", "in ", "is ", "you ",
	                              "it ", "we ", "go ", "at ", "on ", "my ", "be "};
	static const char *phrases[] = {"looks at", "watches", "pictures of children"};
	ward_engine *e = NULL;
	ward_scanner *sc = NULL;
	ward_diag d;
	assert_int_equal(ward_engine_load_string(TAIL_RULES, sizeof TAIL_RULES - 1, "tail.rules",
	                                         WARD_LOAD_NOCACHE, &e, &d),
	                 WARD_OK);
	assert_int_equal(ward_scanner_new(e, &sc), WARD_OK);
	size_t ntexts = 0, missed = 0;
	char buf[512];
	for (size_t w = 0; w < sizeof words / sizeof *words; w++)
		for (size_t ph = 0; ph < 3; ph++)
			for (size_t pre = 0; pre < 48; pre++)
				for (size_t tail = 0; tail < 20; tail++) {
					size_t n = 0, at;
					for (size_t k = 0; k < pre; k++)
						n += (size_t)sprintf(buf + n, "%s", words[(w + k * (pre & 1)) % 15]);
					at = n;
					n += (size_t)sprintf(buf + n, "%s", phrases[ph]);
					for (size_t k = 0; k < tail; k++)
						n += (size_t)sprintf(buf + n, " %.*s", (int)strlen(words[w]) - 1,
						                     words[w]);
					results r;
					memset(&r, 0, sizeof r);
					assert_int_equal(ward_scan(sc, buf, n, collect, &r), WARD_OK);
					bool ok = false;
					for (size_t i = 0; i < r.n; i++)
						ok |= r.f[i].start == at && r.f[i].end == at + strlen(phrases[ph]);
					if (!ok && missed++ < 5)
						fprintf(stderr, "no finding in \"%s\"\n", buf);
					ntexts++;
				}
	ward_scanner_free(sc);
	ward_engine_free(e);
	if (missed)
		fprintf(stderr, "%zu of %zu texts gave no finding\n", missed, ntexts);
	assert_int_equal(missed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_and_info),
	    cmocka_unit_test(test_examples),
	    cmocka_unit_test(test_offsets_point_at_original),
	    cmocka_unit_test(test_unless),
	    cmocka_unit_test(test_all_of_window),
	    cmocka_unit_test(test_prefix_and_regex),
	    cmocka_unit_test(test_stream_equals_whole),
	    cmocka_unit_test(test_huge_line),
	    cmocka_unit_test(test_stop_and_binary),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_taxonomy),
	    cmocka_unit_test(test_window_edges),
	    cmocka_unit_test(test_paragraphs),
	    cmocka_unit_test(test_all_of_after_unless),
	    cmocka_unit_test(test_prefix_span),
	    cmocka_unit_test(test_windowed_equals_exhaustive),
	    cmocka_unit_test(test_anchor_named),
	    cmocka_unit_test(test_anchor_counts),
	    cmocka_unit_test(test_anchor_never_changes_findings),
	    cmocka_unit_test(test_match_near_buffer_end),
	    cmocka_unit_test(test_direct_equals_vectorscan),
	    cmocka_unit_test(test_direct_edges),
	};
	return cmocka_run_group_tests_name("engine", tests, setup, teardown);
}
