/* cmd_admin.c: `ward admin`: set up a school, create accounts, verify the audit chain, back up
 * and restore wardd's data directory.  Works on the data directory directly (the store is
 * safe to open beside a running wardd: SQLite WAL). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "srv.h"
#include "store_pg.h"
#include "store_trust.h"
#include "tokens.h"
#include "totp.h"

#define BACKUP_MAX ((size_t)2 << 30)

typedef struct admin_opts {
	const char *data_dir, *school, *username, *role, *password, *name;
	const char *dsn, *to;    /* PostgreSQL: --dsn or WARD_POSTGRES_DSN; migrate --to */
	const char *service_key; /* migrate: the key file of the PostgreSQL service's wardd */
	int force;
} admin_opts;

/* A password of 20 characters from an alphabet without look-alikes. */
static void gen_password(char *out, size_t cap)
{
	static const char abc[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	size_t n = cap - 1 < 20 ? cap - 1 : 20;
	for (size_t i = 0; i < n; i++)
		out[i] = abc[randombytes_uniform(sizeof abc - 1)];
	out[n] = '\0';
}

static int open_store(const admin_opts *o, int create, srv_store **s, unsigned char *key)
{
	char db[600], kp[600];
	srv_paths(o->data_dir, db, sizeof db, kp, sizeof kp);
	if (!o->dsn && !create && access(db, F_OK) != 0) {
		cli_error("%s: no database there; run `ward admin init` first", o->data_dir);
		return 0;
	}
	if (create && mkdir(o->data_dir, 0700) != 0 && errno != EEXIST) {
		cli_error("%s: %s", o->data_dir, strerror(errno));
		return 0;
	}
	if (key && srv_key_load(kp, create, key) != WARD_OK) {
		cli_error("%s: cannot read or create the key file", kp);
		return 0;
	}
	if (o->dsn) {
		if (srv_store_pg_open(o->dsn, s) != WARD_OK) {
			cli_error("cannot open the PostgreSQL store");
			return 0;
		}
		return 1;
	}
	if (srv_store_sqlite_open(db, s) != WARD_OK) {
		cli_error("%s: cannot open the database", db);
		return 0;
	}
	return 1;
}

/* `ward admin trust add --name TRUST --school NAME`: puts the school in the trust (made when
 * new), audited; the trust's trust-lead accounts then oversee it. */
static int do_trust_add(const admin_opts *o)
{
	srv_store *s = NULL;
	int64_t school = 0;
	int rc = EXIT_TROUBLE;
	srv_audit_in a = {0, 0, "trust.join", NULL, "ward admin"};
	if (!o->school || !o->name || !*o->name || strlen(o->name) > 200) {
		cli_error("trust add needs --name TRUST (up to 200 characters) and --school NAME");
		return EXIT_TROUBLE;
	}
	if (!open_store(o, 0, &s, NULL))
		goto done;
	if (s->ops->school_find(s, o->school, &school) != WARD_OK) {
		cli_error("no school %s", o->school);
		goto done;
	}
	a.school_id = school;
	if (s->trust->trust_join(s, o->name, school, &a) != WARD_OK) {
		cli_error("cannot put the school in the trust: %s", s->err);
		goto done;
	}
	printf("school %s is in trust %s\n", o->school, o->name);
	rc = EXIT_CLEAN;
done:
	if (s)
		s->ops->close(s);
	return rc;
}

/* `ward admin migrate --to postgres --dsn DSN [--service-key FILE]`: checks the data
 * directory's audit chain, copies its SQLite database into the PostgreSQL service (as it is
 * into an empty one; with fresh ids beside the schools already there), then verifies the
 * audit chain there. */
static int do_migrate(const admin_opts *o)
{
	char db[600], kp[600], msg[256];
	int64_t n = 0;
	srv_store *s = NULL;
	srv_import_result res;
	unsigned char key[SRV_KEY_LEN], skey[SRV_KEY_LEN];
	int rc = EXIT_TROUBLE;
	if (!o->to || strcmp(o->to, "postgres") != 0 || !o->dsn) {
		cli_error("migrate needs --to postgres and --dsn CONNINFO (or WARD_POSTGRES_DSN)");
		return EXIT_TROUBLE;
	}
	srv_paths(o->data_dir, db, sizeof db, kp, sizeof kp);
	if (access(db, R_OK) != 0) {
		cli_error("%s: no database there", o->data_dir);
		return EXIT_TROUBLE;
	}
	if (srv_key_load(kp, 0, key) != WARD_OK) {
		cli_error("%s: cannot read the key file", kp);
		return EXIT_TROUBLE;
	}
	if (o->service_key && srv_key_load(o->service_key, 0, skey) != WARD_OK) {
		cli_error("%s: cannot read the service's key file", o->service_key);
		goto done;
	}
	/* The source first, as `ward admin audit verify` checks it: a broken chain is not moved. */
	if (srv_store_sqlite_open(db, &s) != WARD_OK) {
		cli_error("%s: cannot open the database", db);
		goto done;
	}
	if (srv_audit_verify(s, msg, sizeof msg, &n) != WARD_OK) {
		cli_error("migrate: the audit chain of %s does not verify (%s); nothing was copied",
		          db, msg);
		s->ops->close(s);
		goto done;
	}
	s->ops->close(s);
	printf("audit chain intact in %s: %lld entries\n", db, (long long)n);
	if (srv_store_pg_import(db, o->dsn, key, o->service_key ? skey : NULL, msg, sizeof msg,
	                        &res) != WARD_OK) {
		cli_error("migrate: %s", msg);
		goto done;
	}
	printf("copied %lld rows from %s into PostgreSQL\n", (long long)res.rows, db);
	if (res.remapped) {
		char hex[2 * SRV_HASH_LEN + 1];
		sodium_bin2hex(hex, sizeof hex, res.origin_hash, SRV_HASH_LEN);
		printf(
		    "the service already held schools: the school has new ids, its sealed records\n"
		    "  are sealed under the service's key, its %lld audit entries are appended to\n"
		    "  the service's chain from entry %lld, and the original chain is kept as\n"
		    "  audit-origin/%lld (head entry %lld, hash %s).\n"
		    "  Sessions are not copied: everyone signs in again.\n",
		    (long long)res.entries, (long long)res.first_seq, (long long)res.import_id,
		    (long long)res.origin_seq, hex);
	}
	if (!open_store(o, 0, &s, NULL))
		goto done;
	if (srv_audit_verify(s, msg, sizeof msg, &n) == WARD_OK) {
		printf("audit chain intact in PostgreSQL: %lld entries\n", (long long)n);
		rc = EXIT_CLEAN;
	} else {
		printf("audit chain BROKEN in PostgreSQL: %s\n", msg);
		rc = EXIT_FOUND;
	}
	s->ops->close(s);
done:
	sodium_memzero(key, sizeof key);
	sodium_memzero(skey, sizeof skey);
	return rc;
}

static int add_user(srv_store *s, int64_t school, const admin_opts *o, const char *action)
{
	srv_user u;
	char pw[64];
	int64_t id = 0;
	srv_audit_in a = {school, 0, action, NULL, "ward admin"};
	int role = srv_role_from_name(o->role);
	if (role < 0) {
		cli_error("--role %s: not one of staff, dsl, deputy-dsl, admin, auditor", o->role);
		return EXIT_TROUBLE;
	}
	if (!o->username || strlen(o->username) >= sizeof u.username || !*o->username) {
		cli_error("--username is required (at most 63 bytes)");
		return EXIT_TROUBLE;
	}
	if (o->password && strlen(o->password) < 12) {
		cli_error("a password needs at least 12 characters");
		return EXIT_TROUBLE;
	}
	memset(&u, 0, sizeof u);
	u.school_id = school;
	u.role = (srv_role)role;
	snprintf(u.username, sizeof u.username, "%s", o->username);
	if (o->password)
		snprintf(pw, sizeof pw, "%s", o->password);
	else
		gen_password(pw, sizeof pw);
	if (srv_password_hash(pw, u.pwhash) != WARD_OK ||
	    s->ops->user_create(s, &u, &a, &id) != WARD_OK) {
		cli_error("cannot create %s: %s", o->username, s->err);
		return EXIT_TROUBLE;
	}
	printf("created %s (%s) in this school\n", u.username, srv_role_name(u.role));
	if (!o->password)
		printf("password (shown once): %s\n", pw);
	if (srv_totp_required(u.role))
		printf(
		    "second factor: the %s role needs one.  At the first sign-in wardd asks %s to\n"
		    "  enrol an authenticator app (any TOTP app): POST /api/v1/session/totp shows\n"
		    "  a QR code and its secret; scan it, then send the app's 6-digit code to\n"
		    "  POST /api/v1/session/totp/confirm.  Until then the session may only enrol.\n"
		    "  A lost phone: `ward admin user reset-totp --school NAME --username %s`.\n",
		    srv_role_name(u.role), u.username, u.username);
	sodium_memzero(pw, sizeof pw);
	return EXIT_CLEAN;
}

static int do_init(const admin_opts *o)
{
	srv_store *s = NULL;
	unsigned char key[SRV_KEY_LEN];
	int64_t school = 0;
	int rc = EXIT_TROUBLE;
	admin_opts a = *o;
	if (!o->school) {
		cli_error("init needs --school NAME");
		return EXIT_TROUBLE;
	}
	if (!open_store(o, 1, &s, key))
		goto done;
	if (s->ops->school_find(s, o->school, &school) == WARD_OK) {
		cli_error("school %s already exists", o->school);
		goto done;
	}
	if (s->ops->school_create(s, o->school, &school) != WARD_OK) {
		cli_error("cannot create the school: %s", s->err);
		goto done;
	}
	printf("school %s created in %s\n", o->school, o->data_dir);
	a.role = "admin";
	if (!a.username)
		a.username = "admin";
	rc = add_user(s, school, &a, "user.create-first-admin");
done:
	sodium_memzero(key, sizeof key);
	if (s)
		s->ops->close(s);
	return rc;
}

static int do_user_add(const admin_opts *o)
{
	srv_store *s = NULL;
	int64_t school = 0;
	int rc = EXIT_TROUBLE;
	if (!o->school || !o->role) {
		cli_error("user add needs --school, --username and --role");
		return EXIT_TROUBLE;
	}
	if (!open_store(o, 0, &s, NULL))
		goto done;
	if (s->ops->school_find(s, o->school, &school) != WARD_OK) {
		cli_error("no school named %s", o->school);
		goto done;
	}
	rc = add_user(s, school, o, "user.create");
done:
	if (s)
		s->ops->close(s);
	return rc;
}

/* Clears an account's second factor (a lost or replaced phone) and ends its sessions; the
 * next sign-in enrols a new authenticator app. */
static int do_user_reset_totp(const admin_opts *o)
{
	srv_store *s = NULL;
	int64_t school = 0;
	srv_user u;
	int rc = EXIT_TROUBLE;
	if (!o->school || !o->username) {
		cli_error("user reset-totp needs --school and --username");
		return EXIT_TROUBLE;
	}
	if (!open_store(o, 0, &s, NULL))
		goto done;
	if (s->ops->school_find(s, o->school, &school) != WARD_OK ||
	    s->ops->user_find(s, school, o->username, &u) != WARD_OK) {
		cli_error("no account %s in a school named %s", o->username, o->school);
		goto done;
	}
	{
		srv_audit_in a = {school, 0, "totp.reset", NULL, "ward admin"};
		if (s->ops->totp_reset(s, u.id, &a) != WARD_OK) {
			cli_error("cannot reset: %s", s->err);
			goto done;
		}
	}
	printf("the second factor of %s is cleared and their sessions ended; at the next sign-in "
	       "they enrol a new authenticator app\n",
	       u.username);
	rc = EXIT_CLEAN;
done:
	if (s)
		s->ops->close(s);
	return rc;
}

static int do_verify(const admin_opts *o)
{
	srv_store *s = NULL;
	char msg[256];
	int64_t n = 0;
	int rc = EXIT_TROUBLE;
	if (!open_store(o, 0, &s, NULL))
		goto done;
	if (srv_audit_verify(s, msg, sizeof msg, &n) == WARD_OK) {
		printf("audit chain intact: %lld entries, every concern version matches its entry\n",
		       (long long)n);
		rc = EXIT_CLEAN;
	} else {
		printf("audit chain BROKEN: %s\n", msg);
		rc = EXIT_FOUND;
	}
done:
	if (s)
		s->ops->close(s);
	return rc;
}

/* Reads a whole file (at most max bytes); *out is the caller's (free). */
static int slurp(const char *path, size_t max, unsigned char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;
	int ok = 0;
	if (!f)
		return 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			if (cap > max + 1)
				cap = max + 1;
			unsigned char *nb = realloc(buf, cap);
			if (!nb || n == max + 1)
				goto done;
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
		if (n > max)
			goto done;
	}
	ok = !ferror(f);
done:
	fclose(f);
	if (!ok) {
		free(buf);
		buf = NULL;
	}
	*out = buf;
	*len = n;
	return ok;
}

static int write_file(const char *path, const unsigned char *b, size_t n, int excl)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | (excl ? O_EXCL : 0) | O_CLOEXEC, 0600);
	int ok = 0;
	if (fd < 0)
		return 0;
	ok = write(fd, b, n) == (ssize_t)n && fsync(fd) == 0;
	close(fd);
	return ok;
}

/* Backup and restore work on the data directory's SQLite file only.  With a PostgreSQL
 * service named (--dsn or WARD_POSTGRES_DSN) they refuse before touching anything: a restore
 * would otherwise write a ward.db no wardd reads and report success, while the service's
 * database stayed as it was.  1 when refused. */
static int refuse_on_postgres(const admin_opts *o, const char *what)
{
	if (!o->dsn)
		return 0;
	cli_error("%s works on the data directory's SQLite file, and a PostgreSQL service is named "
	          "(--dsn or WARD_POSTGRES_DSN): nothing was %s.  Back up and restore PostgreSQL "
	          "with its own tools (pg_dump and pg_restore, or base backups), then run `ward "
	          "admin --dsn CONNINFO audit verify`; see wardd(8), \"Backing up on PostgreSQL\"",
	          what, strcmp(what, "restore") == 0 ? "restored" : "backed up");
	return 1;
}

/* The backup is the SQLite online backup of the live database, sealed with the data
 * directory's key; keep a copy of the key file somewhere else as well. */
static int do_backup(const admin_opts *o, const char *out)
{
	srv_store *s = NULL;
	unsigned char key[SRV_KEY_LEN], *plain = NULL, *sealed = NULL;
	size_t n = 0, sn = 0;
	char tmp[700];
	int rc = EXIT_TROUBLE;
	if (refuse_on_postgres(o, "backup"))
		return EXIT_TROUBLE;
	snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid());
	if (!open_store(o, 0, &s, key))
		goto done;
	if (s->ops->backup(s, tmp) != WARD_OK) {
		cli_error("backup failed: %s", s->err);
		goto done;
	}
	if (!slurp(tmp, BACKUP_MAX, &plain, &n)) {
		cli_error("%s: cannot read the copy", tmp);
		goto done;
	}
	if (srv_seal(key, "ward-backup-v1", (const char *)plain, n, &sealed, &sn) != WARD_OK ||
	    !write_file(out, sealed, sn, 1)) {
		cli_error("%s: cannot write the backup (does it exist already?)", out);
		goto done;
	}
	printf("backup written to %s (%zu bytes, encrypted with %s/wardd.key)\n", out, sn,
	       o->data_dir);
	rc = EXIT_CLEAN;
done:
	unlink(tmp);
	if (plain)
		sodium_memzero(plain, n);
	free(plain);
	free(sealed);
	sodium_memzero(key, sizeof key);
	if (s)
		s->ops->close(s);
	return rc;
}

static int do_restore(const admin_opts *o, const char *in)
{
	unsigned char key[SRV_KEY_LEN], *sealed = NULL;
	char *plain = NULL, db[600], kp[600];
	size_t n = 0;
	int rc = EXIT_TROUBLE;
	if (refuse_on_postgres(o, "restore"))
		return EXIT_TROUBLE;
	srv_paths(o->data_dir, db, sizeof db, kp, sizeof kp);
	if (srv_key_load(kp, 0, key) != WARD_OK) {
		cli_error("%s: the key file that sealed the backup is needed", kp);
		return EXIT_TROUBLE;
	}
	if (!slurp(in, BACKUP_MAX + 64, &sealed, &n)) {
		cli_error("%s: cannot read", in);
		goto done;
	}
	if (srv_open(key, "ward-backup-v1", sealed, n, &plain) != WARD_OK) {
		cli_error("%s: not a ward backup made with this key, or altered", in);
		goto done;
	}
	n -= 40; /* nonce and tag */
	if (!o->force && access(db, F_OK) == 0) {
		cli_error("%s exists; stop wardd and pass --force to replace it", db);
		goto done;
	}
	{
		char wal[700], shm[700];
		snprintf(wal, sizeof wal, "%s-wal", db);
		snprintf(shm, sizeof shm, "%s-shm", db);
		unlink(wal);
		unlink(shm);
		unlink(db);
	}
	if (!write_file(db, (const unsigned char *)plain, n, 1)) {
		cli_error("%s: cannot write", db);
		goto done;
	}
	printf("restored %s from %s; run `ward admin audit verify` to check it\n", db, in);
	rc = EXIT_CLEAN;
done:
	if (plain)
		sodium_memzero(plain, n);
	free(plain);
	free(sealed);
	sodium_memzero(key, sizeof key);
	return rc;
}

/* `ward admin token add --school S --name N`: a service token for a detector, printed once;
 * only its hash is stored. */
static int do_token_add(const admin_opts *o)
{
	srv_store *s = NULL;
	int64_t school = 0, id = 0;
	char tok[SRV_TOKEN_MAX];
	int rc = EXIT_TROUBLE;
	if (!o->school || !o->name) {
		cli_error("token add needs --school and --name");
		return EXIT_TROUBLE;
	}
	if (!open_store(o, 0, &s, NULL))
		goto done;
	if (s->ops->school_find(s, o->school, &school) != WARD_OK) {
		cli_error("no school named %s", o->school);
		goto done;
	}
	if (srv_token_make(s, school, o->name, 0, "ward admin", tok, &id) != WARD_OK) {
		cli_error("cannot make the token (a name is 1 to 63 letters, digits, . - _): %s",
		          s->err);
		goto done;
	}
	printf("token %lld (%s) for %s; shown once, keep it in the detector's token file:\n%s\n",
	       (long long)id, o->name, o->school, tok);
	sodium_memzero(tok, sizeof tok);
	rc = EXIT_CLEAN;
done:
	if (s)
		s->ops->close(s);
	return rc;
}

int cmd_admin(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"data-dir", required_argument, NULL, 'd'},    {"school", required_argument, NULL, 's'},
	    {"username", required_argument, NULL, 'u'},    {"role", required_argument, NULL, 'r'},
	    {"password", required_argument, NULL, 'p'},    {"force", no_argument, NULL, 'f'},
	    {"name", required_argument, NULL, 'n'},        {"help", no_argument, NULL, 'h'},
	    {"dsn", required_argument, NULL, 'D'},         {"to", required_argument, NULL, 'T'},
	    {"service-key", required_argument, NULL, 'K'}, {NULL, 0, NULL, 0},
	};
	admin_opts o;
	int c;
	if (argc >= 2 && strcmp(argv[1], "favourites") == 0) /* needs no data directory */
		return cmd_admin_favourites(argc - 1, argv + 1);
	memset(&o, 0, sizeof o);
	o.data_dir = getenv("WARD_DATA") ? getenv("WARD_DATA") : "/var/lib/ward";
	o.dsn = getenv("WARD_POSTGRES_DSN");
	while ((c = getopt_long(argc, argv, "d:s:u:r:p:n:fhD:T:K:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o.data_dir = optarg; break;
		case 's': o.school = optarg; break;
		case 'u': o.username = optarg; break;
		case 'r': o.role = optarg; break;
		case 'p': o.password = optarg; break;
		case 'f': o.force = 1; break;
		case 'n': o.name = optarg; break;
		case 'D': o.dsn = optarg; break;
		case 'T': o.to = optarg; break;
		case 'K': o.service_key = optarg; break;
		case 'h': cli_usage(stdout, "admin"); return EXIT_CLEAN;
		default: cli_usage(stderr, "admin"); return EXIT_TROUBLE;
		}
	}
	if (sodium_init() < 0) {
		cli_error("libsodium could not start");
		return EXIT_TROUBLE;
	}
	argc -= optind;
	argv += optind;
	if (argc >= 1 && strcmp(argv[0], "init") == 0 && argc == 1)
		return do_init(&o);
	if (argc == 2 && strcmp(argv[0], "user") == 0 && strcmp(argv[1], "add") == 0)
		return do_user_add(&o);
	if (argc == 2 && strcmp(argv[0], "user") == 0 && strcmp(argv[1], "reset-totp") == 0)
		return do_user_reset_totp(&o);
	if (argc == 2 && strcmp(argv[0], "token") == 0 && strcmp(argv[1], "add") == 0)
		return do_token_add(&o);
	if (argc == 2 && strcmp(argv[0], "audit") == 0 && strcmp(argv[1], "verify") == 0)
		return do_verify(&o);
	if (argc == 2 && strcmp(argv[0], "backup") == 0)
		return do_backup(&o, argv[1]);
	if (argc == 2 && strcmp(argv[0], "trust") == 0 && strcmp(argv[1], "add") == 0)
		return do_trust_add(&o);
	if (argc == 1 && strcmp(argv[0], "migrate") == 0)
		return do_migrate(&o);
	if (argc == 2 && strcmp(argv[0], "restore") == 0)
		return do_restore(&o, argv[1]);
	cli_usage(stderr, "admin");
	return EXIT_TROUBLE;
}
