/* cmd_rules.c: `ward rules check|test|list|export-grep`. */
#include <string.h>

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

int cmd_rules(int argc, char **argv)
{
	static const char *const verbs[] = {"check", "test", "list", "export-grep"};
	if (argc < 2) {
		cli_usage(stderr, "rules");
		return EXIT_TROUBLE;
	}
	const char *verb = argv[1];
	int known = 0;
	for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
		known |= strcmp(verb, verbs[i]) == 0;
	if (!known) {
		cli_error("unknown rules command '%s' (check, test, list or export-grep)", verb);
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
