/*
 * ward/guide.h: the guided response, read from guidance/response.txt (ward-guidance(5)).
 *
 * Checklist items (the seed's do's and don'ts, per area), urgent-referral questions (UKCIS)
 * and contacts.  An item or question applies to a concern when its areas bitmask shares a
 * bit with the concern's areas.
 */
#ifndef WARD_GUIDE_H
#define WARD_GUIDE_H

#include <ward/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_AREAS_ALL ((uint32_t)((1u << WARD_AREA_COUNT) - 1))

typedef struct ward_guide ward_guide;

typedef enum ward_guide_kind { WARD_GUIDE_DO = 0, WARD_GUIDE_DONT } ward_guide_kind;

/* All strings are valid until ward_guide_free. */
typedef struct ward_guide_item {
	const char *id;
	uint32_t areas;       /* bit (1u << area) per area it applies to */
	ward_guide_kind kind;
	const char *who;      /* "reporter" or "dsl": who confirms it */
	const char *text;
	const char *source;
} ward_guide_item;

typedef struct ward_guide_trigger {
	const char *id;
	uint32_t areas;
	const char *question;
	const char *why;      /* shown when the answer is yes */
} ward_guide_trigger;

typedef struct ward_guide_contact {
	const char *id, *name, *how, *when;
} ward_guide_contact;

/* Loads the guidance file at path; NULL means $WARD_GUIDANCE, else ./guidance/response.txt
 * when it exists, else the installed copy.  On error *diag names file and line.  The caller
 * frees *out with ward_guide_free. */
WARD_API ward_status ward_guide_load(const char *path, ward_guide **out, ward_diag *diag);
/* As ward_guide_load, from text in memory (copied); name is used in messages. */
WARD_API ward_status ward_guide_load_string(const char *text, size_t len, const char *name,
                                            ward_guide **out, ward_diag *diag);
WARD_API void ward_guide_free(ward_guide *g);

/* Counts and entries; NULL when i is out of range.  Valid until ward_guide_free. */
WARD_API size_t ward_guide_item_count(const ward_guide *g);
WARD_API const ward_guide_item *ward_guide_item_at(const ward_guide *g, size_t i);
WARD_API size_t ward_guide_trigger_count(const ward_guide *g);
WARD_API const ward_guide_trigger *ward_guide_trigger_at(const ward_guide *g, size_t i);
WARD_API size_t ward_guide_contact_count(const ward_guide *g);
WARD_API const ward_guide_contact *ward_guide_contact_at(const ward_guide *g, size_t i);
/* The entry with this id, or NULL. */
WARD_API const ward_guide_item *ward_guide_find_item(const ward_guide *g, const char *id);
WARD_API const ward_guide_trigger *ward_guide_find_trigger(const ward_guide *g, const char *id);

#ifdef __cplusplus
}
#endif
#endif
