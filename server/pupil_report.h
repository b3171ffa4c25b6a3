/* pupil_report.h: what the pupil page's module reads from an anonymous request, kept apart so the
 * fuzz harness (tests/fuzz/fuzz_srv_pupil.c) reaches it without a server. */
#ifndef WARDD_PUPIL_REPORT_H
#define WARDD_PUPIL_REPORT_H

#include <stddef.h>

#include <jansson.h>

#define SRV_PUPIL_MAX_BODY  8192 /* largest body the anonymous routes take */
#define SRV_PUPIL_MAX_WORDS 4000 /* what_happened, in bytes */
#define SRV_PUPIL_MAX_NAME  100

typedef enum srv_pupil_body {
	SRV_PUPIL_FORM,     /* {code} */
	SRV_PUPIL_REPORT,   /* {code, form_token, what_happened, safe_now, name?, year_group?} */
	SRV_PUPIL_SETTINGS, /* {enabled} */
} srv_pupil_body;

/* Parses body (n bytes, not NUL-terminated) as the given kind: one JSON object with no unknown
 * field, each of the right type and length, plain text only (no control characters but line
 * breaks and tabs in what_happened, no long unbroken run such as encoded file data).  Returns
 * the object (caller owns: json_decref) or NULL with the reason in msg (capacity cap). */
json_t *srv_pupil_parse(srv_pupil_body kind, const char *body, size_t n, char *msg, size_t cap);

#endif
