/* DNS query log readers: dnsmasq (log-queries) and Unbound (log-queries: yes). */
#include "ingest_dns.h"

#include <string.h>

/* Next space-separated word of [*p, end): sets *w and *wl, advances *p.  0 when none. */
static int word(const char **p, const char *end, const char **w, size_t *wl)
{
	const char *s = *p;
	while (s < end && *s == ' ')
		s++;
	*w = s;
	while (s < end && *s != ' ')
		s++;
	*wl = (size_t)(s - *w);
	*p = s;
	return *wl > 0;
}

static const char *find(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; n >= k && i <= n - k; i++)
		if (!memcmp(s + i, needle, k))
			return s + i;
	return NULL;
}

static int plausible_name(const char *s, size_t n)
{
	if (!n || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == '/' || c == '\\' || c == '?' || c == '#' || c == '@' ||
		    c == 0x7f)
			return 0;
	}
	return 1;
}

int dnslog_parse(const char *line, size_t len, dnslog_entry *e)
{
	const char *end = line + len, *p, *w;
	size_t wl;
	memset(e, 0, sizeof *e);
	if ((p = find(line, len, " query[")) != NULL) {
		p += 7;
		while (p < end && *p != ']')
			p++;
		if (p == end)
			return -1;
		p++;
		if (!word(&p, end, &e->name, &e->name_len) || !word(&p, end, &w, &wl) || wl != 4 ||
		    memcmp(w, "from", 4) || !word(&p, end, &e->client, &e->client_len))
			return -1;
		return plausible_name(e->name, e->name_len) ? 0 : -1;
	}
	if ((p = find(line, len, " info: ")) != NULL) {
		const char *type;
		size_t tl;
		p += 6;
		if (!word(&p, end, &e->client, &e->client_len) ||
		    !word(&p, end, &e->name, &e->name_len) || !word(&p, end, &type, &tl) ||
		    !word(&p, end, &w, &wl) || wl != 2 || memcmp(w, "IN", 2) ||
		    word(&p, end, &w, &wl))
			return -1;
		for (size_t i = 0; i < tl; i++)
			if (!((type[i] >= 'A' && type[i] <= 'Z') ||
			      (type[i] >= '0' && type[i] <= '9')))
				return -1;
		/* Unbound writes the name with its trailing dot. */
		if (e->name_len > 1 && e->name[e->name_len - 1] == '.')
			e->name_len--;
		return plausible_name(e->name, e->name_len) ? 0 : -1;
	}
	return -1;
}
