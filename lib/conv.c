/*
 * conv.c: the conversation model.
 *
 * Each sender has a value per grooming stage.  A finding of a rule tagged with a stage adds the
 * rule's weight to that stage of the sender, except personal details, which the other side
 * gives away: they are added to the sender they were given to (the message's recipient, or
 * the last other person who wrote).  Values fade (halve every half_life_messages messages and
 * every half_life_seconds of chat time), and one stage can add at most stage_cap to a score,
 * so a word said again and again never makes a pattern.  A level needs a score, a number of
 * distinct stages and, above low, stages from more than one group (trust, control, contact,
 * pressure, disclosure): the combination, not one word.  A sender's alert keeps the highest
 * level reached and the message that first reached each level.
 *
 * Chat is often written in text speak ("do u no wat ur parents r doing"), which rules written
 * in plain English miss.  A message holding text speak is scanned twice: as written, then read
 * with its short forms as the words they stand for (u as you, ur as your or you're, r as are);
 * the second scan's findings map back to the bytes as written, and a finding of a rule that
 * the first scan already made at the same place is not made twice.  Messages with no short
 * form, most of them, are scanned once.
 *
 * The whole-file scan is the message-by-message API run over the reader, so both give the
 * same alerts.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "chat_int.h"

#define MAX_FINDINGS_PER_MESSAGE 256
#define UNKNOWN_SENDER "(no name)"
#define OVERFLOW_SENDER "(other participants)"
#define NRECIP 4
#define TS_SLOTS 256 /* the text-speak word table: open addressing, a power of two */
#define TS_MAX_WORD 8

static const char *const stage_names[WARD_STAGE_COUNT] = {
	"friendship",     "relationship",  "risk-assessment", "exclusivity",    "secrecy",
	"isolation",      "platform-move", "gifts",           "image-request",  "camera-request",
	"meeting",        "pressure",      "personal-details",
};

/* Stage groups: trust building, control (risk assessment, secrecy, isolation, moving away),
 * contact (images, camera, meeting), pressure, and the child's disclosures. */
enum { G_TRUST = 0, G_CONTROL, G_CONTACT, G_PRESSURE, G_DISCLOSURE };
static const unsigned char stage_group[WARD_STAGE_COUNT] = {
	G_TRUST,   G_TRUST,   G_CONTROL, G_TRUST,   G_CONTROL, G_CONTROL,   G_CONTROL,
	G_TRUST,   G_CONTACT, G_CONTACT, G_CONTACT, G_PRESSURE, G_DISCLOSURE,
};

static const char *const level_names[] = {"none", "low", "medium", "high"};

const char *ward_stage_name(ward_stage s)
{
	return (unsigned)s < WARD_STAGE_COUNT ? stage_names[s] : "?";
}

int ward_stage_from_name(const char *name)
{
	for (int i = 0; name && i < WARD_STAGE_COUNT; i++)
		if (strcmp(name, stage_names[i]) == 0)
			return i;
	return -1;
}

const char *ward_conv_level_name(ward_conv_level l)
{
	return (unsigned)l <= WARD_LEVEL_HIGH ? level_names[l] : "?";
}

int ward_conv_level_from_name(const char *name)
{
	for (int i = 0; name && i <= WARD_LEVEL_HIGH; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

void ward_conv_config_default(ward_conv_config *c)
{
	memset(c, 0, sizeof *c);
	c->half_life_messages = 1000;
	c->half_life_seconds = 45.0 * 86400;
	c->stage_cap = 4;
	c->present = 0.5;
	c->low = 3;
	c->medium = 5;
	c->high = 9;
	c->low_stages = 2;
	c->medium_stages = 4;
	c->high_stages = 5;
	c->medium_groups = 2;
	c->high_groups = 3;
	c->max_participants = 4096;
	c->max_evidence = 64;
}

typedef struct party {
	char *name;
	size_t name_len;
	double v[WARD_STAGE_COUNT];
	double area_w[WARD_AREA_COUNT];
	uint64_t ref_msg;     /* message index the values were last brought up to */
	int64_t ref_when;     /* and chat time, or -1 */
	bool touched;
	size_t last_to;       /* party last written to, or SIZE_MAX */
	struct {
		size_t party;
		uint64_t n;
	} recip[NRECIP];
	ward_conv_alert alert;
	bool alerted;
	ward_conv_evidence *ev;
	size_t nev, capev;
} party;

typedef struct found {
	const ward_rule_info *rule;
	uint64_t start, end, line;
} found;

struct ward_conv {
	const ward_engine *e;
	ward_scanner *sc;
	ward_conv_config cfg;
	party *parties;
	size_t np, capp;
	uint32_t *tab;        /* open-addressing table of party index + 1 */
	size_t tabcap;
	size_t *order;        /* parties in the order their alerts were raised */
	size_t nalerts;
	uint64_t nmsg, next_index;
	int64_t now;          /* latest chat time seen, or -1 */
	size_t prev_sender;   /* sender of the previous message, or SIZE_MAX */
	found *f;
	size_t nf;
	bool f_overflow;
	/* text speak: the word table, and the message read with its short forms expanded */
	unsigned char ts_class[256];
	uint32_t ts_filter[TS_MAX_WORD + 1][32]; /* by length and first letter: the last letters */
	uint64_t ts_key[TS_SLOTS];
	unsigned char ts_word[TS_SLOTS]; /* index into ts_words + 1, or 0 */
	char *ts_buf;
	size_t ts_cap;
	struct ts_edit *ts_ed;           /* where the expanded text differs from the written */
	size_t ts_ned, ts_caped;
	size_t ts_nf0;                   /* findings of the first scan */
	/* during a scan */
	const ward_chat_message *msg;
	ward_finding_cb user_cb;
	void *user_ctx;
};

/* --- text speak ----------------------------------------------------------------------------
 *
 * Short forms and the words they stand for.  Only whole words, in ASCII, of at most eight
 * characters (TS_MAX_WORD); 2 and 4 only between two words (easy 2 talk to, just 4 me), so times, ages and
 * years stay numbers.  ur is you're before the words in ts_youre (ur so kind, ur not like),
 * else your (ur mum).  Leetspeak inside words (y0u) is the normaliser's, not this table's. */
typedef struct ts_pair {
	const char *from, *to;
} ts_pair;

static const ts_pair ts_words[] = {
	{"u", "you"},           {"ya", "you"},          {"yu", "you"},          {"ur", "your"},
	{"urs", "yours"},       {"ure", "youre"},       {"urself", "yourself"}, {"r", "are"},
	{"y", "why"},           {"n", "and"},           {"2", "to"},            {"4", "for"},
	{"wat", "what"},        {"wot", "what"},        {"wut", "what"},        {"wats", "whats"},
	{"wots", "whats"},      {"wen", "when"},        {"cud", "could"},       {"wud", "would"},
	{"shud", "should"},     {"cld", "could"},       {"wld", "would"},       {"bout", "about"},
	{"abt", "about"},       {"any1", "anyone"},     {"ne1", "anyone"},      {"no1", "no one"},
	{"some1", "someone"},   {"sum1", "someone"},    {"every1", "everyone"}, {"giv", "give"},
	{"hav", "have"},        {"luv", "love"},        {"wiv", "with"},        {"fone", "phone"},
	{"skool", "school"},    {"2nite", "tonight"},   {"2night", "tonight"},  {"tonite", "tonight"},
	{"2day", "today"},      {"2moro", "tomorrow"},  {"2morrow", "tomorrow"}, {"tmrw", "tomorrow"},
	{"b4", "before"},       {"gr8", "great"},       {"l8r", "later"},       {"l8", "late"},
	{"m8", "mate"},         {"m8s", "mates"},       {"4ever", "forever"},   {"rly", "really"},
	{"rlly", "really"},     {"pls", "please"},      {"plz", "please"},      {"thx", "thanks"},
	{"cuz", "because"},     {"coz", "because"},     {"cos", "because"},     {"bcoz", "because"},
	{"dnt", "dont"},        {"bf", "boyfriend"},    {"gf", "girlfriend"},   {"bday", "birthday"},
	{"msg", "message"},     {"msgs", "messages"},   {"txt", "text"},        {"vid", "video"},
	{"vids", "videos"},     {"pix", "pics"},        {"ppl", "people"},      {"kno", "know"},
	{"knw", "know"},        {"thru", "through"},    {"cam", "camera"},      {"dat", "that"},
	{"anythin", "anything"}, {"somethin", "something"},
	{"nothin", "nothing"},  {"amazin", "amazing"},  {"wanna", "want to"},   {"gonna", "going to"},
};

/* Words after which ur is you're. */
static const char *const ts_youre[] = {
	"so", "too", "really", "rly", "very", "such", "not", "always", "never", "just", "still",
	"only", "all", "more", "the", "a", "an", "my", "mine", "being", "making", "getting",
	"going", "gonna", "like", "different", "special", "beautiful", "gorgeous", "pretty", "cute",
	"stunning", "amazing", "amazin", "perfect", "mature", "clever", "smart", "funny", "lovely",
	"sweet", "fit", "lucky", "old", "older", "safe", "welcome", "ignoring", "acting", "kidding",
	"easy", "wise", "grown", "honestly", "literally", "actually", "sure", "right", "wrong",
	"alone", "on", "in", "at", "with", "by", "online", "off",
};

/* The packed key of a lower-case ASCII word of at most 8 bytes. */
static uint64_t ts_pack(const char *w, size_t n)
{
	uint64_t k = 0;
	for (size_t i = 0; i < n; i++)
		k |= (uint64_t)(unsigned char)w[i] << (8 * i);
	return k;
}

static size_t ts_slot(uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 56) & (TS_SLOTS - 1);
}

/* Fills the word table, and the class of each byte: 1 for bytes that belong to a word (ASCII
 * letters and digits, apostrophes, and every byte of a multibyte character, so that a short
 * form next to one is not read apart from it). */
static void ts_init(ward_conv *c)
{
	for (int ch = 0; ch < 256; ch++)
		c->ts_class[ch] = (unsigned char)(ch >= 0x80 || ch == '\'' || (ch >= '0' && ch <= '9') ||
		                                  ((ch | 32) >= 'a' && (ch | 32) <= 'z'));
	for (size_t i = 0; i < sizeof ts_words / sizeof ts_words[0]; i++) {
		const char *w = ts_words[i].from;
		size_t n = strlen(w);
		if (n > TS_MAX_WORD)
			continue;
		c->ts_filter[n][(w[0] | 32) & 31] |= 1u << ((w[n - 1] | 32) & 31);
		uint64_t key = ts_pack(w, n);
		size_t k = ts_slot(key);
		while (c->ts_word[k])
			k = (k + 1) & (TS_SLOTS - 1);
		c->ts_key[k] = key;
		c->ts_word[k] = (unsigned char)(i + 1);
	}
}

/* The table's entry for a packed word, or NULL. */
static const ts_pair *ts_lookup(const ward_conv *c, uint64_t key)
{
	for (size_t k = ts_slot(key); c->ts_word[k]; k = (k + 1) & (TS_SLOTS - 1))
		if (c->ts_key[k] == key)
			return &ts_words[c->ts_word[k] - 1];
	return NULL;
}

static int ts_isalpha(unsigned char ch)
{
	return (ch | 32) >= 'a' && (ch | 32) <= 'z';
}

/* The next word after s[i..n) past spaces, lower-cased into w (at most cap - 1 bytes; a
 * longer word is cut); its length, 0 when none. */
static size_t ts_next_word(const ward_conv *c, const char *s, size_t n, size_t i, char *w,
                           size_t cap)
{
	size_t k = 0;
	while (i < n && s[i] == ' ')
		i++;
	for (; i < n && c->ts_class[(unsigned char)s[i]] && k + 1 < cap; i++)
		w[k++] = (char)(ts_isalpha((unsigned char)s[i]) ? (s[i] | 32) : s[i]);
	w[k] = '\0';
	return k;
}

/* What the short form s[a..b) stands for here, or NULL: 2 and 4 only between two words, ur
 * as you're before the words of ts_youre. */
static const char *ts_meaning(const ward_conv *c, const ts_pair *p, const char *s, size_t n,
                              size_t a, size_t b)
{
	if (p->from[0] == '2' || p->from[0] == '4') {
		if (p->from[1])
			return p->to;
		size_t i = a, j = b;
		while (i > 0 && s[i - 1] == ' ')
			i--;
		while (j < n && s[j] == ' ')
			j++;
		if (i == a || j == b || i == 0 || j == n || !ts_isalpha((unsigned char)s[i - 1]) ||
		    !ts_isalpha((unsigned char)s[j]))
			return NULL;
		return p->to;
	}
	if (strcmp(p->from, "ur") == 0) {
		char w[16];
		if (ts_next_word(c, s, n, b, w, sizeof w))
			for (size_t i = 0; i < sizeof ts_youre / sizeof ts_youre[0]; i++)
				if (strcmp(w, ts_youre[i]) == 0)
					return "youre";
	}
	return p->to;
}

typedef struct ts_edit {
	size_t from, from_end; /* the short form in the text as written */
	size_t to, to_end;     /* what stands for it in the expanded text */
	const char *word;      /* which is this */
} ts_edit;

static ward_status ts_grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return WARD_OK;
	size_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	void *q = realloc(*p, nc * size);
	if (!q)
		return WARD_ENOMEM;
	*p = q;
	*cap = nc;
	return WARD_OK;
}

#ifdef __SSE2__
/* The word bytes of the sixteen bytes at p, as a bit mask. */
static unsigned ts_mask16(const char *p)
{
	const __m128i sp = _mm_set1_epi8(0x20), a1 = _mm_set1_epi8('a' - 1), z1 = _mm_set1_epi8('z' + 1),
	              d1 = _mm_set1_epi8('0' - 1), d2 = _mm_set1_epi8('9' + 1),
	              ap = _mm_set1_epi8('\''), zero = _mm_setzero_si128();
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i lo = _mm_or_si128(v, sp); /* ASCII letters to small ones */
	__m128i w = _mm_or_si128(
	    _mm_or_si128(_mm_cmplt_epi8(v, zero), /* a byte of a multibyte character */
	                 _mm_and_si128(_mm_cmpgt_epi8(lo, a1), _mm_cmplt_epi8(lo, z1))),
	    _mm_or_si128(_mm_and_si128(_mm_cmpgt_epi8(v, d1), _mm_cmplt_epi8(v, d2)),
	                 _mm_cmpeq_epi8(v, ap)));
	return (unsigned)_mm_movemask_epi8(w);
}
#endif

/* The word bytes of p[0..n), 0 < n <= 64, as a bit mask (bit i for p[i]), from a text of
 * which p[-back..n) may be read: sixteen bytes at a time, the last sixteen overlapping the
 * ones before; one by one only when the whole text is shorter than sixteen bytes. */
static uint64_t ts_mask(const ward_conv *c, const char *p, size_t n, size_t back)
{
	uint64_t m = 0;
	size_t k = 0;
#ifdef __SSE2__
	for (; k + 16 <= n; k += 16)
		m |= (uint64_t)ts_mask16(p + k) << k;
	if (k < n && n + back >= 16) {
		uint64_t t = ts_mask16(p + n - 16); /* may start before p: back bytes are there */
		m |= (t >> (k + 16 - n)) << k;
		return m;
	}
#endif
	for (; k < n; k++)
		m |= (uint64_t)c->ts_class[(unsigned char)p[k]] << k;
	return m;
}

/* Notes the word s[a..e), of at most TS_MAX_WORD bytes, as a short form to expand, if it is
 * one here. */
static ward_status ts_word_at(ward_conv *c, const char *s, size_t n, size_t a, size_t e)
{
	size_t len = e - a;
	uint64_t key = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[a + i];
		key |= (uint64_t)(ts_isalpha(ch) ? (ch | 32) : ch) << (8 * i);
	}
	const ts_pair *p = ts_lookup(c, key);
	const char *to = p ? ts_meaning(c, p, s, n, a, e) : NULL;
	if (!to)
		return WARD_OK;
	ward_status st = ts_grow((void **)&c->ts_ed, &c->ts_caped, c->ts_ned + 1, sizeof *c->ts_ed);
	if (st == WARD_OK)
		c->ts_ed[c->ts_ned++] = (ts_edit){.from = a, .from_end = e, .word = to};
	return st;
}

/* The filter before ts_word_at: a short form of this length, first and last letter? */
static inline ward_status ts_word(ward_conv *c, const char *s, size_t n, size_t a, size_t e)
{
	size_t len = e - a;
	if (len > TS_MAX_WORD || !(c->ts_filter[len][(s[a] | 32) & 31] >> ((s[e - 1] | 32) & 31) & 1))
		return WARD_OK;
	return ts_word_at(c, s, n, a, e);
}

/* Reads s[0..n) with its short forms expanded into c->ts_buf (c->ts_ed says where); the
 * expanded length, 0 when the text has no short form.  The words are found 64 bytes at a
 * time from a mask of word bytes, and only those whose length, first and last letters fit a
 * short form are looked up, since most messages have none and every message is looked at.
 * The expansion is at most five times as long as the text (gf is girlfriend), and the text
 * at most WARD_CHAT_MAX_TEXT. */
static ward_status ts_expand(ward_conv *c, const char *s, size_t n, size_t *outlen)
{
	ward_status st = WARD_OK;
	size_t ws = 0, o = 0, copied = 0; /* ws: where a word running past a block began */
	uint64_t carry = 0;
	*outlen = 0;
	c->ts_ned = 0;
	for (size_t base = 0; base < n; base += 64) {
		size_t k = n - base < 64 ? n - base : 64;
		uint64_t m = ts_mask(c, s + base, k, base), prev = m << 1 | carry;
		uint64_t starts = m & ~prev;
		/* a word that runs on from the block before ends at the first byte of no word */
		if (carry && ~m && (st = ts_word(c, s, n, ws, base + (size_t)__builtin_ctzll(~m))) !=
		                       WARD_OK)
			goto done;
		carry = m >> 63;
		for (; starts; starts &= starts - 1) {
			size_t b = (size_t)__builtin_ctzll(starts);
			uint64_t rest = ~m >> b;
			if (!rest) { /* runs to the end of the block */
				ws = base + b;
				continue;
			}
			size_t e = b + (size_t)__builtin_ctzll(rest);
			if ((st = ts_word(c, s, n, base + b, base + e)) != WARD_OK)
				goto done;
		}
	}
	if (carry && (st = ts_word(c, s, n, ws, n)) != WARD_OK)
		goto done;
	if (!c->ts_ned)
		goto done;
	size_t need = n + 1;
	for (size_t i = 0; i < c->ts_ned; i++)
		need += strlen(c->ts_ed[i].word);
	if ((st = ts_grow((void **)&c->ts_buf, &c->ts_cap, need, 1)) != WARD_OK)
		goto done;
	for (size_t i = 0; i < c->ts_ned; i++) {
		ts_edit *e = &c->ts_ed[i];
		size_t tl = strlen(e->word);
		memcpy(c->ts_buf + o, s + copied, e->from - copied);
		o += e->from - copied;
		e->to = o;
		memcpy(c->ts_buf + o, e->word, tl);
		o += tl;
		e->to_end = o;
		copied = e->from_end;
	}
	memcpy(c->ts_buf + o, s + copied, n - copied);
	o += n - copied;
	*outlen = o;
done:
	return st;
}

/* Maps an offset of the expanded text back to the text as written: a start inside an
 * expansion to the start of its short form, an end inside one to the short form's end. */
static size_t ts_map(const ward_conv *c, size_t pos, bool is_end)
{
	size_t lo = 0, hi = c->ts_ned;
	/* the last edit that starts before pos (at or before, for a start) */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (is_end ? c->ts_ed[mid].to < pos : c->ts_ed[mid].to <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return pos;
	const ts_edit *e = &c->ts_ed[lo - 1];
	if (is_end ? pos <= e->to_end : pos < e->to_end)
		return is_end ? e->from_end : e->from;
	return e->from_end + (pos - e->to_end);
}

ward_status ward_conv_new(const ward_engine *e, const ward_conv_config *cfg, ward_conv **out)
{
	ward_status st = WARD_OK;
	ward_conv *c = NULL;
	*out = NULL;
	if (!(c = calloc(1, sizeof *c))) {
		st = WARD_ENOMEM;
		goto done;
	}
	if (cfg)
		c->cfg = *cfg;
	else
		ward_conv_config_default(&c->cfg);
	if (c->cfg.max_participants < 2)
		c->cfg.max_participants = 2;
	c->e = e;
	c->now = -1;
	c->prev_sender = SIZE_MAX;
	c->tabcap = 64;
	if (!(c->tab = calloc(c->tabcap, sizeof *c->tab)) ||
	    !(c->f = malloc(MAX_FINDINGS_PER_MESSAGE * sizeof *c->f))) {
		st = WARD_ENOMEM;
		goto done;
	}
	if (e && (st = ward_scanner_new(e, &c->sc)) != WARD_OK)
		goto done;
	ts_init(c);
	*out = c;
	c = NULL;
done:
	ward_conv_free(c);
	return st;
}

void ward_conv_free(ward_conv *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->np; i++) {
		free(c->parties[i].name);
		free(c->parties[i].ev);
	}
	free(c->parties);
	free(c->tab);
	free(c->order);
	free(c->f);
	free(c->ts_buf);
	free(c->ts_ed);
	ward_scanner_free(c->sc);
	free(c);
}

size_t ward_conv_alert_count(const ward_conv *c)
{
	return c ? c->nalerts : 0;
}

const ward_conv_alert *ward_conv_alert_get(const ward_conv *c, size_t i)
{
	return c && i < c->nalerts ? &c->parties[c->order[i]].alert : NULL;
}

uint64_t ward_conv_message_count(const ward_conv *c)
{
	return c ? c->nmsg : 0;
}

/* FNV-1a, for the party table. */
static uint32_t hash_name(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static ward_status tab_grow(ward_conv *c)
{
	size_t cap = c->tabcap * 2;
	uint32_t *t = calloc(cap, sizeof *t);
	if (!t)
		return WARD_ENOMEM;
	for (size_t i = 0; i < c->np; i++) {
		const char *nm = c->parties[i].name;
		size_t k = hash_name(nm, strlen(nm)) & (cap - 1);
		while (t[k])
			k = (k + 1) & (cap - 1);
		t[k] = (uint32_t)i + 1;
	}
	free(c->tab);
	c->tab = t;
	c->tabcap = cap;
	return WARD_OK;
}

/* The party named [name, name+n), created if new.  Beyond max_participants, new names share
 * one slot.  Names with NUL bytes are kept up to the NUL. */
static ward_status party_of(ward_conv *c, const char *name, size_t n, size_t *out)
{
	ward_status st = WARD_OK;
	char *copy = NULL;
	const char *nul = memchr(name, '\0', n);
	if (nul)
		n = (size_t)(nul - name);
	if (n == 0) {
		name = UNKNOWN_SENDER;
		n = strlen(name);
	}
	if (c->np >= c->cfg.max_participants - 1) {
		name = OVERFLOW_SENDER;
		n = strlen(name);
	}
	/* most messages come from one of the two people of the message before: no hashing */
	size_t near[2] = {c->prev_sender, SIZE_MAX};
	if (near[0] != SIZE_MAX)
		near[1] = c->parties[near[0]].last_to;
	for (size_t i = 0; i < 2; i++) {
		const party *q = near[i] != SIZE_MAX ? &c->parties[near[i]] : NULL;
		if (q && q->name_len == n && memcmp(q->name, name, n) == 0) {
			*out = near[i];
			goto done;
		}
	}
	size_t k = hash_name(name, n) & (c->tabcap - 1);
	while (c->tab[k]) {
		const party *q = &c->parties[c->tab[k] - 1];
		if (q->name_len == n && memcmp(q->name, name, n) == 0) {
			*out = c->tab[k] - 1;
			goto done;
		}
		k = (k + 1) & (c->tabcap - 1);
	}
	if (c->np == c->capp) {
		size_t cap = c->capp ? c->capp * 2 : 8;
		party *p = realloc(c->parties, cap * sizeof *p);
		if (!p) {
			st = WARD_ENOMEM;
			goto done;
		}
		c->parties = p;
		c->capp = cap;
		/* alerts point into parties: refresh their evidence and name pointers below */
	}
	if (!(copy = malloc(n + 1))) {
		st = WARD_ENOMEM;
		goto done;
	}
	memcpy(copy, name, n);
	copy[n] = '\0';
	party *p = &c->parties[c->np];
	memset(p, 0, sizeof *p);
	p->name = copy;
	p->name_len = n;
	copy = NULL;
	p->ref_when = -1;
	p->last_to = SIZE_MAX;
	for (size_t i = 0; i < NRECIP; i++)
		p->recip[i].party = SIZE_MAX;
	c->tab[k] = (uint32_t)c->np + 1;
	*out = c->np++;
	if (c->np * 2 > c->tabcap)
		st = tab_grow(c);
done:
	free(copy);
	return st;
}

/* Brings p's values to message idx and time now. */
static void decay(const ward_conv *c, party *p, uint64_t idx, int64_t now)
{
	double f = 1;
	if (idx > p->ref_msg && c->cfg.half_life_messages > 0)
		f *= exp2(-(double)(idx - p->ref_msg) / c->cfg.half_life_messages);
	if (now >= 0 && p->ref_when >= 0 && now > p->ref_when && c->cfg.half_life_seconds > 0)
		f *= exp2(-(double)(now - p->ref_when) / c->cfg.half_life_seconds);
	if (f < 1)
		for (int s = 0; s < WARD_STAGE_COUNT; s++)
			p->v[s] *= f;
	p->ref_msg = idx;
	if (now >= 0)
		p->ref_when = now;
}

static void note_recipient(party *p, size_t to)
{
	size_t weakest = 0;
	for (size_t i = 0; i < NRECIP; i++) {
		if (p->recip[i].party == to) {
			p->recip[i].n++;
			return;
		}
		if (p->recip[i].n < p->recip[weakest].n)
			weakest = i;
	}
	p->recip[weakest].party = to;
	p->recip[weakest].n = 1;
}

static ward_status add_evidence(const ward_conv *c, party *p, const ward_conv_evidence *ev)
{
	for (size_t i = p->nev; i-- > 0 && p->ev[i].message == ev->message;)
		if (p->ev[i].rule == ev->rule && p->ev[i].stage == ev->stage)
			return WARD_OK;
	if (p->nev >= c->cfg.max_evidence) {
		p->alert.evidence_dropped++;
		return WARD_OK;
	}
	if (p->nev == p->capev) {
		size_t cap = p->capev ? p->capev * 2 : 8;
		if (cap > c->cfg.max_evidence)
			cap = c->cfg.max_evidence;
		ward_conv_evidence *n = realloc(p->ev, cap * sizeof *n);
		if (!n)
			return WARD_ENOMEM;
		p->ev = n;
		p->capev = cap;
	}
	p->ev[p->nev++] = *ev;
	return WARD_OK;
}

/* The level p's values reach now, and the score. */
static ward_conv_level evaluate(const ward_conv *c, const party *p, double *score)
{
	const ward_conv_config *k = &c->cfg;
	double sum = 0;
	unsigned nst = 0, groups = 0, ng = 0;
	for (int s = 0; s < WARD_STAGE_COUNT; s++) {
		double v = p->v[s] < k->stage_cap ? p->v[s] : k->stage_cap;
		sum += v;
		if (p->v[s] >= k->present) {
			nst++;
			groups |= 1u << stage_group[s];
		}
	}
	for (unsigned g = groups; g; g &= g - 1)
		ng++;
	*score = sum;
	if (sum >= k->high && nst >= k->high_stages && ng >= k->high_groups)
		return WARD_LEVEL_HIGH;
	if (sum >= k->medium && nst >= k->medium_stages && ng >= k->medium_groups)
		return WARD_LEVEL_MEDIUM;
	if (sum >= k->low && nst >= k->low_stages)
		return WARD_LEVEL_LOW;
	return WARD_LEVEL_NONE;
}

static void refresh_pointers(ward_conv *c, size_t pi);

/* Refreshes p's alert from its state; *raised when the level rose. */
static ward_status update_alert(ward_conv *c, size_t pi, const ward_chat_message *m,
                                const ward_conv_alert **raised)
{
	party *p = &c->parties[pi];
	double score;
	ward_conv_level lv = evaluate(c, p, &score);
	ward_conv_alert *a = &p->alert;
	if (lv == WARD_LEVEL_NONE && !p->alerted)
		return WARD_OK;
	if (!p->alerted) {
		size_t *o = realloc(c->order, (c->nalerts + 1) * sizeof *o);
		if (!o)
			return WARD_ENOMEM;
		c->order = o;
		c->order[c->nalerts++] = pi;
		p->alerted = true;
		a->first_message = m->index;
		a->first_line = m->line;
	}
	if (lv > a->level) {
		for (int l = (int)a->level + 1; l <= (int)lv; l++)
			a->level_message[l] = m->index;
		a->level = lv;
		if (raised)
			*raised = a;
	}
	if (score > a->score)
		a->score = score;
	memcpy(a->stage_score, p->v, sizeof a->stage_score);
	/* the area: grooming unless another area's findings weigh more */
	ward_area best = WARD_AREA_GROOMING;
	for (int ar = 0; ar < WARD_AREA_COUNT; ar++)
		if (p->area_w[ar] > p->area_w[best])
			best = (ward_area)ar;
	a->area = best;
	refresh_pointers(c, pi);
	return WARD_OK;
}

/* Sets the pointers and counts in p's alert from its state. */
static void refresh_pointers(ward_conv *c, size_t pi)
{
	party *p = &c->parties[pi];
	size_t best = SIZE_MAX;
	uint64_t bn = 0;
	for (size_t r = 0; r < NRECIP; r++)
		if (p->recip[r].party != SIZE_MAX && p->recip[r].n > bn) {
			bn = p->recip[r].n;
			best = p->recip[r].party;
		}
	p->alert.sender = p->name;
	p->alert.recipient = best != SIZE_MAX ? c->parties[best].name : "";
	p->alert.evidence = p->ev;
	p->alert.nevidence = p->nev;
}

/* The model's step: findings c->f[0..nf) of message m. */
static ward_status model_update(ward_conv *c, const ward_chat_message *m,
                                const ward_conv_alert **raised)
{
	ward_status st = WARD_OK;
	size_t from, to = SIZE_MAX;
	if (raised)
		*raised = NULL;
	if (c->nmsg && m->index < c->next_index) {
		st = WARD_EINVAL; /* messages must come in order */
		goto done;
	}
	c->next_index = m->index + 1;
	c->nmsg++;
	if (m->when >= 0)
		c->now = m->when;
	if ((st = party_of(c, m->from, m->from_len, &from)) != WARD_OK)
		goto done;
	if (m->to_len) {
		if ((st = party_of(c, m->to, m->to_len, &to)) != WARD_OK)
			goto done;
	} else if (c->prev_sender != SIZE_MAX && c->prev_sender != from) {
		to = c->prev_sender;
	} else {
		to = c->parties[from].last_to;
	}
	if (to == from)
		to = SIZE_MAX;
	c->parties[from].last_to = to;
	c->prev_sender = from;
	if (to != SIZE_MAX)
		note_recipient(&c->parties[from], to);
	for (size_t i = 0; i < c->nf; i++) {
		const ward_rule_info *ri = c->f[i].rule;
		int stage = ri->stage ? ward_stage_from_name(ri->stage) : -1;
		size_t target = from;
		/* the same rule twice in one message counts once */
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup |= c->f[j].rule == ri;
		if (dup)
			continue;
		if (stage == WARD_STAGE_PERSONAL_DETAILS) {
			if (to == SIZE_MAX)
				continue; /* given to nobody we know of */
			target = to;
		}
		party *p = &c->parties[target];
		decay(c, p, m->index, c->now);
		if ((unsigned)ri->area < WARD_AREA_COUNT && stage != WARD_STAGE_PERSONAL_DETAILS)
			p->area_w[ri->area] += ri->weight;
		p->touched = true;
		if (stage < 0)
			continue;
		p->v[stage] += ri->weight;
		if (p->v[stage] > 2 * c->cfg.stage_cap)
			p->v[stage] = 2 * c->cfg.stage_cap;
		p->alert.stages |= 1u << stage;
		ward_conv_evidence ev = {
			.stage = (ward_stage)stage,
			.rule = ri,
			.message = m->index,
			.line = c->f[i].line,
			.start = c->f[i].start,
			.end = c->f[i].end,
			.from_other = target != from,
		};
		if ((st = add_evidence(c, p, &ev)) != WARD_OK)
			goto done;
	}
	/* only the sender and the recipient can have changed */
	size_t who[2] = {from, to};
	for (size_t k = 0; k < 2; k++) {
		if (who[k] == SIZE_MAX || !c->parties[who[k]].touched)
			continue;
		c->parties[who[k]].touched = false;
		if ((st = update_alert(c, who[k], m, raised)) != WARD_OK)
			goto done;
	}
	if (c->parties[from].alerted)
		refresh_pointers(c, from);
done:
	return st;
}

/* Hands on a finding at [start, end) of the message's text (excerpt as given): to the
 * model's list of this message's findings and to the caller's callback. */
static int deliver(ward_conv *c, const ward_finding *f, uint64_t start, uint64_t end,
                   const ward_finding *excerpt_of)
{
	const ward_chat_message *m = c->msg;
	ward_finding g = *f;
	g.excerpt = excerpt_of->excerpt;
	g.excerpt_len = excerpt_of->excerpt_len;
	g.excerpt_match = excerpt_of->excerpt_match;
	if (m->text_verbatim) {
		g.start = m->text_start + start;
		g.end = m->text_start + end;
		g.line = m->line + f->line - 1;
	} else {
		g.start = m->start;
		g.end = m->end;
		g.line = m->line;
	}
	/* the second reading of a message in text speak: what the first found is found once */
	for (size_t j = 0; j < c->ts_nf0; j++)
		if (c->f[j].rule == f->rule && c->f[j].start <= g.end && g.start <= c->f[j].end)
			return 0;
	if (c->nf < MAX_FINDINGS_PER_MESSAGE) {
		c->f[c->nf].rule = f->rule;
		c->f[c->nf].start = g.start;
		c->f[c->nf].end = g.end;
		c->f[c->nf].line = g.line;
		c->nf++;
	}
	if (c->user_cb)
		return c->user_cb(&g, c->user_ctx);
	return 0;
}

static int on_finding(const ward_finding *f, void *ctx)
{
	return deliver(ctx, f, f->start, f->end, f);
}

/* A finding of the expanded reading: its offsets and excerpt are the text's as written. */
static int on_finding_ts(const ward_finding *f, void *ctx)
{
	ward_conv *c = ctx;
	size_t start = ts_map(c, (size_t)f->start, false), end = ts_map(c, (size_t)f->end, true);
	ward_finding x;
	if (end < start)
		end = start;
	text_excerpt(c->msg->text, c->msg->text_len, start, end, &x);
	return deliver(c, f, start, end, &x);
}

ward_status ward_conv_add_message(ward_conv *c, const ward_chat_message *m, ward_finding_cb cb,
                                  void *ctx, const ward_conv_alert **raised)
{
	ward_status st;
	if (raised)
		*raised = NULL;
	if (!c || !m || !c->sc)
		return WARD_EINVAL;
	c->nf = 0;
	c->ts_nf0 = 0;
	c->msg = m;
	c->user_cb = cb;
	c->user_ctx = ctx;
	st = ward_scan(c->sc, m->text, m->text_len, on_finding, c);
	if (st == WARD_OK && m->text_len <= WARD_CHAT_MAX_TEXT) {
		size_t xl = 0;
		if ((st = ts_expand(c, m->text, m->text_len, &xl)) == WARD_OK && xl) {
			c->ts_nf0 = c->nf;
			st = ward_scan(c->sc, c->ts_buf, xl, on_finding_ts, c);
		}
	}
	c->ts_nf0 = 0;
	c->msg = NULL;
	if (st != WARD_OK)
		return st;
	return model_update(c, m, raised);
}

ward_status ward_conv_add_findings(ward_conv *c, const ward_chat_message *m,
                                   const ward_rule_info *const *rules, const uint64_t *starts,
                                   size_t n, const ward_conv_alert **raised)
{
	if (raised)
		*raised = NULL;
	if (!c || !m || (n && !rules))
		return WARD_EINVAL;
	c->nf = 0;
	for (size_t i = 0; i < n && c->nf < MAX_FINDINGS_PER_MESSAGE; i++) {
		if (!rules[i])
			return WARD_EINVAL;
		c->f[c->nf].rule = rules[i];
		c->f[c->nf].start = starts ? starts[i] : m->start;
		c->f[c->nf].end = starts ? starts[i] : m->end;
		c->f[c->nf].line = m->line;
		c->nf++;
	}
	return model_update(c, m, raised);
}

ward_status ward_conv_scan_chat(const ward_engine *e, const ward_conv_config *cfg,
                                const char *buf, size_t len, ward_chat_format fmt,
                                ward_finding_cb findings, void *ctx, ward_conv **out,
                                ward_chat_stats *stats, ward_diag *diag)
{
	ward_status st;
	ward_chat_reader *r = NULL;
	ward_conv *c = NULL;
	ward_chat_message m;
	*out = NULL;
	if (stats)
		memset(stats, 0, sizeof *stats);
	if ((st = ward_chat_reader_new(buf, len, fmt, &r, diag)) != WARD_OK)
		goto done;
	if ((st = ward_conv_new(e, cfg, &c)) != WARD_OK)
		goto done;
	while ((st = ward_chat_next(r, &m)) == WARD_OK)
		if ((st = ward_conv_add_message(c, &m, findings, ctx, NULL)) != WARD_OK)
			goto done;
	if (st == WARD_ENOENT)
		st = WARD_OK;
done:
	if (stats && r)
		*stats = *ward_chat_reader_stats(r);
	ward_chat_reader_free(r);
	*out = c;
	return st;
}
