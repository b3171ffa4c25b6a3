/* cmd_areas.c: `ward areas`, the taxonomy. */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "cli.h"

static json_t *area_json(const ward_area_info *a)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", a->id, "title", a->title, "seed_words",
	                 a->seed_words, "guidance", a->guidance, "general_guidance",
	                 ward_general_guidance());
}

int cmd_areas(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0, 0, 0, 0}};
	int json = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else {
			cli_usage(stderr, "areas");
			return EXIT_TROUBLE;
		}
	}
	int only = -1;
	if (optind < argc) {
		only = ward_area_from_id(argv[optind]);
		if (only < 0) {
			cli_error("unknown area '%s' (ward areas lists them)", argv[optind]);
			return EXIT_TROUBLE;
		}
	}
	for (int i = 0; i < WARD_AREA_COUNT; i++) {
		if (only >= 0 && i != only)
			continue;
		const ward_area_info *a = ward_area_get((ward_area)i);
		if (json) {
			json_t *o = area_json(a);
			char *s = json_dumps(o, JSON_COMPACT);
			if (s)
				puts(s);
			free(s);
			json_decref(o);
		} else if (only < 0) {
			printf("%-22s %s\n", a->id, a->seed_words);
		} else {
			printf("%s: %s\n\n%s\n\nIn every case:\n%s", a->id, a->seed_words, a->guidance,
			       ward_general_guidance());
		}
	}
	return EXIT_CLEAN;
}
