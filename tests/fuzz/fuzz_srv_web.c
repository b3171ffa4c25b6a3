/* fuzz_srv_web.c: what the web module reads from a request before answering: the
 * If-None-Match header (matched against a file's ETag) and the path of a link from an email
 * (/concerns/{id}, /alerts/{id}).  Both are untrusted.  The input's first byte picks which;
 * the rest is the header or the path. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* web.c is linked into the server objects too: its two public names are renamed here. */
#define srv_module_web fuzz_srv_module_web
#define srv_web_page   fuzz_srv_web_page
#include "../../server/web.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char etag[] = "\"0123456789abcdef0123456789abcdef\"";
	char *s;
	if (size == 0 || size > 8192)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] & 1) {
		int hit = etag_matches(s, etag);
		/* a match means the ETag, or *, is in the header */
		assert(!hit || strstr(s, etag) || strcmp(s, "*") == 0);
	} else if (deep_link(s)) {
		const char *d = strchr(s + 1, '/') + 1;
		assert(strncmp(s, "/concerns/", 10) == 0 || strncmp(s, "/alerts/", 8) == 0);
		assert(*d && strspn(d, "0123456789") == strlen(d) && strlen(d) <= 15);
	}
	free(s);
	return 0;
}
