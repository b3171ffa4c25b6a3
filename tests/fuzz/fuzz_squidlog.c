/* Fuzzes the Squid native access-log reader: fields point inside the line, never a crash. */
#include <stdint.h>
#include <string.h>

#include <ward/ward.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *base, size_t size, const char *p, size_t n)
{
	if (p && (p < base || p + n > base + size))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ward_squid_entry e;
	const char *s = (const char *)data;
	if (ward_squid_parse(s, size, &e) == WARD_OK) {
		inside(s, size, e.client, e.client_len);
		inside(s, size, e.code, e.code_len);
		inside(s, size, e.method, e.method_len);
		inside(s, size, e.url, e.url_len);
		ward_url u;
		if (ward_url_canonicalise(e.url, e.url_len, &u) == WARD_OK)
			ward_url_clear(&u);
	}
	return 0;
}
