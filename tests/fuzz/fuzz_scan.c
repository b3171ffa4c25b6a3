/* Fuzzes the scanner with a fixed rule set: offsets stay inside the input, a stream in
 * two pieces finds what one scan finds, and the direct matcher of the small literal
 * databases finds what Vectorscan finds in them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ward/ward.h>

#include "text_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char RULES[] =
	"rule g.a\n area grooming\n severity medium\n description a\n"
	" phrase dont tell anyone | our secret | photo* of you\n unless surprise\nend\n"
	"rule g.b\n area grooming, exploitation\n severity high\n description b\n"
	" all 5: meet | see you | u | ok*; alone | secret\n unless p | xy* | dont tell\nend\n"
	"rule g.c\n area adult-content\n severity low\n description c\n regex \\bhow old (r|are) (u|you)\\b\nend\n";

static ward_engine *engine;
static ward_scanner *scanner, *vs; /* vs: Vectorscan for every database */

typedef struct acc {
	size_t size, n;
	uint64_t sum;
} acc;

static int on_f(const ward_finding *f, void *ctx)
{
	acc *a = ctx;
	if (f->start > f->end || f->end > a->size || f->excerpt_match > f->excerpt_len)
		abort();
	a->n++;
	a->sum += f->start * 31 + f->end;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!engine) {
		if (ward_engine_load_string(RULES, sizeof RULES - 1, "fuzz", WARD_LOAD_NOCACHE,
		                            &engine, NULL) != WARD_OK ||
		    ward_scanner_new(engine, &scanner) != WARD_OK ||
		    ward_scanner_new(engine, &vs) != WARD_OK)
			abort();
		scanner_set_direct(vs, false);
	}
	acc whole = {size, 0, 0}, parts = {size, 0, 0};
	acc ref = {size, 0, 0};
	if (ward_scan(scanner, (const char *)data, size, on_f, &whole) != WARD_OK ||
	    ward_scan(vs, (const char *)data, size, on_f, &ref) != WARD_OK)
		abort();
	if (whole.n != ref.n || whole.sum != ref.sum)
		abort();
	size_t cut = size ? data[0] % (size + 1) : 0;
	/* a cut inside a word may split a phrase; compare only when cut at a newline */
	while (cut < size && data[cut] != '\n')
		cut++;
	if (ward_stream_begin(scanner, on_f, &parts) != WARD_OK ||
	    ward_stream_write(scanner, (const char *)data, cut) != WARD_OK ||
	    ward_stream_write(scanner, (const char *)data + cut, size - cut) != WARD_OK ||
	    ward_stream_end(scanner) != WARD_OK)
		abort();
	if (whole.n != parts.n || whole.sum != parts.sum)
		abort();
	return 0;
}
