/* ward ingest: follows Squid access logs and DNS query logs as they grow, through rotation and
 * truncation, and posts what the web filter flags or blocks to wardd as alerts.  The position
 * in each log is kept in a state file, so a restart neither skips nor repeats lines. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ward/ward.h>

#include "../icap/alertq.h"
#include "cli.h"
#include "ingest_dns.h"

#define SOURCES_MAX  16
#define LINE_MAX_    8192
#define MONITORS_MAX 64

enum { KIND_SQUID, KIND_DNS, KIND_CHAT };
#define CHAT_MAX (256u << 20)

struct source {
	const char *path;
	int kind, fd;
	ino_t ino;
	off_t off; /* end of the last whole line read */
	char buf[LINE_MAX_];
	size_t have;
	int skipping; /* inside a line longer than LINE_MAX_ */
};

struct monitor {
	int family, bits;
	unsigned char addr[16];
	char name[64];
};

struct ingest {
	struct source src[SOURCES_MAX];
	int n_src;
	const char *state;
	ward_urllists *lists;
	ward_engine *engine;
	ward_scanner *sc;
	alertq *q;
	struct monitor mon[MONITORS_MAX];
	int n_mon;
	int quiet_from, quiet_to;
	int area_off[WARD_AREA_COUNT];
	size_t lines, alerts;
};

static volatile sig_atomic_t stop;
static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

static int add_monitor(struct ingest *g, const char *s)
{
	struct monitor m = {0};
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	if (g->n_mon >= MONITORS_MAX)
		return -1;
	if (!strncmp(s, "user:", 5)) {
		if (strlen(s + 5) >= sizeof m.name)
			return -1;
		snprintf(m.name, sizeof m.name, "%s", s + 5);
	} else {
		if (hl >= sizeof host)
			return -1;
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET, host, m.addr) == 1)
			m.family = AF_INET, m.bits = 32;
		else if (inet_pton(AF_INET6, host, m.addr) == 1)
			m.family = AF_INET6, m.bits = 128;
		else
			return -1;
		if (slash) {
			char *e;
			long b = strtol(slash + 1, &e, 10);
			if (*e || e == slash + 1 || b < 0 || b > m.bits)
				return -1;
			m.bits = (int)b;
		}
	}
	g->mon[g->n_mon++] = m;
	return 0;
}

static int monitored(const struct ingest *g, const char *ip, const char *user)
{
	unsigned char a[16];
	int fam = 0, ok = g->n_mon == 0;
	if (inet_pton(AF_INET, ip, a) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, ip, a) == 1)
		fam = AF_INET6;
	for (int i = 0; i < g->n_mon && !ok; i++) {
		const struct monitor *m = &g->mon[i];
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

static int parse_quiet(struct ingest *g, const char *s)
{
	int h1, m1, h2, m2, n = 0;
	if (sscanf(s, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) != 4 || s[n] || h1 > 24 ||
	    h2 > 24 || m1 > 59 || m2 > 59 || h1 < 0 || h2 < 0 || m1 < 0 || m2 < 0)
		return -1;
	g->quiet_from = h1 * 60 + m1;
	g->quiet_to = h2 * 60 + m2;
	return 0;
}

/* Quiet hours are judged by the time of the logged event, in local time. */
static int quiet_at(const struct ingest *g, time_t t)
{
	struct tm tm;
	int m;
	if (g->quiet_from < 0)
		return 0;
	localtime_r(&t, &tm);
	m = tm.tm_hour * 60 + tm.tm_min;
	return g->quiet_from <= g->quiet_to ? (m >= g->quiet_from && m < g->quiet_to)
	                                    : (m >= g->quiet_from || m < g->quiet_to);
}

struct hit {
	struct ingest *g;
	const char *rule, *excerpt;
	char rulebuf[128], ex[WARD_EXCERPT_MAX + 1];
	int area;
	ward_severity sev;
};

static void on_search(const ward_finding *f, void *ctx)
{
	struct hit *h = ctx;
	size_t n = f->excerpt_len < WARD_EXCERPT_MAX ? f->excerpt_len : WARD_EXCERPT_MAX;
	if (h->rule && f->rule->severity <= h->sev)
		return;
	snprintf(h->rulebuf, sizeof h->rulebuf, "%s", f->rule->id);
	h->rule = h->rulebuf;
	h->sev = f->rule->severity;
	h->area = (int)f->rule->area;
	for (size_t i = 0; i < n; i++)
		h->ex[i] = (unsigned char)f->excerpt[i] < 0x20 ? ' ' : f->excerpt[i];
	h->ex[n] = '\0';
	h->excerpt = h->ex;
}

/* Checks one URL and posts an alert when the lists or the search rules flag or block it. */
static void check(struct ingest *g, const char *source, const char *url, size_t url_len,
                  const char *client, const char *user, time_t when, const char *line)
{
	ward_url u = {0};
	ward_url_result r = {0};
	struct hit h = {.g = g, .area = -1};
	if (ward_url_canonicalise(url, url_len, &u) != WARD_OK ||
	    ward_urllists_check(g->lists, &u, g->sc, on_search, &h, &r) != WARD_OK ||
	    r.verdict == WARD_VERDICT_ALLOW)
		goto done;
	if (!h.rule) {
		snprintf(h.rulebuf, sizeof h.rulebuf, "list:%s", r.category);
		h.rule = h.rulebuf;
		h.area = r.area;
		h.sev = r.verdict == WARD_VERDICT_BLOCK ? WARD_SEV_HIGH : WARD_SEV_MEDIUM;
		h.excerpt = "";
	}
	if (h.area < 0 || h.area >= WARD_AREA_COUNT || g->area_off[h.area] ||
	    !monitored(g, client, user) || quiet_at(g, when))
		goto done;
	{
		char subject[256];
		alertq_alert a = {0};
		snprintf(subject, sizeof subject, "%s%s%s", user ? user : "", user ? "@" : "",
		         client);
		a.area = ward_area_get((ward_area)h.area)->id;
		a.rule = h.rule;
		a.severity = ward_severity_name(h.sev);
		a.source = source;
		a.subject = subject;
		a.excerpt = h.excerpt;
		a.url = u.text;
		a.start = a.end = -1;
		a.dedup_extra = line;
		alertq_post(g->q, &a);
		g->alerts++;
	}
done:
	ward_url_result_clear(&r);
	ward_url_clear(&u);
}

static void line_in(struct ingest *g, struct source *s, char *line, size_t len)
{
	char client[64], user[128];
	g->lines++;
	if (s->kind == KIND_SQUID) {
		ward_squid_entry e;
		if (ward_squid_parse(line, len, &e) != WARD_OK || e.client_len >= sizeof client ||
		    e.user_len >= sizeof user)
			return;
		memcpy(client, e.client, e.client_len);
		client[e.client_len] = '\0';
		memcpy(user, e.user, e.user_len);
		user[e.user_len] = '\0';
		check(g, "squid-log", e.url, e.url_len, client, strcmp(user, "-") ? user : NULL,
		      (time_t)e.time, line);
	} else {
		dnslog_entry e;
		char url[300];
		if (dnslog_parse(line, len, &e) != 0 || e.client_len >= sizeof client)
			return;
		memcpy(client, e.client, e.client_len);
		client[e.client_len] = '\0';
		snprintf(url, sizeof url, "http://%.*s/", (int)e.name_len, e.name);
		check(g, "dns-log", url, strlen(url), client, NULL, time(NULL), line);
	}
}

/* A chat export is read whole through the conversation model, once for each version of the
 * file (inode and size), and each sender who crosses a level raises one alert. */
static size_t chat_pump(struct ingest *g, struct source *s)
{
	struct stat st;
	char *buf = NULL;
	ward_conv *c = NULL;
	size_t got = 0;
	FILE *f = NULL;
	if (stat(s->path, &st) != 0 || (st.st_ino == s->ino && st.st_size == s->off) ||
	    st.st_size <= 0 || (unsigned long long)st.st_size > CHAT_MAX)
		goto done;
	if (!(f = fopen(s->path, "rb")) || !(buf = malloc((size_t)st.st_size)) ||
	    fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		goto done;
	got = (size_t)st.st_size;
	s->ino = st.st_ino;
	s->off = st.st_size;
	if (ward_conv_scan_chat(g->engine, NULL, buf, got, WARD_CHAT_AUTO, NULL, NULL, &c, NULL,
	                        NULL) != WARD_OK)
		goto done;
	for (size_t i = 0; i < ward_conv_alert_count(c); i++) {
		const ward_conv_alert *a = ward_conv_alert_get(c, i);
		alertq_alert al = {0};
		char rule[64], extra[4200];
		if (a->level == WARD_LEVEL_NONE || g->area_off[a->area] ||
		    !monitored(g, "", a->recipient) || quiet_at(g, time(NULL)))
			continue;
		snprintf(rule, sizeof rule, "conversation:%s", ward_conv_level_name(a->level));
		snprintf(extra, sizeof extra, "%s\n%s", s->path, a->sender);
		al.area = ward_area_get(a->area)->id;
		al.rule = rule;
		al.severity = ward_conv_level_name(a->level);
		al.source = "chat-export";
		al.subject = a->recipient[0] ? a->recipient : a->sender;
		al.excerpt = a->sender; /* who wrote: the DSL reads the evidence in the export */
		al.start = a->nevidence ? (long long)a->evidence[0].start : -1;
		al.end = a->nevidence ? (long long)a->evidence[0].end : -1;
		al.dedup_extra = extra;
		alertq_post(g->q, &al);
		g->alerts++;
	}
done:
	ward_conv_free(c);
	free(buf);
	if (f)
		fclose(f);
	return got;
}

/* Reads what s has gained since the last call.  Returns bytes read. */
static size_t pump(struct ingest *g, struct source *s)
{
	struct stat st, now;
	size_t total = 0;
	if (s->kind == KIND_CHAT)
		return chat_pump(g, s);
	if (s->fd < 0) {
		s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0 || fstat(s->fd, &st) != 0)
			goto fail;
		/* The saved position holds only for the same file, not truncated below it. */
		if (st.st_ino != s->ino || st.st_size < s->off)
			s->off = 0;
		s->ino = st.st_ino;
		if (lseek(s->fd, s->off, SEEK_SET) < 0)
			goto fail;
		s->have = 0;
		s->skipping = 0;
	}
	for (;;) {
		ssize_t n = read(s->fd, s->buf + s->have, sizeof s->buf - s->have);
		size_t start = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
		s->have += (size_t)n;
		for (size_t i = 0; i < s->have; i++) {
			if (s->buf[i] != '\n')
				continue;
			s->buf[i] = '\0';
			if (!s->skipping)
				line_in(g, s, s->buf + start, i - start);
			s->skipping = 0;
			s->off += (off_t)(i + 1 - start);
			start = i + 1;
		}
		memmove(s->buf, s->buf + start, s->have - start);
		s->have -= start;
		if (s->have == sizeof s->buf) { /* a line too long: skipped to its end */
			s->off += (off_t)s->have;
			s->have = 0;
			s->skipping = 1;
		}
	}
	/* At the end: a new file under the name means rotation, a shorter one truncation. */
	if (stat(s->path, &now) == 0 && fstat(s->fd, &st) == 0) {
		if (now.st_ino != st.st_ino) {
			close(s->fd);
			s->fd = -1;
			s->ino = now.st_ino;
			s->off = 0;
		} else if (now.st_size < s->off + (off_t)s->have) {
			lseek(s->fd, 0, SEEK_SET);
			s->off = 0;
			s->have = 0;
			s->skipping = 0;
		}
	}
	return total;
fail:
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return 0;
}

static void state_load(struct ingest *g)
{
	FILE *f = g->state ? fopen(g->state, "r") : NULL;
	char path[4096];
	unsigned long long ino, off;
	if (!f)
		return;
	while (fscanf(f, "%llu %llu %4095[^\n]\n", &ino, &off, path) == 3)
		for (int i = 0; i < g->n_src; i++)
			if (!strcmp(g->src[i].path, path)) {
				g->src[i].ino = (ino_t)ino;
				g->src[i].off = (off_t)off;
			}
	fclose(f);
}

/* Written aside and renamed, so a crash leaves the old state or the new, never half. */
static int state_save(const struct ingest *g)
{
	char tmp[4200];
	FILE *f;
	int ok;
	if (!g->state)
		return 0;
	snprintf(tmp, sizeof tmp, "%s.tmp", g->state);
	if (!(f = fopen(tmp, "w")))
		return -1;
	for (int i = 0; i < g->n_src; i++)
		fprintf(f, "%llu %llu %s\n", (unsigned long long)g->src[i].ino,
		        (unsigned long long)g->src[i].off, g->src[i].path);
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = (fclose(f) == 0) && ok;
	return ok && rename(tmp, g->state) == 0 ? 0 : -1;
}

int cmd_ingest(int argc, char **argv)
{
	static const struct option opts[] = {{"squid-log", required_argument, NULL, 's'},
	                                     {"dns-log", required_argument, NULL, 'd'},
	                                     {"chat", required_argument, NULL, 'c'},
	                                     {"state", required_argument, NULL, 'S'},
	                                     {"wardd", required_argument, NULL, 'w'},
	                                     {"token-file", required_argument, NULL, 't'},
	                                     {"spool", required_argument, NULL, 'p'},
	                                     {"lists", required_argument, NULL, 'l'},
	                                     {"map", required_argument, NULL, 'm'},
	                                     {"rules", required_argument, NULL, 'r'},
	                                     {"monitor", required_argument, NULL, 1},
	                                     {"quiet-hours", required_argument, NULL, 2},
	                                     {"area-off", required_argument, NULL, 3},
	                                     {"once", no_argument, NULL, 4},
	                                     {"interval", required_argument, NULL, 5},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct ingest *g = calloc(1, sizeof *g);
	const char *wardd = NULL, *token_file = NULL, *spool = NULL, *lists = NULL, *map = NULL,
	           *rules = NULL;
	char token[4096] = "", spool_buf[4200];
	int c, once = 0, rc = EXIT_TROUBLE;
	long interval = 500;
	ward_diag d = {0};
	if (!g)
		return EXIT_TROUBLE;
	g->quiet_from = g->quiet_to = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:d:c:S:w:t:p:l:m:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
		case 'd':
		case 'c':
			if (g->n_src >= SOURCES_MAX) {
				cli_error("ingest: at most %d logs", SOURCES_MAX);
				goto done;
			}
			g->src[g->n_src].path = optarg;
			g->src[g->n_src].kind = c == 's'   ? KIND_SQUID
			                        : c == 'd' ? KIND_DNS
			                                   : KIND_CHAT;
			g->src[g->n_src++].fd = -1;
			break;
		case 'S':
			g->state = optarg;
			break;
		case 'w':
			wardd = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'p':
			spool = optarg;
			break;
		case 'l':
			lists = optarg;
			break;
		case 'm':
			map = optarg;
			break;
		case 'r':
			rules = optarg;
			break;
		case 1:
			if (add_monitor(g, optarg) != 0) {
				cli_error(
				    "ingest: --monitor %s: not an address, prefix or user:NAME",
				    optarg);
				goto done;
			}
			break;
		case 2:
			if (parse_quiet(g, optarg) != 0) {
				cli_error("ingest: --quiet-hours %s: want HH:MM-HH:MM", optarg);
				goto done;
			}
			break;
		case 3: {
			int a = ward_area_from_id(optarg);
			if (a < 0) {
				cli_error("ingest: --area-off %s: no such area", optarg);
				goto done;
			}
			g->area_off[a] = 1;
			break;
		}
		case 4:
			once = 1;
			break;
		case 5: {
			char *e;
			interval = strtol(optarg, &e, 10);
			if (*e || interval < 10 || interval > 600000) {
				cli_error("ingest: --interval %s: 10 to 600000 ms", optarg);
				goto done;
			}
			break;
		}
		case 'h':
			cli_usage(stdout, "ingest");
			rc = EXIT_CLEAN;
			goto done;
		default:
			cli_usage(stderr, "ingest");
			goto done;
		}
	}
	if (!g->n_src || !g->state || !wardd || optind < argc) {
		cli_error("ingest: needs --state, --wardd and at least one --squid-log, --dns-log "
		          "or --chat");
		goto done;
	}
	if (token_file) {
		FILE *f = fopen(token_file, "r");
		size_t n;
		if (!f || !fgets(token, sizeof token, f)) {
			cli_error("ingest: cannot read the token file %s", token_file);
			if (f)
				fclose(f);
			goto done;
		}
		fclose(f);
		n = strcspn(token, "\r\n");
		token[n] = '\0';
	}
	if (!spool) {
		snprintf(spool_buf, sizeof spool_buf, "%s.spool", g->state);
		spool = spool_buf;
	}
	if (cli_load_engine(rules, &g->engine) != WARD_OK ||
	    ward_scanner_new(g->engine, &g->sc) != WARD_OK)
		goto done;
	if (lists && ward_urllists_load(lists, map, NULL, NULL, &g->lists, &d) != WARD_OK) {
		cli_error("ingest: lists %s: %s", d.file[0] ? d.file : lists, d.message);
		goto done;
	}
	if (!(g->q = alertq_start(wardd, token_file ? token : NULL, spool, ALERTQ_DEFAULT_CAP))) {
		cli_error("ingest: cannot start the alert poster");
		goto done;
	}
	state_load(g);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop) {
		size_t got = 0;
		struct timespec ts = {interval / 1000, (interval % 1000) * 1000000};
		for (int i = 0; i < g->n_src; i++)
			got += pump(g, &g->src[i]);
		if (state_save(g) != 0) {
			cli_error("ingest: cannot write the state file %s", g->state);
			goto done;
		}
		if (once && !got)
			break;
		if (!got)
			nanosleep(&ts, NULL);
	}
	rc = EXIT_CLEAN;
done:
	alertq_stop(g->q, 5000); /* what wardd has not taken goes to the spool */
	for (int i = 0; i < g->n_src; i++)
		if (g->src[i].fd >= 0)
			close(g->src[i].fd);
	ward_scanner_free(g->sc);
	ward_engine_free(g->engine);
	ward_urllists_free(g->lists);
	free(g);
	return rc;
}
