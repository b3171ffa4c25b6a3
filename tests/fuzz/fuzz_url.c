/* Fuzzes URL canonicalisation, search-term extraction and the lookup: never a crash, and the
 * canonical form is a fixed point (canonicalising it again gives it back). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ward/ward.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ward_url u, v;
	if (size > 65536)
		return 0;
	if (ward_url_canonicalise((const char *)data, size, &u) != WARD_OK)
		return 0;
	if (u.host_off + u.host_len > u.len || u.path_off + u.path_len > u.len ||
	    u.text[u.path_off] != '/' || strlen(u.text) != u.len)
		__builtin_trap();
	if (ward_url_canonicalise(u.text, u.len, &v) != WARD_OK || strcmp(u.text, v.text) != 0)
		__builtin_trap();
	ward_url_clear(&v);
	const char *engine;
	char *q = NULL;
	size_t ql;
	if (ward_search_query(&u, &engine, &q, &ql) == WARD_OK && q && strlen(q) > ql)
		__builtin_trap();
	free(q);
	ward_url_result r;
	if (ward_urllists_check(NULL, &u, NULL, NULL, NULL, &r) == WARD_OK)
		ward_url_result_clear(&r);
	ward_url_clear(&u);
	return 0;
}
