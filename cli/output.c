/* output.c: safe text for terminals and JSON, and the progress bar. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <utf8proc.h>

#include "cli.h"

size_t cli_clean_text(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	if (cap == 0)
		return 0;
	while (i < n && o + 4 < cap) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)in + i,
		                                      (utf8proc_ssize_t)(n - i > 4 ? 4 : n - i), &cp);
		if (k <= 0) {
			/* U+FFFD for an invalid byte */
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 ||
		    cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
			if (o == 0 || out[o - 1] != ' ')
				out[o++] = ' ';
		} else {
			memcpy(out + o, in + i, (size_t)k);
			o += (size_t)k;
		}
		i += (size_t)k;
	}
	out[o] = '\0';
	return o;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_init(cli_progress *p, uint64_t total, int enabled)
{
	memset(p, 0, sizeof *p);
	p->total = total;
	p->enabled = enabled && isatty(STDERR_FILENO) && total >= (16u << 20);
	p->started = now_s();
}

void cli_progress_add(cli_progress *p, uint64_t n)
{
	p->done += n;
	if (!p->enabled)
		return;
	double t = now_s();
	if (t - p->last < 0.25)
		return;
	p->last = t;
	double frac = p->total ? (double)p->done / (double)p->total : 0;
	if (frac > 1)
		frac = 1;
	int w = (int)(frac * 30);
	double rate = (double)p->done / (t - p->started + 1e-9) / 1e6;
	fprintf(stderr, "\r[%.*s%*s] %3d%%  %.0f MB/s ", w, "##############################",
	        30 - w, "", (int)(frac * 100), rate);
	p->shown = 1;
}

void cli_progress_done(cli_progress *p)
{
	if (p->shown)
		fprintf(stderr, "\r%60s\r", "");
	p->shown = 0;
}
