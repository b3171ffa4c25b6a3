/* srv.c: what wardd and `ward admin` share: roles, the audit chain's hash and its verifier,
 * the at-rest key and sealing of narrative fields. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "srv.h"

static int log_syslog;

void srv_log_open(int use_syslog)
{
	if (use_syslog && !log_syslog)
		openlog("wardd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = use_syslog;
}

void srv_log(int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (log_syslog)
		syslog(level, "%s", line);
	else
		fprintf(stderr, "wardd: %s\n", line); /* one call: lines from threads do not mix */
}

static const char *const role_names[SRV_ROLE_COUNT] = {"staff", "dsl",     "deputy-dsl",
                                                       "admin", "auditor", "trust-lead"};

const char *srv_role_name(srv_role r)
{
	return (unsigned)r < SRV_ROLE_COUNT ? role_names[r] : "?";
}

int srv_role_from_name(const char *name)
{
	for (int i = 0; i < SRV_ROLE_COUNT; i++)
		if (name && strcmp(name, role_names[i]) == 0)
			return i;
	return -1;
}

void srv_concern_clear(srv_concern *c)
{
	if (!c)
		return;
	free(c->payload);
	memset(c, 0, sizeof *c);
}

void srv_hash_i64(crypto_generichash_state *h, int64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (8 * i));
	crypto_generichash_update(h, b, 8);
}

/* Strings go in with their length so that field boundaries cannot be shifted. */
void srv_hash_str(crypto_generichash_state *h, const char *s)
{
	size_t n = strlen(s);
	srv_hash_i64(h, (int64_t)n);
	crypto_generichash_update(h, (const unsigned char *)s, n);
}

void srv_audit_hash(const srv_audit *a, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, (const unsigned char *)"ward-audit-v1", 13, SRV_HASH_LEN);
	crypto_generichash_update(&h, a->prev, SRV_HASH_LEN);
	srv_hash_i64(&h, a->seq);
	srv_hash_i64(&h, a->school_id);
	srv_hash_i64(&h, a->actor_id);
	srv_hash_i64(&h, a->at);
	srv_hash_str(&h, a->action);
	srv_hash_str(&h, a->target);
	srv_hash_str(&h, a->source);
	crypto_generichash_update(&h, a->digest, SRV_HASH_LEN);
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

void srv_concern_digest(const srv_concern *c, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, (const unsigned char *)"ward-concern-v1", 15, SRV_HASH_LEN);
	srv_hash_i64(&h, c->id);
	srv_hash_i64(&h, c->version);
	srv_hash_i64(&h, c->school_id);
	srv_hash_i64(&h, c->reporter_id);
	srv_hash_i64(&h, c->created);
	srv_hash_str(&h, c->status);
	srv_hash_i64(&h, (int64_t)c->payload_len);
	crypto_generichash_update(&h, c->payload, c->payload_len);
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

typedef struct digest_ent {
	char target[64];
	unsigned char digest[SRV_HASH_LEN];
} digest_ent;

typedef struct verify_ctx {
	unsigned char prev[SRV_HASH_LEN];
	int64_t expect_seq, n;
	char *msg;
	size_t cap;
	int broken, oom;
	int missing; /* a row without an entry in the entries read so far */
	srv_store *s;
	struct digest_ent *ents;
	size_t n_ents, cap_ents;
} verify_ctx;

static int verify_entry(void *vctx, const srv_audit *a)
{
	verify_ctx *v = vctx;
	unsigned char h[SRV_HASH_LEN];
	if (a->seq != v->expect_seq) {
		snprintf(v->msg, v->cap, "audit entry %lld is missing (the next one is %lld)",
		         (long long)v->expect_seq, (long long)a->seq);
		v->broken = 1;
	} else if (sodium_memcmp(a->prev, v->prev, SRV_HASH_LEN) != 0) {
		snprintf(v->msg, v->cap,
		         "audit entry %lld (%s %s): its link to entry %lld is broken",
		         (long long)a->seq, a->action, a->target, (long long)a->seq - 1);
		v->broken = 1;
	} else {
		srv_audit_hash(a, h);
		if (sodium_memcmp(h, a->hash, SRV_HASH_LEN) != 0) {
			snprintf(v->msg, v->cap,
			         "audit entry %lld (%s %s) was altered: its hash does not match "
			         "its fields",
			         (long long)a->seq, a->action, a->target);
			v->broken = 1;
		}
	}
	static const unsigned char zero[SRV_HASH_LEN];
	if (!v->broken && sodium_memcmp(a->digest, zero, SRV_HASH_LEN) != 0) {
		if (v->n_ents == v->cap_ents) {
			size_t cap = v->cap_ents ? v->cap_ents * 2 : 1024;
			void *n = realloc(v->ents, cap * sizeof *v->ents);
			if (!n) {
				v->oom = 1;
				return 1;
			}
			v->ents = n;
			v->cap_ents = cap;
		}
		snprintf(v->ents[v->n_ents].target, sizeof v->ents[0].target, "%s", a->target);
		memcpy(v->ents[v->n_ents++].digest, a->digest, SRV_HASH_LEN);
	}
	memcpy(v->prev, a->hash, SRV_HASH_LEN);
	v->expect_seq = a->seq + 1;
	v->n++;
	return v->broken;
}

/* Concern versions are checked against the digest their audit entry recorded: the chain walk
 * keeps (target, digest) for every concern entry, sorted afterwards for lookup. */
static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const digest_ent *)a)->target, ((const digest_ent *)b)->target);
}

static int verify_concern(void *vctx, const srv_concern *c)
{
	verify_ctx *v = vctx;
	digest_ent key, *d;
	unsigned char h[SRV_HASH_LEN];
	memset(&key, 0, sizeof key);
	snprintf(key.target, sizeof key.target, "concern/%lld/v%lld", (long long)c->id,
	         (long long)c->version);
	d = v->ents ? bsearch(&key, v->ents, v->n_ents, sizeof *v->ents, ent_cmp) : NULL;
	if (!d) {
		snprintf(v->msg, v->cap, "concern %lld version %lld has no audit entry",
		         (long long)c->id, (long long)c->version);
		v->missing = 1;
		return 1;
	}
	srv_concern_digest(c, h);
	if (sodium_memcmp(h, d->digest, SRV_HASH_LEN) != 0) {
		snprintf(v->msg, v->cap,
		         "concern %lld version %lld was altered: it does not match its audit entry",
		         (long long)c->id, (long long)c->version);
		v->broken = 1;
		return 1;
	}
	return 0;
}

/* A feature's row against the digest its audit entry recorded. */
static int verify_row(void *vctx, const char *target, const unsigned char digest[SRV_HASH_LEN])
{
	verify_ctx *v = vctx;
	digest_ent key, *d;
	memset(&key, 0, sizeof key);
	snprintf(key.target, sizeof key.target, "%s", target);
	d = v->ents ? bsearch(&key, v->ents, v->n_ents, sizeof *v->ents, ent_cmp) : NULL;
	if (!d) {
		snprintf(v->msg, v->cap, "%s has no audit entry", target);
		v->missing = 1;
		return 1;
	}
	if (sodium_memcmp(digest, d->digest, SRV_HASH_LEN) != 0) {
		snprintf(v->msg, v->cap, "%s was altered: it does not match its audit entry",
		         target);
		v->broken = 1;
		return 1;
	}
	return 0;
}

void srv_store_add_walker(srv_store *s, srv_row_walker w)
{
	for (int i = 0; i < SRV_MAX_WALKERS; i++) {
		if (!s->walkers[i]) {
			s->walkers[i] = w;
			return;
		}
	}
	srv_log(LOG_ERR, "more than %d row walkers; raise SRV_MAX_WALKERS", SRV_MAX_WALKERS);
	abort();
}

ward_status srv_audit_verify(srv_store *s, char *msg, size_t cap, int64_t *entries_out)
{
	verify_ctx v;
	ward_status rc;
	memset(&v, 0, sizeof v);
	v.expect_seq = 1;
	v.msg = msg;
	v.cap = cap;
	v.s = s;
	snprintf(msg, cap, "intact");
	/* The chain is read first and the rows after it, each in its own read; a row written while
	 * verify runs (wardd keeps running) has its entry committed with it, so a row with no entry
	 * in what was read sends verify back to read the rest of the chain and look again.  Only a
	 * row still without an entry after that is broken. */
	for (int pass = 0; pass < 5; pass++) {
		v.missing = 0;
		rc = s->ops->audit_list(s, 0, v.expect_seq - 1, 1 << 30, verify_entry, &v);
		if (rc == WARD_OK && v.oom)
			rc = WARD_ENOMEM;
		if (rc != WARD_OK || v.broken)
			break;
		if (v.ents)
			qsort(v.ents, v.n_ents, sizeof *v.ents, ent_cmp);
		rc = s->ops->concern_all_versions(s, verify_concern, &v);
		for (int i = 0; rc == WARD_OK && !v.broken && !v.missing && s->walkers[i]; i++)
			rc = s->walkers[i](s, verify_row, &v);
		if (rc != WARD_OK || v.broken || !v.missing)
			break;
	}
	if (rc == WARD_OK && v.missing)
		v.broken = 1;
	free(v.ents);
	if (entries_out)
		*entries_out = v.n;
	if (rc == WARD_OK && v.broken)
		rc = WARD_EINVAL;
	return rc;
}

/* The key lives in its own file (0600), never in the database: a copied database file alone
 * does not reveal the narrative. */
ward_status srv_key_load(const char *path, int create, unsigned char key[SRV_KEY_LEN])
{
	ward_status rc = WARD_EIO;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			goto done;
		crypto_aead_xchacha20poly1305_ietf_keygen(key);
		if (write(fd, key, SRV_KEY_LEN) != SRV_KEY_LEN || fsync(fd) != 0)
			goto done;
		rc = WARD_OK;
		goto done;
	}
	if (fd < 0) {
		rc = errno == ENOENT ? WARD_ENOENT : WARD_EIO;
		goto done;
	}
	{
		struct stat sb;
		if (fstat(fd, &sb) != 0 || (sb.st_mode & 077) != 0) {
			fprintf(
			    stderr,
			    "wardd: %s: the key file must be readable by its owner only (0600)\n",
			    path);
			rc = WARD_EINVAL;
			goto done;
		}
	}
	if (read(fd, key, SRV_KEY_LEN) != SRV_KEY_LEN) {
		rc = WARD_EFORMAT;
		goto done;
	}
	rc = WARD_OK;
done:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* *out is the caller's (free). ad binds the ciphertext to its row. */
ward_status srv_seal(const unsigned char key[SRV_KEY_LEN], const char *ad, const char *plain,
                     size_t n, unsigned char **out, size_t *out_len)
{
	size_t len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n +
	             crypto_aead_xchacha20poly1305_ietf_ABYTES;
	unsigned char *buf = malloc(len);
	unsigned long long clen = 0;
	if (!buf)
		return WARD_ENOMEM;
	randombytes_buf(buf, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    buf + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, (const unsigned char *)plain,
	    n, (const unsigned char *)ad, strlen(ad), NULL, buf, key);
	*out = buf;
	*out_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
	return WARD_OK;
}

/* *out (NUL-terminated) is the caller's (free). */
ward_status srv_open(const unsigned char key[SRV_KEY_LEN], const char *ad, const unsigned char *in,
                     size_t n, char **out)
{
	const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	unsigned long long plen = 0;
	char *buf;
	*out = NULL;
	if (n < nb + crypto_aead_xchacha20poly1305_ietf_ABYTES)
		return WARD_EFORMAT;
	buf = malloc(n + 1);
	if (!buf)
		return WARD_ENOMEM;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)buf, &plen, NULL, in + nb,
	                                               n - nb, (const unsigned char *)ad,
	                                               strlen(ad), in, key) != 0) {
		free(buf);
		return WARD_EFORMAT;
	}
	buf[plen] = '\0';
	*out = buf;
	return WARD_OK;
}

ward_status srv_password_hash(const char *pw, char out[SRV_PWHASH_LEN])
{
	if (crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return WARD_ENOMEM;
	return WARD_OK;
}

int srv_password_check(const char *hash, const char *pw)
{
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

/* Paths inside the data directory. */
void srv_paths(const char *data_dir, char *db, size_t dbcap, char *key, size_t keycap)
{
	snprintf(db, dbcap, "%s/ward.db", data_dir);
	snprintf(key, keycap, "%s/wardd.key", data_dir);
}

void srv_token_hash(const char *token, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash(out, SRV_HASH_LEN, (const unsigned char *)token, strlen(token), NULL, 0);
}
