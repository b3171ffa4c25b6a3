/* urlbench.c: the ward side of the URL benchmark.  Loads the lists, then canonicalises and
 * looks up every URL of a file (one a line, read in chunks so the URLs never sit in memory),
 * writing one verdict letter a URL (B block, F flag, A allow) for the agreement check.
 * Prints load time, lookups per second and peak resident memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <ward/ward.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	ward_urllists *l = NULL;
	ward_diag d;
	if (argc != 4) {
		fprintf(stderr, "usage: urlbench LISTDIR URLFILE VERDICTS\n");
		return 2;
	}
	double t0 = now();
	ward_status st = ward_urllists_load(argv[1], NULL, NULL, NULL, &l, &d);
	double load = now() - t0;
	if (st != WARD_OK) {
		fprintf(stderr, "urlbench: %s:%u: %s\n", d.file, d.line, d.message);
		return 2;
	}
	long rss_loaded = peak_kb();
	FILE *in = fopen(argv[2], "r"), *out = fopen(argv[3], "w");
	if (!in || !out) {
		fprintf(stderr, "urlbench: cannot open files\n");
		return 2;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	unsigned long n = 0, blocked = 0, bad = 0;
	t0 = now();
	while ((got = getline(&line, &cap, in)) > 0) {
		size_t len = (size_t)got;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		ward_url u;
		ward_url_result r;
		char v = 'A';
		if (ward_url_canonicalise(line, len, &u) == WARD_OK) {
			if (ward_urllists_check(l, &u, NULL, NULL, NULL, &r) == WARD_OK) {
				v = r.verdict == WARD_VERDICT_BLOCK ? 'B' : r.verdict == WARD_VERDICT_FLAG ? 'F' : 'A';
				ward_url_result_clear(&r);
			}
			ward_url_clear(&u);
		} else {
			bad++;
		}
		blocked += v == 'B';
		putc(v, out);
		n++;
	}
	double secs = now() - t0;
	free(line);
	fclose(in);
	fclose(out);
	printf("entries %zu\nload_s %.3f\nrss_loaded_kb %ld\nlookups %lu\nblocked %lu\nbad %lu\n"
	       "lookup_s %.3f\nlookups_per_s %.0f\npeak_rss_kb %ld\n",
	       ward_urllists_entries(l), load, rss_loaded, n, blocked, bad, secs,
	       secs > 0 ? (double)n / secs : 0.0, peak_kb());
	ward_urllists_free(l);
	return 0;
}
