/* test_hashlist.c: the list reader (kinds, labels, areas, line-numbered errors, the rest still
 * loaded), the multi-index PDQ search against a plain scan (same answers, nothing beyond the
 * distance, every planted near-duplicate found), exact matching of a real image. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <ward/ward.h>

#ifndef PDQ_DATA
#define PDQ_DATA "/work/shared/testdata/pdq"
#endif

/* $WARD_PDQ_DATA, else ../shared/testdata/pdq beside the tree, else the shared copy. */
static const char *data_dir(void)
{
	const char *d = getenv("WARD_PDQ_DATA");
	if (d)
		return d;
	if (access("../shared/testdata/pdq/reference/pdq-photo-hasher.csv", R_OK) == 0)
		return "../shared/testdata/pdq";
	return PDQ_DATA;
}

typedef struct warns {
	unsigned lines[16];
	int n;
} warns;

static void on_warn(const ward_diag *d, void *ctx)
{
	warns *w = ctx;
	assert_true(d->message[0] != '\0');
	if (w->n < 16)
		w->lines[w->n++] = d->line;
}

typedef struct hits {
	size_t entries[4096];
	int dist[4096];
	int n;
	const char *label;
	int area;
} hits;

static int on_hit(const ward_hash_match *m, void *ctx)
{
	hits *h = ctx;
	if (h->n < 4096) {
		h->entries[h->n] = m->entry;
		h->dist[h->n++] = m->distance;
	}
	h->label = m->label;
	h->area = m->area;
	return 0;
}

static void test_reader(void **state)
{
	(void)state;
	static const char list[] =
	    "# a comment\n"
	    "hash,label,area\n"
	    "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22,bridge,peer-images\n"
	    "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b2\n"   /* 4: short */
	    "zz f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22\n" /* 5: bad */
	    "0123456789abcdef0123456789abcdef\tmd5-label\n"
	    "0123456789abcdef0123456789abcdef01234567\n"
	    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef x\n"
	    "0123456789abcdef0123456789abcdef,lbl,no-such-area\n" /* 9: area */
	    "\n"
	    "f8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22 a b c\r\n"; /* 11 */
	ward_hashlist *hl = NULL;
	warns w = {{0}, 0};
	size_t bad = 0;
	assert_int_equal(ward_hashlist_new(&hl), WARD_OK);
	assert_int_equal(
	    ward_hashlist_load_mem(hl, "t.txt", list, sizeof list - 1, on_warn, &w, &bad), WARD_OK);
	assert_int_equal(bad, 4);
	assert_int_equal(w.n, 4);
	assert_int_equal(w.lines[0], 4);
	assert_int_equal(w.lines[1], 5);
	assert_int_equal(w.lines[2], 9);
	assert_int_equal(w.lines[3], 11);
	assert_int_equal(ward_hashlist_count(hl, WARD_HASH_PDQ), 1);
	assert_int_equal(ward_hashlist_count(hl, WARD_HASH_MD5), 1);
	assert_int_equal(ward_hashlist_count(hl, WARD_HASH_SHA1), 1);
	assert_int_equal(ward_hashlist_count(hl, WARD_HASH_SHA256), 1);
	ward_pdq_hash q;
	ward_pdq_from_hex("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b23", 64,
	                  &q);
	hits h;
	memset(&h, 0, sizeof h);
	assert_int_equal(ward_hashlist_query_pdq(hl, &q, 31, on_hit, &h), WARD_OK);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.dist[0], 1);
	assert_string_equal(h.label, "bridge");
	assert_int_equal(h.area, WARD_AREA_PEER_IMAGES);
	ward_hashlist_free(hl);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Index answers equal a plain scan's, at several distances, with planted near-duplicates. */
static void test_index_vs_scan(void **state)
{
	(void)state;
	ward_hashlist *hl = NULL;
	enum { N = 20000, Q = 60 };
	static ward_pdq_hash all[N];
	assert_int_equal(ward_hashlist_new(&hl), WARD_OK);
	for (int i = 0; i < N; i++) {
		for (int k = 0; k < 16; k++)
			all[i].w[k] = (uint16_t)next();
		if (i % 10 == 1) { /* near-duplicate of the previous, 1..40 bits flipped */
			all[i] = all[i - 1];
			int flips = 1 + (int)(next() % 40);
			for (int f = 0; f < flips; f++) {
				unsigned b = (unsigned)(next() % 256);
				all[i].w[b / 16] ^= (uint16_t)(1u << (b % 16));
			}
		}
		assert_int_equal(ward_hashlist_add_pdq(hl, &all[i], NULL, -1), WARD_OK);
	}
	assert_int_equal(ward_hashlist_build(hl), WARD_OK);
	static const int dists[] = {0, 10, 15, 16, 31, 32, 40, 47, 60};
	for (size_t di = 0; di < sizeof dists / sizeof dists[0]; di++) {
		int D = dists[di];
		for (int qi = 0; qi < Q; qi++) {
			const ward_pdq_hash *q = &all[(qi * 10) % N];
			hits h;
			memset(&h, 0, sizeof h);
			assert_int_equal(ward_hashlist_query_pdq(hl, q, D, on_hit, &h), WARD_OK);
			int want = 0;
			for (int i = 0; i < N; i++)
				want += ward_pdq_distance(q, &all[i]) <= D;
			assert_int_equal(h.n, want);
			for (int k = 0; k < h.n; k++) {
				assert_true(h.dist[k] <= D);
				assert_int_equal(h.dist[k],
				                 ward_pdq_distance(q, &all[h.entries[k]]));
				for (int k2 = 0; k2 < k; k2++)
					assert_true(h.entries[k] != h.entries[k2]);
			}
		}
	}
	ward_hashlist_free(hl);
}

/* The reference's needles against its haystack: index and scan agree. */
static void test_reference_lists(void **state)
{
	(void)state;
	char p[1024];
	ward_hashlist *hay = NULL, *nd = NULL;
	size_t bad = 0;
	assert_int_equal(ward_hashlist_new(&hay), WARD_OK);
	assert_int_equal(ward_hashlist_new(&nd), WARD_OK);
	snprintf(p, sizeof p, "%s/reference/haystack.txt", data_dir());
	assert_int_equal(ward_hashlist_load(hay, p, NULL, NULL, &bad), WARD_OK);
	snprintf(p, sizeof p, "%s/reference/needles.txt", data_dir());
	assert_int_equal(ward_hashlist_load(nd, p, NULL, NULL, &bad), WARD_OK);
	assert_int_equal(bad, 0);
	assert_int_equal(ward_hashlist_count(hay, WARD_HASH_PDQ), 1350);
	assert_int_equal(ward_hashlist_count(nd, WARD_HASH_PDQ), 100);
	int found = 0;
	FILE *f = fopen(p, "r");
	char line[256];
	assert_non_null(f);
	while (fgets(line, sizeof line, f)) {
		ward_pdq_hash q;
		if (ward_pdq_from_hex(line, 64, &q) != WARD_OK)
			continue;
		hits h;
		memset(&h, 0, sizeof h);
		assert_int_equal(ward_hashlist_query_pdq(hay, &q, 31, on_hit, &h), WARD_OK);
		hits s;
		memset(&s, 0, sizeof s);
		/* 64 and up takes the plain-scan path: the reference answer. */
		assert_int_equal(ward_hashlist_query_pdq(hay, &q, 64, on_hit, &s), WARD_OK);
		int want = 0;
		for (int k = 0; k < s.n; k++)
			want += s.dist[k] <= 31;
		assert_int_equal(h.n, want);
		found += h.n > 0;
	}
	fclose(f);
	assert_true(found > 0);
	ward_hashlist_free(hay);
	ward_hashlist_free(nd);
}

static void test_image_match(void **state)
{
	(void)state;
	char p[1024], hex[65];
	ward_image_hashes ih, other;
	ward_diag d;
	ward_hashlist *hl = NULL;
	snprintf(p, sizeof p, "%s/images/bridge-mods/aaa-orig.jpg", data_dir());
	assert_int_equal(ward_image_hash_file(p, WARD_IMAGE_DIHEDRAL, &ih, &d), WARD_OK);
	snprintf(p, sizeof p, "%s/images/dih/bridge-2-rotate-90.jpg", data_dir());
	assert_int_equal(ward_image_hash_file(p, WARD_IMAGE_DIHEDRAL, &other, &d), WARD_OK);
	assert_int_equal(ward_hashlist_new(&hl), WARD_OK);
	assert_int_equal(ward_hashlist_add(hl, WARD_HASH_SHA256, ih.sha256, "exact", 1), WARD_OK);
	ward_pdq_to_hex(&ih.pdq, hex);
	assert_int_equal(ward_hashlist_add_pdq(hl, &ih.pdq, "bridge", 4), WARD_OK);
	hits h;
	memset(&h, 0, sizeof h);
	assert_int_equal(ward_hashlist_match(hl, &ih, 31, on_hit, &h), WARD_OK);
	assert_int_equal(h.n, 2); /* SHA-256 and PDQ */
	/* The rotated copy matches only through its dihedral variants. */
	memset(&h, 0, sizeof h);
	ward_image_hashes plain = other;
	memset(plain.dihedral, 0, sizeof plain.dihedral);
	assert_int_equal(ward_hashlist_match(hl, &plain, 31, on_hit, &h), WARD_OK);
	assert_int_equal(h.n, 0);
	memset(&h, 0, sizeof h);
	assert_int_equal(ward_hashlist_match(hl, &other, 31, on_hit, &h), WARD_OK);
	assert_int_equal(h.n, 1);
	ward_hashlist_free(hl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reader),
	    cmocka_unit_test(test_index_vs_scan),
	    cmocka_unit_test(test_reference_lists),
	    cmocka_unit_test(test_image_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
