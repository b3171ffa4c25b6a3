/* Fuzzes what another school sends in a transfer: the bundle reader (JSON, base64, Ed25519
 * signature, sealed box, the child's file inside) and the receipt reader.  Keys are fixed, so
 * the seeds in corpus/srv_transfer/ (a valid bundle and receipt made with them) reach past the
 * signature checks, and each input is also sealed and signed as the file inside a bundle so the
 * file reader is reached too.  Refused input gets a reason, never a crash; accepted input
 * carries a child's file with a name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static case_keys sender, receiver;

static void init(void)
{
	static int done;
	unsigned char key[SRV_KEY_LEN];
	if (done)
		return;
	if (sodium_init() < 0)
		__builtin_trap();
	memset(key, 0x5a, sizeof key);
	case_keys_derive(key, 1, &sender);
	case_keys_derive(key, 2, &receiver);
	done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[256], hash[CASE_HASH_HEX];
	json_t *file = NULL;
	long long at = 0;
	init();
	msg[0] = '\0';
	ward_status st = case_bundle_open((const char *)data, size, sender.sign64, &receiver, &file,
	                                  hash, msg, sizeof msg);
	if (st == WARD_OK) {
		if (!json_string_value(json_object_get(json_object_get(file, "pupil"), "name")) ||
		    strlen(hash) != CASE_HASH_HEX - 1)
			__builtin_trap();
		json_decref(file);
	} else if (file || (st != WARD_ENOMEM && msg[0] == '\0')) {
		__builtin_trap();
	}
	/* The input as the file inside: sealed and signed properly, it must open again unless the
	 * file itself is not a child's file. */
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	if (j) {
		json_t *b = case_bundle_make(&sender, receiver.box64, j, 1, hash);
		char *text = b ? json_dumps(b, JSON_COMPACT) : NULL;
		if (text) {
			st = case_bundle_open(text, strlen(text), sender.sign64, &receiver, &file,
			                      hash, msg, sizeof msg);
			if (st == WARD_OK)
				json_decref(file);
			else if (st != WARD_EFORMAT || strstr(msg, "child's file") == NULL)
				__builtin_trap();
			free(text);
		}
		json_decref(b);
		json_decref(j);
	}
	msg[0] = '\0';
	st = case_receipt_check((const char *)data, size, receiver.sign64, hash, &at, msg,
	                        sizeof msg);
	if (st != WARD_OK && msg[0] == '\0')
		__builtin_trap();
	return 0;
}
