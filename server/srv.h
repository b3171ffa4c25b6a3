/* srv.h: helpers shared by wardd, `ward admin` and the server's tests. */
#ifndef WARDD_SRV_H
#define WARDD_SRV_H

#include <sodium.h>

#include "store.h"

#define SRV_KEY_LEN    32
#define SRV_PWHASH_LEN 128

/* Loads the at-rest key from path (0600 required); with create, makes one when absent. */
ward_status srv_key_load(const char *path, int create, unsigned char key[SRV_KEY_LEN]);
/* XChaCha20-Poly1305 with a random nonce, ad as associated data.  *out is the caller's (free). */
ward_status srv_seal(const unsigned char key[SRV_KEY_LEN], const char *ad, const char *plain,
                     size_t n, unsigned char **out, size_t *out_len);
/* Opens what srv_seal made; *out NUL-terminated, the caller's (free).  WARD_EFORMAT when the
 * ciphertext or its associated data was altered. */
ward_status srv_open(const unsigned char key[SRV_KEY_LEN], const char *ad, const unsigned char *in,
                     size_t n, char **out);
/* Argon2id (libsodium crypto_pwhash_str). */
ward_status srv_password_hash(const char *pw, char out[SRV_PWHASH_LEN]);
int srv_password_check(const char *hash, const char *pw);
/* Row digests: fields go into a BLAKE2b state in a fixed order, integers as 8 little-endian
 * bytes, strings with their length first so that field boundaries cannot be shifted. */
void srv_hash_i64(crypto_generichash_state *h, int64_t v);
void srv_hash_str(crypto_generichash_state *h, const char *s);
/* BLAKE2b-256 of a session or service token: only this is stored. */
void srv_token_hash(const char *token, unsigned char out[SRV_HASH_LEN]);
/* Logging: "wardd: " lines on stderr until srv_log_open(1) sends them to syslog (facility
 * daemon).  level is a syslog level (LOG_ERR, LOG_WARNING, LOG_INFO).  Thread-safe. */
void srv_log_open(int use_syslog);
void srv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ward.db and wardd.key inside data_dir. */
void srv_paths(const char *data_dir, char *db, size_t dbcap, char *key, size_t keycap);

#endif
