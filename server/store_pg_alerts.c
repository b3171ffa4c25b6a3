/* store_pg_alerts.c: the PostgreSQL side of store_alerts.h: service tokens, detection alerts,
 * notices for the DSL team and their escalation, and the school's alerting settings.  The same
 * behaviour as store_sqlite_alerts.c.  Every write is one transaction that first locks the audit
 * chain's head (pg_begin with write set), so merging a duplicate alert and claiming a due
 * escalation are serialised across every wardd process on the database: two processes cannot
 * both create an alert that should have merged, or both send the same escalation.
 *
 * A new concern raises its notice through a trigger on concern_versions, in the concern's own
 * transaction, as in SQLite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "store_alerts.h"
#include "store_pg.h"

/* Audits a write: target "KIND/ID/rREV" with digest d. */
static ward_status audit_rev(pg_store *s, pg_conn *c, const srv_audit_in *a, const char *kind,
                             int64_t id, int64_t rev, const unsigned char *d)
{
	char target[64];
	srv_audit_in in = *a;
	snprintf(target, sizeof target, "%s/%lld/r%lld", kind, (long long)id, (long long)rev);
	in.target = target;
	return pg_audit(s, c, &in, d);
}

/* A read in school's view; the caller PQclears.  NULL on failure. */
static PGresult *read_rows(pg_store *s, int64_t school, const char *sql, pg_args *a)
{
	return pg_read(s, school, sql, a);
}

/* ---- tokens ---- */

#define TOKEN_COLS "SELECT id, school_id, name, hash, created, revoked, rev FROM service_tokens "

static void token_row(const PGresult *r, int i, srv_token *t)
{
	memset(t, 0, sizeof *t);
	t->id = pg_i64(r, i, 0);
	t->school_id = pg_i64(r, i, 1);
	pg_text(t->name, sizeof t->name, r, i, 2);
	pg_blob_fixed(t->hash, SRV_HASH_LEN, r, i, 3);
	t->created = pg_i64(r, i, 4);
	t->revoked = pg_i64(r, i, 5);
}

static ward_status pg_token_create(srv_store *b, srv_token *t, const srv_audit_in *a)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	unsigned char d[SRV_HASH_LEN];
	pg_args p = {0};
	PGresult *r;
	pg_conn *c = pg_begin(s, t->school_id, 1);
	if (!c)
		return rc;
	pg_arg_i64(&p, t->school_id);
	pg_arg_str(&p, t->name);
	pg_arg_blob(&p, t->hash, SRV_HASH_LEN);
	pg_arg_i64(&p, t->created);
	r = pg_q(s, c,
	         "INSERT INTO service_tokens (school_id, name, hash, created, rev)"
	         " VALUES ($1,$2,$3,$4,1) RETURNING id",
	         &p);
	if (r) {
		t->id = pg_i64(r, 0, 0);
		PQclear(r);
		srv_token_digest(t, d);
		rc = audit_rev(s, c, a, "token", t->id, 1, d);
	}
	return pg_end(s, c, rc);
}

static ward_status pg_token_find(srv_store *b, const unsigned char hash[SRV_HASH_LEN],
                                 srv_token *out)
{
	pg_args a = {0};
	PGresult *r;
	ward_status rc = WARD_ENOENT;
	pg_arg_blob(&a, hash, SRV_HASH_LEN);
	r = read_rows((pg_store *)b, PG_ALL, TOKEN_COLS "WHERE hash = $1", &a);
	if (!r)
		return WARD_EIO;
	if (PQntuples(r) == 1) {
		token_row(r, 0, out);
		rc = WARD_OK;
	}
	PQclear(r);
	return rc;
}

static ward_status pg_token_list(srv_store *b, int64_t school_id, srv_token_cb cb, void *ctx)
{
	pg_args a = {0};
	PGresult *r;
	pg_arg_i64(&a, school_id);
	r = read_rows((pg_store *)b, school_id, TOKEN_COLS "WHERE school_id = $1 ORDER BY id", &a);
	if (!r)
		return WARD_EIO;
	for (int i = 0; i < PQntuples(r); i++) {
		srv_token t;
		token_row(r, i, &t);
		if (cb(ctx, &t))
			break;
	}
	PQclear(r);
	return WARD_OK;
}

static ward_status pg_token_revoke(srv_store *b, int64_t school_id, int64_t id, int64_t now,
                                   const srv_audit_in *a)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	pg_args p = {0};
	PGresult *r;
	srv_token t;
	int64_t rev = 0;
	unsigned char d[SRV_HASH_LEN];
	pg_conn *c = pg_begin(s, school_id, 1);
	if (!c)
		return rc;
	pg_arg_i64(&p, id);
	pg_arg_i64(&p, school_id);
	r = pg_q(s, c, TOKEN_COLS "WHERE id = $1 AND school_id = $2", &p);
	if (!r)
		goto done;
	rc = WARD_ENOENT;
	if (PQntuples(r) == 1) {
		token_row(r, 0, &t);
		rev = pg_i64(r, 0, 6) + 1;
		rc = t.revoked ? WARD_ENOENT : WARD_OK;
	}
	PQclear(r);
	if (rc == WARD_OK) {
		pg_args u = {0};
		t.revoked = now;
		pg_arg_i64(&u, now);
		pg_arg_i64(&u, rev);
		pg_arg_i64(&u, id);
		rc = pg_cmd(s, c, "UPDATE service_tokens SET revoked = $1, rev = $2 WHERE id = $3", &u,
		            NULL);
		if (rc == WARD_OK) {
			srv_token_digest(&t, d);
			rc = audit_rev(s, c, a, "token", id, rev, d);
		}
	}
done:
	return pg_end(s, c, rc);
}

/* ---- alerts ---- */

#define ALERT_COLS                                                                                 \
	"SELECT id, school_id, rev, token_id, area, rule, severity, source, dedup_key, first_seen," \
	" last_seen, count, status, concern_id, decided_by, decided_at, payload FROM alerts "

static ward_status alert_row(const PGresult *r, int i, srv_alert *a)
{
	memset(a, 0, sizeof *a);
	a->id = pg_i64(r, i, 0);
	a->school_id = pg_i64(r, i, 1);
	a->rev = pg_i64(r, i, 2);
	a->token_id = pg_i64(r, i, 3);
	pg_text(a->area, sizeof a->area, r, i, 4);
	pg_text(a->rule, sizeof a->rule, r, i, 5);
	pg_text(a->severity, sizeof a->severity, r, i, 6);
	pg_text(a->source, sizeof a->source, r, i, 7);
	pg_text(a->dedup_key, sizeof a->dedup_key, r, i, 8);
	a->first_seen = pg_i64(r, i, 9);
	a->last_seen = pg_i64(r, i, 10);
	a->count = pg_i64(r, i, 11);
	pg_text(a->status, sizeof a->status, r, i, 12);
	a->concern_id = pg_i64(r, i, 13);
	a->decided_by = pg_i64(r, i, 14);
	a->decided_at = pg_i64(r, i, 15);
	return pg_blob_dup(r, i, 16, &a->payload, &a->payload_len);
}

/* Writes a (insert, or full update by id) inside c's transaction. */
static ward_status alert_write(pg_store *s, pg_conn *c, const srv_alert *a, int insert)
{
	pg_args p = {0};
	pg_arg_i64(&p, a->id);
	pg_arg_i64(&p, a->school_id);
	pg_arg_i64(&p, a->rev);
	pg_arg_i64(&p, a->last_seen);
	pg_arg_i64(&p, a->count);
	pg_arg_str(&p, a->status);
	pg_arg_i64(&p, a->concern_id);
	pg_arg_i64(&p, a->decided_by);
	pg_arg_i64(&p, a->decided_at);
	pg_arg_blob(&p, a->payload, a->payload_len);
	if (!insert)
		return pg_cmd(s, c,
		              "UPDATE alerts SET rev = $3, last_seen = $4, count = $5, status = $6,"
		              " concern_id = $7, decided_by = $8, decided_at = $9, payload = $10"
		              " WHERE id = $1 AND school_id = $2",
		              &p, NULL);
	pg_arg_i64(&p, a->token_id);
	pg_arg_str(&p, a->area);
	pg_arg_str(&p, a->rule);
	pg_arg_str(&p, a->severity);
	pg_arg_str(&p, a->source);
	pg_arg_str(&p, a->dedup_key);
	pg_arg_i64(&p, a->first_seen);
	return pg_cmd(s, c,
	              "INSERT INTO alerts (id, school_id, rev, last_seen, count, status, concern_id,"
	              " decided_by, decided_at, payload, token_id, area, rule, severity, source,"
	              " dedup_key, first_seen) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,"
	              "$14,$15,$16,$17)",
	              &p, NULL);
}

static ward_status notice_insert(pg_store *s, pg_conn *c, int64_t school, const char *kind,
                                 int64_t ref, int64_t now)
{
	pg_args p = {0};
	pg_arg_i64(&p, school);
	pg_arg_str(&p, kind);
	pg_arg_i64(&p, ref);
	pg_arg_i64(&p, now);
	return pg_cmd(s, c,
	              "INSERT INTO notices (school_id, kind, ref_id, raised_at) VALUES ($1,$2,$3,$4)"
	              " ON CONFLICT DO NOTHING",
	              &p, NULL);
}

static ward_status pg_alert_post(srv_store *b, srv_alert *a, int64_t now, int64_t window,
                                 const srv_audit_in *au, int *merged)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	srv_alert old;
	unsigned char d[SRV_HASH_LEN];
	pg_args p = {0};
	PGresult *r;
	int found = 0;
	pg_conn *c;
	memset(&old, 0, sizeof old);
	*merged = 0;
	c = pg_begin(s, a->school_id, 1);
	if (!c)
		return rc;
	pg_arg_i64(&p, a->school_id);
	pg_arg_str(&p, a->dedup_key);
	pg_arg_i64(&p, now - window);
	r = pg_q(s, c,
	         ALERT_COLS "WHERE school_id = $1 AND dedup_key = $2 AND first_seen >= $3"
	                    " ORDER BY first_seen DESC LIMIT 1",
	         &p);
	if (!r)
		goto done;
	if (PQntuples(r) == 1) {
		found = 1;
		if (alert_row(r, 0, &old) != WARD_OK) {
			PQclear(r);
			goto done;
		}
	}
	PQclear(r);
	if (found) {
		old.rev++;
		old.count++;
		if (now > old.last_seen)
			old.last_seen = now;
		if (alert_write(s, c, &old, 0) != WARD_OK)
			goto done;
		srv_alert_digest(&old, d);
		srv_audit_in in = *au;
		in.action = "alert.merge";
		rc = audit_rev(s, c, &in, "alert", old.id, old.rev, d);
		if (rc == WARD_OK) {
			srv_alert_clear(a);
			*a = old;
			memset(&old, 0, sizeof old);
			*merged = 1;
		}
	} else {
		a->rev = 1;
		a->count = 1;
		a->first_seen = a->last_seen = now;
		snprintf(a->status, sizeof a->status, "new");
		if (alert_write(s, c, a, 1) != WARD_OK)
			goto done;
		srv_alert_digest(a, d);
		rc = audit_rev(s, c, au, "alert", a->id, a->rev, d);
		if (rc == WARD_OK &&
		    (strcmp(a->severity, "high") == 0 || strcmp(a->severity, "critical") == 0))
			rc = notice_insert(s, c, a->school_id, "alert", a->id, now);
	}
done:
	srv_alert_clear(&old);
	return pg_end(s, c, rc);
}

static ward_status pg_alert_get(srv_store *b, int64_t school_id, int64_t id, srv_alert *out)
{
	pg_args a = {0};
	PGresult *r;
	ward_status rc = WARD_ENOENT;
	pg_arg_i64(&a, id);
	pg_arg_i64(&a, school_id);
	r = read_rows((pg_store *)b, school_id, ALERT_COLS "WHERE id = $1 AND school_id = $2", &a);
	if (!r)
		return WARD_EIO;
	if (PQntuples(r) == 1)
		rc = alert_row(r, 0, out);
	PQclear(r);
	return rc;
}

static ward_status pg_alert_list(srv_store *b, int64_t school_id, const srv_alert_filter *f,
                                 srv_alert_cb cb, void *ctx)
{
	pg_args a = {0};
	PGresult *r;
	ward_status rc = WARD_OK;
	pg_arg_i64(&a, school_id);
	pg_arg_str(&a, f->status);
	pg_arg_str(&a, f->area);
	pg_arg_i64(&a, f->since);
	pg_arg_i64(&a, f->limit > 0 ? f->limit : 500);
	r = read_rows((pg_store *)b, school_id,
	              ALERT_COLS "WHERE school_id = $1 AND ($2::text IS NULL OR status = $2)"
	                         " AND ($3::text IS NULL OR area = $3) AND last_seen >= $4"
	                         " ORDER BY last_seen DESC, id DESC LIMIT $5",
	              &a);
	if (!r)
		return WARD_EIO;
	for (int i = 0; i < PQntuples(r) && rc == WARD_OK; i++) {
		srv_alert al;
		rc = alert_row(r, i, &al);
		if (rc != WARD_OK)
			break;
		int stop = cb(ctx, &al);
		srv_alert_clear(&al);
		if (stop)
			break;
	}
	PQclear(r);
	return rc;
}

/* Checks inside the transaction that alert a is still at a->rev and undecided. */
static ward_status alert_current(pg_store *s, pg_conn *c, const srv_alert *a)
{
	ward_status rc = WARD_ENOENT;
	pg_args p = {0};
	PGresult *r;
	pg_arg_i64(&p, a->id);
	pg_arg_i64(&p, a->school_id);
	r = pg_q(s, c, "SELECT rev, status FROM alerts WHERE id = $1 AND school_id = $2", &p);
	if (!r)
		return WARD_EIO;
	if (PQntuples(r) == 1) {
		rc = WARD_OK;
		if (pg_i64(r, 0, 0) != a->rev || strcmp(PQgetvalue(r, 0, 1), "new") != 0) {
			snprintf(s->base.err, sizeof s->base.err,
			         "the alert has been decided or changed since it was read");
			rc = WARD_EINVAL;
		}
	}
	PQclear(r);
	return rc;
}

static ward_status notice_close(pg_store *s, pg_conn *c, int64_t school, const char *kind,
                                int64_t ref, int64_t now, const srv_audit_in *a, int must);

static ward_status pg_alert_decide(srv_store *b, srv_alert *a, const srv_audit_in *au)
{
	pg_store *s = (pg_store *)b;
	ward_status rc;
	unsigned char d[SRV_HASH_LEN];
	pg_conn *c = pg_begin(s, a->school_id, 1);
	if (!c)
		return WARD_EIO;
	rc = alert_current(s, c, a);
	if (rc == WARD_OK) {
		a->rev++;
		rc = alert_write(s, c, a, 0);
		if (rc == WARD_OK) {
			srv_alert_digest(a, d);
			rc = audit_rev(s, c, au, "alert", a->id, a->rev, d);
		}
	}
	if (rc == WARD_OK)
		rc = notice_close(s, c, a->school_id, "alert", a->id, a->decided_at, au, 0);
	return pg_end(s, c, rc);
}

static ward_status pg_alert_promote(srv_store *b, srv_alert *a, srv_concern *cn,
                                    const srv_audit_in *au_alert, const srv_audit_in *au_concern)
{
	pg_store *s = (pg_store *)b;
	ward_status rc;
	unsigned char d[SRV_HASH_LEN];
	pg_conn *c = pg_begin(s, a->school_id, 1);
	if (!c)
		return WARD_EIO;
	rc = alert_current(s, c, a);
	if (rc == WARD_OK)
		rc = pg_concern_insert(s, c, cn, au_concern); /* the trigger raises its notice */
	if (rc == WARD_OK) {
		a->rev++;
		a->concern_id = cn->id;
		rc = alert_write(s, c, a, 0);
	}
	if (rc == WARD_OK) {
		srv_alert_digest(a, d);
		rc = audit_rev(s, c, au_alert, "alert", a->id, a->rev, d);
	}
	if (rc == WARD_OK)
		rc = notice_close(s, c, a->school_id, "alert", a->id, a->decided_at, au_alert, 0);
	return pg_end(s, c, rc);
}

static ward_status pg_alert_summary(srv_store *b, int64_t school_id, int64_t since,
                                    srv_alert_count_cb cb, void *ctx)
{
	pg_args a = {0};
	PGresult *r;
	pg_arg_i64(&a, school_id);
	pg_arg_i64(&a, since);
	r = read_rows((pg_store *)b, school_id,
	              "SELECT to_char(to_timestamp(first_seen) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	              " AS day, area, COUNT(*) FROM alerts WHERE school_id = $1 AND first_seen >= $2"
	              " GROUP BY day, area ORDER BY day, area",
	              &a);
	if (!r)
		return WARD_EIO;
	for (int i = 0; i < PQntuples(r); i++) {
		char day[16], area[32];
		pg_text(day, sizeof day, r, i, 0);
		pg_text(area, sizeof area, r, i, 1);
		if (cb(ctx, day, area, pg_i64(r, i, 2)))
			break;
	}
	PQclear(r);
	return WARD_OK;
}

/* ---- settings ---- */

static void settings_defaults(int64_t school, srv_notify_settings *o)
{
	memset(o, 0, sizeof *o);
	o->school_id = school;
	o->escalation_minutes = SRV_NOTIFY_DEFAULT_ESCALATION;
	o->dedup_minutes = SRV_NOTIFY_DEFAULT_DEDUP;
}

#define SETTINGS_COLS                                                                              \
	"SELECT school_id, rev, escalation_minutes, dedup_minutes, smtp_url, mail_from,"           \
	" dsl_emails, deputy_emails, head_emails, base_url FROM notify_settings "

static void settings_row(const PGresult *r, int i, srv_notify_settings *o)
{
	settings_defaults(pg_i64(r, i, 0), o);
	o->rev = pg_i64(r, i, 1);
	o->escalation_minutes = pg_i64(r, i, 2);
	o->dedup_minutes = pg_i64(r, i, 3);
	pg_text(o->smtp_url, sizeof o->smtp_url, r, i, 4);
	pg_text(o->mail_from, sizeof o->mail_from, r, i, 5);
	pg_text(o->dsl_emails, sizeof o->dsl_emails, r, i, 6);
	pg_text(o->deputy_emails, sizeof o->deputy_emails, r, i, 7);
	pg_text(o->head_emails, sizeof o->head_emails, r, i, 8);
	pg_text(o->base_url, sizeof o->base_url, r, i, 9);
}

/* Inside c's transaction: the stored settings or the defaults. */
static ward_status settings_in(pg_store *s, pg_conn *c, int64_t school, srv_notify_settings *o)
{
	pg_args a = {0};
	PGresult *r;
	settings_defaults(school, o);
	pg_arg_i64(&a, school);
	r = pg_q(s, c, SETTINGS_COLS "WHERE school_id = $1", &a);
	if (!r)
		return WARD_EIO;
	if (PQntuples(r) == 1)
		settings_row(r, 0, o);
	PQclear(r);
	return WARD_OK;
}

static ward_status pg_settings_get(srv_store *b, int64_t school_id, srv_notify_settings *out)
{
	pg_store *s = (pg_store *)b;
	ward_status rc;
	pg_conn *c = pg_begin(s, school_id, 0);
	if (!c)
		return WARD_EIO;
	rc = settings_in(s, c, school_id, out);
	pg_end(s, c, WARD_OK);
	return rc;
}

static ward_status pg_settings_put(srv_store *b, srv_notify_settings *n, const srv_audit_in *a)
{
	pg_store *s = (pg_store *)b;
	ward_status rc;
	srv_notify_settings old;
	unsigned char d[SRV_HASH_LEN];
	pg_conn *c = pg_begin(s, n->school_id, 1);
	if (!c)
		return WARD_EIO;
	rc = settings_in(s, c, n->school_id, &old);
	if (rc == WARD_OK) {
		pg_args p = {0};
		n->rev = old.rev + 1;
		pg_arg_i64(&p, n->school_id);
		pg_arg_i64(&p, n->rev);
		pg_arg_i64(&p, n->escalation_minutes);
		pg_arg_i64(&p, n->dedup_minutes);
		pg_arg_str(&p, n->smtp_url);
		pg_arg_str(&p, n->mail_from);
		pg_arg_str(&p, n->dsl_emails);
		pg_arg_str(&p, n->deputy_emails);
		pg_arg_str(&p, n->head_emails);
		pg_arg_str(&p, n->base_url);
		rc = pg_cmd(s, c,
		            "INSERT INTO notify_settings (school_id, rev, escalation_minutes,"
		            " dedup_minutes, smtp_url, mail_from, dsl_emails, deputy_emails, head_emails,"
		            " base_url) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (school_id)"
		            " DO UPDATE SET rev = excluded.rev, escalation_minutes ="
		            " excluded.escalation_minutes, dedup_minutes = excluded.dedup_minutes,"
		            " smtp_url = excluded.smtp_url, mail_from = excluded.mail_from, dsl_emails ="
		            " excluded.dsl_emails, deputy_emails = excluded.deputy_emails, head_emails ="
		            " excluded.head_emails, base_url = excluded.base_url",
		            &p, NULL);
	}
	if (rc == WARD_OK) {
		srv_settings_digest(n, d);
		rc = audit_rev(s, c, a, "notify-settings", n->school_id, n->rev, d);
	}
	return pg_end(s, c, rc);
}

/* ---- notices ---- */

#define NOTICE_COLS                                                                                \
	"SELECT id, school_id, rev, kind, ref_id, raised_at, stage, next_at, acked_at, acked_by"   \
	" FROM notices "

static void notice_row(const PGresult *r, int i, srv_notice *n)
{
	memset(n, 0, sizeof *n);
	n->id = pg_i64(r, i, 0);
	n->school_id = pg_i64(r, i, 1);
	n->rev = pg_i64(r, i, 2);
	pg_text(n->kind, sizeof n->kind, r, i, 3);
	n->ref_id = pg_i64(r, i, 4);
	n->raised_at = pg_i64(r, i, 5);
	n->stage = pg_i64(r, i, 6);
	n->next_at = pg_i64(r, i, 7);
	n->acked_at = pg_i64(r, i, 8);
	n->acked_by = pg_i64(r, i, 9);
}

static ward_status notice_update(pg_store *s, pg_conn *c, const srv_notice *n)
{
	pg_args p = {0};
	pg_arg_i64(&p, n->rev);
	pg_arg_i64(&p, n->stage);
	pg_arg_i64(&p, n->next_at);
	pg_arg_i64(&p, n->acked_at);
	pg_arg_i64(&p, n->acked_by);
	pg_arg_i64(&p, n->id);
	return pg_cmd(s, c,
	              "UPDATE notices SET rev = $1, stage = $2, next_at = $3, acked_at = $4,"
	              " acked_by = $5 WHERE id = $6",
	              &p, NULL);
}

static ward_status pg_notice_list(srv_store *b, int64_t school_id, srv_notice_cb cb, void *ctx)
{
	pg_args a = {0};
	PGresult *r;
	pg_arg_i64(&a, school_id);
	r = read_rows((pg_store *)b, school_id,
	              NOTICE_COLS "WHERE school_id = $1 AND acked_at = 0 ORDER BY id LIMIT 1000", &a);
	if (!r)
		return WARD_EIO;
	for (int i = 0; i < PQntuples(r); i++) {
		srv_notice n;
		notice_row(r, i, &n);
		if (cb(ctx, &n))
			break;
	}
	PQclear(r);
	return WARD_OK;
}

static ward_status notice_close(pg_store *s, pg_conn *c, int64_t school, const char *kind,
                                int64_t ref, int64_t now, const srv_audit_in *a, int must)
{
	pg_args p = {0};
	PGresult *r;
	srv_notice n;
	unsigned char d[SRV_HASH_LEN];
	ward_status rc;
	pg_arg_i64(&p, school);
	pg_arg_str(&p, kind);
	pg_arg_i64(&p, ref);
	r = pg_q(s, c, NOTICE_COLS "WHERE school_id = $1 AND kind = $2 AND ref_id = $3", &p);
	if (!r)
		return WARD_EIO;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return must ? WARD_ENOENT : WARD_OK;
	}
	notice_row(r, 0, &n);
	PQclear(r);
	if (n.acked_at)
		return must ? WARD_EINVAL : WARD_OK;
	n.rev++;
	n.acked_at = now > 0 ? now : 1;
	n.acked_by = a->actor_id;
	n.next_at = 0;
	rc = notice_update(s, c, &n);
	if (rc != WARD_OK)
		return rc;
	srv_notice_digest(&n, d);
	srv_audit_in in = *a;
	in.action = "notice.acknowledge";
	return audit_rev(s, c, &in, "notice", n.id, n.rev, d);
}

static ward_status pg_notice_ack(srv_store *b, int64_t school_id, const char *kind, int64_t ref_id,
                                 int64_t now, const srv_audit_in *a)
{
	pg_store *s = (pg_store *)b;
	pg_conn *c = pg_begin(s, school_id, 1);
	if (!c)
		return WARD_EIO;
	return pg_end(s, c, notice_close(s, c, school_id, kind, ref_id, now, a, 1));
}

/* The write transaction holds the chain's head lock, so the due notice read here cannot be
 * claimed by another wardd until this one commits, and then it is no longer due. */
static ward_status pg_notice_claim(srv_store *b, int64_t now, srv_notice *out,
                                   srv_notify_settings *set)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	pg_args p = {0};
	PGresult *r;
	unsigned char d[SRV_HASH_LEN];
	pg_conn *c = pg_begin(s, PG_ALL, 1);
	if (!c)
		return rc;
	pg_arg_i64(&p, now);
	r = pg_q(s, c,
	         NOTICE_COLS "WHERE acked_at = 0 AND stage < 3 AND next_at <= $1"
	                     " ORDER BY next_at, id LIMIT 1",
	         &p);
	if (!r)
		goto done;
	if (PQntuples(r) != 1) {
		PQclear(r);
		pg_end(s, c, WARD_EINVAL); /* nothing written: roll back */
		return WARD_ENOENT;
	}
	notice_row(r, 0, out);
	PQclear(r);
	rc = settings_in(s, c, out->school_id, set);
	if (rc != WARD_OK)
		goto done;
	out->rev++;
	out->stage++;
	out->next_at = out->stage < 3 ? now + set->escalation_minutes * 60 : 0;
	rc = notice_update(s, c, out);
	if (rc == WARD_OK) {
		srv_audit_in in = {out->school_id, 0,
		                   out->stage == 1   ? "notice.send-dsl"
		                   : out->stage == 2 ? "notice.escalate-deputy"
		                                     : "notice.escalate-head",
		                   NULL, "wardd"};
		srv_notice_digest(out, d);
		rc = audit_rev(s, c, &in, "notice", out->id, out->rev, d);
	}
done:
	return pg_end(s, c, rc);
}

/* ---- audit verify: every audited row as it is now ---- */

static ward_status walk(srv_store *b, srv_row_cb cb, void *ctx)
{
	pg_store *s = (pg_store *)b;
	char target[64];
	unsigned char d[SRV_HASH_LEN];
	int stop = 0;
	PGresult *r;
	r = read_rows(s, PG_ALL, TOKEN_COLS "ORDER BY id", NULL);
	if (!r)
		return WARD_EIO;
	for (int i = 0; i < PQntuples(r) && !stop; i++) {
		srv_token t;
		token_row(r, i, &t);
		srv_token_digest(&t, d);
		snprintf(target, sizeof target, "token/%lld/r%lld", (long long)t.id,
		         (long long)pg_i64(r, i, 6));
		stop = cb(ctx, target, d);
	}
	PQclear(r);
	for (int64_t last = 0; !stop;) {
		pg_args a = {0};
		int n;
		pg_arg_i64(&a, last);
		r = read_rows(s, PG_ALL, ALERT_COLS "WHERE id > $1 ORDER BY id LIMIT 5000", &a);
		if (!r)
			return WARD_EIO;
		n = PQntuples(r);
		for (int i = 0; i < n && !stop; i++) {
			srv_alert al;
			if (alert_row(r, i, &al) != WARD_OK) {
				PQclear(r);
				return WARD_ENOMEM;
			}
			last = al.id;
			srv_alert_digest(&al, d);
			snprintf(target, sizeof target, "alert/%lld/r%lld", (long long)al.id,
			         (long long)al.rev);
			srv_alert_clear(&al);
			stop = cb(ctx, target, d);
		}
		PQclear(r);
		if (n < 5000)
			break;
	}
	r = stop ? NULL : read_rows(s, PG_ALL, SETTINGS_COLS "ORDER BY school_id", NULL);
	for (int i = 0; r && i < PQntuples(r) && !stop; i++) {
		srv_notify_settings n;
		settings_row(r, i, &n);
		srv_settings_digest(&n, d);
		snprintf(target, sizeof target, "notify-settings/%lld/r%lld", (long long)n.school_id,
		         (long long)n.rev);
		stop = cb(ctx, target, d);
	}
	PQclear(r);
	/* A notice at revision 0 was raised by its concern's or alert's own audited write. */
	for (int64_t last = 0; !stop;) {
		pg_args a = {0};
		int n;
		pg_arg_i64(&a, last);
		r = read_rows(s, PG_ALL, NOTICE_COLS "WHERE rev > 0 AND id > $1 ORDER BY id LIMIT 5000",
		              &a);
		if (!r)
			return WARD_EIO;
		n = PQntuples(r);
		for (int i = 0; i < n && !stop; i++) {
			srv_notice no;
			notice_row(r, i, &no);
			last = no.id;
			srv_notice_digest(&no, d);
			snprintf(target, sizeof target, "notice/%lld/r%lld", (long long)no.id,
			         (long long)no.rev);
			stop = cb(ctx, target, d);
		}
		PQclear(r);
		if (n < 5000)
			break;
	}
	return WARD_OK;
}

static const struct srv_alert_ops ops = {
    pg_token_create, pg_token_find,   pg_token_list,   pg_token_revoke,  pg_alert_post,
    pg_alert_get,    pg_alert_list,   pg_alert_decide, pg_alert_promote, pg_alert_summary,
    pg_settings_get, pg_settings_put, pg_notice_list,  pg_notice_ack,    pg_notice_claim,
};

static void attach(pg_store *s)
{
	s->base.alerts = &ops;
	srv_store_add_walker(&s->base, walk);
}

const pg_schema pg_schema_alerts = {"alerts", schema_pg_alerts, SCHEMA_ALERTS_VERSIONS, attach};
