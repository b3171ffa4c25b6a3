/* cmd_hash.c: `ward hash` (PDQ, quality, MD5, SHA-1, SHA-256 of images) and `ward match`
 * (images against hash lists).  Images are hashed in memory; nothing of them is written
 * anywhere but their hashes on standard output. */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *dih_names[WARD_PDQ_DIHEDRAL_COUNT] = {
    "orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"};

/* Prints one line of JSON and frees j. */
static void put_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (s) {
		puts(s);
		free(s);
	}
	json_decref(j);
}

static int hash_one(const char *path, int flags, ward_image_hashes *ih)
{
	ward_diag d;
	ward_status st = ward_image_hash_file(path, flags, ih, &d);
	if (st != WARD_OK) {
		char name[1100];
		cli_clean_text(path, strlen(path), name, sizeof name);
		cli_error("%s: %s: %s", name, ward_strerror(st), d.message);
		return -1;
	}
	return 0;
}

static void hash_json(json_t *j, const char *name, const ward_image_hashes *ih, int dihedral)
{
	char hex[65];
	json_object_set_new(j, "file", json_string(name));
	ward_pdq_to_hex(&ih->pdq, hex);
	json_object_set_new(j, "pdq", json_string(hex));
	json_object_set_new(j, "quality", json_integer(ih->quality));
	json_object_set_new(j, "reliable", json_boolean(ih->quality >= WARD_PDQ_MIN_QUALITY));
	ward_hex(ih->md5, sizeof ih->md5, hex);
	json_object_set_new(j, "md5", json_string(hex));
	ward_hex(ih->sha1, sizeof ih->sha1, hex);
	json_object_set_new(j, "sha1", json_string(hex));
	ward_hex(ih->sha256, sizeof ih->sha256, hex);
	json_object_set_new(j, "sha256", json_string(hex));
	json_object_set_new(j, "width", json_integer(ih->width));
	json_object_set_new(j, "height", json_integer(ih->height));
	json_object_set_new(j, "format", json_string(ih->format));
	if (dihedral) {
		json_t *o = json_object();
		for (int v = 0; v < WARD_PDQ_DIHEDRAL_COUNT; v++) {
			ward_pdq_to_hex(&ih->dihedral[v], hex);
			json_object_set_new(o, dih_names[v], json_string(hex));
		}
		json_object_set_new(j, "dihedral", o);
	}
}

int cmd_hash(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
	                                     {"dihedral", no_argument, NULL, 'd'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	int json = 0, dihedral = 0, c, rc = EXIT_CLEAN;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jdh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'd':
			dihedral = 1;
			break;
		case 'h':
			cli_usage(stdout, "hash");
			return EXIT_CLEAN;
		default:
			cli_usage(stderr, "hash");
			return EXIT_TROUBLE;
		}
	}
	if (optind >= argc) {
		cli_usage(stderr, "hash");
		return EXIT_TROUBLE;
	}
	for (int i = optind; i < argc; i++) {
		ward_image_hashes ih;
		char name[1100], hex[65], md5[33], sha1[41], sha256[65];
		if (hash_one(argv[i], dihedral ? WARD_IMAGE_DIHEDRAL : 0, &ih) != 0) {
			rc = EXIT_TROUBLE;
			continue;
		}
		cli_clean_text(argv[i], strlen(argv[i]), name, sizeof name);
		if (json) {
			json_t *j = json_object();
			hash_json(j, name, &ih, dihedral);
			put_json(j);
			continue;
		}
		ward_pdq_to_hex(&ih.pdq, hex);
		ward_hex(ih.md5, sizeof ih.md5, md5);
		ward_hex(ih.sha1, sizeof ih.sha1, sha1);
		ward_hex(ih.sha256, sizeof ih.sha256, sha256);
		printf("file: %s\npdq: %s\nquality: %d%s\nmd5: %s\nsha1: %s\nsha256: %s\n"
		       "width: %u\nheight: %u\n",
		       name, hex, ih.quality,
		       ih.quality < WARD_PDQ_MIN_QUALITY ? " (not reliable)" : "", md5, sha1,
		       sha256, ih.width, ih.height);
		if (dihedral)
			for (int v = 1; v < WARD_PDQ_DIHEDRAL_COUNT; v++) {
				ward_pdq_to_hex(&ih.dihedral[v], hex);
				printf("pdq-%s: %s\n", dih_names[v], hex);
			}
		putchar('\n');
	}
	return rc;
}

static void on_list_warning(const ward_diag *d, void *ctx)
{
	(void)ctx;
	char name[600];
	cli_clean_text(d->file, strlen(d->file), name, sizeof name);
	cli_error("%s:%u: %s", name, d->line, d->message);
}

typedef struct match_run {
	int json;
	const char *name;
	const ward_image_hashes *ih;
	json_t *matches;
	unsigned n;
} match_run;

static int on_match(const ward_hash_match *m, void *ctx)
{
	match_run *r = ctx;
	const ward_area_info *ai = m->area >= 0 ? ward_area_get((ward_area)m->area) : NULL;
	char label[600], hex[65];
	cli_clean_text(m->label, strlen(m->label), label, sizeof label);
	if (m->pdq)
		ward_pdq_to_hex(m->pdq, hex);
	r->n++;
	if (r->json) {
		json_t *j = json_object();
		json_object_set_new(j, "kind", json_string(ward_hash_kind_name(m->kind)));
		json_object_set_new(j, "entry", json_integer((json_int_t)m->entry));
		json_object_set_new(j, "line", json_integer(m->line));
		if (m->pdq)
			json_object_set_new(j, "hash", json_string(hex));
		json_object_set_new(j, "label", json_string(label));
		json_object_set_new(j, "area", ai ? json_string(ai->id) : json_null());
		json_object_set_new(j, "distance", json_integer(m->distance));
		json_array_append_new(r->matches, j);
	} else {
		printf("%s: MATCH %s entry %zu (line %u) label \"%s\" area %s distance %d%s\n",
		       r->name, ward_hash_kind_name(m->kind), m->entry, m->line, label,
		       ai ? ai->id : "-", m->distance,
		       m->kind == WARD_HASH_PDQ && r->ih->quality < WARD_PDQ_MIN_QUALITY
		           ? " (image quality below 50: not reliable)"
		           : "");
	}
	return 0;
}

int cmd_match(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"list", required_argument, NULL, 'l'}, {"distance", required_argument, NULL, 'D'},
	    {"json", no_argument, NULL, 'j'},       {"dihedral", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
	int json = 0, dihedral = 0, c, rc = EXIT_CLEAN, distance = WARD_PDQ_MATCH_DISTANCE;
	const char *lists[64];
	int nlists = 0;
	ward_hashlist *hl = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:D:jdh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (nlists >= 64) {
				cli_error("at most 64 lists");
				rc = EXIT_TROUBLE;
				goto done;
			}
			lists[nlists++] = optarg;
			break;
		case 'D': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 0 || v > 256) {
				cli_error("--distance wants a number from 0 to 256");
				rc = EXIT_TROUBLE;
				goto done;
			}
			distance = (int)v;
			break;
		}
		case 'j':
			json = 1;
			break;
		case 'd':
			dihedral = 1;
			break;
		case 'h':
			cli_usage(stdout, "match");
			goto done;
		default:
			cli_usage(stderr, "match");
			rc = EXIT_TROUBLE;
			goto done;
		}
	}
	if (nlists == 0 || optind >= argc) {
		cli_error(nlists ? "no image named" : "--list LIST is required");
		cli_usage(stderr, "match");
		rc = EXIT_TROUBLE;
		goto done;
	}
	if (ward_hashlist_new(&hl) != WARD_OK) {
		cli_error("out of memory");
		rc = EXIT_TROUBLE;
		goto done;
	}
	for (int i = 0; i < nlists; i++) {
		size_t bad = 0;
		ward_status st = ward_hashlist_load(hl, lists[i], on_list_warning, NULL, &bad);
		if (st != WARD_OK) {
			cli_error("%s: %s", lists[i], ward_strerror(st));
			rc = EXIT_TROUBLE;
			goto done;
		}
		if (bad)
			rc = EXIT_TROUBLE; /* reported line by line; the rest is still used */
	}
	if (ward_hashlist_build(hl) != WARD_OK) {
		cli_error("out of memory building the index");
		rc = EXIT_TROUBLE;
		goto done;
	}
	int found = 0;
	for (int i = optind; i < argc; i++) {
		ward_image_hashes ih;
		char name[1100];
		if (hash_one(argv[i], dihedral ? WARD_IMAGE_DIHEDRAL : 0, &ih) != 0) {
			rc = EXIT_TROUBLE;
			continue;
		}
		cli_clean_text(argv[i], strlen(argv[i]), name, sizeof name);
		match_run r = {json, name, &ih, json ? json_array() : NULL, 0};
		ward_status st = ward_hashlist_match(hl, &ih, distance, on_match, &r);
		if (st != WARD_OK) {
			cli_error("%s: %s", name, ward_strerror(st));
			rc = EXIT_TROUBLE;
		}
		if (json) {
			json_t *j = json_object();
			hash_json(j, name, &ih, 0);
			json_object_set_new(j, "matches", r.matches);
			put_json(j);
		} else if (r.n == 0) {
			printf("%s: no match (pdq quality %d%s)\n", name, ih.quality,
			       ih.quality < WARD_PDQ_MIN_QUALITY ? ", not reliable" : "");
		}
		found |= r.n > 0;
	}
	if (rc == EXIT_CLEAN && found)
		rc = EXIT_FOUND;
	else if (rc == EXIT_TROUBLE)
		rc = EXIT_TROUBLE;
done:
	ward_hashlist_free(hl);
	return rc;
}
