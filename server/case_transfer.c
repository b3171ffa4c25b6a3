/* case_transfer.c: the transfer bundle and its receipt, without any request around them so that
 * the parsers of what another school sends can be fuzzed (tests/fuzz/fuzz_srv_transfer.c).
 *
 * Bundle (JSON): format "ward-transfer-1", sender_sign_key, recipient_box_key (base64), sent_at,
 * sealed (base64 of a libsodium sealed box holding the child's file as JSON) and signature
 * (Ed25519, base64) over "ward-transfer-1\n" sender "\n" recipient "\n" sent_at "\n" sealed.
 * The bundle's hash is BLAKE2b-256 of those signed bytes, in hex.
 *
 * Receipt (JSON): format "ward-receipt-1", bundle_hash, received_at, receiver_sign_key and
 * signature over "ward-receipt-1\n" bundle_hash "\n" received_at "\n" receiver_sign_key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cases.h"

#define B64(n) sodium_base64_ENCODED_LEN((n), sodium_base64_VARIANT_ORIGINAL)

static void b64(const unsigned char *in, size_t n, char *out, size_t cap)
{
	sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_ORIGINAL);
}

/* Decodes exactly n bytes of base64; 0 on success. */
static int unb64(const char *in, unsigned char *out, size_t n)
{
	size_t got = 0;
	if (!in || sodium_base642bin(out, n, in, strlen(in), NULL, &got, NULL,
	                             sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return got == n ? 0 : -1;
}

/* The bytes a bundle's signature covers (caller frees), or NULL. */
static char *bundle_message(const char *sender, const char *recipient, long long sent_at,
                            const char *sealed)
{
	size_t n = strlen(sender) + strlen(recipient) + strlen(sealed) + 64;
	char *m = malloc(n);
	if (m)
		snprintf(m, n, "ward-transfer-1\n%s\n%s\n%lld\n%s", sender, recipient, sent_at,
		         sealed);
	return m;
}

static void hex_hash(const char *m, char out[CASE_HASH_HEX])
{
	unsigned char h[SRV_HASH_LEN];
	crypto_generichash(h, sizeof h, (const unsigned char *)m, strlen(m), NULL, 0);
	sodium_bin2hex(out, CASE_HASH_HEX, h, sizeof h);
}

void case_keys_derive(const unsigned char key[SRV_KEY_LEN], int64_t school_id, case_keys *k)
{
	unsigned char seed[32];
	char label[96];
	snprintf(label, sizeof label, "ward-transfer-sign/school/%lld", (long long)school_id);
	crypto_generichash(seed, sizeof seed, (const unsigned char *)label, strlen(label), key,
	                   SRV_KEY_LEN);
	crypto_sign_seed_keypair(k->sign_pk, k->sign_sk, seed);
	snprintf(label, sizeof label, "ward-transfer-box/school/%lld", (long long)school_id);
	crypto_generichash(seed, sizeof seed, (const unsigned char *)label, strlen(label), key,
	                   SRV_KEY_LEN);
	crypto_box_seed_keypair(k->box_pk, k->box_sk, seed);
	sodium_memzero(seed, sizeof seed);
	b64(k->sign_pk, sizeof k->sign_pk, k->sign64, sizeof k->sign64);
	b64(k->box_pk, sizeof k->box_pk, k->box64, sizeof k->box64);
}

json_t *case_bundle_make(const case_keys *k, const char *recipient_box64, json_t *file,
                         long long sent_at, char hash[CASE_HASH_HEX])
{
	unsigned char rpk[crypto_box_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	unsigned char *sealed = NULL;
	char *text = NULL, *sealed64 = NULL, *m = NULL, sig64[B64(crypto_sign_BYTES)];
	json_t *out = NULL;
	size_t n;
	if (unb64(recipient_box64, rpk, sizeof rpk) != 0)
		return NULL;
	if (!(text = json_dumps(file, JSON_COMPACT)))
		goto done;
	n = strlen(text);
	if (!(sealed = malloc(n + crypto_box_SEALBYTES)) ||
	    !(sealed64 = malloc(B64(n + crypto_box_SEALBYTES))))
		goto done;
	crypto_box_seal(sealed, (const unsigned char *)text, n, rpk);
	b64(sealed, n + crypto_box_SEALBYTES, sealed64, B64(n + crypto_box_SEALBYTES));
	if (!(m = bundle_message(k->sign64, recipient_box64, sent_at, sealed64)))
		goto done;
	crypto_sign_detached(sig, NULL, (const unsigned char *)m, strlen(m), k->sign_sk);
	b64(sig, sizeof sig, sig64, sizeof sig64);
	hex_hash(m, hash);
	out = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "format", "ward-transfer-1",
	                "sender_sign_key", k->sign64, "recipient_box_key", recipient_box64,
	                "sent_at", (json_int_t)sent_at, "sealed", sealed64, "signature", sig64);
done:
	if (text) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	free(sealed);
	free(sealed64);
	free(m);
	return out;
}

ward_status case_bundle_open(const char *text, size_t len, const char *sender_sign64,
                             const case_keys *k, json_t **file_out, char hash[CASE_HASH_HEX],
                             char *msg, size_t cap)
{
	ward_status st = WARD_EFORMAT;
	json_t *bundle = NULL, *file = NULL;
	unsigned char spk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	unsigned char *sealed = NULL;
	char *m = NULL, *plain = NULL;
	size_t sealed_len = 0, sealed_max;
	const char *sealed64, *sender, *recipient, *fmt;
	*file_out = NULL;
	bundle = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	fmt = json_string_value(json_object_get(bundle, "format"));
	sealed64 = json_string_value(json_object_get(bundle, "sealed"));
	sender = json_string_value(json_object_get(bundle, "sender_sign_key"));
	recipient = json_string_value(json_object_get(bundle, "recipient_box_key"));
	if (!json_is_object(bundle) || !fmt || strcmp(fmt, "ward-transfer-1") != 0 || !sealed64 ||
	    !sender || !recipient || !json_is_integer(json_object_get(bundle, "sent_at"))) {
		snprintf(msg, cap, "the bundle is not a ward-transfer-1 bundle");
		goto done;
	}
	if (strcmp(sender, sender_sign64) != 0 || unb64(sender, spk, sizeof spk) != 0 ||
	    unb64(json_string_value(json_object_get(bundle, "signature")), sig, sizeof sig) != 0) {
		snprintf(msg, cap,
		         "the bundle is not signed with the sending school's key you were "
		         "given");
		st = WARD_EINVAL;
		goto done;
	}
	if (strcmp(recipient, k->box64) != 0) {
		snprintf(msg, cap, "the bundle was sealed for another school's key");
		st = WARD_EINVAL;
		goto done;
	}
	if (!(m = bundle_message(sender, recipient,
	                         (long long)json_integer_value(json_object_get(bundle, "sent_at")),
	                         sealed64))) {
		st = WARD_ENOMEM;
		goto done;
	}
	if (crypto_sign_verify_detached(sig, (const unsigned char *)m, strlen(m), spk) != 0) {
		snprintf(msg, cap,
		         "the bundle's signature does not verify: it was altered or not "
		         "sent by that school");
		st = WARD_EINVAL;
		goto done;
	}
	sealed_max = strlen(sealed64);
	if (!(sealed = malloc(sealed_max + 1))) {
		st = WARD_ENOMEM;
		goto done;
	}
	if (sodium_base642bin(sealed, sealed_max, sealed64, strlen(sealed64), NULL, &sealed_len,
	                      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    sealed_len < crypto_box_SEALBYTES ||
	    !(plain = malloc(sealed_len - crypto_box_SEALBYTES + 1)) ||
	    crypto_box_seal_open((unsigned char *)plain, sealed, sealed_len, k->box_pk,
	                         k->box_sk) != 0) {
		snprintf(msg, cap, "the sealed file does not open");
		goto done;
	}
	plain[sealed_len - crypto_box_SEALBYTES] = '\0';
	file = json_loads(plain, JSON_REJECT_DUPLICATES, NULL);
	json_t *pupil = json_object_get(file, "pupil");
	const char *name = json_string_value(json_object_get(pupil, "name"));
	const char *dob = json_string_value(json_object_get(pupil, "date_of_birth"));
	if (!name || !*name || strlen(name) > 200 || !dob || strlen(dob) != 10 ||
	    !case_is_date(dob) || !json_is_array(json_object_get(file, "concerns"))) {
		snprintf(msg, cap, "the file inside is not a child's file");
		goto done;
	}
	hex_hash(m, hash);
	*file_out = file;
	file = NULL;
	st = WARD_OK;
done:
	if (plain) {
		sodium_memzero(plain, sealed_len - crypto_box_SEALBYTES);
		free(plain);
	}
	free(sealed);
	free(m);
	json_decref(file);
	json_decref(bundle);
	return st;
}

/* The bytes a receipt's signature covers, into buf. */
static void receipt_message(const char *hash, long long at, const char *signer, char *buf,
                            size_t cap)
{
	snprintf(buf, cap, "ward-receipt-1\n%s\n%lld\n%s", hash, at, signer);
}

json_t *case_receipt_make(const case_keys *k, const char *hash, long long received_at)
{
	char m[256], sig64[B64(crypto_sign_BYTES)];
	unsigned char sig[crypto_sign_BYTES];
	receipt_message(hash, received_at, k->sign64, m, sizeof m);
	crypto_sign_detached(sig, NULL, (const unsigned char *)m, strlen(m), k->sign_sk);
	b64(sig, sizeof sig, sig64, sizeof sig64);
	return json_pack("{s:s, s:s, s:I, s:s, s:s}", "format", "ward-receipt-1", "bundle_hash",
	                 hash, "received_at", (json_int_t)received_at, "receiver_sign_key",
	                 k->sign64, "signature", sig64);
}

ward_status case_receipt_check(const char *text, size_t len, const char *signer64,
                               char hash[CASE_HASH_HEX], long long *received_at, char *msg,
                               size_t cap)
{
	ward_status st = WARD_EINVAL;
	json_t *rc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	const char *h = json_string_value(json_object_get(rc, "bundle_hash"));
	const char *signer = json_string_value(json_object_get(rc, "receiver_sign_key"));
	const char *fmt = json_string_value(json_object_get(rc, "format"));
	char m[256];
	if (!fmt || strcmp(fmt, "ward-receipt-1") != 0 || !h || strlen(h) != CASE_HASH_HEX - 1 ||
	    !json_is_integer(json_object_get(rc, "received_at")) || !signer ||
	    strcmp(signer, signer64) != 0 || unb64(signer, pk, sizeof pk) != 0 ||
	    unb64(json_string_value(json_object_get(rc, "signature")), sig, sizeof sig) != 0) {
		snprintf(msg, cap,
		         "not a receipt signed with the receiving school's key you were "
		         "given");
		goto done;
	}
	*received_at = (long long)json_integer_value(json_object_get(rc, "received_at"));
	receipt_message(h, *received_at, signer, m, sizeof m);
	if (crypto_sign_verify_detached(sig, (const unsigned char *)m, strlen(m), pk) != 0) {
		snprintf(msg, cap, "the receipt's signature does not verify");
		goto done;
	}
	snprintf(hash, CASE_HASH_HEX, "%s", h);
	st = WARD_OK;
done:
	json_decref(rc);
	return st;
}
