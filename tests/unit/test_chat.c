/* Unit tests for the chat export readers (lib/chat.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat_int.h"

#define MAXM 64

typedef struct got {
	char from[64], to[64], time[64], text[256];
	uint64_t line, end_line, start, end, text_start, index;
	int64_t when;
	int verbatim, truncated;
	size_t text_len;
} got;

typedef struct all {
	got m[MAXM];
	size_t n;
	const char *buf;
	int stop_after;
} all;

static void copy(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int collect(const ward_chat_message *m, void *ctx)
{
	all *a = ctx;
	if (a->n < MAXM) {
		got *g = &a->m[a->n];
		copy(g->from, sizeof g->from, m->from, m->from_len);
		copy(g->to, sizeof g->to, m->to, m->to_len);
		copy(g->time, sizeof g->time, m->time, m->time_len);
		copy(g->text, sizeof g->text, m->text, m->text_len);
		g->line = m->line;
		g->end_line = m->end_line;
		g->start = m->start;
		g->end = m->end;
		g->text_start = m->text_start;
		g->index = m->index;
		g->when = m->when;
		g->verbatim = m->text_verbatim;
		g->truncated = m->truncated;
		g->text_len = m->text_len;
		/* a verbatim text is exactly the file's bytes at text_start */
		if (m->text_verbatim && a->buf)
			assert_memory_equal(a->buf + m->text_start, m->text, m->text_len);
	}
	a->n++;
	return a->stop_after && (int)a->n >= a->stop_after;
}

static ward_status read_all(const char *buf, ward_chat_format f, all *a, ward_chat_stats *st)
{
	ward_diag d;
	memset(a, 0, sizeof *a);
	a->buf = buf;
	return ward_chat_read(buf, strlen(buf), f, collect, a, st, &d);
}

static void test_whatsapp_bracket(void **state)
{
	const char *t = "[12/03/2024, 10:00:00] Alice: hello there\n"
	                "[12/03/2024, 10:01:30] Bob: first line\n"
	                "second line\n"
	                "\n"
	                "third line\n"
	                "[12/03/2024, 10:02:00] Alice created group \"Year 8\"\n"
	                "[13/03/2024, 9:05:00 pm] Alice: later: with a colon\n";
	all a;
	ward_chat_stats st;
	assert_int_equal(ward_chat_detect(t, strlen(t), NULL), WARD_CHAT_WHATSAPP);
	assert_int_equal(read_all(t, WARD_CHAT_AUTO, &a, &st), WARD_OK);
	assert_int_equal(a.n, 3);
	assert_int_equal(st.format, WARD_CHAT_WHATSAPP);
	assert_string_equal(a.m[0].from, "Alice");
	assert_string_equal(a.m[0].text, "hello there");
	assert_string_equal(a.m[0].time, "12/03/2024, 10:00:00");
	assert_int_equal(a.m[0].when, 1710237600);
	assert_int_equal(a.m[0].line, 1);
	assert_int_equal(a.m[0].start, 0);
	assert_string_equal(a.m[1].text, "first line\nsecond line\n\nthird line");
	assert_int_equal(a.m[1].line, 2);
	assert_int_equal(a.m[1].end_line, 5);
	assert_int_equal(a.m[2].line, 7);
	assert_string_equal(a.m[2].from, "Alice");
	assert_string_equal(a.m[2].text, "later: with a colon");
	assert_int_equal(a.m[2].when, 1710363900); /* 13/03/2024 21:05 */
	assert_int_equal(a.m[2].index, 2);
	assert_int_equal(st.system, 1);
	assert_int_equal(st.messages, 3);
	assert_true(a.m[0].verbatim && a.m[1].verbatim);
}

static void test_whatsapp_dash(void **state)
{
	const char *t = "\xEF\xBB\xBF"
	                "01/02/24, 09:15 - Messages and calls are end-to-end encrypted.\n"
	                "01/02/24, 09:15 - Sam: hi\n"
	                "01/02/24, 9:16\xE2\x80\xAF"
	                "am - Jo: hey\n"
	                "  indented continuation\r\n"
	                "12/31/2024, 23:59 - Sam: us date order\n";
	all a;
	ward_chat_stats st;
	assert_int_equal(ward_chat_detect(t, strlen(t), NULL), WARD_CHAT_WHATSAPP);
	assert_int_equal(read_all(t, WARD_CHAT_AUTO, &a, &st), WARD_OK);
	assert_int_equal(a.n, 3);
	assert_string_equal(a.m[0].from, "Sam");
	assert_string_equal(a.m[1].from, "Jo");
	assert_string_equal(a.m[1].text, "hey\n  indented continuation");
	assert_int_equal(a.m[1].when, a.m[0].when + 60);
	assert_int_equal(a.m[2].when, 1735689540); /* 31/12/2024 23:59 */
	assert_int_equal(a.m[0].line, 2);
	assert_int_equal(st.system, 1);
}

static void test_jsonl(void **state)
{
	const char *t = "{\"time\":\"2024-05-01T10:00:00Z\",\"from\":\"A\",\"to\":\"B\",\"text\":\"plain words\"}\n"
	                "not json at all\n"
	                "\n"
	                "{\"text\":\"line\\none \\u00e9 \\ud83d\\ude00\",\"from\":\"B\",\"extra\":[1,{\"x\":null}],"
	                "\"time\":1714557600}\n"
	                "{\"from\":\"C\"}\n"
	                "{\"from\":\"D\",\"text\":\"unterminated}\n";
	all a;
	ward_chat_stats st;
	assert_int_equal(ward_chat_detect(t, strlen(t), NULL), WARD_CHAT_JSONL);
	assert_int_equal(read_all(t, WARD_CHAT_JSONL, &a, &st), WARD_OK);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.m[0].from, "A");
	assert_string_equal(a.m[0].to, "B");
	assert_string_equal(a.m[0].text, "plain words");
	assert_true(a.m[0].verbatim);
	assert_int_equal(a.m[0].when, 1714557600);
	assert_int_equal(a.m[1].line, 4);
	assert_string_equal(a.m[1].text, "line\none \xC3\xA9 \xF0\x9F\x98\x80");
	assert_false(a.m[1].verbatim);
	assert_int_equal(a.m[1].when, 1714557600);
	assert_int_equal(st.skipped, 3);
	assert_int_equal(st.first_skipped, 2);
}

static void test_csv(void **state)
{
	const char *t = "Sender;Message;Timestamp\n"
	                "Alex;\"hello; there\";2024-01-02 10:00\n"
	                "Bo;\"two\n"
	                "lines and \"\"quotes\"\"\";2024-01-02 10:01\n"
	                "\n"
	                "Cy;plain;bad time\n";
	all a;
	ward_chat_stats st;
	assert_int_equal(ward_chat_detect(t, strlen(t), NULL), WARD_CHAT_CSV);
	assert_int_equal(read_all(t, WARD_CHAT_AUTO, &a, &st), WARD_OK);
	assert_int_equal(a.n, 3);
	assert_string_equal(a.m[0].from, "Alex");
	assert_string_equal(a.m[0].text, "hello; there");
	assert_true(a.m[0].verbatim);
	assert_int_equal(a.m[0].line, 2);
	assert_string_equal(a.m[1].text, "two\nlines and \"quotes\"");
	assert_false(a.m[1].verbatim);
	assert_int_equal(a.m[1].line, 3);
	assert_int_equal(a.m[1].end_line, 4);
	assert_int_equal(a.m[2].line, 6);
	assert_int_equal(a.m[2].when, -1);
	assert_int_equal(st.bad_time, 1);
}

static void test_csv_no_text_column(void **state)
{
	const char *t = "a,b,c\n1,2,3\n";
	ward_diag d;
	all a;
	memset(&a, 0, sizeof a);
	assert_int_equal(ward_chat_read(t, strlen(t), WARD_CHAT_CSV, collect, &a, NULL, &d),
	                 WARD_EFORMAT);
	assert_non_null(strstr(d.message, "text column"));
}

static void test_plain(void **state)
{
	const char *t = "[10:15] bob: hi\n"
	                "[10:16] amy: hello: there\n"
	                "and more\n"
	                "[2024-02-03 08:00] bob: next day\n";
	all a;
	ward_chat_stats st;
	assert_int_equal(ward_chat_detect(t, strlen(t), NULL), WARD_CHAT_PLAIN);
	assert_int_equal(read_all(t, WARD_CHAT_AUTO, &a, &st), WARD_OK);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.m[0].when, 10 * 3600 + 15 * 60);
	assert_string_equal(a.m[1].text, "hello: there\nand more");
	assert_string_equal(a.m[2].time, "2024-02-03 08:00");
	assert_int_equal(a.m[2].when, 1706947200);
}

static void test_not_a_chat(void **state)
{
	const char *t = "#include <stdio.h>\nint main(void)\n{\n\treturn 0;\n}\n";
	ward_diag d;
	ward_chat_stats st;
	all a;
	assert_int_equal(ward_chat_detect(t, strlen(t), NULL), WARD_CHAT_AUTO);
	memset(&a, 0, sizeof a);
	assert_int_equal(ward_chat_read(t, strlen(t), WARD_CHAT_AUTO, collect, &a, &st, &d),
	                 WARD_EFORMAT);
	assert_non_null(strstr(d.message, "not a chat export"));
	/* forced: read as far as it makes sense, every line counted as skipped */
	assert_int_equal(read_all(t, WARD_CHAT_WHATSAPP, &a, &st), WARD_OK);
	assert_int_equal(a.n, 0);
	assert_int_equal(st.skipped, 5);
	assert_int_equal(st.first_skipped, 1);
	/* UTF-16 is named */
	assert_int_equal(ward_chat_read("\xff\xfe[\0", 4, WARD_CHAT_AUTO, collect, &a, &st, &d),
	                 WARD_EFORMAT);
	assert_non_null(strstr(d.message, "UTF-16"));
	assert_int_equal(ward_chat_read("", 0, WARD_CHAT_PLAIN, collect, &a, &st, &d), WARD_OK);
	assert_int_equal(ward_chat_read(NULL, 0, WARD_CHAT_JSONL, collect, &a, &st, &d), WARD_OK);
}

static void test_broken_input(void **state)
{
	const char *t = "[32/13/2024, 10:00:00] Bob: broken date\n"
	                "[12/03/2024, 10:00:00] : no name\n"
	                "[12/03/2024, 10:00:00] Amy: caf\xE9 latin-1\n"
	                "[12/03/2024, 25:00:00] Amy: bad hour\n";
	all a;
	ward_chat_stats st;
	assert_int_equal(read_all(t, WARD_CHAT_AUTO, &a, &st), WARD_OK);
	assert_int_equal(a.n, 4);
	assert_int_equal(a.m[0].when, -1);
	assert_string_equal(a.m[0].text, "broken date");
	assert_string_equal(a.m[1].from, "");
	assert_string_equal(a.m[1].text, "no name");
	assert_int_equal(st.bad_time, 2);
	assert_int_equal(st.no_sender, 1);
	assert_int_equal(st.invalid_utf8, 1);
}

static void test_huge_message(void **state)
{
	/* a 50 MB single message: cut to the limit, offsets still cover the whole message */
	size_t body = (size_t)50 << 20;
	const char *hdr = "[12/03/2024, 10:00:00] Bob: ";
	size_t hl = strlen(hdr), len = hl + body + 40;
	char *buf = malloc(len + 1);
	assert_non_null(buf);
	memcpy(buf, hdr, hl);
	memset(buf + hl, 'a', body);
	for (size_t i = hl + 100; i < hl + body; i += 1000)
		buf[i] = '\n';
	const char *tail = "\n[12/03/2024, 10:00:01] Amy: ok\n";
	memcpy(buf + hl + body, tail, strlen(tail));
	len = hl + body + strlen(tail);
	buf[len] = '\0';
	ward_chat_reader *r;
	ward_chat_message m;
	assert_int_equal(ward_chat_reader_new(buf, len, WARD_CHAT_AUTO, &r, NULL), WARD_OK);
	assert_int_equal(ward_chat_next(r, &m), WARD_OK);
	assert_int_equal(m.text_len, WARD_CHAT_MAX_TEXT);
	assert_true(m.truncated);
	assert_int_equal(m.end, hl + body + 1);
	assert_int_equal(ward_chat_next(r, &m), WARD_OK);
	assert_int_equal(m.text_len, 2);
	uint64_t nl = 0;
	for (size_t i = 0; i < hl + body + 1; i++)
		nl += buf[i] == '\n';
	assert_int_equal(m.line, 1 + nl);
	assert_int_equal(ward_chat_next(r, &m), WARD_ENOENT);
	assert_int_equal(ward_chat_reader_stats(r)->truncated, 1);
	ward_chat_reader_free(r);
	free(buf);
}

static void test_stop_and_names(void **state)
{
	const char *t = "[1] a: x\n[2] b: y\n[3] c: z\n";
	all a;
	ward_diag d;
	memset(&a, 0, sizeof a);
	a.stop_after = 2;
	assert_int_equal(ward_chat_read(t, strlen(t), WARD_CHAT_PLAIN, collect, &a, NULL, &d),
	                 WARD_ESTOPPED);
	assert_int_equal(a.n, 2);
	for (int f = 0; f < WARD_CHAT_FORMAT_COUNT; f++)
		assert_int_equal(ward_chat_format_from_name(ward_chat_format_name((ward_chat_format)f)), f);
	assert_int_equal(ward_chat_format_from_name("xml"), -1);
	assert_string_equal(ward_chat_format_name(WARD_CHAT_FORMAT_COUNT), "?");
}

static void test_parse_time(void **state)
{
	assert_int_equal(chat_parse_time("1970-01-01T00:00:00", 19), 0);
	assert_int_equal(chat_parse_time("2024-02-29 12:00", 16), 1709208000);
	assert_int_equal(chat_parse_time("2023-02-29 12:00", 16), -1);
	assert_int_equal(chat_parse_time("29/02/2024, 12:00", 17), 1709208000);
	assert_int_equal(chat_parse_time("12:00 pm", 8), 12 * 3600);
	assert_int_equal(chat_parse_time("12:00 am", 8), 0);
	assert_int_equal(chat_parse_time("1714557600", 10), 1714557600);
	assert_int_equal(chat_parse_time("1714557600123", 13), 1714557600);
	assert_int_equal(chat_parse_time("yesterday", 9), -1);
	assert_int_equal(chat_parse_time("", 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whatsapp_bracket), cmocka_unit_test(test_whatsapp_dash),
		cmocka_unit_test(test_jsonl),            cmocka_unit_test(test_csv),
		cmocka_unit_test(test_csv_no_text_column), cmocka_unit_test(test_plain),
		cmocka_unit_test(test_not_a_chat),       cmocka_unit_test(test_broken_input),
		cmocka_unit_test(test_huge_message),     cmocka_unit_test(test_stop_and_names),
		cmocka_unit_test(test_parse_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
