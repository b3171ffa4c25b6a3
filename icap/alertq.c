/* alertq: the asynchronous alert poster (see alertq.h). */
#include "alertq.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RETRY_MS 2000

struct alertq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	char **ring; /* JSON bodies, owned */
	size_t cap, head, count;
	int stopping, failing;
	char *url, *auth, *spool;
	size_t sent, spooled, dropped;
	pthread_mutex_t spool_mu;
};

/* Appends s (escaped as a JSON string, quotes included) to out at *n; 0 when out is full. */
static int json_str(char *out, size_t cap, size_t *n, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	int ok = 1;
	if (!s) {
		if (*n + 4 >= cap)
			return 0;
		memcpy(out + *n, "null", 4);
		*n += 4;
		return 1;
	}
	if (*n + 1 >= cap)
		return 0;
	out[(*n)++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p && ok; p++) {
		char e[7];
		size_t el = 0;
		if (*p == '"' || *p == '\\') {
			e[0] = '\\';
			e[1] = (char)*p;
			el = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			memcpy(e, "\\u00", 4);
			e[4] = hex[*p >> 4];
			e[5] = hex[*p & 15];
			el = 6;
		} else {
			e[0] = (char)*p;
			el = 1;
		}
		if (*n + el + 1 >= cap)
			ok = 0;
		else {
			memcpy(out + *n, e, el);
			*n += el;
		}
	}
	if (ok && *n + 1 < cap)
		out[(*n)++] = '"';
	else
		ok = 0;
	return ok;
}

static int json_raw(char *out, size_t cap, size_t *n, const char *s)
{
	size_t l = strlen(s);
	if (*n + l + 1 >= cap)
		return 0;
	memcpy(out + *n, s, l);
	*n += l;
	return 1;
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (h ^ 0xff) * 1099511628211ull; /* field separator */
}

size_t alertq_json(const alertq_alert *a, char *out, size_t cap)
{
	char num[64], now[32], key[32];
	size_t n = 0;
	int ok = 1;
	time_t t = time(NULL);
	struct tm tm;
	uint64_t h = 1469598103934665603ull;
	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
	h = fnv(fnv(fnv(fnv(h, a->source), a->subject), a->rule),
	        a->dedup_extra ? a->dedup_extra : a->url);
	snprintf(key, sizeof key, "%016" PRIx64, h);
	ok = ok && json_raw(out, cap, &n, "{\"area\":") && json_str(out, cap, &n, a->area);
	ok = ok && json_raw(out, cap, &n, ",\"rule\":") && json_str(out, cap, &n, a->rule);
	ok = ok && json_raw(out, cap, &n, ",\"severity\":") && json_str(out, cap, &n, a->severity);
	ok = ok && json_raw(out, cap, &n, ",\"source\":") && json_str(out, cap, &n, a->source);
	ok = ok && json_raw(out, cap, &n, ",\"subject\":") && json_str(out, cap, &n, a->subject);
	ok = ok && json_raw(out, cap, &n, ",\"time\":") && json_str(out, cap, &n, now);
	ok = ok && json_raw(out, cap, &n, ",\"excerpt\":") &&
	     json_str(out, cap, &n, a->excerpt ? a->excerpt : "");
	if (a->start >= 0 && a->end >= 0)
		snprintf(num, sizeof num, ",\"start\":%lld,\"end\":%lld", a->start, a->end);
	else
		snprintf(num, sizeof num, ",\"start\":null,\"end\":null");
	ok = ok && json_raw(out, cap, &n, num);
	ok = ok && json_raw(out, cap, &n, ",\"dedup_key\":") && json_str(out, cap, &n, key);
	ok = ok && json_raw(out, cap, &n, ",\"url\":") && json_str(out, cap, &n, a->url);
	ok = ok && json_raw(out, cap, &n, "}");
	if (ok)
		out[n] = '\0';
	return ok ? n : 0;
}

/* Appends body as one line to the spool.  0 on success. */
static int spool_write(alertq *q, const char *body)
{
	int rc = -1;
	FILE *f = NULL;
	if (!q->spool)
		return -1;
	pthread_mutex_lock(&q->spool_mu);
	f = fopen(q->spool, "a");
	if (f) {
		rc = (fputs(body, f) < 0 || fputc('\n', f) == EOF) ? -1 : 0;
		if (fclose(f) != 0)
			rc = -1;
	}
	pthread_mutex_unlock(&q->spool_mu);
	return rc;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

/* 0 delivered, 1 retry later, 2 refused (dropped). */
static int send_one(alertq *q, CURL *c, const char *body)
{
	long code = 0;
	struct curl_slist *h = NULL;
	int rc = 1;
	h = curl_slist_append(h, "Content-Type: application/json");
	if (q->auth)
		h = curl_slist_append(h, q->auth);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200 || code == 201)
			rc = 0;
		else if (code >= 400 && code < 500 && code != 408 && code != 429) {
			fprintf(stderr, "ward alerts: wardd refused an alert (HTTP %ld)\n", code);
			rc = 2;
		}
	}
	curl_slist_free_all(h);
	return rc;
}

/* Sends the spooled alerts again; those still failing go back to the spool. */
static void spool_retry(alertq *q, CURL *c)
{
	char side[4096];
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int down = 0;
	if (!q->spool)
		return;
	snprintf(side, sizeof side, "%s.retry", q->spool);
	pthread_mutex_lock(&q->spool_mu);
	/* A retry file left by a crash is read first, before a new one replaces it. */
	if (access(side, F_OK) != 0 && rename(q->spool, side) != 0) {
		pthread_mutex_unlock(&q->spool_mu);
		return;
	}
	pthread_mutex_unlock(&q->spool_mu);
	f = fopen(side, "r");
	if (!f)
		return;
	while ((n = getline(&line, &cap, f)) > 0) {
		int r;
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (!line[0])
			continue;
		r = down ? 1 : send_one(q, c, line);
		if (r == 1) {
			down = 1;
			spool_write(q, line);
		} else if (r == 0) {
			pthread_mutex_lock(&q->mu);
			q->sent++;
			pthread_mutex_unlock(&q->mu);
		}
	}
	free(line);
	fclose(f);
	unlink(side);
	pthread_mutex_lock(&q->mu);
	q->failing = down;
	pthread_mutex_unlock(&q->mu);
}

static void *run(void *arg)
{
	alertq *q = arg;
	CURL *c = curl_easy_init();
	struct timespec last = {0};
	for (;;) {
		char *body = NULL;
		struct timespec now, until;
		int stop;
		clock_gettime(CLOCK_REALTIME, &now);
		if (c &&
		    (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000 >=
		        RETRY_MS) {
			last = now;
			spool_retry(q, c);
		}
		pthread_mutex_lock(&q->mu);
		if (q->count == 0 && !q->stopping) {
			until = now;
			until.tv_sec += RETRY_MS / 1000;
			pthread_cond_timedwait(&q->cv, &q->mu, &until);
		}
		if (q->count) {
			body = q->ring[q->head];
			q->ring[q->head] = NULL;
			q->head = (q->head + 1) % q->cap;
			q->count--;
		}
		stop = q->stopping && !body;
		pthread_mutex_unlock(&q->mu);
		if (stop)
			break;
		if (body) {
			int r = (c && !(q->failing && q->stopping)) ? send_one(q, c, body) : 1;
			pthread_mutex_lock(&q->mu);
			if (r == 0)
				q->sent++;
			pthread_mutex_unlock(&q->mu);
			if (r == 1) {
				int w = spool_write(q, body);
				pthread_mutex_lock(&q->mu);
				q->failing = 1;
				if (w == 0)
					q->spooled++;
				else
					q->dropped++;
				pthread_mutex_unlock(&q->mu);
			} else if (r == 2) {
				pthread_mutex_lock(&q->mu);
				q->dropped++;
				pthread_mutex_unlock(&q->mu);
			}
			free(body);
		}
	}
	if (c)
		curl_easy_cleanup(c);
	return NULL;
}

alertq *alertq_start(const char *url, const char *token, const char *spool, size_t cap)
{
	alertq *q = calloc(1, sizeof *q);
	int ok = 0;
	if (!q || !url)
		goto done;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	q->cap = cap ? cap : ALERTQ_DEFAULT_CAP;
	q->ring = calloc(q->cap, sizeof *q->ring);
	q->url = strdup(url);
	q->spool = spool ? strdup(spool) : NULL;
	if (token) {
		size_t l = strlen(token) + 32;
		q->auth = malloc(l);
		if (q->auth)
			snprintf(q->auth, l, "Authorization: Bearer %s", token);
	}
	if (!q->ring || !q->url || (spool && !q->spool) || (token && !q->auth))
		goto done;
	pthread_mutex_init(&q->mu, NULL);
	pthread_mutex_init(&q->spool_mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	if (pthread_create(&q->thread, NULL, run, q) != 0) {
		pthread_mutex_destroy(&q->mu);
		pthread_mutex_destroy(&q->spool_mu);
		pthread_cond_destroy(&q->cv);
		goto done;
	}
	ok = 1;
done:
	if (!ok && q) {
		free(q->ring);
		free(q->url);
		free(q->spool);
		free(q->auth);
		free(q);
		q = NULL;
	}
	return q;
}

int alertq_post(alertq *q, const alertq_alert *a)
{
	char buf[ALERTQ_BODY_MAX];
	char *body = NULL;
	int rc = -1;
	if (!q || !alertq_json(a, buf, sizeof buf))
		return -1;
	pthread_mutex_lock(&q->mu);
	if (q->count < q->cap && (body = strdup(buf))) {
		q->ring[(q->head + q->count) % q->cap] = body;
		q->count++;
		rc = 0;
		pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	if (rc != 0) {
		int w = spool_write(q, buf);
		pthread_mutex_lock(&q->mu);
		if (w == 0)
			q->spooled++;
		else
			q->dropped++;
		pthread_mutex_unlock(&q->mu);
	}
	return rc;
}

void alertq_stop(alertq *q, int timeout_ms)
{
	struct timespec ts = {0, 20 * 1000000};
	if (!q)
		return;
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		size_t n;
		pthread_mutex_lock(&q->mu);
		n = q->count;
		pthread_mutex_unlock(&q->mu);
		if (!n)
			break;
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	q->failing = 1; /* what is left goes straight to the spool */
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	pthread_mutex_destroy(&q->mu);
	pthread_mutex_destroy(&q->spool_mu);
	pthread_cond_destroy(&q->cv);
	free(q->ring);
	free(q->url);
	free(q->spool);
	free(q->auth);
	free(q);
}

void alertq_stats(const alertq *q, size_t *sent, size_t *spooled, size_t *dropped)
{
	alertq *m = (alertq *)q;
	pthread_mutex_lock(&m->mu);
	*sent = m->sent;
	*spooled = m->spooled;
	*dropped = m->dropped;
	pthread_mutex_unlock(&m->mu);
}
