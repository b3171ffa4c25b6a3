/* conv_output.c: `ward scan --conversation`: a chat export scanned message by message, its
 * findings and the conversation model's alerts printed as JSON Lines or a short summary. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define SNIFF_BYTES ((size_t)64 << 10)

typedef struct conv_run {
	const cli_conv_opts *o;
	const char *name;
	const ward_chat_message *m;
	uint64_t findings;
} conv_run;

static json_t *areas_json(uint32_t areas)
{
	json_t *a = json_array();
	for (int i = 0; i < WARD_AREA_COUNT; i++)
		if (areas & (1u << i))
			json_array_append_new(a, json_string(ward_area_get((ward_area)i)->id));
	return a;
}

static void print_json(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s)
		puts(s);
	free(s);
	json_decref(o);
}

/* A clean, NUL-terminated copy of n untrusted bytes in out (capacity cap). */
static const char *clean(const char *s, size_t n, char *out, size_t cap)
{
	cli_clean_text(s, n, out, cap);
	return out;
}

static int on_finding(const ward_finding *f, void *ctx)
{
	conv_run *r = ctx;
	const ward_rule_info *ri = f->rule;
	char ex[4 * WARD_EXCERPT_MAX + 8], match[4 * WARD_EXCERPT_MAX + 8], from[4 * 256 + 8];
	if ((int)ri->severity < r->o->min_sev || (r->o->areas && !(ri->areas & r->o->areas)))
		return 0;
	r->findings++;
	if (r->o->quiet)
		return 0;
	size_t mlen = f->excerpt_len - f->excerpt_match;
	if (f->end - f->start < mlen)
		mlen = (size_t)(f->end - f->start);
	cli_clean_text(f->excerpt, f->excerpt_len, ex, sizeof ex);
	cli_clean_text(f->excerpt + f->excerpt_match, mlen, match, sizeof match);
	clean(r->m->from, r->m->from_len, from, sizeof from);
	if (r->o->json) {
		json_t *o = json_pack(
			"{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:o, s:s, s:s, s:f, s:s, s:s, s:s}",
			"kind", "finding", "file", r->name, "line", (json_int_t)f->line, "start",
			(json_int_t)f->start, "end", (json_int_t)f->end, "message",
			(json_int_t)r->m->index, "sender", from, "area", ward_area_get(ri->area)->id,
			"areas", areas_json(ri->areas), "rule", ri->id, "severity",
			ward_severity_name(ri->severity), "weight", ri->weight, "description",
			ri->description, "excerpt", ex, "match", match);
		if (o && ri->stage)
			json_object_set_new(o, "stage", json_string(ri->stage));
		print_json(o);
	} else {
		printf("%s:%llu:%llu-%llu: [%s] %s %s %s\n    %s\n    > %s\n", r->name,
		       (unsigned long long)f->line, (unsigned long long)f->start,
		       (unsigned long long)f->end, from, ward_severity_name(ri->severity),
		       ward_area_get(ri->area)->id, ri->id, ri->description, ex);
	}
	return 0;
}

static void print_alert_json(const char *name, const ward_conv_alert *a, uint64_t nmsg)
{
	char sender[4 * 256 + 8], recip[4 * 256 + 8];
	json_t *stages = json_array(), *ev = json_array(), *lm = json_object();
	for (int s = 0; s < WARD_STAGE_COUNT; s++)
		if (a->stages & (1u << s))
			json_array_append_new(stages, json_string(ward_stage_name((ward_stage)s)));
	for (size_t i = 0; i < a->nevidence; i++) {
		const ward_conv_evidence *e = &a->evidence[i];
		json_array_append_new(
			ev, json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:s}", "stage",
		                      ward_stage_name(e->stage), "line", (json_int_t)e->line, "start",
		                      (json_int_t)e->start, "end", (json_int_t)e->end, "message",
		                      (json_int_t)e->message, "rule", e->rule->id, "by",
		                      e->from_other ? "other" : "sender"));
	}
	for (int l = WARD_LEVEL_LOW; l <= (int)a->level; l++)
		json_object_set_new(lm, ward_conv_level_name((ward_conv_level)l),
		                    json_integer((json_int_t)a->level_message[l]));
	clean(a->sender, strlen(a->sender), sender, sizeof sender);
	clean(a->recipient, strlen(a->recipient), recip, sizeof recip);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:f, s:s, s:s, s:I, s:I, s:o, s:I, s:o, s:o, s:I}",
	                      "kind", "conversation", "file", name, "area",
	                      ward_area_get(a->area)->id, "level", ward_conv_level_name(a->level),
	                      "score", round(a->score * 100) / 100, "sender", sender, "recipient", recip,
	                      "first_message", (json_int_t)a->first_message, "first_line",
	                      (json_int_t)a->first_line, "level_messages", lm, "messages",
	                      (json_int_t)nmsg, "stages", stages, "evidence", ev,
	                      "evidence_dropped", (json_int_t)a->evidence_dropped);
	print_json(o);
}

static void print_lines(const char *text, const char *indent)
{
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		printf("%s- %.*s\n", indent, (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

static void print_alert_human(const char *name, const ward_conv_alert *a)
{
	char sender[4 * 256 + 8], recip[4 * 256 + 8];
	clean(a->sender, strlen(a->sender), sender, sizeof sender);
	clean(a->recipient, strlen(a->recipient), recip, sizeof recip);
	printf("\n%s: conversation alert: %s, level %s (score %.1f)\n", name,
	       ward_area_get(a->area)->id, ward_conv_level_name(a->level), a->score);
	printf("  sender: %s%s%s\n", sender, recip[0] ? ", writing to " : "", recip);
	printf("  first flagged at message %llu (line %llu)", (unsigned long long)a->first_message + 1,
	       (unsigned long long)a->first_line);
	for (int l = WARD_LEVEL_MEDIUM; l <= (int)a->level; l++)
		printf("; %s at message %llu", ward_conv_level_name((ward_conv_level)l),
		       (unsigned long long)a->level_message[l] + 1);
	printf("\n  stages seen:\n");
	for (int s = 0; s < WARD_STAGE_COUNT; s++) {
		if (!(a->stages & (1u << s)))
			continue;
		printf("    %-17s lines", ward_stage_name((ward_stage)s));
		int n = 0;
		for (size_t i = 0; i < a->nevidence; i++) {
			if ((int)a->evidence[i].stage != s)
				continue;
			int dup = 0;
			for (size_t j = 0; j < i; j++)
				dup |= (int)a->evidence[j].stage == s &&
				       a->evidence[j].line == a->evidence[i].line;
			if (!dup)
				printf("%s%llu", n++ ? ", " : " ",
				       (unsigned long long)a->evidence[i].line);
		}
		printf("  (");
		n = 0;
		for (size_t i = 0; i < a->nevidence; i++) {
			if ((int)a->evidence[i].stage != s)
				continue;
			int dup = 0;
			for (size_t j = 0; j < i; j++)
				dup |= a->evidence[j].rule == a->evidence[i].rule;
			if (!dup)
				printf("%s%s", n++ ? ", " : "", a->evidence[i].rule->id);
		}
		printf(")%s\n", s == WARD_STAGE_PERSONAL_DETAILS ? " given away by the other side" : "");
	}
	if (a->evidence_dropped)
		printf("    (%llu more items of evidence not listed)\n",
		       (unsigned long long)a->evidence_dropped);
}

static void print_stats(const char *name, const ward_chat_stats *st, int json)
{
	if (json) {
		print_json(json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "kind",
		                     "chat", "file", name, "format", ward_chat_format_name(st->format),
		                     "messages", (json_int_t)st->messages, "skipped",
		                     (json_int_t)st->skipped, "first_skipped",
		                     (json_int_t)st->first_skipped, "bad_time",
		                     (json_int_t)st->bad_time, "no_sender", (json_int_t)st->no_sender,
		                     "truncated", (json_int_t)st->truncated, "invalid_utf8",
		                     (json_int_t)st->invalid_utf8));
		return;
	}
	fprintf(stderr, "ward: %s: %llu message%s read as %s", name,
	        (unsigned long long)st->messages, st->messages == 1 ? "" : "s",
	        ward_chat_format_name(st->format));
	if (st->skipped)
		fprintf(stderr, "; %llu line%s that were not messages skipped (the first at line %llu)",
		        (unsigned long long)st->skipped, st->skipped == 1 ? "" : "s",
		        (unsigned long long)st->first_skipped);
	if (st->bad_time)
		fprintf(stderr, "; %llu with a time that could not be read",
		        (unsigned long long)st->bad_time);
	if (st->no_sender)
		fprintf(stderr, "; %llu with no sender", (unsigned long long)st->no_sender);
	if (st->truncated)
		fprintf(stderr, "; %llu longer than %zu bytes, scanned only that far",
		        (unsigned long long)st->truncated, WARD_CHAT_MAX_TEXT);
	if (st->invalid_utf8)
		fprintf(stderr, "; %llu holding bytes that are not UTF-8",
		        (unsigned long long)st->invalid_utf8);
	fputc('\n', stderr);
}

int cli_is_chat_export(const char *buf, size_t len)
{
	return ward_chat_detect(buf, len, NULL) != WARD_CHAT_AUTO;
}

int cli_sniff_chat_file(const char *path)
{
	char *buf = NULL;
	int fd = -1, yes = 0;
	ssize_t k = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		goto done;
	if (!(buf = malloc(SNIFF_BYTES)))
		goto done;
	do
		k = read(fd, buf, SNIFF_BYTES);
	while (k < 0 && errno == EINTR);
	if (k > 0)
		yes = cli_is_chat_export(buf, (size_t)k);
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	return yes;
}

int cli_scan_conversation(ward_engine *e, const char *name, const char *buf, size_t len,
                          const cli_conv_opts *o)
{
	ward_chat_reader *rd = NULL;
	ward_conv *c = NULL;
	ward_chat_message m;
	ward_diag d;
	ward_status st;
	conv_run r = {.o = o, .name = name};
	uint32_t seen = 0;
	int alerts = 0, rc = EXIT_TROUBLE;
	memset(&d, 0, sizeof d);
	if ((st = ward_chat_reader_new(buf, len, o->format, &rd, &d)) != WARD_OK) {
		cli_error("%s%s%.0u: %s", name, d.line ? ":" : "", d.line,
		          d.message[0] ? d.message : ward_strerror(st));
		goto done;
	}
	if ((st = ward_conv_new(e, NULL, &c)) != WARD_OK) {
		cli_error("%s: %s", name, ward_strerror(st));
		goto done;
	}
	while ((st = ward_chat_next(rd, &m)) == WARD_OK) {
		r.m = &m;
		if ((st = ward_conv_add_message(c, &m, on_finding, &r, NULL)) != WARD_OK)
			break;
	}
	if (st != WARD_ENOENT) {
		cli_error("%s:%llu: %s", name, (unsigned long long)m.line, ward_strerror(st));
		goto done;
	}
	int min_level = o->min_level > 0 ? o->min_level : WARD_LEVEL_LOW;
	for (size_t i = 0; i < ward_conv_alert_count(c); i++) {
		const ward_conv_alert *a = ward_conv_alert_get(c, i);
		if ((int)a->level < min_level || (o->areas && !(o->areas & (1u << a->area))))
			continue;
		alerts++;
		seen |= 1u << a->area;
		if (o->quiet)
			continue;
		if (o->json)
			print_alert_json(name, a, ward_conv_message_count(c));
		else
			print_alert_human(name, a);
	}
	if (!o->quiet)
		print_stats(name, ward_chat_reader_stats(rd), o->json);
	if (!o->quiet && !o->json && alerts) {
		printf("\nWhat to do (the seed's advice for practitioners):\n");
		for (int ar = 0; ar < WARD_AREA_COUNT; ar++) {
			if (!(seen & (1u << ar)))
				continue;
			const ward_area_info *ai = ward_area_get((ward_area)ar);
			printf("\n%s: %s\n", ai->id, ai->seed_words);
			print_lines(ai->guidance, "  ");
		}
		printf("\nIn every case:\n");
		print_lines(ward_general_guidance(), "  ");
	}
	rc = alerts || r.findings ? EXIT_FOUND : EXIT_CLEAN;
done:
	fflush(stdout);
	ward_conv_free(c);
	ward_chat_reader_free(rd);
	return rc;
}

int cli_scan_conversation_file(ward_engine *e, const char *path, const cli_conv_opts *o)
{
	int fd = -1, rc = EXIT_TROUBLE;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	const char *name = strcmp(path, "-") == 0 ? "(standard input)" : path;
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		cli_error("%s: %s", path, strerror(errno));
		goto done;
	}
	for (;;) {
		if (len == cap) {
			if ((uint64_t)cap >= WARD_CHAT_MAX_INPUT) {
				cli_error("%s: larger than the limit of %llu bytes for a chat export", name,
				          (unsigned long long)WARD_CHAT_MAX_INPUT);
				goto done;
			}
			size_t ncap = cap ? cap * 2 : (size_t)1 << 20;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				cli_error("%s: out of memory", name);
				goto done;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t k = read(fd, buf + len, cap - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			cli_error("%s: %s", name, strerror(errno));
			goto done;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	rc = cli_scan_conversation(e, name, buf, len, o);
done:
	if (fd > STDIN_FILENO)
		close(fd);
	free(buf);
	return rc;
}
