/* Fuzzes every decoder path (JPEG, PNG, WebP, GIF, by magic bytes) and PDQ: any input hashes
 * or fails with a status and a reason, never a crash, and nothing is written anywhere. */
#include <stdint.h>
#include <string.h>

#include <ward/ward.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ward_image_hashes ih;
	ward_diag d;
	memset(&d, 0, sizeof d);
	ward_status st = ward_image_hash_mem(data, size, WARD_IMAGE_DIHEDRAL, &ih, &d);
	if (st != WARD_OK && d.message[0] == '\0' && st != WARD_ENOMEM)
		__builtin_trap(); /* every refusal says why */
	if (st == WARD_OK && (ih.quality < 0 || ih.quality > 100 || ih.width == 0))
		__builtin_trap();
	return 0;
}
