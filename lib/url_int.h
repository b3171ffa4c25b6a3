/* url_int.h: what the web filter's files share inside libward. */
#ifndef WARD_URL_INT_H
#define WARD_URL_INT_H

#include <stddef.h>
#include <stdint.h>

/* A fast 64-bit hash of n bytes (never 0: 0 marks an empty slot in the index). */
uint64_t url_hash(const void *p, size_t n, uint64_t seed);

/* Canonicalises the host h (n bytes, perhaps escaped, any case, IDN) into out (cap bytes,
 * NUL-terminated).  Returns its length, or 0 when h is not a valid host; *is_ip gets 4 or 6
 * for an address, else 0. */
size_t url_canon_host(const char *h, size_t n, char *out, size_t cap, int *is_ip);

#endif
