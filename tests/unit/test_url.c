/* Unit tests for the web filter: canonicalisation tricks, search terms, list readers, the
 * area mapping, allow-lists, reload, the Squid log reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <ward/ward.h>

static char *canon(const char *in)
{
	ward_url u;
	if (ward_url_canonicalise(in, strlen(in), &u) != WARD_OK)
		return NULL;
	char *s = strdup(u.text);
	ward_url_clear(&u);
	return s;
}

#define CANON(in, want)                                                                            \
	do {                                                                                       \
		char *got_ = canon(in);                                                            \
		assert_non_null(got_);                                                             \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

static void test_case_and_host(void **state)
{
	(void)state;
	CANON("HTTP://Example-Adult.TEST/Path", "http://example-adult.test/Path");
	CANON("http://example-adult.test.../", "http://example-adult.test/");
	CANON("http://user:secret@example-adult.test/", "http://example-adult.test/");
	CANON("http://a@b@example-adult.test/", "http://example-adult.test/");
	CANON("http://example-adult.test:80/", "http://example-adult.test/");
	CANON("https://example-adult.test:443/", "https://example-adult.test/");
	CANON("http://example-adult.test:8080/", "http://example-adult.test:8080/");
	CANON("example-adult.test/x", "http://example-adult.test/x");
	CANON("//example-adult.test/x", "http://example-adult.test/x");
	CANON("example-adult.test:443", "https://example-adult.test/");
	CANON("  \t http://example-adult.test/\r\n", "http://example-adult.test/");
	CANON("http://exa\tmple-adult.test/", "http://example-adult.test/");
	CANON("http:\\\\example-adult.test\\a\\b", "http://example-adult.test/a/b");
	CANON("http:///example-adult.test/", "http://example-adult.test/");
	CANON("http://%45xample-%61dult.test/", "http://example-adult.test/");
}

static void test_ip_forms(void **state)
{
	(void)state;
	CANON("http://2130706433/", "http://127.0.0.1/");
	CANON("http://0x7f000001/", "http://127.0.0.1/");
	CANON("http://0177.0.0.1/", "http://127.0.0.1/");
	CANON("http://0x7f.0.0.1/", "http://127.0.0.1/");
	CANON("http://127.1/", "http://127.0.0.1/");
	CANON("http://10.9.2055/", "http://10.9.8.7/");
	CANON("http://10.9.8.7./", "http://10.9.8.7/");
	CANON("http://[0:0:0:0:0:0:0:1]/", "http://[::1]/");
	CANON("http://[2001:DB8::0:1]:8080/", "http://[2001:db8::1]:8080/");
	assert_null(canon("http://256.1.1.1/"));
	assert_null(canon("http://1.2.3.4.5/"));
	assert_null(canon("http://0x100000000/"));
	assert_null(canon("http://[::1/"));
	assert_null(canon("http://[zz::1]/"));
}

static void test_idna(void **state)
{
	(void)state;
	CANON("http://b\xc3\xbc"
	      "cher.test/",
	      "http://xn--bcher-kva.test/");
	CANON("http://B\xc3\x9c"
	      "CHER.test/",
	      "http://xn--bcher-kva.test/");
	/* an ideographic full stop is a dot to a browser */
	CANON("http://example-adult\xe3\x80\x82test/", "http://example-adult.test/");
	/* fullwidth letters fold to ASCII */
	CANON("http://\xef\xbd\x85xample-adult.test/", "http://example-adult.test/");
}

static void test_path(void **state)
{
	(void)state;
	CANON("http://h.test/a/./b/../c", "http://h.test/a/c");
	CANON("http://h.test/a//b///c/", "http://h.test/a/b/c/");
	CANON("http://h.test/../../x", "http://h.test/x");
	CANON("http://h.test/a/%2e%2E/b", "http://h.test/b");
	CANON("http://h.test/%7euser/%41%2f", "http://h.test/~user/A%2F");
	CANON("http://h.test/%zz/%4", "http://h.test/%25zz/%254");
	CANON("http://h.test/a b", "http://h.test/a%20b");
	CANON("http://h.test/x?q=%7e%2b#frag", "http://h.test/x?q=~%2B");
	CANON("http://h.test", "http://h.test/");
	CANON("http://h.test?x", "http://h.test/?x");
	CANON("http://h.test/a/..", "http://h.test/");
}

static void test_bad_urls(void **state)
{
	(void)state;
	ward_url u;
	assert_int_equal(ward_url_canonicalise("", 0, &u), WARD_EINVAL);
	assert_int_equal(ward_url_canonicalise("javascript:x", 12, &u), WARD_EINVAL);
	assert_int_equal(ward_url_canonicalise("http://a b/", 11, &u), WARD_EINVAL);
	assert_int_equal(ward_url_canonicalise("http://h.test:99999/", 20, &u), WARD_EINVAL);
	assert_int_equal(ward_url_canonicalise("http://h.test:8x/", 17, &u), WARD_EINVAL);
	assert_int_equal(ward_url_canonicalise("http://a..b/", 12, &u), WARD_EINVAL);
	assert_int_equal(ward_url_canonicalise("http://a\0b.test/", 16, &u), WARD_EINVAL);
	assert_int_equal(ward_url_canonicalise("http://a%00b.test/", 18, &u), WARD_EINVAL);
	/* a NUL in the path is escaped, not a crash */
	assert_int_equal(ward_url_canonicalise("http://h.test/a\0b", 17, &u), WARD_OK);
	assert_string_equal(u.text, "http://h.test/a%00b");
	ward_url_clear(&u);
	/* 100 KB is accepted, more than the ceiling refused */
	size_t n = 100 * 1024;
	char *big = malloc(WARD_URL_MAX + 2);
	assert_non_null(big);
	memcpy(big, "http://h.test/", 14);
	memset(big + 14, 'a', WARD_URL_MAX + 2 - 14);
	assert_int_equal(ward_url_canonicalise(big, n, &u), WARD_OK);
	assert_int_equal(u.len, n);
	ward_url_clear(&u);
	assert_int_equal(ward_url_canonicalise(big, WARD_URL_MAX + 1, &u), WARD_ETOOBIG);
	free(big);
}

static void search(const char *url, const char *engine, const char *query)
{
	ward_url u;
	const char *e;
	char *q;
	size_t ql;
	assert_int_equal(ward_url_canonicalise(url, strlen(url), &u), WARD_OK);
	assert_int_equal(ward_search_query(&u, &e, &q, &ql), WARD_OK);
	if (!engine) {
		assert_null(q);
	} else {
		assert_non_null(q);
		assert_string_equal(e, engine);
		assert_string_equal(q, query);
		assert_int_equal(strlen(q), ql);
	}
	free(q);
	ward_url_clear(&u);
}

static void test_search_terms(void **state)
{
	(void)state;
	search("https://www.google.com/search?q=school+trip&hl=en", "google", "school trip");
	search("https://www.google.co.uk/search?client=x&q=a%20b%2Bc", "google", "a b+c");
	search("https://www.bing.com/search?q=homework+help", "bing", "homework help");
	search("https://duckduckgo.com/?q=maths&t=h_", "duckduckgo", "maths");
	search("https://www.youtube.com/results?search_query=cats", "youtube", "cats");
	search("https://uk.search.yahoo.com/search?p=weather", "yahoo", "weather");
	search("https://yandex.ru/search/?text=news", "yandex", "news");
	search("https://www.ecosia.org/search?q=trees", "ecosia", "trees");
	search("https://search.brave.com/search?q=browser", "brave", "browser");
	search("https://www.google.com/maps?q=london", NULL, NULL);
	search("https://www.google.com/search?q=++", NULL, NULL);
	search("https://google.example-adult.test/search?q=x", NULL, NULL);
	search("https://www.bing.com/searchx?q=x", NULL, NULL);
	search("https://h.test/search?q=x", NULL, NULL);
}

static void test_registrable(void **state)
{
	(void)state;
	char r[256];
	assert_true(ward_registrable_domain("a.b.example.co.uk", r, sizeof r) > 0);
	assert_string_equal(r, "example.co.uk");
	assert_int_equal(ward_registrable_domain("co.uk", r, sizeof r), 0);
}

/* ---- lists ---- */

static char dir[64];

static void put(const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	mkdir(p, 0700);
	*slash = '/';
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

typedef struct warns {
	int n;
	char last[1100];
} warns;

static void on_warn(const ward_diag *d, void *ctx)
{
	warns *w = ctx;
	w->n++;
	snprintf(w->last, sizeof w->last, "%s:%u: %s", d->file, d->line, d->message);
}

static ward_verdict check(ward_urllists *l, const char *url, ward_url_result *r)
{
	ward_url u;
	assert_int_equal(ward_url_canonicalise(url, strlen(url), &u), WARD_OK);
	assert_int_equal(ward_urllists_check(l, &u, NULL, NULL, NULL, r), WARD_OK);
	ward_verdict v = r->verdict;
	ward_url_clear(&u);
	return v;
}

static ward_verdict verdict(ward_urllists *l, const char *url)
{
	ward_url_result r;
	ward_verdict v = check(l, url, &r);
	ward_url_result_clear(&r);
	return v;
}

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/ward-test-url-XXXXXX");
	assert_non_null(mkdtemp(dir));
	put("adult/domains", "example-adult.test\n*.wild.test\n# comment\nbad domain here\n"
	                     "WWW.Upper.TEST.\n10.9.8.7\n");
	put("adult/urls", "example-mixed.test/adult/\nexample-mixed.test/p.html?id=7\n");
	put("allow/domains", "ok.example-adult.test\n");
	put("gambling/domains", "example-casino.test");
	put("ads.hosts",
	    "127.0.0.1 localhost\n0.0.0.0 t.example-ads.test  p.example-ads.test # x\n");
	put("iwf.txt", "example-abuse.test/g/item1.html\n");
	put("map", "adult adult-content block\niwf abuse-images-sold block\ngambling - flag\n"
	           "ads - block\nallow - allow\n");
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_lists(void **state)
{
	(void)state;
	char map[128];
	ward_urllists *l = NULL;
	ward_diag d;
	warns w = {0};
	snprintf(map, sizeof map, "%s/map", dir);
	assert_int_equal(ward_urllists_load(dir, map, on_warn, &w, &l, &d), WARD_OK);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.last, "adult/domains:4: more than one entry"));
	ward_url_result r;
	assert_int_equal(check(l, "http://EXAMPLE-adult.test./x", &r), WARD_VERDICT_BLOCK);
	assert_int_equal(r.area, WARD_AREA_ADULT_CONTENT);
	assert_string_equal(r.category, "adult");
	assert_non_null(strstr(r.list, "adult/domains"));
	ward_url_result_clear(&r);
	assert_int_equal(verdict(l, "http://a.b.example-adult.test/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://www.example-adult.test:8080/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://x:y@example-adult.test/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://%65xample-adult.test/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://example-adult.test\xe3\x80\x82/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://notexample-adult.test/"), WARD_VERDICT_ALLOW);
	assert_int_equal(verdict(l, "http://example-adult.testx/"), WARD_VERDICT_ALLOW);
	assert_int_equal(verdict(l, "http://ok.example-adult.test/"), WARD_VERDICT_ALLOW);
	assert_int_equal(check(l, "http://deep.ok.example-adult.test/", &r), WARD_VERDICT_ALLOW);
	assert_string_equal(r.category, "allow");
	ward_url_result_clear(&r);
	assert_int_equal(verdict(l, "http://wild.test/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://upper.test/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://10.9.8.7/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://168364039/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://012.011.010.007/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://0x0a.0x09.0x08.0x07/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://9.8.7/"), WARD_VERDICT_ALLOW);
	/* URL prefixes: at segment boundaries; exact with a query */
	assert_int_equal(check(l, "http://www.example-mixed.test//adult/./x", &r),
	                 WARD_VERDICT_BLOCK);
	assert_int_equal(r.matched_kind, 2);
	ward_url_result_clear(&r);
	assert_int_equal(verdict(l, "http://example-mixed.test/adult"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://example-mixed.test/x/../%61dult/y"),
	                 WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://example-mixed.test/adulthood"), WARD_VERDICT_ALLOW);
	assert_int_equal(verdict(l, "http://example-mixed.test/"), WARD_VERDICT_ALLOW);
	assert_int_equal(verdict(l, "http://example-mixed.test/p.html?id=7"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://example-mixed.test/p.html?id=8"), WARD_VERDICT_ALLOW);
	assert_int_equal(check(l, "http://example-abuse.test/g/item1.html", &r),
	                 WARD_VERDICT_BLOCK);
	assert_int_equal(r.area, WARD_AREA_ABUSE_IMAGES_SOLD);
	ward_url_result_clear(&r);
	assert_int_equal(verdict(l, "http://example-abuse.test/g/item2.html"), WARD_VERDICT_ALLOW);
	assert_int_equal(check(l, "http://example-casino.test/", &r), WARD_VERDICT_FLAG);
	assert_int_equal(r.area, -1);
	ward_url_result_clear(&r);
	assert_int_equal(verdict(l, "http://p.example-ads.test/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://localhost/"), WARD_VERDICT_ALLOW);
	/* the matched entry is a piece of the canonical URL */
	ward_url u;
	assert_int_equal(ward_url_canonicalise("http://A.Example-Adult.test/", 28, &u), WARD_OK);
	assert_int_equal(ward_urllists_check(l, &u, NULL, NULL, NULL, &r), WARD_OK);
	assert_int_equal(r.matched_len, strlen("example-adult.test"));
	assert_memory_equal(u.text + r.matched_off, "example-adult.test", r.matched_len);
	ward_url_result_clear(&r);
	ward_url_clear(&u);

	/* reload: the new lists take effect, the old ones go */
	put("adult/domains", "other-adult.test\n");
	assert_int_equal(ward_urllists_reload(l, &d), WARD_OK);
	assert_int_equal(verdict(l, "http://example-adult.test/"), WARD_VERDICT_ALLOW);
	assert_int_equal(verdict(l, "http://other-adult.test/"), WARD_VERDICT_BLOCK);
	/* a broken mapping file leaves the old index in place */
	put("map", "adult adult-content block\ngambling nowhere flag\n");
	assert_int_equal(ward_urllists_reload(l, &d), WARD_ESYNTAX);
	assert_int_equal(d.line, 2);
	assert_non_null(strstr(d.message, "unknown area"));
	assert_int_equal(verdict(l, "http://other-adult.test/"), WARD_VERDICT_BLOCK);
	ward_urllists_free(l);
	put("adult/domains", "example-adult.test\n*.wild.test\n# comment\nbad domain here\n"
	                     "WWW.Upper.TEST.\n10.9.8.7\n");
	put("map", "adult adult-content block\niwf abuse-images-sold block\ngambling - flag\n"
	           "ads - block\nallow - allow\n");
}

static void test_no_map(void **state)
{
	(void)state;
	ward_urllists *l = NULL;
	ward_diag d;
	char p[128];
	/* without a map every category blocks; a category named as an area takes that area */
	snprintf(p, sizeof p, "%s/grooming.txt", dir);
	put("grooming.txt", "example-chat.test\n");
	assert_int_equal(ward_urllists_load(dir, NULL, NULL, NULL, &l, &d), WARD_OK);
	ward_url_result r;
	assert_int_equal(check(l, "http://example-chat.test/", &r), WARD_VERDICT_BLOCK);
	assert_int_equal(r.area, WARD_AREA_GROOMING);
	ward_url_result_clear(&r);
	assert_int_equal(verdict(l, "http://example-casino.test/"), WARD_VERDICT_BLOCK);
	ward_urllists_free(l);
	unlink(p);
	/* a single file may be given instead of a directory */
	snprintf(p, sizeof p, "%s/ads.hosts", dir);
	assert_int_equal(ward_urllists_load(p, NULL, NULL, NULL, &l, &d), WARD_OK);
	assert_int_equal(ward_urllists_entries(l), 2);
	ward_urllists_free(l);
	assert_int_equal(ward_urllists_load("/nonexistent/ward", NULL, NULL, NULL, &l, &d),
	                 WARD_ENOENT);
	assert_null(l);
}

static void test_broken_lines(void **state)
{
	(void)state;
	ward_urllists *l = NULL;
	ward_diag d;
	warns w = {0};
	char p[128];
	/* overlong lines, NULs, bad escapes: reported with file and line, the rest loaded */
	FILE *f;
	snprintf(p, sizeof p, "%s/broken/domains", dir);
	put("broken/domains", "");
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("good1.test\n", f);
	for (int i = 0; i < WARD_LIST_LINE_MAX + 10; i++)
		fputc('a', f);
	fputs("\ngood2.test\nbad\0nul.test\n%zz.test\n", f);
	fwrite("x\0y.test\n", 1, 9, f);
	for (int i = 0; i < 50; i++)
		fputs("a b c\n", f);
	fputs("good3.test", f); /* no final newline */
	fclose(f);
	assert_int_equal(ward_urllists_load(p, NULL, on_warn, &w, &l, &d), WARD_OK);
	assert_int_equal(verdict(l, "http://good1.test/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://good2.test/"), WARD_VERDICT_BLOCK);
	assert_int_equal(verdict(l, "http://good3.test/"), WARD_VERDICT_BLOCK);
	assert_int_equal(w.n, WARD_LIST_WARN_MAX + 1);
	assert_non_null(strstr(w.last, "more broken lines not shown"));
	ward_urllists_free(l);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s/broken'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_search_flag(void **state)
{
	(void)state;
	static const char rules[] = "rule adult-content.test.search\n"
	                            "area adult-content\n"
	                            "severity medium\n"
	                            "description Searches for adult videos\n"
	                            "phrase adult videos\n"
	                            "end\n";
	ward_engine *e = NULL;
	ward_scanner *sc = NULL;
	ward_diag d;
	char map[128];
	ward_urllists *l = NULL;
	snprintf(map, sizeof map, "%s/map", dir);
	put("allow/domains", "ok.example-adult.test\ngoogle.com\n");
	assert_int_equal(
	    ward_engine_load_string(rules, sizeof rules - 1, "t.rules", WARD_LOAD_NOCACHE, &e, &d),
	    WARD_OK);
	assert_int_equal(ward_scanner_new(e, &sc), WARD_OK);
	assert_int_equal(ward_urllists_load(dir, map, NULL, NULL, &l, &d), WARD_OK);
	ward_url u;
	ward_url_result r;
	const char *url = "https://www.google.com/search?q=free+ADULT+v1deos";
	assert_int_equal(ward_url_canonicalise(url, strlen(url), &u), WARD_OK);
	assert_int_equal(ward_urllists_check(l, &u, sc, NULL, NULL, &r), WARD_OK);
	assert_int_equal(r.verdict, WARD_VERDICT_FLAG);
	assert_int_equal(r.area, WARD_AREA_ADULT_CONTENT);
	assert_int_equal(r.search_findings, 1);
	assert_string_equal(r.engine, "google");
	assert_string_equal(r.query, "free ADULT v1deos");
	ward_url_result_clear(&r);
	ward_url_clear(&u);
	url = "https://www.google.com/search?q=adult+education";
	assert_int_equal(ward_url_canonicalise(url, strlen(url), &u), WARD_OK);
	assert_int_equal(ward_urllists_check(l, &u, sc, NULL, NULL, &r), WARD_OK);
	assert_int_equal(r.verdict, WARD_VERDICT_ALLOW);
	assert_int_equal(r.search_findings, 0);
	ward_url_result_clear(&r);
	ward_url_clear(&u);
	ward_urllists_free(l);
	ward_scanner_free(sc);
	ward_engine_free(e);
	put("allow/domains", "ok.example-adult.test\n");
}

typedef struct reader {
	ward_urllists *l;
	volatile int *stop;
	unsigned long checks, wrong;
} reader;

static void *read_loop(void *arg)
{
	reader *r = arg;
	ward_url u[2];
	ward_url_result res[2];
	ward_url_canonicalise("http://a.example-adult.test/", 28, &u[0]);
	ward_url_canonicalise("http://example-casino.test/", 27, &u[1]);
	while (!*r->stop) {
		if (ward_urllists_check_many(r->l, u, 2, res) != WARD_OK ||
		    res[0].verdict != WARD_VERDICT_BLOCK || res[1].verdict != WARD_VERDICT_FLAG)
			r->wrong++;
		r->checks++;
	}
	ward_url_clear(&u[0]);
	ward_url_clear(&u[1]);
	return NULL;
}

/* Lookups from other threads go on, always right, while the lists reload underneath. */
static void test_reload_threads(void **state)
{
	(void)state;
	char map[128];
	ward_urllists *l = NULL;
	ward_diag d;
	volatile int stop = 0;
	snprintf(map, sizeof map, "%s/map", dir);
	assert_int_equal(ward_urllists_load(dir, map, NULL, NULL, &l, &d), WARD_OK);
	reader r[3];
	pthread_t t[3];
	for (int i = 0; i < 3; i++) {
		r[i] = (reader){l, &stop, 0, 0};
		assert_int_equal(pthread_create(&t[i], NULL, read_loop, &r[i]), 0);
	}
	for (int k = 0; k < 20; k++)
		assert_int_equal(ward_urllists_reload(l, &d), WARD_OK);
	stop = 1;
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].wrong, 0);
	}
	ward_urllists_free(l);
}

static void test_squid(void **state)
{
	(void)state;
	ward_squid_entry e;
	const char *ln = "1700000000.123    456 10.1.2.3 TCP_MISS/200 1234 GET "
	                 "http://example-adult.test/x - HIER_DIRECT/192.0.2.1 text/html";
	assert_int_equal(ward_squid_parse(ln, strlen(ln), &e), WARD_OK);
	assert_true(e.time > 1700000000.12 && e.time < 1700000000.13);
	assert_int_equal(e.client_len, 8);
	assert_memory_equal(e.client, "10.1.2.3", 8);
	assert_memory_equal(e.method, "GET", 3);
	assert_int_equal(e.url_len, strlen("http://example-adult.test/x"));
	const char *c =
	    "1700000001.000 10 10.1.2.4 TCP_TUNNEL/200 0 CONNECT example-adult.test:443 - "
	    "HIER_DIRECT/192.0.2.1 -";
	assert_int_equal(ward_squid_parse(c, strlen(c), &e), WARD_OK);
	assert_memory_equal(e.url, "example-adult.test:443", e.url_len);
	assert_int_equal(ward_squid_parse("garbage", 7, &e), WARD_ESYNTAX);
	assert_int_equal(ward_squid_parse("1.0 x 1 A/1 0 GET u", 19, &e), WARD_ESYNTAX);
	assert_int_equal(ward_squid_parse("", 0, &e), WARD_ESYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_case_and_host), cmocka_unit_test(test_ip_forms),
	    cmocka_unit_test(test_idna),          cmocka_unit_test(test_path),
	    cmocka_unit_test(test_bad_urls),      cmocka_unit_test(test_search_terms),
	    cmocka_unit_test(test_registrable),   cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_no_map),        cmocka_unit_test(test_broken_lines),
	    cmocka_unit_test(test_search_flag),   cmocka_unit_test(test_reload_threads),
	    cmocka_unit_test(test_squid),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
