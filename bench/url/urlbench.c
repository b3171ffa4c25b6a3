/* urlbench.c: the ward side of the URL benchmark.  Loads the lists, then canonicalises and
 * looks up every URL of a file (one a line, read in chunks so the URLs never sit in memory),
 * writing one verdict letter a URL (B block, F flag, A allow) for the agreement check.
 * Prints load time, lookups per second and peak resident memory.  "batch" (the default) hands
 * the index 32 URLs at a time (ward_urllists_check_many), "single" one at a time. */
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
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: urlbench LISTDIR URLFILE VERDICTS [batch|single]\n");
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
	int batch = argc > 4 && strcmp(argv[4], "single") != 0;
	enum { B = 32 };
	ward_url u[B];
	ward_url_result r[B];
	char *line = NULL;
	size_t cap = 0, m = 0;
	ssize_t got;
	unsigned long n = 0, blocked = 0, bad = 0;
	t0 = now();
	for (;;) {
		got = getline(&line, &cap, in);
		if (got > 0) {
			size_t len = (size_t)got;
			while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
				len--;
			if (ward_url_canonicalise(line, len, &u[m]) != WARD_OK) {
				bad++;
				memset(&u[m], 0, sizeof u[m]);
				u[m].text = NULL;
			}
			m++;
		}
		if (m == B || (got <= 0 && m > 0)) {
			/* unparsable URLs are allowed, as squidGuard passes them */
			size_t k = 0;
			ward_url ok[B];
			size_t where[B];
			for (size_t i = 0; i < m; i++)
				if (u[i].text) {
					ok[k] = u[i];
					where[k++] = i;
				}
			char v[B];
			memset(v, 'A', m);
			if (batch) {
				if (ward_urllists_check_many(l, ok, k, r) != WARD_OK)
					return 2;
				for (size_t i = 0; i < k; i++)
					v[where[i]] = r[i].verdict == WARD_VERDICT_BLOCK  ? 'B'
					              : r[i].verdict == WARD_VERDICT_FLAG ? 'F'
					                                                  : 'A';
			} else {
				for (size_t i = 0; i < k; i++) {
					if (ward_urllists_check(l, &ok[i], NULL, NULL, NULL,
					                        &r[0]) != WARD_OK)
						return 2;
					v[where[i]] = r[0].verdict == WARD_VERDICT_BLOCK  ? 'B'
					              : r[0].verdict == WARD_VERDICT_FLAG ? 'F'
					                                                  : 'A';
					ward_url_result_clear(&r[0]);
				}
			}
			for (size_t i = 0; i < m; i++) {
				blocked += v[i] == 'B';
				ward_url_clear(&u[i]);
			}
			fwrite(v, 1, m, out);
			n += m;
			m = 0;
		}
		if (got <= 0)
			break;
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
