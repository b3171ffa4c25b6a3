/* image_int.h: what lib/image.c, lib/pdq.c and lib/hashlist.c share. */
#ifndef WARD_IMAGE_INT_H
#define WARD_IMAGE_INT_H

#include <ward/image.h>

/* PDQ of a float luma buffer rows x cols (overwritten; scratch has the same size).
 * dct16 (may be NULL) receives the 16x16 DCT output, ds64 (may be NULL) the 64x64 buffer. */
void pdq_hash_float(float *luma, float *scratch, int rows, int cols, ward_pdq_hash *hash,
                    int *quality, ward_pdq_hash *dihedral, float *dct16, float *ds64);

#endif
