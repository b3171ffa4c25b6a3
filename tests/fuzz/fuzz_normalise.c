/* Fuzzes the normaliser: no crash, and the map is monotonic and in range. */
#include <stdint.h>
#include <stdlib.h>

#include <ward/ward.h>

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
	free(out);
	free(map);
	return 0;
}
