/* Fuzzes the hash-list reader: bad lines are reported with a line number and a reason, the
 * rest loads, and every loaded PDQ entry is found again by the index at distance 0 and 31. */
#include <stdint.h>
#include <string.h>

#include <ward/ward.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void warn(const ward_diag *d, void *ctx)
{
	(void)ctx;
	if (d->message[0] == '\0' || d->line == 0)
		__builtin_trap();
}

static int count(const ward_hash_match *m, void *ctx)
{
	(void)m;
	(*(size_t *)ctx)++;
	return 0;
}

static int first_pdq(const ward_hash_match *m, void *ctx)
{
	*(ward_pdq_hash *)ctx = *m->pdq;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ward_hashlist *hl = NULL;
	size_t bad = 0;
	if (ward_hashlist_new(&hl) != WARD_OK)
		return 0;
	ward_hashlist_load_mem(hl, "fuzz", (const char *)data, size, warn, NULL, &bad);
	if (ward_hashlist_count(hl, WARD_HASH_PDQ) > 0) {
		ward_pdq_hash any, zero;
		memset(&zero, 0, sizeof zero);
		/* Distance 256 scans everything: take the first entry, then find it by index. */
		ward_hashlist_query_pdq(hl, &zero, 256, first_pdq, &any);
		size_t n0 = 0, n31 = 0;
		ward_hashlist_query_pdq(hl, &any, 0, count, &n0);
		ward_hashlist_query_pdq(hl, &any, 31, count, &n31);
		if (n0 == 0 || n31 < n0)
			__builtin_trap();
	}
	ward_hashlist_free(hl);
	return 0;
}
