/* ward/common.h: errors, version and the taxonomy shared by every part of libward. */
#ifndef WARD_COMMON_H
#define WARD_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WARD_API __attribute__((visibility("default")))
#else
#define WARD_API
#endif

/* One error enum for the whole library.  A scan's verdict is never an error: findings come
 * back through callbacks. */
typedef enum ward_status {
	WARD_OK = 0,
	WARD_ENOMEM,      /* out of memory */
	WARD_EINVAL,      /* invalid argument */
	WARD_EIO,         /* read or write failed (see errno) */
	WARD_ENOENT,      /* file not found */
	WARD_ETOOBIG,     /* input larger than the limit for it */
	WARD_ESYNTAX,     /* a rule file, list or other input has a syntax error */
	WARD_ECOMPILE,    /* the pattern compiler refused a pattern */
	WARD_EFORMAT,     /* input is not in a recognised format */
	WARD_EIMAGE,      /* image could not be decoded */
	WARD_ELIMIT,      /* input exceeds a safety limit (dimensions, nesting, count) */
	WARD_EUNSUPPORTED,/* feature or format not supported */
	WARD_ESTOPPED,    /* a callback asked the scan to stop */
	WARD_EINTERNAL,   /* a bug in ward: please report it */
	WARD_STATUS_COUNT_
} ward_status;

/* A static, human-readable English description of st.  Never NULL. */
WARD_API const char *ward_strerror(ward_status st);

/* The library's version string, e.g. "0.1.0".  Static. */
WARD_API const char *ward_version(void);

/* Where a failure happened, for errors about files (rule databases, lists, exports).
 * Filled by functions that take a ward_diag *; may be passed as NULL. */
typedef struct ward_diag {
	char file[512];    /* file name, or "" */
	unsigned line;     /* 1-based line number, or 0 */
	char message[512]; /* what was wrong, in plain words */
} ward_diag;

/* The nine areas of concern, in the seed's order.  The ids are stable. */
typedef enum ward_area {
	WARD_AREA_ADULT_CONTENT = 0,
	WARD_AREA_ABUSE_IMAGES_SOLD,
	WARD_AREA_EXPLOITATION,
	WARD_AREA_CYBERSEX,
	WARD_AREA_PEER_IMAGES,
	WARD_AREA_HOUSEHOLD_IMAGES,
	WARD_AREA_GROOMING,
	WARD_AREA_LIVE_ABUSE,
	WARD_AREA_ABUSE_IMAGES_SUBJECT,
	WARD_AREA_COUNT
} ward_area;

typedef struct ward_area_info {
	ward_area area;
	const char *id;          /* stable id, e.g. "grooming" */
	const char *title;       /* short title for lists, UK English */
	const char *seed_words;  /* the seed's words for the area */
	const char *guidance;    /* the seed's advice for this area, as plain sentences */
} ward_area_info;

/* Static description of area a, or NULL if a is out of range. */
WARD_API const ward_area_info *ward_area_get(ward_area a);

/* The area whose id is id (case-sensitive); -1 if none. */
WARD_API int ward_area_from_id(const char *id);

/* The advice that applies to every area, one point a line.  Static. */
WARD_API const char *ward_general_guidance(void);

typedef enum ward_severity {
	WARD_SEV_LOW = 0,
	WARD_SEV_MEDIUM,
	WARD_SEV_HIGH,
	WARD_SEV_CRITICAL
} ward_severity;

/* "low", "medium", "high" or "critical"; "?" when out of range.  Static. */
WARD_API const char *ward_severity_name(ward_severity s);

/* The severity named name; -1 if none. */
WARD_API int ward_severity_from_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif
