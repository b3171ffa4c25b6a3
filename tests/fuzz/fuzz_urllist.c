/* Fuzzes the list readers (domains, hosts lines, URLs, squidGuard urls files) and the mapping
 * file: the input becomes a list file, then a mapping file.  Broken lines are reported, never
 * a crash; whatever loads can be looked up. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ward/ward.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void warn(const ward_diag *d, void *ctx)
{
	(void)ctx;
	if (d->message[0] == '\0')
		__builtin_trap(); /* every report says why */
}

/* Leaves /tmp as it was found. */
static void cleanup(void)
{
	char p[128];
	static const char *files[] = {"cat/domains", "cat/urls", "map.conf", "cat", ""};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		remove(p);
	}
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char p[128], m[128];
	ward_urllists *l = NULL;
	ward_diag d;
	if (size > 65536)
		return 0;
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/tmp/ward-fuzz-urllist-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		atexit(cleanup);
		snprintf(p, sizeof p, "%s/cat", dir);
		mkdir(p, 0700);
	}
	snprintf(p, sizeof p, "%s/cat/domains", dir);
	write_file(p, data, size);
	snprintf(p, sizeof p, "%s/cat/urls", dir);
	write_file(p, data, size);
	snprintf(m, sizeof m, "%s/map.conf", dir);
	write_file(m, (const uint8_t *)"cat adult-content block\n", 24);
	if (ward_urllists_load(dir, m, warn, NULL, &l, &d) == WARD_OK) {
		ward_url u;
		ward_url_result r;
		if (ward_url_canonicalise("http://a.b.example.test/x/y?z", 29, &u) == WARD_OK) {
			if (ward_urllists_check(l, &u, NULL, NULL, NULL, &r) == WARD_OK)
				ward_url_result_clear(&r);
			ward_url_clear(&u);
		}
		ward_urllists_free(l);
	}
	/* the same bytes as a mapping file */
	write_file(m, data, size);
	l = NULL;
	ward_status st = ward_urllists_load(dir, m, warn, NULL, &l, &d);
	if (st != WARD_OK && st != WARD_ENOMEM && d.message[0] == '\0')
		__builtin_trap();
	ward_urllists_free(l);
	return 0;
}
