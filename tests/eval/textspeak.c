/*
 * textspeak.c: checks the conversation model's reading of text speak (lib/conv.c, included
 * here so its static functions can be reached).
 *
 * usage: textspeak
 *
 * 1. The word finder, which reads sixteen and sixty-four bytes at a time, against a plain
 *    byte-by-byte reading of the same table: hand-written cases and seeded random texts of
 *    every length up to 300 bytes, at several alignments, with multibyte characters, digits,
 *    apostrophes and punctuation next to the short forms.
 * 2. The map back: every expanded offset lands on the text as written.
 * 3. Through the model: a finding made only by the expanded reading points at the bytes as
 *    written, with an excerpt of them; a phrase written in full is found once.
 * Prints one line per failure and a count; exit status 1 on any failure.
 */
#include "../../lib/conv.c"

#include <stdio.h>

static int failures;

static void fail(const char *what, const char *text, size_t n, const char *got, const char *want)
{
	failures++;
	printf("FAIL %s: \"%.*s\": got \"%s\", want \"%s\"\n", what, (int)n, text, got ? got : "",
	       want ? want : "");
}

/* The plain reading: one byte at a time, a linear search of the table. */
static int ref_word_byte(unsigned char ch)
{
	return ch >= 0x80 || ch == '\'' || (ch >= '0' && ch <= '9') || ts_isalpha(ch);
}

static size_t ref_expand(const ward_conv *c, const char *s, size_t n, char *out)
{
	size_t o = 0, i = 0;
	int any = 0;
	while (i < n) {
		if (!ref_word_byte((unsigned char)s[i])) {
			out[o++] = s[i++];
			continue;
		}
		size_t a = i;
		while (i < n && ref_word_byte((unsigned char)s[i]))
			i++;
		const char *to = NULL;
		if (i - a <= TS_MAX_WORD) {
			char w[TS_MAX_WORD + 1];
			for (size_t k = a; k < i; k++)
				w[k - a] = (char)(ts_isalpha((unsigned char)s[k]) ? (s[k] | 32) : s[k]);
			w[i - a] = '\0';
			for (size_t t = 0; t < sizeof ts_words / sizeof ts_words[0]; t++)
				if (strcmp(w, ts_words[t].from) == 0) {
					to = ts_meaning(c, &ts_words[t], s, n, a, i);
					break;
				}
		}
		if (to) {
			memcpy(out + o, to, strlen(to));
			o += strlen(to);
			any = 1;
		} else {
			memcpy(out + o, s + a, i - a);
			o += i - a;
		}
	}
	out[o] = '\0';
	return any ? o : 0;
}

/* Expands text (placed back bytes into a larger buffer), compares with the plain reading and
 * checks the map; got gets the expansion (or the text when there is none). */
static void check(ward_conv *c, const char *text, size_t n, size_t back, char *got, size_t cap)
{
	static char buf[4096];
	char want[4096], g[4096];
	size_t xl = 0;
	memset(buf, 'x', back);
	memcpy(buf + back, text, n);
	const char *s = buf + back;
	if (ts_expand(c, s, n, &xl) != WARD_OK) {
		fail("expand failed", text, n, NULL, NULL);
		return;
	}
	size_t rl = ref_expand(c, s, n, want);
	memcpy(g, xl ? c->ts_buf : s, xl ? xl : n);
	g[xl ? xl : n] = '\0';
	if (xl != rl || (xl && strcmp(g, want) != 0))
		fail("expansion", text, n, g, rl ? want : "(none)");
	snprintf(got, cap, "%s", g);
	if (!xl)
		return;
	/* the map: bytes outside the edits are the text's own, edits land on their short form */
	for (size_t p = 0; p < xl; p++) {
		size_t q = ts_map(c, p, false);
		bool in_edit = false;
		for (size_t e = 0; e < c->ts_ned; e++)
			if (p >= c->ts_ed[e].to && p < c->ts_ed[e].to_end) {
				in_edit = true;
				if (q != c->ts_ed[e].from)
					fail("map of a start inside an edit", text, n, NULL, NULL);
			}
		if (!in_edit && (q >= n || s[q] != c->ts_buf[p]))
			fail("map of a byte outside the edits", text, n, NULL, NULL);
	}
	for (size_t e = 0; e < c->ts_ned; e++)
		if (ts_map(c, c->ts_ed[e].to_end, true) != c->ts_ed[e].from_end ||
		    ts_map(c, c->ts_ed[e].to, false) != c->ts_ed[e].from)
			fail("map of an edit's ends", text, n, NULL, NULL);
	if (ts_map(c, xl, true) != n)
		fail("map of the end", text, n, NULL, NULL);
}

static void hand(ward_conv *c, const char *text, const char *want)
{
	char got[4096];
	check(c, text, strlen(text), 7, got, sizeof got);
	if (strcmp(got, want) != 0)
		fail("hand case", text, strlen(text), got, want);
}

typedef struct seen {
	uint64_t start[4], end[4];
	char excerpt[4][200];
	int n;
} seen;

static int on_seen(const ward_finding *f, void *ctx)
{
	seen *g = ctx;
	if (g->n < 4) {
		g->start[g->n] = f->start;
		g->end[g->n] = f->end;
		snprintf(g->excerpt[g->n], sizeof g->excerpt[g->n], "%.*s", (int)f->excerpt_len,
		         f->excerpt);
		g->n++;
	}
	return 0;
}

static const char *const pieces[] = {
	"u",     "ur",    "r",   "U",     "UR",  "y",   "n",    "2",          "4",  "b4",
	"no1",   "gf",    "so",  "mum",   "wat", "pls", "any1", "2nite",      "cam", "you",
	"the",   "x",     "\xc3\xa9u", "u\xc3\xa9", "'", "ur's", "12", "4ever", "skool", "2moro",
	"rly",   "thx",   "wen", "everything", "u2", "not", "amazing",
};
static const char *const seps[] = {" ", " ", " ", ", ", "?", "!", "  ", "\n", ".", "-", "/"};

int main(void)
{
	ward_conv *c = NULL;
	ward_engine *e = NULL;
	ward_chat_reader *rd = NULL;
	ward_chat_message m;
	ward_diag d;
	int checked = 0;
	if (ward_conv_new(NULL, NULL, &c) != WARD_OK)
		return 2;
	static const char *const cases[][2] = {
	    {"ur so kind", "youre so kind"},
	    {"dont tell ur mum", "dont tell your mum"},
	    {"U R my best m8", "you are my best mate"},
	    {"just 4 me", "just for me"},
	    {"meet at 4", "meet at 4"},
	    {"im in year 4", "im in year 4"},
	    {"4 u", "4 you"},
	    {"easy 2 talk 2", "easy to talk 2"},
	    {"y0u and ur4", "y0u and ur4"},
	    {"u\xc3\xa9 u", "u\xc3\xa9 you"},
	    {"no1 needs 2 know bout us", "no one needs to know about us"},
	    {"what are you up to", "what are you up to"},
	    {"", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		hand(c, cases[i][0], cases[i][1]);
	checked += (int)(sizeof cases / sizeof *cases);
	/* seeded random texts of every length to 300, at several alignments */
	uint32_t seed = 20261201;
	for (int round = 0; round < 3000; round++) {
		char text[400], got[4096];
		size_t n = 0, want = (size_t)round % 301;
		while (n < want) {
			seed = seed * 1103515245u + 12345u;
			const char *p = pieces[(seed >> 8) % (sizeof pieces / sizeof pieces[0])];
			const char *q = seps[(seed >> 20) % (sizeof seps / sizeof seps[0])];
			size_t pl = strlen(p), ql = strlen(q);
			if (n + pl + ql >= sizeof text)
				break;
			memcpy(text + n, p, pl);
			n += pl;
			memcpy(text + n, q, ql);
			n += ql;
		}
		if (n > want)
			n = want;
		check(c, text, n, (size_t)(round % 23), got, sizeof got);
		checked++;
	}
	ward_conv_free(c);
	c = NULL;

	/* through the model: offsets and excerpts of the text as written, no double finding */
	static const char rules[] = "rule t.a\n area grooming\n severity low\n stage exclusivity\n"
	                            " description t\n phrase nobody understands you like i do\nend\n";
	static const char chat[] = "[01/03/2025, 16:00:00] Sam: nobody understands U like i do\n"
	                           "[01/03/2025, 16:01:00] Kim: nobody understands you like i do\n";
	seen got = {0};
	if (ward_engine_load_string(rules, sizeof rules - 1, "textspeak", WARD_LOAD_NOCACHE, &e,
	                            &d) != WARD_OK) {
		printf("FAIL engine: %s\n", d.message);
		return 2;
	}
	if (ward_chat_reader_new(chat, sizeof chat - 1, WARD_CHAT_AUTO, &rd, &d) != WARD_OK ||
	    ward_conv_new(e, NULL, &c) != WARD_OK)
		return 2;
	while (ward_chat_next(rd, &m) == WARD_OK) {
		int before = got.n;
		if (ward_conv_add_message(c, &m, on_seen, &got, NULL) != WARD_OK)
			return 2;
		if (got.n != before + 1)
			fail("one finding a message", m.text, m.text_len, NULL, NULL);
	}
	const char *w0 = strstr(chat, "nobody understands U"), *w1 = strstr(chat, "nobody understands you");
	if (got.n != 2 || got.start[0] != (uint64_t)(w0 - chat) ||
	    got.end[0] != (uint64_t)(w0 - chat) + strlen("nobody understands U like i do") ||
	    got.start[1] != (uint64_t)(w1 - chat) ||
	    got.end[1] != (uint64_t)(w1 - chat) + strlen("nobody understands you like i do") ||
	    strcmp(got.excerpt[0], "nobody understands U like i do") != 0)
		fail("model offsets", chat, sizeof chat - 1, got.n ? got.excerpt[0] : "", "offsets");
	checked += 2;
	ward_chat_reader_free(rd);
	ward_conv_free(c);
	ward_engine_free(e);
	printf("textspeak: %d checked, %d failed\n", checked, failures);
	return failures ? 1 : 0;
}
