/* image_int.h: what lib/image.c, lib/pdq.c and lib/hashlist.c share. */
#ifndef WARD_IMAGE_INT_H
#define WARD_IMAGE_INT_H

#include <ward/image.h>

/* PDQ of a float luma buffer rows x cols (overwritten; scratch has the same size).
 * dct16 (may be NULL) receives the 16x16 DCT output, ds64 (may be NULL) the 64x64 buffer. */
void pdq_hash_float(float *luma, float *scratch, int rows, int cols, ward_pdq_hash *hash,
                    int *quality, ward_pdq_hash *dihedral, float *dct16, float *ds64);

/* Decodes buf into 8-bit pixels (*px: caller frees; channels 1 or 3), as ward_image_hash_mem
 * does, without hashing.  For the benchmark's decode-only figure. */
ward_status image_decode(const uint8_t *buf, size_t len, uint8_t **px, unsigned *width,
                         unsigned *height, unsigned *channels, ward_diag *d);

/* 1: the column pass walks one column at a time with a stride, as the reference does (for the
 * benchmark's side-by-side figure); 0 (default): all columns at once. */
void pdq_set_reference_layout(int on);

#endif
