/*
 * normalise.c: the form of text that rules match against, with a map back to the input.
 *
 * Children and abusers defeat keyword lists with case, lookalike letters, leetspeak, spacing
 * and stretched letters.  The normaliser undoes those so that one plain-English phrase in a
 * rule catches them all, while every output byte remembers which input character produced it,
 * so findings point at the original words.
 *
 * Output: lower-case words separated by single spaces, a space at each end.  Words hold a-z,
 * digits (only in words without letters) and UTF-8 letters of other scripts that have no
 * ASCII lookalike.  Steps, in order, per character: invalid UTF-8 becomes a separator;
 * default-ignorable characters (zero-width, bidi controls) are dropped; NFKC-style
 * compatibility decomposition, case folding and mark stripping (utf8proc); letters of other
 * scripts that look like Latin letters are folded with ICU's UTS #39 confusable skeleton
 * (capitals before case folding, which would lose the likeness; small letters with no
 * skeleton to their lookalike, such as Greek kappa, Cyrillic em and te and the small
 * capitals, by hand).  Per word: leetspeak read as
 * letters when the word has a letter, except a number before letters ("12yo", "3pm"), which
 * is two words unless it is one leet digit before letters that are no unit ("0nly");
 * apostrophes and hyphens inside words dropped; repeated letters squeezed to one.  Across words:
 * three or more single letters split by one separator each are joined (s.e.c.r.e.t, s e c r e t).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_CHUNKS 1 /* 16, 32 or 64 bytes at once (SSSE3, AVX2, AVX-512), chosen at run time */
#endif

#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <utf8proc.h>

#include "text_int.h"

enum cls {
	C_SEP = 0, /* ends a word */
	C_LET,     /* letter (a-z, or a byte of a UTF-8 letter) */
	C_DIG,     /* 0-9 */
	C_LEET,    /* symbol read as a letter inside a word: @ $ ! | + */
	C_JOIN,    /* apostrophe or hyphen: dropped inside a word, a separator outside */
	C_IGN,     /* dropped entirely */
};

#define WORD_MAX    256
#define CACHE_SLOTS 4096
#define UNIT_MAX    24

/* How one code point normalises: up to UNIT_MAX output bytes, each with its class. */
typedef struct fold {
	uint32_t cp;
	uint8_t n;
	uint8_t bytes[UNIT_MAX];
	uint8_t cls[UNIT_MAX];
} fold;

typedef struct norm_cache {
	fold slot[CACHE_SLOTS];
} norm_cache;

static uint8_t ascii_cls[128];
static char ascii_low[128];
static char letter_low[256]; /* an ASCII letter's lower case; 0 for any other byte */
static uint8_t fast_tab[256]; /* fast path: a letter's lower case, ' ' for an ASCII separator,
                                 0 for a byte only the general path reads */
static USpoofChecker *spoof;
#ifdef HAVE_CHUNKS
static uint8_t compact_tab[256][8]; /* per 8-bit mask: its set lanes in order, then 0x80 */
static uint8_t lane_iota[64];       /* 0, 1, ... 63 */
static bool have_ssse3, have_avx2, have_avx512;
#endif
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_tables(void)
{
	for (int c = 0; c < 128; c++) {
		ascii_cls[c] = C_SEP;
		ascii_low[c] = (char)c;
		if (c >= 'a' && c <= 'z')
			ascii_cls[c] = C_LET;
		else if (c >= 'A' && c <= 'Z') {
			ascii_cls[c] = C_LET;
			ascii_low[c] = (char)(c - 'A' + 'a');
		} else if (c >= '0' && c <= '9')
			ascii_cls[c] = C_DIG;
		if (ascii_cls[c] == C_LET)
			letter_low[c] = ascii_low[c];
	}
	ascii_cls['@'] = ascii_cls['$'] = ascii_cls['!'] = ascii_cls['|'] = ascii_cls['+'] = C_LEET;
	ascii_cls['\''] = ascii_cls['`'] = ascii_cls['-'] = C_JOIN;
#ifdef HAVE_CHUNKS
	for (int m = 0; m < 256; m++) {
		int k = 0;
		for (int b = 0; b < 8; b++)
			if (m & (1 << b))
				compact_tab[m][k++] = (uint8_t)b;
		while (k < 8)
			compact_tab[m][k++] = 0x80;
	}
	for (int k = 0; k < 64; k++)
		lane_iota[k] = (uint8_t)k;
	__builtin_cpu_init();
	have_ssse3 = __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("popcnt");
	have_avx2 = have_ssse3 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi");
	have_avx512 = have_avx2 && __builtin_cpu_supports("avx512f") &&
	              __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi") &&
	              __builtin_cpu_supports("avx512vbmi2");
#endif
	for (int c = 0; c < 128; c++)
		fast_tab[c] = ascii_cls[c] == C_LET   ? (uint8_t)ascii_low[c]
		              : ascii_cls[c] == C_SEP ? ' '
		                                      : 0;
	UErrorCode err = U_ZERO_ERROR;
	spoof = uspoof_open(&err);
	if (U_FAILURE(err))
		spoof = NULL; /* lookalike folding is then limited to what utf8proc does */
}

static char leet_letter(char c)
{
	switch (c) {
	case '0':
		return 'o';
	case '1':
		return 'i';
	case '2':
		return 'z';
	case '3':
		return 'e';
	case '4':
		return 'a';
	case '5':
		return 's';
	case '6':
		return 'g';
	case '7':
		return 't';
	case '8':
		return 'b';
	case '9':
		return 'g';
	case '@':
		return 'a';
	case '$':
		return 's';
	case '!':
		return 'i';
	case '|':
		return 'l';
	case '+':
		return 't';
	default:
		return c;
	}
}

static void fold_push(fold *f, uint8_t byte, uint8_t cls)
{
	if (f->n < UNIT_MAX) {
		f->bytes[f->n] = byte;
		f->cls[f->n] = cls;
		f->n++;
	}
}

static void fold_push_utf8(fold *f, int32_t cp, uint8_t cls)
{
	uint8_t tmp[4];
	ssize_t k = utf8proc_encode_char(cp, tmp);
	if (k <= 0 || f->n + k > UNIT_MAX)
		return;
	for (ssize_t i = 0; i < k; i++)
		fold_push(f, tmp[i], cls);
}

/* Folds one non-ASCII letter with the confusable skeleton; 1 if it became ASCII letters.
 * For a capital, a skeleton of "l" is not taken: UTS #39 gives capital I the prototype l, and
 * Greek or Cyrillic capital I reads as i. */
static int fold_confusable(fold *f, int32_t cp, bool capital)
{
	UChar in[2], out[16];
	int32_t inlen = 0;
	UErrorCode err = U_ZERO_ERROR;
	if (!spoof)
		return 0;
	U16_APPEND_UNSAFE(in, inlen, cp);
	int32_t n = uspoof_getSkeleton(spoof, 0, in, inlen, out, 16, &err);
	if (U_FAILURE(err) || n <= 0 || n > 3 || (capital && n == 1 && out[0] == 'l'))
		return 0;
	for (int32_t i = 0; i < n; i++) {
		UChar u = out[i];
		if (!((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')))
			return 0;
	}
	for (int32_t i = 0; i < n; i++)
		fold_push(f, (uint8_t)ascii_low[out[i]], C_LET);
	return 1;
}

/* Small letters that read as a Latin letter, written so to dodge a word list, which ICU's
 * skeleton does not fold (it folds the capitals, and small letters such as Cyrillic a, o, e,
 * c, p).  Only letters whose small form itself looks like the Latin one: Cyrillic em and te
 * as small capitals M and T, Greek tau, eta, chi, omega, and the IPA small capitals. */
static const struct {
	uint32_t cp;
	char to;
} hand_folds[] = {
    {0x03BA, 'k'}, /* Greek small kappa */
    {0x03F0, 'k'}, /* Greek kappa symbol */
    {0x043A, 'k'}, /* Cyrillic small ka */
    {0x043C, 'm'}, /* Cyrillic small em */
    {0x0442, 't'}, /* Cyrillic small te */
    {0x043D, 'h'}, /* Cyrillic small en, a small capital H */
    {0x0432, 'b'}, /* Cyrillic small ve, a small capital B */
    {0x043F, 'n'}, /* Cyrillic small pe */
    {0x0448, 'w'}, /* Cyrillic small sha */
    {0x03C4, 't'}, /* Greek small tau */
    {0x03B7, 'n'}, /* Greek small eta */
    {0x03C7, 'x'}, /* Greek small chi */
    {0x03C9, 'w'}, /* Greek small omega */
    {0x03B5, 'e'}, /* Greek small epsilon */
    {0x1D00, 'a'}, /* Latin letter small capital A, and so on */
    {0x0299, 'b'}, {0x1D05, 'd'}, {0x1D07, 'e'}, {0xA730, 'f'}, {0x0262, 'g'},
    {0x029C, 'h'}, {0x1D0A, 'j'}, {0x1D0B, 'k'}, {0x029F, 'l'}, {0x1D0D, 'm'},
    {0x0274, 'n'}, {0x1D18, 'p'}, {0x0280, 'r'}, {0x1D1B, 't'},
};

static void fold_compute(fold *f, int32_t cp)
{
	int32_t dec[UNIT_MAX];
	int last = 0;
	f->cp = (uint32_t)cp;
	f->n = 0;
	if (cp == 0x2019 || cp == 0x2018 || cp == 0x02BC || cp == 0x2032) {
		fold_push(f, '\'', C_JOIN);
		return;
	}
	if (cp == 0x2010 || cp == 0x2011) {
		fold_push(f, '-', C_JOIN);
		return;
	}
	const utf8proc_property_t *prop = utf8proc_get_property(cp);
	if (prop->ignorable || prop->category == UTF8PROC_CATEGORY_CF) {
		fold_push(f, 0, C_IGN);
		return;
	}
	/* lower-case letters that look like Latin ones but have no skeleton to them */
	for (size_t i = 0; i < sizeof hand_folds / sizeof *hand_folds; i++)
		if (hand_folds[i].cp == (uint32_t)cp) {
			fold_push(f, (uint8_t)hand_folds[i].to, C_LET);
			return;
		}
	/* a capital is looked up before case folding, which would lose the likeness: Greek
	 * capital kappa is K, its small letter is not */
	if ((prop->category == UTF8PROC_CATEGORY_LU || prop->category == UTF8PROC_CATEGORY_LT) &&
	    fold_confusable(f, cp, true))
		return;
	utf8proc_ssize_t n =
	    utf8proc_decompose_char(cp, dec, UNIT_MAX,
	                            UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
	                                UTF8PROC_STRIPMARK | UTF8PROC_IGNORE,
	                            &last);
	if (n < 0 || n > UNIT_MAX) {
		fold_push(f, ' ', C_SEP);
		return;
	}
	for (utf8proc_ssize_t i = 0; i < n; i++) {
		int32_t d = dec[i], again[4];
		/* case folding can give a character that has a compatibility form of its own
		 * (fullwidth R folds to fullwidth r): decompose once more */
		if (d >= 128 && utf8proc_decompose_char(d, again, 4,
		                                        UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |
		                                            UTF8PROC_STRIPMARK,
		                                        &last) == 1)
			d = again[0];
		if (d < 128) {
			fold_push(f, (uint8_t)ascii_low[d], ascii_cls[d]);
			continue;
		}
		utf8proc_category_t cat = utf8proc_category(d);
		switch (cat) {
		case UTF8PROC_CATEGORY_LU:
		case UTF8PROC_CATEGORY_LL:
		case UTF8PROC_CATEGORY_LT:
		case UTF8PROC_CATEGORY_LM:
		case UTF8PROC_CATEGORY_LO:
			if (!fold_confusable(f, d, false))
				fold_push_utf8(f, utf8proc_tolower(d), C_LET);
			break;
		case UTF8PROC_CATEGORY_MN:
		case UTF8PROC_CATEGORY_MC:
		case UTF8PROC_CATEGORY_ME:
			break; /* marks left after stripping: drop */
		case UTF8PROC_CATEGORY_ND:
			fold_push_utf8(f, d, C_LET);
			break;
		default:
			fold_push(f, ' ', C_SEP);
			break;
		}
	}
	if (f->n == 0)
		fold_push(f, 0, C_IGN);
}

static const fold *fold_get(norm_cache *c, int32_t cp)
{
	fold *f = &c->slot[(uint32_t)cp % CACHE_SLOTS];
	if (f->cp != (uint32_t)cp || f->n == 0)
		fold_compute(f, cp);
	return f;
}

/* Decodes one UTF-8 character at p (n bytes available); returns its length (>= 1) and the
 * code point, or -1 in *cp for an invalid sequence (which then counts as one byte). */
static size_t utf8_next(const uint8_t *p, size_t n, int32_t *cp)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t k = utf8proc_iterate(p, n > 4 ? 4 : (utf8proc_ssize_t)n, &c);
	if (k <= 0) {
		*cp = -1;
		return 1;
	}
	*cp = c;
	return (size_t)k;
}

static ward_status grow(norm_buf *nb, size_t need)
{
	if (need <= nb->cap)
		return WARD_OK;
	size_t cap = nb->cap ? nb->cap : 4096;
	while (cap < need)
		cap *= 2;
	char *o = realloc(nb->out, cap + 1);
	if (!o)
		return WARD_ENOMEM;
	nb->out = o;
	uint32_t *m = realloc(nb->map, (cap + 1) * sizeof *m);
	if (!m)
		return WARD_ENOMEM;
	nb->map = m;
	nb->cap = cap;
	return WARD_OK;
}

/* State of the word being built. */
typedef struct wstate {
	size_t ws; /* output index where the word starts */
	size_t n;  /* bytes in the word (at out[ws..]) */
	uint8_t cls[WORD_MAX + UNIT_MAX];
	bool has_let, has_dig, has_leet;
	uint32_t trimmed_at; /* input offset of trailing symbols dropped from the word, or
	                        UINT32_MAX: the word's end for the map */
	size_t gap;          /* separator characters since the last word */
	bool gap_nl;         /* ... one of them a newline */
	uint8_t gap_char;    /* the last separator byte seen */
	uint8_t chain_sep;   /* the separator the chain's letters are split by */
	size_t chain_start;  /* output index of the first letter of a single-letter chain */
	size_t chain_n;      /* single letters in the chain */
} wstate;

static void squeeze(norm_buf *nb, size_t from)
{
	char *o = nb->out;
	uint32_t *m = nb->map;
	size_t w = from;
	for (size_t r = from; r < nb->len; r++) {
		char c = o[r];
		if (w > from && c == o[w - 1] && c >= 'a' && c <= 'z')
			continue;
		o[w] = c;
		m[w] = m[r];
		w++;
	}
	nb->len = w;
}

/* Whether letters s[0..n) are a suffix or unit that follows a number ("3pm", "1st", "5km"),
 * so that one digit then these letters is a number and a word, not leetspeak. */
static bool number_suffix(const char *s, size_t n)
{
	static const char *const suffixes[] = {
	    "st", "nd", "rd", "th", "am", "pm",  "yo",  "yr",   "yrs", "y",  "s",  "x",   "k", "m",
	    "km", "kg", "g",  "h",  "hr", "hrs", "min", "mins", "d",   "gb", "mb", "mph", "p", "ft",
	    "cm", "mm", "ml", "l",  "lb", "lbs", "oz",  "in",   "c",   "f",  "v",  "w",
	};
	for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
		if (strlen(suffixes[i]) == n && memcmp(suffixes[i], s, n) == 0)
			return true;
	return false;
}

/* Rewrites the word at out[ws..ws+n) per its classes: leetspeak, digits, removal. */
static void word_fix(norm_buf *nb, wstate *w)
{
	char *o = nb->out + w->ws;
	uint32_t *m = nb->map + w->ws;
	size_t n = w->n, k = 0;
	if (w->has_let) {
		/* "12yo", "3pm": a number then letters is two words, not leetspeak; but one
		 * digit that reads as a letter before letters that are no unit is leetspeak
		 * ("0nly", "1ts").  2 and 4 stay numbers: "2day", "4ever" are text speak. */
		size_t d = 0;
		while (d < n && w->cls[d] == C_DIG)
			d++;
		bool split = d > 0 && !w->has_leet;
		for (size_t i = d; split && i < n; i++)
			if (w->cls[i] != C_LET)
				split = false;
		if (split && d == 1 && strchr("013578", o[0]) && !number_suffix(o + 1, n - 1))
			split = false;
		if (split) {
			memmove(o + d + 1, o + d, n - d);
			memmove(m + d + 1, m + d, (n - d) * sizeof *m);
			o[d] = ' ';
			m[d] = m[d + 1];
			nb->len = w->ws + n + 1;
			squeeze(nb, w->ws + d + 1);
			return;
		}
		/* trailing symbols are punctuation ("please!"), not leetspeak */
		while (n > 0 && w->cls[n - 1] == C_LEET)
			n--;
		if (n < w->n)
			w->trimmed_at = m[n];
		for (size_t i = 0; i < n; i++) {
			char c = o[i];
			if (w->cls[i] == C_DIG || w->cls[i] == C_LEET)
				c = leet_letter(c);
			o[k] = c;
			m[k] = m[i];
			k++;
		}
	} else {
		for (size_t i = 0; i < n; i++)
			if (w->cls[i] == C_DIG) {
				o[k] = o[i];
				m[k] = m[i];
				k++;
			}
	}
	nb->len = w->ws + k;
	if (k > 1 && w->has_let)
		squeeze(nb, w->ws);
}

/* Ends the current word: the general case (see word_end). */
static void word_end_slow(norm_buf *nb, wstate *w, uint32_t sep_at)
{
	w->trimmed_at = UINT32_MAX;
	if (w->has_dig || w->has_leet)
		word_fix(nb, w); /* pure-letter words were squeezed as they were read */
	if (w->trimmed_at != UINT32_MAX)
		sep_at = w->trimmed_at;
	size_t len = nb->len - w->ws;
	w->n = 0;
	w->has_let = w->has_dig = w->has_leet = false;
	if (len == 0) {
		/* nothing left of the word (symbols only): it was a separator */
		w->gap++;
		return;
	}
	bool single = len == 1 && nb->out[w->ws] >= 'a' && nb->out[w->ws] <= 'z';
	/* one separator, and the same one all along: "d.o.n.t t.e.l.l" is two words */
	if (single && w->chain_n > 0 && w->gap == 1 && !w->gap_nl &&
	    (w->chain_n == 1 || w->gap_char == w->chain_sep)) {
		w->chain_sep = w->gap_char;
		w->chain_n++;
		if (w->chain_n == 3) {
			/* "s e c" -> "sec": drop the spaces between the chain's letters */
			size_t cs = w->chain_start;
			char *o = nb->out;
			uint32_t *m = nb->map;
			o[cs + 1] = o[cs + 2];
			m[cs + 1] = m[cs + 2];
			o[cs + 2] = o[cs + 4];
			m[cs + 2] = m[cs + 4];
			nb->len = cs + 3;
		} else if (w->chain_n > 3) {
			/* join onto the chain: remove the space before this letter */
			nb->out[w->ws - 1] = nb->out[w->ws];
			nb->map[w->ws - 1] = nb->map[w->ws];
			nb->len = w->ws;
		}
		if (w->chain_n >= 3)
			squeeze(nb, w->chain_start);
	} else if (single) {
		w->chain_start = w->ws;
		w->chain_n = 1;
	} else {
		w->chain_n = 0;
	}
	if (nb->out[nb->len - 1] != ' ') {
		nb->out[nb->len] = ' ';
		nb->map[nb->len] = sep_at;
		nb->len++;
	}
	w->gap = 0;
	w->gap_nl = false;
}

/* Appends one byte of class cls, from input offset at, to the current word.  Words of
 * letters only are squeezed as they are read; a word that turns out to hold digits or
 * symbols keeps each byte's class for word_fix. */
/* Ends the current word (if any); sep_at is the input offset just past it.  Most words are
 * letters only and longer than one letter: they need only their space. */
static inline void word_end(norm_buf *nb, wstate *w, uint32_t sep_at)
{
	if (w->n == 0)
		return;
	if (!w->has_dig && !w->has_leet && w->chain_n == 0 && nb->len - w->ws > 1) {
		nb->out[nb->len] = ' ';
		nb->map[nb->len] = sep_at;
		nb->len++;
		w->n = 0;
		w->has_let = false;
		w->gap = 0;
		w->gap_nl = false;
		return;
	}
	word_end_slow(nb, w, sep_at);
}

static inline void word_add(norm_buf *nb, wstate *w, uint8_t byte, uint8_t cls, uint32_t at)
{
	bool mixed = w->has_dig || w->has_leet;
	if (w->n == 0)
		w->ws = nb->len;
	if (cls == C_LET) {
		w->has_let = true;
		if (!mixed && w->n > 0 && byte >= 'a' && byte <= 'z' &&
		    (uint8_t)nb->out[nb->len - 1] == byte)
			return;
	} else {
		if (!mixed)
			memset(w->cls, C_LET, w->n);
		if (cls == C_DIG)
			w->has_dig = true;
		else
			w->has_leet = true;
	}
	nb->out[nb->len] = (char)byte;
	nb->map[nb->len] = at;
	nb->len++;
	w->cls[w->n++] = cls;
}

/* The common case: a run of ASCII letters in a word of letters only.  Returns the input
 * offset after the run. */
static inline size_t letter_run(norm_buf *nb, wstate *w, const uint8_t *p, size_t i, size_t len)
{
	size_t o = nb->len, lim = i + (WORD_MAX - w->n);
	char *out = nb->out;
	uint32_t *map = nb->map;
	char prev = w->n ? out[o - 1] : 0;
	if (w->n == 0)
		w->ws = o;
	if (lim > len)
		lim = len;
	while (i < lim) {
		char lc = letter_low[p[i]];
		if (!lc)
			break;
		if (lc != prev) {
			out[o] = lc;
			map[o] = (uint32_t)i;
			o++;
			prev = lc;
		}
		i++;
	}
	w->n += o - nb->len;
	nb->len = o;
	w->has_let = true;
	return i;
}

/*
 * The fast path's work 16, 32 or 64 bytes at a time (a chunk), for runs of ASCII letters and
 * separators.  Each width has its own kernel, chosen at run time by what the CPU has (SSSE3,
 * AVX2, AVX-512 with VBMI2); all do the same four steps, and the last is shared:
 *
 *  1. Classify.  Map each byte to t: a letter's lower case, or a space for a separator.  An
 *     apostrophe or hyphen just after a letter is inside a word, where it is dropped: it
 *     becomes a copy of that letter, which step 2 drops ("don't" reads "dont", "al'l" "al").
 *     Find the first byte only the byte loop reads (non-ASCII, a digit, a symbol read as a
 *     letter, any other apostrophe or hyphen): the chunk's lanes stop before it.
 *  2. Keep.  A lane is kept when its t differs from the lane before (the first lane is compared
 *     with the last byte written), which squeezes repeated letters and keeps one space per gap,
 *     as the byte loop does.
 *  3. Compact.  Write the kept bytes together at out[o..] and each one's input offset at
 *     map[o..]: pshufb with a table of 8-lane masks (16 and 32 bytes) or vpcompressb (64).
 *     Kernels store whole vectors; bytes past the ones kept are scratch, overwritten later.
 *  4. Take (chunk_take, shared).  A one-letter word (space, letter, space in the output) may
 *     start a chain of them (s e c r e t), which only the general path joins: it is taken only
 *     when a word of two letters or more follows it in the chunk, which ends any chain where it
 *     began.  Otherwise the chunk is cut before that letter, which the byte loop then reads.
 *
 * A chunk that takes all its lanes is followed by the next; one cut short ends the run, and
 * the byte loop carries on from there.  The differential test and the fuzzer hold every width
 * to the general path, byte for byte and offset for offset.
 */

/* Where a run of chunks has got to: the output's length, the current word's bytes so far
 * (0 between words) and where it starts, and whether out[o - 2] (bit 0) and out[o - 1]
 * (bit 1) are spaces. */
typedef struct chunk_pos {
	size_t o, wl, ws;
	unsigned ctx;
} chunk_pos;

/* A kernel: runs chunks from p[i] while at least a chunk is left before lim and the word
 * cannot pass WORD_MAX; returns where it stopped, with c brought up to date.  Needs
 * c->o >= 2 and room for a chunk's bytes past out[c->o] and map[c->o]. */
typedef size_t chunk_fn(const uint8_t *p, size_t i, size_t lim, char *out, uint32_t *map,
                        chunk_pos *c);

#ifdef HAVE_CHUNKS
/* Bytes only the byte loop reads, by nibbles (a byte is one when the bits its low and high
 * nibbles select share a bit): 0x80-0xFF (16), digits (2), ! $ ' + - (1), @ ` (4), | (8). */
static const uint8_t bad_lo_tab[16] = {
    2 | 4 | 16, 1 | 2 | 16, 2 | 16, 2 | 16, 1 | 2 | 16, 2 | 16, 2 | 16, 1 | 2 | 16,
    2 | 16,     2 | 16,     16,     1 | 16, 8 | 16,     1 | 16, 16,     16,
};
static const uint8_t bad_hi_tab[16] = {0, 0, 1, 2, 4, 0, 4, 8, 16, 16, 16, 16, 16, 16, 16, 16};

static inline uint64_t low_bits(size_t n)
{
	return n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

/* Step 4 for every width.  The chunk has written n output bytes at out[c->o..] and their
 * offsets at map[c->o..] from its first lanes input bytes (p[i..i+lanes)); spaces has a bit
 * per output byte that is a space.  Returns how many input bytes are taken (0: none, the
 * chunk is dropped) and brings c up to date for them. */
static inline size_t chunk_take(size_t width, chunk_pos *c, const uint32_t *map, size_t i,
                                size_t lanes, uint64_t spaces, size_t n)
{
	/* 64 output bytes and the two before them; bit k: out[o + k - 2] is a space */
	typedef unsigned __int128 u128;
	u128 seq = (u128)c->ctx | (u128)spaces << 2;
	/* bit k: out[o + k - 1] is a one-letter word, and one not followed here by two letters
	 * (out[o + k + 1] and out[o + k + 2], before out[o + n]).  A 64-byte chunk of text often
	 * holds a one-letter word, so that width does not branch on the first (width is a
	 * constant once inlined); the second is rare. */
	u128 single = seq & ~(seq >> 1) & (seq >> 2);
	u128 room = (((u128)1 << n) - 1) >> 2;
	u128 lone = width == 64 || single ? single & ~(~(seq >> 3) & ~(seq >> 4) & room) : 0;
	if (lone) {
		uint64_t lo = (uint64_t)lone;
		size_t k = lo ? (size_t)__builtin_ctzll(lo)
		              : 64 + (size_t)__builtin_ctzll((uint64_t)(lone >> 64));
		if (k == 0)
			return 0; /* the letter was written before this chunk */
		/* keep out[o..o + k - 1), up to the space before the letter */
		n = k - 1;
		lanes = map[c->o + n] - i;
		spaces &= low_bits(n);
		if (lanes == 0)
			return 0;
	}
	if (spaces) {
		size_t last = 63 - (size_t)__builtin_clzll(spaces);
		c->ws = c->o + last + 1;
		c->wl = n - 1 - last;
	} else if (n > 0) {
		if (c->wl == 0)
			c->ws = c->o;
		c->wl += n;
	}
	c->ctx = (unsigned)(seq >> n) & 3;
	c->o += n;
	return lanes;
}

/* Sixteen bytes at a time (SSSE3). */
__attribute__((target("ssse3,popcnt"))) static size_t
chunks16(const uint8_t *p, size_t i, size_t lim, char *out, uint32_t *map, chunk_pos *c)
{
	const __m128i zero = _mm_setzero_si128(), sp = _mm_set1_epi8(' ');
	const __m128i nib = _mm_set1_epi8(0x0F);
	const __m128i bad_lo = _mm_loadu_si128((const __m128i *)bad_lo_tab);
	const __m128i bad_hi = _mm_loadu_si128((const __m128i *)bad_hi_tab);
	__m128i tprev = _mm_set1_epi8(out[c->o - 1]);
	while (lim - i >= 16 && c->wl + 16 + 2 < WORD_MAX) {
		/* 1: classify */
		__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
		__m128i cls = _mm_and_si128(
		    _mm_shuffle_epi8(bad_lo, _mm_and_si128(v, nib)),
		    _mm_shuffle_epi8(bad_hi, _mm_and_si128(_mm_srli_epi16(v, 4), nib)));
		__m128i low = _mm_or_si128(v, sp);
		__m128i al = _mm_and_si128(_mm_cmpgt_epi8(low, _mm_set1_epi8('a' - 1)),
		                           _mm_cmplt_epi8(low, _mm_set1_epi8('z' + 1)));
		__m128i t = _mm_or_si128(_mm_and_si128(al, low), _mm_andnot_si128(al, sp));
		__m128i join = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\'')),
		                            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')),
		                                         _mm_cmpeq_epi8(v, _mm_set1_epi8('`'))));
		__m128i drop = _mm_and_si128(join, _mm_slli_si128(al, 1));
		t = _mm_or_si128(_mm_and_si128(drop, _mm_slli_si128(t, 1)),
		                 _mm_andnot_si128(drop, t));
		unsigned bad = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(cls, zero)) & 0xFFFF &
		               ~(unsigned)_mm_movemask_epi8(drop);
		size_t lanes = bad ? (size_t)__builtin_ctz(bad) : 16;
		if (lanes == 0)
			break;
		/* 2: keep */
		__m128i before = _mm_or_si128(_mm_slli_si128(t, 1), _mm_srli_si128(tprev, 15));
		unsigned keep = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(t, before)) &
		                (unsigned)low_bits(lanes);
		/* 3: compact, eight lanes at a time */
		__m128i ilo = _mm_loadl_epi64((const __m128i *)compact_tab[keep & 0xFF]);
		__m128i ihi = _mm_loadl_epi64((const __m128i *)compact_tab[keep >> 8]);
		size_t nlo = (size_t)__builtin_popcount(keep & 0xFF);
		size_t n = nlo + (size_t)__builtin_popcount(keep >> 8);
		__m128i clo = _mm_shuffle_epi8(t, ilo);
		__m128i chi = _mm_shuffle_epi8(_mm_srli_si128(t, 8), ihi);
		_mm_storel_epi64((__m128i *)(out + c->o), clo);
		_mm_storel_epi64((__m128i *)(out + c->o + nlo), chi);
		__m128i l16 = _mm_unpacklo_epi8(ilo, zero), h16 = _mm_unpacklo_epi8(ihi, zero);
		__m128i blo = _mm_set1_epi32((int)i), bhi = _mm_set1_epi32((int)(i + 8));
		uint32_t *m = map + c->o;
		_mm_storeu_si128((__m128i *)m, _mm_add_epi32(_mm_unpacklo_epi16(l16, zero), blo));
		_mm_storeu_si128((__m128i *)(m + 4),
		                 _mm_add_epi32(_mm_unpackhi_epi16(l16, zero), blo));
		_mm_storeu_si128((__m128i *)(m + nlo),
		                 _mm_add_epi32(_mm_unpacklo_epi16(h16, zero), bhi));
		_mm_storeu_si128((__m128i *)(m + nlo + 4),
		                 _mm_add_epi32(_mm_unpackhi_epi16(h16, zero), bhi));
		/* the output's spaces (the lanes pshufb zeroed are no spaces) */
		unsigned spaces =
		    (((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(clo, sp)) & 0xFF) |
		     ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(chi, sp)) & 0xFF) << nlo) &
		    (unsigned)low_bits(n);
		/* 4: take */
		size_t took = chunk_take(16, c, map, i, lanes, spaces, n);
		i += took;
		if (took < 16)
			break;
		tprev = t;
	}
	return i;
}

/* x moved up a lane across the halves of a 256-bit vector, a zero into lane 0. */
__attribute__((target("avx2"))) static inline __m256i up_one32(__m256i x)
{
	return _mm256_alignr_epi8(x, _mm256_permute2x128_si256(x, x, 0x08), 15);
}

/* 32 bytes at a time (AVX2): chunks16's steps on both 128-bit halves at once.  (Not pext for
 * the output's spaces: it is slow on the AMD CPUs before Zen 3.) */
__attribute__((target("avx2,bmi,popcnt"))) static size_t
chunks32(const uint8_t *p, size_t i, size_t lim, char *out, uint32_t *map, chunk_pos *c)
{
	const __m256i zero = _mm256_setzero_si256(), sp = _mm256_set1_epi8(' ');
	const __m256i nib = _mm256_set1_epi8(0x0F);
	const __m256i bad_lo =
	    _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)bad_lo_tab));
	const __m256i bad_hi =
	    _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)bad_hi_tab));
	/* pshufb reads within each half: the second eight lanes of a half are 8 to 15 */
	const __m256i second8 = _mm256_setr_epi64x(0, 0x0808080808080808, 0, 0x0808080808080808);
	__m256i tprev = _mm256_set1_epi8(out[c->o - 1]);
	while (lim - i >= 32 && c->wl + 32 + 2 < WORD_MAX) {
		/* 1: classify */
		__m256i v = _mm256_loadu_si256((const __m256i *)(p + i));
		__m256i cls = _mm256_and_si256(
		    _mm256_shuffle_epi8(bad_lo, _mm256_and_si256(v, nib)),
		    _mm256_shuffle_epi8(bad_hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib)));
		__m256i low = _mm256_or_si256(v, sp);
		__m256i al = _mm256_and_si256(_mm256_cmpgt_epi8(low, _mm256_set1_epi8('a' - 1)),
		                              _mm256_cmpgt_epi8(_mm256_set1_epi8('z' + 1), low));
		__m256i t = _mm256_blendv_epi8(sp, low, al);
		__m256i join =
		    _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\'')),
		                    _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('-')),
		                                    _mm256_cmpeq_epi8(v, _mm256_set1_epi8('`'))));
		__m256i drop = _mm256_and_si256(join, up_one32(al));
		t = _mm256_blendv_epi8(t, up_one32(t), drop);
		uint32_t bad = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(cls, zero)) &
		               ~(uint32_t)_mm256_movemask_epi8(drop);
		size_t lanes = bad ? (size_t)__builtin_ctz(bad) : 32;
		if (lanes == 0)
			break;
		/* 2: keep; before is t moved up a lane, across the halves, tprev's last first */
		__m256i before =
		    _mm256_alignr_epi8(t, _mm256_permute2x128_si256(tprev, t, 0x21), 15);
		uint32_t keep = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(t, before)) &
		                (uint32_t)low_bits(lanes);
		/* 3: compact, eight lanes at a time */
		const uint8_t *r0 = compact_tab[keep & 0xFF], *r1 = compact_tab[(keep >> 8) & 0xFF];
		const uint8_t *r2 = compact_tab[(keep >> 16) & 0xFF], *r3 = compact_tab[keep >> 24];
		size_t n0 = (size_t)__builtin_popcount(keep & 0xFF);
		size_t n1 = n0 + (size_t)__builtin_popcount((keep >> 8) & 0xFF);
		size_t n2 = n1 + (size_t)__builtin_popcount((keep >> 16) & 0xFF);
		size_t n = (size_t)__builtin_popcount(keep);
		__m128i i0 = _mm_loadl_epi64((const __m128i *)r0);
		__m128i i1 = _mm_loadl_epi64((const __m128i *)r1);
		__m128i i2 = _mm_loadl_epi64((const __m128i *)r2);
		__m128i i3 = _mm_loadl_epi64((const __m128i *)r3);
		__m256i idx = _mm256_add_epi8(
		    _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi64(i0, i1)),
		                            _mm_unpacklo_epi64(i2, i3), 1),
		    second8);
		__m256i tc = _mm256_shuffle_epi8(t, idx);
		__m128i c01 = _mm256_castsi256_si128(tc), c23 = _mm256_extracti128_si256(tc, 1);
		char *o = out + c->o;
		_mm_storel_epi64((__m128i *)o, c01);
		_mm_storel_epi64((__m128i *)(o + n0), _mm_srli_si128(c01, 8));
		_mm_storel_epi64((__m128i *)(o + n1), c23);
		_mm_storel_epi64((__m128i *)(o + n2), _mm_srli_si128(c23, 8));
		/* the output's spaces, eight lanes' worth at a time (pshufb zeroed the rest) */
		uint32_t s8 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(tc, sp));
		uint64_t spaces = (uint64_t)(s8 & 0xFF) | (uint64_t)((s8 >> 8) & 0xFF) << n0 |
		                  (uint64_t)((s8 >> 16) & 0xFF) << n1 | (uint64_t)(s8 >> 24) << n2;
		uint32_t *m = map + c->o;
		__m256i base = _mm256_set1_epi32((int)i), eight = _mm256_set1_epi32(8);
		_mm256_storeu_si256((__m256i *)m, _mm256_add_epi32(_mm256_cvtepu8_epi32(i0), base));
		base = _mm256_add_epi32(base, eight);
		_mm256_storeu_si256((__m256i *)(m + n0),
		                    _mm256_add_epi32(_mm256_cvtepu8_epi32(i1), base));
		base = _mm256_add_epi32(base, eight);
		_mm256_storeu_si256((__m256i *)(m + n1),
		                    _mm256_add_epi32(_mm256_cvtepu8_epi32(i2), base));
		base = _mm256_add_epi32(base, eight);
		_mm256_storeu_si256((__m256i *)(m + n2),
		                    _mm256_add_epi32(_mm256_cvtepu8_epi32(i3), base));
		/* 4: take */
		size_t took = chunk_take(32, c, map, i, lanes, spaces, n);
		i += took;
		if (took < 32)
			break;
		tprev = t;
	}
	return i;
}

/* 64 bytes at a time (AVX-512 with VBMI and VBMI2).  Masks replace movemask: classifying is
 * one vpermi2b through fast_tab (a letter's lower case, a space, or 0 for a byte the byte
 * loop reads; bytes from 0x80 by their top bit), and compacting is vpcompressb, of t for the
 * output and of the lane numbers for the map. */
__attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi,popcnt"))) static size_t
chunks64(const uint8_t *p, size_t i, size_t lim, char *out, uint32_t *map, chunk_pos *c)
{
	const __m512i tab_lo = _mm512_loadu_si512(fast_tab),
	              tab_hi = _mm512_loadu_si512(fast_tab + 64);
	const __m512i sp = _mm512_set1_epi8(' '), iota = _mm512_loadu_si512(lane_iota);
	/* lane k - 1 of t, or for lane 0 (index 0xFF, read as 127) lane 63 of tprev */
	const __m512i back = _mm512_sub_epi8(iota, _mm512_set1_epi8(1));
	__m512i tprev = _mm512_set1_epi8(out[c->o - 1]);
	while (lim - i >= 64 && c->wl + 64 + 2 < WORD_MAX) {
		/* 1: classify */
		__m512i v = _mm512_loadu_si512(p + i);
		__m512i t = _mm512_permutex2var_epi8(tab_lo, v, tab_hi);
		uint64_t join = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\'')) |
		                _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('-')) |
		                _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('`'));
		uint64_t drop = join & _mm512_cmpgt_epi8_mask(t, sp) << 1;
		t = _mm512_mask_mov_epi8(t, drop, _mm512_permutex2var_epi8(t, back, tprev));
		uint64_t bad = (_mm512_movepi8_mask(v) | _mm512_testn_epi8_mask(t, t)) & ~drop;
		size_t lanes = bad ? (size_t)__builtin_ctzll(bad) : 64;
		if (lanes == 0)
			break;
		/* 2: keep */
		__m512i before = _mm512_permutex2var_epi8(t, back, tprev);
		__mmask64 keep = _mm512_cmpneq_epi8_mask(t, before) & low_bits(lanes);
		size_t n = (size_t)__builtin_popcountll(keep);
		/* 3: compact; lanes past n are zero, no spaces */
		__m512i tc = _mm512_maskz_compress_epi8(keep, t);
		_mm512_storeu_si512(out + c->o, tc);
		__m512i lane = _mm512_maskz_compress_epi8(keep, iota);
		__m512i base = _mm512_set1_epi32((int)i);
		uint32_t *m = map + c->o;
		_mm512_storeu_si512(
		    m, _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm512_castsi512_si128(lane)), base));
		/* the rest whatever n: cheaper than a branch on it */
		_mm512_storeu_si512(
		    m + 16, _mm512_add_epi32(
		                _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(lane, 1)), base));
		_mm512_storeu_si512(
		    m + 32, _mm512_add_epi32(
		                _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(lane, 2)), base));
		_mm512_storeu_si512(
		    m + 48, _mm512_add_epi32(
		                _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(lane, 3)), base));
		uint64_t spaces = _mm512_cmpeq_epi8_mask(tc, sp);
		/* 4: take */
		size_t took = chunk_take(64, c, map, i, lanes, spaces, n);
		i += took;
		if (took < 64)
			break;
		tprev = t;
	}
	return i;
}

/* The widest kernel flags allow on this CPU, and its width; NULL and 1 for none. */
static chunk_fn *chunk_kernel(unsigned flags, size_t *width)
{
	*width = 1;
	if (flags & NORM_NO_SIMD)
		return NULL;
	if (have_avx512 && !(flags & NORM_NO_AVX512)) {
		*width = 64;
		return chunks64;
	}
	if (have_avx2 && !(flags & NORM_NO_AVX2)) {
		*width = 32;
		return chunks32;
	}
	if (have_ssse3) {
		*width = 16;
		return chunks16;
	}
	return NULL;
}
#endif

/* The ASCII fast path: from p[i], while bytes are ASCII letters and separators and words
 * have two or more letters, writes what the general path would (a letter unless it repeats
 * the one before; one space, mapped to the first separator, after each word) with none of
 * its per-byte bookkeeping, a chunk at a time where it can (chunks, of width bytes; NULL for
 * none).  Runs only outside a chain of single letters and in a word of letters only, the
 * states in which the general path's gap and chain fields are not read.  Stops before a byte
 * the general path must see: a digit, symbol, apostrophe, hyphen or non-ASCII byte, a
 * separator after a one-letter word, a word near WORD_MAX; or at lim, which the caller has
 * made room for (one output byte per input byte at most, and four more).  Returns the offset
 * it stopped at, with w and nb brought up to date. */
static size_t fast_run(norm_buf *nb, wstate *w, const uint8_t *p, size_t i, size_t lim,
                       chunk_fn *chunks, size_t width)
{
	char *out = nb->out;
	uint32_t *map = nb->map;
	size_t o = nb->len, ws = w->ws, from = i;
	size_t wl = w->n; /* bytes of the current word so far, 0 between words */
	uint8_t prev = (uint8_t)out[o - 1]; /* a space between words */
	/* Branch-free but for the exit: a byte is always written and kept only when it differs
	 * from the one before, which squeezes repeated letters and drops the separators after
	 * the first (the output's last byte is a space between words). */
#ifdef HAVE_CHUNKS
	size_t bytewise_to = i; /* past a chunk cut short, which the byte loop reads */
#else
	(void)chunks;
	(void)width;
#endif
	for (; i < lim; i++) {
#ifdef HAVE_CHUNKS
		if (chunks && i >= bytewise_to && lim - i >= width && o >= 2) {
			chunk_pos c = {o, wl, ws, (unsigned)(out[o - 2] == ' ')};
			c.ctx |= (unsigned)(out[o - 1] == ' ') << 1;
			size_t j = chunks(p, i, lim, out, map, &c);
			o = c.o;
			wl = c.wl;
			ws = c.ws;
			prev = (uint8_t)out[o - 1];
			/* the byte loop stops within a few bytes of a cut (at the byte it reads or
			 * the separator after a one-letter word), and goes to lim near the end */
			bytewise_to = j + 16;
			i = j;
			if (i == lim)
				break;
		}
#endif
		uint8_t t = fast_tab[p[i]];
		size_t sep = t == ' ';
		if ((t == 0) | (sep & (wl == 1)) | (wl >= WORD_MAX - 1))
			break; /* the general path's byte; a one-letter word may start a chain */
		out[o] = (char)t;
		map[o] = (uint32_t)i;
		size_t keep = t != prev;
		ws = wl == 0 ? o : ws;
		o += keep;
		wl = (wl + keep) & (sep - 1);
		prev = t;
	}
	if (i != from) {
		/* the gap since the last word ended is read only within a chain, and a chain
		 * resets it as it starts; gap_char is the last separator seen */
		w->gap = 0;
		w->gap_nl = false;
		for (size_t j = i; j > from; j--)
			if (fast_tab[p[j - 1]] == ' ') {
				w->gap_char = p[j - 1];
				break;
			}
	}
	w->ws = ws;
	w->n = wl;
	w->has_let = wl != 0;
	nb->len = o;
	return i;
}

size_t norm_chunk_width(unsigned flags)
{
	size_t width = 1;
	pthread_once(&init_once, init_tables);
#ifdef HAVE_CHUNKS
	(void)chunk_kernel(flags, &width);
#else
	(void)flags;
#endif
	return width;
}

ward_status norm_run(norm_buf *nb, const char *in, size_t len)
{
	return norm_run_opts(nb, in, len, 0);
}

ward_status norm_run_opts(norm_buf *nb, const char *in, size_t len, unsigned flags)
{
	ward_status st = WARD_OK;
	const uint8_t *p = (const uint8_t *)in;
	wstate w;
	pthread_once(&init_once, init_tables);
	size_t width = 1;
#ifdef HAVE_CHUNKS
	chunk_fn *chunks = chunk_kernel(flags, &width);
#else
	chunk_fn *chunks = NULL;
#endif
	if (len >= WARD_NORM_MAX_INPUT)
		return WARD_ETOOBIG;
	memset(&w, 0, sizeof w);
	if (!nb->cache) {
		nb->cache = calloc(1, sizeof *nb->cache);
		if (!nb->cache)
			return WARD_ENOMEM;
	}
	/* Most text shrinks or keeps its size; grow when a character could overflow. */
	if ((st = grow(nb, len + len / 8 + 64)) != WARD_OK)
		goto done;
	nb->len = 0;
	nb->out[nb->len] = ' ';
	nb->map[nb->len++] = 0;
	size_t i = 0;
	while (i < len) {
		if (nb->len + WORD_MAX + UNIT_MAX + 4 >= nb->cap &&
		    (st = grow(nb, nb->len + WORD_MAX + UNIT_MAX + 4 + (len - i) / 4 + 64)) !=
		        WARD_OK)
			goto done;
		uint8_t b = p[i];
		if (w.chain_n == 0 && !w.has_dig && !w.has_leet && fast_tab[b] &&
		    !(flags & NORM_NO_FAST)) {
			/* one output byte per input byte at most: run as far as there is room */
			size_t room = nb->cap - nb->len - 4, lim = len - i < room ? len : i + room;
			size_t j = fast_run(nb, &w, p, i, lim, chunks, width);
			if (j != i) {
				i = j;
				continue;
			}
		}
		if (b < 0x80) {
			uint8_t c = ascii_cls[b];
			if (c == C_LET && !w.has_dig && !w.has_leet && w.n < WORD_MAX) {
				i = letter_run(nb, &w, p, i, len);
				continue;
			}
			if (c == C_LET || c == C_DIG || c == C_LEET) {
				if (w.n >= WORD_MAX)
					word_end(nb, &w, (uint32_t)i);
				word_add(nb, &w, (uint8_t)ascii_low[b], c, (uint32_t)i);
			} else if (c == C_JOIN && w.n > 0) {
				/* dropped inside a word */
			} else {
				word_end(nb, &w, (uint32_t)i);
				w.gap++;
				w.gap_char = b;
				if (b == '\n')
					w.gap_nl = true;
			}
			i++;
			continue;
		}
		int32_t cp;
		size_t k = utf8_next(p + i, len - i, &cp);
		if (cp < 0) {
			word_end(nb, &w, (uint32_t)i);
			w.gap++;
			i += k;
			continue;
		}
		const fold *f = fold_get(nb->cache, cp);
		bool counted = false;
		for (uint8_t u = 0; u < f->n; u++) {
			uint8_t c = f->cls[u];
			if (c == C_IGN)
				continue;
			if (c == C_LET || c == C_DIG || c == C_LEET) {
				if (w.n >= WORD_MAX)
					word_end(nb, &w, (uint32_t)i);
				word_add(nb, &w, f->bytes[u], c, (uint32_t)i);
			} else if (c == C_JOIN && w.n > 0) {
				/* dropped inside a word */
			} else {
				word_end(nb, &w, (uint32_t)i);
				if (!counted)
					w.gap++;
				counted = true;
				w.gap_char = 0x80; /* any non-ASCII separator */
			}
		}
		i += k;
	}
	word_end(nb, &w, (uint32_t)len);
	if (nb->out[nb->len - 1] != ' ') {
		nb->out[nb->len] = ' ';
		nb->map[nb->len++] = (uint32_t)len;
	}
	/* NORM_PAD zero bytes after the end (the first is the string's NUL) */
	if ((st = grow(nb, nb->len + NORM_PAD)) != WARD_OK)
		goto done;
	nb->map[nb->len] = (uint32_t)len;
	memset(nb->out + nb->len, 0, NORM_PAD + 1);
done:
	return st;
}

void norm_buf_free(norm_buf *nb)
{
	if (!nb)
		return;
	free(nb->out);
	free(nb->map);
	free(nb->cache);
	memset(nb, 0, sizeof *nb);
}

ward_status ward_normalise(const char *in, size_t len, char **out, size_t *out_len, uint32_t **map)
{
	norm_buf nb;
	ward_status st;
	memset(&nb, 0, sizeof nb);
	if (!out || (!in && len))
		return WARD_EINVAL;
	st = norm_run(&nb, in ? in : "", len);
	if (st != WARD_OK) {
		norm_buf_free(&nb);
		return st;
	}
	*out = nb.out;
	if (out_len)
		*out_len = nb.len;
	if (map)
		*map = nb.map;
	else
		free(nb.map);
	free(nb.cache);
	return WARD_OK;
}
