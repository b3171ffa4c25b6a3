/* store_sqlite_alerts.c: the SQLite side of store_alerts.h: service tokens, detection alerts,
 * notices for the DSL team and their escalation, and the school's alerting settings.  Every
 * write is one BEGIN IMMEDIATE transaction with its audit entry (sq_audit_locked), so a 201 means
 * committed and `ward admin audit verify` can check each row against its latest entry.
 *
 * A new concern raises its notice through a trigger on concern_versions, in the concern's own
 * transaction: no concern can be committed without the notice that brings it to the DSL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "schema.h"
#include "srv.h"
#include "store_alerts.h"
#include "store_sqlite.h"

#define LOCK(s)   pthread_mutex_lock(&(s)->mu)
#define UNLOCK(s) pthread_mutex_unlock(&(s)->mu)

/* ---- digests: fields in a fixed order, strings with their length ---- */

void srv_alert_digest(const srv_alert *a, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, SRV_HASH_LEN);
	srv_hash_str(&h, "alert");
	srv_hash_i64(&h, a->id);
	srv_hash_i64(&h, a->school_id);
	srv_hash_i64(&h, a->rev);
	srv_hash_i64(&h, a->token_id);
	srv_hash_str(&h, a->area);
	srv_hash_str(&h, a->rule);
	srv_hash_str(&h, a->severity);
	srv_hash_str(&h, a->source);
	srv_hash_str(&h, a->dedup_key);
	srv_hash_i64(&h, a->first_seen);
	srv_hash_i64(&h, a->last_seen);
	srv_hash_i64(&h, a->count);
	srv_hash_str(&h, a->status);
	srv_hash_i64(&h, a->concern_id);
	srv_hash_i64(&h, a->decided_by);
	srv_hash_i64(&h, a->decided_at);
	srv_hash_i64(&h, (int64_t)a->payload_len);
	crypto_generichash_update(&h, a->payload, a->payload_len);
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

void srv_token_digest(const srv_token *t, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, SRV_HASH_LEN);
	srv_hash_str(&h, "token");
	srv_hash_i64(&h, t->id);
	srv_hash_i64(&h, t->school_id);
	srv_hash_str(&h, t->name);
	crypto_generichash_update(&h, t->hash, SRV_HASH_LEN);
	srv_hash_i64(&h, t->created);
	srv_hash_i64(&h, t->revoked);
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

void srv_settings_digest(const srv_notify_settings *n, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, SRV_HASH_LEN);
	srv_hash_str(&h, "notify-settings");
	srv_hash_i64(&h, n->school_id);
	srv_hash_i64(&h, n->rev);
	srv_hash_i64(&h, n->escalation_minutes);
	srv_hash_i64(&h, n->dedup_minutes);
	srv_hash_str(&h, n->smtp_url);
	srv_hash_str(&h, n->mail_from);
	srv_hash_str(&h, n->dsl_emails);
	srv_hash_str(&h, n->deputy_emails);
	srv_hash_str(&h, n->head_emails);
	srv_hash_str(&h, n->base_url);
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

void srv_notice_digest(const srv_notice *n, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, SRV_HASH_LEN);
	srv_hash_str(&h, "notice");
	srv_hash_i64(&h, n->id);
	srv_hash_i64(&h, n->school_id);
	srv_hash_i64(&h, n->rev);
	srv_hash_str(&h, n->kind);
	srv_hash_i64(&h, n->ref_id);
	srv_hash_i64(&h, n->raised_at);
	srv_hash_i64(&h, n->stage);
	srv_hash_i64(&h, n->acked_at);
	srv_hash_i64(&h, n->acked_by);
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

void srv_alert_clear(srv_alert *a)
{
	if (a->payload) {
		sodium_memzero(a->payload, a->payload_len);
		free(a->payload);
	}
	a->payload = NULL;
	a->payload_len = 0;
}

/* Audits a write: target "KIND/ID/rREV" with digest d. */
static ward_status audit_rev(sq_store *s, const srv_audit_in *a, const char *kind, int64_t id,
                             int64_t rev, const unsigned char *d)
{
	char target[64];
	srv_audit_in in = *a;
	snprintf(target, sizeof target, "%s/%lld/r%lld", kind, (long long)id, (long long)rev);
	in.target = target;
	return sq_audit_locked(s, &in, d);
}

static ward_status begin(sq_store *s)
{
	return sq_exec(s, "BEGIN IMMEDIATE");
}

/* Commits, or rolls back when rc is not WARD_OK; returns the outcome. */
static ward_status end(sq_store *s, ward_status rc)
{
	if (rc == WARD_OK)
		rc = sq_exec(s, "COMMIT");
	if (rc != WARD_OK)
		sq_exec(s, "ROLLBACK");
	return rc;
}

static int step_done(sq_store *s, sqlite3_stmt *st, const char *what)
{
	int ok = st && sqlite3_step(st) == SQLITE_DONE;
	if (st && !ok)
		sq_set_err(s, what);
	sqlite3_finalize(st);
	return ok;
}

/* ---- tokens ---- */

#define TOKEN_COLS "SELECT id, school_id, name, hash, created, revoked FROM service_tokens "

static void token_row(sqlite3_stmt *st, srv_token *t)
{
	memset(t, 0, sizeof *t);
	t->id = sqlite3_column_int64(st, 0);
	t->school_id = sqlite3_column_int64(st, 1);
	sq_copy_col(t->name, sizeof t->name, st, 2);
	sq_copy_blob(t->hash, SRV_HASH_LEN, st, 3);
	t->created = sqlite3_column_int64(st, 4);
	t->revoked = sqlite3_column_int64(st, 5);
}

static ward_status sq_token_create(srv_store *b, srv_token *t, const srv_audit_in *a)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	unsigned char d[SRV_HASH_LEN];
	sqlite3_stmt *st;
	LOCK(s);
	if (begin(s) != WARD_OK)
		goto out;
	st = sq_prep(s, "INSERT INTO service_tokens (school_id, name, hash, created, rev)"
	                " VALUES (?,?,?,?,1)");
	if (st) {
		sqlite3_bind_int64(st, 1, t->school_id);
		sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, t->hash, SRV_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, t->created);
	}
	if (step_done(s, st, "token")) {
		t->id = sqlite3_last_insert_rowid(s->db);
		srv_token_digest(t, d);
		rc = audit_rev(s, a, "token", t->id, 1, d);
	}
	rc = end(s, rc);
out:
	UNLOCK(s);
	return rc;
}

static ward_status sq_token_find(srv_store *b, const unsigned char hash[SRV_HASH_LEN],
                                 srv_token *out)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	LOCK(s);
	st = sq_prep(s, TOKEN_COLS "WHERE hash = ?");
	if (st) {
		sqlite3_bind_blob(st, 1, hash, SRV_HASH_LEN, SQLITE_STATIC);
		rc = WARD_ENOENT;
		if (sqlite3_step(st) == SQLITE_ROW) {
			token_row(st, out);
			rc = WARD_OK;
		}
	}
	sqlite3_finalize(st);
	UNLOCK(s);
	return rc;
}

static ward_status sq_token_list(srv_store *b, int64_t school_id, srv_token_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	srv_token t;
	LOCK(s);
	st = sq_prep(s, TOKEN_COLS "WHERE school_id = ? ORDER BY id");
	if (st) {
		sqlite3_bind_int64(st, 1, school_id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			token_row(st, &t);
			if (cb(ctx, &t))
				break;
		}
		rc = WARD_OK;
	}
	sqlite3_finalize(st);
	UNLOCK(s);
	return rc;
}

static ward_status sq_token_revoke(srv_store *b, int64_t school_id, int64_t id, int64_t now,
                                   const srv_audit_in *a)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	srv_token t;
	int64_t rev = 0;
	unsigned char d[SRV_HASH_LEN];
	LOCK(s);
	if (begin(s) != WARD_OK)
		goto out;
	st =
	    sq_prep(s, "SELECT id, school_id, name, hash, created, revoked, rev FROM service_tokens"
	               " WHERE id = ? AND school_id = ?");
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, school_id);
		rc = WARD_ENOENT;
		if (sqlite3_step(st) == SQLITE_ROW) {
			token_row(st, &t);
			rev = sqlite3_column_int64(st, 6) + 1;
			rc = t.revoked ? WARD_ENOENT : WARD_OK;
		}
		sqlite3_finalize(st);
	}
	if (rc == WARD_OK) {
		rc = WARD_EIO;
		t.revoked = now;
		st = sq_prep(s, "UPDATE service_tokens SET revoked = ?, rev = ? WHERE id = ?");
		if (st) {
			sqlite3_bind_int64(st, 1, now);
			sqlite3_bind_int64(st, 2, rev);
			sqlite3_bind_int64(st, 3, id);
		}
		if (step_done(s, st, "token revoke")) {
			srv_token_digest(&t, d);
			rc = audit_rev(s, a, "token", id, rev, d);
		}
	}
	rc = end(s, rc);
out:
	UNLOCK(s);
	return rc;
}

/* ---- alerts ---- */

#define ALERT_COLS                                                                                 \
	"SELECT id, school_id, rev, token_id, area, rule, severity, source, dedup_key, "           \
	"first_seen,"                                                                              \
	" last_seen, count, status, concern_id, decided_by, decided_at, payload FROM alerts "

static ward_status alert_row(sqlite3_stmt *st, srv_alert *a)
{
	const void *p = sqlite3_column_blob(st, 16);
	int n = sqlite3_column_bytes(st, 16);
	memset(a, 0, sizeof *a);
	a->id = sqlite3_column_int64(st, 0);
	a->school_id = sqlite3_column_int64(st, 1);
	a->rev = sqlite3_column_int64(st, 2);
	a->token_id = sqlite3_column_int64(st, 3);
	sq_copy_col(a->area, sizeof a->area, st, 4);
	sq_copy_col(a->rule, sizeof a->rule, st, 5);
	sq_copy_col(a->severity, sizeof a->severity, st, 6);
	sq_copy_col(a->source, sizeof a->source, st, 7);
	sq_copy_col(a->dedup_key, sizeof a->dedup_key, st, 8);
	a->first_seen = sqlite3_column_int64(st, 9);
	a->last_seen = sqlite3_column_int64(st, 10);
	a->count = sqlite3_column_int64(st, 11);
	sq_copy_col(a->status, sizeof a->status, st, 12);
	a->concern_id = sqlite3_column_int64(st, 13);
	a->decided_by = sqlite3_column_int64(st, 14);
	a->decided_at = sqlite3_column_int64(st, 15);
	a->payload = malloc(n > 0 ? (size_t)n : 1);
	if (!a->payload)
		return WARD_ENOMEM;
	if (n > 0)
		memcpy(a->payload, p, (size_t)n);
	a->payload_len = (size_t)n;
	return WARD_OK;
}

/* Writes a (insert or full update by id) inside the caller's transaction. */
static int alert_write(sq_store *s, const srv_alert *a, int insert)
{
	sqlite3_stmt *st = sq_prep(
	    s, insert ? "INSERT INTO alerts (id, school_id, rev, token_id, area, rule, severity,"
	                " source, dedup_key, first_seen, last_seen, count, status, concern_id,"
	                " decided_by, decided_at, payload) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,"
	                "?11,?12,?13,?14,?15,?16,?17)"
	              : "UPDATE alerts SET rev = ?3, last_seen = ?11, count = ?12, status = ?13,"
	                " concern_id = ?14, decided_by = ?15, decided_at = ?16, payload = ?17"
	                " WHERE id = ?1 AND school_id = ?2");
	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_int64(st, 2, a->school_id);
	sqlite3_bind_int64(st, 3, a->rev);
	if (insert) {
		sqlite3_bind_int64(st, 4, a->token_id);
		sqlite3_bind_text(st, 5, a->area, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, a->rule, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, a->severity, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, a->source, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, a->dedup_key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 10, a->first_seen);
	}
	sqlite3_bind_int64(st, 11, a->last_seen);
	sqlite3_bind_int64(st, 12, a->count);
	sqlite3_bind_text(st, 13, a->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 14, a->concern_id);
	sqlite3_bind_int64(st, 15, a->decided_by);
	sqlite3_bind_int64(st, 16, a->decided_at);
	sqlite3_bind_blob(st, 17, a->payload, (int)a->payload_len, SQLITE_STATIC);
	return step_done(s, st, "alert");
}

static ward_status notice_insert(sq_store *s, int64_t school, const char *kind, int64_t ref,
                                 int64_t now)
{
	sqlite3_stmt *st = sq_prep(s, "INSERT OR IGNORE INTO notices (school_id, kind, ref_id,"
	                              " raised_at) VALUES (?,?,?,?)");
	if (st) {
		sqlite3_bind_int64(st, 1, school);
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, ref);
		sqlite3_bind_int64(st, 4, now);
	}
	return step_done(s, st, "notice") ? WARD_OK : WARD_EIO;
}

static ward_status sq_alert_post(srv_store *b, srv_alert *a, int64_t now, int64_t window,
                                 const srv_audit_in *au, int *merged)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	srv_alert old;
	unsigned char d[SRV_HASH_LEN];
	int found = 0;
	memset(&old, 0, sizeof old);
	*merged = 0;
	LOCK(s);
	if (begin(s) != WARD_OK)
		goto out;
	st = sq_prep(s, ALERT_COLS "WHERE school_id = ? AND dedup_key = ? AND first_seen >= ?"
	                           " ORDER BY first_seen DESC LIMIT 1");
	if (!st)
		goto fin;
	sqlite3_bind_int64(st, 1, a->school_id);
	sqlite3_bind_text(st, 2, a->dedup_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now - window);
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		if (alert_row(st, &old) != WARD_OK) {
			sqlite3_finalize(st);
			goto fin;
		}
	}
	sqlite3_finalize(st);
	if (found) {
		old.rev++;
		old.count++;
		if (now > old.last_seen)
			old.last_seen = now;
		if (!alert_write(s, &old, 0))
			goto fin;
		srv_alert_digest(&old, d);
		srv_audit_in in = *au;
		in.action = "alert.merge";
		rc = audit_rev(s, &in, "alert", old.id, old.rev, d);
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
		if (!alert_write(s, a, 1))
			goto fin;
		srv_alert_digest(a, d);
		rc = audit_rev(s, au, "alert", a->id, a->rev, d);
		if (rc == WARD_OK &&
		    (strcmp(a->severity, "high") == 0 || strcmp(a->severity, "critical") == 0))
			rc = notice_insert(s, a->school_id, "alert", a->id, now);
	}
fin:
	rc = end(s, rc);
out:
	UNLOCK(s);
	srv_alert_clear(&old);
	return rc;
}

static ward_status sq_alert_get(srv_store *b, int64_t school_id, int64_t id, srv_alert *out)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	LOCK(s);
	st = sq_prep(s, ALERT_COLS "WHERE id = ? AND school_id = ?");
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, school_id);
		rc = WARD_ENOENT;
		if (sqlite3_step(st) == SQLITE_ROW)
			rc = alert_row(st, out);
	}
	sqlite3_finalize(st);
	UNLOCK(s);
	return rc;
}

static ward_status alert_iter(sqlite3_stmt *st, srv_alert_cb cb, void *ctx)
{
	ward_status rc = WARD_OK;
	srv_alert a;
	while (rc == WARD_OK && sqlite3_step(st) == SQLITE_ROW) {
		rc = alert_row(st, &a);
		if (rc != WARD_OK)
			break;
		int stop = cb(ctx, &a);
		srv_alert_clear(&a);
		if (stop)
			break;
	}
	return rc;
}

static ward_status sq_alert_list(srv_store *b, int64_t school_id, const srv_alert_filter *f,
                                 srv_alert_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	LOCK(s);
	st = sq_prep(s, ALERT_COLS "WHERE school_id = ?1 AND (?2 IS NULL OR status = ?2)"
	                           " AND (?3 IS NULL OR area = ?3) AND last_seen >= ?4"
	                           " ORDER BY last_seen DESC, id DESC LIMIT ?5");
	if (st) {
		sqlite3_bind_int64(st, 1, school_id);
		if (f->status)
			sqlite3_bind_text(st, 2, f->status, -1, SQLITE_STATIC);
		if (f->area)
			sqlite3_bind_text(st, 3, f->area, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, f->since);
		sqlite3_bind_int(st, 5, f->limit > 0 ? f->limit : 500);
		rc = alert_iter(st, cb, ctx);
	}
	sqlite3_finalize(st);
	UNLOCK(s);
	return rc;
}

/* Checks inside a transaction that alert a is still at a->rev and undecided. */
static ward_status alert_current(sq_store *s, const srv_alert *a)
{
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st =
	    sq_prep(s, "SELECT rev, status FROM alerts WHERE id = ? AND school_id = ?");
	if (!st)
		return rc;
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_int64(st, 2, a->school_id);
	rc = WARD_ENOENT;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *status = (const char *)sqlite3_column_text(st, 1);
		rc = WARD_OK;
		if (sqlite3_column_int64(st, 0) != a->rev || !status ||
		    strcmp(status, "new") != 0) {
			snprintf(s->base.err, sizeof s->base.err,
			         "the alert has been decided or changed since it was read");
			rc = WARD_EINVAL;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* Acknowledges an open notice of (kind, ref) inside the caller's transaction; none is fine. */
static ward_status notice_close_locked(sq_store *s, int64_t school, const char *kind, int64_t ref,
                                       int64_t now, const srv_audit_in *a, int must);

static ward_status sq_alert_decide(srv_store *b, srv_alert *a, const srv_audit_in *au)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	unsigned char d[SRV_HASH_LEN];
	LOCK(s);
	if (begin(s) != WARD_OK)
		goto out;
	rc = alert_current(s, a);
	if (rc == WARD_OK) {
		rc = WARD_EIO;
		a->rev++;
		if (alert_write(s, a, 0)) {
			srv_alert_digest(a, d);
			rc = audit_rev(s, au, "alert", a->id, a->rev, d);
		}
	}
	if (rc == WARD_OK)
		rc = notice_close_locked(s, a->school_id, "alert", a->id, a->decided_at, au, 0);
	rc = end(s, rc);
out:
	UNLOCK(s);
	return rc;
}

static ward_status sq_alert_promote(srv_store *b, srv_alert *a, srv_concern *c,
                                    const srv_audit_in *au_alert, const srv_audit_in *au_concern)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	unsigned char d[SRV_HASH_LEN];
	sqlite3_stmt *st;
	char target[64];
	LOCK(s);
	if (begin(s) != WARD_OK)
		goto out;
	rc = alert_current(s, a);
	if (rc != WARD_OK)
		goto fin;
	rc = WARD_EIO;
	/* The concern, as core's concern_put writes it; the trigger raises its notice. */
	st = sq_prep(s, "INSERT INTO concern_versions (concern_id, version, school_id, reporter_id,"
	                " created, status, payload) VALUES (?,?,?,?,?,?,?)");
	if (!st)
		goto fin;
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_int64(st, 2, c->version);
	sqlite3_bind_int64(st, 3, c->school_id);
	sqlite3_bind_int64(st, 4, c->reporter_id);
	sqlite3_bind_int64(st, 5, c->created);
	sqlite3_bind_text(st, 6, c->status, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, c->payload, (int)c->payload_len, SQLITE_STATIC);
	if (!step_done(s, st, "concern"))
		goto fin;
	{
		srv_audit_in in = *au_concern;
		snprintf(target, sizeof target, "concern/%lld/v%lld", (long long)c->id,
		         (long long)c->version);
		in.target = target;
		srv_concern_digest(c, d);
		if (sq_audit_locked(s, &in, d) != WARD_OK)
			goto fin;
	}
	a->rev++;
	a->concern_id = c->id;
	if (!alert_write(s, a, 0))
		goto fin;
	srv_alert_digest(a, d);
	rc = audit_rev(s, au_alert, "alert", a->id, a->rev, d);
	if (rc == WARD_OK)
		rc = notice_close_locked(s, a->school_id, "alert", a->id, a->decided_at, au_alert,
		                         0);
fin:
	rc = end(s, rc);
out:
	UNLOCK(s);
	return rc;
}

static ward_status sq_alert_summary(srv_store *b, int64_t school_id, int64_t since,
                                    srv_alert_count_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	LOCK(s);
	st = sq_prep(s, "SELECT date(first_seen, 'unixepoch') AS day, area, COUNT(*) FROM alerts"
	                " WHERE school_id = ? AND first_seen >= ? GROUP BY day, area"
	                " ORDER BY day, area");
	if (st) {
		sqlite3_bind_int64(st, 1, school_id);
		sqlite3_bind_int64(st, 2, since);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char day[16], area[32];
			sq_copy_col(day, sizeof day, st, 0);
			sq_copy_col(area, sizeof area, st, 1);
			if (cb(ctx, day, area, sqlite3_column_int64(st, 2)))
				break;
		}
		rc = WARD_OK;
	}
	sqlite3_finalize(st);
	UNLOCK(s);
	return rc;
}

/* ---- settings ---- */

static void settings_defaults(int64_t school, srv_notify_settings *o)
{
	memset(o, 0, sizeof *o);
	o->school_id = school;
	o->escalation_minutes = SRV_NOTIFY_DEFAULT_ESCALATION;
	o->dedup_minutes = SRV_NOTIFY_DEFAULT_DEDUP;
}

/* Inside the lock. */
static ward_status settings_locked(sq_store *s, int64_t school, srv_notify_settings *o)
{
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st = sq_prep(
	    s, "SELECT rev, escalation_minutes, dedup_minutes, smtp_url, mail_from, dsl_emails,"
	       " deputy_emails, head_emails, base_url FROM notify_settings WHERE school_id = ?");
	settings_defaults(school, o);
	if (!st)
		return rc;
	sqlite3_bind_int64(st, 1, school);
	rc = WARD_OK;
	if (sqlite3_step(st) == SQLITE_ROW) {
		o->rev = sqlite3_column_int64(st, 0);
		o->escalation_minutes = sqlite3_column_int64(st, 1);
		o->dedup_minutes = sqlite3_column_int64(st, 2);
		sq_copy_col(o->smtp_url, sizeof o->smtp_url, st, 3);
		sq_copy_col(o->mail_from, sizeof o->mail_from, st, 4);
		sq_copy_col(o->dsl_emails, sizeof o->dsl_emails, st, 5);
		sq_copy_col(o->deputy_emails, sizeof o->deputy_emails, st, 6);
		sq_copy_col(o->head_emails, sizeof o->head_emails, st, 7);
		sq_copy_col(o->base_url, sizeof o->base_url, st, 8);
	}
	sqlite3_finalize(st);
	return rc;
}

static ward_status sq_settings_get(srv_store *b, int64_t school_id, srv_notify_settings *out)
{
	sq_store *s = (sq_store *)b;
	ward_status rc;
	LOCK(s);
	rc = settings_locked(s, school_id, out);
	UNLOCK(s);
	return rc;
}

static ward_status sq_settings_put(srv_store *b, srv_notify_settings *n, const srv_audit_in *a)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	srv_notify_settings old;
	unsigned char d[SRV_HASH_LEN];
	sqlite3_stmt *st;
	LOCK(s);
	if (begin(s) != WARD_OK)
		goto out;
	if (settings_locked(s, n->school_id, &old) != WARD_OK)
		goto fin;
	n->rev = old.rev + 1;
	st =
	    sq_prep(s, "INSERT OR REPLACE INTO notify_settings (school_id, rev, escalation_minutes,"
	               " dedup_minutes, smtp_url, mail_from, dsl_emails, deputy_emails,"
	               " head_emails, base_url) VALUES (?,?,?,?,?,?,?,?,?,?)");
	if (st) {
		sqlite3_bind_int64(st, 1, n->school_id);
		sqlite3_bind_int64(st, 2, n->rev);
		sqlite3_bind_int64(st, 3, n->escalation_minutes);
		sqlite3_bind_int64(st, 4, n->dedup_minutes);
		sqlite3_bind_text(st, 5, n->smtp_url, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, n->mail_from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, n->dsl_emails, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, n->deputy_emails, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, n->head_emails, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, n->base_url, -1, SQLITE_STATIC);
	}
	if (step_done(s, st, "settings")) {
		srv_settings_digest(n, d);
		rc = audit_rev(s, a, "notify-settings", n->school_id, n->rev, d);
	}
fin:
	rc = end(s, rc);
out:
	UNLOCK(s);
	return rc;
}

/* ---- notices ---- */

#define NOTICE_COLS                                                                                \
	"SELECT id, school_id, rev, kind, ref_id, raised_at, stage, next_at, acked_at, acked_by"   \
	" FROM notices "

static void notice_row(sqlite3_stmt *st, srv_notice *n)
{
	memset(n, 0, sizeof *n);
	n->id = sqlite3_column_int64(st, 0);
	n->school_id = sqlite3_column_int64(st, 1);
	n->rev = sqlite3_column_int64(st, 2);
	sq_copy_col(n->kind, sizeof n->kind, st, 3);
	n->ref_id = sqlite3_column_int64(st, 4);
	n->raised_at = sqlite3_column_int64(st, 5);
	n->stage = sqlite3_column_int64(st, 6);
	n->next_at = sqlite3_column_int64(st, 7);
	n->acked_at = sqlite3_column_int64(st, 8);
	n->acked_by = sqlite3_column_int64(st, 9);
}

static int notice_update(sq_store *s, const srv_notice *n)
{
	sqlite3_stmt *st = sq_prep(s, "UPDATE notices SET rev = ?, stage = ?, next_at = ?,"
	                              " acked_at = ?, acked_by = ? WHERE id = ?");
	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, n->rev);
	sqlite3_bind_int64(st, 2, n->stage);
	sqlite3_bind_int64(st, 3, n->next_at);
	sqlite3_bind_int64(st, 4, n->acked_at);
	sqlite3_bind_int64(st, 5, n->acked_by);
	sqlite3_bind_int64(st, 6, n->id);
	return step_done(s, st, "notice");
}

static ward_status sq_notice_list(srv_store *b, int64_t school_id, srv_notice_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	srv_notice n;
	LOCK(s);
	st = sq_prep(s, NOTICE_COLS "WHERE school_id = ? AND acked_at = 0 ORDER BY id LIMIT 1000");
	if (st) {
		sqlite3_bind_int64(st, 1, school_id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			notice_row(st, &n);
			if (cb(ctx, &n))
				break;
		}
		rc = WARD_OK;
	}
	sqlite3_finalize(st);
	UNLOCK(s);
	return rc;
}

static ward_status notice_close_locked(sq_store *s, int64_t school, const char *kind, int64_t ref,
                                       int64_t now, const srv_audit_in *a, int must)
{
	ward_status rc = WARD_EIO;
	srv_notice n;
	unsigned char d[SRV_HASH_LEN];
	sqlite3_stmt *st =
	    sq_prep(s, NOTICE_COLS "WHERE school_id = ? AND kind = ? AND ref_id = ?");
	if (!st)
		return rc;
	sqlite3_bind_int64(st, 1, school);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ref);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return must ? WARD_ENOENT : WARD_OK;
	}
	notice_row(st, &n);
	sqlite3_finalize(st);
	if (n.acked_at)
		return must ? WARD_EINVAL : WARD_OK;
	n.rev++;
	n.acked_at = now > 0 ? now : 1;
	n.acked_by = a->actor_id;
	n.next_at = 0;
	if (!notice_update(s, &n))
		return rc;
	srv_notice_digest(&n, d);
	srv_audit_in in = *a;
	in.action = "notice.acknowledge";
	return audit_rev(s, &in, "notice", n.id, n.rev, d);
}

static ward_status sq_notice_ack(srv_store *b, int64_t school_id, const char *kind, int64_t ref_id,
                                 int64_t now, const srv_audit_in *a)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	LOCK(s);
	if (begin(s) == WARD_OK)
		rc = end(s, notice_close_locked(s, school_id, kind, ref_id, now, a, 1));
	UNLOCK(s);
	return rc;
}

static ward_status sq_notice_claim(srv_store *b, int64_t now, srv_notice *out,
                                   srv_notify_settings *set)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	unsigned char d[SRV_HASH_LEN];
	sqlite3_stmt *st;
	LOCK(s);
	if (begin(s) != WARD_OK)
		goto out;
	st = sq_prep(s, NOTICE_COLS "WHERE acked_at = 0 AND stage < 3 AND next_at <= ?"
	                            " ORDER BY next_at, id LIMIT 1");
	if (!st)
		goto fin;
	sqlite3_bind_int64(st, 1, now);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		rc = WARD_ENOENT;
		goto fin;
	}
	notice_row(st, out);
	sqlite3_finalize(st);
	if (settings_locked(s, out->school_id, set) != WARD_OK)
		goto fin;
	out->rev++;
	out->stage++;
	out->next_at = out->stage < 3 ? now + set->escalation_minutes * 60 : 0;
	if (!notice_update(s, out))
		goto fin;
	srv_notice_digest(out, d);
	{
		srv_audit_in in = {out->school_id, 0,
		                   out->stage == 1   ? "notice.send-dsl"
		                   : out->stage == 2 ? "notice.escalate-deputy"
		                                     : "notice.escalate-head",
		                   NULL, "wardd"};
		rc = audit_rev(s, &in, "notice", out->id, out->rev, d);
	}
fin:
	if (rc == WARD_ENOENT) {
		sq_exec(s, "ROLLBACK");
	} else {
		rc = end(s, rc);
	}
out:
	UNLOCK(s);
	return rc;
}

/* ---- audit verify: every audited row as it is now ---- */

static ward_status walk(srv_store *b, srv_row_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st = NULL;
	char target[64];
	unsigned char d[SRV_HASH_LEN];
	int stop = 0;
	LOCK(s);
	st = sq_prep(s,
	             "SELECT id, school_id, name, hash, created, revoked, rev FROM service_tokens");
	if (!st)
		goto out;
	while (!stop && sqlite3_step(st) == SQLITE_ROW) {
		srv_token t;
		token_row(st, &t);
		srv_token_digest(&t, d);
		snprintf(target, sizeof target, "token/%lld/r%lld", (long long)t.id,
		         (long long)sqlite3_column_int64(st, 6));
		stop = cb(ctx, target, d);
	}
	sqlite3_finalize(st);
	st = sq_prep(s, ALERT_COLS "ORDER BY id");
	if (!st)
		goto out;
	while (!stop && sqlite3_step(st) == SQLITE_ROW) {
		srv_alert a;
		if (alert_row(st, &a) != WARD_OK)
			goto out;
		srv_alert_digest(&a, d);
		snprintf(target, sizeof target, "alert/%lld/r%lld", (long long)a.id,
		         (long long)a.rev);
		srv_alert_clear(&a);
		stop = cb(ctx, target, d);
	}
	sqlite3_finalize(st);
	st = sq_prep(s, "SELECT school_id FROM notify_settings");
	if (!st)
		goto out;
	while (!stop && sqlite3_step(st) == SQLITE_ROW) {
		srv_notify_settings n;
		settings_locked(s, sqlite3_column_int64(st, 0), &n);
		srv_settings_digest(&n, d);
		snprintf(target, sizeof target, "notify-settings/%lld/r%lld",
		         (long long)n.school_id, (long long)n.rev);
		stop = cb(ctx, target, d);
	}
	sqlite3_finalize(st);
	/* A notice at revision 0 was raised by its concern's or alert's own audited write and has
	 * not been touched since. */
	st = sq_prep(s, NOTICE_COLS "WHERE rev > 0 ORDER BY id");
	if (!st)
		goto out;
	while (!stop && sqlite3_step(st) == SQLITE_ROW) {
		srv_notice n;
		notice_row(st, &n);
		srv_notice_digest(&n, d);
		snprintf(target, sizeof target, "notice/%lld/r%lld", (long long)n.id,
		         (long long)n.rev);
		stop = cb(ctx, target, d);
	}
	rc = WARD_OK;
out:
	sqlite3_finalize(st);
	UNLOCK(s);
	return rc;
}

static const struct srv_alert_ops ops = {
    sq_token_create, sq_token_find,   sq_token_list,   sq_token_revoke,  sq_alert_post,
    sq_alert_get,    sq_alert_list,   sq_alert_decide, sq_alert_promote, sq_alert_summary,
    sq_settings_get, sq_settings_put, sq_notice_list,  sq_notice_ack,    sq_notice_claim,
};

static void attach(sq_store *s)
{
	s->base.alerts = &ops;
	srv_store_add_walker(&s->base, walk);
}

const sq_schema sq_schema_alerts = {"alerts", schema_sqlite_alerts, SCHEMA_ALERTS_VERSIONS, attach};
