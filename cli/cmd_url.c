/* cmd_url.c: `ward url`, URLs against category lists and search terms against the text rules;
 * and the Squid access-log reader behind `ward scan --squid-log`. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

typedef struct url_run {
	const cli_url_opts *o;
	ward_urllists *lists;
	ward_engine *e;
	ward_scanner *sc;
	json_t *findings;           /* the current URL's search findings (JSON output) */
	const ward_url_result *res; /* the result being filled, for the query text */
	uint64_t found, errors;
} url_run;

static void on_list_warning(const ward_diag *d, void *ctx)
{
	(void)ctx;
	if (d->line)
		cli_error("%s:%u: %s", d->file, d->line, d->message);
	else
		cli_error("%s: %s", d->file, d->message);
}

static void on_search(const ward_finding *f, void *ctx)
{
	url_run *r = ctx;
	const ward_rule_info *ri = f->rule;
	char match[4 * WARD_EXCERPT_MAX + 8];
	size_t ml = (size_t)(f->end - f->start);
	if (r->res && r->res->query && f->end <= r->res->query_len)
		cli_clean_text(r->res->query + f->start, ml, match, sizeof match);
	else
		match[0] = '\0';
	if (r->findings)
		json_array_append_new(r->findings,
		                      json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "rule", ri->id,
		                                "area", ward_area_get(ri->area)->id, "severity",
		                                ward_severity_name(ri->severity), "start",
		                                (json_int_t)f->start, "end", (json_int_t)f->end,
		                                "match", match));
	else if (!r->o->quiet)
		printf("    search finding: %s %s %s \"%s\"\n", ward_severity_name(ri->severity),
		       ward_area_get(ri->area)->id, ri->id, match);
}

/* Opens the lists and the rules named in o; prints what went wrong.  Returns 0 or -1. */
static int url_open(url_run *r, const cli_url_opts *o)
{
	ward_diag d;
	memset(r, 0, sizeof *r);
	r->o = o;
	if (o->lists || o->map) {
		ward_status st = ward_urllists_load(
		    o->lists, o->map, o->quiet ? NULL : on_list_warning, NULL, &r->lists, &d);
		if (st != WARD_OK) {
			if (d.file[0] && d.line)
				cli_error("%s:%u: %s", d.file, d.line, d.message);
			else if (d.file[0])
				cli_error("%s: %s", d.file,
				          d.message[0] ? d.message : ward_strerror(st));
			else
				cli_error("cannot load lists: %s", ward_strerror(st));
			return -1;
		}
	}
	if (!o->no_search) {
		if (cli_load_engine(o->rules, &r->e) != WARD_OK)
			return -1;
		if (ward_scanner_new(r->e, &r->sc) != WARD_OK) {
			cli_error("out of memory");
			return -1;
		}
	}
	return 0;
}

static void url_close(url_run *r)
{
	ward_scanner_free(r->sc);
	ward_engine_free(r->e);
	ward_urllists_free(r->lists);
}

/* Checks one URL and prints the result.  extra (may be NULL) is added to the JSON object
 * (the Squid log's time and client); prefix (may be NULL) goes before the human line.
 * When only_found, allowed URLs print nothing. */
static void url_one(url_run *r, const char *in, size_t len, json_t *extra, const char *prefix,
                    int only_found)
{
	char shown[1024];
	ward_url u;
	ward_url_result res;
	memset(&res, 0, sizeof res);
	cli_clean_text(in, len < 600 ? len : 600, shown, sizeof shown);
	ward_status st = ward_url_canonicalise(in, len, &u);
	if (st != WARD_OK) {
		r->errors++;
		if (r->o->json && !r->o->quiet && !only_found) {
			json_t *j =
			    json_pack("{s:s, s:s}", "input", shown, "error", ward_strerror(st));
			if (extra)
				json_object_update(j, extra);
			char *s = json_dumps(j, JSON_COMPACT);
			if (s)
				puts(s);
			free(s);
			json_decref(j);
		} else if (!r->o->quiet && !only_found) {
			cli_error("%s%s%s: not a URL (%s)", prefix ? prefix : "", prefix ? " " : "",
			          shown, ward_strerror(st));
		}
		goto done;
	}
	r->findings = r->o->json ? json_array() : NULL;
	r->res = &res; /* on_search reads the query from it */
	st = ward_urllists_check(r->lists, &u, r->sc, on_search, r, &res);
	r->res = NULL;
	if (st != WARD_OK) {
		r->errors++;
		cli_error("%s: %s", shown, ward_strerror(st));
		goto done;
	}
	if (res.verdict != WARD_VERDICT_ALLOW)
		r->found++;
	if (r->o->quiet || (only_found && res.verdict == WARD_VERDICT_ALLOW))
		goto done;
	char canon[2048], matched[1024], query[1024];
	cli_clean_text(u.text, u.len < 1500 ? u.len : 1500, canon, sizeof canon);
	cli_clean_text(u.text + res.matched_off, res.matched_len < 600 ? res.matched_len : 600,
	               matched, sizeof matched);
	query[0] = '\0';
	if (res.query)
		cli_clean_text(res.query, res.query_len < 600 ? res.query_len : 600, query,
		               sizeof query);
	const char *area = res.area >= 0 ? ward_area_get((ward_area)res.area)->id : NULL;
	if (r->o->json) {
		json_t *j =
		    json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "url", canon, "input", shown,
		              "verdict", ward_verdict_name(res.verdict), "area",
		              area ? json_string(area) : json_null(), "category", res.category,
		              "list", res.list, "matched", res.matched_kind ? matched : "");
		char reg[WARD_HOST_MAX + 1], host[WARD_HOST_MAX + 1];
		size_t hl = u.host_len < WARD_HOST_MAX ? u.host_len : WARD_HOST_MAX;
		memcpy(host, u.text + u.host_off, hl);
		host[hl] = '\0';
		if (!u.is_ip && ward_registrable_domain(host, reg, sizeof reg))
			json_object_set_new(j, "registrable", json_string(reg));
		if (res.query) {
			json_object_set_new(j, "engine", json_string(res.engine));
			json_object_set_new(j, "query", json_string(query));
			json_object_set(j, "findings", r->findings);
		}
		if (extra)
			json_object_update(j, extra);
		char *s = json_dumps(j, JSON_COMPACT);
		if (s)
			puts(s);
		free(s);
		json_decref(j);
	} else {
		printf("%s%s%-5s %s", prefix ? prefix : "", prefix ? " " : "",
		       ward_verdict_name(res.verdict), canon);
		if (res.matched_kind)
			printf("  %s %s (%s: %s)", area ? area : "-", res.category, res.list,
			       matched);
		if (res.query)
			printf("  %s search \"%s\"", res.engine, query);
		putchar('\n');
		if (res.query && r->sc && res.search_findings) {
			/* findings were printed as they came, before this line: say how many */
			printf("    %zu search finding%s\n", res.search_findings,
			       res.search_findings == 1 ? "" : "s");
		}
	}
done:
	json_decref(r->findings);
	r->findings = NULL;
	ward_url_result_clear(&res);
	ward_url_clear(&u);
}

/* Reads lines of at most WARD_URL_MAX + 8 KiB bytes from f (NUL bytes included), calling fn
 * for each; longer lines are reported and skipped.  Returns -1 on a read error. */
static int each_line(FILE *f, const char *name,
                     void (*fn)(url_run *, const char *, size_t, unsigned long), url_run *r)
{
	int rc = 0, c = 0;
	size_t cap = WARD_URL_MAX + 8192, n = 0;
	char *buf = malloc(cap);
	unsigned long ln = 0;
	int toolong = 0;
	if (!buf) {
		cli_error("out of memory");
		return -1;
	}
	while (c != EOF) {
		c = getc_unlocked(f);
		if (c != EOF && c != '\n') {
			if (n < cap)
				buf[n++] = (char)c;
			else
				toolong = 1;
			continue;
		}
		if (c == EOF && n == 0 && !toolong)
			break;
		ln++;
		if (toolong) {
			cli_error("%s:%lu: line longer than %zu bytes: skipped", name, ln, cap);
			r->errors++;
		} else {
			if (n > 0 && buf[n - 1] == '\r')
				n--;
			if (n > 0)
				fn(r, buf, n, ln);
		}
		n = 0;
		toolong = 0;
	}
	if (ferror(f)) {
		cli_error("%s: read failed: %s", name, strerror(errno));
		rc = -1;
	}
	free(buf);
	return rc;
}

static void url_line(url_run *r, const char *s, size_t n, unsigned long ln)
{
	(void)ln;
	url_one(r, s, n, NULL, NULL, 0);
}

static void squid_line(url_run *r, const char *s, size_t n, unsigned long ln)
{
	ward_squid_entry e;
	char when[64], client[128], method[32], prefix[256];
	if (ward_squid_parse(s, n, &e) != WARD_OK) {
		if (!r->o->quiet)
			cli_error("%s:%lu: not a Squid native log line", r->o->log_name, ln);
		r->errors++;
		return;
	}
	time_t t = (time_t)e.time;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(when, sizeof when, "%.3f", e.time);
	cli_clean_text(e.client, e.client_len < 100 ? e.client_len : 100, client, sizeof client);
	cli_clean_text(e.method, e.method_len < 20 ? e.method_len : 20, method, sizeof method);
	json_t *extra = NULL;
	if (r->o->json)
		extra = json_pack("{s:s, s:s, s:s, s:I, s:f}", "time", when, "client", client,
		                  "method", method, "line", (json_int_t)ln, "timestamp", e.time);
	snprintf(prefix, sizeof prefix, "%s:%lu: %s %s", r->o->log_name, ln, when, client);
	url_one(r, e.url, e.url_len, extra, prefix, 1);
	json_decref(extra);
}

int cli_scan_squid_log(const cli_url_opts *o)
{
	url_run r;
	int rc = EXIT_TROUBLE;
	FILE *f = NULL;
	if (url_open(&r, o) != 0)
		goto done;
	const char *path = o->log_name;
	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (!f) {
		cli_error("%s: %s", path, strerror(errno));
		goto done;
	}
	/* unparsable lines are reported but do not make the run an error */
	if (each_line(f, path, squid_line, &r) != 0)
		goto done;
	rc = r.found ? EXIT_FOUND : EXIT_CLEAN;
done:
	if (f && f != stdin)
		fclose(f);
	url_close(&r);
	return rc;
}

int cmd_url(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},      {"lists", required_argument, NULL, 'l'},
	    {"map", required_argument, NULL, 'm'}, {"rules", required_argument, NULL, 'r'},
	    {"no-search", no_argument, NULL, 'S'}, {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
	};
	cli_url_opts o;
	url_run r;
	int c, rc = EXIT_TROUBLE;
	memset(&o, 0, sizeof o);
	o.lists = getenv("WARD_LISTS");
	o.map = getenv("WARD_LISTS_MAP");
	optind = 1;
	while ((c = getopt_long(argc, argv, "jl:m:r:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = 1;
			break;
		case 'l':
			o.lists = optarg;
			break;
		case 'm':
			o.map = optarg;
			break;
		case 'r':
			o.rules = optarg;
			break;
		case 'S':
			o.no_search = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'h':
			cli_usage(stdout, "url");
			return EXIT_CLEAN;
		default:
			cli_usage(stderr, "url");
			return EXIT_TROUBLE;
		}
	}
	if (o.lists && !*o.lists)
		o.lists = NULL;
	if (o.map && !*o.map)
		o.map = NULL;
	if (url_open(&r, &o) != 0)
		goto done;
	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			url_one(&r, argv[i], strlen(argv[i]), NULL, NULL, 0);
	} else if (each_line(stdin, "<stdin>", url_line, &r) != 0) {
		goto done;
	}
	rc = r.errors ? EXIT_TROUBLE : r.found ? EXIT_FOUND : EXIT_CLEAN;
done:
	url_close(&r);
	return rc;
}
