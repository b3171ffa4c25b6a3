/* DNS query log lines for `ward ingest` (cli/ingest_dns.c; fuzzed by tests/fuzz/fuzz_dnslog.c). */
#ifndef WARD_CLI_INGEST_DNS_H
#define WARD_CLI_INGEST_DNS_H
#include <stddef.h>

typedef struct dnslog_entry {
	const char *name, *client; /* point into the line */
	size_t name_len, client_len;
} dnslog_entry;

/* dnsmasq "... query[A] NAME from ADDR" or Unbound "... info: ADDR NAME A IN" (any query
 * type).  Returns 0 and fills e, or -1 when the line is not a query. */
int dnslog_parse(const char *line, size_t len, dnslog_entry *e);
#endif
