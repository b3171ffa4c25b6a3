/* web.c: serves the browser interface, the static files of web/ (plus areas.json and guide.json
 * that the build writes beside them from `ward areas --json` and `ward guide --json`).  The
 * files are read into memory once when wardd starts and served from there: no path from a
 * request ever reaches the file system, so there is nothing to traverse.  The pages call only
 * the JSON API.
 *
 * Where the files are: $WARD_WEB_DIR, else web/ beside the wardd binary (a build tree), else
 * the installed WARD_DATADIR/web. */
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "http.h"

#define WEB_FILE_MAX (2u << 20) /* the largest file served */

/* Pages may load scripts, styles, images and data from wardd only; no inline script or style,
 * no frames, forms post nowhere but here. */
#define WEB_CSP                                                                                    \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; "           \
	"frame-ancestors 'none'; base-uri 'none'"

/* One table: the path, the file it serves and its type.  Routes below list the same paths. */
typedef struct web_file {
	const char *path;
	const char *file;
	const char *type;
} web_file;

static const web_file files[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/static/app.css", "app.css", "text/css; charset=utf-8"},
    {"/static/print.css", "print.css", "text/css; charset=utf-8"},
    {"/static/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/static/api.js", "api.js", "text/javascript; charset=utf-8"},
    {"/static/ui.js", "ui.js", "text/javascript; charset=utf-8"},
    {"/static/report.js", "report.js", "text/javascript; charset=utf-8"},
    {"/static/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"},
    {"/static/case.js", "case.js", "text/javascript; charset=utf-8"},
    {"/static/admin.js", "admin.js", "text/javascript; charset=utf-8"},
    {"/static/resources.js", "resources.js", "text/javascript; charset=utf-8"},
    {"/static/children.js", "children.js", "text/javascript; charset=utf-8"},
    {"/static/trust.js", "trust.js", "text/javascript; charset=utf-8"},
    {"/static/icon.svg", "icon.svg", "image/svg+xml"},
    {"/static/areas.json", "areas.json", "application/json"},
    {"/static/guide.json", "guide.json", "application/json"},
    {"/pupil.html", "pupil.html", "text/html; charset=utf-8"},
    {"/static/pupil.js", "pupil.js", "text/javascript; charset=utf-8"},
    {"/static/pupil.css", "pupil.css", "text/css; charset=utf-8"},
};
#define N_FILES (sizeof files / sizeof files[0])

typedef struct web_loaded {
	char *body; /* NUL-terminated; the files are text */
	char etag[36];
} web_loaded;

static web_loaded loaded[N_FILES];
static atomic_int ready;
static char web_dir[PATH_MAX];

static int is_dir_with_index(const char *dir)
{
	char p[PATH_MAX + 16];
	struct stat st;
	snprintf(p, sizeof p, "%s/index.html", dir);
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds the directory to serve into web_dir; 0 when none has an index.html. */
static int find_dir(void)
{
	const char *env = getenv("WARD_WEB_DIR");
	char exe[PATH_MAX];
	ssize_t n;
	if (env && *env) {
		snprintf(web_dir, sizeof web_dir, "%s", env);
		return is_dir_with_index(web_dir);
	}
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if ((size_t)snprintf(web_dir, sizeof web_dir, "%s/web", exe) <
			        sizeof web_dir &&
			    is_dir_with_index(web_dir))
				return 1;
		}
	}
	snprintf(web_dir, sizeof web_dir, "%s", WARD_DATADIR "/web");
	return is_dir_with_index(web_dir);
}

/* Reads dir/name into a new NUL-terminated buffer (caller frees); NULL when unreadable, larger
 * than WEB_FILE_MAX, or holding a NUL byte. */
static char *read_file(const char *dir, const char *name)
{
	char p[PATH_MAX + 64];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "rb");
	if (!f)
		return NULL;
	buf = malloc(WEB_FILE_MAX + 1);
	if (buf) {
		len = fread(buf, 1, WEB_FILE_MAX + 1, f);
		if (ferror(f) || len > WEB_FILE_MAX || memchr(buf, '\0', len)) {
			free(buf);
			buf = NULL;
		} else {
			buf[len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

static void web_stop(srv_server *s)
{
	(void)s;
	atomic_store(&ready, 0);
	for (size_t i = 0; i < N_FILES; i++) {
		free(loaded[i].body);
		loaded[i].body = NULL;
	}
}

/* Loads every file.  A missing directory is not fatal (the API serves on; the pages answer
 * 503); a directory with a file missing is a broken install and stops wardd starting. */
static int web_start(srv_server *s)
{
	(void)s;
	if (!find_dir()) {
		fprintf(stderr,
		        "wardd: no web interface found (set WARD_WEB_DIR, or install web/ in %s); "
		        "serving the API only\n",
		        WARD_DATADIR "/web");
		return 0;
	}
	for (size_t i = 0; i < N_FILES; i++) {
		unsigned char h[16];
		loaded[i].body = read_file(web_dir, files[i].file);
		if (!loaded[i].body) {
			fprintf(stderr,
			        "wardd: web interface file %s/%s is missing or unreadable\n",
			        web_dir, files[i].file);
			web_stop(s);
			return -1;
		}
		crypto_generichash(h, sizeof h, (const unsigned char *)loaded[i].body,
		                   strlen(loaded[i].body), NULL, 0);
		loaded[i].etag[0] = '"';
		sodium_bin2hex(loaded[i].etag + 1, sizeof loaded[i].etag - 2, h, sizeof h);
		strcat(loaded[i].etag, "\"");
	}
	atomic_store(&ready, 1);
	return 0;
}

/* An If-None-Match list holds etag (or is "*"). */
static int etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);
	if (!inm)
		return 0;
	if (strcmp(inm, "*") == 0)
		return 1;
	for (const char *p = inm; (p = strstr(p, etag)) != NULL; p += n)
		if ((p == inm || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/') &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
	return 0;
}

static void h_file(srv_request *r)
{
	size_t i;
	for (i = 0; i < N_FILES && strcmp(files[i].path, r->url) != 0; i++)
		;
	if (i == N_FILES) {
		srv_problem(r, 404, "Not found", "no such file");
		return;
	}
	if (!atomic_load(&ready)) {
		srv_problem(r, 503, "Web interface not installed",
		            "this wardd serves the API only; see wardd(8) for WARD_WEB_DIR");
		return;
	}
	/* Revalidate every time (cheap: an ETag), so an upgrade shows at once. */
	r->cache = "no-cache";
	r->csp = WEB_CSP;
	r->etag = loaded[i].etag;
	if (etag_matches(srv_header(r, "If-None-Match"), loaded[i].etag)) {
		r->status = 304;
		return;
	}
	r->status = 200;
	r->text = loaded[i].body;
	r->content_type = files[i].type;
}

/* 1 when path is /PREFIX/{digits} for one of the addresses wardd's emails link to. */
static int deep_link(const char *path)
{
	static const char *const prefixes[] = {"/concerns/", "/alerts/"};
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t n = strlen(prefixes[i]), d = 0;
		if (strncmp(path, prefixes[i], n) != 0)
			continue;
		while (path[n + d] >= '0' && path[n + d] <= '9' && d < 16)
			d++;
		return d > 0 && d <= 15 && path[n + d] == '\0';
	}
	return 0;
}

/* A link in an email (base_url/concerns/{id}) opened in a browser: the page, which signs in if
 * need be and then shows the case.  Only GET from a browser that asks for HTML, so API
 * clients keep their problem+json 404. */
int srv_web_page(srv_request *r)
{
	const char *accept = srv_header(r, "Accept");
	if (strcmp(r->method, "GET") != 0 || !accept || !strstr(accept, "text/html") ||
	    !deep_link(r->url) || !atomic_load(&ready))
		return 0;
	r->cache = "no-cache";
	r->csp = WEB_CSP;
	r->etag = loaded[0].etag;
	r->status = 200;
	r->text = loaded[0].body;
	r->content_type = files[0].type;
	return 1;
}

static const srv_route routes[] = {
    {"GET", "/", h_file, SRV_ANON, "the web interface (one page)"},
    {"GET", "/static/app.css", h_file, SRV_ANON, "web interface: styles"},
    {"GET", "/static/print.css", h_file, SRV_ANON, "web interface: print styles"},
    {"GET", "/static/app.js", h_file, SRV_ANON, "web interface: router"},
    {"GET", "/static/api.js", h_file, SRV_ANON, "web interface: API client"},
    {"GET", "/static/ui.js", h_file, SRV_ANON, "web interface: shared page parts"},
    {"GET", "/static/report.js", h_file, SRV_ANON, "web interface: report a concern"},
    {"GET", "/static/dashboard.js", h_file, SRV_ANON, "web interface: DSL dashboard"},
    {"GET", "/static/case.js", h_file, SRV_ANON, "web interface: a case"},
    {"GET", "/static/admin.js", h_file, SRV_ANON, "web interface: administration"},
    {"GET", "/static/resources.js", h_file, SRV_ANON, "web interface: resources"},
    {"GET", "/static/children.js", h_file, SRV_ANON, "web interface: pupil records"},
    {"GET", "/static/trust.js", h_file, SRV_ANON, "web interface: trust overview"},
    {"GET", "/static/icon.svg", h_file, SRV_ANON, "web interface: icon"},
    {"GET", "/static/areas.json", h_file, SRV_ANON, "the nine areas (ward areas --json)"},
    {"GET", "/static/guide.json", h_file, SRV_ANON, "the guided response (ward guide --json)"},
    {"GET", "/pupil.html", h_file, SRV_ANON, "the pupil page (pupil_report.c)"},
    {"GET", "/static/pupil.js", h_file, SRV_ANON, "the pupil page: script"},
    {"GET", "/static/pupil.css", h_file, SRV_ANON, "the pupil page: styles"},
    {NULL, NULL, NULL, 0, NULL},
};

const srv_module srv_module_web = {"web", routes, web_start, web_stop};
