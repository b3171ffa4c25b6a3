/*
 * ward/url.h: the web filter.  URL canonicalisation, category lists (plain domain lists, hosts
 * files, squidGuard / UT1 folders, exact-URL and URL-prefix lists such as the IWF list), a
 * mapping from list categories to areas of concern, search terms pulled from search engines'
 * URLs, and Squid's native access log.
 *
 * A ward_urllists is loaded once and may then be shared by any number of threads; reloading it
 * builds a new index aside and swaps it in atomically, so lookups never wait for a load.
 * See ward-lists(5) for the list layout and the mapping file.
 */
#ifndef WARD_URL_H
#define WARD_URL_H

#include <ward/common.h>
#include <ward/text.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest URL ward accepts (bytes).  Longer input is refused with WARD_ETOOBIG. */
#define WARD_URL_MAX ((size_t)128 * 1024)
/* Longest host name (bytes, after IDNA). */
#define WARD_HOST_MAX 253

/* A URL in canonical form: "scheme://host[:port]/path[?query]", where the scheme and host are
 * lower case, the host is ASCII (IDNA A-labels) without trailing dots, an IPv4 address in any
 * form (decimal, octal, hex, fewer than four parts) is written as dotted decimal, an IPv6
 * literal is bracketed and compressed, userinfo and the fragment are dropped, a default port is
 * dropped, escapes of unreserved characters are decoded and the rest are upper case, dot
 * segments are resolved and duplicate slashes squeezed.  The offsets point into text. */
typedef struct ward_url {
	char *text; /* NUL-terminated; owned: ward_url_clear frees it */
	size_t len;
	size_t host_off, host_len;
	size_t path_off, path_len;   /* starts with '/', ends before '?' */
	size_t query_off, query_len; /* after '?'; query_len 0 when there is none */
	unsigned port;               /* 0 when the default */
	int is_ip;                   /* 4 or 6 for an address, 0 for a name */
} ward_url;

/* Canonicalises len bytes at in (a URL; "host/path" without a scheme is read as http; Squid's
 * CONNECT "host:port" as https).  On success *u owns a new string: free it with ward_url_clear.
 * Returns WARD_ETOOBIG past WARD_URL_MAX, WARD_EINVAL for input that is not a URL (bad host,
 * bad port, NUL in the host). */
WARD_API ward_status ward_url_canonicalise(const char *in, size_t len, ward_url *u);
/* Frees u's text.  A zeroed or cleared ward_url is allowed. */
WARD_API void ward_url_clear(ward_url *u);

/* The registrable domain of host (e.g. "example.co.uk" for "a.b.example.co.uk"), from the
 * public suffix list, copied to out (capacity cap).  Returns 0 and "" when there is none (an
 * address, a public suffix itself). */
WARD_API size_t ward_registrable_domain(const char *host, char *out, size_t cap);

/* A search or video site's query, from a canonical URL.  *engine is static ("google", "bing",
 * ...); *query is the decoded query text, owned by the caller (free()).  Returns WARD_OK with
 * *query NULL when the URL is not a search. */
WARD_API ward_status ward_search_query(const ward_url *u, const char **engine, char **query,
                                       size_t *query_len);

/* ---- Lists ---- */

typedef enum ward_verdict {
	WARD_VERDICT_ALLOW = 0, /* nothing matched, or an allow-list did */
	WARD_VERDICT_FLAG,      /* let through, but report */
	WARD_VERDICT_BLOCK
} ward_verdict;

/* "allow", "flag" or "block". */
WARD_API const char *ward_verdict_name(ward_verdict v);

typedef struct ward_urllists ward_urllists;

/* Told of each broken list line (d->file, d->line, d->message); the line is skipped and the
 * rest of the list is loaded.  Called at most WARD_LIST_WARN_MAX times per file, then once
 * more with line 0 and the count of lines not shown. */
typedef void (*ward_list_warn_cb)(const ward_diag *d, void *ctx);
#define WARD_LIST_WARN_MAX 20
/* Longest list line (bytes); longer lines are reported and skipped. */
#define WARD_LIST_LINE_MAX 8192

/* Loads the lists under dir (see ward-lists(5)): each subdirectory CATEGORY with files
 * "domains" and "urls" (squidGuard / UT1 layout), and each plain file NAME or NAME.EXT, whose
 * category is NAME, holding domains, hosts-file lines or URLs (one a line; '#' comments).
 * map (may be NULL) is the mapping file: lines "CATEGORY AREA ACTION".  warn (may be NULL)
 * hears of broken lines.  dir and map are copied for ward_urllists_reload.  On error *diag
 * (may be NULL) says which file and line.  *out is the caller's: ward_urllists_free. */
WARD_API ward_status ward_urllists_load(const char *dir, const char *map, ward_list_warn_cb warn,
                                        void *ctx, ward_urllists **out, ward_diag *diag);

/* Reads the lists again from the same dir and map, builds a new index aside and swaps it in.
 * Lookups running meanwhile finish on the old index, which is freed after the last of them.
 * On any error the old index stays in use. */
WARD_API ward_status ward_urllists_reload(ward_urllists *l, ward_diag *diag);

/* Frees l.  NULL is allowed.  No lookup may be running. */
WARD_API void ward_urllists_free(ward_urllists *l);

/* Number of distinct entries (domains plus URLs) and of categories in the current index. */
WARD_API size_t ward_urllists_entries(const ward_urllists *l);
WARD_API size_t ward_urllists_categories(const ward_urllists *l);

/* What a URL came to. */
typedef struct ward_url_result {
	ward_verdict verdict;
	int area;           /* ward_area of the matching category, or -1 */
	int matched_kind;   /* 0 none, 1 a domain entry, 2 a URL entry, 3 a search */
	char category[64];  /* list category that decided, or "" */
	char list[512];     /* the list file it came from, or "" */
	size_t matched_off; /* the entry that matched, as text[matched_off .. +matched_len] */
	size_t matched_len; /*   of the canonical URL (a host suffix, or host + path prefix) */
	const char *engine; /* search engine name (static), or NULL */
	char *query;        /* the search query (owned: ward_url_result_clear), or NULL */
	size_t query_len;
	ward_severity search_severity; /* highest severity among the query's findings */
	size_t search_findings;        /* findings of the text rules in the query */
} ward_url_result;

/* Called for each text finding in a search query; the finding's offsets are into the query. */
typedef void (*ward_search_cb)(const ward_finding *f, void *ctx);

/* Decides u (canonical): allow-list matches win; then block, then flag categories; URL
 * entries before domains, more specific before less.  When sc is not NULL a search query is
 * scanned with its rules: a finding makes an allowed URL "flag" with the finding's area
 * (a blocked URL stays blocked); cb (may be NULL) hears of each finding.  l may be NULL (no
 * lists).  *r is filled; free it with ward_url_result_clear. */
WARD_API ward_status ward_urllists_check(ward_urllists *l, const ward_url *u, ward_scanner *sc,
                                         ward_search_cb cb, void *ctx, ward_url_result *r);
WARD_API void ward_url_result_clear(ward_url_result *r);

/* Looks up n canonical URLs u[0..n) against the lists only (no search terms: r[i].query stays
 * NULL), filling r[0..n).  The memory accesses of several URLs overlap, so a proxy or a log
 * reader with many URLs at hand gets through them several times faster than with n calls of
 * ward_urllists_check.  The results need no ward_url_result_clear (it does no harm). */
WARD_API ward_status ward_urllists_check_many(ward_urllists *l, const ward_url *u, size_t n,
                                              ward_url_result *r);

/* ---- Squid's native access log ---- */

/* One line of Squid's native access.log: "time elapsed client code/status bytes method URL
 * user hierarchy/peer type".  Pointers point into the line given. */
typedef struct ward_squid_entry {
	double time;        /* Unix time, with milliseconds */
	const char *client; /* client address */
	size_t client_len;
	const char *code; /* e.g. "TCP_MISS/200" */
	size_t code_len;
	const char *method;
	size_t method_len;
	const char *url;
	size_t url_len;
	const char *user; /* "-" when none */
	size_t user_len;
} ward_squid_entry;

/* Parses one line (without its newline).  WARD_ESYNTAX when it is not a native log line. */
WARD_API ward_status ward_squid_parse(const char *line, size_t len, ward_squid_entry *e);

#ifdef __cplusplus
}
#endif
#endif
