/* ward/image.h: known-image matching.  Images become PDQ perceptual hashes (bit-identical to
 * Meta's reference) and MD5 / SHA-1 / SHA-256 in memory; the pixels are dropped at once and no
 * image byte is ever written anywhere.  Hash lists (PDQ with label and area, exact hashes) are
 * indexed for Hamming-radius queries. */
#ifndef WARD_IMAGE_H
#define WARD_IMAGE_H

#include <ward/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Safety limits: larger images are refused with WARD_ELIMIT before their pixels are decoded. */
#define WARD_IMAGE_MAX_DIM    30000u               /* width or height */
#define WARD_IMAGE_MAX_PIXELS (64u * 1024 * 1024)  /* width * height */
#define WARD_IMAGE_MAX_FILE   (256u * 1024 * 1024) /* bytes of one file */

#define WARD_PDQ_MATCH_DISTANCE 31 /* recommended Hamming threshold */
#define WARD_PDQ_MIN_QUALITY    50 /* below this a PDQ hash is not reliable */

/* A 256-bit PDQ hash as the reference keeps it: 16 words, bit k in w[k / 16]. */
typedef struct ward_pdq_hash {
	uint16_t w[16];
} ward_pdq_hash;

/* Dihedral variants, in the reference's order. */
enum {
	WARD_PDQ_ORIG = 0,
	WARD_PDQ_ROT90,
	WARD_PDQ_ROT180,
	WARD_PDQ_ROT270,
	WARD_PDQ_FLIPX,
	WARD_PDQ_FLIPY,
	WARD_PDQ_FLIP_PLUS1,
	WARD_PDQ_FLIP_MINUS1,
	WARD_PDQ_DIHEDRAL_COUNT
};

typedef struct ward_image_hashes {
	ward_pdq_hash pdq;                               /* = dihedral[WARD_PDQ_ORIG] */
	ward_pdq_hash dihedral[WARD_PDQ_DIHEDRAL_COUNT]; /* filled only with WARD_IMAGE_DIHEDRAL */
	int quality;                                     /* 0..100 */
	uint8_t md5[16], sha1[20], sha256[32];           /* of the file bytes */
	unsigned width, height;                          /* as decoded */
	const char *format;                              /* "jpeg", "png", "webp", "gif"; static */
} ward_image_hashes;

enum { WARD_IMAGE_DIHEDRAL = 1 };

/* Hashes the image in buf (len bytes, not kept).  flags: WARD_IMAGE_DIHEDRAL.  diag (may be
 * NULL) gets the reason on failure: WARD_EFORMAT (not an image ward reads), WARD_EIMAGE
 * (corrupt or truncated), WARD_ELIMIT (too large: a decompression bomb is refused). */
WARD_API ward_status ward_image_hash_mem(const void *buf, size_t len, int flags,
                                         ward_image_hashes *out, ward_diag *diag);

/* As ward_image_hash_mem for the file at path (read whole into memory, then freed). */
WARD_API ward_status ward_image_hash_file(const char *path, int flags, ward_image_hashes *out,
                                          ward_diag *diag);

/* PDQ of 8-bit pixels (channels 1 or 3, rows of width*channels bytes, not kept), with the
 * reference's 512x512 pre-resize.  dihedral (may be NULL) gets the 8 variants. */
WARD_API ward_status ward_pdq_from_pixels(const uint8_t *px, unsigned width, unsigned height,
                                          unsigned channels, ward_pdq_hash *hash, int *quality,
                                          ward_pdq_hash dihedral[WARD_PDQ_DIHEDRAL_COUNT]);

/* 64 lowercase hex digits and a NUL, as the reference prints it (word 15 first). */
WARD_API void ward_pdq_to_hex(const ward_pdq_hash *h, char out[65]);
/* Parses exactly 64 hex digits (either case).  WARD_ESYNTAX otherwise. */
WARD_API ward_status ward_pdq_from_hex(const char *s, size_t n, ward_pdq_hash *out);
/* Hamming distance, 0..256. */
WARD_API int ward_pdq_distance(const ward_pdq_hash *a, const ward_pdq_hash *b);
/* Lowercase hex of n bytes into out (capacity 2n+1). */
WARD_API void ward_hex(const uint8_t *b, size_t n, char *out);

/* --- Hash lists ------------------------------------------------------------------------- */

typedef enum ward_hash_kind {
	WARD_HASH_PDQ = 0,
	WARD_HASH_MD5,
	WARD_HASH_SHA1,
	WARD_HASH_SHA256
} ward_hash_kind;

/* "pdq", "md5", "sha1", "sha256". Static. */
WARD_API const char *ward_hash_kind_name(ward_hash_kind k);

typedef struct ward_hashlist ward_hashlist;

/* An empty list set.  Caller frees with ward_hashlist_free. */
WARD_API ward_status ward_hashlist_new(ward_hashlist **out);
WARD_API void ward_hashlist_free(ward_hashlist *hl);

/* Called for each bad line; the line is skipped and the rest still loaded. */
typedef void (*ward_hashlist_warn_fn)(const ward_diag *d, void *ctx);

/* Reads a list file: one hash a line, hex; the kind follows from the length (64 hex digits is
 * PDQ, 32 MD5, 40 SHA-1; "sha256:" before 64 digits for SHA-256), optionally followed by a
 * label and an area id, separated by commas, tabs or spaces (the ThreatExchange text form
 * "HASH,LABEL" works).  '#' starts a comment.  Lines ward cannot read go to warn (may be NULL)
 * with their number; *bad (may be NULL) counts them.  Returns an error only when the file
 * cannot be read or exceeds the limits. */
WARD_API ward_status ward_hashlist_load(ward_hashlist *hl, const char *path,
                                        ward_hashlist_warn_fn warn, void *ctx, size_t *bad);
/* As ward_hashlist_load from memory (name is used in diagnostics). */
WARD_API ward_status ward_hashlist_load_mem(ward_hashlist *hl, const char *name, const char *buf,
                                            size_t len, ward_hashlist_warn_fn warn, void *ctx,
                                            size_t *bad);

/* Adds one entry.  label (may be NULL) is copied; area is a ward_area or -1. */
WARD_API ward_status ward_hashlist_add(ward_hashlist *hl, ward_hash_kind kind, const uint8_t *hash,
                                       const char *label, int area);
/* Adds a PDQ hash (label copied). */
WARD_API ward_status ward_hashlist_add_pdq(ward_hashlist *hl, const ward_pdq_hash *h,
                                           const char *label, int area);

/* Number of entries of kind k. */
WARD_API size_t ward_hashlist_count(const ward_hashlist *hl, ward_hash_kind k);
/* Bytes the list set holds (entries, labels, index). */
WARD_API size_t ward_hashlist_memory(const ward_hashlist *hl);

typedef struct ward_hash_match {
	ward_hash_kind kind;
	size_t entry;             /* 0-based entry number within its kind, in load order */
	const char *label;        /* "" when none; valid until ward_hashlist_free */
	int area;                 /* ward_area or -1 */
	int distance;             /* Hamming distance for PDQ; 0 for exact hashes */
	const ward_pdq_hash *pdq; /* the entry's PDQ hash (kind PDQ), else NULL */
	unsigned line;            /* line in its file, 0 if added directly */
} ward_hash_match;

/* Return nonzero to stop. */
typedef int (*ward_hash_match_fn)(const ward_hash_match *m, void *ctx);

/* Every PDQ entry within max_distance (0..64 uses the index; larger scans) of h.  Builds the
 * index on first use after additions (not thread-safe then; call ward_hashlist_build first to
 * share a list between threads).  Matches come in no particular order. */
WARD_API ward_status ward_hashlist_query_pdq(ward_hashlist *hl, const ward_pdq_hash *h,
                                             int max_distance, ward_hash_match_fn fn, void *ctx);
/* Builds the indexes now. */
WARD_API ward_status ward_hashlist_build(ward_hashlist *hl);

/* Matches an image's hashes: exact MD5/SHA-1/SHA-256 and PDQ within max_distance
 * (with dihedral variants when they were computed). */
WARD_API ward_status ward_hashlist_match(ward_hashlist *hl, const ward_image_hashes *ih,
                                         int max_distance, ward_hash_match_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
