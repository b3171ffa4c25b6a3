/* notify.c: DSL alerting.  A new concern (and a high or promoted alert) reaches the DSL team at
 * once: in the API as an unacknowledged notice, and by email over SMTP (libcurl) carrying no
 * case details, only a link.  Nobody acknowledges within the school's set minutes: it escalates
 * to the deputy DSL, then the head.  Sending and escalating are claimed one notice at a time in a
 * write transaction (store notice_claim), so two wardd processes on one database never send the
 * same stage twice.  Acknowledgement and every stage are in the audit chain. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "alerts.h"
#include "cases.h"
#include "http.h"
#include "notify.h"
#include "store_alerts.h"

#define TICK_MS   1000
#define MAX_RCPTS 20

int64_t srv_notify_now(void)
{
	int64_t now = (int64_t)time(NULL);
	const char *path = getenv("WARDD_TEST_CLOCK");
	if (path && *path) {
		FILE *f = fopen(path, "r");
		char buf[32] = "";
		if (f) {
			if (fgets(buf, sizeof buf, f)) {
				char *end = NULL;
				errno = 0;
				long long off = strtoll(buf, &end, 10);
				if (end != buf && !errno && off > -(1LL << 40) && off < (1LL << 40))
					now += off;
			}
			fclose(f);
		}
	}
	return now;
}

/* ---- email ---- */

typedef struct mail_src {
	const char *p;
	size_t left;
} mail_src;

static size_t mail_read(char *buf, size_t size, size_t n, void *ud)
{
	mail_src *m = ud;
	size_t k = size * n < m->left ? size * n : m->left;
	memcpy(buf, m->p, k);
	m->p += k;
	m->left -= k;
	return k;
}

/* Sends one plain-text message to the comma-separated addresses in to.  0 when the server
 * took it. */
static int mail_send(const srv_notify_settings *set, const char *to, const char *subject,
                     const char *body, const char *msgid)
{
	char msg[4096], date[64], addr[MAX_RCPTS][256];
	struct curl_slist *rcpt = NULL;
	int n = 0, rc = -1;
	time_t t = time(NULL);
	struct tm tm;
	CURL *c;
	mail_src src;
	const char *p = to;
	while (*p && n < MAX_RCPTS) {
		size_t l = strcspn(p, ",");
		if (l > 0 && l < sizeof addr[0]) {
			snprintf(addr[n], sizeof addr[n], "<%.*s>", (int)l, p);
			rcpt = curl_slist_append(rcpt, addr[n]);
			n++;
		}
		p += l;
		if (*p == ',')
			p++;
	}
	if (!n || !set->smtp_url[0])
		goto done;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(msg, sizeof msg,
	         "Date: %s\r\nTo: %s\r\nFrom: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n"
	         "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
	         date, to, set->mail_from[0] ? set->mail_from : "ward@localhost", subject, msgid,
	         body);
	src.p = msg;
	src.left = strlen(msg);
	c = curl_easy_init();
	if (!c)
		goto done;
	curl_easy_setopt(c, CURLOPT_URL, set->smtp_url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM,
	                 set->mail_from[0] ? set->mail_from : "ward@localhost");
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, mail_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &src);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	CURLcode cr = curl_easy_perform(c);
	if (cr != CURLE_OK)
		fprintf(stderr, "wardd: notify: mail to %s: %s\n", to, curl_easy_strerror(cr));
	rc = cr == CURLE_OK ? 0 : -1;
	curl_easy_cleanup(c);
done:
	curl_slist_free_all(rcpt);
	return rc;
}

/* The message for a claimed notice: what it is and a link, never the case itself. */
static void notice_send(const srv_notice *n, const srv_notify_settings *set)
{
	char subject[160], body[1200], link[400], msgid[96];
	const char *to = n->stage == 1   ? set->dsl_emails
	                 : n->stage == 2 ? set->deputy_emails
	                                 : set->head_emails;
	const char *what = strcmp(n->kind, "concern") == 0 ? "safeguarding concern"
	                                                   : "high-severity detection alert";
	snprintf(link, sizeof link, "%s/%ss/%lld", set->base_url[0] ? set->base_url : "", n->kind,
	         (long long)n->ref_id);
	if (n->stage == 1)
		snprintf(subject, sizeof subject, "ward: a new %s needs the DSL now", what);
	else
		snprintf(subject, sizeof subject, "ward: ESCALATED: a %s is not yet acknowledged",
		         what);
	snprintf(
	    body, sizeof body,
	    "%s\r\n\r\nOpen it in ward and acknowledge it:\r\n%s\r\n\r\n"
	    "This email holds no case details on purpose. Sign in to ward to read the case.\r\n"
	    "%s\r\n",
	    n->stage == 1 ? "A new item needs the designated safeguarding lead now."
	                  : "Nobody has acknowledged this item within the school's set time, "
	                    "so it has been escalated to you.",
	    link,
	    n->stage == 1   ? "If nobody acknowledges it in time it goes to the deputy DSL."
	    : n->stage == 2 ? "If nobody acknowledges it in time it goes to the head."
	                    : "This is the last escalation.");
	snprintf(msgid, sizeof msgid, "notice-%lld-%lld@ward", (long long)n->id,
	         (long long)n->stage);
	if (!to[0])
		fprintf(stderr, "wardd: notify: no addresses for stage %lld of notice %lld\n",
		        (long long)n->stage, (long long)n->id);
	else if (!set->smtp_url[0])
		fprintf(stderr, "wardd: notify: no SMTP server set; notice %lld not emailed\n",
		        (long long)n->id);
	else
		mail_send(set, to, subject, body, msgid);
}

/* Puts an alerting event in a concern's chronology (casework, cases.c), as an action by
 * actor (0 and "wardd" for the timer).  Best effort: a failure is logged, the audit chain
 * already holds the event. */
static void chronology_note(srv_server *s, int64_t school, int64_t actor, const char *name,
                            int64_t concern, const char *text)
{
	srv_request q;
	char at[32];
	time_t t = (time_t)srv_notify_now();
	struct tm tm;
	json_t *body;
	gmtime_r(&t, &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	body = json_pack("{s:s, s:s, s:s}", "type", "action", "at", at, "text", text);
	if (!body || !s->store->cases)
		goto done;
	memset(&q, 0, sizeof q);
	q.srv = s;
	q.user.school_id = school;
	q.user.id = actor;
	snprintf(q.user.username, sizeof q.user.username, "%s", name);
	snprintf(q.client, sizeof q.client, "wardd");
	if (case_entry_add(&q, concern, "chronology", "", json_incref(body), "case.chronology",
	                   NULL) != 0)
		fprintf(stderr, "wardd: notify: chronology of concern %lld: %s\n",
		        (long long)concern, s->store->err);
	json_decref(q.json);
done:
	json_decref(body);
}

static void chronology_stage(srv_server *s, const srv_notice *n)
{
	/* The first email is routine and stays in the audit chain; an escalation is a fact of the
	 * case. */
	static const char *const what[] = {
	    NULL, NULL, "Not acknowledged in time: escalated to the deputy DSL by email.",
	    "Still not acknowledged: escalated to the head by email."};
	if (strcmp(n->kind, "concern") == 0 && n->stage >= 2 && n->stage <= 3)
		chronology_note(s, n->school_id, 0, "wardd", n->ref_id, what[n->stage]);
}

/* ---- the timer thread ---- */

/* Every wardd runs one.  It keeps nothing between ticks: what is due, and which process sends
 * it, is decided by the claim in the store, so with several wardd on one database a stage is
 * sent once.  The claim commits before the email goes: a process stopped between the two loses
 * that email (at most once, never twice), while the notice stays unacknowledged in the API
 * and the next stage escalates when due. */
static struct {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int running, stop;
	srv_server *srv;
} timer = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *timer_main(void *arg)
{
	srv_server *srv = arg;
	srv_store *st = srv->store;
	pthread_mutex_lock(&timer.mu);
	while (!timer.stop) {
		struct timespec ts;
		pthread_mutex_unlock(&timer.mu);
		for (int i = 0; i < 100; i++) {
			srv_notice n;
			srv_notify_settings set;
			if (st->alerts->notice_claim(st, srv_notify_now(), &n, &set) != WARD_OK)
				break;
			notice_send(&n, &set);
			chronology_stage(srv, &n);
		}
		pthread_mutex_lock(&timer.mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)TICK_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		if (!timer.stop)
			pthread_cond_timedwait(&timer.cv, &timer.mu, &ts);
	}
	pthread_mutex_unlock(&timer.mu);
	return NULL;
}

static int notify_start(srv_server *s)
{
	if (!s->store->alerts)
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	timer.stop = 0;
	timer.srv = s;
	if (pthread_create(&timer.th, NULL, timer_main, s) != 0)
		return -1;
	timer.running = 1;
	return 0;
}

static void notify_stop(srv_server *s)
{
	(void)s;
	if (!timer.running)
		return;
	pthread_mutex_lock(&timer.mu);
	timer.stop = 1;
	pthread_cond_signal(&timer.cv);
	pthread_mutex_unlock(&timer.mu);
	pthread_join(timer.th, NULL);
	timer.running = 0;
}

/* ---- routes ---- */

static int notice_add(void *ctx, const srv_notice *n)
{
	json_array_append_new(
	    ctx, json_pack("{s:I, s:s, s:I, s:I, s:I, s:s}", "id", (json_int_t)n->id, "kind",
	                   n->kind, "ref_id", (json_int_t)n->ref_id, "raised_at",
	                   (json_int_t)n->raised_at, "stage", (json_int_t)n->stage, "sent_to",
	                   n->stage == 0   ? "nobody yet"
	                   : n->stage == 1 ? "dsl"
	                   : n->stage == 2 ? "deputy-dsl"
	                                   : "head"));
	return 0;
}

static void h_notice_list(srv_request *r)
{
	json_t *a = json_array();
	if (r->srv->store->alerts->notice_list(r->srv->store, r->user.school_id, notice_add, a) !=
	    WARD_OK) {
		json_decref(a);
		srv_problem(r, 503, "Store unavailable",
		            "the notices could not be read; try again");
		return;
	}
	srv_audit_action(r, "notice.list", "notices");
	srv_reply(r, 200, json_pack("{s:o}", "notices", a));
}

static void h_concern_ack(srv_request *r)
{
	srv_store *st = r->srv->store;
	srv_concern c, n;
	srv_audit_in au = {r->user.school_id, r->user.id, "notice.acknowledge", NULL, r->client};
	char msg[96];
	memset(&c, 0, sizeof c);
	memset(&n, 0, sizeof n);
	if (!srv_body_none(r->body, r->body_len, msg, sizeof msg)) {
		srv_problem(r, 400, "Invalid request body", msg);
		return;
	}
	if (st->ops->concern_get(st, r->user.school_id, r->ids[0], &c) != WARD_OK) {
		srv_problem(r, 404, "Not found", "no concern with that id in your school");
		goto done;
	}
	ward_status rc =
	    st->alerts->notice_ack(st, r->user.school_id, "concern", c.id, srv_notify_now(), &au);
	if (rc == WARD_EINVAL) {
		srv_problem(r, 409, "Already acknowledged",
		            "someone has acknowledged this concern");
		goto done;
	}
	if (rc != WARD_OK && rc != WARD_ENOENT) {
		srv_problem(r, 503, "Store unavailable", "the acknowledgement was not saved");
		goto done;
	}
	{
		char text[160];
		snprintf(text, sizeof text, "Acknowledged by %s (%s).", r->user.username,
		         srv_role_name(r->user.role));
		chronology_note(r->srv, r->user.school_id, r->user.id, r->user.username, c.id,
		                text);
	}
	/* A new concern moves to acknowledged: a new version with the same sealed payload (its
	 * associated data binds the concern and school, not the version). */
	if (strcmp(c.status, "new") == 0) {
		srv_audit_in av = {r->user.school_id, r->user.id, "concern.acknowledge", NULL,
		                   r->client};
		n = c;
		n.version = c.version + 1;
		snprintf(n.status, sizeof n.status, "acknowledged");
		n.payload = malloc(c.payload_len ? c.payload_len : 1);
		if (!n.payload) {
			srv_problem(r, 500, "Out of memory", NULL);
			goto done;
		}
		memcpy(n.payload, c.payload, c.payload_len);
		if (st->ops->concern_put(st, &n, &av) != WARD_OK) {
			srv_problem(
			    r, 409, "Version conflict",
			    "acknowledged, but the concern changed meanwhile; read it again");
			goto done;
		}
	}
	srv_reply(r, 200,
	          json_pack("{s:I, s:b, s:s}", "id", (json_int_t)c.id, "acknowledged", 1, "status",
	                    n.payload ? n.status : c.status));
done:
	srv_concern_clear(&c);
	srv_concern_clear(&n);
}

/* A comma-separated list as a JSON array. */
static json_t *addr_array(const char *s)
{
	json_t *a = json_array();
	while (*s) {
		size_t l = strcspn(s, ",");
		if (l)
			json_array_append_new(a, json_stringn(s, l));
		s += l;
		if (*s == ',')
			s++;
	}
	return a;
}

static json_t *settings_json(const srv_notify_settings *n)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:o, s:o, s:o, s:s}", "escalation_minutes",
	                 (json_int_t)n->escalation_minutes, "dedup_minutes",
	                 (json_int_t)n->dedup_minutes, "smtp_url", n->smtp_url, "mail_from",
	                 n->mail_from, "dsl_emails", addr_array(n->dsl_emails), "deputy_emails",
	                 addr_array(n->deputy_emails), "head_emails", addr_array(n->head_emails),
	                 "base_url", n->base_url);
}

static void h_settings_get(srv_request *r)
{
	srv_notify_settings n;
	if (r->srv->store->alerts->settings_get(r->srv->store, r->user.school_id, &n) != WARD_OK) {
		srv_problem(r, 503, "Store unavailable", "the settings could not be read");
		return;
	}
	srv_reply(r, 200, settings_json(&n));
}

/* A plain address: local@domain, letters, digits and . _ % + - only (no header tricks). */
static int email_ok(const char *s)
{
	const char *at = strchr(s, '@');
	size_t n = strlen(s);
	if (!at || at == s || !at[1] || strchr(at + 1, '@') || n > 254 || !strchr(at, '.'))
		return 0;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._%+-@", *p))
			return 0;
	return 1;
}

static int url_ok(const char *s, const char *const *schemes)
{
	for (; *schemes; schemes++) {
		size_t l = strlen(*schemes);
		if (strncmp(s, *schemes, l) == 0 && s[l]) {
			for (const char *p = s; *p; p++)
				if (!isalnum((unsigned char)*p) &&
				    !strchr("-._~:/?#[]@!$&()*+,;=%", *p))
					return 0; /* RFC 3986 characters only */
			return 1;
		}
	}
	return 0;
}

int srv_notify_settings_apply(json_t *b, srv_notify_settings *n, char *msg, size_t cap)
{
	static const char *const smtp[] = {"smtp://", "smtps://", NULL};
	static const char *const web[] = {"http://", "https://", NULL};
	const char *k;
	json_t *v;
	if (!json_is_object(b)) {
		snprintf(msg, cap, "send one JSON object");
		return 0;
	}
	json_object_foreach(b, k, v)
	{
		if (strcmp(k, "escalation_minutes") == 0 || strcmp(k, "dedup_minutes") == 0) {
			int esc = k[0] == 'e';
			json_int_t lim = esc ? 1440 : 10080;
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > lim) {
				snprintf(msg, cap, "%s must be 1 to %lld", k, (long long)lim);
				return 0;
			}
			if (esc)
				n->escalation_minutes = json_integer_value(v);
			else
				n->dedup_minutes = json_integer_value(v);
		} else if (strcmp(k, "smtp_url") == 0 || strcmp(k, "base_url") == 0) {
			int is_smtp = k[0] == 's';
			char *dst = is_smtp ? n->smtp_url : n->base_url;
			if (!json_is_string(v) || json_string_length(v) >= sizeof n->smtp_url ||
			    (json_string_length(v) &&
			     !url_ok(json_string_value(v), is_smtp ? smtp : web))) {
				snprintf(msg, cap, "%s must be %s or empty", k,
				         is_smtp ? "smtp://HOST:PORT or smtps://..."
				                 : "an http(s) URL");
				return 0;
			}
			snprintf(dst, sizeof n->smtp_url, "%s", json_string_value(v));
			size_t l = strlen(dst);
			while (l && dst[l - 1] == '/')
				dst[--l] = '\0';
		} else if (strcmp(k, "mail_from") == 0) {
			if (!json_is_string(v) || !email_ok(json_string_value(v))) {
				snprintf(msg, cap, "mail_from must be an email address");
				return 0;
			}
			snprintf(n->mail_from, sizeof n->mail_from, "%s", json_string_value(v));
		} else if (strcmp(k, "dsl_emails") == 0 || strcmp(k, "deputy_emails") == 0 ||
		           strcmp(k, "head_emails") == 0) {
			char *dst = k[0] == 'd' && k[1] == 's' ? n->dsl_emails
			            : k[0] == 'd'              ? n->deputy_emails
			                                       : n->head_emails;
			size_t i, len = 0;
			json_t *e;
			char buf[sizeof n->dsl_emails] = "";
			if (!json_is_array(v) || json_array_size(v) > MAX_RCPTS) {
				snprintf(msg, cap, "%s must be a list of at most %d addresses", k,
				         MAX_RCPTS);
				return 0;
			}
			json_array_foreach(v, i, e)
			{
				if (!json_is_string(e) || !email_ok(json_string_value(e)) ||
				    len + json_string_length(e) + 2 >= sizeof buf) {
					snprintf(msg, cap, "%s[%zu] is not an email address", k, i);
					return 0;
				}
				len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s",
				                        len ? "," : "", json_string_value(e));
			}
			memcpy(dst, buf, sizeof buf);
		} else {
			snprintf(msg, cap, "unknown field %.64s", k);
			return 0;
		}
	}
	return 1;
}

static void h_settings_put(srv_request *r)
{
	srv_notify_settings n;
	char msg[200];
	json_error_t e;
	srv_audit_in au = {r->user.school_id, r->user.id, "notify-settings.update", NULL,
	                   r->client};
	json_t *b = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!b || !json_is_object(b)) {
		srv_problem(r, 400, "Invalid request body", "send one JSON object");
		goto done;
	}
	if (r->srv->store->alerts->settings_get(r->srv->store, r->user.school_id, &n) != WARD_OK) {
		srv_problem(r, 503, "Store unavailable", "the settings could not be read");
		goto done;
	}
	if (!srv_notify_settings_apply(b, &n, msg, sizeof msg)) {
		srv_problem(r, 400, "Invalid settings", msg);
		goto done;
	}
	if (r->srv->store->alerts->settings_put(r->srv->store, &n, &au) != WARD_OK)
		srv_problem(r, 503, "Store unavailable", "the settings were not saved; try again");
	else
		srv_reply(r, 200, settings_json(&n));
done:
	json_decref(b);
}

static const srv_route routes[] = {
    {"GET", "/api/v1/notices", h_notice_list, SRV_DSL_TEAM,
     "concerns and alerts waiting for the DSL team to acknowledge"},
    {"POST", "/api/v1/concerns/{id}/acknowledge", h_concern_ack, SRV_DSL_TEAM,
     "acknowledge a concern (stops its escalation)"},
    {"GET", "/api/v1/settings/notify", h_settings_get, SRV_R(SRV_ROLE_ADMIN),
     "the school's alerting settings"},
    {"PUT", "/api/v1/settings/notify", h_settings_put, SRV_R(SRV_ROLE_ADMIN),
     "change the school's alerting settings (escalation, addresses, SMTP)"},
    {NULL, NULL, NULL, 0, NULL},
};

const srv_module srv_module_notify = {"notify", routes, notify_start, notify_stop};
