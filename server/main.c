/* main.c: wardd, the safeguarding service.  Reads its configuration, opens the store, serves
 * the API until SIGTERM or SIGINT, then stops cleanly. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "http.h"
#include "store_pg.h"

static const char usage[] =
    "usage: wardd [OPTIONS]\n"
    "The ward safeguarding service: accounts, concerns and the audit chain over HTTP.\n"
    "\n"
    "  -c, --config FILE     configuration file (default " WARD_SYSCONFDIR "/wardd.conf;\n"
    "                        a missing default file is not an error)\n"
    "  -l, --listen ADDR     address to listen on (default 127.0.0.1)\n"
    "  -p, --port N          port (default 8080)\n"
    "  -d, --data-dir DIR    ward.db and wardd.key live here (default /var/lib/ward)\n"
    "  -t, --threads N       worker threads (default 16)\n"
    "      --secure-cookies  mark session cookies Secure (when served behind TLS)\n"
    "      --log WHERE       stderr (default) or syslog\n"
    "      --routes          print the route table (method, path, roles) and exit\n"
    "  -h, --help            this help\n"
    "  -V, --version         print the version\n"
    "\n"
    "Initialise a data directory first with `ward admin init`.  See wardd(8).\n";

static void print_routes(void)
{
	for (const srv_module *const *m = srv_modules; *m; m++) {
		for (const srv_route *r = (*m)->routes; r->method; r++) {
			printf("%s %s", r->method, r->path);
			if (r->roles & SRV_ANON)
				printf(" anonymous");
			for (int i = 0; i < SRV_ROLE_COUNT; i++)
				if (r->roles & SRV_R(i))
					printf(" %s", srv_role_name((srv_role)i));
			printf("\n");
		}
	}
}

int main(int argc, char **argv)
{
	enum { O_SECURE = 256, O_ROUTES, O_LOG };
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"port", required_argument, NULL, 'p'},
	    {"data-dir", required_argument, NULL, 'd'},
	    {"threads", required_argument, NULL, 't'},
	    {"secure-cookies", no_argument, NULL, O_SECURE},
	    {"routes", no_argument, NULL, O_ROUTES},
	    {"log", required_argument, NULL, O_LOG},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	srv_config cfg;
	const char *config = NULL;
	char db[600], keyp[600];
	unsigned char key[SRV_KEY_LEN];
	srv_store *store = NULL;
	srv_server *server = NULL;
	int rc = 2, o, sig = 0;
	sigset_t sigs;
	struct {
		const char *k, *v;
	} over[16];
	int n_over = 0;

	srv_config_defaults(&cfg);
	while ((o = getopt_long(argc, argv, "c:l:p:d:t:hV", opts, NULL)) != -1) {
		const char *k = NULL;
		switch (o) {
		case 'c':
			config = optarg;
			break;
		case 'l':
			k = "listen";
			break;
		case 'p':
			k = "port";
			break;
		case 'd':
			k = "data_dir";
			break;
		case 't':
			k = "threads";
			break;
		case O_SECURE:
			k = "secure_cookies";
			optarg = (char *)"1";
			break;
		case O_LOG:
			k = "log";
			break;
		case O_ROUTES:
			print_routes();
			return 0;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("wardd %s\n", WARD_VERSION);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
		if (k && n_over < 16) {
			over[n_over].k = k;
			over[n_over++].v = optarg;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wardd: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	{
		const char *path = config ? config : WARD_SYSCONFDIR "/wardd.conf";
		int e = access(path, R_OK) == 0 || config ? srv_config_read(&cfg, path) : 0;
		if (e != 0) {
			if (e < 0)
				fprintf(stderr, "wardd: cannot read %s\n", path);
			else
				fprintf(stderr, "wardd: %s:%d: error\n", path, e);
			return 2;
		}
	}
	for (int i = 0; i < n_over; i++)
		if (srv_config_set(&cfg, over[i].k, over[i].v) != 0) {
			fprintf(stderr, "wardd: --%s %s: not a valid value\n", over[i].k,
			        over[i].v);
			return 2;
		}
	srv_log_open(cfg.log_syslog);
	if (sodium_init() < 0) {
		srv_log(LOG_ERR, "libsodium could not start");
		return 2;
	}
	srv_paths(cfg.data_dir, db, sizeof db, keyp, sizeof keyp);
	/* WARD_POSTGRES_DSN chooses PostgreSQL when the configuration names no store. */
	if (!cfg.postgres && !cfg.postgres_dsn[0] && getenv("WARD_POSTGRES_DSN") &&
	    strlen(getenv("WARD_POSTGRES_DSN")) < sizeof cfg.postgres_dsn) {
		cfg.postgres = 1;
		snprintf(cfg.postgres_dsn, sizeof cfg.postgres_dsn, "%s", getenv("WARD_POSTGRES_DSN"));
	}
	if (cfg.postgres && !cfg.postgres_dsn[0]) {
		srv_log(LOG_ERR, "store = postgres needs postgres_dsn");
		goto done;
	}
	if (!cfg.postgres && access(db, F_OK) != 0) {
		srv_log(LOG_ERR, "%s has no database; run `ward admin init --data-dir %s` first",
		        cfg.data_dir, cfg.data_dir);
		goto done;
	}
	if (srv_key_load(keyp, 0, key) != WARD_OK) {
		srv_log(LOG_ERR, "cannot read the key file %s", keyp);
		goto done;
	}
	if ((cfg.postgres ? srv_store_pg_open(cfg.postgres_dsn, &store)
	                  : srv_store_sqlite_open(db, &store)) != WARD_OK)
		goto done;
	signal(SIGPIPE, SIG_IGN);
	/* SIGTERM and SIGINT are blocked before any thread starts, so every thread inherits the
	 * mask and the main thread alone takes them with sigwait: a signal handled by a worker
	 * would leave the main thread waiting for ever. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (srv_server_start(&cfg, store, key, &server) != WARD_OK)
		goto done;
	srv_log(LOG_INFO, "listening on http://%s:%u (data in %s)", cfg.listen, cfg.port,
	        cfg.data_dir);
	while (sigwait(&sigs, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	srv_log(LOG_INFO, "stopping on %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
	rc = 0;
done:
	srv_server_stop(server);
	if (store)
		store->ops->close(store);
	sodium_memzero(key, sizeof key);
	return rc;
}
