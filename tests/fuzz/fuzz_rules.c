/* Fuzzes the rule reader and compiler: errors are reported, never a crash. */
#include <stdint.h>
#include <string.h>

#include <ward/ward.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ward_engine *e = NULL;
	ward_diag d;
	if (size > 16384)
		return 0;
	ward_status st = ward_engine_load_string((const char *)data, size, "fuzz.rules",
	                                         WARD_LOAD_NOCACHE, &e, &d);
	if (st == WARD_OK) {
		size_t failed, total;
		ward_engine_test_examples(e, NULL, NULL, &failed, &total);
		ward_engine_free(e);
	} else if (st != WARD_ENOMEM && d.message[0] == '\0') {
		__builtin_trap(); /* every refusal says why */
	}
	return 0;
}
