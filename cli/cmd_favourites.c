/* cmd_favourites.c: `ward admin favourites`: the managed-bookmark policies that put CEOP's
 * report page and Thinkuknow in the favourites of every staff and pupil browser, as the seed
 * asks.  Chromium, Google Chrome and Microsoft Edge read a ManagedBookmarks policy (a JSON file
 * in their managed-policy folder on Linux, the registry on Windows); Firefox reads Bookmarks in
 * policies.json.  A school's policies.json may hold other policies, so ward merges its
 * bookmarks into it rather than replacing it.  See docs/ward-favourites.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

#define FAV_FILE_MAX ((size_t)1 << 20) /* the largest policies.json ward will merge into */

typedef struct fav {
	const char *name, *url;
} fav;

/* The favourites, in the order they appear. */
static const fav favs[] = {
    {"CEOP: report online abuse", "https://www.ceop.police.uk/Safety-Centre/"},
    {"Thinkuknow", "https://www.thinkuknow.co.uk/"},
};
#define N_FAVS (sizeof favs / sizeof favs[0])

/* Where --install writes, under --root. */
static const char *const chromium_dirs[] = {
    "/etc/chromium/policies/managed",   /* Debian and Ubuntu's Chromium */
    "/etc/opt/chrome/policies/managed", /* Google Chrome */
    "/etc/opt/edge/policies/managed",   /* Microsoft Edge */
};
#define FIREFOX_DIR "/etc/firefox/policies"

/* {"ManagedBookmarks": [{"toplevel_name": folder}, {"name", "url"}...]}; caller decrefs. */
static json_t *fav_chromium_policy(const char *folder)
{
	json_t *list = json_array();
	json_array_append_new(list, json_pack("{s:s}", "toplevel_name", folder));
	for (size_t i = 0; i < N_FAVS; i++)
		json_array_append_new(
		    list, json_pack("{s:s, s:s}", "name", favs[i].name, "url", favs[i].url));
	return json_pack("{s:o}", "ManagedBookmarks", list);
}

static int is_ours(json_t *bookmark)
{
	const char *url = json_string_value(json_object_get(bookmark, "URL"));
	for (size_t i = 0; url && i < N_FAVS; i++)
		if (strcmp(url, favs[i].url) == 0)
			return 1;
	return 0;
}

/* Merges ward's bookmarks into an existing Firefox policies.json (text of n bytes; n == 0: none
 * yet) and returns the whole document (caller decrefs), or NULL with the reason in err.  Every
 * other policy and bookmark is kept; ward's own bookmarks (same URL) are replaced, so running
 * it twice changes nothing.  text is untrusted: any JSON at all may be there. */
static json_t *fav_firefox_merge(const char *text, size_t n, const char *folder, char *err,
                                 size_t cap)
{
	json_t *root = NULL, *pol, *marks, *kept = NULL;
	json_error_t je;
	size_t i;
	json_t *b;
	if (n == 0) {
		root = json_object();
	} else if (!(root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je))) {
		snprintf(err, cap, "not valid JSON (line %d: %s)", je.line, je.text);
		goto fail;
	}
	if (!json_is_object(root)) {
		snprintf(err, cap, "the document is not a JSON object");
		goto fail;
	}
	pol = json_object_get(root, "policies");
	if (!pol) {
		pol = json_object();
		json_object_set_new(root, "policies", pol);
	} else if (!json_is_object(pol)) {
		snprintf(err, cap, "\"policies\" is not an object");
		goto fail;
	}
	marks = json_object_get(pol, "Bookmarks");
	if (marks && !json_is_array(marks)) {
		snprintf(err, cap, "\"policies.Bookmarks\" is not a list");
		goto fail;
	}
	kept = json_array();
	json_array_foreach(marks, i, b)
	{
		if (!json_is_object(b)) {
			snprintf(err, cap,
			         "bookmark %zu in \"policies.Bookmarks\" is not an object", i + 1);
			goto fail;
		}
		if (!is_ours(b))
			json_array_append(kept, b);
	}
	for (i = 0; i < N_FAVS; i++)
		json_array_append_new(kept, json_pack("{s:s, s:s, s:s, s:s}", "Title", favs[i].name,
		                                      "URL", favs[i].url, "Folder", folder,
		                                      "Placement", "toolbar"));
	json_object_set_new(pol, "Bookmarks", kept);
	return root;
fail:
	json_decref(kept);
	json_decref(root);
	return NULL;
}

/* The Windows registry file for Chrome and Edge: ManagedBookmarks is a string holding the JSON
 * list.  Caller frees; NULL when out of memory. */
static char *reg_file(const char *folder)
{
	json_t *p = fav_chromium_policy(folder);
	char *list = json_dumps(json_object_get(p, "ManagedBookmarks"), JSON_COMPACT);
	char *out = NULL, *esc = NULL;
	size_t n = 0, cap;
	json_decref(p);
	if (!list)
		return NULL;
	cap = 2 * strlen(list) + 1;
	if (!(esc = malloc(cap)))
		goto done;
	/* .reg strings escape backslash and double quote with a backslash */
	for (const char *s = list; *s; s++) {
		if (*s == '\\' || *s == '"')
			esc[n++] = '\\';
		esc[n++] = *s;
	}
	esc[n] = '\0';
	if (asprintf(
	        &out,
	        "Windows Registry Editor Version 5.00\r\n\r\n"
	        "; ward admin favourites: CEOP and Thinkuknow in every browser's favourites\r\n"
	        "\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome]\r\n"
	        "\"ManagedBookmarks\"=\"%s\"\r\n\"BookmarkBarEnabled\"=dword:00000001\r\n"
	        "\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Edge]\r\n"
	        "\"ManagedBookmarks\"=\"%s\"\r\n\"FavoritesBarEnabled\"=dword:00000001\r\n",
	        esc, esc) < 0)
		out = NULL;
done:
	free(esc);
	free(list);
	return out;
}

/* Writes text to path through a temporary file and rename, so a reader never sees half a
 * policy.  0 on success. */
static int write_atomic(const char *path, const char *text)
{
	char tmp[4200];
	size_t n = strlen(text);
	int fd, rc = -1;
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.ward-tmp", path) >= sizeof tmp) {
		cli_error("%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		cli_error("%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, text, n) == (ssize_t)n && fsync(fd) == 0)
		rc = 0;
	else
		cli_error("%s: %s", tmp, strerror(errno));
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0) {
		cli_error("%s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static int write_json(const char *path, json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));
	char *line = NULL;
	int rc = -1;
	if (s && asprintf(&line, "%s\n", s) >= 0)
		rc = write_atomic(path, line);
	else
		cli_error("out of memory");
	free(line);
	free(s);
	return rc;
}

/* mkdir -p for a path that is entirely ours to create (under --root or --out). */
static int make_dirs(const char *path)
{
	char p[4096];
	if ((size_t)snprintf(p, sizeof p, "%s", path) >= sizeof p)
		return -1;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Reads an existing policies.json (up to FAV_FILE_MAX) into *out (caller frees), *n its
 * length; a missing file is n == 0.  0 on success. */
static int read_existing(const char *path, char **out, size_t *n)
{
	FILE *f = fopen(path, "rb");
	*out = NULL;
	*n = 0;
	if (!f)
		return errno == ENOENT ? 0 : (cli_error("%s: %s", path, strerror(errno)), -1);
	*out = malloc(FAV_FILE_MAX + 1);
	if (*out)
		*n = fread(*out, 1, FAV_FILE_MAX + 1, f);
	fclose(f);
	if (!*out || *n > FAV_FILE_MAX) {
		cli_error("%s: larger than %zu bytes; not merged", path, FAV_FILE_MAX);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Merges into the policies.json at in (may not exist) and writes the result to out. */
static int firefox(const char *in, const char *out, const char *folder)
{
	char *text = NULL, err[256];
	size_t n = 0;
	json_t *doc;
	int rc = -1;
	if (read_existing(in, &text, &n) != 0)
		return -1;
	doc = fav_firefox_merge(text, n, folder, err, sizeof err);
	if (!doc)
		cli_error("%s: %s; left unchanged (fix it, or move it aside)", in, err);
	else
		rc = write_json(out, doc);
	json_decref(doc);
	free(text);
	return rc;
}

static int chromium(const char *path, const char *folder)
{
	json_t *p = fav_chromium_policy(folder);
	int rc = write_json(path, p);
	json_decref(p);
	return rc;
}

static const char usage[] =
    "usage: ward admin favourites --out DIR [--merge POLICIES.JSON] [--folder NAME]\n"
    "       ward admin favourites --install [--root DIR] [--folder NAME]\n"
    "Writes the managed-bookmark policies that put CEOP's report page and Thinkuknow in every\n"
    "browser's favourites: --out writes managed-bookmarks.json (Chromium, Chrome, Edge),\n"
    "ward-favourites.reg (Windows: Chrome and Edge) and policies.json (Firefox; merged with\n"
    "--merge FILE or DIR/policies.json when there) for deployment; --install writes this\n"
    "machine's policy folders under --root (default /).  See docs/ward-favourites.md.\n";

int cmd_admin_favourites(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"install", no_argument, NULL, 'i'},
	    {"root", required_argument, NULL, 'r'},
	    {"folder", required_argument, NULL, 'f'},
	    {"merge", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *out = NULL, *root = "", *folder = "Child safety", *merge = NULL;
	char a[4200], b[4400];
	int install = 0, c, rc = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:ir:f:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'i':
			install = 1;
			break;
		case 'r':
			root = optarg;
			break;
		case 'f':
			folder = optarg;
			break;
		case 'm':
			merge = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_CLEAN;
		default:
			fputs(usage, stderr);
			return EXIT_TROUBLE;
		}
	}
	if (optind != argc || !out == !install || (*root && !install) || (merge && !out) ||
	    !*folder || strlen(folder) > 100) {
		fputs(usage, stderr);
		return EXIT_TROUBLE;
	}
	if (out) {
		if (make_dirs(out) != 0) {
			cli_error("%s: %s", out, strerror(errno));
			return EXIT_TROUBLE;
		}
		snprintf(a, sizeof a, "%s/managed-bookmarks.json", out);
		rc |= chromium(a, folder);
		snprintf(a, sizeof a, "%s/policies.json", out);
		rc |= firefox(merge ? merge : a, a, folder);
		snprintf(a, sizeof a, "%s/ward-favourites.reg", out);
		char *reg = reg_file(folder);
		rc |= reg ? write_atomic(a, reg) : (cli_error("out of memory"), -1);
		free(reg);
		if (rc == 0)
			printf("wrote %s/managed-bookmarks.json (Chromium, Chrome, Edge), "
			       "%s/ward-favourites.reg (Windows) and %s/policies.json (Firefox)\n",
			       out, out, out);
	} else {
		for (size_t i = 0; i < sizeof chromium_dirs / sizeof chromium_dirs[0]; i++) {
			snprintf(a, sizeof a, "%s%s", root, chromium_dirs[i]);
			if (make_dirs(a) != 0) {
				cli_error("%s: %s", a, strerror(errno));
				rc = -1;
				continue;
			}
			snprintf(b, sizeof b, "%s/ward-favourites.json", a);
			if (chromium(b, folder) == 0)
				printf("wrote %s\n", b);
			else
				rc = -1;
		}
		snprintf(a, sizeof a, "%s%s", root, FIREFOX_DIR);
		snprintf(b, sizeof b, "%s/policies.json", a);
		if (make_dirs(a) != 0) {
			cli_error("%s: %s", a, strerror(errno));
			rc = -1;
		} else if (firefox(b, b, folder) == 0) {
			printf("wrote %s\n", b);
		} else {
			rc = -1;
		}
	}
	return rc ? EXIT_TROUBLE : EXIT_CLEAN;
}
