/* url.c: URL canonicalisation, so that the usual tricks (case, escapes, IDNA, trailing dots,
 * userinfo, ports, numeric IPv4 forms, IPv6 literals, dot segments, doubled slashes) all lead
 * to one spelling before a list is consulted.  Follows the WHATWG URL parser where it matters
 * for a filter: what a browser would fetch is what ward looks up. */
#include <arpa/inet.h>
#include <idn2.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ward/url.h>

#include "url_int.h"

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Bytes a browser would escape in a path or query. */
static int must_escape(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '`' || c == '{' ||
	       c == '}' || c == '|' || c == '^' || c == '\\';
}

/* Bytes norm_escapes must look at: '%' and those must_escape says yes to, as a bitmap. */
static inline int special(unsigned char c)
{
	static const uint64_t m[4] = {0x50000025ffffffffull, 0xb800000150000000ull,
	                              0xffffffffffffffffull, 0xffffffffffffffffull};
	return (int)((m[c >> 6] >> (c & 63)) & 1);
}

static char *put_escape(char *o, unsigned char c)
{
	static const char hx[] = "0123456789ABCDEF";
	*o++ = '%';
	*o++ = hx[c >> 4];
	*o++ = hx[c & 15];
	return o;
}

/* Copies a path or query piece with safe percent-decoding: escapes of unreserved characters
 * are decoded, other escapes upper-cased, a lone '%' escaped, unsafe bytes escaped.  o has room
 * for 3 * n bytes. */
static char *norm_escapes(char *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!special(c)) {
			*o++ = (char)c;
			continue;
		}
		if (c == '%') {
			if (i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
			    hexval((unsigned char)s[i + 2]) >= 0) {
				unsigned char v =
				    (unsigned char)(hexval((unsigned char)s[i + 1]) * 16 +
				                    hexval((unsigned char)s[i + 2]));
				i += 2;
				if (is_unreserved(v))
					*o++ = (char)v;
				else
					o = put_escape(o, v);
			} else {
				o = put_escape(o, '%');
			}
		} else if (must_escape(c)) {
			o = put_escape(o, c);
		} else {
			*o++ = (char)c;
		}
	}
	return o;
}

/* Resolves dot segments and squeezes empty ones in the path at p (n bytes, starting '/'),
 * in place.  Returns the new length (at least 1: "/"). */
static size_t resolve_path(char *p, size_t n)
{
	size_t w = 0; /* output length; output always starts with '/' */
	size_t i = 0;
	int trailing = 0;
	p[w++] = '/';
	while (i < n) {
		while (i < n && p[i] == '/')
			i++;
		size_t s = i;
		while (i < n && p[i] != '/')
			i++;
		size_t len = i - s;
		if (len == 0) {
			trailing = 1;
			break;
		}
		trailing = i < n; /* a slash follows this segment */
		if (len == 1 && p[s] == '.') {
			trailing = 1;
			continue;
		}
		if (len == 2 && p[s] == '.' && p[s + 1] == '.') {
			/* drop the last output segment */
			if (w > 1) {
				w--; /* the slash after it */
				while (w > 1 && p[w - 1] != '/')
					w--;
			}
			trailing = 1;
			continue;
		}
		if (w > 1 && p[w - 1] != '/')
			p[w++] = '/';
		memmove(p + w, p + s, len);
		w += len;
	}
	if (trailing && p[w - 1] != '/')
		p[w++] = '/';
	return w;
}

/* WHATWG IPv4: one to four parts, each decimal, octal (leading 0) or hex (0x); the last part
 * fills the remaining bytes.  Returns 1 and *addr when host is an address, 0 when it is not
 * numeric, -1 when it looks numeric but is invalid. */
static int parse_ipv4(const char *h, size_t n, uint32_t *addr)
{
	uint64_t parts[4];
	int np = 0;
	size_t i = 0;
	/* only when the last label is numeric is the host an address */
	size_t ls = n;
	while (ls > 0 && h[ls - 1] != '.')
		ls--;
	const char *L = h + ls;
	size_t ll = n - ls;
	int numeric = ll > 0;
	if (ll >= 2 && L[0] == '0' && (L[1] == 'x' || L[1] == 'X')) {
		for (size_t k = 2; k < ll; k++)
			if (hexval((unsigned char)L[k]) < 0)
				numeric = 0;
	} else {
		for (size_t k = 0; k < ll; k++)
			if (L[k] < '0' || L[k] > '9')
				numeric = 0;
	}
	if (!numeric)
		return 0;
	while (i <= n) {
		size_t s = i;
		while (i < n && h[i] != '.')
			i++;
		if (i == s || np == 4)
			return -1;
		uint64_t v = 0;
		int base = 10;
		size_t k = s;
		if (i - s >= 2 && h[s] == '0' && (h[s + 1] == 'x' || h[s + 1] == 'X')) {
			base = 16;
			k += 2;
		} else if (i - s >= 2 && h[s] == '0') {
			base = 8;
			k += 1;
		}
		for (; k < i; k++) {
			int d = hexval((unsigned char)h[k]);
			if (d < 0 || d >= base)
				return -1;
			v = v * (uint64_t)base + (uint64_t)d;
			if (v > 0xffffffffull)
				return -1;
		}
		parts[np++] = v;
		i++;
	}
	uint32_t a = 0;
	for (int k = 0; k < np - 1; k++) {
		if (parts[k] > 255)
			return -1;
		a |= (uint32_t)parts[k] << (24 - 8 * k);
	}
	uint64_t last = parts[np - 1];
	if (last >= (1ull << (8 * (5 - np))))
		return -1;
	a |= (uint32_t)last;
	*addr = a;
	return 1;
}

static int host_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* Canonicalises the host h (n bytes, still escaped, any case) into out (cap bytes).  Returns
 * the length, or 0 when it is not a valid host; *is_ip gets 4 or 6 for an address. */
size_t url_canon_host(const char *h, size_t n, char *out, size_t cap, int *is_ip)
{
	char buf[1024], *ace = NULL;
	size_t len = 0, res = 0;
	*is_ip = 0;
	if (n == 0 || n >= sizeof buf)
		goto done;
	if (h[0] == '[') {
		struct in6_addr a6;
		if (n < 3 || h[n - 1] != ']' || n - 2 >= 64)
			goto done;
		memcpy(buf, h + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			goto done;
		char s[INET6_ADDRSTRLEN];
		if (!inet_ntop(AF_INET6, &a6, s, sizeof s))
			goto done;
		len = strlen(s);
		if (len + 2 >= cap)
			goto done;
		out[0] = '[';
		memcpy(out + 1, s, len);
		out[len + 1] = ']';
		out[len + 2] = '\0';
		*is_ip = 6;
		res = len + 2;
		goto done;
	}
	/* the usual case first: a plain ASCII name, copied and lower-cased in one pass */
	if (n < cap) {
		size_t lab = 0, k = 0, last = 0;
		int plain = 1;
		for (; k < n; k++) {
			unsigned char c = (unsigned char)h[k];
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c + 32);
			if (!host_char_ok(c)) {
				plain = 0;
				break;
			}
			if (c == '.') {
				if (lab == 0 && k + 1 < n)
					break; /* an empty label: the slow path says no */
				lab = 0;
				last = k + 1;
			} else if (++lab > 63) {
				plain = 0;
				break;
			}
			out[k] = (char)c;
		}
		size_t e = n;
		while (e > 0 && out[e - 1] == '.')
			e--;
		/* a last label starting with a digit may be an address: the slow path decides */
		if (plain && k == n && e > 0 && e <= WARD_HOST_MAX && out[0] != '.') {
			if (last >= e) {
				last = e;
				while (last > 0 && out[last - 1] != '.')
					last--;
			}
			if (!(out[last] >= '0' && out[last] <= '9')) {
				out[e] = '\0';
				res = e;
				goto done;
			}
		}
	}
	/* percent-decode and lower-case */
	int ascii = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c == '%' && i + 2 < n && hexval((unsigned char)h[i + 1]) >= 0 &&
		    hexval((unsigned char)h[i + 2]) >= 0) {
			c = (unsigned char)(hexval((unsigned char)h[i + 1]) * 16 +
			                    hexval((unsigned char)h[i + 2]));
			i += 2;
		}
		if (c == 0)
			goto done;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if (c >= 0x80)
			ascii = 0;
		buf[len++] = (char)c;
	}
	buf[len] = '\0';
	const char *name = buf;
	if (!ascii) {
		if (idn2_lookup_u8((const uint8_t *)buf, (uint8_t **)&ace,
		                   IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK &&
		    idn2_lookup_u8((const uint8_t *)buf, (uint8_t **)&ace,
		                   IDN2_NFC_INPUT | IDN2_TRANSITIONAL) != IDN2_OK)
			goto done;
		name = ace;
		len = strlen(ace);
	}
	while (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > WARD_HOST_MAX || len >= cap)
		goto done;
	uint32_t a4;
	int ip = parse_ipv4(name, len, &a4);
	if (ip < 0)
		goto done;
	if (ip == 1) {
		struct in_addr ia = {.s_addr = htonl(a4)};
		char s[INET_ADDRSTRLEN];
		if (!inet_ntop(AF_INET, &ia, s, sizeof s))
			goto done;
		size_t sl = strlen(s);
		memcpy(out, s, sl + 1);
		*is_ip = 4;
		res = sl;
		goto done;
	}
	size_t lab = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if (!host_char_ok(c))
			goto done;
		if (c == '.') {
			if (lab == 0)
				goto done;
			lab = 0;
		} else if (++lab > 63) {
			goto done;
		}
		out[i] = (char)c;
	}
	out[len] = '\0';
	res = len;
done:
	idn2_free(ace);
	return res;
}

static unsigned default_port(const char *scheme, size_t n)
{
	if (n == 4 && memcmp(scheme, "http", 4) == 0)
		return 80;
	if (n == 5 && memcmp(scheme, "https", 5) == 0)
		return 443;
	if (n == 2 && memcmp(scheme, "ws", 2) == 0)
		return 80;
	if (n == 3 && memcmp(scheme, "wss", 3) == 0)
		return 443;
	if (n == 3 && memcmp(scheme, "ftp", 3) == 0)
		return 21;
	return 0;
}

void ward_url_clear(ward_url *u)
{
	if (!u)
		return;
	free(u->text);
	memset(u, 0, sizeof *u);
}

/* The temporary copy and the output are heap buffers of bounded size (3 * WARD_URL_MAX). */
ward_status ward_url_canonicalise(const char *in, size_t len, ward_url *u)
{
	ward_status st = WARD_OK;
	char *tmp = NULL, *out = NULL;
	char scheme[16];
	size_t sl = 0;
	if (!u || (!in && len))
		return WARD_EINVAL;
	memset(u, 0, sizeof *u);
	if (len > WARD_URL_MAX)
		return WARD_ETOOBIG;
	/* trim C0 controls and spaces at both ends */
	while (len > 0 && (unsigned char)in[0] <= 0x20) {
		in++;
		len--;
	}
	while (len > 0 && (unsigned char)in[len - 1] <= 0x20)
		len--;
	if (len == 0) {
		st = WARD_EINVAL;
		goto done;
	}
	/* one block: the output first (3 bytes per input byte at most), the cleaned copy after */
	size_t outcap = 3 * len + 2 * WARD_HOST_MAX + 64;
	out = malloc(outcap + len + 1);
	tmp = out ? out + outcap : NULL;
	if (!out) {
		st = WARD_ENOMEM;
		goto done;
	}
	/* drop tabs and newlines anywhere; backslashes are slashes to a browser */
	size_t n = 0;
	int dirty = 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		dirty |= (c == '\t') | (c == '\n') | (c == '\r') | (c == '\\');
	}
	if (!dirty) {
		memcpy(tmp, in, len);
		n = len;
	} else {
		for (size_t i = 0; i < len; i++) {
			char c = in[i];
			if (c == '\t' || c == '\n' || c == '\r')
				continue;
			tmp[n++] = c == '\\' ? '/' : c;
		}
	}
	tmp[n] = '\0';
	const char *p = tmp, *end = tmp + n;
	/* scheme */
	const char *q = p;
	if (q < end && ((*q | 32) >= 'a' && (*q | 32) <= 'z')) {
		while (q < end && (((*q | 32) >= 'a' && (*q | 32) <= 'z') ||
		                   (*q >= '0' && *q <= '9') || *q == '+' || *q == '-' || *q == '.'))
			q++;
	}
	if (q < end && *q == ':' && q > p && (size_t)(q - p) < sizeof scheme) {
		int slashes = q + 1 < end && q[1] == '/';
		int all_digits = q + 1 < end;
		for (const char *d = q + 1; d < end && all_digits; d++)
			if (*d < '0' || *d > '9')
				all_digits = 0;
		if (slashes || !all_digits) {
			sl = (size_t)(q - p);
			for (size_t i = 0; i < sl; i++)
				scheme[i] = (char)(p[i] | 32);
			p = q + 1;
			if (!slashes && !default_port(scheme, sl)) {
				st = WARD_EINVAL; /* mailto:, javascript: and the like */
				goto done;
			}
			while (p < end && *p == '/')
				p++;
		}
	}
	if (sl == 0) {
		/* "host:443" (Squid CONNECT) is https; anything else without a scheme is http */
		while (p < end && *p == '/')
			p++;
		const char *a = p;
		while (a < end && *a != '/' && *a != '?' && *a != '#')
			a++;
		const char *c = memchr(p, ':', (size_t)(a - p));
		int connect = c && a == end && c + 4 == end && memcmp(c, ":443", 4) == 0;
		memcpy(scheme, connect ? "https" : "http", connect ? 5 : 4);
		sl = connect ? 5 : 4;
	}
	/* authority */
	const char *a = p;
	while (a < end && *a != '/' && *a != '?' && *a != '#')
		a++;
	const char *hs = p, *he = a;
	const char *at = memrchr(hs, '@', (size_t)(he - hs));
	if (at)
		hs = at + 1;
	unsigned port = 0;
	const char *colon = NULL;
	if (hs < he && *hs == '[') {
		const char *rb = memchr(hs, ']', (size_t)(he - hs));
		if (!rb) {
			st = WARD_EINVAL;
			goto done;
		}
		if (rb + 1 < he) {
			if (rb[1] != ':') {
				st = WARD_EINVAL;
				goto done;
			}
			colon = rb + 1;
		}
	} else {
		colon = memchr(hs, ':', (size_t)(he - hs));
	}
	if (colon) {
		unsigned long v = 0;
		if (colon + 1 < he && he - colon - 1 > 5) {
			st = WARD_EINVAL;
			goto done;
		}
		for (const char *d = colon + 1; d < he; d++) {
			if (*d < '0' || *d > '9') {
				st = WARD_EINVAL;
				goto done;
			}
			v = v * 10 + (unsigned long)(*d - '0');
		}
		if (v > 65535) {
			st = WARD_EINVAL;
			goto done;
		}
		port = (unsigned)v;
		he = colon;
	}
	if (port == default_port(scheme, sl))
		port = 0;
	char *o = out;
	memcpy(o, scheme, sl);
	o += sl;
	memcpy(o, "://", 3);
	o += 3;
	int is_ip = 0;
	size_t hl = url_canon_host(hs, (size_t)(he - hs), o, WARD_HOST_MAX + 1, &is_ip);
	if (hl == 0) {
		st = WARD_EINVAL;
		goto done;
	}
	u->host_off = (size_t)(o - out);
	u->host_len = hl;
	u->is_ip = is_ip;
	u->port = port;
	o += hl;
	if (port) {
		char pb[8];
		int k = 0;
		unsigned v = port;
		do {
			pb[k++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		*o++ = ':';
		while (k)
			*o++ = pb[--k];
	}
	/* path */
	const char *ps = a, *pe = a;
	while (pe < end && *pe != '?' && *pe != '#')
		pe++;
	u->path_off = (size_t)(o - out);
	*o = '/';
	char *pathw = o;
	o = norm_escapes(o, ps, (size_t)(pe - ps));
	size_t plen = o == pathw ? 1 : resolve_path(pathw, (size_t)(o - pathw));
	o = pathw + plen;
	u->path_len = plen;
	if (pe < end && *pe == '?') {
		const char *qs = pe + 1, *qe = qs;
		while (qe < end && *qe != '#')
			qe++;
		*o++ = '?';
		u->query_off = (size_t)(o - out);
		o = norm_escapes(o, qs, (size_t)(qe - qs));
		u->query_len = (size_t)(o - out) - u->query_off;
	}
	*o = '\0';
	u->len = (size_t)(o - out);
	u->text = out;
	out = NULL;
done:
	free(out);
	if (st != WARD_OK)
		memset(u, 0, sizeof *u);
	return st;
}

static const psl_ctx_t *psl_ctx;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

static void psl_init(void)
{
	psl_ctx = psl_latest(NULL);
	if (!psl_ctx)
		psl_ctx = psl_builtin();
}

size_t ward_registrable_domain(const char *host, char *out, size_t cap)
{
	size_t n = 0;
	if (!out || cap == 0)
		return 0;
	out[0] = '\0';
	if (!host || !*host || host[0] == '[')
		return 0;
	pthread_once(&psl_once, psl_init);
	if (!psl_ctx)
		return 0;
	const char *r = psl_registrable_domain(psl_ctx, host);
	if (r) {
		n = strlen(r);
		if (n >= cap)
			n = 0;
		else
			memcpy(out, r, n + 1);
	}
	return n;
}

const char *ward_verdict_name(ward_verdict v)
{
	switch (v) {
	case WARD_VERDICT_ALLOW:
		return "allow";
	case WARD_VERDICT_FLAG:
		return "flag";
	case WARD_VERDICT_BLOCK:
		return "block";
	}
	return "?";
}
