/* forwarded.c: trusted_proxies and the client's address behind them (forwarded.h).
 *
 * Strict by design: only numeric addresses (inet_pton after a check that every byte is one an
 * address is written with, so a NUL or a name cannot slip through), bounded lengths, a bounded
 * number of hops, and a header that does not parse is ignored whole.  X-Forwarded-For is a
 * list of plain addresses ("203.0.113.7, 10.0.0.2"), no ports; Forwarded is RFC 7239's
 * grammar (elements of param=value pairs, values tokens or quoted strings), where for= is an
 * IPv4 address, a bracketed IPv6 address, "unknown" or an obfuscated "_name", each with an
 * optional port ("[2001:db8::1]:4711", "192.0.2.4:80" quoted as the grammar requires). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "forwarded.h"

#define ADDR_TEXT_MAX 45 /* the longest IPv6 text (with a dotted tail) */

typedef struct hop {
	uint8_t addr[16];
	int known; /* 0: "unknown" or obfuscated (Forwarded) */
} hop;

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Parses n bytes of numeric text as an address of family want (4, 6 or 0 for either, chosen
 * by a colon) into out (IPv4 mapped into IPv6).  0, or -1. */
static int parse_ip(const char *s, size_t n, int want, uint8_t out[16])
{
	char buf[ADDR_TEXT_MAX + 1];
	int six = 0;
	if (n == 0 || n > ADDR_TEXT_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == ':')
			six = 1;
		else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		           (ch >= 'A' && ch <= 'F') || ch == '.'))
			return -1;
	}
	if ((want == 4 && six) || (want == 6 && !six))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (six)
		return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
	memcpy(out, v4_prefix, sizeof v4_prefix);
	return inet_pton(AF_INET, buf, out + 12) == 1 ? 0 : -1;
}

static int is_v4(const uint8_t a[16])
{
	return memcmp(a, v4_prefix, sizeof v4_prefix) == 0;
}

static void format_ip(const uint8_t a[16], char *out, size_t cap)
{
	char buf[INET6_ADDRSTRLEN];
	if (!inet_ntop(is_v4(a) ? AF_INET : AF_INET6, is_v4(a) ? a + 12 : a, buf, sizeof buf))
		buf[0] = '\0';
	snprintf(out, cap, "%s", buf);
}

static int in_net(const uint8_t net[16], unsigned bits, const uint8_t a[16])
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(net, a, whole) != 0)
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((net[whole] & mask) != (a[whole] & mask))
			return 0;
	}
	return 1;
}

static int contains(const srv_proxies *p, const uint8_t a[16])
{
	for (size_t i = 0; i < p->n; i++)
		if (in_net(p->net[i].addr, p->net[i].bits, a))
			return 1;
	return 0;
}

/* One entry of the list: ADDR or ADDR/BITS, n bytes. */
static int parse_entry(srv_proxies *p, const char *s, size_t n, char *msg, size_t cap)
{
	const char *slash = memchr(s, '/', n);
	size_t an = slash ? (size_t)(slash - s) : n;
	uint8_t a[16];
	unsigned bits, max;
	if (parse_ip(s, an, 0, a) != 0) {
		snprintf(msg, cap, "%.*s is not a numeric IPv4 or IPv6 address", (int)an, s);
		return -1;
	}
	max = is_v4(a) && !memchr(s, ':', an) ? 32 : 128;
	bits = max;
	if (slash) {
		size_t dn = n - an - 1;
		if (dn == 0 || dn > 3) {
			snprintf(msg, cap, "%.*s: the prefix length is not a number", (int)n, s);
			return -1;
		}
		bits = 0;
		for (size_t i = 0; i < dn; i++) {
			if (slash[1 + i] < '0' || slash[1 + i] > '9') {
				snprintf(msg, cap, "%.*s: the prefix length is not a number",
				         (int)n, s);
				return -1;
			}
			bits = bits * 10 + (unsigned)(slash[1 + i] - '0');
		}
		if (bits > max) {
			snprintf(msg, cap, "%.*s: the prefix length is more than %u", (int)n, s,
			         max);
			return -1;
		}
	}
	if (max == 32)
		bits += 96;
	/* bits set past the prefix: a typing slip, or a host meant as a network */
	for (unsigned b = bits; b < 128; b++)
		if (a[b / 8] & (0x80 >> (b % 8))) {
			snprintf(msg, cap, "%.*s has bits set past its prefix length", (int)n, s);
			return -1;
		}
	if (p->n == SRV_PROXIES_MAX) {
		snprintf(msg, cap, "more than %d entries", SRV_PROXIES_MAX);
		return -1;
	}
	memcpy(p->net[p->n].addr, a, 16);
	p->net[p->n].bits = (uint8_t)bits;
	p->n++;
	return 0;
}

int srv_proxies_parse(srv_proxies *p, const char *list, char *msg, size_t cap)
{
	size_t i = 0, len = strlen(list);
	memset(p, 0, sizeof *p);
	if (cap)
		msg[0] = '\0';
	while (i < len) {
		size_t start;
		while (i < len && (list[i] == ',' || list[i] == ' ' || list[i] == '\t'))
			i++;
		start = i;
		while (i < len && list[i] != ',' && list[i] != ' ' && list[i] != '\t')
			i++;
		if (i > start && parse_entry(p, list + start, i - start, msg, cap) != 0) {
			memset(p, 0, sizeof *p);
			return -1;
		}
	}
	return 0;
}

int srv_proxies_everything(const srv_proxies *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->net[i].bits == 0 || (p->net[i].bits == 96 && is_v4(p->net[i].addr)))
			return 1;
	return 0;
}

int srv_proxies_contains(const srv_proxies *p, const char *addr)
{
	uint8_t a[16];
	return parse_ip(addr, strlen(addr), 0, a) == 0 && contains(p, a);
}

/* ---- X-Forwarded-For: 1#( OWS address OWS ) ---- */

static int ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int parse_xff(const char *h, size_t len, hop *hops, size_t *n)
{
	size_t i = 0;
	*n = 0;
	for (;;) {
		size_t start, end;
		while (i < len && ows(h[i]))
			i++;
		start = i;
		while (i < len && h[i] != ',')
			i++;
		end = i;
		while (end > start && ows(h[end - 1]))
			end--;
		if (*n == SRV_FORWARDED_HOPS ||
		    parse_ip(h + start, end - start, 0, hops[*n].addr) != 0)
			return -1;
		hops[(*n)++].known = 1;
		if (i == len)
			return 0;
		i++; /* the comma */
	}
}

/* ---- Forwarded (RFC 7239) ---- */

static int tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int obfchar(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       ch == '.' || ch == '_' || ch == '-';
}

/* node-port = 1*5DIGIT / obfport ("_" 1*(ALPHA / DIGIT / "." / "_" / "-")). */
static int parse_port(const char *s, size_t n)
{
	if (n == 0)
		return -1;
	if (s[0] == '_') {
		if (n == 1)
			return -1;
		for (size_t i = 1; i < n; i++)
			if (!obfchar(s[i]))
				return -1;
		return 0;
	}
	if (n > 5)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	return 0;
}

/* node = nodename [ ":" node-port ]; nodename = IPv4address / "[" IPv6address "]" / "unknown"
 * / obfnode. */
static int parse_node(const char *v, size_t n, hop *out)
{
	size_t name_end;
	out->known = 0;
	if (n == 0)
		return -1;
	if (v[0] == '[') {
		const char *close = memchr(v, ']', n);
		if (!close)
			return -1;
		if (parse_ip(v + 1, (size_t)(close - v) - 1, 6, out->addr) != 0)
			return -1;
		out->known = 1;
		name_end = (size_t)(close - v) + 1;
	} else {
		const char *colon = memchr(v, ':', n);
		name_end = colon ? (size_t)(colon - v) : n;
		if (name_end == 7 && strncasecmp(v, "unknown", 7) == 0) {
			/* a proxy that does not know whom it forwarded for */
		} else if (v[0] == '_') {
			if (name_end == 1)
				return -1;
			for (size_t i = 1; i < name_end; i++)
				if (!obfchar(v[i]))
					return -1;
		} else {
			if (parse_ip(v, name_end, 4, out->addr) != 0)
				return -1;
			out->known = 1;
		}
	}
	if (name_end == n)
		return 0;
	if (v[name_end] != ':')
		return -1;
	return parse_port(v + name_end + 1, n - name_end - 1);
}

/* value = token / quoted-string, unquoted into val (cap bytes); advances *i.  Only visible
 * ASCII, space and tab inside quotes (no obs-text). */
static int parse_value(const char *h, size_t len, size_t *i, char *val, size_t cap, size_t *vn)
{
	size_t k = *i;
	*vn = 0;
	if (k < len && h[k] == '"') {
		k++;
		for (;;) {
			unsigned char ch;
			if (k >= len)
				return -1;
			ch = (unsigned char)h[k];
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (++k >= len)
					return -1;
				ch = (unsigned char)h[k];
			}
			if (!(ch == '\t' || (ch >= 0x20 && ch < 0x7f)) || *vn + 1 >= cap)
				return -1;
			val[(*vn)++] = (char)ch;
			k++;
		}
		*i = k + 1;
		return 0;
	}
	while (k < len && tchar((unsigned char)h[k])) {
		if (*vn + 1 >= cap)
			return -1;
		val[(*vn)++] = h[k++];
	}
	*i = k;
	return *vn ? 0 : -1;
}

static int parse_forwarded(const char *h, size_t len, hop *hops, size_t *n)
{
	size_t i = 0;
	*n = 0;
	for (;;) {
		int has_for = 0, pairs = 0;
		hop node = {{0}, 0};
		for (;;) {
			size_t name, name_n, vn = 0;
			char val[64];
			while (i < len && ows(h[i]))
				i++;
			name = i;
			while (i < len && tchar((unsigned char)h[i]))
				i++;
			name_n = i - name;
			if (name_n == 0 || i >= len || h[i] != '=')
				return -1;
			i++;
			if (parse_value(h, len, &i, val, sizeof val, &vn) != 0)
				return -1;
			pairs++;
			if (name_n == 3 && strncasecmp(h + name, "for", 3) == 0) {
				if (has_for || parse_node(val, vn, &node) != 0)
					return -1;
				has_for = 1;
			}
			while (i < len && ows(h[i]))
				i++;
			if (i < len && h[i] == ';') {
				i++;
				continue;
			}
			break;
		}
		if (!pairs || *n == SRV_FORWARDED_HOPS)
			return -1;
		/* an element with no for= does not say whom it forwarded for */
		hops[(*n)++] = has_for ? node : (hop){{0}, 0};
		if (i == len)
			return 0;
		if (h[i] != ',')
			return -1;
		i++;
	}
}

int srv_forwarded_client(const srv_proxies *p, srv_fwd_header which, const char *peer,
                         const char *hdr, size_t len, char *out, size_t cap)
{
	hop hops[SRV_FORWARDED_HOPS];
	size_t n = 0;
	int rc = 0;
	if (!p->n || !hdr || len == 0 || len > SRV_FORWARDED_MAX || !srv_proxies_contains(p, peer))
		goto peer;
	if ((which == SRV_FWD_FORWARDED ? parse_forwarded(hdr, len, hops, &n)
	                                : parse_xff(hdr, len, hops, &n)) != 0 ||
	    n == 0)
		goto peer;
	/* from the right: the hop nearest wardd was written by the peer, a trusted proxy */
	for (size_t k = n; k-- > 0;) {
		if (!hops[k].known)
			goto peer;
		if (!contains(p, hops[k].addr) || k == 0) {
			format_ip(hops[k].addr, out, cap);
			rc = 1;
			goto done;
		}
	}
peer:
	snprintf(out, cap, "%s", peer);
done:
	return rc;
}
