/* totp.c: the TOTP second factor on liboath, and the enrolment QR code on libqrencode. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <qrencode.h>
#include <sodium.h>

#include "totp.h"

#define SECRET_BYTES 20 /* 160 bits, as RFC 4226 recommends */

/* liboath's one-time initialisation: no state of the codes.  A code's replay protection (the
 * last time step used) is in the store (totp_use), so it holds across several wardd. */
static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_ready;

static void oath_start(void)
{
	oath_ready = oath_init() == OATH_OK;
}

int srv_totp_required(srv_role r)
{
	return r == SRV_ROLE_DSL || r == SRV_ROLE_DEPUTY_DSL || r == SRV_ROLE_ADMIN ||
	       r == SRV_ROLE_TRUST_LEAD;
}

ward_status srv_totp_new(char b32[SRV_TOTP_B32])
{
	unsigned char raw[SECRET_BYTES];
	char *out = NULL;
	size_t n = 0;
	ward_status st = WARD_ENOMEM;
	pthread_once(&oath_once, oath_start);
	randombytes_buf(raw, sizeof raw);
	if (oath_ready && oath_base32_encode((const char *)raw, sizeof raw, &out, &n) == OATH_OK &&
	    n < SRV_TOTP_B32) {
		/* 20 bytes are 32 base32 characters: no padding to strip. */
		memcpy(b32, out, n);
		b32[n] = '\0';
		st = WARD_OK;
	}
	if (out) {
		sodium_memzero(out, n);
		free(out);
	}
	sodium_memzero(raw, sizeof raw);
	return st;
}

static void totp_ad(int64_t user_id, char *ad, size_t cap)
{
	snprintf(ad, cap, "user/%lld/totp", (long long)user_id);
}

ward_status srv_totp_seal(const unsigned char key[SRV_KEY_LEN], int64_t user_id, const char *b32,
                          unsigned char **out, size_t *n)
{
	char ad[64];
	totp_ad(user_id, ad, sizeof ad);
	return srv_seal(key, ad, b32, strlen(b32), out, n);
}

ward_status srv_totp_open(const unsigned char key[SRV_KEY_LEN], int64_t user_id,
                          const unsigned char *sealed, size_t n, char b32[SRV_TOTP_B32])
{
	char ad[64], *plain = NULL;
	ward_status st;
	totp_ad(user_id, ad, sizeof ad);
	st = srv_open(key, ad, sealed, n, &plain);
	if (st != WARD_OK)
		return st;
	if (strlen(plain) >= SRV_TOTP_B32) {
		st = WARD_EFORMAT;
	} else {
		memcpy(b32, plain, strlen(plain) + 1);
	}
	sodium_memzero(plain, strlen(plain));
	free(plain);
	return st;
}

int srv_totp_check(const char *b32, const char *code, int64_t now, int64_t *step)
{
	char *raw = NULL;
	size_t n = 0;
	int pos = 0, ok = 0;
	pthread_once(&oath_once, oath_start);
	if (!oath_ready || !code || strlen(code) != SRV_TOTP_DIGITS ||
	    strspn(code, "0123456789") != SRV_TOTP_DIGITS)
		return 0;
	if (oath_base32_decode(b32, strlen(b32), &raw, &n) != OATH_OK)
		return 0;
	if (oath_totp_validate2(raw, n, (time_t)now, SRV_TOTP_STEP, OATH_TOTP_DEFAULT_START_TIME, 1,
	                        &pos, code) >= 0) {
		*step = now / SRV_TOTP_STEP + pos;
		ok = 1;
	}
	sodium_memzero(raw, n);
	free(raw);
	return ok;
}

/* Percent-encodes s (RFC 3986 unreserved characters stay) onto out; the length it needs. */
static size_t pct(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		           (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
		           *p == '~';
		if (keep) {
			if (o + 1 < cap)
				out[o] = (char)*p;
			o++;
		} else {
			if (o + 3 < cap) {
				out[o] = '%';
				out[o + 1] = hex[*p >> 4];
				out[o + 2] = hex[*p & 15];
			}
			o += 3;
		}
	}
	if (cap)
		out[o < cap ? o : cap - 1] = '\0';
	return o;
}

char *srv_totp_uri(const char *school, const char *username, const char *b32)
{
	size_t cap = 3 * (strlen(school) + strlen(username)) + strlen(b32) + 160;
	char *u = malloc(cap), *sch = malloc(cap), *usr = malloc(cap);
	if (u && sch && usr) {
		pct(school, sch, cap);
		pct(username, usr, cap);
		/* Label "ward (School):name"; the issuer parameter repeats the label's prefix as
		 * Google Authenticator's key URI format asks. */
		snprintf(u, cap,
		         "otpauth://totp/ward%%20%%28%s%%29:%s?secret=%s&issuer=ward%%20%%28%s%%29"
		         "&algorithm=SHA1&digits=%d&period=%d",
		         sch, usr, b32, sch, SRV_TOTP_DIGITS, SRV_TOTP_STEP);
	} else {
		free(u);
		u = NULL;
	}
	free(sch);
	free(usr);
	return u;
}

char *srv_qr_svg(const char *text)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	char *svg = NULL;
	size_t cap, o = 0;
	int w, size;
	if (!q)
		return NULL;
	w = q->width;
	size = w + 8;
	/* At most one run per two modules, each "M123 123h123v1h-123z" (21 bytes). */
	cap = 512 + (size_t)w * (size_t)w * 11;
	svg = malloc(cap);
	if (!svg)
		goto done;
	o += (size_t)snprintf(
	    svg + o, cap - o,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	    "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">"
	    "<title>QR code for your authenticator app</title>"
	    "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
	    size, size, size * 5, size * 5, size, size);
	for (int y = 0; y < w; y++) {
		for (int x = 0; x < w;) {
			int run = 0;
			while (x + run < w && (q->data[y * w + x + run] & 1))
				run++;
			if (run == 0) {
				x++;
				continue;
			}
			o += (size_t)snprintf(svg + o, cap - o, "M%d %dh%dv1h-%dz", x + 4, y + 4,
			                      run, run);
			x += run;
		}
	}
	o += (size_t)snprintf(svg + o, cap - o, "\"/></svg>");
	if (o >= cap) {
		free(svg);
		svg = NULL;
	}
done:
	QRcode_free(q);
	return svg;
}
