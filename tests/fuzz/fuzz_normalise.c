/* Fuzzes the normaliser: no crash, the map is monotonic and in range, and the ASCII fast
 * path, at its widest on this CPU (ward_normalise), no wider than 32 and 16 bytes at a time,
 * and a byte at a time, gives the same bytes and map as the general path alone. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ward/ward.h>

#include "text_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL;
	size_t n = 0;
	uint32_t *map = NULL;
	if (ward_normalise((const char *)data, size, &out, &n, &map) != WARD_OK)
		return 0;
	if (out[0] != ' ' || out[n - 1] != ' ' || map[n] != size)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (map[i] > size || (i > 0 && map[i] < map[i - 1]))
			abort();
		if (out[i] == ' ' && i > 0 && out[i - 1] == ' ')
			abort(); /* never two spaces */
		if (out[i] >= 'A' && out[i] <= 'Z')
			abort(); /* never upper case */
	}
	static const unsigned ways[] = {NORM_NO_FAST, NORM_NO_AVX512, NORM_NO_AVX512 | NORM_NO_AVX2,
	                                NORM_NO_SIMD};
	for (size_t k = 0; k < sizeof ways / sizeof *ways; k++) {
		norm_buf other;
		memset(&other, 0, sizeof other);
		if (norm_run_opts(&other, (const char *)data, size, ways[k]) != WARD_OK ||
		    other.len != n || memcmp(other.out, out, n + 1) != 0 ||
		    memcmp(other.map, map, (n + 1) * sizeof *map) != 0)
			abort(); /* the general path or a narrower fast path differs */
		norm_buf_free(&other);
	}
	free(out);
	free(map);
	return 0;
}
