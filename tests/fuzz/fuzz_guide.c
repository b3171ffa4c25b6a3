/* Fuzzes the guidance reader: errors say where, never a crash. */
#include <stdint.h>

#include <ward/ward.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ward_guide *g = NULL;
	ward_diag d;
	ward_status st = ward_guide_load_string((const char *)data, size, "fuzz", &g, &d);
	if (st == WARD_OK) {
		for (size_t i = 0; i < ward_guide_item_count(g); i++)
			if (!ward_guide_item_at(g, i)->text || !ward_guide_item_at(g, i)->source)
				__builtin_trap();
		ward_guide_free(g);
	} else if (st == WARD_ESYNTAX && d.message[0] == '\0') {
		__builtin_trap();
	}
	return 0;
}
