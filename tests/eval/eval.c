/*
 * eval.c: the evaluation harness of the conversation model.
 *
 * usage: eval RULES DIR_OF_GROOMING DIR_OF_NEGATIVES [-v]
 *
 * Scans every chat export in both directories, whole-file and message by message (the two
 * must agree), and prints one line per file then the figures: recall and the flag rate of
 * hard negatives at level medium or above, precision, and the median message index at which
 * a grooming conversation was first flagged at medium.  Exit status 0; the suite checks the
 * figures against its levels.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ward/ward.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (n + 65536 > cap) {
			cap = cap ? cap * 2 : 1 << 20;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	fclose(f);
	*len = n;
	return buf;
}

typedef struct result {
	int level;          /* highest level of any alert */
	long first_medium;  /* message index where medium was first reached, or -1 */
	int mismatch;       /* incremental and whole-file disagree */
	char sender[64];
	char area[32];
	double score;
	unsigned stages;
} result;

static int same_alerts(const ward_conv *a, const ward_conv *b)
{
	if (ward_conv_alert_count(a) != ward_conv_alert_count(b))
		return 0;
	for (size_t i = 0; i < ward_conv_alert_count(a); i++) {
		const ward_conv_alert *x = ward_conv_alert_get(a, i), *y = ward_conv_alert_get(b, i);
		if (x->level != y->level || x->first_message != y->first_message ||
		    x->score != y->score || x->stages != y->stages || x->area != y->area ||
		    strcmp(x->sender, y->sender) != 0 || x->nevidence != y->nevidence ||
		    memcmp(x->level_message, y->level_message, sizeof x->level_message) != 0)
			return 0;
	}
	return 1;
}

static int eval_file(const ward_engine *e, const char *path, result *r)
{
	size_t len = 0;
	char *buf = slurp(path, &len);
	ward_conv *whole = NULL, *inc = NULL;
	ward_chat_reader *rd = NULL;
	ward_chat_message m;
	ward_diag d;
	int rc = -1;
	memset(r, 0, sizeof *r);
	r->first_medium = -1;
	if (!buf)
		goto done;
	if (ward_conv_scan_chat(e, NULL, buf, len, WARD_CHAT_AUTO, NULL, NULL, &whole, NULL, &d) !=
	    WARD_OK) {
		fprintf(stderr, "%s: %s\n", path, d.message);
		goto done;
	}
	/* the same, message by message, noting when each alert was raised */
	if (ward_chat_reader_new(buf, len, WARD_CHAT_AUTO, &rd, &d) != WARD_OK ||
	    ward_conv_new(e, NULL, &inc) != WARD_OK)
		goto done;
	while (ward_chat_next(rd, &m) == WARD_OK) {
		const ward_conv_alert *raised = NULL;
		if (ward_conv_add_message(inc, &m, NULL, NULL, &raised) != WARD_OK)
			goto done;
		if (raised && raised->level >= WARD_LEVEL_MEDIUM && r->first_medium < 0)
			r->first_medium = (long)m.index;
	}
	r->mismatch = !same_alerts(whole, inc);
	for (size_t i = 0; i < ward_conv_alert_count(whole); i++) {
		const ward_conv_alert *a = ward_conv_alert_get(whole, i);
		if ((int)a->level > r->level || ((int)a->level == r->level && a->score > r->score)) {
			r->level = (int)a->level;
			r->score = a->score;
			r->stages = a->stages;
			snprintf(r->sender, sizeof r->sender, "%s", a->sender);
			snprintf(r->area, sizeof r->area, "%s", ward_area_get(a->area)->id);
		}
	}
	rc = 0;
done:
	ward_chat_reader_free(rd);
	ward_conv_free(whole);
	ward_conv_free(inc);
	free(buf);
	return rc;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static int stage_list(unsigned stages, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (int s = 0; s < WARD_STAGE_COUNT; s++)
		if (stages & (1u << s))
			o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s", o ? "," : "",
			                      ward_stage_name((ward_stage)s));
	return (int)o;
}

static int run_dir(const ward_engine *e, const char *dir, int positive, int verbose, int *n,
                   int *flagged, int *low, long *firsts, int *nfirst, int *mismatches, int *errors)
{
	struct dirent **ents = NULL;
	int k = scandir(dir, &ents, NULL, alphasort);
	if (k < 0) {
		perror(dir);
		return -1;
	}
	for (int i = 0; i < k; i++) {
		char path[4096], st[512];
		result r;
		if (ents[i]->d_name[0] == '.') {
			free(ents[i]);
			continue;
		}
		snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
		free(ents[i]);
		if (eval_file(e, path, &r) != 0) {
			(*errors)++;
			printf("error %s\n", path);
			continue;
		}
		(*n)++;
		*flagged += r.level >= WARD_LEVEL_MEDIUM;
		*low += r.level >= WARD_LEVEL_LOW;
		*mismatches += r.mismatch;
		if (positive && r.first_medium >= 0)
			firsts[(*nfirst)++] = r.first_medium;
		stage_list(r.stages, st, sizeof st);
		if (verbose || (positive && r.level < WARD_LEVEL_MEDIUM) ||
		    (!positive && r.level >= WARD_LEVEL_MEDIUM) || r.mismatch)
			printf("%s %s level=%s score=%.2f first_medium=%ld sender=%s area=%s stages=%s%s\n",
			       positive ? "pos" : "neg", path,
			       ward_conv_level_name((ward_conv_level)r.level), r.score, r.first_medium,
			       r.sender, r.area, st, r.mismatch ? " MISMATCH" : "");
	}
	free(ents);
	return 0;
}

int main(int argc, char **argv)
{
	ward_engine *e = NULL;
	ward_diag d;
	int verbose = argc > 4 && strcmp(argv[4], "-v") == 0;
	int np = 0, tp = 0, plow = 0, nn = 0, fp = 0, nlow = 0, nfirst = 0, mism = 0, errs = 0;
	long firsts[4096];
	if (argc < 4) {
		fprintf(stderr, "usage: eval RULES GROOMING_DIR NEGATIVE_DIR [-v]\n");
		return 2;
	}
	if (ward_engine_load(argv[1], WARD_LOAD_NOCACHE, &e, &d) != WARD_OK) {
		fprintf(stderr, "eval: %s:%u: %s\n", d.file, d.line, d.message);
		return 2;
	}
	if (run_dir(e, argv[2], 1, verbose, &np, &tp, &plow, firsts, &nfirst, &mism, &errs) != 0 ||
	    run_dir(e, argv[3], 0, verbose, &nn, &fp, &nlow, firsts, &nfirst, &mism, &errs) != 0) {
		ward_engine_free(e);
		return 2;
	}
	qsort(firsts, (size_t)nfirst, sizeof firsts[0], cmp_long);
	double recall = np ? (double)tp / np : 0, fpr = nn ? (double)fp / nn : 0;
	double precision = tp + fp ? (double)tp / (tp + fp) : 0;
	double median = nfirst ? (nfirst % 2 ? (double)firsts[nfirst / 2]
	                                     : (firsts[nfirst / 2 - 1] + firsts[nfirst / 2]) / 2.0)
	                       : -1;
	printf("grooming %d flagged_medium %d flagged_low %d\n", np, tp, plow);
	printf("negatives %d flagged_medium %d flagged_low %d\n", nn, fp, nlow);
	printf("recall %.3f\n", recall);
	printf("negative_flag_rate %.3f\n", fpr);
	printf("precision %.3f\n", precision);
	printf("median_first_flag %.1f\n", median);
	printf("mismatches %d\n", mism);
	printf("errors %d\n", errs);
	ward_engine_free(e);
	return 0;
}
