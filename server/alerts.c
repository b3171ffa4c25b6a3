/* alerts.c: detection alerts in wardd.  Detectors (the c-icap module, `ward ingest`) post them
 * with a service token; duplicates within the school's window are merged with a count; the DSL
 * team lists and reads them (every read audited), promotes one to a concern or dismisses it with
 * a reason; a summary by area and day feeds the dashboard.
 *
 * What identifies a person or holds evidence (subject, excerpt, URL, times, a dismissal's
 * reason) is sealed at rest.  An excerpt is text only: never image bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include <ward/common.h>

#include "alerts.h"
#include "http.h"
#include "notify.h"
#include "store_alerts.h"
#include "tokens.h"

#define EXCERPT_MAX SRV_ALERT_EXCERPT_MAX
#define URL_MAX     4096
#define NOTE_MAX    4000

static const char *const severities[] = {"low", "medium", "high", "critical", NULL};
static const char *const sources[] = {"icap", "squid-log", "dns-log", "chat-export", NULL};
static const char *const statuses[] = {"new", "promoted", "dismissed", NULL};

static int one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

/* Free text: no control characters but tab and line ends. */
static int text_ok(const char *s, size_t n, int multiline)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) ||
		    c == 0x7f)
			return 0;
	}
	return 1;
}

/* An excerpt that carries an image (raw signature or a data: URI) is refused: alerts hold
 * words, never pictures. */
static int looks_like_image(const char *s, size_t n)
{
	static const char *const marks[] = {"\x89PNG",     "GIF87a",       "GIF89a",
	                                    "JFIF",        "Exif",         "WEBPVP8",
	                                    "data:image/", "\xff\xd8\xff", NULL};
	for (const char *const *m = marks; *m; m++) {
		size_t ml = strlen(*m);
		for (size_t i = 0; i + ml <= n; i++)
			if (strncasecmp(s + i, *m, ml) == 0)
				return 1;
	}
	return 0;
}

json_t *srv_alert_parse(const char *body, size_t len, char *msg, size_t cap)
{
	static const struct {
		const char *name;
		size_t max;
		int required;
	} str[] = {
	    {"area", 31, 1},
	    {"rule", 127, 1},
	    {"severity", 8, 1},
	    {"source", 15, 1},
	    {"subject", 255, 1},
	    {"time", 32, 1},
	    {"excerpt", EXCERPT_MAX, 0},
	    {"dedup_key", 128, 1},
	    {"url", URL_MAX, 0},
	};
	json_error_t e;
	json_t *b = json_loadb(body ? body : "", body ? len : 0, JSON_REJECT_DUPLICATES, &e);
	const char *k;
	json_t *v;
	if (!b || !json_is_object(b)) {
		snprintf(msg, cap, "the body must be one JSON object");
		goto bad;
	}
	json_object_foreach(b, k, v)
	{
		int known = strcmp(k, "start") == 0 || strcmp(k, "end") == 0;
		for (size_t i = 0; i < sizeof str / sizeof str[0]; i++)
			known |= strcmp(k, str[i].name) == 0;
		if (!known) {
			snprintf(msg, cap, "unknown field %.64s", k);
			goto bad;
		}
	}
	for (size_t i = 0; i < sizeof str / sizeof str[0]; i++) {
		v = json_object_get(b, str[i].name);
		if (!v || json_is_null(v)) {
			if (str[i].required) {
				snprintf(msg, cap, "%s is required", str[i].name);
				goto bad;
			}
			continue;
		}
		if (!json_is_string(v)) {
			snprintf(msg, cap, "%s must be a string", str[i].name);
			goto bad;
		}
		size_t n = json_string_length(v);
		const char *s = json_string_value(v);
		int ex = strcmp(str[i].name, "excerpt") == 0;
		if (n > str[i].max || (str[i].required && n == 0) || strlen(s) != n) {
			snprintf(msg, cap, "%s must be 1 to %zu bytes of text", str[i].name,
			         str[i].max);
			goto bad;
		}
		if (!text_ok(s, n, ex)) {
			snprintf(msg, cap, "%s contains control characters", str[i].name);
			goto bad;
		}
		if (ex && looks_like_image(s, n)) {
			snprintf(msg, cap, "excerpt must be text: image data is never accepted");
			goto bad;
		}
	}
	if (ward_area_from_id(json_string_value(json_object_get(b, "area"))) < 0) {
		snprintf(msg, cap, "area is not one of the nine area ids");
		goto bad;
	}
	if (!one_of(json_string_value(json_object_get(b, "severity")), severities)) {
		snprintf(msg, cap, "severity must be low, medium, high or critical");
		goto bad;
	}
	if (!one_of(json_string_value(json_object_get(b, "source")), sources)) {
		snprintf(msg, cap, "source must be icap, squid-log, dns-log or chat-export");
		goto bad;
	}
	for (int i = 0; i < 2; i++) {
		v = json_object_get(b, i ? "end" : "start");
		if (v && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 0)) {
			snprintf(msg, cap, "%s must be a byte offset (a whole number) or null",
			         i ? "end" : "start");
			goto bad;
		}
	}
	return b;
bad:
	json_decref(b);
	return NULL;
}

int srv_body_none(const char *body, size_t n, char *msg, size_t cap)
{
	json_error_t e;
	json_t *b;
	int ok;
	if (!body || n == 0)
		return 1;
	b = json_loadb(body, n, JSON_REJECT_DUPLICATES, &e);
	ok = b && json_is_object(b) && json_object_size(b) == 0;
	json_decref(b);
	if (!ok)
		snprintf(msg, cap, "this route takes no body: send none, or {}");
	return ok;
}

void srv_alert_ad(int64_t id, int64_t school, char *ad, size_t cap)
{
	snprintf(ad, cap, "alert/%lld/school/%lld", (long long)id, (long long)school);
}

static ward_status seal_json(srv_request *r, const char *ad, json_t *o, unsigned char **out,
                             size_t *len)
{
	char *plain = json_dumps(o, JSON_COMPACT);
	ward_status st;
	if (!plain)
		return WARD_ENOMEM;
	st = srv_seal(r->srv->key, ad, plain, strlen(plain), out, len);
	sodium_memzero(plain, strlen(plain));
	free(plain);
	return st;
}

/* The opened payload of a; NULL when it does not open. */
static json_t *open_payload(srv_request *r, const srv_alert *a)
{
	char ad[96], *plain = NULL;
	json_t *p;
	srv_alert_ad(a->id, a->school_id, ad, sizeof ad);
	if (srv_open(r->srv->key, ad, a->payload, a->payload_len, &plain) != WARD_OK)
		return NULL;
	p = json_loads(plain, 0, NULL);
	sodium_memzero(plain, strlen(plain));
	free(plain);
	return p;
}

static void h_alert_post(srv_request *r)
{
	char msg[200], ad[96];
	srv_alert a;
	srv_notify_settings set;
	int merged = 0;
	json_t *p = NULL, *b = srv_alert_parse(r->body, r->body_len, msg, sizeof msg);
	srv_store *st = r->srv->store;
	srv_audit_in au = {r->user.school_id, r->user.id, "alert.create", NULL, r->client};
	memset(&a, 0, sizeof a);
	if (!b) {
		srv_problem(r, 400, "Invalid alert", msg);
		return;
	}
	randombytes_buf(&a.id, sizeof a.id);
	a.id = (int64_t)((uint64_t)a.id & 0xffffffffffffull);
	if (a.id == 0)
		a.id = 1;
	a.school_id = r->user.school_id;
	a.token_id = -r->user.id;
	snprintf(a.area, sizeof a.area, "%s", json_string_value(json_object_get(b, "area")));
	snprintf(a.rule, sizeof a.rule, "%s", json_string_value(json_object_get(b, "rule")));
	snprintf(a.severity, sizeof a.severity, "%s",
	         json_string_value(json_object_get(b, "severity")));
	snprintf(a.source, sizeof a.source, "%s", json_string_value(json_object_get(b, "source")));
	snprintf(a.dedup_key, sizeof a.dedup_key, "%s",
	         json_string_value(json_object_get(b, "dedup_key")));
	p = json_pack("{s:O, s:O}", "subject", json_object_get(b, "subject"), "time",
	              json_object_get(b, "time"));
	for (int i = 0; i < 4; i++) {
		static const char *const opt[] = {"excerpt", "url", "start", "end"};
		json_t *v = json_object_get(b, opt[i]);
		json_object_set(p, opt[i], v ? v : json_null());
	}
	srv_alert_ad(a.id, a.school_id, ad, sizeof ad);
	if (!p || seal_json(r, ad, p, &a.payload, &a.payload_len) != WARD_OK) {
		srv_problem(r, 500, "Out of memory", NULL);
		goto done;
	}
	if (st->alerts->settings_get(st, a.school_id, &set) != WARD_OK ||
	    st->alerts->alert_post(st, &a, srv_notify_now(), set.dedup_minutes * 60, &au,
	                           &merged) != WARD_OK) {
		srv_problem(
		    r, 503, "Store unavailable",
		    "the alert could not be saved; it has not been recorded, so send it again");
		goto done;
	}
	snprintf(r->location, sizeof r->location, "/api/v1/alerts/%lld", (long long)a.id);
	srv_reply(r, merged ? 200 : 201,
	          json_pack("{s:I, s:b, s:I}", "id", (json_int_t)a.id, "merged", merged, "count",
	                    (json_int_t)a.count));
done:
	json_decref(p);
	json_decref(b);
	srv_alert_clear(&a);
}

/* The API's view of an alert; with detail, its opened payload and the area's guidance. */
static json_t *alert_json(srv_request *r, const srv_alert *a, int detail)
{
	json_t *o = json_pack(
	    "{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "id", (json_int_t)a->id, "area",
	    a->area, "rule", a->rule, "severity", a->severity, "source", a->source, "dedup_key",
	    a->dedup_key, "first_seen", (json_int_t)a->first_seen, "last_seen",
	    (json_int_t)a->last_seen, "count", (json_int_t)a->count, "status", a->status);
	if (a->concern_id)
		json_object_set_new(o, "concern_id", json_integer(a->concern_id));
	if (a->decided_at) {
		json_object_set_new(o, "decided_by", json_integer(a->decided_by));
		json_object_set_new(o, "decided_at", json_integer(a->decided_at));
	}
	json_t *p = open_payload(r, a);
	if (!p) {
		json_object_set_new(o, "unreadable", json_true());
		return o;
	}
	json_object_set(o, "subject", json_object_get(p, "subject"));
	json_object_set(o, "time", json_object_get(p, "time"));
	if (detail) {
		json_object_update(o, p);
		int ar = ward_area_from_id(a->area);
		const ward_area_info *ai = ar >= 0 ? ward_area_get((ward_area)ar) : NULL;
		if (ai && ai->guidance)
			json_object_set_new(o, "guidance", json_string(ai->guidance));
	}
	json_decref(p);
	return o;
}

typedef struct list_ctx {
	srv_request *r;
	json_t *arr;
} list_ctx;

static int alert_add(void *vctx, const srv_alert *a)
{
	list_ctx *l = vctx;
	json_array_append_new(l->arr, alert_json(l->r, a, 0));
	return 0;
}

/* since: seconds since 1970, or a date YYYY-MM-DD (UTC).  -1 when neither. */
static int64_t parse_since(const char *s)
{
	char *end = NULL;
	long long v;
	if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
		struct tm tm;
		memset(&tm, 0, sizeof tm);
		if (!strptime(s, "%Y-%m-%d", &tm))
			return -1;
		return (int64_t)timegm(&tm);
	}
	v = strtoll(s, &end, 10);
	if (!*s || *end || v < 0)
		return -1;
	return v;
}

static void h_alert_list(srv_request *r)
{
	srv_alert_filter f = {srv_query(r, "status"), srv_query(r, "area"), 0, 500};
	const char *since = srv_query(r, "since");
	list_ctx l = {r, NULL};
	if (f.status && !one_of(f.status, statuses)) {
		srv_problem(r, 400, "Invalid query", "status must be new, promoted or dismissed");
		return;
	}
	if (f.area && ward_area_from_id(f.area) < 0) {
		srv_problem(r, 400, "Invalid query", "area must be one of the nine area ids");
		return;
	}
	if (since && (f.since = parse_since(since)) < 0) {
		srv_problem(r, 400, "Invalid query",
		            "since must be a date (YYYY-MM-DD) or seconds since 1970");
		return;
	}
	l.arr = json_array();
	if (r->srv->store->alerts->alert_list(r->srv->store, r->user.school_id, &f, alert_add,
	                                      &l) != WARD_OK) {
		json_decref(l.arr);
		srv_problem(r, 503, "Store unavailable", "the alerts could not be read; try again");
		return;
	}
	srv_audit_action(r, "alert.list", "alerts");
	srv_reply(r, 200, json_pack("{s:o}", "alerts", l.arr));
}

/* Loads alert ids[0] of the caller's school; answers 404 otherwise. */
static int load_alert(srv_request *r, srv_alert *a)
{
	memset(a, 0, sizeof *a);
	if (r->srv->store->alerts->alert_get(r->srv->store, r->user.school_id, r->ids[0], a) !=
	    WARD_OK) {
		srv_alert_clear(a);
		srv_problem(r, 404, "Not found", "no alert with that id in your school");
		return 0;
	}
	return 1;
}

static void h_alert_get(srv_request *r)
{
	srv_alert a;
	char target[64];
	if (!load_alert(r, &a))
		return;
	snprintf(target, sizeof target, "alert/%lld", (long long)a.id);
	srv_audit_action(r, "alert.read", target);
	srv_reply(r, 200, alert_json(r, &a, 1));
	srv_alert_clear(&a);
}

/* An optional or required text field as the only field of the body. */
static int body_text(srv_request *r, const char *key, int required, char **out)
{
	json_error_t e;
	json_t *b = NULL, *v;
	*out = NULL;
	if (r->body_len == 0 && !required)
		return 1;
	b = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &e);
	v = b ? json_object_get(b, key) : NULL;
	if (!b || !json_is_object(b) || json_object_size(b) > 1 ||
	    (json_object_size(b) == 1 && !v) || (required && !v) ||
	    (v && (!json_is_string(v) || json_string_length(v) == 0 ||
	           json_string_length(v) > NOTE_MAX ||
	           strlen(json_string_value(v)) != json_string_length(v) ||
	           !text_ok(json_string_value(v), json_string_length(v), 1)))) {
		char msg[160];
		snprintf(msg, sizeof msg, "send {\"%s\": \"...\"} (text, at most %d bytes)%s", key,
		         NOTE_MAX, required ? "" : " or no body");
		srv_problem(r, 400, "Invalid request body", msg);
		json_decref(b);
		return 0;
	}
	if (v) {
		size_t n = json_string_length(v);
		*out = srv_alloc(r, n + 1);
		if (*out)
			memcpy(*out, json_string_value(v), n + 1);
	}
	json_decref(b);
	return 1;
}

static void decide_failed(srv_request *r, ward_status st)
{
	if (st == WARD_EINVAL)
		srv_problem(r, 409, "Already decided",
		            "the alert was promoted, dismissed or merged since you read it");
	else
		srv_problem(r, 503, "Store unavailable", "the decision was not saved; try again");
}

static void h_alert_dismiss(srv_request *r)
{
	srv_alert a;
	char *reason = NULL, ad[96];
	json_t *p = NULL;
	unsigned char *np = NULL;
	size_t nl = 0;
	srv_audit_in au = {r->user.school_id, r->user.id, "alert.dismiss", NULL, r->client};
	if (!body_text(r, "reason", 1, &reason) || !load_alert(r, &a))
		return;
	if (strcmp(a.status, "new") != 0) {
		decide_failed(r, WARD_EINVAL);
		goto done;
	}
	p = open_payload(r, &a);
	srv_alert_ad(a.id, a.school_id, ad, sizeof ad);
	if (!p || !reason) {
		srv_problem(r, 500, "Record unreadable", "the stored alert does not open");
		goto done;
	}
	json_object_set_new(p, "dismiss_reason", json_string(reason));
	if (seal_json(r, ad, p, &np, &nl) != WARD_OK) {
		srv_problem(r, 500, "Out of memory", NULL);
		goto done;
	}
	srv_alert_clear(&a);
	a.payload = np;
	a.payload_len = nl;
	snprintf(a.status, sizeof a.status, "dismissed");
	a.decided_by = r->user.id;
	a.decided_at = srv_notify_now();
	ward_status st = r->srv->store->alerts->alert_decide(r->srv->store, &a, &au);
	if (st != WARD_OK)
		decide_failed(r, st);
	else
		srv_reply(r, 200, alert_json(r, &a, 0));
done:
	json_decref(p);
	srv_alert_clear(&a);
}

/* The concern a promotion creates: source detection, the alert's area, a reference to it. */
static json_t *concern_from_alert(const srv_alert *a, json_t *p, const char *note)
{
	char account[6000], day[16];
	const char *time = json_string_value(json_object_get(p, "time"));
	const char *excerpt = json_string_value(json_object_get(p, "excerpt"));
	const char *url = json_string_value(json_object_get(p, "url"));
	if (time && strlen(time) >= 10) {
		snprintf(day, sizeof day, "%.10s", time);
	} else {
		time_t t = (time_t)a->first_seen;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(day, sizeof day, "%Y-%m-%d", &tm);
	}
	snprintf(
	    account, sizeof account,
	    "Raised from detection alert %lld: rule %s (%s, %s severity), subject %s, seen %lld "
	    "time(s).%s%s%s%s%s%s",
	    (long long)a->id, a->rule, a->source, a->severity,
	    json_string_value(json_object_get(p, "subject")), (long long)a->count,
	    url ? " URL: " : "", url ? url : "", excerpt && *excerpt ? " Excerpt: " : "",
	    excerpt ? excerpt : "", note ? " Note: " : "", note ? note : "");
	return json_pack("{s:s, s:[], s:[s], s:s, s:s, s:I}", "occurred_at", day, "children",
	                 "areas", a->area, "account", account, "source", "detection", "alert_id",
	                 (json_int_t)a->id);
}

static void h_alert_promote(srv_request *r)
{
	srv_alert a;
	srv_concern c;
	char *note = NULL, ad[96];
	json_t *p = NULL, *cj = NULL;
	char *plain = NULL;
	srv_audit_in au = {r->user.school_id, r->user.id, "alert.promote", NULL, r->client};
	srv_audit_in ac = {r->user.school_id, r->user.id, "concern.create", NULL, r->client};
	memset(&c, 0, sizeof c);
	if (!body_text(r, "note", 0, &note) || !load_alert(r, &a))
		return;
	if (strcmp(a.status, "new") != 0) {
		decide_failed(r, WARD_EINVAL);
		goto done;
	}
	p = open_payload(r, &a);
	if (!p) {
		srv_problem(r, 500, "Record unreadable", "the stored alert does not open");
		goto done;
	}
	cj = concern_from_alert(&a, p, note);
	randombytes_buf(&c.id, sizeof c.id);
	c.id = (int64_t)((uint64_t)c.id & 0xffffffffffffull);
	if (c.id == 0)
		c.id = 1;
	c.version = 1;
	c.school_id = r->user.school_id;
	c.reporter_id = r->user.id;
	c.created = (int64_t)time(NULL);
	snprintf(c.status, sizeof c.status, "new");
	/* core.c seals a concern's payload with this associated data */
	snprintf(ad, sizeof ad, "concern/%lld/school/%lld", (long long)c.id,
	         (long long)c.school_id);
	plain = cj ? json_dumps(cj, JSON_COMPACT) : NULL;
	if (!plain || srv_seal(r->srv->key, ad, plain, strlen(plain), &c.payload, &c.payload_len) !=
	                  WARD_OK) {
		srv_problem(r, 500, "Out of memory", NULL);
		goto done;
	}
	snprintf(a.status, sizeof a.status, "promoted");
	a.decided_by = r->user.id;
	a.decided_at = srv_notify_now();
	ward_status st = r->srv->store->alerts->alert_promote(r->srv->store, &a, &c, &au, &ac);
	if (st != WARD_OK) {
		decide_failed(r, st);
		goto done;
	}
	r->srv->n_concerns++;
	snprintf(r->location, sizeof r->location, "/api/v1/concerns/%lld", (long long)c.id);
	srv_reply(r, 201, alert_json(r, &a, 0));
done:
	if (plain) {
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	json_decref(cj);
	json_decref(p);
	srv_concern_clear(&c);
	srv_alert_clear(&a);
}

static void h_alert_ack(srv_request *r)
{
	srv_alert a;
	srv_audit_in au = {r->user.school_id, r->user.id, "notice.acknowledge", NULL, r->client};
	char msg[96];
	if (!srv_body_none(r->body, r->body_len, msg, sizeof msg)) {
		srv_problem(r, 400, "Invalid request body", msg);
		return;
	}
	if (!load_alert(r, &a))
		return;
	ward_status st = r->srv->store->alerts->notice_ack(r->srv->store, r->user.school_id,
	                                                   "alert", a.id, srv_notify_now(), &au);
	if (st == WARD_ENOENT)
		srv_problem(
		    r, 409, "Nothing to acknowledge",
		    "only high and critical alerts are sent to the DSL team to acknowledge");
	else if (st == WARD_EINVAL)
		srv_problem(r, 409, "Already acknowledged", "someone has acknowledged this alert");
	else if (st != WARD_OK)
		srv_problem(r, 503, "Store unavailable", "the acknowledgement was not saved");
	else
		srv_reply(r, 200,
		          json_pack("{s:I, s:b}", "id", (json_int_t)a.id, "acknowledged", 1));
	srv_alert_clear(&a);
}

typedef struct sum_ctx {
	json_t *by_area, *by_day;
	int64_t total;
} sum_ctx;

static int sum_add(void *vctx, const char *day, const char *area, int64_t n)
{
	sum_ctx *s = vctx;
	json_t *cur = json_object_get(s->by_area, area);
	json_object_set_new(s->by_area, area, json_integer(json_integer_value(cur) + n));
	json_array_append_new(s->by_day, json_pack("{s:s, s:s, s:I}", "day", day, "area", area,
	                                           "count", (json_int_t)n));
	s->total += n;
	return 0;
}

static void h_alert_summary(srv_request *r)
{
	const char *ds = srv_query(r, "days");
	long long days = 30;
	char *end = NULL;
	sum_ctx s = {NULL, NULL, 0};
	if (ds) {
		days = strtoll(ds, &end, 10);
		if (!*ds || *end || days < 1 || days > 3660) {
			srv_problem(r, 400, "Invalid query", "days must be 1 to 3660");
			return;
		}
	}
	s.by_area = json_object();
	s.by_day = json_array();
	int64_t now = srv_notify_now();
	int64_t since = (now / 86400 - (days - 1)) * 86400;
	if (r->srv->store->alerts->alert_summary(r->srv->store, r->user.school_id, since, sum_add,
	                                         &s) != WARD_OK) {
		json_decref(s.by_area);
		json_decref(s.by_day);
		srv_problem(r, 503, "Store unavailable",
		            "the summary could not be read; try again");
		return;
	}
	srv_reply(r, 200,
	          json_pack("{s:I, s:I, s:o, s:o}", "days", (json_int_t)days, "total",
	                    (json_int_t)s.total, "by_area", s.by_area, "by_day", s.by_day));
}

static const srv_route routes[] = {
    {"POST", "/api/v1/alerts", h_alert_post, SRV_SERVICE,
     "a detector posts an alert (service token)"},
    {"GET", "/api/v1/alerts", h_alert_list, SRV_DSL_TEAM,
     "list alerts (status, area, since filters)"},
    {"GET", "/api/v1/alerts/summary", h_alert_summary, SRV_DSL_TEAM,
     "alert counts by area and day, for the dashboard"},
    {"GET", "/api/v1/alerts/{id}", h_alert_get, SRV_DSL_TEAM, "read an alert"},
    {"POST", "/api/v1/alerts/{id}/promote", h_alert_promote, SRV_DSL_TEAM,
     "promote an alert to a concern"},
    {"POST", "/api/v1/alerts/{id}/dismiss", h_alert_dismiss, SRV_DSL_TEAM,
     "dismiss an alert with a reason"},
    {"POST", "/api/v1/alerts/{id}/acknowledge", h_alert_ack, SRV_DSL_TEAM,
     "acknowledge a high alert sent to the DSL team"},
    {NULL, NULL, NULL, 0, NULL},
};

const srv_module srv_module_alerts = {"alerts", routes, NULL, NULL};
