/* Fuzzes the core request bodies wardd takes from outside (srv_parse_body against the sign-in,
 * account, concern, concern-change and TOTP-confirm field tables) and the TOTP code check.
 * Refused input gets a reason, never a crash; accepted input keeps the contract: a JSON object
 * with only the table's fields, every required one present, strings within their ceilings and
 * free of control characters (newline, tab and return only in the account). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "totp.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_strings(json_t *v, int multiline)
{
	if (json_is_string(v)) {
		const unsigned char *s = (const unsigned char *)json_string_value(v);
		if (strlen((const char *)s) != json_string_length(v))
			__builtin_trap();
		for (; *s; s++)
			if ((*s < 0x20 && !(multiline && (*s == '\n' || *s == '\t' || *s == '\r'))) ||
			    *s == 0x7f)
				__builtin_trap();
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) check_strings(x, 0);
	} else if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x) check_strings(x, 0);
	}
}

static void check(json_t *o, const srv_field *fields)
{
	const char *k;
	json_t *v;
	if (!json_is_object(o))
		__builtin_trap();
	json_object_foreach(o, k, v)
	{
		const srv_field *f = fields;
		while (f->name && strcmp(f->name, k) != 0)
			f++;
		if (!f->name)
			__builtin_trap();
		if (f->type == SRV_F_STRING && json_string_length(v) > f->max)
			__builtin_trap();
		check_strings(v, strcmp(k, "account") == 0);
	}
	for (const srv_field *f = fields; f->name; f++)
		if (f->required && !json_object_get(o, f->name))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const srv_field *const tables[] = {srv_body_session, srv_body_user, srv_body_concern,
	                                          srv_body_concern_update, srv_body_totp};
	char msg[256], code[16];
	int64_t step = 0;
	for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
		msg[0] = '\0';
		json_t *o = srv_parse_body((const char *)data, size, tables[t], msg, sizeof msg);
		if (o)
			check(o, tables[t]);
		else if (!msg[0])
			__builtin_trap();
		json_decref(o);
	}
	/* A code is six digits or nothing. */
	if (size < sizeof code) {
		memcpy(code, data, size);
		code[size] = '\0';
		if (srv_totp_check("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", code, 59, &step) &&
		    (strlen(code) != 6 || strspn(code, "0123456789") != 6 || step < 0 || step > 2))
			__builtin_trap();
	}
	return 0;
}
