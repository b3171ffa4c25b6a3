/* Unit tests for the conversation model (lib/conv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat_int.h"

/* One low rule per stage (weight 1), a medium one, and one of another area. */
static const char RULES[] =
	"rule t.friendship\n area grooming\n severity low\n stage friendship\n"
	" description flattery\n phrase so mature\nend\n"
	"rule t.risk\n area grooming\n severity low\n stage risk-assessment\n"
	" description age\n phrase how old are you\nend\n"
	"rule t.secrecy\n area grooming\n severity medium\n stage secrecy\n"
	" description secret\n phrase our secret\n unless surprise\nend\n"
	"rule t.platform\n area grooming\n severity low\n stage platform-move\n"
	" description move\n phrase add me on snap\nend\n"
	"rule t.image\n area grooming\n severity medium\n stage image-request\n"
	" description photo\n phrase send me a selfie\nend\n"
	"rule t.meeting\n area grooming\n severity medium\n stage meeting\n"
	" description meet\n phrase meet up\nend\n"
	"rule t.details\n area grooming\n severity low\n stage personal-details\n"
	" description address\n phrase i live at\nend\n"
	"rule t.gifts\n area exploitation\n severity high\n stage gifts\n"
	" description money\n phrase pay you\nend\n"
	"rule t.plain\n area exploitation\n severity high\n"
	" description no stage\n phrase cash job\nend\n";

static ward_engine *eng;

static int setup(void **state)
{
	ward_diag d;
	return ward_engine_load_string(RULES, strlen(RULES), "test", WARD_LOAD_NOCACHE, &eng, &d) ==
	               WARD_OK
	               ? 0
	               : -1;
}

static int teardown(void **state)
{
	ward_engine_free(eng);
	return 0;
}

static ward_chat_message msg(uint64_t i, const char *from, const char *text, int64_t when)
{
	ward_chat_message m;
	memset(&m, 0, sizeof m);
	m.index = i;
	m.line = i + 1;
	m.end_line = i + 1;
	m.from = from;
	m.from_len = strlen(from);
	m.to = "";
	m.text = text;
	m.text_len = strlen(text);
	m.time = "";
	m.when = when;
	m.text_verbatim = 1;
	m.text_start = i * 100;
	m.start = i * 100;
	m.end = i * 100 + m.text_len;
	return m;
}

static const ward_conv_alert *alert_of(const ward_conv *c, const char *sender)
{
	for (size_t i = 0; i < ward_conv_alert_count(c); i++)
		if (strcmp(ward_conv_alert_get(c, i)->sender, sender) == 0)
			return ward_conv_alert_get(c, i);
	return NULL;
}

static void test_one_stage_never_alerts(void **state)
{
	ward_conv *c;
	assert_int_equal(ward_conv_new(eng, NULL, &c), WARD_OK);
	for (uint64_t i = 0; i < 200; i++) {
		ward_chat_message m = msg(i, "A", "this is our secret, our secret", -1);
		assert_int_equal(ward_conv_add_message(c, &m, NULL, NULL, NULL), WARD_OK);
	}
	assert_int_equal(ward_conv_alert_count(c), 0);
	assert_int_equal(ward_conv_message_count(c), 200);
	ward_conv_free(c);
}

static void test_pattern_escalates(void **state)
{
	static const char *lines[] = {
		"you are so mature",          "how old are you",   "add me on snap",
		"this is our secret",          "send me a selfie", "we should meet up",
	};
	ward_conv *c;
	const ward_conv_alert *raised;
	ward_conv_level seen[6];
	ward_conv_config cfg;
	ward_conv_config_default(&cfg);
	cfg.half_life_messages = 0; /* no fading: exact thresholds */
	cfg.half_life_seconds = 0;
	assert_int_equal(ward_conv_new(eng, &cfg, &c), WARD_OK);
	for (uint64_t i = 0; i < 6; i++) {
		ward_chat_message m = msg(2 * i, "Groomer", lines[i], 1000 + (int64_t)i * 60);
		ward_chat_message r = msg(2 * i + 1, "Child", "ok", 1030 + (int64_t)i * 60);
		assert_int_equal(ward_conv_add_message(c, &m, NULL, NULL, &raised), WARD_OK);
		seen[i] = raised ? raised->level : WARD_LEVEL_NONE;
		assert_int_equal(ward_conv_add_message(c, &r, NULL, NULL, NULL), WARD_OK);
	}
	const ward_conv_alert *a = alert_of(c, "Groomer");
	assert_non_null(a);
	assert_int_equal(a->level, WARD_LEVEL_HIGH);
	assert_int_equal(a->area, WARD_AREA_GROOMING);
	assert_string_equal(a->recipient, "Child");
	assert_int_equal(seen[0], WARD_LEVEL_NONE);
	assert_int_equal(seen[1], WARD_LEVEL_NONE); /* two weak stages: score 2, below low */
	assert_int_equal(a->first_message, a->level_message[WARD_LEVEL_LOW]);
	assert_true(a->level_message[WARD_LEVEL_LOW] <= a->level_message[WARD_LEVEL_MEDIUM]);
	assert_true(a->level_message[WARD_LEVEL_MEDIUM] <= a->level_message[WARD_LEVEL_HIGH]);
	assert_int_equal(a->level_message[WARD_LEVEL_HIGH], 10);
	assert_int_equal(seen[5], WARD_LEVEL_HIGH);
	assert_int_equal(a->nevidence, 6);
	assert_int_equal(a->evidence[0].stage, WARD_STAGE_FRIENDSHIP);
	assert_string_equal(a->evidence[0].rule->id, "t.friendship");
	assert_int_equal(a->evidence[0].line, 1);
	assert_int_equal(a->evidence[0].start, 8); /* "so mature" in message 0 */
	assert_true(a->stages & (1u << WARD_STAGE_MEETING));
	assert_null(alert_of(c, "Child"));
	ward_conv_free(c);
}

static void test_personal_details_credit_the_other(void **state)
{
	ward_conv *c;
	assert_int_equal(ward_conv_new(eng, NULL, &c), WARD_OK);
	const char *script[][2] = {
		{"G", "how old are you"}, {"K", "13"},           {"G", "add me on snap"},
		{"K", "i live at 4 Elm Road"}, {"G", "this is our secret"},
	};
	for (uint64_t i = 0; i < 5; i++) {
		ward_chat_message m = msg(i, script[i][0], script[i][1], -1);
		assert_int_equal(ward_conv_add_message(c, &m, NULL, NULL, NULL), WARD_OK);
	}
	const ward_conv_alert *a = alert_of(c, "G");
	assert_non_null(a);
	assert_true(a->stages & (1u << WARD_STAGE_PERSONAL_DETAILS));
	int found = 0;
	for (size_t i = 0; i < a->nevidence; i++)
		if (a->evidence[i].stage == WARD_STAGE_PERSONAL_DETAILS) {
			found = 1;
			assert_true(a->evidence[i].from_other);
			assert_int_equal(a->evidence[i].line, 4);
		}
	assert_true(found);
	assert_null(alert_of(c, "K"));
	ward_conv_free(c);
}

static void test_time_decay(void **state)
{
	/* the same stages a year apart do not combine */
	static const char *lines[] = {"you are so mature", "how old are you", "add me on snap",
	                              "this is our secret", "send me a selfie", "we should meet up"};
	ward_conv *c;
	assert_int_equal(ward_conv_new(eng, NULL, &c), WARD_OK);
	for (uint64_t i = 0; i < 6; i++) {
		ward_chat_message m = msg(i, "A", lines[i], (int64_t)i * 365 * 86400);
		assert_int_equal(ward_conv_add_message(c, &m, NULL, NULL, NULL), WARD_OK);
	}
	assert_int_equal(ward_conv_alert_count(c), 0);
	ward_conv_free(c);
	/* and thousands of messages apart neither */
	assert_int_equal(ward_conv_new(eng, NULL, &c), WARD_OK);
	for (uint64_t i = 0; i < 6; i++) {
		ward_chat_message m = msg(i * 10000, "A", lines[i], -1);
		assert_int_equal(ward_conv_add_message(c, &m, NULL, NULL, NULL), WARD_OK);
	}
	assert_int_equal(ward_conv_alert_count(c), 0);
	ward_conv_free(c);
}

static void test_area_dominates(void **state)
{
	const ward_rule_info *r[3] = {ward_engine_find_rule(eng, "t.gifts"),
	                              ward_engine_find_rule(eng, "t.risk"),
	                              ward_engine_find_rule(eng, "t.meeting")};
	const ward_rule_info *p = ward_engine_find_rule(eng, "t.plain");
	ward_conv *c;
	assert_non_null(r[0]);
	assert_int_equal(ward_conv_new(eng, NULL, &c), WARD_OK);
	ward_chat_message m = msg(0, "X", "", -1);
	assert_int_equal(ward_conv_add_findings(c, &m, r, NULL, 3, NULL), WARD_OK);
	m = msg(1, "X", "", -1);
	assert_int_equal(ward_conv_add_findings(c, &m, &p, NULL, 1, NULL), WARD_OK);
	const ward_conv_alert *a = alert_of(c, "X");
	assert_non_null(a);
	assert_int_equal(a->area, WARD_AREA_EXPLOITATION);
	/* out of order is refused */
	m = msg(0, "X", "", -1);
	assert_int_equal(ward_conv_add_findings(c, &m, r, NULL, 1, NULL), WARD_EINVAL);
	assert_int_equal(ward_conv_add_findings(c, NULL, r, NULL, 1, NULL), WARD_EINVAL);
	ward_conv_free(c);
}

static void test_limits(void **state)
{
	ward_conv_config cfg;
	ward_conv *c;
	char name[32];
	ward_conv_config_default(&cfg);
	cfg.max_participants = 4;
	cfg.max_evidence = 2;
	assert_int_equal(ward_conv_new(eng, &cfg, &c), WARD_OK);
	static const char *lines[] = {"you are so mature", "how old are you", "add me on snap",
	                              "this is our secret", "send me a selfie", "we should meet up"};
	for (uint64_t i = 0; i < 60; i++) {
		snprintf(name, sizeof name, "user%u", (unsigned)(i % 10));
		ward_chat_message m = msg(i, name, lines[i % 6], -1);
		assert_int_equal(ward_conv_add_message(c, &m, NULL, NULL, NULL), WARD_OK);
	}
	/* the later senders share one slot, and evidence is capped */
	for (size_t i = 0; i < ward_conv_alert_count(c); i++) {
		assert_true(ward_conv_alert_get(c, i)->nevidence <= 2);
	}
	assert_non_null(alert_of(c, "(other participants)"));
	assert_true(alert_of(c, "(other participants)")->evidence_dropped > 0);
	ward_conv_free(c);
}

static int count_findings(const ward_finding *f, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static void test_whole_file_equals_incremental(void **state)
{
	const char *chat = "[01/03/2025, 10:00:00] Sam: hi, you are so mature\n"
	                   "[01/03/2025, 10:01:00] Kim: thanks\n"
	                   "[01/03/2025, 10:02:00] Sam: how old are you\n"
	                   "[01/03/2025, 10:03:00] Kim: 12, i live at 4 Elm Road\n"
	                   "[01/03/2025, 10:04:00] Sam: add me on snap\n"
	                   "this is our secret\n"
	                   "[01/03/2025, 10:05:00] Sam: send me a selfie\n"
	                   "[01/03/2025, 10:06:00] Kim: ok\n";
	ward_conv *whole, *inc;
	ward_chat_stats st;
	ward_diag d;
	int nf = 0;
	assert_int_equal(ward_conv_scan_chat(eng, NULL, chat, strlen(chat), WARD_CHAT_AUTO,
	                                     count_findings, &nf, &whole, &st, &d),
	                 WARD_OK);
	assert_int_equal(st.messages, 7);
	assert_int_equal(nf, 6);
	ward_chat_reader *r;
	ward_chat_message m;
	uint64_t first = UINT64_MAX;
	assert_int_equal(ward_chat_reader_new(chat, strlen(chat), WARD_CHAT_AUTO, &r, &d), WARD_OK);
	assert_int_equal(ward_conv_new(eng, NULL, &inc), WARD_OK);
	while (ward_chat_next(r, &m) == WARD_OK) {
		const ward_conv_alert *raised;
		assert_int_equal(ward_conv_add_message(inc, &m, NULL, NULL, &raised), WARD_OK);
		if (raised && first == UINT64_MAX)
			first = m.index;
	}
	assert_int_equal(ward_conv_alert_count(whole), ward_conv_alert_count(inc));
	assert_int_equal(ward_conv_alert_count(whole), 1);
	const ward_conv_alert *a = ward_conv_alert_get(whole, 0), *b = ward_conv_alert_get(inc, 0);
	assert_int_equal(a->level, b->level);
	assert_int_equal(a->first_message, b->first_message);
	assert_int_equal(a->first_message, first);
	assert_true(a->score == b->score);
	assert_int_equal(a->nevidence, b->nevidence);
	/* evidence lines and offsets are the file's: the secret is on line 6 */
	int secret = 0;
	for (size_t i = 0; i < a->nevidence; i++)
		if (a->evidence[i].stage == WARD_STAGE_SECRECY) {
			secret = 1;
			assert_int_equal(a->evidence[i].line, 6);
			assert_memory_equal(chat + a->evidence[i].start, "our secret", 10);
		}
	assert_true(secret);
	ward_chat_reader_free(r);
	ward_conv_free(whole);
	ward_conv_free(inc);
}

static void test_names(void **state)
{
	for (int s = 0; s < WARD_STAGE_COUNT; s++)
		assert_int_equal(ward_stage_from_name(ward_stage_name((ward_stage)s)), s);
	assert_int_equal(ward_stage_from_name("nonsense"), -1);
	for (int l = 0; l <= WARD_LEVEL_HIGH; l++)
		assert_int_equal(ward_conv_level_from_name(ward_conv_level_name((ward_conv_level)l)), l);
	assert_string_equal(ward_conv_level_name((ward_conv_level)9), "?");
	/* every stage a rule in the shipped database names is one the model knows */
	ward_engine *e = NULL;
	ward_diag d;
	if (ward_engine_load("rules", WARD_LOAD_NOCACHE, &e, &d) == WARD_OK) {
		for (size_t i = 0; i < ward_engine_rule_count(e); i++) {
			const ward_rule_info *ri = ward_engine_rule(e, i);
			if (ri->stage && ward_stage_from_name(ri->stage) < 0)
				fail_msg("rule %s names unknown stage %s", ri->id, ri->stage);
		}
		ward_engine_free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_stage_never_alerts),
		cmocka_unit_test(test_pattern_escalates),
		cmocka_unit_test(test_personal_details_credit_the_other),
		cmocka_unit_test(test_time_decay),
		cmocka_unit_test(test_area_dominates),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_whole_file_equals_incremental),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
