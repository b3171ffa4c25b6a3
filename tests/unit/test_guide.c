/* Unit tests for the guided-response data: the shipped file, and the reader's errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <ward/ward.h>

static const char *items_for(const ward_guide *g, ward_area a, char *buf, size_t n)
{
	buf[0] = '\0';
	for (size_t i = 0; i < ward_guide_item_count(g); i++) {
		const ward_guide_item *it = ward_guide_item_at(g, i);
		if (it->areas & (1u << a)) {
			strncat(buf, it->id, n - strlen(buf) - 2);
			strncat(buf, " ", n - strlen(buf) - 1);
		}
	}
	return buf;
}

/* The shipped guidance holds the seed's advice for every area, and the area-specific points
 * DESIGN.md asks for. */
static void test_shipped_file(void **state)
{
	(void)state;
	ward_guide *g = NULL;
	ward_diag d;
	ward_status st = ward_guide_load("guidance/response.txt", &g, &d);
	if (st != WARD_OK)
		fail_msg("%s:%u: %s", d.file, d.line, d.message);
	static const char *const everywhere[] = {"reassure", "device-taken", "device-not-examined",
	                                         "dsl-told", "abuser-not-challenged",
	                                         "no-investigation", "police-contacted", "not-ignored"};
	char buf[2048];
	for (int a = 0; a < WARD_AREA_COUNT; a++) {
		items_for(g, (ward_area)a, buf, sizeof buf);
		for (size_t i = 0; i < sizeof everywhere / sizeof *everywhere; i++)
			if (!strstr(buf, everywhere[i]))
				fail_msg("area %s lacks %s", ward_area_get((ward_area)a)->id, everywhere[i]);
	}
	assert_non_null(strstr(items_for(g, WARD_AREA_HOUSEHOLD_IMAGES, buf, sizeof buf), "parents-not-told"));
	assert_null(strstr(items_for(g, WARD_AREA_GROOMING, buf, sizeof buf), "parents-not-told"));
	assert_non_null(strstr(items_for(g, WARD_AREA_PEER_IMAGES, buf, sizeof buf), "image-not-viewed"));
	const ward_guide_item *it = ward_guide_find_item(g, "device-not-examined");
	assert_int_equal(it->kind, WARD_GUIDE_DONT);
	assert_non_null(strstr(it->source, "interrogate"));
	assert_string_equal(ward_guide_find_item(g, "police-contacted")->who, "dsl");
	/* the UKCIS questions */
	static const char *const trig[] = {"adult-involved", "coercion", "under-13", "unusual-acts",
	                                   "immediate-risk"};
	for (size_t i = 0; i < sizeof trig / sizeof *trig; i++)
		assert_non_null(ward_guide_find_trigger(g, trig[i]));
	assert_true(ward_guide_find_trigger(g, "under-13")->areas & (1u << WARD_AREA_PEER_IMAGES));
	int has999 = 0, ceop = 0;
	for (size_t i = 0; i < ward_guide_contact_count(g); i++) {
		has999 |= strstr(ward_guide_contact_at(g, i)->how, "999") != NULL;
		ceop |= strcmp(ward_guide_contact_at(g, i)->id, "ceop") == 0;
	}
	assert_true(has999 && ceop);
	assert_null(ward_guide_item_at(g, ward_guide_item_count(g)));
	ward_guide_free(g);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		unsigned line;
		const char *msg;
	} cases[] = {
		{"item a\n areas all\n kind do\n who reporter\n text t\nend\n", 6, "has no source"},
		{"item a\n areas nowhere\n", 2, "unknown area"},
		{"item a\n kind maybe\n", 2, "kind must be"},
		{"item a\n who head\n areas all\n text t\n source s\nend\n", 6, "reporter or dsl"},
		{"text t\n", 1, "outside an entry"},
		{"item a\n areas all\n kind do\n who dsl\n text t\n source s\nend\n"
		 "item a\n", 8, "defined twice"},
		{"item a\n areas all\n text t\n text u\n", 4, "given twice"},
		{"item a\n", 1, "has no end"},
		{"# nothing\n", 1, "no checklist items"},
		{"item B\n", 1, "bad id"},
		{"trigger t\n areas all\n question q\nend\n", 4, "has no why"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ward_guide *g = NULL;
		ward_diag d;
		assert_int_not_equal(ward_guide_load_string(cases[i].text, strlen(cases[i].text), "t.txt", &g, &d), WARD_OK);
		assert_null(g);
		if (d.line != cases[i].line || !strstr(d.message, cases[i].msg))
			fail_msg("case %zu: line %u \"%s\"", i, d.line, d.message);
	}
	ward_guide *g = NULL;
	ward_diag d;
	assert_int_equal(ward_guide_load("/nonexistent/response.txt", &g, &d), WARD_ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_file),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("guide", tests, NULL, NULL);
}
