/* Fuzzes what wardd's alerts and DSL alerting take from outside: a detector's alert body
 * (srv_alert_parse, the contract of POST /api/v1/alerts) and the school's alerting settings
 * (srv_notify_settings_apply).  Refused input gets a reason, never a crash; accepted input keeps
 * the contract: a known area, severity and source, text within its ceilings, no image data,
 * and email addresses without line breaks (they become mail headers). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ward/common.h>

#include "alerts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_alert(json_t *b)
{
	const char *ex = json_string_value(json_object_get(b, "excerpt"));
	if (ward_area_from_id(json_string_value(json_object_get(b, "area"))) < 0)
		__builtin_trap();
	if (!json_string_value(json_object_get(b, "rule")) ||
	    !json_string_value(json_object_get(b, "dedup_key")) ||
	    !json_string_value(json_object_get(b, "subject")))
		__builtin_trap();
	if (ex && (strlen(ex) > SRV_ALERT_EXCERPT_MAX || strstr(ex, "\x89PNG")))
		__builtin_trap();
}

static void check_settings(const srv_notify_settings *n)
{
	const char *const f[] = {n->dsl_emails, n->deputy_emails, n->head_emails,
	                         n->mail_from,  n->smtp_url,      n->base_url};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (strpbrk(f[i], "\r\n <>"))
			__builtin_trap();
	if (n->escalation_minutes < 1 || n->escalation_minutes > 1440 || n->dedup_minutes < 1)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[256];
	json_error_t e;
	json_t *b = srv_alert_parse((const char *)data, size, msg, sizeof msg);
	if (b)
		check_alert(b);
	else if (!msg[0])
		__builtin_trap();
	json_decref(b);
	b = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e);
	if (b) {
		srv_notify_settings n;
		memset(&n, 0, sizeof n);
		n.escalation_minutes = 15;
		n.dedup_minutes = 60;
		msg[0] = '\0';
		if (srv_notify_settings_apply(b, &n, msg, sizeof msg))
			check_settings(&n);
		else if (!msg[0])
			__builtin_trap();
		json_decref(b);
	}
	return 0;
}
