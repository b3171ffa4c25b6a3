/* cmd_guide.c: `ward guide`, the guided response for chosen areas. */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static json_t *areas_json(uint32_t areas)
{
	json_t *a = json_array();
	for (int i = 0; i < WARD_AREA_COUNT; i++)
		if (areas & (1u << i))
			json_array_append_new(a, json_string(ward_area_get((ward_area)i)->id));
	return a;
}

static void print_json(const ward_guide *g, uint32_t want)
{
	json_t *items = json_array(), *trig = json_array(), *cont = json_array();
	for (size_t i = 0; i < ward_guide_item_count(g); i++) {
		const ward_guide_item *it = ward_guide_item_at(g, i);
		if (it->areas & want)
			json_array_append_new(
				items, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", it->id, "kind",
			                         it->kind == WARD_GUIDE_DO ? "do" : "dont", "who", it->who,
			                         "text", it->text, "source", it->source, "areas",
			                         areas_json(it->areas)));
	}
	for (size_t i = 0; i < ward_guide_trigger_count(g); i++) {
		const ward_guide_trigger *t = ward_guide_trigger_at(g, i);
		if (t->areas & want)
			json_array_append_new(trig, json_pack("{s:s, s:s, s:s}", "id", t->id, "question",
			                                      t->question, "why", t->why));
	}
	for (size_t i = 0; i < ward_guide_contact_count(g); i++) {
		const ward_guide_contact *k = ward_guide_contact_at(g, i);
		json_array_append_new(cont, json_pack("{s:s, s:s, s:s, s:s}", "id", k->id, "name",
		                                      k->name, "how", k->how, "when", k->when));
	}
	json_t *o = json_pack("{s:o, s:o, s:o}", "checklist", items, "triggers", trig, "contacts", cont);
	char *s = json_dumps(o, JSON_INDENT(2));
	if (s)
		puts(s);
	free(s);
	json_decref(o);
}

static void print_text(const ward_guide *g, uint32_t want)
{
	printf("Do, now:\n");
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			printf("\nDo not:\n");
		for (size_t i = 0; i < ward_guide_item_count(g); i++) {
			const ward_guide_item *it = ward_guide_item_at(g, i);
			if ((it->areas & want) && (int)it->kind == pass)
				printf("  [ ] %s%s\n", it->text, strcmp(it->who, "dsl") ? "" : " (DSL)");
		}
	}
	printf("\nRefer to the police or children's social care at once if any answer is yes:\n");
	for (size_t i = 0; i < ward_guide_trigger_count(g); i++) {
		const ward_guide_trigger *t = ward_guide_trigger_at(g, i);
		if (t->areas & want)
			printf("  - %s\n", t->question);
	}
	printf("\nContacts:\n");
	for (size_t i = 0; i < ward_guide_contact_count(g); i++) {
		const ward_guide_contact *k = ward_guide_contact_at(g, i);
		printf("  %s: %s (%s)\n", k->name, k->how, k->when);
	}
}

int cmd_guide(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"file", required_argument, NULL, 'f'},
		{"check", no_argument, NULL, 'c'},
		{0, 0, 0, 0},
	};
	int json = 0, check = 0, c;
	const char *file = NULL;
	uint32_t want = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jf:", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'f')
			file = optarg;
		else if (c == 'c')
			check = 1;
		else {
			cli_usage(stderr, "guide");
			return EXIT_TROUBLE;
		}
	}
	for (int i = optind; i < argc; i++) {
		int a = ward_area_from_id(argv[i]);
		if (a < 0) {
			cli_error("unknown area '%s' (ward areas lists them)", argv[i]);
			return EXIT_TROUBLE;
		}
		want |= 1u << a;
	}
	if (!want)
		want = WARD_AREAS_ALL;
	ward_guide *g = NULL;
	ward_diag d;
	ward_status st = ward_guide_load(file, &g, &d);
	if (st != WARD_OK) {
		if (d.line)
			cli_error("%s:%u: %s", d.file, d.line, d.message);
		else
			cli_error("%s: %s", d.file[0] ? d.file : "guidance",
			          d.message[0] ? d.message : ward_strerror(st));
		return EXIT_TROUBLE;
	}
	if (check)
		printf("%zu checklist items, %zu urgent-referral questions, %zu contacts\n",
		       ward_guide_item_count(g), ward_guide_trigger_count(g),
		       ward_guide_contact_count(g));
	else if (json)
		print_json(g, want);
	else
		print_text(g, want);
	ward_guide_free(g);
	return EXIT_CLEAN;
}
