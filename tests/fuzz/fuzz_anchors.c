/* Fuzzes the counting of all-of terms in a sample (ward_engine_anchors, ward rules anchors):
 * no crash, every byte read, each suggestion the rarest term.  The input is the sample, read
 * through a memory file.
 *
 * Every term is searched for everywhere, so the counts must not depend on which term each
 * combination anchors on: this is checked too.  It found a miss in Debian's Vectorscan 5.4.9
 * (some literal matches a few tens of bytes before the end of the buffer scanned are not
 * reported; which database a term is in depends on the anchor), which libward now works
 * around by scanning past every span it asks about (engine.c, SCAN_PAD). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ward/ward.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same combinations twice: first as the engine anchors them, then on other terms.
 * Literals, a prefix word at the end and a prefix word inside a phrase (a regex). */
static const char RULES_A[] = "rule g.a\n area grooming\n severity low\n description d\n"
                              " all 5: meet* | see you; alone | our secret; tonight\nend\n"
                              "rule g.b\n area grooming\n severity low\n description d\n"
                              " all 3: send* pic* | photo* of you; please | now\nend\n"
                              "rule g.c\n area grooming\n severity low\n description d\n"
                              " all 8: he | she; looks at | watches; pictures of children\nend\n";
static const char RULES_B[] =
    "rule g.a\n area grooming\n severity low\n description d\n"
    " all 5 anchor 1: meet* | see you; alone | our secret; tonight\nend\n"
    "rule g.b\n area grooming\n severity low\n description d\n"
    " all 3 anchor 2: send* pic* | photo* of you; please | now\nend\n"
    "rule g.c\n area grooming\n severity low\n description d\n"
    " all 8 anchor 1: he | she; looks at | watches; pictures of children\nend\n";

static ward_engine *ea, *eb;
static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ward_anchor *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	uint64_t bytes = 0;
	ward_diag d;
	if (!ea) {
		if (ward_engine_load_string(RULES_A, sizeof RULES_A - 1, "a", WARD_LOAD_NOCACHE,
		                            &ea, NULL) != WARD_OK ||
		    ward_engine_load_string(RULES_B, sizeof RULES_B - 1, "b", WARD_LOAD_NOCACHE,
		                            &eb, NULL) != WARD_OK ||
		    (fd = memfd_create("sample", MFD_CLOEXEC)) < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	const char *paths[] = {path};
	if (ward_engine_anchors(ea, paths, 1, &a, &na, &bytes, &d) != WARD_OK || bytes != size ||
	    ward_engine_anchors(eb, paths, 1, &b, &nb, NULL, &d) != WARD_OK || na != 3 || nb != 3)
		abort();
	for (size_t c = 0; c < na; c++) {
		if (a[c].nterms != b[c].nterms || a[c].current == b[c].current || !b[c].named ||
		    a[c].suggested < 1 || a[c].suggested > a[c].nterms)
			abort();
		for (unsigned t = 0; t < a[c].nterms; t++)
			if (a[c].terms[t].hits != b[c].terms[t].hits)
				abort(); /* a count that depends on the anchor */
		for (unsigned t = 0; t < a[c].nterms; t++)
			if (a[c].terms[t].hits < a[c].terms[a[c].suggested - 1].hits ||
			    b[c].terms[t].hits < b[c].terms[b[c].suggested - 1].hits)
				abort(); /* a suggestion that is not the rarest */
	}
	free(a);
	free(b);
	return 0;
}
