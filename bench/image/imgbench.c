/* imgbench.c: PDQ and hash-index figures, each side by side with its peer in the same run.
 *   imgbench images FILE...   decode and hash separately (images/s); PDQ with the reference's
 *                             one-column-at-a-time Jarosz layout vs ward's all-columns layout,
 *                             checking both give the same bits
 *   imgbench index N Q        N random hashes plus planted near-duplicates: build time,
 *                             memory, query time at distance 31, plain linear scan beside it,
 *                             and a check that the index finds exactly what the scan finds */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ward/ward.h>

#include "image_int.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

static int images(int argc, char **argv)
{
	int n = argc, reps = 5, bad = 0;
	uint8_t **bufs = calloc((size_t)n, sizeof *bufs);
	size_t *lens = calloc((size_t)n, sizeof *lens);
	for (int i = 0; i < n; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f)
			return 2;
		fseek(f, 0, SEEK_END);
		lens[i] = (size_t)ftell(f);
		rewind(f);
		bufs[i] = malloc(lens[i]);
		if (fread(bufs[i], 1, lens[i], f) != lens[i])
			return 2;
		fclose(f);
	}
	/* Decode only. */
	double t0 = now(), dec = 0, hashw = 0, hashr = 0;
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < n; i++) {
			uint8_t *px;
			unsigned w, h, c;
			ward_diag d;
			double a = now();
			if (image_decode(bufs[i], lens[i], &px, &w, &h, &c, &d) != WARD_OK)
				continue;
			dec += now() - a;
			ward_pdq_hash hw, hr;
			int qw, qr;
			pdq_set_reference_layout(0);
			a = now();
			ward_pdq_from_pixels(px, w, h, c, &hw, &qw, NULL);
			hashw += now() - a;
			pdq_set_reference_layout(1);
			a = now();
			ward_pdq_from_pixels(px, w, h, c, &hr, &qr, NULL);
			hashr += now() - a;
			pdq_set_reference_layout(0);
			if (memcmp(&hw, &hr, sizeof hw) || qw != qr)
				bad++;
			free(px);
		}
	double total = now() - t0;
	int imgs = n * reps;
	printf("images: %d files x %d rounds\n", n, reps);
	printf("  decode only                      %8.1f images/s\n", imgs / dec);
	printf("  PDQ, reference column layout     %8.1f images/s\n", imgs / hashr);
	printf("  PDQ, ward all-columns layout     %8.1f images/s   ratio %.2fx\n", imgs / hashw,
	       hashr / hashw);
	printf("  decode + PDQ (ward)              %8.1f images/s\n", imgs / (dec + hashw));
	printf("  same bits in both layouts: %s\n", bad ? "NO" : "yes");
	(void)total;
	return bad ? 1 : 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void random_hash(ward_pdq_hash *h)
{
	for (int k = 0; k < 16; k += 4) {
		uint64_t v = next();
		memcpy(&h->w[k], &v, 8);
	}
}

typedef struct found {
	size_t *ids;
	size_t n, cap;
} found;

static int collect(const ward_hash_match *m, void *ctx)
{
	found *f = ctx;
	if (f->n < f->cap)
		f->ids[f->n++] = m->entry;
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static int index_bench(size_t n, int nq)
{
	const int D = 31, planted = 1000;
	ward_pdq_hash *all = malloc(sizeof *all * n);
	ward_hashlist *hl = NULL;
	int bad = 0;
	long rss0 = rss_kb();
	ward_hashlist_new(&hl);
	for (size_t i = 0; i < n; i++)
		random_hash(&all[i]);
	/* Queries: half random, half planted near-duplicates of entries at distances 0..40, so
	 * some sit just beyond 31 and must not be found. */
	ward_pdq_hash *q = malloc(sizeof *q * (size_t)nq);
	for (int i = 0; i < nq; i++) {
		if (i % 2 == 0) {
			random_hash(&q[i]);
			continue;
		}
		q[i] = all[next() % n];
		int flips = (int)(next() % 41);
		for (int f = 0; f < flips;) {
			unsigned b = (unsigned)(next() % 256);
			ward_pdq_hash t = q[i];
			t.w[b / 16] ^= (uint16_t)(1u << (b % 16));
			if (ward_pdq_distance(&t, &q[i]) == 1 && (q[i] = t, 1))
				f++;
		}
	}
	/* Planted entries: near-duplicates of the first planted queries put into the list. */
	for (int i = 0; i < planted && i < nq; i++) {
		ward_pdq_hash p = q[i];
		int flips = (int)(next() % 32);
		for (int f = 0; f < flips; f++) {
			unsigned b = (unsigned)(next() % 256);
			p.w[b / 16] ^= (uint16_t)(1u << (b % 16));
		}
		all[next() % n] = p;
	}
	double t0 = now();
	for (size_t i = 0; i < n; i++)
		ward_hashlist_add_pdq(hl, &all[i], NULL, -1);
	ward_hashlist_build(hl);
	double build = now() - t0;
	long rss1 = rss_kb();

	found fi = {malloc(sizeof(size_t) * 100000), 0, 100000};
	size_t total_hits = 0, planted_found = 0, planted_total = 0;
	double ti = 0, ts = 0;
	int nscan = nq < 50 ? nq : 50;
	size_t *scan_ids = malloc(sizeof(size_t) * 100000);
	for (int i = 0; i < nq; i++) {
		fi.n = 0;
		double a = now();
		ward_hashlist_query_pdq(hl, &q[i], D, collect, &fi);
		ti += now() - a;
		total_hits += fi.n;
		if (i < nscan) {
			/* The peer: a plain linear scan with popcount over every hash. */
			size_t ns = 0;
			a = now();
			for (size_t k = 0; k < n; k++)
				if (ward_pdq_distance(&q[i], &all[k]) <= D && ns < 100000)
					scan_ids[ns++] = k;
			ts += now() - a;
			qsort(fi.ids, fi.n, sizeof(size_t), cmp_size);
			if (ns != fi.n || memcmp(scan_ids, fi.ids, ns * sizeof(size_t)) != 0)
				bad++;
			for (size_t k = 0; k < ns; k++) {
				planted_total++;
				planted_found++;
			}
		}
		for (size_t k = 0; k < fi.n; k++)
			if (ward_pdq_distance(&q[i], &all[fi.ids[k]]) > D)
				bad++;
	}
	/* Every planted near-duplicate (distance <= 31 from a query) must come back. */
	size_t want = 0, got = 0;
	for (int i = 0; i < planted && i < nq; i++) {
		fi.n = 0;
		ward_hashlist_query_pdq(hl, &q[i], D, collect, &fi);
		got += fi.n;
	}
	for (int i = 0; i < planted && i < nq; i++)
		for (size_t k = 0; k < n; k++)
			want += ward_pdq_distance(&q[i], &all[k]) <= D;
	if (want != got)
		bad++;
	double per_i = ti / nq * 1e3, per_s = ts / nscan * 1e3;
	printf("index: %zu hashes, distance %d\n", n, D);
	printf("  build                 %8.2f s\n", build);
	printf("  memory (list+index)   %8.1f MB (RSS grew %.1f MB)\n",
	       ward_hashlist_memory(hl) / 1048576.0, (rss1 - rss0) / 1024.0);
	printf("  query, ward index     %8.3f ms  (%d queries, %zu hits)\n", per_i, nq, total_hits);
	printf("  query, linear scan    %8.3f ms  (%d queries)\n", per_s, nscan);
	printf("  ratio scan/index      %8.1fx\n", per_s / per_i);
	printf(
	    "  planted near-duplicates: %zu within %d, %zu found; index = scan on %d queries: %s\n",
	    want, D, got, nscan, bad ? "NO" : "yes");
	(void)planted_found;
	(void)planted_total;
	free(scan_ids);
	free(fi.ids);
	free(q);
	free(all);
	ward_hashlist_free(hl);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "images") == 0)
		return images(argc - 2, argv + 2);
	if (argc == 4 && strcmp(argv[1], "index") == 0)
		return index_bench(strtoull(argv[2], NULL, 10), atoi(argv[3]));
	fprintf(stderr, "usage: imgbench images FILE... | imgbench index N QUERIES\n");
	return 2;
}
