/* config.c: wardd.conf ([wardd] section, ini) read with inih; the command line uses the same
 * keys, so a setting has one name everywhere. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "api.h"

void srv_config_defaults(srv_config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->listen, sizeof c->listen, "127.0.0.1");
	c->port = 8080;
	snprintf(c->data_dir, sizeof c->data_dir, "/var/lib/ward");
	c->threads = 16;
	c->idle_timeout = 30 * 60;
	c->session_max = 12 * 60 * 60;
	c->max_body = 1u << 20;
}

static int number(const char *v, long long lo, long long hi, long long *out)
{
	char *end = NULL;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || errno || n < lo || n > hi)
		return 0;
	*out = n;
	return 1;
}

int srv_config_set(srv_config *c, const char *key, const char *v)
{
	long long n = 0;
	if (strcmp(key, "listen") == 0) {
		if (strlen(v) >= sizeof c->listen)
			return -1;
		snprintf(c->listen, sizeof c->listen, "%s", v);
	} else if (strcmp(key, "port") == 0 && number(v, 1, 65535, &n)) {
		c->port = (unsigned)n;
	} else if (strcmp(key, "data_dir") == 0 || strcmp(key, "data-dir") == 0) {
		if (strlen(v) >= sizeof c->data_dir || !*v)
			return -1;
		snprintf(c->data_dir, sizeof c->data_dir, "%s", v);
	} else if (strcmp(key, "threads") == 0 && number(v, 1, 256, &n)) {
		c->threads = (unsigned)n;
	} else if ((strcmp(key, "secure_cookies") == 0 || strcmp(key, "secure-cookies") == 0) &&
	           number(v, 0, 1, &n)) {
		c->secure_cookies = (int)n;
	} else if ((strcmp(key, "idle_timeout") == 0 || strcmp(key, "idle-timeout") == 0) &&
	           number(v, 60, 86400, &n)) {
		c->idle_timeout = n;
	} else if ((strcmp(key, "session_max") == 0 || strcmp(key, "session-max") == 0) &&
	           number(v, 60, 7 * 86400, &n)) {
		c->session_max = n;
	} else if ((strcmp(key, "max_body") == 0 || strcmp(key, "max-body") == 0) &&
	           number(v, 1024, 64 << 20, &n)) {
		c->max_body = (size_t)n;
	} else if (strcmp(key, "log") == 0 &&
	           (strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0)) {
		c->log_syslog = strcmp(v, "syslog") == 0;
	} else if (strcmp(key, "store") == 0 &&
	           (strcmp(v, "sqlite") == 0 || strcmp(v, "postgres") == 0)) {
		c->postgres = strcmp(v, "postgres") == 0;
	} else if (strcmp(key, "postgres_dsn") == 0 || strcmp(key, "postgres-dsn") == 0) {
		if (strlen(v) >= sizeof c->postgres_dsn)
			return -1;
		snprintf(c->postgres_dsn, sizeof c->postgres_dsn, "%s", v);
	} else if (strcmp(key, "trusted_proxies") == 0 || strcmp(key, "trusted-proxies") == 0) {
		char msg[160];
		if (srv_proxies_parse(&c->proxies, v, msg, sizeof msg) != 0) {
			fprintf(stderr, "wardd: trusted_proxies: %s\n", msg);
			return -1;
		}
	} else if ((strcmp(key, "proxy_header") == 0 || strcmp(key, "proxy-header") == 0) &&
	           (strcasecmp(v, "x-forwarded-for") == 0 || strcasecmp(v, "forwarded") == 0)) {
		c->proxy_header = strcasecmp(v, "forwarded") == 0 ? SRV_FWD_FORWARDED : SRV_FWD_XFF;
	} else {
		return -1;
	}
	return 0;
}

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	if (strcmp(section, "wardd") != 0)
		return 1; /* other parts' sections */
	if (srv_config_set(user, name, value) != 0) {
		fprintf(stderr,
		        "wardd: config: %s = %s is not a known setting with a valid value\n", name,
		        value);
		return 0;
	}
	return 1;
}

int srv_config_read(srv_config *c, const char *path)
{
	return ini_parse(path, on_ini, c);
}
