/* Unit tests for the transfer of a child's file between schools (server/case_transfer.c): a
 * bundle opens only for its addressee and only with the sender's key; any change to it is
 * refused; a receipt verifies only with the receiver's key and as issued. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "cases.h"

static case_keys a, b, c;

static int setup(void **state)
{
	unsigned char key[SRV_KEY_LEN];
	(void)state;
	if (sodium_init() < 0)
		return -1;
	memset(key, 7, sizeof key);
	case_keys_derive(key, 1, &a);
	case_keys_derive(key, 2, &b);
	memset(key, 8, sizeof key);
	case_keys_derive(key, 1, &c); /* another server's school 1 */
	return 0;
}

static json_t *file(void)
{
	return json_pack("{s:s, s:{s:s, s:s}, s:[]}", "format", "ward-child-file-1", "pupil",
	                 "name", "Pupil Example", "date_of_birth", "2014-05-06", "concerns");
}

static char *make(const case_keys *from, const case_keys *to, char hash[CASE_HASH_HEX])
{
	json_t *f = file(), *bundle = case_bundle_make(from, to->box64, f, 1700000000, hash);
	char *text;
	assert_non_null(bundle);
	text = json_dumps(bundle, JSON_COMPACT);
	json_decref(bundle);
	json_decref(f);
	return text;
}

static void test_keys(void **state)
{
	case_keys again;
	unsigned char key[SRV_KEY_LEN];
	(void)state;
	memset(key, 7, sizeof key);
	case_keys_derive(key, 1, &again);
	assert_string_equal(again.sign64, a.sign64); /* stable for a school */
	assert_string_equal(again.box64, a.box64);
	assert_string_not_equal(a.sign64, b.sign64); /* per school */
	assert_string_not_equal(a.sign64, c.sign64); /* per at-rest key */
}

static void test_round_trip(void **state)
{
	char h1[CASE_HASH_HEX], h2[CASE_HASH_HEX], msg[256];
	json_t *out = NULL;
	(void)state;
	char *text = make(&a, &b, h1);
	assert_null(strstr(text, "Pupil Example")); /* sealed */
	assert_int_equal(
	    case_bundle_open(text, strlen(text), a.sign64, &b, &out, h2, msg, sizeof msg), WARD_OK);
	assert_string_equal(h1, h2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(out, "pupil"), "name")),
	    "Pupil Example");
	json_decref(out);
	free(text);
}

static void test_refusals(void **state)
{
	char h[CASE_HASH_HEX], msg[256];
	json_t *out = NULL;
	(void)state;
	char *text = make(&a, &b, h);
	/* not the addressee */
	assert_int_equal(
	    case_bundle_open(text, strlen(text), a.sign64, &c, &out, h, msg, sizeof msg),
	    WARD_EINVAL);
	assert_non_null(strstr(msg, "another school"));
	/* not the sender the receiver was told of */
	assert_int_equal(
	    case_bundle_open(text, strlen(text), c.sign64, &b, &out, h, msg, sizeof msg),
	    WARD_EINVAL);
	/* any change to a signed field: the time sent, a byte of the sealed file */
	static const char *const marks[] = {"\"sent_at\":170000000", "\"sealed\":\""};
	for (size_t i = 0; i < 2; i++) {
		char *t = strdup(text), *p = strstr(t, marks[i]);
		assert_non_null(p);
		p += strlen(marks[i]); /* the next character: a digit of the time, or of base64 */
		*p = *p == 'A' ? 'B' : (*p == '0' ? '1' : 'A');
		assert_int_equal(
		    case_bundle_open(t, strlen(t), a.sign64, &b, &out, h, msg, sizeof msg),
		    WARD_EINVAL);
		assert_null(out);
		free(t);
	}
	/* not a bundle at all */
	assert_int_equal(case_bundle_open("{}", 2, a.sign64, &b, &out, h, msg, sizeof msg),
	                 WARD_EFORMAT);
	assert_int_equal(case_bundle_open("[", 1, a.sign64, &b, &out, h, msg, sizeof msg),
	                 WARD_EFORMAT);
	free(text);
}

static void test_receipt(void **state)
{
	char h[CASE_HASH_HEX], got[CASE_HASH_HEX], msg[256];
	long long at = 0;
	(void)state;
	memset(h, 'a', CASE_HASH_HEX - 1);
	h[CASE_HASH_HEX - 1] = '\0';
	json_t *r = case_receipt_make(&b, h, 1700000100);
	char *text = json_dumps(r, JSON_COMPACT);
	assert_int_equal(
	    case_receipt_check(text, strlen(text), b.sign64, got, &at, msg, sizeof msg), WARD_OK);
	assert_string_equal(got, h);
	assert_int_equal(at, 1700000100);
	assert_int_not_equal(
	    case_receipt_check(text, strlen(text), a.sign64, got, &at, msg, sizeof msg), WARD_OK);
	json_object_set_new(r, "received_at", json_integer(1700000101));
	free(text);
	text = json_dumps(r, JSON_COMPACT);
	assert_int_not_equal(
	    case_receipt_check(text, strlen(text), b.sign64, got, &at, msg, sizeof msg), WARD_OK);
	assert_non_null(strstr(msg, "does not verify"));
	free(text);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_receipt),
	};
	return cmocka_run_group_tests_name("case_transfer", tests, setup, NULL);
}
