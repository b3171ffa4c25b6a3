/* Fuzzes every chat reader (auto-detected and each format forced) and the conversation model
 * over what they read: messages stay inside the input, offsets and lines only grow, verbatim
 * texts are the input's own bytes, and the whole-file and message-by-message models agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ward/ward.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char RULES[] =
	"rule c.a\n area grooming\n severity low\n stage friendship\n description a\n"
	" phrase so mature | you are special\nend\n"
	"rule c.b\n area grooming\n severity medium\n stage secrecy\n description b\n"
	" phrase our secret\n unless surprise\nend\n"
	"rule c.c\n area grooming\n severity low\n stage risk-assessment\n description c\n"
	" regex \\bhow old (r|are) (u|you)\\b\nend\n"
	"rule c.d\n area exploitation\n severity high\n stage meeting\n description d\n"
	" all 5: meet; alone\nend\n"
	"rule c.e\n area grooming\n severity low\n stage personal-details\n description e\n"
	" phrase my number is\nend\n";

static ward_engine *engine;

static void check_reader(const char *buf, size_t size, ward_chat_format f)
{
	ward_chat_reader *r = NULL;
	ward_chat_message m;
	uint64_t last_start = 0, last_line = 0, n = 0;
	if (ward_chat_reader_new(buf, size, f, &r, NULL) != WARD_OK)
		return;
	while (ward_chat_next(r, &m) == WARD_OK) {
		if (m.start > m.end || m.end > size || m.start < last_start || m.line < last_line ||
		    m.end_line < m.line || m.index != n || m.text_len > WARD_CHAT_MAX_TEXT ||
		    m.from_len > WARD_CHAT_MAX_NAME)
			abort();
		if (m.text_verbatim &&
		    (m.text_start + m.text_len > size || memcmp(buf + m.text_start, m.text, m.text_len)))
			abort();
		/* touch every byte the reader hands out */
		volatile unsigned x = 0;
		for (size_t i = 0; i < m.text_len; i++)
			x += (unsigned char)m.text[i];
		for (size_t i = 0; i < m.from_len; i++)
			x += (unsigned char)m.from[i];
		for (size_t i = 0; i < m.to_len; i++)
			x += (unsigned char)m.to[i];
		for (size_t i = 0; i < m.time_len; i++)
			x += (unsigned char)m.time[i];
		last_start = m.start;
		last_line = m.line;
		n++;
	}
	if (ward_chat_reader_stats(r)->messages != n)
		abort();
	ward_chat_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	if (!engine && ward_engine_load_string(RULES, sizeof RULES - 1, "fuzz", WARD_LOAD_NOCACHE,
	                                       &engine, NULL) != WARD_OK)
		abort();
	ward_chat_detect(buf, size, NULL);
	for (int f = 0; f < WARD_CHAT_FORMAT_COUNT; f++)
		check_reader(buf, size, (ward_chat_format)f);
	/* the model: whole file against message by message */
	ward_conv *whole = NULL, *inc = NULL;
	ward_chat_reader *r = NULL;
	ward_chat_message m;
	if (ward_conv_scan_chat(engine, NULL, buf, size, WARD_CHAT_AUTO, NULL, NULL, &whole, NULL,
	                        NULL) == WARD_OK &&
	    ward_chat_reader_new(buf, size, WARD_CHAT_AUTO, &r, NULL) == WARD_OK &&
	    ward_conv_new(engine, NULL, &inc) == WARD_OK) {
		while (ward_chat_next(r, &m) == WARD_OK)
			if (ward_conv_add_message(inc, &m, NULL, NULL, NULL) != WARD_OK)
				abort();
		if (ward_conv_alert_count(whole) != ward_conv_alert_count(inc))
			abort();
		for (size_t i = 0; i < ward_conv_alert_count(whole); i++) {
			const ward_conv_alert *a = ward_conv_alert_get(whole, i);
			const ward_conv_alert *b = ward_conv_alert_get(inc, i);
			if (a->level != b->level || a->first_message != b->first_message ||
			    a->nevidence != b->nevidence || strcmp(a->sender, b->sender) != 0)
				abort();
			for (size_t k = 0; k < a->nevidence; k++)
				if (a->evidence[k].end > size || a->evidence[k].start > a->evidence[k].end)
					abort();
		}
	}
	ward_chat_reader_free(r);
	ward_conv_free(whole);
	ward_conv_free(inc);
	return 0;
}
