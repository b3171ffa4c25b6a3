/* validate.c: request body validation.  Every string is valid UTF-8 (jansson checks) and has no
 * NUL or control characters except newline and tab in free text. */
#include <stdio.h>
#include <string.h>

#include <ward/common.h>

#include "validate.h"

static const char *const roles[] = {"staff", "dsl", "deputy-dsl", "admin", "auditor", NULL};
static const char *const sources[] = {"staff", "pupil", "detection", NULL};
static const char *const statuses[] = {"new", "acknowledged", "in-progress", "closed", NULL};

const srv_field srv_body_session[] = {
    {"school", SRV_F_STRING, 1, 200, NULL},
    {"username", SRV_F_STRING, 1, 63, NULL},
    {"password", SRV_F_STRING, 1, 1024, NULL},
    {"totp", SRV_F_STRING, 0, 8, NULL},
    {NULL, 0, 0, 0, NULL},
};

const srv_field srv_body_totp[] = {
    {"code", SRV_F_STRING, 1, 8, NULL},
    {NULL, 0, 0, 0, NULL},
};

const srv_field srv_body_user[] = {
    {"username", SRV_F_STRING, 1, 63, NULL},
    {"password", SRV_F_STRING, 1, 1024, NULL},
    {"role", SRV_F_STRING, 1, 16, roles},
    {NULL, 0, 0, 0, NULL},
};

const srv_field srv_body_concern[] = {
    {"occurred_at", SRV_F_STRING, 1, 32, NULL},       {"children", SRV_F_CHILDREN, 1, 50, NULL},
    {"areas", SRV_F_AREAS, 1, WARD_AREA_COUNT, NULL}, {"account", SRV_F_STRING, 1, 100000, NULL},
    {"source", SRV_F_STRING, 1, 16, sources},         {NULL, 0, 0, 0, NULL},
};

const srv_field srv_body_concern_update[] = {
    {"version", SRV_F_INT, 1, 1000000, NULL},
    {"status", SRV_F_STRING, 0, 16, statuses},
    {"areas", SRV_F_AREAS, 0, WARD_AREA_COUNT, NULL},
    {"children", SRV_F_CHILDREN, 0, 50, NULL},
    {"account", SRV_F_STRING, 0, 100000, NULL},
    {"occurred_at", SRV_F_STRING, 0, 32, NULL},
    {NULL, 0, 0, 0, NULL},
};

static const srv_field child_fields[] = {
    {"name", SRV_F_STRING, 1, 200, NULL},
    {"date_of_birth", SRV_F_STRING, 1, 10, NULL},
    {"year_group", SRV_F_STRING, 0, 16, NULL},
    {"internal_id", SRV_F_STRING, 0, 64, NULL},
    {NULL, 0, 0, 0, NULL},
};

static int check_object(json_t *o, const srv_field *fields, const char *where, char *msg,
                        size_t cap);

/* Control characters other than newline and tab have no place in a record. */
static int clean_string(const char *s, size_t n, int multiline)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
			return 0;
		if (c == 0x7f)
			return 0;
	}
	return 1;
}

static int is_date(const char *s, size_t n)
{
	/* YYYY-MM-DD, optionally followed by THH:MM[:SS][Z or offset]. */
	if (n < 10)
		return 0;
	for (int i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return 0;
		} else if (s[i] < '0' || s[i] > '9') {
			return 0;
		}
	}
	int mo = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return 0;
	return n == 10 || s[10] == 'T';
}

static int check_field(json_t *v, const srv_field *f, const char *where, char *msg, size_t cap)
{
	switch (f->type) {
	case SRV_F_STRING: {
		if (!json_is_string(v)) {
			snprintf(msg, cap, "%s%s must be a string", where, f->name);
			return 0;
		}
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (n == 0 || n > f->max) {
			snprintf(msg, cap, "%s%s must be between 1 and %zu bytes long", where,
			         f->name, f->max);
			return 0;
		}
		if (strlen(s) != n || !clean_string(s, n, strcmp(f->name, "account") == 0)) {
			snprintf(msg, cap, "%s%s contains control characters", where, f->name);
			return 0;
		}
		if (f->choices) {
			int ok = 0;
			for (const char *const *c = f->choices; *c; c++)
				ok |= strcmp(*c, s) == 0;
			if (!ok) {
				snprintf(msg, cap, "%s%s is not one of the allowed values", where,
				         f->name);
				return 0;
			}
		}
		if ((strcmp(f->name, "occurred_at") == 0 ||
		     strcmp(f->name, "date_of_birth") == 0) &&
		    !is_date(s, n)) {
			snprintf(msg, cap, "%s%s must be a date, YYYY-MM-DD (a time may follow)",
			         where, f->name);
			return 0;
		}
		return 1;
	}
	case SRV_F_INT:
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > (json_int_t)f->max) {
			snprintf(msg, cap, "%s%s must be a whole number from 1 to %zu", where,
			         f->name, f->max);
			return 0;
		}
		return 1;
	case SRV_F_AREAS: {
		size_t i;
		json_t *a;
		if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > f->max) {
			snprintf(msg, cap, "%s%s must be a list of 1 to %zu area ids", where,
			         f->name, f->max);
			return 0;
		}
		json_array_foreach(v, i, a)
		{
			if (!json_is_string(a) || ward_area_from_id(json_string_value(a)) < 0) {
				snprintf(
				    msg, cap,
				    "%s%s[%zu] is not one of the nine area ids (see `ward areas`)",
				    where, f->name, i);
				return 0;
			}
			for (size_t j = 0; j < i; j++)
				if (json_equal(json_array_get(v, j), a)) {
					snprintf(msg, cap, "%s%s[%zu] repeats an area", where,
					         f->name, i);
					return 0;
				}
		}
		return 1;
	}
	case SRV_F_CHILDREN: {
		size_t i;
		json_t *c;
		char sub[64];
		if (!json_is_array(v) || json_array_size(v) > f->max) {
			snprintf(msg, cap, "%s%s must be a list of at most %zu children", where,
			         f->name, f->max);
			return 0;
		}
		json_array_foreach(v, i, c)
		{
			snprintf(sub, sizeof sub, "children[%zu].", i);
			if (!check_object(c, child_fields, sub, msg, cap))
				return 0;
		}
		return 1;
	}
	}
	return 0;
}

static int check_object(json_t *o, const srv_field *fields, const char *where, char *msg,
                        size_t cap)
{
	const char *k;
	json_t *v;
	if (!json_is_object(o)) {
		snprintf(msg, cap, "%sthe body must be a JSON object", where);
		return 0;
	}
	json_object_foreach(o, k, v)
	{
		const srv_field *f = fields;
		while (f->name && strcmp(f->name, k) != 0)
			f++;
		if (!f->name) {
			char name[64];
			size_t n = strlen(k);
			/* Echo only a short, printable prefix of an unknown name. */
			snprintf(name, sizeof name, "%.40s", k);
			for (char *p = name; *p; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
					*p = '?';
			snprintf(msg, cap, "%sunknown field \"%s%s\"", where, name,
			         n > 40 ? "..." : "");
			return 0;
		}
		if (!check_field(v, f, where, msg, cap))
			return 0;
	}
	for (const srv_field *f = fields; f->name; f++)
		if (f->required && !json_object_get(o, f->name)) {
			snprintf(msg, cap, "%s%s is required", where, f->name);
			return 0;
		}
	return 1;
}

json_t *srv_parse_body(const char *body, size_t n, const srv_field *fields, char *msg, size_t cap)
{
	json_error_t err;
	json_t *o = NULL;
	if (n == 0) {
		snprintf(msg, cap, "the request needs a JSON body");
		return NULL;
	}
	o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &err);
	if (!o) {
		snprintf(msg, cap, "the body is not valid JSON: %s (at byte %d)", err.text,
		         err.position);
		return NULL;
	}
	if (!check_object(o, fields, "", msg, cap)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}
