/* totp.h: the TOTP second factor (RFC 6238 through liboath): secrets, codes, the otpauth://
 * URI an authenticator app reads, and that URI as a QR code in SVG (libqrencode).  Secrets are
 * 20 random bytes, shown to the person once as base32 and sealed at rest with the data
 * directory's key, bound to the account. */
#ifndef WARDD_TOTP_H
#define WARDD_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "srv.h"

#define SRV_TOTP_STEP   30 /* seconds a code lives */
#define SRV_TOTP_DIGITS 6
#define SRV_TOTP_B32    40 /* room for a base32 secret and its NUL */

/* 1 for the roles that must have a second factor: dsl, deputy-dsl, admin. */
int srv_totp_required(srv_role r);
/* A new random secret in base32 (no padding). */
ward_status srv_totp_new(char b32[SRV_TOTP_B32]);
/* Seals b32 for user_id; *out is the caller's (free). */
ward_status srv_totp_seal(const unsigned char key[SRV_KEY_LEN], int64_t user_id, const char *b32,
                          unsigned char **out, size_t *n);
/* Opens what srv_totp_seal made into b32; WARD_EFORMAT when altered or another key. */
ward_status srv_totp_open(const unsigned char key[SRV_KEY_LEN], int64_t user_id,
                          const unsigned char *sealed, size_t n, char b32[SRV_TOTP_B32]);
/* 1 when code is the secret's code for the time step of now or one either side (clocks
 * drift); *step is the step it matched, for the store to refuse it a second time. */
int srv_totp_check(const char *b32, const char *code, int64_t now, int64_t *step);
/* The otpauth://totp/ URI naming the school and account; the caller frees it. NULL: no memory. */
char *srv_totp_uri(const char *school, const char *username, const char *b32);
/* text as a QR code in SVG (black modules on white, a quiet zone of 4); the caller frees it.
 * NULL when text does not fit a QR code or memory ran out. */
char *srv_qr_svg(const char *text);

#endif
