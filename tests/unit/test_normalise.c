/* Unit tests for the normaliser: each transformation, and the map back to the input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ward/ward.h>

#include "text_int.h"

static char *norm(const char *in)
{
	char *out = NULL;
	size_t n = 0;
	assert_int_equal(ward_normalise(in, strlen(in), &out, &n, NULL), WARD_OK);
	assert_int_equal(strlen(out), n);
	return out;
}

#define NORM_EQ(in, want)                                                                          \
	do {                                                                                       \
		char *got_ = norm(in);                                                             \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

static void test_case_and_spaces(void **state)
{
	(void)state;
	NORM_EQ("Hello,   World!", " helo world ");
	NORM_EQ("", " ");
	NORM_EQ("  \t\n ", " ");
}

static void test_nfkc_and_fullwidth(void **state)
{
	(void)state;
	NORM_EQ("\xEF\xBC\xB3\xEF\xBC\xA5\xEF\xBC\xA3\xEF\xBC\xB2\xEF\xBC\xA5\xEF\xBC\xB4",
	        " secret ");                                 /* ＳＥＣＲＥＴ */
	NORM_EQ("\xEF\xAC\x81nd", " find ");                 /* ﬁ ligature */
	NORM_EQ("caf\xC3\xA9 na\xC3\xAFve", " cafe naive "); /* accents stripped */
}

static void test_confusables(void **state)
{
	(void)state;
	/* Cyrillic ѕ, е, с inside a Latin word; Cyrillic с alone reads as c */
	NORM_EQ("\xD1\x95\xD0\xB5\xD1\x81r\xD0\xB5t", " secret ");
	NORM_EQ("\xD1\x81"
	        "at",
	        " cat ");
	NORM_EQ("ph\xD0\xBEt\xD0\xBE", " photo ");
	/* Greek omicron */
	NORM_EQ("ph\xCE\xBFt\xCE\xBF", " photo ");
	/* Greek small kappa and Cyrillic small ka have no skeleton to k */
	NORM_EQ("\xCE\xBA"
	        "eep",
	        " kep ");
	NORM_EQ("\xD0\xBA"
	        "eep",
	        " kep ");
	/* capitals are looked up before case folding loses the likeness: Greek KEEP, Cyrillic
	 * TAKE, and Greek capital iota reads as i, not l */
	NORM_EQ("\xCE\x9A\xCE\x95\xCE\x95\xCE\xA1", " kep ");
	NORM_EQ("\xD0\xA2\xD0\x90\xD0\x9A\xD0\x95", " take ");
	NORM_EQ("K\xCE\x99"
	        "SS",
	        " kis ");
}

/* Small letters whose skeleton is not their Latin lookalike, folded by hand. */
static void test_hand_folds(void **state)
{
	(void)state;
	/* Cyrillic em and te: "meet" */
	NORM_EQ("\xD0\xBC"
	        "ee\xD1\x82",
	        " met ");
	/* Cyrillic te and en, Greek tau: "the", "text" */
	NORM_EQ("\xD1\x82\xD0\xBD"
	        "e",
	        " the ");
	NORM_EQ("\xCF\x84"
	        "e\xCF\x87\xCF\x84",
	        " text ");
	/* Greek eta and omega, Cyrillic ve, pe and sha */
	NORM_EQ("\xCE\xB7"
	        "o\xCF\x89",
	        " now ");
	NORM_EQ("\xD0\xB2"
	        "ody",
	        " body ");
	NORM_EQ("o\xD0\xBF"
	        "ly",
	        " only ");
	NORM_EQ("\xD1\x88"
	        "ho",
	        " who ");
	/* small capitals: SECRET written as ꜱᴇᴄʀᴇᴛ, MEET as ᴍᴇᴇᴛ */
	NORM_EQ("\xEA\x9C\xB1\xE1\xB4\x87\xE1\xB4\x84\xCA\x80\xE1\xB4\x87\xE1\xB4\x9B", " secret ");
	NORM_EQ("\xE1\xB4\x8D\xE1\xB4\x87\xE1\xB4\x87\xE1\xB4\x9B", " met ");
	/* italic (mathematical) letters come through compatibility decomposition */
	NORM_EQ("\xF0\x9D\x91\x9A\xF0\x9D\x91\x92\xF0\x9D\x91\x92\xF0\x9D\x91\xA1", " met ");
	/* letters of other scripts with no Latin look stay as they are */
	NORM_EQ("\xD0\xB8\xD0\xB7", " \xD0\xB8\xD0\xB7 ");
}

static void test_zero_width_and_bidi(void **state)
{
	(void)state;
	NORM_EQ("se\xE2\x80\x8B"
	        "cr\xE2\x80\x8C"
	        "et",
	        " secret ");                       /* ZWSP, ZWNJ */
	NORM_EQ("sec\xE2\x80\xAEret", " secret "); /* RLO */
	NORM_EQ("se\xC2\xAD"
	        "cret",
	        " secret "); /* soft hyphen */
}

static void test_leetspeak(void **state)
{
	(void)state;
	NORM_EQ("s3cr3t", " secret ");
	NORM_EQ("ph0t0", " photo ");
	NORM_EQ("$ecret", " secret ");
	NORM_EQ("p@rents", " parents ");
	NORM_EQ("m33t", " met "); /* squeezed too */
	/* numbers stay numbers; a number then letters is two words */
	NORM_EQ("in 2024 at 3pm", " in 2024 at 3 pm ");
	NORM_EQ("12yo", " 12 yo ");
	NORM_EQ("1st and 5km", " 1 st and 5 km ");
	/* one leading digit before letters that are no unit is leetspeak */
	NORM_EQ("0nly", " only ");
	NORM_EQ("1ts 0k", " its 0 k ");
	NORM_EQ("3very", " every ");
	/* 2 and 4 are words in text speak, not letters */
	NORM_EQ("2day 4ever", " 2 day 4 ever ");
	/* trailing punctuation is not leetspeak */
	NORM_EQ("please!", " please ");
	NORM_EQ("costs $5", " costs 5 ");
}

static void test_apostrophes_hyphens(void **state)
{
	(void)state;
	NORM_EQ("don't", " dont ");
	NORM_EQ("don\xE2\x80\x99t", " dont "); /* right single quotation mark */
	NORM_EQ("e-mail", " email ");
	NORM_EQ("- well -", " wel ");
}

static void test_separated_letters(void **state)
{
	(void)state;
	NORM_EQ("s.e.c.r.e.t", " secret ");
	NORM_EQ("s e c r e t", " secret ");
	NORM_EQ("s_e_c_r_e_t now", " secret now ");
	NORM_EQ("s-e-c-r-e-t", " secret ");
	/* the separator changes between words */
	NORM_EQ("d.o.n.t t e l l", " dont tel ");
	/* two single letters are left alone, as are letters on separate lines */
	NORM_EQ("a b", " a b ");
	NORM_EQ("a\nb\nc", " a b c ");
	/* a gap of two separators breaks the chain */
	NORM_EQ("I  a m", " i a m ");
}

static void test_stretched(void **state)
{
	(void)state;
	NORM_EQ("pleeeeease", " please ");
	NORM_EQ("sooooo coool", " so col ");
	NORM_EQ("PLEEEASE", " please ");
}

static void test_invalid_utf8_and_nul(void **state)
{
	(void)state;
	const char in[] = "ab\xff\xfe"
	                  "cd\0ef\xC3";
	char *out = NULL;
	size_t n = 0;
	uint32_t *map = NULL;
	assert_int_equal(ward_normalise(in, sizeof in - 1, &out, &n, &map), WARD_OK);
	assert_string_equal(out, " ab cd ef ");
	assert_int_equal(map[n], sizeof in - 1);
	free(out);
	free(map);
}

/* The map sends every output byte to the input character that produced it. */
static void test_map(void **state)
{
	(void)state;
	const char *in = "Say: d0n'7 T3LL\xE2\x80\x8B anyone!!";
	char *out = NULL;
	size_t n = 0;
	uint32_t *map = NULL;
	assert_int_equal(ward_normalise(in, strlen(in), &out, &n, &map), WARD_OK);
	assert_string_equal(out, " say dont tel anyone ");
	const char *p = strstr(out, "dont");
	assert_non_null(p);
	assert_int_equal(map[p - out], 5);           /* 'd' */
	assert_int_equal(in[map[p - out + 3]], '7'); /* 't' came from '7' */
	p = strstr(out, "anyone");
	assert_int_equal(map[p - out], (uint32_t)(strstr(in, "anyone") - in));
	/* the space after "anyone" maps to just past it, before the "!!" */
	assert_int_equal(map[p - out + 6], (uint32_t)(strstr(in, "!!") - in));
	assert_int_equal(map[n], strlen(in));
	for (size_t i = 1; i <= n; i++)
		assert_true(map[i] >= map[i - 1]);
	free(out);
	free(map);
}

static void test_long_word_and_size(void **state)
{
	(void)state;
	size_t n = 100000;
	char *in = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		in[i] = (char)('a' + i % 26);
	in[n] = '\0';
	char *out = NULL;
	size_t on = 0;
	uint32_t *map = NULL;
	assert_int_equal(ward_normalise(in, n, &out, &on, &map), WARD_OK);
	assert_true(on > n); /* split into words of at most 256 letters */
	assert_int_equal(map[on], n);
	free(in);
	free(out);
	free(map);
	assert_int_equal(ward_normalise(NULL, 5, &out, &on, NULL), WARD_EINVAL);
}

/* The fast path's ways: its widest chunks on this CPU, then no wider than 32 and 16 bytes
 * at a time, then a byte at a time. */
static const unsigned ways[] = {0, NORM_NO_AVX512, NORM_NO_AVX512 | NORM_NO_AVX2, NORM_NO_SIMD};

/* Normalises in through the general path alone and through the ASCII fast path each way;
 * all must give the same bytes and the same map. */
static void same_both_ways(const char *in, size_t len)
{
	norm_buf slow;
	memset(&slow, 0, sizeof slow);
	assert_int_equal(norm_run_opts(&slow, in, len, NORM_NO_FAST), WARD_OK);
	for (size_t k = 0; k < sizeof ways / sizeof *ways; k++) {
		norm_buf fast;
		memset(&fast, 0, sizeof fast);
		assert_int_equal(norm_run_opts(&fast, in, len, ways[k]), WARD_OK);
		if (fast.len != slow.len || memcmp(fast.out, slow.out, fast.len + 1) != 0 ||
		    memcmp(fast.map, slow.map, (fast.len + 1) * sizeof *fast.map) != 0) {
			print_error(
			    "fast path (flags %u, %zu bytes at a time) differs for input of "
			    "%zu bytes:\n[%.*s]\nfast [%s]\nslow [%s]\n",
			    ways[k], norm_chunk_width(ways[k]), len, (int)len, in, fast.out,
			    slow.out);
			fail();
		}
		norm_buf_free(&fast);
	}
	norm_buf_free(&slow);
}

/* Says which widths this CPU lets the differential tests compare, and checks that the flags
 * narrow them as they say: each way no wider than the one before, a byte at a time last. */
static void test_fast_path_widths(void **state)
{
	(void)state;
	size_t prev = 64;
	for (size_t k = 0; k < sizeof ways / sizeof *ways; k++) {
		size_t w = norm_chunk_width(ways[k]);
		print_message("# fast path, flags %u: %zu byte%s at a time\n", ways[k], w,
		              w == 1 ? "" : "s");
		assert_true(w == 64 || w == 32 || w == 16 || w == 1);
		assert_true(w <= prev);
		prev = w;
	}
	assert_true(norm_chunk_width(NORM_NO_AVX512) <= 32);
	assert_true(norm_chunk_width(NORM_NO_AVX512 | NORM_NO_AVX2) <= 16);
	assert_int_equal(norm_chunk_width(NORM_NO_SIMD), 1);
}

/* The fast path against the general path over random text built from the pieces evasions
 * are made of: words, capitals, single letters split by separators, leetspeak, stretched
 * letters, apostrophes and hyphens, digits, lookalike and other UTF-8 letters, zero-width
 * characters, invalid bytes, newlines and blank lines.  Seeded, so a failure repeats. */
static void test_fast_path_differential(void **state)
{
	static const char *const pieces[] = {
	    "hello", "Secret", "DONT", "tell", "your", "mum", "a", "I", "x", "ok", "sooo",
	    "pleeease", "s e c r e t", "s.e.c.r.e.t", "s-e-c", "d.o.n.t t.e.l.l", "a b", "i m",
	    "s3cr3t", "ph0t0", "0nly", "12yo", "3pm", "2day", "@ge", "$end", "please!", "|ol",
	    "don't", "it's", "e-mail", "-", "'", "`", "\xd0\xbc\xd0\xb5", "\xd1\x82", "caf\xc3\xa9",
	    "\xe2\x80\x8b", "\xef\xbc\xb2", "\xce\x9a", "\xe2\x80\x99", "\xff", "\xc3", "\xe4\xbd\xa0",
	    "\x01", "\t", "\r\n", "\n", "\n\n", " ", "  ", ",", ". ", "?", "!!", "+", "...", "A",
	    "bb", "zz", "Aa", "aA", "oo", "e", "E", "l", "q",
	};
	const size_t np = sizeof pieces / sizeof *pieces;
	char buf[4096];
	uint64_t seed = 0x5eed2026u;
	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t len = 0, want = 1 + (size_t)(round % 60);
		for (size_t k = 0; k < want; k++) {
			seed = seed * 6364136223846793005u + 1442695040888963407u;
			const char *pc = pieces[(seed >> 33) % np];
			size_t pl = strlen(pc);
			if (len + pl + 1 >= sizeof buf)
				break;
			memcpy(buf + len, pc, pl);
			len += pl;
			/* a separator between most pieces, none between some (words run together) */
			if ((seed >> 20) % 4 != 0)
				buf[len++] = (seed >> 24) % 8 == 0 ? '\n' : ' ';
		}
		same_both_ways(buf, len);
	}
	/* a word past WORD_MAX, and one of every byte */
	memset(buf, 'k', 1000);
	for (size_t i = 0; i < 1000; i += 3)
		buf[i] = (char)('a' + i % 26);
	same_both_ways(buf, 1000);
	for (int i = 0; i < 256; i++)
		buf[i] = (char)i;
	same_both_ways(buf, 256);
}

/* A pseudo-random number from *seed (a linear congruential step; its high bits). */
static uint32_t next_rand(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005u + 1442695040888963407u;
	return (uint32_t)(*seed >> 33);
}

/* Appends a word of n letters to buf at *len: mostly lower case, some capitals, some letters
 * doubled (squeezed), adjacent letters otherwise mostly different. */
static void put_word(char *buf, size_t *len, size_t n, uint64_t *seed)
{
	static const char letters[] = "abcdeefghiiklmnoopqrssttuwyz";
	for (size_t k = 0; k < n; k++) {
		uint32_t r = next_rand(seed);
		char c = letters[r % (sizeof letters - 1)];
		if (k > 0 && (r >> 8) % 8 == 0)
			c = buf[*len - 1]; /* a stretched letter */
		else if ((r >> 12) % 6 == 0)
			c = (char)(c - 'a' + 'A');
		buf[(*len)++] = c;
	}
}

/* The chunks against the general path on text that is mostly what they take (ASCII words
 * and separators, long runs of it) so that every lane of every width meets each reason to
 * stop: a byte only the byte loop reads, a one-letter word with or without a longer word
 * after it in the chunk, a chain of them, a gap of several separators, a word near WORD_MAX,
 * the end of the input.  Then each of those at every offset of a run of words. */
static void test_chunk_edges_differential(void **state)
{
	/* bytes only the byte loop reads, and characters only the general path reads */
	static const char odd_bytes[] = "07'-!@$|+`\x01\xff";
	static const char *const odd_utf8[] = {"\xc3\xa9", "\xd0\xbc", "\xe2\x80\x8b"};
	static const char seps[] = " .,\n\t?;:_/()";
	char buf[8192];
	uint64_t seed = 0xc4a2c5u;
	(void)state;
	for (int round = 0; round < 6000; round++) {
		size_t len = 0, want = 1 + next_rand(&seed) % 1500;
		while (len + 320 < sizeof buf && len < want) {
			uint32_t r = next_rand(&seed);
			if (r % 60 == 0 && (r >> 8) % 4 == 0) {
				const char *s =
				    odd_utf8[(r >> 10) % (sizeof odd_utf8 / sizeof *odd_utf8)];
				memcpy(buf + len, s, strlen(s));
				len += strlen(s);
			} else if (r % 60 == 0) {
				buf[len++] = odd_bytes[(r >> 10) % (sizeof odd_bytes - 1)];
			} else if (r % 150 == 1) {
				/* a word near WORD_MAX */
				put_word(buf, &len, 150 + (r >> 8) % 150, &seed);
			} else {
				/* one-letter words often, sometimes in a row */
				size_t n = (r >> 8) % 4 == 0 ? 1 : 2 + (r >> 10) % 10;
				put_word(buf, &len, n, &seed);
			}
			/* words joined by an apostrophe or hyphen (or two), or separated */
			size_t ns = (r >> 16) % 8 == 0 ? 2 + (r >> 19) % 3 : 1;
			size_t nj = (r >> 25) % 4 == 0 ? 2 : 1;
			if ((r >> 22) % 8 == 0)
				for (size_t k = 0; k < nj; k++)
					buf[len++] = "'-`"[next_rand(&seed) % 3];
			else
				for (size_t k = 0; k < ns; k++)
					buf[len++] = seps[next_rand(&seed) % (sizeof seps - 1)];
		}
		same_both_ways(buf, len);
	}
	/* at every offset of 200 bytes of words: an odd byte, an apostrophe or hyphen (in a word,
	 * before or after one), a one-letter word, two of them, a capital */
	static const char *const inserts[] = {"1",  "'",        "-",   "``",    "'s ",     "a'b",
	                                      "Ta", "\xc3\xa9", " a ", " a b ", " I x yz "};
	char base[256];
	size_t blen = 0;
	while (blen < 200) {
		put_word(base, &blen, 2 + next_rand(&seed) % 8, &seed);
		base[blen++] = ' ';
	}
	for (size_t k = 0; k < sizeof inserts / sizeof *inserts; k++)
		for (size_t at = 0; at <= blen; at++) {
			size_t il = strlen(inserts[k]), len = 0;
			memcpy(buf, base, at);
			len = at;
			memcpy(buf + len, inserts[k], il);
			len += il;
			memcpy(buf + len, base + at, blen - at);
			len += blen - at;
			same_both_ways(buf, len);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_case_and_spaces),
	    cmocka_unit_test(test_nfkc_and_fullwidth),
	    cmocka_unit_test(test_confusables),
	    cmocka_unit_test(test_hand_folds),
	    cmocka_unit_test(test_zero_width_and_bidi),
	    cmocka_unit_test(test_leetspeak),
	    cmocka_unit_test(test_apostrophes_hyphens),
	    cmocka_unit_test(test_separated_letters),
	    cmocka_unit_test(test_stretched),
	    cmocka_unit_test(test_invalid_utf8_and_nul),
	    cmocka_unit_test(test_map),
	    cmocka_unit_test(test_long_word_and_size),
	    cmocka_unit_test(test_fast_path_widths),
	    cmocka_unit_test(test_fast_path_differential),
	    cmocka_unit_test(test_chunk_edges_differential),
	};
	return cmocka_run_group_tests_name("normalise", tests, NULL, NULL);
}
