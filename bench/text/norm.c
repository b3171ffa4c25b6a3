/*
 * bench/text/norm.c: the normaliser alone, each way, over one corpus file.
 *
 * Reads FILE into memory and normalises it in blocks of 1 MB cut at a newline, as ward scan
 * does, through the general path alone, the ASCII fast path a byte at a time, and its 16, 32
 * and 64 bytes at a time chunks where the CPU has them (norm_chunk_width says which run).
 * Prints the best of ROUNDS (default 5) runs of each in MB/s and ns per byte, and checks that
 * every way gave the same bytes and map as the general path (a hash of both).
 *
 * usage: norm FILE [ROUNDS]      (built and run by bench/text/norm.sh)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text_int.h"

#define BLOCK ((size_t)1 << 20)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* FNV-1a over the output bytes and map, to compare the ways. */
static uint64_t hash_out(uint64_t h, const norm_buf *nb)
{
	const unsigned char *b = (const unsigned char *)nb->out;
	for (size_t i = 0; i < nb->len; i++)
		h = (h ^ b[i]) * 0x100000001b3u;
	for (size_t i = 0; i <= nb->len; i++)
		h = (h ^ nb->map[i]) * 0x100000001b3u;
	return h;
}

/* Normalises p[0..n) in blocks with flags; returns seconds, *h the hash of every block. */
static double run(norm_buf *nb, const char *p, size_t n, unsigned flags, uint64_t *h)
{
	double t = 0;
	*h = 0xcbf29ce484222325u;
	for (size_t pos = 0; pos < n;) {
		size_t k = n - pos < BLOCK ? n - pos : BLOCK;
		if (pos + k < n) {
			const char *nl = memrchr(p + pos, '\n', k);
			if (nl)
				k = (size_t)(nl - (p + pos)) + 1;
		}
		double t0 = now();
		if (norm_run_opts(nb, p + pos, k, flags) != WARD_OK) {
			fprintf(stderr, "norm: normalising failed at offset %zu\n", pos);
			exit(2);
		}
		t += now() - t0;
		*h = hash_out(*h, nb);
		pos += k;
	}
	return t;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		unsigned flags;
	} ways[] = {
	    {"general path only", NORM_NO_FAST},
	    {"fast path, bytes", NORM_NO_SIMD},
	    {"fast path, 16 at once", NORM_NO_AVX512 | NORM_NO_AVX2},
	    {"fast path, 32 at once", NORM_NO_AVX512},
	    {"fast path, 64 at once", 0},
	};
	int status = 1, rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
	char *buf = NULL;
	norm_buf nb;
	memset(&nb, 0, sizeof nb);
	if (argc < 2 || rounds < 1) {
		fprintf(stderr, "usage: norm FILE [ROUNDS]\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (size <= 0 || !(buf = malloc((size_t)size)) ||
	    fread(buf, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "norm: cannot read %s\n", argv[1]);
		fclose(f);
		goto done;
	}
	fclose(f);
	size_t n = (size_t)size;
	double mb = (double)n / 1048576.0, general = 0, bytes = 0;
	uint64_t want = 0;
	printf("normaliser alone: %.0f MB, blocks of 1 MB, best of %d\n", mb, rounds);
	for (size_t w = 0; w < sizeof ways / sizeof *ways; w++) {
		size_t width = norm_chunk_width(ways[w].flags);
		if (w >= 2 && width != (size_t)16 << (w - 2)) {
			printf("%-22s  not on this CPU\n", ways[w].name);
			continue;
		}
		double best = 0;
		uint64_t h = 0;
		for (int r = 0; r < rounds; r++) {
			double t = run(&nb, buf, n, ways[w].flags, &h);
			if (r == 0 || t < best)
				best = t;
		}
		if (w == 0)
			want = h, general = best;
		if (w == 1)
			bytes = best;
		printf("%-22s %8.1f MB/s %6.2f ns/byte", ways[w].name, mb / best,
		       best * 1e9 / (double)n);
		if (w > 0)
			printf("  x%.2f the general path, x%.2f bytes", general / best,
			       bytes / best);
		printf("%s\n", h == want ? "" : "  OUTPUT DIFFERS");
		if (h != want)
			goto done;
	}
	status = 0;
done:
	norm_buf_free(&nb);
	free(buf);
	return status;
}
