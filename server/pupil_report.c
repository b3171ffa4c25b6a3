/* pupil_report.c: the pupil page.  A child tells the school about a worry, with their name or
 * without it; it becomes a concern (source pupil) for the DSL team, raising the same notice a
 * staff member's concern raises.  Off until the school's admin turns it on; reached only through
 * the school's random code (its link), which the admin sees and can rotate.
 *
 * The two pupil routes need no sign-in, so they carry their own defences:
 * - cross-site requests: every body must be application/json (dispatch refuses anything else,
 *   and an HTML form on another site cannot send it; a script there would need a CORS preflight
 *   that wardd never grants), a report must carry a form token that only a same-origin page can
 *   read back from POST /api/v1/pupil/form, and a request a browser marks as cross-site
 *   (Sec-Fetch-Site, or an Origin that is not this host) is refused;
 * - flooding: small bodies, and limits per address and per school counted in the store (shared
 *   by every wardd on the database, kept over a restart; the database holds no address);
 * - principle 1: text fields only, no upload of any kind, and long unbroken runs (encoded file
 *   data) refused;
 * - anonymity: the audit entry of a report names the pupil page, not the child's address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "http.h"
#include "pupil_report.h"
#include "store_pupil_report.h"
#include "store_throttle.h"

#define TOKEN_TTL      7200 /* a form token is good for two hours */
#define ADDR_WINDOW    600
#define ADDR_REPORTS   10 /* reports per address per window: a shared classroom PC */
#define ADDR_FAILS     10 /* wrong codes or tokens per address per window */
#define SCHOOL_WINDOW  3600
#define SCHOOL_REPORTS 30  /* reports per school per hour */
#define LONG_RUN       120 /* characters without a space: not words a child types */

static const char *const safe_answers[] = {"yes", "no", "not-sure", NULL};
static const char *const year_groups[] = {"Reception", "Year 1",  "Year 2",  "Year 3",  "Year 4",
                                          "Year 5",    "Year 6",  "Year 7",  "Year 8",  "Year 9",
                                          "Year 10",   "Year 11", "Year 12", "Year 13", NULL};

/* ---- what a request may carry ---- */

typedef struct pfield {
	const char *name;
	int required;
	size_t max;
	const char *const *choices;
	int multiline;
} pfield;

static const pfield form_fields[] = {{"code", 1, SRV_PUPIL_CODE_LEN - 1, NULL, 0},
                                     {NULL, 0, 0, NULL, 0}};
static const pfield report_fields[] = {{"code", 1, SRV_PUPIL_CODE_LEN - 1, NULL, 0},
                                       {"form_token", 1, 96, NULL, 0},
                                       {"what_happened", 1, SRV_PUPIL_MAX_WORDS, NULL, 1},
                                       {"safe_now", 1, 16, safe_answers, 0},
                                       {"name", 0, SRV_PUPIL_MAX_NAME, NULL, 0},
                                       {"year_group", 0, 16, year_groups, 0},
                                       {NULL, 0, 0, NULL, 0}};

/* Plain text: no control characters (line breaks and tabs where multiline), and no run of
 * LONG_RUN or more characters without a space. */
static int plain_text(const char *s, size_t n, int multiline)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) ||
		    c == 0x7f)
			return 0;
		if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
			run = 0;
		else if ((c & 0xc0) != 0x80 && ++run >= LONG_RUN)
			return 0;
	}
	return 1;
}

static json_t *parse_fields(const pfield *fields, const char *body, size_t n, char *msg, size_t cap)
{
	json_error_t err;
	json_t *o = NULL, *v;
	const char *key;
	if (n > SRV_PUPIL_MAX_BODY) {
		snprintf(msg, cap, "the body is larger than %d bytes", SRV_PUPIL_MAX_BODY);
		return NULL;
	}
	o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &err);
	if (!o) {
		snprintf(msg, cap, "the body is not valid JSON: %s", err.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		snprintf(msg, cap, "the body must be a JSON object");
		goto bad;
	}
	json_object_foreach(o, key, v)
	{
		const pfield *f = fields;
		while (f->name && strcmp(f->name, key) != 0)
			f++;
		if (!f->name) {
			snprintf(msg, cap, "unknown field %.40s", key);
			goto bad;
		}
		if (!json_is_string(v)) {
			snprintf(msg, cap, "%s must be a string", f->name);
			goto bad;
		}
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		if (len == 0 || len > f->max || strlen(s) != len) {
			snprintf(msg, cap, "%s must be between 1 and %zu bytes long", f->name,
			         f->max);
			goto bad;
		}
		if (!plain_text(s, len, f->multiline)) {
			snprintf(msg, cap,
			         "%s must be plain text: words only, no control characters and no "
			         "long run of letters without a space",
			         f->name);
			goto bad;
		}
		if (f->choices) {
			int ok = 0;
			for (const char *const *c = f->choices; *c; c++)
				ok |= strcmp(*c, s) == 0;
			if (!ok) {
				snprintf(msg, cap, "%s is not one of the allowed values", f->name);
				goto bad;
			}
		}
	}
	for (const pfield *f = fields; f->name; f++) {
		if (f->required && !json_object_get(o, f->name)) {
			snprintf(msg, cap, "%s is required", f->name);
			goto bad;
		}
	}
	return o;
bad:
	json_decref(o);
	return NULL;
}

json_t *srv_pupil_parse(srv_pupil_body kind, const char *body, size_t n, char *msg, size_t cap)
{
	json_error_t err;
	json_t *o;
	if (kind == SRV_PUPIL_FORM)
		return parse_fields(form_fields, body, n, msg, cap);
	if (kind == SRV_PUPIL_REPORT)
		return parse_fields(report_fields, body, n, msg, cap);
	if (n > SRV_PUPIL_MAX_BODY) {
		snprintf(msg, cap, "the body is larger than %d bytes", SRV_PUPIL_MAX_BODY);
		return NULL;
	}
	o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &err);
	if (!o) {
		snprintf(msg, cap, "the body is not valid JSON: %s", err.text);
		return NULL;
	}
	if (!json_is_object(o) || json_object_size(o) != 1 ||
	    !json_is_boolean(json_object_get(o, "enabled"))) {
		snprintf(msg, cap,
		         "send {\"enabled\": true} or {\"enabled\": false}, nothing else");
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- limits, in the store: shared by every wardd on the database, and kept over a restart ---- */

/* The address as the limits know it: BLAKE2b of the address keyed with the server's key, so the
 * database holds no address and every wardd sharing the key and the database agrees on it. */
static void addr_hash(const srv_server *s, const char *addr, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, s->key, SRV_KEY_LEN, SRV_HASH_LEN);
	srv_hash_str(&h, "ward pupil page address");
	srv_hash_str(&h, addr);
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

static srv_pupil_limits limits_now(void)
{
	int64_t now = srv_now();
	srv_pupil_limits l = {now - ADDR_WINDOW, ADDR_REPORTS, ADDR_FAILS, now - SCHOOL_WINDOW,
	                      SCHOOL_REPORTS};
	return l;
}

/* 1 when the address may go on (fewer than ADDR_FAILS failures in its window), 0 when not, -1
 * when the store cannot say (a limit that cannot be counted is not lifted: the child is told
 * that the message was not sent, as when the concern cannot be saved). */
static int addr_ok(srv_request *r)
{
	srv_store *st = r->srv->store;
	unsigned char h[SRV_HASH_LEN];
	srv_pupil_limits l = limits_now();
	int ok = 0;
	addr_hash(r->srv, r->client, h);
	if (st->throttle->pupil_check(st, h, &l, &ok) != WARD_OK)
		return -1;
	return ok;
}

/* Counts a failure (wrong code, stale form token) against the address.  A failure that cannot
 * be counted does not change the answer the request gets. */
static void addr_fail(srv_request *r)
{
	srv_store *st = r->srv->store;
	unsigned char h[SRV_HASH_LEN];
	srv_pupil_limits l = limits_now();
	addr_hash(r->srv, r->client, h);
	(void)st->throttle->pupil_fail(st, h, srv_now(), &l);
}

/* 1 when the address and the school both have room for one more report, and counts it against
 * both (in one transaction); 0 when either is full; -1 when the store cannot say. */
static int report_ok(srv_request *r, int64_t school_id)
{
	srv_store *st = r->srv->store;
	unsigned char h[SRV_HASH_LEN];
	srv_pupil_limits l = limits_now();
	int ok = 0;
	addr_hash(r->srv, r->client, h);
	if (st->throttle->pupil_report(st, school_id, h, srv_now(), &l, &ok) != WARD_OK)
		return -1;
	return ok;
}

/* ---- form tokens: ISSUED.MAC, MAC = keyed BLAKE2b over the school, its code and ISSUED ---- */

static void token_mac(srv_server *s, const srv_pupil_page *p, long long issued, char *out,
                      size_t cap)
{
	unsigned char mac[32];
	char msg[128];
	int n = snprintf(msg, sizeof msg, "pupil-form\n%lld\n%s\n%lld", (long long)p->school_id,
	                 p->code, issued);
	crypto_generichash(mac, sizeof mac, (const unsigned char *)msg, (size_t)n, s->key,
	                   SRV_KEY_LEN);
	sodium_bin2base64(out, cap, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void token_make(srv_server *s, const srv_pupil_page *p, char *out, size_t cap)
{
	char mac[64];
	long long now = (long long)srv_now();
	token_mac(s, p, now, mac, sizeof mac);
	snprintf(out, cap, "%lld.%s", now, mac);
}

static int token_ok(srv_server *s, const srv_pupil_page *p, const char *tok)
{
	char mac[64], *end = NULL;
	long long issued = strtoll(tok, &end, 10), now = (long long)srv_now();
	if (end == tok || *end != '.' || issued > now + 60 || now - issued > TOKEN_TTL)
		return 0;
	token_mac(s, p, issued, mac, sizeof mac);
	return strlen(end + 1) == strlen(mac) && sodium_memcmp(end + 1, mac, strlen(mac)) == 0;
}

/* ---- checks shared by the pupil routes ---- */

/* 1 when a browser says the request comes from another site.  Sec-Fetch-Site, which every
 * current browser sends, decides when present: a reverse proxy that rewrites Host would make a
 * same-site Origin look foreign.  Older browsers send only Origin, checked against the host. */
static int cross_site(srv_request *r)
{
	const char *sfs = srv_header(r, "Sec-Fetch-Site");
	const char *origin = srv_header(r, "Origin");
	const char *host = srv_header(r, "X-Forwarded-Host");
	if (!host)
		host = srv_header(r, "Host");
	if (sfs)
		return strcmp(sfs, "same-origin") != 0 && strcmp(sfs, "none") != 0;
	if (origin) {
		const char *o = strstr(origin, "://");
		if (!o || !host || strcmp(o + 3, host) != 0)
			return 1;
	}
	return 0;
}

static const char not_sent_words[] =
    "your message could not be saved just now, so it has not been sent: "
    "please try again in a minute, or tell an adult you trust";

static const char busy_words[] =
    "Lots of messages have been sent from here in a short time, so this one was not sent. "
    "Please try again later, or tell an adult you trust. If you are in danger now, call 999. "
    "You can talk to Childline any time on 0800 1111.";

/* Parses the body and applies the checks every pupil route shares; NULL when answered. */
static json_t *pupil_begin(srv_request *r, srv_pupil_body kind, srv_pupil_page *page)
{
	char msg[256];
	srv_store *st = r->srv->store;
	json_t *b;
	int ok;
	if (r->body_len > SRV_PUPIL_MAX_BODY) {
		srv_problem(r, 413, "Message too long",
		            "the message is too long: please make it shorter and send it again");
		return NULL;
	}
	if (!(b = srv_pupil_parse(kind, r->body, r->body_len, msg, sizeof msg))) {
		srv_problem(r, 400, "Invalid request body", msg);
		return NULL;
	}
	if (cross_site(r)) {
		srv_problem(r, 403, "Not from this site",
		            "the pupil page only takes messages sent from its own page");
	} else if (!st->pupil || !st->throttle) {
		srv_problem(r, 503, "Not available",
		            "this server's store does not keep pupil pages");
	} else if ((ok = addr_ok(r)) < 0) {
		srv_problem(r, 503, "Not sent", not_sent_words);
	} else if (!ok) {
		srv_problem(r, 429, "Too many messages", busy_words);
	} else if (st->pupil->page_find(st, json_string_value(json_object_get(b, "code")), page) !=
	               WARD_OK ||
	           !page->enabled) {
		/* the same answer for a wrong code and a page turned off: nothing to probe */
		addr_fail(r);
		srv_problem(r, 404, "Page not open",
		            "this page is not open: ask your teacher for the right link");
	} else {
		return b;
	}
	json_decref(b);
	return NULL;
}

/* ---- the pupil routes (anonymous) ---- */

static void h_form(srv_request *r)
{
	srv_pupil_page p;
	char school[256], tok[128];
	json_t *b = pupil_begin(r, SRV_PUPIL_FORM, &p);
	if (!b)
		return;
	if (r->srv->store->ops->school_name(r->srv->store, p.school_id, school, sizeof school) !=
	    WARD_OK)
		snprintf(school, sizeof school, "your school");
	token_make(r->srv, &p, tok, sizeof tok);
	srv_reply(r, 200,
	          json_pack("{s:s, s:s, s:i}", "school", school, "form_token", tok, "expires_in",
	                    TOKEN_TTL));
	json_decref(b);
}

/* The concern a report becomes: the child's words as they wrote them, with what they said about
 * their safety first so that the DSL sees it before anything else. */
static json_t *report_payload(json_t *b, int urgent)
{
	const char *name = json_string_value(json_object_get(b, "name"));
	const char *year = json_string_value(json_object_get(b, "year_group"));
	const char *safe = json_string_value(json_object_get(b, "safe_now"));
	const char *words = json_string_value(json_object_get(b, "what_happened"));
	char date[16], *account;
	size_t cap = strlen(words) + 256;
	time_t t = time(NULL);
	struct tm tm;
	json_t *child, *o = NULL;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%Y-%m-%d", &tm);
	account = malloc(cap);
	if (!account)
		return NULL;
	snprintf(account, cap, "%s\n\n%s",
	         urgent ? (strcmp(safe, "no") == 0
	                       ? "URGENT: the pupil said they are NOT safe right now."
	                       : "URGENT: the pupil was not sure they are safe right now.")
	                : "The pupil said they are safe right now.",
	         words);
	child = json_pack("{s:s}", "name", name ? name : "A pupil (anonymous)");
	if (child && year)
		json_object_set_new(child, "year_group", json_string(year));
	if (child)
		o = json_pack("{s:[o], s:[], s:s, s:s, s:s, s:b, s:s, s:b}", "children", child,
		              "areas", "account", account, "occurred_at", date, "source", "pupil",
		              "anonymous", name == NULL, "safe_now", safe, "urgent", urgent);
	sodium_memzero(account, cap);
	free(account);
	return o;
}

static void h_report(srv_request *r)
{
	srv_pupil_page p;
	srv_concern c;
	srv_store *st = r->srv->store;
	char ad[96], *plain = NULL;
	json_t *payload = NULL, *b = pupil_begin(r, SRV_PUPIL_REPORT, &p);
	int ok, urgent;
	/* actor 0 and no address: an anonymous report stays anonymous in the audit log too */
	srv_audit_in a = {0, 0, "concern.create-pupil", NULL, "pupil-page"};
	memset(&c, 0, sizeof c);
	if (!b)
		return;
	if (!token_ok(r->srv, &p, json_string_value(json_object_get(b, "form_token")))) {
		addr_fail(r);
		srv_problem(r, 403, "Page too old",
		            "this page has been open a long time: please reload it and send your "
		            "message again (copy your words first so you do not lose them)");
		goto done;
	}
	if ((ok = report_ok(r, p.school_id)) <= 0) {
		if (ok < 0)
			srv_problem(r, 503, "Not sent", not_sent_words);
		else
			srv_problem(r, 429, "Too many messages", busy_words);
		goto done;
	}
	urgent = strcmp(json_string_value(json_object_get(b, "safe_now")), "yes") != 0;
	if (!(payload = report_payload(b, urgent)) ||
	    !(plain = json_dumps(payload, JSON_COMPACT))) {
		srv_problem(r, 500, "Out of memory", NULL);
		goto done;
	}
	/* as core's concern create: a random 48-bit id, sealed with the id and school bound in */
	randombytes_buf(&c.id, sizeof c.id);
	c.id = (int64_t)((uint64_t)c.id & 0xffffffffffffull);
	if (c.id == 0)
		c.id = 1;
	c.version = 1;
	c.school_id = p.school_id;
	c.reporter_id = 0;
	c.created = srv_now();
	snprintf(c.status, sizeof c.status, "new");
	snprintf(ad, sizeof ad, "concern/%lld/school/%lld", (long long)c.id,
	         (long long)c.school_id);
	a.school_id = p.school_id;
	if (srv_seal(r->srv->key, ad, plain, strlen(plain), &c.payload, &c.payload_len) !=
	    WARD_OK) {
		srv_problem(r, 500, "Out of memory", NULL);
	} else if (st->ops->concern_put(st, &c, &a) != WARD_OK) {
		srv_problem(r, 503, "Not sent", not_sent_words);
	} else {
		r->srv->n_concerns++;
		srv_reply(r, 201, json_pack("{s:b, s:b}", "received", 1, "urgent", urgent));
	}
done:
	if (plain) {
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	json_decref(payload);
	json_decref(b);
	srv_concern_clear(&c);
}

/* ---- the admin's routes ---- */

static json_t *page_json(const srv_pupil_page *p)
{
	char link[96];
	if (!p)
		return json_pack("{s:b, s:n, s:n, s:I}", "enabled", 0, "code", "link", "revision",
		                 (json_int_t)0);
	snprintf(link, sizeof link, "/pupil.html#code=%s", p->code);
	return json_pack("{s:b, s:s, s:s, s:I, s:I}", "enabled", p->enabled, "code", p->code,
	                 "link", link, "revision", (json_int_t)p->rev, "updated",
	                 (json_int_t)p->updated);
}

static void new_code(char out[SRV_PUPIL_CODE_LEN])
{
	unsigned char raw[16]; /* 128 bits: not guessable, even without the limits */
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(out, SRV_PUPIL_CODE_LEN, raw, sizeof raw,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int store_ready(srv_request *r)
{
	if (r->srv->store->pupil)
		return 1;
	srv_problem(r, 503, "Not available", "this server's store does not keep pupil pages");
	return 0;
}

static void h_page_get(srv_request *r)
{
	srv_store *st = r->srv->store;
	srv_pupil_page p;
	ward_status rc;
	if (!store_ready(r))
		return;
	rc = st->pupil->page_get(st, r->user.school_id, &p);
	if (rc != WARD_OK && rc != WARD_ENOENT) {
		srv_problem(r, 503, "Store unavailable", st->err);
		return;
	}
	srv_audit_action(r, "pupil-page.read", "pupil-page");
	srv_reply(r, 200, page_json(rc == WARD_OK ? &p : NULL));
}

/* Writes the school's page with enabled set (-1: as it was) and, when rotate, a new code. */
static void page_change(srv_request *r, int enabled, int rotate, const char *action)
{
	srv_store *st = r->srv->store;
	srv_pupil_page p;
	srv_audit_in a = {r->user.school_id, r->user.id, action, NULL, r->client};
	ward_status rc = st->pupil->page_get(st, r->user.school_id, &p);
	if (rc == WARD_ENOENT) {
		memset(&p, 0, sizeof p);
		p.school_id = r->user.school_id;
		rotate = 1;
	} else if (rc != WARD_OK) {
		srv_problem(r, 503, "Store unavailable", st->err);
		return;
	}
	if (enabled >= 0)
		p.enabled = enabled;
	if (rotate)
		new_code(p.code);
	p.updated = srv_now();
	if (st->pupil->page_put(st, &p, &a) != WARD_OK)
		srv_problem(r, 503, "Store unavailable", "the change was not saved; try again");
	else
		srv_reply(r, 200, page_json(&p));
}

static void h_page_put(srv_request *r)
{
	char msg[256];
	json_t *b;
	if (!store_ready(r))
		return;
	if (!(b = srv_pupil_parse(SRV_PUPIL_SETTINGS, r->body, r->body_len, msg, sizeof msg))) {
		srv_problem(r, 400, "Invalid request body", msg);
		return;
	}
	int on = json_is_true(json_object_get(b, "enabled"));
	page_change(r, on, 0, on ? "pupil-page.enable" : "pupil-page.disable");
	json_decref(b);
}

static void h_page_rotate(srv_request *r)
{
	if (!store_ready(r))
		return;
	if (r->body_len > 0) {
		srv_problem(r, 400, "Invalid request body", "this request takes no body");
		return;
	}
	page_change(r, -1, 1, "pupil-page.rotate-code");
}

static const srv_route routes[] = {
    {"GET", "/api/v1/pupil-page", h_page_get, SRV_R(SRV_ROLE_ADMIN),
     "the school's pupil page: on or off, and its link"},
    {"PUT", "/api/v1/pupil-page", h_page_put, SRV_R(SRV_ROLE_ADMIN),
     "turn the pupil page on or off"},
    {"POST", "/api/v1/pupil-page/code", h_page_rotate, SRV_R(SRV_ROLE_ADMIN),
     "give the pupil page a new link (the old one stops working)"},
    {"POST", "/api/v1/pupil/form", h_form, SRV_ANON,
     "open the pupil page's form (by the school's code): a form token"},
    {"POST", "/api/v1/pupil/reports", h_report, SRV_ANON,
     "a pupil tells the school about a worry (becomes a concern for the DSL)"},
    {NULL, NULL, NULL, 0, NULL},
};

const srv_module srv_module_pupil_report = {"pupil_report", routes, NULL, NULL};
