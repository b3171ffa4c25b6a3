/* search.c: the query of a search engine or video site, pulled out of its URL by one table.
 * A site is known by the first label of its registrable domain (so google.com, google.co.uk and
 * google.de are all "google"); a row names the path the search lives under and the query
 * parameter.  Adding a site is adding a row. */
#include <stdlib.h>
#include <string.h>

#include <ward/url.h>

typedef struct search_site {
	const char *label;  /* first label of the registrable domain */
	const char *engine; /* name reported */
	const char *path;   /* path prefix ("/" for any) */
	const char *param;  /* query parameter holding the search */
} search_site;

static const search_site SITES[] = {
    {"google", "google", "/search", "q"},
    {"google", "google", "/webhp", "q"},
    {"google", "google", "/images", "q"},
    {"bing", "bing", "/search", "q"},
    {"bing", "bing", "/images/search", "q"},
    {"bing", "bing", "/videos/search", "q"},
    {"duckduckgo", "duckduckgo", "/", "q"},
    {"youtube", "youtube", "/results", "search_query"},
    {"youtube", "youtube", "/search", "q"},
    {"yahoo", "yahoo", "/search", "p"},
    {"yandex", "yandex", "/search", "text"},
    {"yandex", "yandex", "/images/search", "text"},
    {"baidu", "baidu", "/s", "wd"},
    {"baidu", "baidu", "/s", "word"},
    {"ecosia", "ecosia", "/search", "q"},
    {"startpage", "startpage", "/", "query"},
    {"startpage", "startpage", "/", "q"},
    {"qwant", "qwant", "/", "q"},
    {"brave", "brave", "/search", "q"},
    {"ask", "ask", "/web", "q"},
    {"aol", "aol", "/aol/search", "q"},
    {"tiktok", "tiktok", "/search", "q"},
    {"vimeo", "vimeo", "/search", "q"},
    {"dailymotion", "dailymotion", "/search", "q"},
    {"twitch", "twitch", "/search", "term"},
    {"reddit", "reddit", "/search", "q"},
    {"twitter", "twitter", "/search", "q"},
    {"x", "x", "/search", "q"},
    {"pinterest", "pinterest", "/search", "q"},
    {"wikipedia", "wikipedia", "/w/index.php", "search"},
    {"amazon", "amazon", "/s", "k"},
    {"ebay", "ebay", "/sch", "_nkw"},
    {"kiddle", "kiddle", "/s.php", "q"},
};

#define QUERY_MAX 4096

/* Decodes a form value ('+' is a space, %XX a byte) of n bytes into a new string. */
static char *form_decode(const char *s, size_t n, size_t *out_len)
{
	if (n > QUERY_MAX)
		n = QUERY_MAX;
	char *o = malloc(n + 1);
	size_t w = 0;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n) {
			int hi = s[i + 1], lo = s[i + 2];
			int h = (hi >= '0' && hi <= '9')                 ? hi - '0'
			        : ((hi | 32) >= 'a' && (hi | 32) <= 'f') ? (hi | 32) - 'a' + 10
			                                                 : -1;
			int l = (lo >= '0' && lo <= '9')                 ? lo - '0'
			        : ((lo | 32) >= 'a' && (lo | 32) <= 'f') ? (lo | 32) - 'a' + 10
			                                                 : -1;
			if (h >= 0 && l >= 0) {
				c = (char)(h * 16 + l);
				i += 2;
			}
		}
		o[w++] = c;
	}
	o[w] = '\0';
	*out_len = w;
	return o;
}

ward_status ward_search_query(const ward_url *u, const char **engine, char **query,
                              size_t *query_len)
{
	char host[WARD_HOST_MAX + 1], reg[WARD_HOST_MAX + 1];
	if (!u || !u->text || !engine || !query || !query_len)
		return WARD_EINVAL;
	*engine = NULL;
	*query = NULL;
	*query_len = 0;
	if (u->is_ip || u->query_len == 0 || u->host_len > WARD_HOST_MAX)
		return WARD_OK;
	memcpy(host, u->text + u->host_off, u->host_len);
	host[u->host_len] = '\0';
	/* cheap first: is any label of the host a known site's? */
	int candidate = 0;
	for (size_t s = 0; s < u->host_len && !candidate;) {
		size_t e = s;
		while (e < u->host_len && host[e] != '.')
			e++;
		for (size_t k = 0; k < sizeof SITES / sizeof SITES[0]; k++)
			if (SITES[k].label[0] == host[s] && strlen(SITES[k].label) == e - s &&
			    memcmp(SITES[k].label, host + s, e - s) == 0) {
				candidate = 1;
				break;
			}
		s = e + 1;
	}
	if (!candidate)
		return WARD_OK;
	size_t rl = ward_registrable_domain(host, reg, sizeof reg);
	if (rl == 0)
		return WARD_OK;
	size_t lab = 0;
	while (lab < rl && reg[lab] != '.')
		lab++;
	const char *path = u->text + u->path_off;
	const char *qs = u->text + u->query_off, *qe = qs + u->query_len;
	for (size_t k = 0; k < sizeof SITES / sizeof SITES[0]; k++) {
		const search_site *t = &SITES[k];
		size_t pl = strlen(t->path);
		if (strlen(t->label) != lab || memcmp(t->label, reg, lab) != 0)
			continue;
		if (u->path_len < pl || memcmp(path, t->path, pl) != 0)
			continue;
		/* the prefix must end at a segment boundary */
		if (pl > 1 && u->path_len > pl && path[pl] != '/')
			continue;
		size_t nl = strlen(t->param);
		for (const char *p = qs; p < qe;) {
			const char *amp = p;
			while (amp < qe && *amp != '&' && *amp != ';')
				amp++;
			if ((size_t)(amp - p) > nl && memcmp(p, t->param, nl) == 0 &&
			    p[nl] == '=') {
				size_t ql;
				char *q = form_decode(p + nl + 1,
				                      (size_t)(amp - p - (ptrdiff_t)nl - 1), &ql);
				if (!q)
					return WARD_ENOMEM;
				/* a query of only spaces is no search */
				size_t sp = 0;
				while (sp < ql && q[sp] == ' ')
					sp++;
				if (sp < ql) {
					*engine = t->engine;
					*query = q;
					*query_len = ql;
					return WARD_OK;
				}
				free(q);
			}
			p = amp + 1;
		}
	}
	return WARD_OK;
}
