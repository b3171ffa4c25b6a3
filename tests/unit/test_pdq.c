/* test_pdq.c: every image in the reference CSVs gives the reference's PDQ hash and quality,
 * and its 8 dihedral hashes; the 64x64 intermediates agree bit for bit; hex round trip; bad
 * images are refused with the right status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <ward/ward.h>

#include "image_int.h"

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

/* Checks every line of a reference CSV; returns how many images were checked. */
static int check_csv(const char *name, int dihedral)
{
	char path[1024], line[2048];
	int n = 0, bad = 0;
	snprintf(path, sizeof path, "%s/reference/%s", data_dir(), name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f)) {
		char *fields[12];
		int nf = 0;
		line[strcspn(line, "\r\n")] = '\0';
		for (char *s = line, *t; nf < 12 && (t = strsep(&s, ",")) != NULL;)
			fields[nf++] = t;
		int want = dihedral ? 10 : 3;
		if (nf != want)
			continue;
		char img[1500];
		snprintf(img, sizeof img, "%s/%s", data_dir(), fields[nf - 1]);
		ward_image_hashes ih;
		ward_diag d;
		ward_status st =
		    ward_image_hash_file(img, dihedral ? WARD_IMAGE_DIHEDRAL : 0, &ih, &d);
		if (st != WARD_OK) {
			print_error("%s: %s (%s)\n", img, ward_strerror(st), d.message);
			bad++;
			continue;
		}
		int q = (int)strtol(fields[nf - 2], NULL, 10);
		char hex[65];
		for (int v = 0; v < (dihedral ? 8 : 1); v++) {
			ward_pdq_to_hex(&ih.dihedral[v], hex);
			if (strcmp(hex, fields[v]) != 0) {
				print_error("%s variant %d: got %s want %s\n", fields[nf - 1], v,
				            hex, fields[v]);
				bad++;
			}
		}
		ward_pdq_to_hex(&ih.pdq, hex);
		if (strcmp(hex, fields[0]) != 0 || ih.quality != q) {
			print_error("%s: got %s q%d want %s q%d\n", fields[nf - 1], hex, ih.quality,
			            fields[0], q);
			bad++;
		}
		n++;
	}
	fclose(f);
	assert_int_equal(bad, 0);
	return n;
}

static void test_reference_hashes(void **state)
{
	(void)state;
	assert_int_equal(check_csv("pdq-photo-hasher.csv", 0), 38);
}

static void test_reference_dihedral(void **state)
{
	(void)state;
	assert_int_equal(check_csv("pdq-photo-hasher-dihedral.csv", 1), 38);
}

static void test_hex_roundtrip(void **state)
{
	(void)state;
	const char *s = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
	ward_pdq_hash h, g;
	char out[65];
	assert_int_equal(ward_pdq_from_hex(s, 64, &h), WARD_OK);
	ward_pdq_to_hex(&h, out);
	assert_string_equal(out, s);
	assert_int_equal(h.w[15], 0xd8f8);
	assert_int_equal(h.w[0], 0x9b22);
	g = h;
	g.w[0] ^= 7;
	g.w[15] ^= 0x8000;
	assert_int_equal(ward_pdq_distance(&h, &g), 4);
	assert_int_equal(ward_pdq_from_hex(s, 63, &h), WARD_ESYNTAX);
	assert_int_equal(ward_pdq_from_hex("zz", 2, &h), WARD_ESYNTAX);
	char bad[65];
	memcpy(bad, s, 65);
	bad[10] = 'g';
	assert_int_equal(ward_pdq_from_hex(bad, 64, &h), WARD_ESYNTAX);
}

static void test_bad_images(void **state)
{
	(void)state;
	ward_image_hashes ih;
	ward_diag d;
	assert_int_equal(ward_image_hash_mem("", 0, 0, &ih, &d), WARD_EFORMAT);
	assert_int_equal(ward_image_hash_mem("hello world", 11, 0, &ih, &d), WARD_EFORMAT);
	/* Truncated headers of each format. */
	assert_int_equal(ward_image_hash_mem("\xff\xd8\xff\xe0", 4, 0, &ih, &d), WARD_EIMAGE);
	assert_int_equal(ward_image_hash_mem("\x89PNG\r\n\x1a\n\0\0", 10, 0, &ih, &d), WARD_EIMAGE);
	assert_int_equal(ward_image_hash_mem("RIFF\0\0\0\0WEBPVP8 ", 16, 0, &ih, &d), WARD_EIMAGE);
	assert_int_equal(ward_image_hash_mem("GIF89a\1", 7, 0, &ih, &d), WARD_EIMAGE);
	/* A GIF that claims 65535x65535 is refused before decoding. */
	static const unsigned char bomb[] = {'G',  'I',  'F',  '8', '9', 'a', 0xff,
	                                     0xff, 0xff, 0xff, 0,   0,   0,   0x3b};
	assert_int_equal(ward_image_hash_mem(bomb, sizeof bomb, 0, &ih, &d), WARD_ELIMIT);
	assert_non_null(strstr(d.message, "exceeds the limit"));
	/* A PNG header claiming 20000x20000 (400 Mpixel) is refused. */
	static const unsigned char png[] = {
	    0x89, 'P',  'N',  'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I',  'H',  'D',  'R', 0,
	    0,    0x4e, 0x20, 0,   0,    0x4e, 0x20, 8,    2, 0, 0, 0,  0x00, 0x00, 0x00, 0x00};
	/* CRC left wrong on purpose: libpng checks IHDR's CRC, so set it right. */
	unsigned char p2[sizeof png];
	memcpy(p2, png, sizeof png);
	unsigned long crc = 0xffffffffUL;
	for (size_t i = 12; i < 29; i++) {
		crc ^= p2[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320UL & (0UL - (crc & 1)));
	}
	crc ^= 0xffffffffUL;
	p2[29] = (unsigned char)(crc >> 24);
	p2[30] = (unsigned char)(crc >> 16);
	p2[31] = (unsigned char)(crc >> 8);
	p2[32] = (unsigned char)crc;
	assert_int_equal(ward_image_hash_mem(p2, sizeof p2, 0, &ih, &d), WARD_ELIMIT);
	assert_int_equal(ward_image_hash_file("/nonexistent/x.jpg", 0, &ih, &d), WARD_ENOENT);
}

static void test_truncated_real(void **state)
{
	(void)state;
	char path[1024];
	snprintf(path, sizeof path, "%s/images/bridge-mods/aaa-orig.jpg", data_dir());
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	unsigned char *buf = malloc(1 << 20);
	size_t n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	ward_image_hashes ih;
	ward_diag d;
	/* Cut at many points: decodes partially or fails cleanly, never crashes. */
	for (size_t cut = 0; cut < n; cut += n / 17 + 1) {
		ward_status st = ward_image_hash_mem(buf, cut, 0, &ih, &d);
		assert_true(st == WARD_OK || st == WARD_EIMAGE || st == WARD_EFORMAT);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reference_hashes), cmocka_unit_test(test_reference_dihedral),
	    cmocka_unit_test(test_hex_roundtrip),    cmocka_unit_test(test_bad_images),
	    cmocka_unit_test(test_truncated_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
