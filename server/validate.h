/* validate.h: checks a JSON request body against a small field table before any handler reads
 * it: no unknown fields, the right types, lengths within their ceilings, valid area ids. */
#ifndef WARDD_VALIDATE_H
#define WARDD_VALIDATE_H

#include <stddef.h>

#include <jansson.h>

typedef enum srv_ftype { SRV_F_STRING, SRV_F_INT, SRV_F_AREAS, SRV_F_CHILDREN } srv_ftype;

typedef struct srv_field {
	const char *name;
	srv_ftype type;
	int required;
	size_t max;                 /* longest string in bytes, largest integer, most array items */
	const char *const *choices; /* NULL-terminated allowed values for strings, or NULL */
} srv_field;

/* The request bodies wardd accepts (the OpenAPI document describes the same). */
extern const srv_field srv_body_session[];
extern const srv_field srv_body_totp[];
extern const srv_field srv_body_user[];
extern const srv_field srv_body_concern[];
extern const srv_field srv_body_concern_update[];

/* Parses body (n bytes, not NUL-terminated) as one JSON object valid against fields (ended by a
 * NULL name).  Returns the object (caller owns: json_decref) or NULL with a clear reason in msg
 * (capacity cap). */
json_t *srv_parse_body(const char *body, size_t n, const srv_field *fields, char *msg, size_t cap);

#endif
