/* srv_ward: ward as a c-icap service.  REQMOD checks the URL and any search query against the
 * web filter and the text rules and answers the block page or 204; RESPMOD streams text
 * responses through the text rules while passing them on unchanged.  Findings become alerts,
 * posted to wardd by alertq's background thread so the proxy never waits on wardd.  Nothing of
 * a response is kept beyond the bytes in flight. */
#include <c_icap/c-icap.h>
#include <c_icap/body.h>
#include <c_icap/cfg_param.h>
#include <c_icap/debug.h>
#include <c_icap/header.h>
#include <c_icap/request.h>
#include <c_icap/service.h>
#include <c_icap/simple_api.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ward/ward.h>

#include "alertq.h"

#define PAGE_MAX       (64 * 1024)
#define URL_MAX        8192
#define MONITOR_MAX    256
#define RULES_SEEN_MAX 16

enum { ACT_DEFAULT = 0, ACT_OFF, ACT_ALERT, ACT_BLOCK, ACT_BOTH };

/* Configuration (c-icap directives "ward.NAME"). */
static char *cfg_rules, *cfg_lists, *cfg_map, *cfg_alert_url, *cfg_token_file, *cfg_spool,
    *cfg_page_file;
static char *cfg_hashlist;
static int cfg_max_scan = 2 * 1024 * 1024;
static int cfg_max_image = 8 * 1024 * 1024;
static int cfg_pdq_distance = 31;
static int cfg_lists_check = 10; /* seconds between looks for changed lists; 0: never */
static ward_hashlist *hashes;
static int area_action[WARD_AREA_COUNT];
static int quiet_from = -1, quiet_to = -1; /* minutes after local midnight */
struct monitor {
	int family; /* AF_INET, AF_INET6, or 0 for an account name */
	unsigned char addr[16];
	int bits;
	char name[64];
};
static struct monitor monitors[MONITOR_MAX];
static int n_monitors;

static ward_engine *engine;
/* The URL lists in use.  A reload builds new lists aside, then swaps the pointer under the
 * write lock; a lookup holds the read lock, so no request sees a half-loaded index. */
static ward_urllists *lists;
static pthread_rwlock_t lists_lock = PTHREAD_RWLOCK_INITIALIZER;
static _Atomic int64_t lists_stamp_loaded; /* the lists' stamp when last loaded */
static _Atomic int64_t lists_next_check;   /* when to look again (seconds) */
static atomic_int lists_reloading;
static alertq *alerts;
static pthread_key_t scanner_key;
static char *page;
static char *alert_token;
static pthread_mutex_t alerts_mu = PTHREAD_MUTEX_INITIALIZER;
static pid_t alerts_pid;
static size_t page_len;

static const char default_page[] =
    "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width\">"
    "<title>This page is not available</title></head>\n<body style=\"font-family:sans-serif;"
    "max-width:40em;margin:2em auto;line-height:1.5\">\n"
    "<h1>This page is not available</h1>\n"
    "<p>Your school has stopped this page from opening.</p>\n"
    "<p>If something online has worried or upset you, you have done nothing wrong by seeing it. "
    "You can talk to a teacher or another adult you trust.</p>\n"
    "<p>You can also get help in private:</p>\n<ul>\n"
    "<li><a href=\"https://www.childline.org.uk/\">Childline</a>: free and confidential, or "
    "call 0800 1111.</li>\n"
    "<li><a href=\"https://www.ceop.police.uk/Safety-Centre/\">CEOP</a>: report someone who "
    "has made you feel unsafe online.</li>\n</ul>\n</body></html>\n";

static int set_area_action(const char *directive, const char **argv, void *setdata);
static int set_quiet(const char *directive, const char **argv, void *setdata);
static int set_monitor(const char *directive, const char **argv, void *setdata);

static struct ci_conf_entry conf_table[] = {
    {"Rules", &cfg_rules, ci_cfg_set_str, "ward rule file or directory"},
    {"Lists", &cfg_lists, ci_cfg_set_str, "ward URL list directory"},
    {"ListMap", &cfg_map, ci_cfg_set_str, "ward list mapping file"},
    {"AlertURL", &cfg_alert_url, ci_cfg_set_str, "wardd alerts endpoint"},
    {"TokenFile", &cfg_token_file, ci_cfg_set_str, "file holding the service token"},
    {"SpoolFile", &cfg_spool, ci_cfg_set_str, "spool for alerts wardd has not taken"},
    {"BlockPage", &cfg_page_file, ci_cfg_set_str, "HTML file for the block page"},
    {"HashList", &cfg_hashlist, ci_cfg_set_str, "image hash list (PDQ, MD5, SHA-1, SHA-256)"},
    {"MaxImageSize", &cfg_max_image, ci_cfg_set_int, "largest image hashed (bytes)"},
    {"PDQDistance", &cfg_pdq_distance, ci_cfg_set_int, "PDQ Hamming distance for a match"},
    {"MaxScanSize", &cfg_max_scan, ci_cfg_set_int, "largest response body scanned (bytes)"},
    {"ListsCheckInterval", &cfg_lists_check, ci_cfg_set_int,
     "seconds between looks for changed lists, reloaded without a restart (0: never)"},
    {"AreaAction", NULL, set_area_action, "AREA off|alert|block|both"},
    {"QuietHours", NULL, set_quiet, "HH:MM-HH:MM: no alerts in these hours"},
    {"Monitor", NULL, set_monitor, "address/prefix or user:NAME whose traffic raises alerts"},
    {NULL, NULL, NULL, NULL}};

static int set_area_action(const char *directive, const char **argv, void *setdata)
{
	static const char *names[] = {"", "off", "alert", "block", "both"};
	int a, act = -1;
	if (!argv[0] || !argv[1] || argv[2]) {
		ci_debug_printf(1, "ward: %s needs AREA ACTION\n", directive);
		return 0;
	}
	a = ward_area_from_id(argv[0]);
	for (int i = 1; i < 5; i++)
		if (!strcmp(argv[1], names[i]))
			act = i;
	if (a < 0 || act < 0) {
		ci_debug_printf(1, "ward: %s: unknown area or action '%s %s'\n", directive, argv[0],
		                argv[1]);
		return 0;
	}
	area_action[a] = act;
	return 1;
}

static int hhmm(const char *s, const char **end)
{
	char *e;
	long h = strtol(s, &e, 10), m;
	if (e == s || *e != ':' || h < 0 || h > 24)
		return -1;
	s = e + 1;
	m = strtol(s, &e, 10);
	if (e != s + 2 || m < 0 || m > 59)
		return -1;
	*end = e;
	return (int)(h * 60 + m);
}

static int set_quiet(const char *directive, const char **argv, void *setdata)
{
	const char *e = NULL;
	int f, t = -1;
	if (!argv[0] || argv[1] || (f = hhmm(argv[0], &e)) < 0 || *e != '-' ||
	    (t = hhmm(e + 1, &e)) < 0 || *e) {
		ci_debug_printf(1, "ward: %s needs HH:MM-HH:MM\n", directive);
		return 0;
	}
	quiet_from = f;
	quiet_to = t;
	return 1;
}

static int set_monitor(const char *directive, const char **argv, void *setdata)
{
	for (int i = 0; argv[i]; i++) {
		struct monitor m = {0};
		char host[64];
		const char *slash = strchr(argv[i], '/');
		size_t hl = slash ? (size_t)(slash - argv[i]) : strlen(argv[i]);
		if (n_monitors >= MONITOR_MAX)
			return 0;
		if (!strncmp(argv[i], "user:", 5)) {
			if (strlen(argv[i] + 5) >= sizeof m.name)
				return 0;
			snprintf(m.name, sizeof m.name, "%s", argv[i] + 5);
		} else {
			if (hl >= sizeof host)
				return 0;
			memcpy(host, argv[i], hl);
			host[hl] = '\0';
			if (inet_pton(AF_INET, host, m.addr) == 1)
				m.family = AF_INET, m.bits = 32;
			else if (inet_pton(AF_INET6, host, m.addr) == 1)
				m.family = AF_INET6, m.bits = 128;
			else {
				ci_debug_printf(1, "ward: %s: bad address '%s'\n", directive,
				                argv[i]);
				return 0;
			}
			if (slash) {
				char *e;
				long b = strtol(slash + 1, &e, 10);
				if (*e || b < 0 || b > m.bits)
					return 0;
				m.bits = (int)b;
			}
		}
		monitors[n_monitors++] = m;
	}
	return 1;
}

/* Whether traffic from this address or account raises alerts. */
static int monitored(const char *ip, const char *user)
{
	unsigned char a[16];
	int fam = 0, ok = n_monitors == 0;
	if (ip && inet_pton(AF_INET, ip, a) == 1)
		fam = AF_INET;
	else if (ip && inet_pton(AF_INET6, ip, a) == 1)
		fam = AF_INET6;
	for (int i = 0; i < n_monitors && !ok; i++) {
		const struct monitor *m = &monitors[i];
		if (!m->family)
			ok = user && !strcmp(user, m->name);
		else if (m->family == fam) {
			int full = m->bits / 8, rest = m->bits % 8;
			ok = !memcmp(a, m->addr, (size_t)full) &&
			     (!rest || ((a[full] ^ m->addr[full]) & (0xff00 >> rest) & 0xff) == 0);
		}
	}
	return ok;
}

static int quiet_now(void)
{
	time_t t = time(NULL);
	struct tm tm;
	int m;
	if (quiet_from < 0)
		return 0;
	localtime_r(&t, &tm);
	m = tm.tm_hour * 60 + tm.tm_min;
	return quiet_from <= quiet_to ? (m >= quiet_from && m < quiet_to)
	                              : (m >= quiet_from || m < quiet_to);
}

/* ---- per request ---- */

struct fifo {
	char *p;
	size_t off, len, cap;
};

struct wreq {
	int mode;  /* 0 echo, 1 block page, 2 echo and scan, 3 echo and hash */
	char *img; /* the image so far, in memory only; freed (and cleared) at the end */
	size_t img_len, img_cap;
	int img_over;
	int streaming, eof;
	struct fifo f;
	size_t scanned;
	size_t page_off;
	int monitored;
	char ip[64], user[128], subject[200];
	char *url;
	const ward_rule_info *seen[RULES_SEEN_MAX];
	int n_seen;
};

static int fifo_put(struct fifo *f, const char *b, size_t n)
{
	if (f->off && f->off >= f->len / 2) {
		memmove(f->p, f->p + f->off, f->len - f->off);
		f->len -= f->off;
		f->off = 0;
	}
	if (f->len + n > f->cap) {
		size_t c = f->cap ? f->cap : 16384;
		char *q;
		while (c < f->len + n)
			c *= 2;
		if (!(q = realloc(f->p, c)))
			return -1;
		f->p = q;
		f->cap = c;
	}
	memcpy(f->p + f->len, b, n);
	f->len += n;
	return 0;
}

static const char *sev_name(ward_severity s)
{
	return ward_severity_name(s);
}

static void post(struct wreq *r, int area, const char *rule, const char *sev, const char *excerpt,
                 long long start, long long end)
{
	alertq_alert a = {0};
	const ward_area_info *ai = ward_area_get((ward_area)area);
	int act = (area >= 0 && area < WARD_AREA_COUNT) ? area_action[area] : ACT_DEFAULT;
	if (!cfg_alert_url || !r->monitored || !ai || act == ACT_OFF || act == ACT_BLOCK ||
	    quiet_now())
		return;
	/* c-icap forks its children after post_init, and threads do not survive a fork: each
	 * child starts its own poster on its first alert. */
	pthread_mutex_lock(&alerts_mu);
	if (!alerts || alerts_pid != getpid()) {
		alerts = alertq_start(cfg_alert_url, alert_token, cfg_spool, ALERTQ_DEFAULT_CAP);
		alerts_pid = getpid();
		if (!alerts)
			ci_debug_printf(1, "ward: cannot start the alert poster\n");
	}
	pthread_mutex_unlock(&alerts_mu);
	if (!alerts)
		return;
	a.area = ai->id;
	a.rule = rule;
	a.severity = sev;
	a.source = "icap";
	a.subject = r->subject;
	a.excerpt = excerpt;
	a.url = r->url;
	a.start = start;
	a.end = end;
	a.dedup_extra = r->url;
	alertq_post(alerts, &a);
}

/* Copies a finding's excerpt as text (control bytes become spaces) into out. */
static void excerpt_text(const ward_finding *f, char *out, size_t cap)
{
	size_t n = f->excerpt_len < cap - 1 ? f->excerpt_len : cap - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)f->excerpt[i];
		out[i] = c < 0x20 ? ' ' : (char)c;
	}
	out[n] = '\0';
}

static int on_finding(const ward_finding *f, void *ctx)
{
	struct wreq *r = ctx;
	char ex[WARD_EXCERPT_MAX + 1];
	for (int i = 0; i < r->n_seen; i++)
		if (r->seen[i] == f->rule)
			return 0;
	if (r->n_seen < RULES_SEEN_MAX)
		r->seen[r->n_seen++] = f->rule;
	else
		return 0;
	excerpt_text(f, ex, sizeof ex);
	post(r, (int)f->rule->area, f->rule->id, sev_name(f->rule->severity), ex,
	     (long long)f->start, (long long)f->end);
	return 0;
}

static void on_search(const ward_finding *f, void *ctx)
{
	on_finding(f, ctx);
}

static void scanner_free(void *p)
{
	ward_scanner_free(p);
}

/* This thread's scanner (c-icap serves a request on one thread from start to end). */
static ward_scanner *scanner(void)
{
	ward_scanner *s = pthread_getspecific(scanner_key);
	if (!s && engine && ward_scanner_new(engine, &s) == WARD_OK)
		pthread_setspecific(scanner_key, s);
	return s;
}

/* ---- URL lists reloaded without a restart ---- */

/* The newest change time (nanoseconds) of path and, for a directory, of everything below it
 * (a few levels: squidGuard category folders).  ctime counts too, so a list renamed into
 * place with an old mtime is still seen. */
static int64_t newest_change(const char *path, int depth)
{
	struct stat st;
	int64_t t, best;
	if (stat(path, &st) != 0)
		return 0;
	best = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	t = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	if (t > best)
		best = t;
	if (S_ISDIR(st.st_mode) && depth < 4) {
		DIR *d = opendir(path);
		struct dirent *e;
		char sub[4096];
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >=
			    sizeof sub)
				continue;
			t = newest_change(sub, depth + 1);
			if (t > best)
				best = t;
		}
		if (d)
			closedir(d);
	}
	return best;
}

static int64_t lists_stamp(void)
{
	int64_t a = newest_change(cfg_lists, 0), b = cfg_map ? newest_change(cfg_map, 0) : 0;
	return a > b ? a : b;
}

static void *lists_reload(void *arg)
{
	ward_urllists *nl = NULL, *old;
	ward_diag d = {0};
	int64_t stamp = lists_stamp();
	ward_status st = ward_urllists_load(cfg_lists, cfg_map, NULL, NULL, &nl, &d);
	(void)arg;
	if (st == WARD_OK) {
		pthread_rwlock_wrlock(&lists_lock);
		old = lists;
		lists = nl;
		pthread_rwlock_unlock(&lists_lock);
		ward_urllists_free(old);
		ci_debug_printf(1, "ward: lists %s reloaded (%zu entries)\n", cfg_lists,
		                ward_urllists_entries(nl));
	} else {
		ci_debug_printf(
		    1, "ward: lists %s changed but do not load (%s); keeping the old ones\n",
		    cfg_lists, ward_strerror(st));
	}
	atomic_store(&lists_stamp_loaded, stamp);
	atomic_store(&lists_reloading, 0);
	return NULL;
}

/* Called on the request path: at most once per interval, one thread looks at the lists' change
 * times and, when they moved, starts a reload in the background. */
static void lists_maybe_reload(void)
{
	int64_t now = (int64_t)time(NULL), next = atomic_load(&lists_next_check);
	int zero = 0;
	pthread_t th;
	pthread_attr_t at;
	if (!cfg_lists || cfg_lists_check <= 0 || now < next ||
	    !atomic_compare_exchange_strong(&lists_next_check, &next, now + cfg_lists_check))
		return;
	if (lists_stamp() == atomic_load(&lists_stamp_loaded) ||
	    !atomic_compare_exchange_strong(&lists_reloading, &zero, 1))
		return;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &at, lists_reload, NULL) != 0)
		atomic_store(&lists_reloading, 0);
	pthread_attr_destroy(&at);
}

static int init_service(ci_service_xdata_t *x, struct ci_server_conf *server_conf)
{
	ci_service_set_preview(x, 1024);
	ci_service_enable_204(x);
	ci_service_set_transfer_preview(x, "*");
	ci_service_set_xopts(x, CI_XCLIENTIP | CI_XAUTHENTICATEDUSER);
	ci_service_set_istag(x, "ward-" WARD_VERSION);
	return pthread_key_create(&scanner_key, scanner_free) == 0 ? CI_OK : CI_ERROR;
}

/* Reads a small file into a new NUL-terminated string (caller frees), or NULL. */
static char *slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	size_t n = 0;
	if (!f)
		return NULL;
	b = malloc(max + 1);
	if (b) {
		n = fread(b, 1, max + 1, f);
		if (n > max) {
			free(b);
			b = NULL;
		} else
			b[n] = '\0';
	}
	fclose(f);
	if (len)
		*len = n;
	return b;
}

static int post_init_service(ci_service_xdata_t *x, struct ci_server_conf *server_conf)
{
	ward_diag d = {0};
	ward_status st;
	char *token = NULL;
	if (cfg_rules && (st = ward_engine_load(cfg_rules, 0, &engine, &d)) != WARD_OK) {
		ci_debug_printf(1, "ward: rules %s: %s\n", cfg_rules, ward_strerror(st));
		return CI_ERROR;
	}
	if (cfg_lists) {
		atomic_store(&lists_stamp_loaded, lists_stamp());
		atomic_store(&lists_next_check, (int64_t)time(NULL) + cfg_lists_check);
		if ((st = ward_urllists_load(cfg_lists, cfg_map, NULL, NULL, &lists, &d)) !=
		    WARD_OK) {
			ci_debug_printf(1, "ward: lists %s: %s\n", cfg_lists, ward_strerror(st));
			return CI_ERROR;
		}
	}
	if (cfg_hashlist) {
		size_t bad = 0;
		if ((st = ward_hashlist_new(&hashes)) != WARD_OK ||
		    (st = ward_hashlist_load(hashes, cfg_hashlist, NULL, NULL, &bad)) != WARD_OK ||
		    (st = ward_hashlist_build(hashes)) != WARD_OK) {
			ci_debug_printf(1, "ward: hash list %s: %s\n", cfg_hashlist,
			                ward_strerror(st));
			return CI_ERROR;
		}
		if (bad)
			ci_debug_printf(1, "ward: hash list %s: %zu lines skipped\n", cfg_hashlist,
			                bad);
	}
	if (cfg_page_file && !(page = slurp(cfg_page_file, PAGE_MAX, &page_len))) {
		ci_debug_printf(1, "ward: cannot read block page %s\n", cfg_page_file);
		return CI_ERROR;
	}
	if (cfg_token_file) {
		char *e;
		if (!(token = slurp(cfg_token_file, 4096, NULL))) {
			ci_debug_printf(1, "ward: cannot read token file %s\n", cfg_token_file);
			return CI_ERROR;
		}
		e = token + strlen(token);
		while (e > token && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
			*--e = '\0';
	}
	alert_token = token; /* the poster starts in the child that serves requests */
	ci_debug_printf(3, "ward: ready (%zu rules, %zu list entries)\n",
	                engine ? ward_engine_rule_count(engine) : 0,
	                lists ? ward_urllists_entries(lists) : 0);
	return CI_OK;
}

static void close_service(void)
{
	if (alerts && alerts_pid == getpid())
		alertq_stop(alerts, 3000);
	alerts = NULL;
	free(alert_token);
	alert_token = NULL;
	for (int i = 0; i < 300 && atomic_load(&lists_reloading); i++)
		usleep(10000); /* a reload in flight finishes first */
	pthread_rwlock_wrlock(&lists_lock);
	ward_urllists_free(lists);
	lists = NULL;
	pthread_rwlock_unlock(&lists_lock);
	ward_engine_free(engine);
	engine = NULL;
	ward_hashlist_free(hashes);
	hashes = NULL;
	/* Scanners of live threads are freed by the key's destructor as the threads end. */
	free(page);
	page = NULL;
}

static void *init_request_data(ci_request_t *req)
{
	struct wreq *r = calloc(1, sizeof *r);
	const char *v;
	if (!r)
		return NULL;
	if ((v = ci_headers_value(req->request_header, "X-Client-IP")))
		snprintf(r->ip, sizeof r->ip, "%s", v);
	if ((v = ci_headers_value(req->request_header, "X-Client-Username")) ||
	    (v = ci_headers_value(req->request_header, "X-Authenticated-User")))
		snprintf(r->user, sizeof r->user, "%s", v);
	snprintf(r->subject, sizeof r->subject, "%s%s%s", r->user, r->user[0] ? "@" : "",
	         r->ip[0] ? r->ip : "unknown");
	r->monitored = monitored(r->ip[0] ? r->ip : NULL, r->user[0] ? r->user : NULL);
	return r;
}

static void release_request_data(void *data)
{
	struct wreq *r = data;
	if (!r)
		return;
	if (r->streaming) {
		ward_scanner *s = scanner();
		if (s)
			ward_stream_end(s);
	}
	if (r->img)
		explicit_bzero(r->img, r->img_cap);
	free(r->img);
	free(r->f.p);
	free(r->url);
	free(r);
}

static void img_put(struct wreq *r, const char *b, size_t n)
{
	if (r->img_over || !n)
		return;
	if (r->img_len + n > (size_t)cfg_max_image) {
		r->img_over = 1;
		return;
	}
	if (r->img_len + n > r->img_cap) {
		size_t c = r->img_cap ? r->img_cap : 65536;
		char *q;
		while (c < r->img_len + n)
			c *= 2;
		if (!(q = malloc(c))) {
			r->img_over = 1;
			return;
		}
		if (r->img) {
			memcpy(q, r->img, r->img_len);
			explicit_bzero(r->img, r->img_cap);
			free(r->img);
		}
		r->img = q;
		r->img_cap = c;
	}
	memcpy(r->img + r->img_len, b, n);
	r->img_len += n;
}

static int on_hash_match(const ward_hash_match *m, void *ctx)
{
	struct wreq *r = ctx;
	char rule[200];
	if (m->label && m->label[0])
		snprintf(rule, sizeof rule, "hashlist:%s", m->label);
	else
		snprintf(rule, sizeof rule, "hashlist:%s:%zu", ward_hash_kind_name(m->kind),
		         m->entry + 1);
	post(r, m->area >= 0 ? m->area : WARD_AREA_ABUSE_IMAGES_SUBJECT, rule, "critical", "", -1,
	     -1);
	return 1; /* one alert per image */
}

/* Hashes the collected image and posts a match; the bytes are cleared either way. */
static void img_check(struct wreq *r)
{
	ward_image_hashes ih;
	if (r->img && !r->img_over &&
	    ward_image_hash_mem(r->img, r->img_len, WARD_IMAGE_DIHEDRAL, &ih, NULL) == WARD_OK)
		ward_hashlist_match(hashes, &ih, cfg_pdq_distance, on_hash_match, r);
	if (r->img)
		explicit_bzero(r->img, r->img_cap);
	r->img_len = 0;
}

static int is_text(const char *ct)
{
	return ct && (!strncasecmp(ct, "text/", 5) || !strncasecmp(ct, "application/json", 16) ||
	              !strncasecmp(ct, "application/xhtml", 17));
}

static int reqmod(struct wreq *r, ci_request_t *req)
{
	ward_url u = {0};
	ward_url_result res = {0};
	int act, rc = CI_MOD_ALLOW204, block = 0, alert = 0, locked = 0;
	if (!r->url || ward_url_canonicalise(r->url, strlen(r->url), &u) != WARD_OK)
		goto done;
	lists_maybe_reload();
	pthread_rwlock_rdlock(&lists_lock);
	locked = 1;
	if (ward_urllists_check(lists, &u, scanner(), on_search, r, &res) != WARD_OK)
		goto done;
	ci_debug_printf(5, "ward: %s: %s (%s)\n", u.text, ward_verdict_name(res.verdict),
	                res.category);
	act = (res.area >= 0 && res.area < WARD_AREA_COUNT) ? area_action[res.area] : ACT_DEFAULT;
	if (res.verdict == WARD_VERDICT_BLOCK) {
		block = act == ACT_DEFAULT || act == ACT_BLOCK || act == ACT_BOTH;
		alert = act == ACT_DEFAULT || act == ACT_ALERT || act == ACT_BOTH;
	} else if (res.verdict == WARD_VERDICT_FLAG && res.matched_kind != 3)
		alert =
		    act != ACT_OFF && act != ACT_BLOCK; /* a search's findings went to on_search */
	if (alert && res.matched_kind != 3) {
		char rule[600];
		snprintf(rule, sizeof rule, "list:%s", res.category);
		post(r, res.area, rule, block ? "high" : "medium", "", -1, -1);
	}
	if (block) {
		char len[64];
		r->mode = 1;
		ci_http_response_create(req, 1, 1);
		ci_http_response_add_header(req, "HTTP/1.1 403 Forbidden");
		ci_http_response_add_header(req, "Content-Type: text/html; charset=utf-8");
		ci_http_response_add_header(req, "Cache-Control: no-store");
		ci_http_response_add_header(req, "Connection: close");
		snprintf(len, sizeof len, "Content-Length: %zu",
		         page ? page_len : strlen(default_page));
		ci_http_response_add_header(req, len);
		ci_req_unlock_data(req);
		rc = CI_MOD_CONTINUE;
	}
done:
	ward_url_result_clear(&res);
	if (locked)
		pthread_rwlock_unlock(&lists_lock);
	ward_url_clear(&u);
	return rc;
}

/* The request's URL with its query (c-icap's ci_http_request_url drops the query): the
 * request line's target, or Host and the path for an origin-form target.  Returns its length,
 * or 0 when there is none or it does not fit. */
static size_t request_url(ci_request_t *req, char *out, size_t cap)
{
	ci_headers_list_t *h = ci_http_request_headers(req);
	const char *line, *t, *e, *host;
	size_t n = 0;
	if (!h || h->used < 1 || !(line = h->headers[0]) || !(t = strchr(line, ' ')))
		return 0;
	t++;
	e = strchr(t, ' ');
	if (!e)
		e = t + strlen(t);
	if (*t == '/') {
		host = ci_headers_value(h, "Host");
		if (!host)
			return 0;
		n = (size_t)snprintf(out, cap, "http://%s%.*s", host, (int)(e - t), t);
	} else
		n = (size_t)snprintf(out, cap, "%.*s", (int)(e - t), t);
	return n < cap ? n : 0;
}

static int check_preview(char *data, int len, ci_request_t *req)
{
	struct wreq *r = ci_service_data(req);
	char *url = malloc(URL_MAX);
	int rc = CI_MOD_ALLOW204;
	if (!r || !url) {
		free(url);
		return CI_MOD_ERROR;
	}
	if (request_url(req, url, URL_MAX) > 0)
		r->url = url;
	else
		free(url);
	if (req->type == ICAP_REQMOD)
		rc = reqmod(r, req);
	else if (ci_req_hasbody(req) && engine && r->monitored &&
	         is_text(ci_http_response_get_header(req, "Content-Type")) &&
	         !ci_http_response_get_header(req, "Content-Encoding") &&
	         ci_http_content_length(req) <= cfg_max_scan) {
		ward_scanner *s = scanner();
		if (s && ward_stream_begin(s, on_finding, r) == WARD_OK) {
			r->mode = 2;
			r->streaming = 1;
			rc = CI_MOD_CONTINUE;
		}
	} else if (ci_req_hasbody(req) && hashes && r->monitored &&
	           !strncasecmp(ci_http_response_get_header(req, "Content-Type") ?: "", "image/",
	                        6) &&
	           ci_http_content_length(req) <= cfg_max_image) {
		r->mode = 3;
		rc = CI_MOD_CONTINUE;
	}
	if (rc == CI_MOD_ALLOW204 && !ci_req_allow204(req))
		rc = CI_MOD_CONTINUE; /* echo */
	if (rc == CI_MOD_CONTINUE && r->mode != 1) {
		if (len > 0 && fifo_put(&r->f, data, (size_t)len) != 0)
			return CI_MOD_ERROR;
		if (r->mode == 2 && len > 0) {
			ward_stream_write(scanner(), data, (size_t)len);
			r->scanned += (size_t)len;
		}
		if (r->mode == 3)
			img_put(r, data, (size_t)len);
		ci_req_unlock_data(req);
	}
	return rc;
}

static int end_of_data(ci_request_t *req)
{
	struct wreq *r = ci_service_data(req);
	if (r && r->streaming) {
		ward_stream_end(scanner());
		r->streaming = 0;
	}
	if (r && r->mode == 3)
		img_check(r);
	if (r)
		r->eof = 1;
	return CI_MOD_DONE;
}

static int service_io(char *wbuf, int *wlen, char *rbuf, int *rlen, int iseof, ci_request_t *req)
{
	struct wreq *r = ci_service_data(req);
	if (!r)
		return CI_ERROR;
	if (rbuf && rlen && *rlen > 0 && r->mode != 1) {
		if (fifo_put(&r->f, rbuf, (size_t)*rlen) != 0)
			return CI_ERROR;
		if (r->mode == 2 && r->streaming) {
			size_t n = (size_t)*rlen;
			if (r->scanned + n > (size_t)cfg_max_scan)
				n = (size_t)cfg_max_scan - r->scanned;
			if (n)
				ward_stream_write(scanner(), rbuf, n);
			r->scanned += n;
		}
		if (r->mode == 3)
			img_put(r, rbuf, (size_t)*rlen);
	}
	if (iseof)
		r->eof = 1;
	if (wbuf && wlen) {
		if (r->mode == 1) {
			const char *p = page ? page : default_page;
			size_t total = page ? page_len : strlen(default_page),
			       n = total - r->page_off;
			if (n > (size_t)*wlen)
				n = (size_t)*wlen;
			memcpy(wbuf, p + r->page_off, n);
			r->page_off += n;
			*wlen = n ? (int)n : CI_EOF;
		} else {
			size_t n = r->f.len - r->f.off;
			if (n > (size_t)*wlen)
				n = (size_t)*wlen;
			memcpy(wbuf, r->f.p + r->f.off, n);
			r->f.off += n;
			*wlen = n ? (int)n : (r->eof ? CI_EOF : 0);
		}
	}
	return CI_OK;
}

CI_DECLARE_MOD_DATA ci_service_module_t service = {"ward",
                                                   "ward child-safety filter",
                                                   ICAP_REQMOD | ICAP_RESPMOD,
                                                   init_service,
                                                   post_init_service,
                                                   close_service,
                                                   init_request_data,
                                                   release_request_data,
                                                   check_preview,
                                                   end_of_data,
                                                   service_io,
                                                   conf_table,
                                                   NULL};
