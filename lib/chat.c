/*
 * chat.c: readers for the chat exports a school has.
 *
 * WhatsApp text exports ("[dd/mm/yyyy, hh:mm:ss] Name: text" and "dd/mm/yyyy, hh:mm - Name:
 * text", with multi-line messages), JSON Lines, CSV with a header, and plain "[time] name: text"
 * lines.  The input is one buffer in memory; a reader walks it once and never copies more than
 * one message.  Messages keep their line number and byte offsets in the file.  Input that is
 * broken (bad dates, missing names, huge messages, bytes that are not UTF-8, lines that are
 * not messages) is read as far as it makes sense and counted in ward_chat_stats.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_int.h"

#define DETECT_BYTES ((size_t)64 << 10)
#define DETECT_LINES 64
#define JSON_MAX_DEPTH 32
#define CSV_MAX_COLS 256

enum { F_TIME = 0, F_FROM, F_TO, F_TEXT, F_COUNT };

struct ward_chat_reader {
	const char *buf;
	size_t len, pos;
	uint64_t line;        /* line number of buf[pos] */
	ward_chat_format fmt;
	ward_chat_stats st;
	uint64_t index;
	char *text;           /* decoded text (JSON, CSV), WARD_CHAT_MAX_TEXT bytes */
	char field[3][WARD_CHAT_MAX_NAME + WARD_CHAT_MAX_TIME]; /* decoded time, from, to */
	int col[F_COUNT];     /* CSV: column of each field, or -1 */
	char delim;           /* CSV delimiter */
};

static const char *const format_names[WARD_CHAT_FORMAT_COUNT] = {"auto", "whatsapp", "jsonl",
                                                                 "csv", "plain"};

const char *ward_chat_format_name(ward_chat_format f)
{
	return (unsigned)f < WARD_CHAT_FORMAT_COUNT ? format_names[f] : "?";
}

int ward_chat_format_from_name(const char *name)
{
	for (int i = 0; name && i < WARD_CHAT_FORMAT_COUNT; i++)
		if (strcmp(name, format_names[i]) == 0)
			return i;
	return -1;
}

/* ---------- small helpers ---------- */

/* The line starting at pos: [*ls, *le) without its "\r\n" or "\n"; returns the offset just past
 * the line's end. */
static size_t line_at(const char *buf, size_t len, size_t pos, size_t *le)
{
	const char *nl = memchr(buf + pos, '\n', len - pos);
	size_t end = nl ? (size_t)(nl - buf) : len;
	size_t next = nl ? end + 1 : len;
	if (end > pos && buf[end - 1] == '\r')
		end--;
	*le = end;
	return next;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads 1 to max digits at *p (below e); returns -1 if none. */
static int digits(const char **p, const char *e, int max)
{
	int v = 0, n = 0;
	while (*p < e && n < max && is_digit(**p)) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n ? v : -1;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int64_t make_time(int y, int mo, int d, int h, int mi, int s)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	return days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
}

/* Skips one space, U+00A0 or U+202F (newer exports put a narrow space before "am"). */
static bool skip_space(const char **p, const char *e)
{
	if (*p < e && **p == ' ') {
		(*p)++;
		return true;
	}
	if (e - *p >= 2 && (unsigned char)(*p)[0] == 0xc2 && (unsigned char)(*p)[1] == 0xa0) {
		*p += 2;
		return true;
	}
	if (e - *p >= 3 && (unsigned char)(*p)[0] == 0xe2 && (unsigned char)(*p)[1] == 0x80 &&
	    (unsigned char)(*p)[2] == 0xaf) {
		*p += 3;
		return true;
	}
	return false;
}

/* "hh:mm[:ss][ am|pm|a.m.|p.m.]" at *p.  Returns seconds of the day, or -1 (the syntax is
 * still consumed as far as it matched, so callers can tell a bad time from no time). */
static int parse_clock(const char **p, const char *e, bool *syntax)
{
	int h = digits(p, e, 2), m = -1, s = 0;
	*syntax = false;
	if (h < 0 || *p >= e || **p != ':')
		return -1;
	(*p)++;
	if (e - *p < 2 || !is_digit((*p)[0]) || !is_digit((*p)[1]))
		return -1;
	m = digits(p, e, 2);
	if (*p < e && **p == ':') {
		(*p)++;
		if ((s = digits(p, e, 2)) < 0)
			return -1;
	}
	*syntax = true;
	const char *q = *p;
	skip_space(&q, e);
	if (q < e && (*q == 'a' || *q == 'A' || *q == 'p' || *q == 'P')) {
		bool pm = *q == 'p' || *q == 'P';
		const char *r = q + 1;
		if (r < e && *r == '.')
			r++;
		if (r < e && (*r == 'm' || *r == 'M')) {
			r++;
			if (r < e && *r == '.')
				r++;
			*p = r;
			if (h < 1 || h > 12)
				return -1;
			h = h % 12 + (pm ? 12 : 0);
		}
	}
	if (h > 23 || m > 59 || s > 60)
		return -1;
	return h * 3600 + m * 60 + s;
}

/* "d/m/y" (separators / . -) at *p.  Fills y, mo, d; returns false if it is not a date's
 * shape.  Days above 12 in the second place read as month/day (US exports). */
static bool parse_dmy(const char **p, const char *e, int *y, int *mo, int *d)
{
	const char *q = *p;
	int a = digits(&q, e, 2);
	if (a < 0 || q >= e || (*q != '/' && *q != '.' && *q != '-'))
		return false;
	char sep = *q++;
	int b = digits(&q, e, 2);
	if (b < 0 || q >= e || *q != sep)
		return false;
	q++;
	const char *ys = q;
	int c = digits(&q, e, 4);
	if (c < 0 || (q - ys != 2 && q - ys != 4))
		return false;
	if (q - ys == 2)
		c += 2000;
	*y = c;
	*d = a;
	*mo = b;
	if (b > 12 && a <= 12) {
		*d = b;
		*mo = a;
	}
	*p = q;
	return true;
}

int64_t chat_parse_time(const char *s, size_t n)
{
	const char *p = s, *e = s + n;
	int y, mo, d, sec;
	bool syn;
	while (p < e && *p == ' ')
		p++;
	if (p == e)
		return -1;
	/* ISO 8601: yyyy-mm-dd[T ]hh:mm[:ss][.frac][Z|+hh:mm] */
	if (e - p >= 10 && is_digit(p[0]) && is_digit(p[3]) && p[4] == '-') {
		y = digits(&p, e, 4);
		if (p >= e || *p++ != '-' || (mo = digits(&p, e, 2)) < 0 || p >= e || *p++ != '-' ||
		    (d = digits(&p, e, 2)) < 0)
			return -1;
		sec = 0;
		if (p < e && (*p == 'T' || *p == ' ')) {
			p++;
			if ((sec = parse_clock(&p, e, &syn)) < 0)
				return -1;
		}
		return make_time(y, mo, d, 0, 0, 0) < 0 ? -1 : make_time(y, mo, d, 0, 0, 0) + sec;
	}
	if (parse_dmy(&p, e, &y, &mo, &d)) {
		if (p < e && *p == ',')
			p++;
		while (p < e && *p == ' ')
			p++;
		sec = 0;
		if (p < e && (sec = parse_clock(&p, e, &syn)) < 0)
			return -1;
		int64_t t = make_time(y, mo, d, 0, 0, 0);
		return t < 0 ? -1 : t + sec;
	}
	/* a clock alone: seconds of the day */
	const char *q = p;
	if ((sec = parse_clock(&q, e, &syn)) >= 0)
		return sec;
	/* seconds (or milliseconds) since 1970 */
	int64_t v = 0;
	size_t nd = 0;
	while (p < e && is_digit(*p) && nd < 16) {
		v = v * 10 + (*p++ - '0');
		nd++;
	}
	if (nd >= 9 && (p == e || *p == '.')) {
		if (v > 100000000000LL)
			v /= 1000;
		return v;
	}
	return -1;
}

/* A cheap check that s is UTF-8 (for the stats; the engine copes with anything). */
static bool utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	while (p < e) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		size_t k = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		if (k == 0 || (size_t)(e - p) < k || (k == 2 && *p < 0xc2))
			return false;
		for (size_t i = 1; i < k; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += k;
	}
	return true;
}

/* Cuts n to at most cap bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t cap)
{
	if (n <= cap)
		return n;
	size_t k = cap;
	while (k > 0 && cap - k < 4 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	return k;
}

/* ---------- WhatsApp and plain line headers ---------- */

typedef struct hdr {
	size_t time_s, time_e;  /* within the line */
	size_t name_s, name_e;
	size_t text_s;
	bool system;            /* a header with no "Name: " (system line) */
	bool time_ok;
	int64_t when;
} hdr;

/* Finds ": " within the first WARD_CHAT_MAX_NAME bytes of [p, e): the end of a name. */
static const char *name_end(const char *p, const char *e)
{
	const char *lim = e - p > WARD_CHAT_MAX_NAME + 2 ? p + WARD_CHAT_MAX_NAME + 2 : e;
	for (const char *q = p; q + 1 < lim; q++)
		if (q[0] == ':' && q[1] == ' ')
			return q;
	/* a message with nothing after the colon */
	if (lim == e && e > p && e[-1] == ':')
		return e - 1;
	return NULL;
}

/* Fills h from the name part of a line, [p, e) starting just after the time. */
static void hdr_name(hdr *h, const char *line, const char *p, const char *e)
{
	const char *ne = name_end(p, e);
	if (!ne) {
		h->system = true;
		h->name_s = h->name_e = h->text_s = (size_t)(p - line);
		return;
	}
	h->system = false;
	h->name_s = (size_t)(p - line);
	h->name_e = (size_t)(ne - line);
	h->text_s = (size_t)(ne - line) + (ne + 1 < e ? 2 : 1);
}

/* Is [line, e) a WhatsApp message header?  Both export forms. */
static bool wa_header(const char *line, const char *e, hdr *h)
{
	const char *p = line;
	int y, mo, d, sec;
	bool bracket = false, syn;
	if (e - p >= 3 && (unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x80 &&
	    (unsigned char)p[2] == 0x8e)
		p += 3; /* left-to-right mark */
	if (p < e && *p == '[') {
		bracket = true;
		p++;
	}
	h->time_s = (size_t)(p - line);
	if (!parse_dmy(&p, e, &y, &mo, &d) || p >= e || *p != ',')
		return false;
	p++;
	if (!skip_space(&p, e))
		return false;
	sec = parse_clock(&p, e, &syn);
	if (!syn)
		return false;
	h->time_e = (size_t)(p - line);
	if (bracket) {
		if (p >= e || *p != ']')
			return false;
		p++;
		if (!skip_space(&p, e))
			return false;
	} else {
		if (!skip_space(&p, e) || p >= e || *p != '-')
			return false;
		p++;
		if (!skip_space(&p, e))
			return false;
	}
	int64_t day = make_time(y, mo, d, 0, 0, 0);
	h->time_ok = day >= 0 && sec >= 0;
	h->when = h->time_ok ? day + sec : -1;
	hdr_name(h, line, p, e);
	return true;
}

/* Is [line, e) a plain "[time] name: text" header? */
static bool plain_header(const char *line, const char *e, hdr *h)
{
	const char *p = line;
	if (p >= e || *p != '[')
		return false;
	p++;
	const char *lim = e - p > WARD_CHAT_MAX_TIME ? p + WARD_CHAT_MAX_TIME : e;
	const char *close = memchr(p, ']', (size_t)(lim - p));
	if (!close || close == p || close + 1 >= e || close[1] != ' ')
		return false;
	h->time_s = (size_t)(p - line);
	h->time_e = (size_t)(close - line);
	h->when = chat_parse_time(p, (size_t)(close - p));
	h->time_ok = h->when >= 0;
	hdr_name(h, line, close + 2, e);
	/* a plain line needs a name: without one it is text, not a header */
	return !h->system;
}

static bool line_header(ward_chat_format f, const char *line, const char *e, hdr *h)
{
	return f == WARD_CHAT_WHATSAPP ? wa_header(line, e, h) : plain_header(line, e, h);
}

/* ---------- a bounded JSON reader (one object a line) ---------- */

typedef struct jctx {
	const char *p, *e;
	int depth;
} jctx;

static void jws(jctx *j)
{
	while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Appends code point cp as UTF-8 to out (length *n, capacity cap); sets *trunc when full. */
static void put_cp(char *out, size_t *n, size_t cap, uint32_t cp, bool *trunc)
{
	char b[4];
	size_t k;
	if (cp < 0x80) {
		b[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (!out || *n + k > cap) {
		if (out)
			*trunc = true;
		return;
	}
	memcpy(out + *n, b, k);
	*n += k;
}

/* A JSON string at j->p (which is '"'), decoded into out (capacity cap; NULL to skip).
 * *raw_s, *raw_e get the raw contents; *escaped says whether any escape occurred. */
static bool jstring(jctx *j, char *out, size_t cap, size_t *n, bool *trunc, const char **raw_s,
                    bool *escaped)
{
	*n = 0;
	*trunc = false;
	*escaped = false;
	if (j->p >= j->e || *j->p != '"')
		return false;
	j->p++;
	*raw_s = j->p;
	while (j->p < j->e) {
		const char *run = j->p;
		while (j->p < j->e && *j->p != '"' && *j->p != '\\' && (unsigned char)*j->p >= 0x20)
			j->p++;
		if (out && j->p > run) {
			size_t k = (size_t)(j->p - run);
			if (*n + k > cap) {
				k = cap - *n;
				*trunc = true;
			}
			memcpy(out + *n, run, k);
			*n += k;
		}
		if (j->p >= j->e || (unsigned char)*j->p < 0x20)
			return false;
		if (*j->p == '"') {
			j->p++;
			return true;
		}
		/* an escape */
		*escaped = true;
		if (j->e - j->p < 2)
			return false;
		char c = j->p[1];
		j->p += 2;
		uint32_t cp;
		switch (c) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u': {
			int v = j->e - j->p >= 4 ? hex4(j->p) : -1;
			if (v < 0)
				return false;
			j->p += 4;
			cp = (uint32_t)v;
			if (cp >= 0xd800 && cp < 0xdc00 && j->e - j->p >= 6 && j->p[0] == '\\' &&
			    j->p[1] == 'u') {
				int lo = hex4(j->p + 2);
				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
					j->p += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd; /* a lone surrogate */
			break;
		}
		default:
			return false;
		}
		put_cp(out, n, cap, cp, trunc);
	}
	return false;
}

static bool jvalue(jctx *j);

static bool jskip_string(jctx *j)
{
	size_t n;
	bool t, esc;
	const char *rs;
	return jstring(j, NULL, 0, &n, &t, &rs, &esc);
}

/* Skips any JSON value (depth-limited). */
static bool jvalue(jctx *j)
{
	jws(j);
	if (j->p >= j->e)
		return false;
	char c = *j->p;
	if (c == '"')
		return jskip_string(j);
	if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';
		if (++j->depth > JSON_MAX_DEPTH)
			return false;
		j->p++;
		jws(j);
		if (j->p < j->e && *j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		for (;;) {
			if (c == '{') {
				jws(j);
				if (!jskip_string(j))
					return false;
				jws(j);
				if (j->p >= j->e || *j->p != ':')
					return false;
				j->p++;
			}
			if (!jvalue(j))
				return false;
			jws(j);
			if (j->p < j->e && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->e && *j->p == close) {
				j->p++;
				j->depth--;
				return true;
			}
			return false;
		}
	}
	/* number, true, false, null */
	const char *s = j->p;
	while (j->p < j->e && (is_digit(*j->p) || strchr("+-.eE", *j->p) ||
	                       (*j->p >= 'a' && *j->p <= 'z')))
		j->p++;
	if (j->p == s)
		return false;
	size_t n = (size_t)(j->p - s);
	if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0) ||
	    (n == 4 && memcmp(s, "null", 4) == 0))
		return true;
	return is_digit(*s) || *s == '-';
}

/* Which message field a key names, or -1. */
static int field_of(const char *k, size_t n)
{
	static const struct {
		const char *name;
		int f;
	} keys[] = {
		{"time", F_TIME},     {"timestamp", F_TIME}, {"date", F_TIME},    {"datetime", F_TIME},
		{"ts", F_TIME},       {"from", F_FROM},      {"sender", F_FROM},  {"author", F_FROM},
		{"user", F_FROM},     {"name", F_FROM},      {"to", F_TO},        {"recipient", F_TO},
		{"text", F_TEXT},     {"message", F_TEXT},   {"body", F_TEXT},    {"content", F_TEXT},
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strlen(keys[i].name) == n && strncasecmp(keys[i].name, k, n) == 0)
			return keys[i].f;
	return -1;
}

/* One JSON Lines record [p, e) into m.  Returns false if it is not an object with a text. */
static bool json_record(ward_chat_reader *r, const char *p, const char *e, size_t line_off,
                        ward_chat_message *m)
{
	jctx j = {p, e, 0};
	bool have[F_COUNT] = {false};
	jws(&j);
	if (j.p >= j.e || *j.p != '{')
		return false;
	j.p++;
	j.depth = 1;
	jws(&j);
	if (j.p < j.e && *j.p == '}')
		return false;
	for (;;) {
		char key[16];
		size_t kn;
		bool kt, esc;
		const char *rs;
		jws(&j);
		if (!jstring(&j, key, sizeof key, &kn, &kt, &rs, &esc))
			return false;
		int f = kt ? -1 : field_of(key, kn);
		jws(&j);
		if (j.p >= j.e || *j.p != ':')
			return false;
		j.p++;
		jws(&j);
		if (f >= 0 && !have[f] && j.p < j.e && *j.p == '"') {
			size_t n;
			bool trunc;
			char *out = f == F_TEXT ? r->text : r->field[f];
			size_t cap = f == F_TEXT ? WARD_CHAT_MAX_TEXT
			                         : f == F_TIME ? WARD_CHAT_MAX_TIME : WARD_CHAT_MAX_NAME;
			const char *raw;
			if (!jstring(&j, out, cap, &n, &trunc, &raw, &esc))
				return false;
			have[f] = true;
			if (f == F_TEXT) {
				m->text = r->text;
				m->text_len = utf8_cut(r->text, n, n);
				m->truncated = trunc;
				m->text_verbatim = !esc && !trunc;
				m->text_start = line_off + (uint64_t)(raw - p);
			} else if (f == F_TIME) {
				m->time = out;
				m->time_len = n;
			} else if (f == F_FROM) {
				m->from = out;
				m->from_len = n;
			} else {
				m->to = out;
				m->to_len = n;
			}
		} else if (f == F_TIME && !have[f] && j.p < j.e && (is_digit(*j.p) || *j.p == '-')) {
			const char *s = j.p;
			if (!jvalue(&j))
				return false;
			size_t n = (size_t)(j.p - s) < WARD_CHAT_MAX_TIME ? (size_t)(j.p - s)
			                                                  : WARD_CHAT_MAX_TIME;
			memcpy(r->field[F_TIME], s, n);
			m->time = r->field[F_TIME];
			m->time_len = n;
			have[f] = true;
		} else if (!jvalue(&j)) {
			return false;
		}
		jws(&j);
		if (j.p < j.e && *j.p == ',') {
			j.p++;
			continue;
		}
		if (j.p < j.e && *j.p == '}') {
			j.p++;
			break;
		}
		return false;
	}
	jws(&j);
	return j.p == j.e && have[F_TEXT];
}

/* ---------- CSV ---------- */

/* One CSV field at *pos: [*s, *e) raw contents (inside quotes when quoted); *quoted and
 * *doubled ("" inside) describe it.  Counts newlines in *nl.  Returns the delimiter or
 * newline that ended it: ',' (the delimiter), '\n', or 0 at the end of input. */
static char csv_field(const char *buf, size_t len, size_t *pos, char delim, size_t *s, size_t *e,
                      bool *quoted, bool *doubled, uint64_t *nl)
{
	size_t p = *pos;
	*quoted = *doubled = false;
	if (p < len && buf[p] == '"') {
		*quoted = true;
		p++;
		*s = p;
		for (;;) {
			const char *q = memchr(buf + p, '"', len - p);
			size_t stop = q ? (size_t)(q - buf) : len;
			for (const char *c = memchr(buf + p, '\n', stop - p); c;
			     c = memchr(c + 1, '\n', stop - (size_t)(c + 1 - buf)))
				(*nl)++;
			if (!q) { /* unterminated: the field runs to the end */
				*e = len;
				*pos = len;
				return 0;
			}
			p = stop + 1;
			if (p < len && buf[p] == '"') {
				*doubled = true;
				p++;
				continue;
			}
			*e = stop;
			break;
		}
		/* anything between the closing quote and the delimiter is ignored */
		while (p < len && buf[p] != delim && buf[p] != '\n')
			p++;
	} else {
		*s = p;
		while (p < len && buf[p] != delim && buf[p] != '\n')
			p++;
		*e = p;
		if (*e > *s && buf[*e - 1] == '\r')
			(*e)--;
	}
	if (p >= len) {
		*pos = len;
		return 0;
	}
	char c = buf[p] == '\n' ? '\n' : ',';
	if (c == '\n')
		(*nl)++;
	*pos = p + 1;
	return c;
}

/* Copies a CSV field into out (capacity cap), undoubling quotes; returns the length. */
static size_t csv_copy(const char *s, size_t n, bool doubled, char *out, size_t cap, bool *trunc)
{
	size_t o = 0;
	*trunc = false;
	for (size_t i = 0; i < n; i++) {
		if (doubled && s[i] == '"' && i + 1 < n && s[i + 1] == '"')
			i++;
		if (o == cap) {
			*trunc = true;
			break;
		}
		out[o++] = s[i];
	}
	return o;
}

/* Reads the header line at r->pos: the delimiter and which column holds which field. */
static ward_status csv_header(ward_chat_reader *r, ward_diag *diag)
{
	size_t le, next = line_at(r->buf, r->len, r->pos, &le);
	size_t counts[3] = {0, 0, 0};
	const char delims[3] = {',', ';', '\t'};
	for (size_t i = r->pos; i < le; i++)
		for (int k = 0; k < 3; k++)
			counts[k] += r->buf[i] == delims[k];
	r->delim = ',';
	if (counts[1] > counts[0] && counts[1] >= counts[2])
		r->delim = ';';
	else if (counts[2] > counts[0] && counts[2] > counts[1])
		r->delim = '\t';
	for (int f = 0; f < F_COUNT; f++)
		r->col[f] = -1;
	size_t pos = r->pos;
	uint64_t nl = 0;
	for (int col = 0; pos < next && col < CSV_MAX_COLS; col++) {
		size_t s, e;
		bool q, d;
		char c = csv_field(r->buf, next, &pos, r->delim, &s, &e, &q, &d, &nl);
		while (s < e && r->buf[s] == ' ')
			s++;
		while (e > s && r->buf[e - 1] == ' ')
			e--;
		int f = field_of(r->buf + s, e - s);
		if (f >= 0 && r->col[f] < 0)
			r->col[f] = col;
		if (c != r->delim && c != ',')
			break;
	}
	if (r->col[F_TEXT] < 0) {
		diag_set(diag, "", (unsigned)r->line, "the CSV header names no text column (text, message, "
		                            "body or content)");
		return WARD_EFORMAT;
	}
	r->pos = next;
	r->line++;
	r->st.lines++;
	return WARD_OK;
}

static bool csv_record(ward_chat_reader *r, ward_chat_message *m)
{
	bool got_text = false;
	for (int col = 0;; col++) {
		size_t s, e;
		bool q, d, trunc;
		uint64_t nl = 0;
		char c = csv_field(r->buf, r->len, &r->pos, r->delim, &s, &e, &q, &d, &nl);
		int f = -1;
		for (int k = 0; k < F_COUNT; k++)
			if (r->col[k] == col)
				f = k;
		if (f == F_TEXT) {
			size_t n = csv_copy(r->buf + s, e - s, d, r->text, WARD_CHAT_MAX_TEXT, &trunc);
			m->text = r->text;
			m->text_len = utf8_cut(r->text, n, n);
			m->truncated = trunc;
			m->text_verbatim = !d && !trunc;
			m->text_start = s;
			got_text = true;
		} else if (f >= 0) {
			size_t cap = f == F_TIME ? WARD_CHAT_MAX_TIME : WARD_CHAT_MAX_NAME;
			size_t n = csv_copy(r->buf + s, e - s, d, r->field[f], cap, &trunc);
			if (f == F_TIME) {
				m->time = r->field[f];
				m->time_len = n;
			} else if (f == F_FROM) {
				m->from = r->field[f];
				m->from_len = n;
			} else {
				m->to = r->field[f];
				m->to_len = n;
			}
		}
		r->line += nl;
		if (c != ',' && c != r->delim)
			break;
	}
	return got_text;
}

/* ---------- detection ---------- */

static bool json_line_ok(const char *p, const char *e)
{
	jctx j = {p, e, 0};
	jws(&j);
	if (j.p >= j.e || *j.p != '{' || !jvalue(&j))
		return false;
	jws(&j);
	if (j.p != j.e)
		return false;
	/* does it have a text key?  Look for one of the names as a key. */
	static const char *const tk[] = {"\"text\"", "\"message\"", "\"body\"", "\"content\""};
	for (size_t i = 0; i < 4; i++)
		if (memmem(p, (size_t)(e - p), tk[i], strlen(tk[i])))
			return true;
	return false;
}

ward_chat_format ward_chat_detect(const char *buf, size_t len, double *confidence)
{
	size_t n = len < DETECT_BYTES ? len : DETECT_BYTES;
	size_t pos = 0, sampled = 0, first_hdr[WARD_CHAT_FORMAT_COUNT];
	size_t count[WARD_CHAT_FORMAT_COUNT] = {0};
	ward_chat_format best = WARD_CHAT_AUTO;
	if (confidence)
		*confidence = 0;
	if (!buf)
		return WARD_CHAT_AUTO;
	if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	for (int f = 0; f < WARD_CHAT_FORMAT_COUNT; f++)
		first_hdr[f] = SIZE_MAX;
	/* CSV: the first line is a header naming a text column and a sender column */
	{
		ward_chat_reader r;
		memset(&r, 0, sizeof r);
		r.buf = buf;
		r.len = n;
		r.pos = pos;
		size_t le;
		line_at(buf, n, pos, &le);
		if (le > pos && buf[pos] != '{' && buf[pos] != '[' && csv_header(&r, NULL) == WARD_OK &&
		    r.col[F_FROM] >= 0 && memchr(buf + pos, r.delim, le - pos))
			best = WARD_CHAT_CSV;
	}
	while (pos < n && sampled < DETECT_LINES && best != WARD_CHAT_CSV) {
		size_t le, next = line_at(buf, n, pos, &le);
		if (next == n && n < len)
			break; /* a line cut by the sample's end */
		if (le > pos) {
			hdr h;
			if (wa_header(buf + pos, buf + le, &h) && !h.system) {
				count[WARD_CHAT_WHATSAPP]++;
				if (first_hdr[WARD_CHAT_WHATSAPP] == SIZE_MAX)
					first_hdr[WARD_CHAT_WHATSAPP] = sampled;
			} else if (wa_header(buf + pos, buf + le, &h)) {
				count[WARD_CHAT_WHATSAPP]++; /* system lines are WhatsApp too */
			}
			if (plain_header(buf + pos, buf + le, &h)) {
				count[WARD_CHAT_PLAIN]++;
				if (first_hdr[WARD_CHAT_PLAIN] == SIZE_MAX)
					first_hdr[WARD_CHAT_PLAIN] = sampled;
			}
			if (json_line_ok(buf + pos, buf + le)) {
				count[WARD_CHAT_JSONL]++;
				if (first_hdr[WARD_CHAT_JSONL] == SIZE_MAX)
					first_hdr[WARD_CHAT_JSONL] = sampled;
			}
			sampled++;
		}
		pos = next;
	}
	if (best == WARD_CHAT_CSV) {
		if (confidence)
			*confidence = 1;
		return best;
	}
	/* WhatsApp before plain: its bracket form is also a plain line */
	static const ward_chat_format order[] = {WARD_CHAT_WHATSAPP, WARD_CHAT_JSONL,
	                                         WARD_CHAT_PLAIN};
	for (size_t i = 0; i < 3; i++) {
		ward_chat_format f = order[i];
		/* the first message within the first few lines, and at least one line in five a
		 * message header (the rest may be lines of multi-line messages) unless the very
		 * first line is one (a long first message) */
		if (count[f] && first_hdr[f] < 5 && (count[f] * 5 >= sampled || first_hdr[f] == 0) &&
		    (best == WARD_CHAT_AUTO || count[f] > count[best])) {
			best = f;
		}
	}
	if (confidence && best != WARD_CHAT_AUTO && sampled)
		*confidence = (double)count[best] / (double)sampled;
	return best;
}

/* ---------- the reader ---------- */

ward_status ward_chat_reader_new(const char *buf, size_t len, ward_chat_format fmt,
                                 ward_chat_reader **out, ward_diag *diag)
{
	ward_status st = WARD_OK;
	ward_chat_reader *r = NULL;
	*out = NULL;
	if ((!buf && len) || (unsigned)fmt >= WARD_CHAT_FORMAT_COUNT) {
		st = WARD_EINVAL;
		goto done;
	}
	if ((uint64_t)len > WARD_CHAT_MAX_INPUT) {
		diag_set(diag, "", 0, "the export is larger than the limit of %llu bytes",
		         (unsigned long long)WARD_CHAT_MAX_INPUT);
		st = WARD_ETOOBIG;
		goto done;
	}
	if (len >= 2 && (((unsigned char)buf[0] == 0xff && (unsigned char)buf[1] == 0xfe) ||
	                 ((unsigned char)buf[0] == 0xfe && (unsigned char)buf[1] == 0xff))) {
		diag_set(diag, "", 1, "the export is UTF-16 text; convert it to UTF-8 first "
		                      "(iconv -f UTF-16 -t UTF-8)");
		st = WARD_EFORMAT;
		goto done;
	}
	if (fmt == WARD_CHAT_AUTO) {
		fmt = ward_chat_detect(buf, len, NULL);
		if (fmt == WARD_CHAT_AUTO) {
			diag_set(diag, "", 0, "not a chat export: no WhatsApp, JSON Lines, CSV or "
			                      "\"[time] name: text\" messages in the first lines");
			st = WARD_EFORMAT;
			goto done;
		}
	}
	if (!(r = calloc(1, sizeof *r)) || !(r->text = malloc(WARD_CHAT_MAX_TEXT))) {
		st = WARD_ENOMEM;
		goto done;
	}
	r->buf = buf ? buf : "";
	r->len = len;
	r->line = 1;
	r->fmt = fmt;
	r->st.format = fmt;
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		r->pos = 3;
	if (fmt == WARD_CHAT_CSV) {
		/* skip blank lines before the header */
		while (r->pos < r->len && (r->buf[r->pos] == '\n' || r->buf[r->pos] == '\r')) {
			if (r->buf[r->pos] == '\n')
				r->line++;
			r->pos++;
		}
		if ((st = csv_header(r, diag)) != WARD_OK)
			goto done;
	}
	*out = r;
	r = NULL;
done:
	ward_chat_reader_free(r);
	return st;
}

void ward_chat_reader_free(ward_chat_reader *r)
{
	if (!r)
		return;
	free(r->text);
	free(r);
}

const ward_chat_stats *ward_chat_reader_stats(const ward_chat_reader *r)
{
	return &r->st;
}

static void skipped(ward_chat_reader *r, uint64_t line)
{
	r->st.skipped++;
	if (!r->st.first_skipped)
		r->st.first_skipped = line;
}

/* WhatsApp and plain: a header line, then every following line that is not a header. */
static ward_status next_lines(ward_chat_reader *r, ward_chat_message *m)
{
	while (r->pos < r->len) {
		size_t ls = r->pos, le, next = line_at(r->buf, r->len, ls, &le);
		uint64_t line = r->line;
		hdr h;
		r->pos = next;
		r->line++;
		r->st.lines++;
		if (!line_header(r->fmt, r->buf + ls, r->buf + le, &h)) {
			if (le > ls)
				skipped(r, line);
			continue;
		}
		if (h.system) {
			r->st.system++;
			continue;
		}
		/* continuation lines */
		size_t text_end = le, msg_end = next;
		while (r->pos < r->len) {
			size_t ce, cn = line_at(r->buf, r->len, r->pos, &ce);
			hdr h2;
			if (line_header(r->fmt, r->buf + r->pos, r->buf + ce, &h2))
				break;
			if (ce > r->pos) {
				text_end = ce;
				msg_end = cn;
				m->end_line = r->line;
			}
			r->pos = cn;
			r->line++;
			r->st.lines++;
		}
		/* trailing blank lines belong to no message */
		while (text_end > ls + h.text_s &&
		       (r->buf[text_end - 1] == '\n' || r->buf[text_end - 1] == '\r'))
			text_end--;
		m->line = line;
		if (m->end_line < line)
			m->end_line = line;
		m->start = ls;
		m->end = msg_end;
		m->time = r->buf + ls + h.time_s;
		m->time_len = h.time_e - h.time_s;
		m->when = h.when;
		m->from = r->buf + ls + h.name_s;
		m->from_len = h.name_e - h.name_s;
		if (m->from_len > WARD_CHAT_MAX_NAME)
			m->from_len = WARD_CHAT_MAX_NAME;
		m->to = "";
		m->to_len = 0;
		size_t ts = ls + h.text_s;
		if (ts > text_end)
			ts = text_end;
		m->text = r->buf + ts;
		m->text_len = text_end - ts;
		m->text_start = ts;
		m->text_verbatim = 1;
		if (m->text_len > WARD_CHAT_MAX_TEXT) {
			m->text_len = utf8_cut(m->text, m->text_len, WARD_CHAT_MAX_TEXT);
			m->truncated = 1;
		}
		if (!h.time_ok)
			r->st.bad_time++;
		return WARD_OK;
	}
	return WARD_ENOENT;
}

static ward_status next_jsonl(ward_chat_reader *r, ward_chat_message *m)
{
	while (r->pos < r->len) {
		size_t ls = r->pos, le, next = line_at(r->buf, r->len, ls, &le);
		uint64_t line = r->line;
		r->pos = next;
		r->line++;
		r->st.lines++;
		size_t p = ls;
		while (p < le && (r->buf[p] == ' ' || r->buf[p] == '\t'))
			p++;
		if (p == le)
			continue;
		if (!json_record(r, r->buf + ls, r->buf + le, ls, m)) {
			skipped(r, line);
			memset(m, 0, sizeof *m);
			continue;
		}
		m->line = m->end_line = line;
		m->start = ls;
		m->end = next;
		m->when = m->time_len ? chat_parse_time(m->time, m->time_len) : -1;
		if (m->when < 0)
			r->st.bad_time++;
		return WARD_OK;
	}
	return WARD_ENOENT;
}

static ward_status next_csv(ward_chat_reader *r, ward_chat_message *m)
{
	while (r->pos < r->len) {
		size_t ls = r->pos, le;
		uint64_t line = r->line;
		line_at(r->buf, r->len, ls, &le);
		if (le == ls) { /* a blank line */
			r->pos = le < r->len ? le + 1 : r->len;
			if (r->pos > ls && r->buf[r->pos - 1] == '\n')
				r->line++;
			r->st.lines++;
			continue;
		}
		bool ok = csv_record(r, m);
		r->st.lines += r->line - line;
		if (!ok) {
			skipped(r, line);
			memset(m, 0, sizeof *m);
			continue;
		}
		m->line = line;
		m->end_line = r->line > line ? r->line - 1 : line;
		if (r->pos >= r->len && (r->len == 0 || r->buf[r->len - 1] != '\n'))
			m->end_line = r->line;
		m->start = ls;
		m->end = r->pos;
		m->when = m->time_len ? chat_parse_time(m->time, m->time_len) : -1;
		if (m->when < 0)
			r->st.bad_time++;
		return WARD_OK;
	}
	return WARD_ENOENT;
}

ward_status ward_chat_next(ward_chat_reader *r, ward_chat_message *m)
{
	ward_status st;
	memset(m, 0, sizeof *m);
	m->time = m->from = m->to = m->text = "";
	m->when = -1;
	switch (r->fmt) {
	case WARD_CHAT_JSONL: st = next_jsonl(r, m); break;
	case WARD_CHAT_CSV: st = next_csv(r, m); break;
	default: st = next_lines(r, m); break;
	}
	if (st != WARD_OK)
		return st;
	if (!m->time)
		m->time = "";
	if (!m->from)
		m->from = "";
	if (!m->to)
		m->to = "";
	if (!m->text)
		m->text = "";
	m->index = r->index++;
	r->st.messages++;
	if (!m->from_len)
		r->st.no_sender++;
	if (m->truncated)
		r->st.truncated++;
	if (!utf8_ok(m->text, m->text_len) || !utf8_ok(m->from, m->from_len))
		r->st.invalid_utf8++;
	return WARD_OK;
}

ward_status ward_chat_read(const char *buf, size_t len, ward_chat_format fmt, ward_chat_cb cb,
                           void *ctx, ward_chat_stats *stats, ward_diag *diag)
{
	ward_chat_reader *r = NULL;
	ward_chat_message m;
	ward_status st = ward_chat_reader_new(buf, len, fmt, &r, diag);
	if (st != WARD_OK)
		goto done;
	while ((st = ward_chat_next(r, &m)) == WARD_OK) {
		if (cb && cb(&m, ctx) != 0) {
			st = WARD_ESTOPPED;
			goto done;
		}
	}
	if (st == WARD_ENOENT)
		st = WARD_OK;
done:
	if (stats) {
		if (r)
			*stats = r->st;
		else
			memset(stats, 0, sizeof *stats);
	}
	ward_chat_reader_free(r);
	return st;
}
