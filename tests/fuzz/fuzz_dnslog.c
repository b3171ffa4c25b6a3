/* libFuzzer harness for the DNS query log readers of `ward ingest` (dnsmasq and Unbound). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../cli/ingest_dns.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so reading past the line shows as an error. */
	char *line = malloc(size ? size : 1);
	dnslog_entry e;
	if (!line)
		return 0;
	if (size)
		memcpy(line, data, size);
	if (dnslog_parse(line, size, &e) == 0) {
		/* The fields lie inside the line and the name is never empty. */
		if (!e.name_len || e.name < line || e.name + e.name_len > line + size ||
		    e.client < line || e.client + e.client_len > line + size)
			abort();
	}
	free(line);
	return 0;
}
