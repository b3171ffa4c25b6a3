/* cmd_scan.c: `ward scan`, text from files, directories and standard input, and with
 * --hash-list, images against hash lists.  An image is hashed in memory (lib/image.c) and
 * its bytes are dropped: nothing of it is written anywhere but the finding. */
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define READ_CHUNK ((size_t)1 << 20)
#define MAX_HASH_LISTS 64
#define MAX_THREADS 64
#define DEFAULT_THREADS 8 /* each thread: 8 MB of the file (two rounds) and a scanner */
#define PAR_MIN ((uint64_t)16 << 20)  /* files this large are scanned by several threads */
#define PAR_SEG ((size_t)2 << 20)     /* bytes of a segment, scanned by one thread */
#define PAR_SEGS 2                    /* segments per thread in a round */
#define PAR_CTX ((size_t)4096)        /* bytes of context before a segment, and after it */

enum { CONV_AUTO = 0, CONV_FORCE, CONV_OFF };

typedef struct scan_opts {
	int json, quiet, progress;
	int conv;            /* CONV_*: chat exports through the conversation model */
	ward_chat_format format;
	int min_level;       /* conversation alerts below this level are not shown */
	int min_sev;
	uint32_t areas;      /* bit per area to report; 0 = all */
	const char *rules;
	unsigned load_flags;
	const char *hash_lists[MAX_HASH_LISTS]; /* --hash-list, in order */
	int nhash_lists;
	int threads;         /* for large files; 1: read and scan as a stream */
} scan_opts;

typedef struct scan_run {
	const scan_opts *o;
	ward_engine *e;
	ward_scanner *sc;
	const char *file;    /* name being scanned, as given */
	uint64_t findings;   /* findings reported */
	uint64_t files;      /* files scanned */
	uint32_t seen;       /* areas found */
	uint64_t conv_found; /* chat exports with findings or alerts */
	int errors;
	cli_progress prog;
	char *buf;           /* READ_CHUNK bytes */
	ward_hashlist *hl;   /* --hash-list lists, or NULL: images are then read as text */
	ward_scanner *par[MAX_THREADS]; /* one scanner per thread, made on first use */
} scan_run;

static int on_finding(const ward_finding *f, void *ctx)
{
	scan_run *r = ctx;
	const ward_rule_info *ri = f->rule;
	char ex[4 * WARD_EXCERPT_MAX + 8], match[4 * WARD_EXCERPT_MAX + 8];
	if ((int)ri->severity < r->o->min_sev || (r->o->areas && !(ri->areas & r->o->areas)))
		return 0;
	r->findings++;
	r->seen |= ri->areas;
	if (r->o->quiet)
		return 0;
	size_t mlen = f->excerpt_len - f->excerpt_match;
	if (f->end - f->start < mlen)
		mlen = (size_t)(f->end - f->start);
	cli_clean_text(f->excerpt, f->excerpt_len, ex, sizeof ex);
	cli_clean_text(f->excerpt + f->excerpt_match, mlen, match, sizeof match);
	if (r->o->json) {
		json_t *areas = json_array();
		for (int a = 0; a < WARD_AREA_COUNT; a++)
			if (ri->areas & (1u << a))
				json_array_append_new(areas, json_string(ward_area_get((ward_area)a)->id));
		json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:s, s:o, s:s, s:s, s:f, s:s, s:s, s:s}",
		                      "file", r->file, "line", (json_int_t)f->line, "start",
		                      (json_int_t)f->start, "end", (json_int_t)f->end, "area",
		                      ward_area_get(ri->area)->id, "areas", areas, "rule", ri->id,
		                      "severity", ward_severity_name(ri->severity), "weight",
		                      ri->weight, "description", ri->description, "excerpt", ex,
		                      "match", match);
		if (o && ri->stage)
			json_object_set_new(o, "stage", json_string(ri->stage));
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (s)
			puts(s);
		free(s);
		json_decref(o);
	} else {
		cli_progress_done(&r->prog);
		printf("%s:%llu:%llu-%llu: %s %s %s\n    %s\n    > %s\n", r->file,
		       (unsigned long long)f->line, (unsigned long long)f->start,
		       (unsigned long long)f->end, ward_severity_name(ri->severity),
		       ward_area_get(ri->area)->id, ri->id, ri->description, ex);
	}
	return 0;
}

static int scan_fd(scan_run *r, int fd, const char *name)
{
	ward_status st;
	r->file = name;
	if ((st = ward_stream_begin(r->sc, on_finding, r)) != WARD_OK)
		goto fail;
	for (;;) {
		ssize_t k = read(fd, r->buf, READ_CHUNK);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			cli_progress_done(&r->prog);
			cli_error("%s: %s", name, strerror(errno));
			ward_stream_end(r->sc);
			r->errors++;
			return -1;
		}
		if (k == 0)
			break;
		cli_progress_add(&r->prog, (uint64_t)k);
		if ((st = ward_stream_write(r->sc, r->buf, (size_t)k)) != WARD_OK) {
			ward_stream_end(r->sc);
			goto fail;
		}
	}
	if ((st = ward_stream_end(r->sc)) != WARD_OK)
		goto fail;
	r->files++;
	return 0;
fail:
	cli_progress_done(&r->prog);
	cli_error("%s: %s", name, ward_strerror(st));
	r->errors++;
	return -1;
}

/* ---- large files, several threads ----
 * A large regular file is read a round at a time (PAR_SEGS segments per thread) and cut into
 * segments at line ends; a thread scans a segment with some context before it, as the engine
 * scans its own blocks, and after it (so that a finding near its end has the excerpt it would
 * have in one scan), and keeps the findings that end inside the segment.  Findings are
 * printed a round at a time in the order of the segments, so the output reads as a
 * single-threaded scan's. */

typedef struct par_finding {
	const ward_rule_info *rule;
	uint64_t start, end, line; /* offsets in the round's buffer; line from the context's */
	size_t ex_off, ex_len, ex_match; /* excerpt: offset in the buffer, or in ex_copy */
	char *ex_copy;             /* when the engine's excerpt was not in the buffer */
} par_finding;

typedef struct par_round par_round;

typedef struct par_seg {
	par_round *round;
	const char *buf;         /* the round's buffer */
	size_t ctx, from, to;    /* keep the findings ending in (from, to] */
	size_t tail;             /* scan buf[ctx, tail) */
	uint64_t nl_ctx, nl_seg; /* newlines in [ctx, from) and [from, to) */
	par_finding *f;          /* grown as needed, kept from round to round */
	size_t nf, capf;
	ward_status st;
	int oom;
} par_seg;

/* One of the two buffers: a round read from the file and cut into segments. */
struct par_round {
	char *buf;         /* cap bytes, owned */
	size_t len;        /* bytes in buf */
	size_t start, end; /* the segments cover buf[start, end); before start is context */
	uint64_t base;     /* offset in the file of buf[0] */
	par_seg seg[MAX_THREADS * PAR_SEGS];
	int nseg;
	int pending; /* segments not yet scanned (under the pool's lock) */
};

/* The segments waiting for a thread, oldest round first, and the threads' rendezvous. */
typedef struct par_pool {
	pthread_mutex_t mu;
	pthread_cond_t work, done; /* a segment was queued or the pool stops; a round was done */
	par_round *q[2];           /* rounds with segments not yet taken, oldest first */
	int nq, next;              /* next: the first untaken segment of q[0] */
	int stop;
	ward_scanner *sc[MAX_THREADS];
} par_pool;

typedef struct par_worker {
	par_pool *pool;
	ward_scanner *sc;
} par_worker;

static int par_collect(const ward_finding *f, void *ctx)
{
	par_seg *g = ctx;
	uint64_t start = g->ctx + f->start, end = g->ctx + f->end;
	if ((g->ctx < g->from && end <= g->from) || end > g->to)
		return 0; /* the previous segment reports it, or the next */
	if (g->nf == g->capf) {
		size_t nc = g->capf ? g->capf * 2 : 256;
		par_finding *nf = realloc(g->f, nc * sizeof *nf);
		if (!nf) {
			g->oom = 1;
			return 1;
		}
		g->f = nf;
		g->capf = nc;
	}
	par_finding *p = &g->f[g->nf];
	memset(p, 0, sizeof *p);
	p->rule = f->rule;
	p->start = start;
	p->end = end;
	p->line = f->line;
	p->ex_len = f->excerpt_len;
	p->ex_match = f->excerpt_match;
	if (f->excerpt >= g->buf + g->ctx && f->excerpt + f->excerpt_len <= g->buf + g->tail) {
		p->ex_off = (size_t)(f->excerpt - g->buf);
	} else {
		/* the excerpt is only valid during this call: keep a copy */
		if (!(p->ex_copy = malloc(f->excerpt_len ? f->excerpt_len : 1))) {
			g->oom = 1;
			return 1;
		}
		memcpy(p->ex_copy, f->excerpt, f->excerpt_len);
	}
	g->nf++;
	return 0;
}

/* Newlines in p[0, n).  On x86-64, sixteen bytes at a time with SSE2 (part of the
 * architecture): the compare's -1s are subtracted into byte counters, summed every 255
 * rounds before they can wrap.  Elsewhere memchr, which the C library tunes. */
static uint64_t count_lines(const char *p, size_t n)
{
	uint64_t c = 0;
	size_t i = 0;
#if defined(__x86_64__) && defined(__SSE2__)
	const __m128i nl = _mm_set1_epi8('\n');
	while (i + 16 <= n) {
		__m128i acc = _mm_setzero_si128();
		for (int k = 0; k < 255 && i + 16 <= n; k++, i += 16)
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), nl));
		__m128i sum = _mm_sad_epu8(acc, _mm_setzero_si128());
		c += (uint64_t)_mm_cvtsi128_si64(sum) + (uint64_t)_mm_extract_epi16(sum, 4);
	}
#endif
	const char *q = p + i, *end = p + n;
	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		c++;
		q++;
	}
	return c;
}

static void par_run(par_seg *g, ward_scanner *sc)
{
	g->nl_ctx = count_lines(g->buf + g->ctx, g->from - g->ctx);
	g->nl_seg = count_lines(g->buf + g->from, g->to - g->from);
	g->st = ward_scan(sc, g->buf + g->ctx, g->tail - g->ctx, par_collect, g);
}

/* The next queued segment, or NULL when none is; with the pool's lock held. */
static par_seg *par_take(par_pool *p)
{
	if (p->nq == 0)
		return NULL;
	par_seg *g = &p->q[0]->seg[p->next++];
	if (p->next == p->q[0]->nseg) {
		p->q[0] = p->q[1];
		p->nq--;
		p->next = 0;
	}
	return g;
}

/* Scans segments, one round after another, until the pool stops. */
static void *par_work(void *arg)
{
	par_worker *w = arg;
	par_pool *p = w->pool;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		par_seg *g = par_take(p);
		if (!g) {
			if (p->stop)
				break;
			pthread_cond_wait(&p->work, &p->mu);
			continue;
		}
		pthread_mutex_unlock(&p->mu);
		par_run(g, w->sc);
		pthread_mutex_lock(&p->mu);
		if (--g->round->pending == 0)
			pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Queues round rd's segments for the threads. */
static void par_publish(par_pool *p, par_round *rd)
{
	pthread_mutex_lock(&p->mu);
	rd->pending = rd->nseg;
	p->q[p->nq++] = rd;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
}

/* Returns when every segment of round rd is scanned.  With no thread running (none could be
 * started), this thread scans the queued segments itself, oldest first, which are rd's. */
static void par_wait(par_pool *p, par_round *rd, int nworkers)
{
	pthread_mutex_lock(&p->mu);
	while (rd->pending > 0) {
		par_seg *g = nworkers == 0 ? par_take(p) : NULL;
		if (g) {
			pthread_mutex_unlock(&p->mu);
			par_run(g, p->sc[0]);
			pthread_mutex_lock(&p->mu);
			g->round->pending--;
		} else {
			pthread_cond_wait(&p->done, &p->mu);
		}
	}
	pthread_mutex_unlock(&p->mu);
}

/* Where a segment of buf[lo..n) ending near want (<= n) ends: just past a newline at or
 * before want, else past a space, else at want (on a UTF-8 character boundary). */
static size_t par_cut(const char *buf, size_t lo, size_t n, size_t want)
{
	for (size_t i = want; i > lo && i + 65536 > want; i--)
		if (buf[i - 1] == '\n')
			return i;
	for (size_t i = want; i > lo && i + 4096 > want; i--)
		if (buf[i - 1] == ' ' || buf[i - 1] == '\t')
			return i;
	while (want < n && want > lo + 1 && ((unsigned char)buf[want] & 0xC0) == 0x80)
		want--;
	return want;
}

/* Where the context of a segment starting at from begins: about PAR_CTX bytes before it,
 * just past a newline or space (0 when from is that close to the buffer's start). */
static size_t par_ctx(const char *buf, size_t from)
{
	if (from <= PAR_CTX)
		return 0;
	for (size_t i = from - PAR_CTX; i < from; i++)
		if (buf[i] == '\n' || buf[i] == ' ' || buf[i] == '\t')
			return i + 1;
	return from;
}

/* Fills round rd: what prev left unscanned, with its context, then the file up to cap bytes
 * or its end (*eof), and cuts it into at most nseg segments.  Returns 0, or an errno. */
static int par_fill(par_round *rd, const par_round *prev, int fd, size_t cap, int nseg, int *eof)
{
	rd->len = rd->start = 0;
	rd->base = 0;
	rd->nseg = 0;
	if (prev) {
		size_t keep = par_ctx(prev->buf, prev->end);
		memcpy(rd->buf, prev->buf + keep, prev->len - keep);
		rd->base = prev->base + keep;
		rd->len = prev->len - keep;
		rd->start = prev->end - keep;
	}
	while (!*eof && rd->len < cap) {
		ssize_t k = read(fd, rd->buf + rd->len, cap - rd->len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno;
		if (k == 0)
			*eof = 1;
		else
			rd->len += (size_t)k;
	}
	/* the segments from start; the last ends at the data's end only at EOF, and before it
	 * they leave PAR_CTX bytes after them, to be scanned as context */
	size_t pos = rd->start, limit = *eof ? rd->len : rd->len - PAR_CTX;
	for (; rd->nseg < nseg && pos < limit; rd->nseg++) {
		par_seg *g = &rd->seg[rd->nseg];
		g->round = rd;
		g->buf = rd->buf;
		g->from = pos;
		g->to = *eof && rd->len - pos <= PAR_SEG
		            ? rd->len
		            : par_cut(rd->buf, pos, rd->len,
		                      pos + PAR_SEG < limit ? pos + PAR_SEG : limit);
		g->tail = rd->len - g->to < PAR_CTX ? rd->len : g->to + PAR_CTX;
		g->ctx = rd->base == 0 && pos == 0 ? 0 : par_ctx(rd->buf, pos);
		g->nf = 0;
		g->oom = 0;
		g->st = WARD_OK;
		pos = g->to;
	}
	rd->end = pos;
	return 0;
}

/* Prints round rd's findings in order (while *st is WARD_OK; the first failure goes to *st),
 * advancing *line, the line of rd->buf[rd->start], past the round; frees the excerpt copies. */
static void par_print(scan_run *r, par_round *rd, uint64_t *line, ward_status *st)
{
	for (int k = 0; k < rd->nseg; k++) {
		par_seg *g = &rd->seg[k];
		if (g->oom)
			*st = WARD_ENOMEM;
		else if (g->st != WARD_OK && *st == WARD_OK)
			*st = g->st;
		/* the context's first line: the segment's, less the context's newlines */
		uint64_t line0 = *line - g->nl_ctx;
		for (size_t i = 0; i < g->nf; i++) {
			par_finding *p = &g->f[i];
			ward_finding f = {p->rule,
			                  rd->base + p->start,
			                  rd->base + p->end,
			                  line0 + p->line - 1,
			                  p->ex_copy ? p->ex_copy : rd->buf + p->ex_off,
			                  p->ex_len,
			                  p->ex_match};
			if (*st == WARD_OK)
				on_finding(&f, r);
			free(p->ex_copy);
		}
		g->nf = 0;
		*line += g->nl_seg;
		cli_progress_add(&r->prog, g->to - g->from);
	}
}

/* Scans the regular file fd with r->o->threads threads.  Returns 0 when done (errors
 * reported), 1 when it could not start (the caller streams the file instead).
 *
 * Two rounds are in flight so that no core waits on this thread: the threads scan round k's
 * segments, taking them from a queue one at a time (a slow segment holds up only its own
 * thread), while this thread reads round k+1 into the other buffer, cuts it and queues it
 * behind round k's; then it waits for round k, prints its findings in file order, and reads
 * round k+2 into round k's buffer.  A thread that finishes round k's last segments goes on
 * to round k+1's.  This thread scans nothing itself unless no thread could be started.
 * Segments are small (2 MB, two per thread in a round) so that the threads end the file
 * together.  Memory: two buffers of threads x 4 MB + PAR_CTX bytes, and the findings of two
 * rounds.  A read error stops the scan after the rounds before it are printed; the file is
 * read until read() says it ends, whatever fstat said (it may have shrunk or grown). */
static int scan_parallel(scan_run *r, int fd, const char *name)
{
	int nt = r->o->threads, nworkers = 0, eof = 0, err = 0, status = 1;
	size_t cap = (size_t)nt * PAR_SEGS * PAR_SEG + PAR_CTX;
	uint64_t line = 1; /* line of the next round's first segment */
	ward_status st = WARD_OK;
	par_round *rd = calloc(2, sizeof *rd);
	par_pool pool;
	par_worker w[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	memset(&pool, 0, sizeof pool);
	if (!rd || !(rd[0].buf = malloc(cap)) || !(rd[1].buf = malloc(cap)))
		goto done;
	for (int k = 0; k < nt; k++) {
		if (!r->par[k] && ward_scanner_new(r->e, &r->par[k]) != WARD_OK)
			goto done;
		pool.sc[k] = r->par[k];
	}
	status = 0;
	pthread_mutex_init(&pool.mu, NULL);
	pthread_cond_init(&pool.work, NULL);
	pthread_cond_init(&pool.done, NULL);
	for (int k = 0; k < nt; k++) {
		w[nworkers] = (par_worker){&pool, pool.sc[k]};
		if (pthread_create(&tid[nworkers], NULL, par_work, &w[nworkers]) != 0)
			break; /* fewer threads; with none, par_wait scans on this one */
		nworkers++;
	}
	r->file = name;
	par_round *cur = &rd[0], *next = &rd[1];
	if ((err = par_fill(cur, NULL, fd, cap, nt * PAR_SEGS, &eof)) == 0 && cur->nseg > 0) {
		par_publish(&pool, cur);
		for (;;) {
			/* read and queue the next round while this one is scanned */
			int more = 0;
			if ((err = par_fill(next, cur, fd, cap, nt * PAR_SEGS, &eof)) == 0 &&
			    next->nseg > 0) {
				par_publish(&pool, next);
				more = 1;
			}
			par_wait(&pool, cur, nworkers);
			par_print(r, cur, &line, &st);
			if (more && (err || st != WARD_OK)) {
				par_wait(&pool, next, nworkers); /* scanned for nothing: drop it */
				ward_status ignore = WARD_EINVAL;
				par_print(r, next, &line, &ignore);
			}
			if (!more || err || st != WARD_OK)
				break;
			par_round *t = cur;
			cur = next;
			next = t;
		}
	}
	pthread_mutex_lock(&pool.mu);
	pool.stop = 1;
	pthread_cond_broadcast(&pool.work);
	pthread_mutex_unlock(&pool.mu);
	for (int k = 0; k < nworkers; k++)
		pthread_join(tid[k], NULL);
	pthread_cond_destroy(&pool.done);
	pthread_cond_destroy(&pool.work);
	pthread_mutex_destroy(&pool.mu);
	if (err || st != WARD_OK) {
		cli_progress_done(&r->prog);
		cli_error("%s: %s", name, err ? strerror(err) : ward_strerror(st));
		r->errors++;
	} else {
		r->files++;
	}
done:
	for (int i = 0; rd && i < 2; i++) {
		for (int k = 0; k < nt * PAR_SEGS; k++)
			free(rd[i].seg[k].f);
		free(rd[i].buf);
	}
	free(rd);
	return status;
}

/* A chat export: per-message findings and conversation alerts (conv_output.c). */
static void scan_conversation(scan_run *r, const char *path)
{
	const scan_opts *o = r->o;
	cli_conv_opts co = {.json = o->json, .quiet = o->quiet, .format = o->format,
	                    .min_sev = o->min_sev, .areas = o->areas, .min_level = o->min_level};
	cli_progress_done(&r->prog);
	int rc = cli_scan_conversation_file(r->e, path, &co);
	if (rc == EXIT_TROUBLE)
		r->errors++;
	else
		r->files++;
	if (rc == EXIT_FOUND)
		r->conv_found++;
}

/* Whether the file at fd starts like an image ward decodes (the same magic numbers as
 * lib/image.c), so that only images are read whole and hashed. */
static int looks_like_image(int fd)
{
	unsigned char b[12];
	ssize_t n = pread(fd, b, sizeof b, 0);
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return 1;
	if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
		return 1;
	if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
		return 1;
	return n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0);
}

typedef struct image_run {
	scan_run *r;
	const ward_image_hashes *ih;
} image_run;

/* One hash-list entry an image matches: a critical finding of the entry's area. */
static int on_image_match(const ward_hash_match *m, void *ctx)
{
	image_run *ir = ctx;
	scan_run *r = ir->r;
	const ward_area_info *ai = m->area >= 0 ? ward_area_get((ward_area)m->area) : NULL;
	char label[600], rule[620], hex[65], name[1100];
	int reliable = m->kind != WARD_HASH_PDQ || ir->ih->quality >= WARD_PDQ_MIN_QUALITY;
	/* an --area filter applies to entries that name an area */
	if (r->o->areas && ai && !(r->o->areas & (1u << m->area)))
		return 0;
	r->findings++;
	if (ai)
		r->seen |= 1u << m->area;
	if (r->o->quiet)
		return 0;
	cli_clean_text(m->label, strlen(m->label), label, sizeof label);
	cli_clean_text(r->file, strlen(r->file), name, sizeof name);
	snprintf(rule, sizeof rule, "hash-list%s%s", label[0] ? ":" : "", label);
	if (m->pdq)
		ward_pdq_to_hex(m->pdq, hex);
	if (r->o->json) {
		json_t *o = json_object();
		json_object_set_new(o, "file", json_string(name));
		json_object_set_new(o, "kind", json_string("image"));
		json_object_set_new(o, "area", ai ? json_string(ai->id) : json_null());
		json_object_set_new(o, "areas", ai ? json_pack("[s]", ai->id) : json_array());
		json_object_set_new(o, "rule", json_string(rule));
		json_object_set_new(o, "severity", json_string(ward_severity_name(WARD_SEV_CRITICAL)));
		json_object_set_new(o, "description",
		                    json_string("image matches an entry of a hash list"));
		json_object_set_new(o, "hash_kind", json_string(ward_hash_kind_name(m->kind)));
		json_object_set_new(o, "distance", json_integer(m->distance));
		json_object_set_new(o, "entry", json_integer((json_int_t)m->entry));
		json_object_set_new(o, "list_line", json_integer(m->line));
		json_object_set_new(o, "label", json_string(label));
		if (m->pdq)
			json_object_set_new(o, "hash", json_string(hex));
		json_object_set_new(o, "quality", json_integer(ir->ih->quality));
		json_object_set_new(o, "reliable", json_boolean(reliable));
		char *js = json_dumps(o, JSON_COMPACT);
		if (js)
			puts(js);
		free(js);
		json_decref(o);
	} else {
		cli_progress_done(&r->prog);
		printf("%s: %s %s %s\n    image matches hash-list entry %zu (%s, line %u), distance "
		       "%d%s\n",
		       name, ward_severity_name(WARD_SEV_CRITICAL), ai ? ai->id : "-", rule,
		       m->entry, ward_hash_kind_name(m->kind), m->line, m->distance,
		       reliable ? "" : " (image quality below 50: not reliable)");
	}
	return 0;
}

/* An image file: hashed in memory, matched against the lists.  Returns 1 when path is not
 * an image after all (to be read as text), else 0. */
static int scan_image(scan_run *r, const char *path, uint64_t size)
{
	ward_image_hashes ih;
	ward_diag d;
	ward_status st = ward_image_hash_file(path, 0, &ih, &d);
	if (st == WARD_EFORMAT)
		return 1;
	cli_progress_add(&r->prog, size);
	r->file = path;
	if (st == WARD_OK) {
		image_run ir = {r, &ih};
		st = ward_hashlist_match(r->hl, &ih, WARD_PDQ_MATCH_DISTANCE, on_image_match, &ir);
	}
	memset(&ih, 0, sizeof ih);
	if (st != WARD_OK) {
		char name[1100];
		cli_progress_done(&r->prog);
		cli_clean_text(path, strlen(path), name, sizeof name);
		cli_error("%s: image not checked against the hash lists: %s%s%s", name,
		          ward_strerror(st), d.message[0] ? ": " : "", d.message);
		r->errors++;
		return 0;
	}
	r->files++;
	return 0;
}

static void scan_file(scan_run *r, const char *path)
{
	if (r->hl) {
		struct stat sb;
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		int image = fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
		            looks_like_image(fd);
		if (fd >= 0)
			close(fd);
		if (image && scan_image(r, path, (uint64_t)sb.st_size) == 0)
			return;
	}
	if (r->o->conv == CONV_FORCE || (r->o->conv == CONV_AUTO && cli_sniff_chat_file(path))) {
		scan_conversation(r, path);
		return;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		cli_progress_done(&r->prog);
		cli_error("%s: %s", path, strerror(errno));
		r->errors++;
		return;
	}
	struct stat sb;
	if (r->o->threads > 1 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (uint64_t)sb.st_size >= PAR_MIN && scan_parallel(r, fd, path) == 0) {
		close(fd);
		return;
	}
	scan_fd(r, fd, path);
	close(fd);
}

static int fts_cmp(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

/* Scans a path: a file, or a directory recursively (symbolic links inside are not followed). */
static void scan_path(scan_run *r, const char *path)
{
	char *const paths[] = {(char *)path, NULL};
	FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_COMFOLLOW | FTS_NOCHDIR, fts_cmp);
	if (!fts) {
		cli_error("%s: %s", path, strerror(errno));
		r->errors++;
		return;
	}
	FTSENT *e;
	while ((e = fts_read(fts)) != NULL) {
		switch (e->fts_info) {
		case FTS_F:
			scan_file(r, e->fts_path);
			break;
		case FTS_DNR:
		case FTS_ERR:
		case FTS_NS:
			cli_progress_done(&r->prog);
			cli_error("%s: %s", e->fts_path, strerror(e->fts_errno));
			r->errors++;
			break;
		case FTS_SLNONE:
			/* named on the command line, a link to nothing is an error; inside a
			 * directory, links are not followed anyway */
			if (e->fts_level == FTS_ROOTLEVEL) {
				cli_progress_done(&r->prog);
				cli_error("%s: %s", e->fts_path, strerror(ENOENT));
				r->errors++;
			}
			break;
		default:
			break; /* directories, links, devices, sockets: skipped */
		}
	}
	fts_close(fts);
}

/* Total size of regular files under the paths, for the progress bar. */
static uint64_t total_size(char **paths, int n)
{
	uint64_t sum = 0;
	for (int i = 0; i < n; i++) {
		struct stat sb;
		if (strcmp(paths[i], "-") == 0 || stat(paths[i], &sb) != 0)
			continue;
		if (S_ISREG(sb.st_mode)) {
			sum += (uint64_t)sb.st_size;
			continue;
		}
		char *const p[] = {paths[i], NULL};
		FTS *fts = fts_open(p, FTS_PHYSICAL | FTS_COMFOLLOW | FTS_NOCHDIR, NULL);
		FTSENT *e;
		while (fts && (e = fts_read(fts)) != NULL)
			if (e->fts_info == FTS_F)
				sum += (uint64_t)e->fts_statp->st_size;
		if (fts)
			fts_close(fts);
	}
	return sum;
}

static void on_list_warning(const ward_diag *d, void *ctx)
{
	scan_run *r = ctx;
	char name[600];
	cli_clean_text(d->file, strlen(d->file), name, sizeof name);
	cli_error("%s:%u: %s", name, d->line, d->message);
	r->errors++; /* the bad line is skipped; the rest of the list is used */
}

/* Loads the --hash-list lists into r->hl and builds their index.  A list that cannot be read
 * at all stops the scan (returns -1); bad lines are reported and count as errors. */
static int load_hash_lists(scan_run *r)
{
	ward_status st = ward_hashlist_new(&r->hl);
	for (int i = 0; i < r->o->nhash_lists && st == WARD_OK; i++) {
		const char *path = r->o->hash_lists[i];
		if ((st = ward_hashlist_load(r->hl, path, on_list_warning, r, NULL)) != WARD_OK) {
			char name[1100];
			cli_clean_text(path, strlen(path), name, sizeof name);
			cli_error("%s: %s", name, ward_strerror(st));
			return -1;
		}
	}
	if (st == WARD_OK)
		st = ward_hashlist_build(r->hl);
	if (st != WARD_OK) {
		cli_error("hash lists: %s", ward_strerror(st));
		return -1;
	}
	return 0;
}

static void print_advice(uint32_t seen)
{
	printf("\nWhat to do (the seed's advice for practitioners):\n");
	for (int a = 0; a < WARD_AREA_COUNT; a++) {
		if (!(seen & (1u << a)))
			continue;
		const ward_area_info *ai = ward_area_get((ward_area)a);
		printf("\n%s: %s\n", ai->id, ai->seed_words);
		const char *p = ai->guidance;
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			printf("  - %.*s\n", (int)n, p);
			p += n + (nl ? 1 : 0);
		}
	}
	printf("\nIn every case:\n");
	const char *p = ward_general_guidance();
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		printf("  - %.*s\n", (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

int cmd_scan(int argc, char **argv)
{
	enum { OPT_NO_PROGRESS = 256, OPT_NO_CACHE, OPT_NO_CONV, OPT_FORMAT, OPT_MIN_LEVEL,
	       OPT_SQUID_LOG, OPT_LISTS, OPT_MAP, OPT_HASH_LIST, OPT_THREADS };
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"rules", required_argument, NULL, 'r'},
		{"min-severity", required_argument, NULL, 's'},
		{"area", required_argument, NULL, 'a'},
		{"quiet", no_argument, NULL, 'q'},
		{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
		{"no-cache", no_argument, NULL, OPT_NO_CACHE},
		{"conversation", no_argument, NULL, 'c'},
		{"no-conversation", no_argument, NULL, OPT_NO_CONV},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"min-level", required_argument, NULL, OPT_MIN_LEVEL},
		{"squid-log", required_argument, NULL, OPT_SQUID_LOG},
		{"lists", required_argument, NULL, OPT_LISTS},
		{"map", required_argument, NULL, OPT_MAP},
		{"hash-list", required_argument, NULL, OPT_HASH_LIST},
		{"threads", required_argument, NULL, OPT_THREADS},
		{0, 0, 0, 0},
	};
	scan_opts o = {.progress = 1};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	/* the web filter's options: the Squid log goes through cmd_url.c */
	cli_url_opts uo = {.lists = getenv("WARD_LISTS"), .map = getenv("WARD_LISTS_MAP")};
	scan_run r;
	ward_engine *e = NULL;
	int c, rc = EXIT_TROUBLE;
	memset(&r, 0, sizeof r);
	optind = 1;
	while ((c = getopt_long(argc, argv, "jr:s:a:qc", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.conv = CONV_FORCE; break;
		case OPT_NO_CONV: o.conv = CONV_OFF; break;
		case OPT_FORMAT: {
			int f = ward_chat_format_from_name(optarg);
			if (f < 0) {
				cli_error("unknown chat format '%s': use auto, whatsapp, jsonl, csv or plain",
				          optarg);
				return EXIT_TROUBLE;
			}
			o.format = (ward_chat_format)f;
			if (o.format != WARD_CHAT_AUTO)
				o.conv = CONV_FORCE;
			break;
		}
		case OPT_MIN_LEVEL:
			if ((o.min_level = ward_conv_level_from_name(optarg)) <= 0) {
				cli_error("unknown level '%s': use low, medium or high", optarg);
				return EXIT_TROUBLE;
			}
			break;
		case 'j': o.json = 1; break;
		case 'r': o.rules = optarg; break;
		case 'q': o.quiet = 1; break;
		case OPT_NO_PROGRESS: o.progress = 0; break;
		case OPT_NO_CACHE: o.load_flags |= WARD_LOAD_NOCACHE; break;
		case OPT_SQUID_LOG: uo.log_name = optarg; break;
		case OPT_LISTS: uo.lists = optarg; break;
		case OPT_MAP: uo.map = optarg; break;
		case OPT_THREADS: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 0 || v > MAX_THREADS) {
				cli_error("--threads wants a number from 0 (one per CPU) to %d", MAX_THREADS);
				return EXIT_TROUBLE;
			}
			o.threads = (int)v;
			break;
		}
		case OPT_HASH_LIST:
			if (o.nhash_lists >= MAX_HASH_LISTS) {
				cli_error("at most %d hash lists", MAX_HASH_LISTS);
				return EXIT_TROUBLE;
			}
			o.hash_lists[o.nhash_lists++] = optarg;
			break;
		case 's':
			if ((o.min_sev = ward_severity_from_name(optarg)) < 0) {
				cli_error("unknown severity '%s': use low, medium, high or critical", optarg);
				return EXIT_TROUBLE;
			}
			break;
		case 'a': {
			int a = ward_area_from_id(optarg);
			if (a < 0) {
				cli_error("unknown area '%s' (ward areas lists them)", optarg);
				return EXIT_TROUBLE;
			}
			o.areas |= 1u << a;
			break;
		}
		default:
			cli_usage(stderr, "scan");
			return EXIT_TROUBLE;
		}
	}
	if (o.threads == 0)
		o.threads = ncpu < 1 ? 1 : ncpu > DEFAULT_THREADS ? DEFAULT_THREADS : (int)ncpu;
	if (uo.log_name) {
		uo.json = o.json;
		uo.quiet = o.quiet;
		uo.rules = o.rules;
		return cli_scan_squid_log(&uo);
	}
	if (o.load_flags) {
		ward_diag d;
		ward_status st = ward_engine_load(o.rules, o.load_flags, &e, &d);
		if (st != WARD_OK) {
			cli_error("%s%s%.0u: %s", d.file, d.line ? ":" : "", d.line,
			          d.message[0] ? d.message : ward_strerror(st));
			return EXIT_TROUBLE;
		}
	} else if (cli_load_engine(o.rules, &e) != WARD_OK) {
		return EXIT_TROUBLE;
	}
	r.o = &o;
	r.e = e;
	r.buf = malloc(READ_CHUNK);
	if (!r.buf || ward_scanner_new(e, &r.sc) != WARD_OK) {
		cli_error("out of memory");
		goto done;
	}
	if (o.nhash_lists && load_hash_lists(&r) != 0)
		goto done;
	char *stdin_only[] = {"-"};
	char **paths = optind < argc ? argv + optind : stdin_only;
	int npaths = optind < argc ? argc - optind : 1;
	cli_progress_init(&r.prog, total_size(paths, npaths), o.progress && !o.quiet);
	for (int i = 0; i < npaths; i++) {
		if (strcmp(paths[i], "-") == 0 && o.conv == CONV_FORCE)
			scan_conversation(&r, "-");
		else if (strcmp(paths[i], "-") == 0)
			scan_fd(&r, STDIN_FILENO, "(standard input)");
		else
			scan_path(&r, paths[i]);
	}
	cli_progress_done(&r.prog);
	if (!o.quiet && !o.json && r.findings)
		print_advice(r.seen);
	if (!o.quiet && !o.json)
		fprintf(stderr, "ward: %llu finding%s in %llu file%s%s\n",
		        (unsigned long long)r.findings, r.findings == 1 ? "" : "s",
		        (unsigned long long)r.files, r.files == 1 ? "" : "s",
		        r.conv_found ? " (chat exports reported above)" : "");
	rc = r.errors ? EXIT_TROUBLE : (r.findings || r.conv_found) ? EXIT_FOUND : EXIT_CLEAN;
done:
	fflush(stdout);
	ward_hashlist_free(r.hl);
	for (int k = 0; k < MAX_THREADS; k++)
		ward_scanner_free(r.par[k]);
	ward_scanner_free(r.sc);
	ward_engine_free(e);
	free(r.buf);
	return rc;
}
