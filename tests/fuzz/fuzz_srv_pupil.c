/* Fuzzes what the pupil page's anonymous routes read (srv_pupil_parse: the form, the report and
 * the admin's on/off body).  Refused input gets a reason, never a crash; accepted input keeps the
 * contract: a JSON object of known string fields within their ceilings, plain text (control
 * characters only as line breaks and tabs in what_happened, no run of 120 characters without a
 * space), every required field present, choices from their lists. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pupil_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *k, json_t *v)
{
	int multi = strcmp(k, "what_happened") == 0;
	size_t run = 0, max = multi                    ? SRV_PUPIL_MAX_WORDS
	                      : strcmp(k, "name") == 0 ? SRV_PUPIL_MAX_NAME
	                                               : 96;
	const unsigned char *s;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
		__builtin_trap();
	s = (const unsigned char *)json_string_value(v);
	if (strlen((const char *)s) != json_string_length(v))
		__builtin_trap();
	for (; *s; s++) {
		if ((*s < 0x20 && !(multi && (*s == '\n' || *s == '\t' || *s == '\r'))) ||
		    *s == 0x7f)
			__builtin_trap();
		if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
			run = 0;
		else if ((*s & 0xc0) != 0x80 && ++run >= 120)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const report_keys[] = {
	    "code", "form_token", "what_happened", "safe_now", "name", "year_group", NULL};
	char msg[256];
	for (int kind = SRV_PUPIL_FORM; kind <= SRV_PUPIL_SETTINGS; kind++) {
		const char *k;
		json_t *v;
		msg[0] = '\0';
		json_t *o = srv_pupil_parse((srv_pupil_body)kind, (const char *)data, size, msg,
		                            sizeof msg);
		if (!o) {
			if (!msg[0])
				__builtin_trap();
			continue;
		}
		if (!json_is_object(o) || size > SRV_PUPIL_MAX_BODY)
			__builtin_trap();
		if (kind == SRV_PUPIL_SETTINGS) {
			if (json_object_size(o) != 1 ||
			    !json_is_boolean(json_object_get(o, "enabled")))
				__builtin_trap();
		} else if (kind == SRV_PUPIL_FORM) {
			if (json_object_size(o) != 1 || !json_object_get(o, "code"))
				__builtin_trap();
			check_text("code", json_object_get(o, "code"));
		} else {
			json_object_foreach(o, k, v)
			{
				int known = 0;
				for (const char *const *r = report_keys; *r; r++)
					known |= strcmp(*r, k) == 0;
				if (!known)
					__builtin_trap();
				check_text(k, v);
			}
			for (int i = 0; i < 4; i++)
				if (!json_object_get(o, report_keys[i]))
					__builtin_trap();
			const char *safe = json_string_value(json_object_get(o, "safe_now"));
			if (strcmp(safe, "yes") && strcmp(safe, "no") && strcmp(safe, "not-sure"))
				__builtin_trap();
		}
		json_decref(o);
	}
	return 0;
}
