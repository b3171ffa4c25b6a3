/* cmd_rules.c: `ward rules check|test|list|export-grep|anchors`. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static void example_failed(const ward_rule_info *r, int should_match, const char *ex, void *ctx)
{
	char clean[1024];
	(void)ctx;
	cli_clean_text(ex, strlen(ex), clean, sizeof clean);
	printf("%s:%u: rule %s: example %s: \"%s\"\n", r->file, r->line, r->id,
	       should_match ? "should match but does not" : "should not match but does", clean);
}

/* Writes phrase as a POSIX ERE for grep -E -i: words on word boundaries, '*' as a prefix. */
static void print_ere(const char *phrase)
{
	fputs("\\b", stdout);
	for (const char *p = phrase; *p; p++) {
		if (*p == '*')
			fputs("[[:alnum:]]*", stdout);
		else if (strchr("\\.[]()^$|+?{}", *p))
			printf("\\%c", *p);
		else
			putchar(*p);
	}
	fputs("\\b\n", stdout);
}

static int one(const char *verb, const char *path)
{
	ward_engine *e = NULL;
	int rc = EXIT_CLEAN;
	if (cli_load_engine(path, &e) != WARD_OK)
		return EXIT_TROUBLE;
	size_t n = ward_engine_rule_count(e);
	if (strcmp(verb, "check") == 0) {
		printf("%s: %zu rules, compiled\n", path ? path : "default rules", n);
	} else if (strcmp(verb, "test") == 0) {
		size_t failed = 0, total = 0;
		if (ward_engine_test_examples(e, example_failed, NULL, &failed, &total) != WARD_OK) {
			cli_error("could not run the examples");
			rc = EXIT_TROUBLE;
		} else {
			printf("%s: %zu rules, %zu examples, %zu failed\n",
			       path ? path : "default rules", n, total, failed);
			rc = failed ? EXIT_FOUND : EXIT_CLEAN;
		}
	} else if (strcmp(verb, "list") == 0) {
		for (size_t i = 0; i < n; i++) {
			const ward_rule_info *r = ward_engine_rule(e, i);
			printf("%-48s %-20s %-8s %s\n", r->id, ward_area_get(r->area)->id,
			       ward_severity_name(r->severity), r->description);
		}
	} else { /* export-grep */
		const char *ph;
		const ward_rule_info *r;
		for (size_t i = 0; (ph = ward_engine_phrase(e, i, &r)) != NULL; i++)
			if (*ph && r)
				print_ere(ph);
	}
	ward_engine_free(e);
	return rc;
}

/* One combination as a line: where its all line is, the anchor now and the one the sample
 * suggests, then each term (a '*' on the current anchor) with its first phrase, how many
 * phrases it has and its hits. */
static void print_anchor(const ward_anchor *a)
{
	char clean[256];
	printf("%s:%u %s: anchor %u%s, %s", a->rule->file, a->line, a->rule->id, a->current,
	       a->named ? " (named)" : "", a->suggested != a->current ? "suggest" : "keep");
	if (a->suggested != a->current)
		printf(" %u", a->suggested);
	for (unsigned t = 0; t < a->nterms; t++) {
		const ward_anchor_term *x = &a->terms[t];
		cli_clean_text(x->phrase, strlen(x->phrase), clean, sizeof clean);
		printf(" | %u%s \"%s\" (%zu phrase%s) %llu", t + 1, t + 1 == a->current ? "*" : "",
		       clean, x->nphrases, x->nphrases == 1 ? "" : "s",
		       (unsigned long long)x->hits);
	}
	putchar('\n');
}

static int print_anchor_json(const ward_anchor *a)
{
	json_t *terms = json_array(), *o = NULL;
	char *line = NULL;
	for (unsigned t = 0; terms && t < a->nterms; t++)
		if (json_array_append_new(terms,
		                          json_pack("{s:s, s:I, s:I}", "phrase", a->terms[t].phrase,
		                                    "phrases", (json_int_t)a->terms[t].nphrases,
		                                    "hits", (json_int_t)a->terms[t].hits)) != 0)
			break;
	if (terms)
		o = json_pack("{s:s, s:s, s:I, s:o, s:I, s:b, s:I, s:b}", "rule", a->rule->id,
		              "file", a->rule->file, "line", (json_int_t)a->line, "terms", terms,
		              "anchor", (json_int_t)a->current, "named", a->named, "suggest",
		              (json_int_t)a->suggested, "change", a->suggested != a->current);
	if (o && (line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) != NULL)
		puts(line);
	free(line);
	json_decref(o);
	return line ? 0 : -1;
}

/* `ward rules anchors --sample PATH [--sample PATH]... [--json] [RULES]`: how often each term
 * of each all-of combination occurs in ordinary text, and the anchor that would make scans
 * fastest (findings are the same with any anchor). */
static int anchors(int argc, char **argv)
{
	const char **samples = calloc((size_t)argc + 1, sizeof *samples);
	const char *rules = NULL;
	size_t nsamples = 0, n = 0, change = 0;
	int json = 0, rc = EXIT_TROUBLE;
	ward_engine *e = NULL;
	ward_anchor *a = NULL;
	uint64_t bytes = 0;
	ward_diag d;
	ward_status st;
	if (!samples) {
		cli_error("out of memory");
		goto done;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--sample") == 0 || strcmp(argv[i], "-s") == 0) {
			if (i + 1 >= argc) {
				cli_error("%s needs a file or directory", argv[i]);
				goto done;
			}
			samples[nsamples++] = argv[++i];
		} else if (strncmp(argv[i], "--sample=", 9) == 0 && argv[i][9]) {
			samples[nsamples++] = argv[i] + 9;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("rules anchors: unknown option '%s'", argv[i]);
			goto done;
		} else if (rules) {
			cli_error("rules anchors takes one rule file or directory ('%s' and '%s')",
			          rules, argv[i]);
			goto done;
		} else {
			rules = argv[i];
		}
	}
	if (nsamples == 0) {
		cli_error("rules anchors needs --sample PATH: ordinary text the school considers "
		          "normal (a file or a directory)");
		goto done;
	}
	if (cli_load_engine(rules, &e) != WARD_OK)
		goto done;
	memset(&d, 0, sizeof d);
	st = ward_engine_anchors(e, samples, nsamples, &a, &n, &bytes, &d);
	if (st != WARD_OK) {
		cli_error("%s: %s", d.file[0] ? d.file : "sample",
		          d.message[0] ? d.message : ward_strerror(st));
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		change += a[i].suggested != a[i].current;
		if (json ? print_anchor_json(&a[i]) != 0 : (print_anchor(&a[i]), 0)) {
			cli_error("out of memory");
			goto done;
		}
	}
	if (json)
		printf("{\"combinations\":%zu,\"change\":%zu,\"sample_bytes\":%llu}\n", n, change,
		       (unsigned long long)bytes);
	else
		printf("%zu of %zu combinations would change anchor (sample: %llu bytes)\n", change,
		       n, (unsigned long long)bytes);
	rc = fflush(stdout) == 0 ? EXIT_CLEAN : EXIT_TROUBLE;
done:
	free(a);
	ward_engine_free(e);
	free(samples);
	return rc;
}

int cmd_rules(int argc, char **argv)
{
	static const char *const verbs[] = {"check", "test", "list", "export-grep"};
	if (argc < 2) {
		cli_usage(stderr, "rules");
		return EXIT_TROUBLE;
	}
	const char *verb = argv[1];
	if (strcmp(verb, "anchors") == 0)
		return anchors(argc, argv);
	int known = 0;
	for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
		known |= strcmp(verb, verbs[i]) == 0;
	if (!known) {
		cli_error("unknown rules command '%s' (check, test, list, export-grep or anchors)",
		          verb);
		return EXIT_TROUBLE;
	}
	if (argc == 2)
		return one(verb, NULL);
	int worst = EXIT_CLEAN;
	for (int i = 2; i < argc; i++) {
		int rc = one(verb, argv[i]);
		if (rc > worst)
			worst = rc;
	}
	return worst;
}
