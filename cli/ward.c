/* ward.c: `ward`, the command-line tool.  The table below is the one list of subcommands. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const cli_command cli_commands[] = {
	{"scan", cmd_scan, "scan text, files and directories for the nine areas of concern",
	 "usage: ward scan [OPTIONS] [FILE|DIR|-]...\n"
	 "Scans files (standard input when none or -) and directories, recursively.\n"
	 "\n"
	 "  -j, --json               JSON Lines: one object per finding\n"
	 "  -r, --rules PATH         rule file or directory (default: $WARD_RULES, ./rules,\n"
	 "                           the installed rules)\n"
	 "  -s, --min-severity SEV   report only findings of SEV or above\n"
	 "                           (low, medium, high, critical)\n"
	 "  -a, --area AREA          report only this area (repeatable; see `ward areas`)\n"
	 "  -q, --quiet              print nothing; the exit status tells\n"
	 "      --no-progress        no progress bar, even on a terminal\n"
	 "      --no-cache           do not read or write the compiled rule cache\n"
	 "  -c, --conversation       read the input as a chat export and run the conversation\n"
	 "                           model (automatic for files that look like one)\n"
	 "      --no-conversation    scan chat exports as plain text\n"
	 "      --format FMT         chat format: auto, whatsapp, jsonl, csv, plain\n"
	 "      --min-level LEVEL    conversation alerts of LEVEL or above (low, medium, high)\n"
	 "      --squid-log FILE     read a Squid native access log: report the requests that\n"
	 "                           lists or search terms put in an area (see ward url)\n"
	 "      --lists DIR, --map FILE   the lists for --squid-log (as for ward url)\n"
	 "      --hash-list LIST     hash images (JPEG, PNG, WebP, GIF) in memory and match them\n"
	 "                           against LIST (repeatable; as for ward match): a match is a\n"
	 "                           critical finding.  Without it, images are not decoded.\n"
	 "      --threads N          threads for files of 16 MB or more (default: one per CPU,\n"
	 "                           at most 8; 1: one thread); the output is the same\n"
	 "\n"
	 "Exit status: 0 nothing found, 1 findings, 2 an error (the message names the file).\n"},
	{"rules", cmd_rules, "check, test and list rule databases",
	 "usage: ward rules check [FILE|DIR]...   parse and compile; report errors by line\n"
	 "       ward rules test  [FILE|DIR]...   run the inline examples of every rule\n"
	 "       ward rules list  [FILE|DIR]      list the rules: id, area, severity\n"
	 "       ward rules export-grep [FILE|DIR]\n"
	 "                                        print the plain phrases as grep -E patterns\n"
	 "                                        (for benchmarks against grep)\n"
	 "       ward rules anchors --sample PATH [--sample PATH]... [--json] [FILE|DIR]\n"
	 "                                        count each all line's terms in ordinary text\n"
	 "                                        (files or directories) and suggest the rarest\n"
	 "                                        as its anchor (all N anchor K:), which makes\n"
	 "                                        scans faster; findings never depend on it\n"
	 "With no FILE, the default rule database.  Exit status 0 when all is well, 1 when an\n"
	 "example fails, 2 on a syntax or compile error or a sample that cannot be read.\n"},
	{"areas", cmd_areas, "list the nine areas of concern and the seed's advice",
	 "usage: ward areas [--json] [AREA]\n"
	 "Lists the nine areas of concern with their stable ids; with AREA, the advice for it.\n"},
	{"guide", cmd_guide, "the guided response: what to do, and not do, for chosen areas",
	 "usage: ward guide [--json] [--file FILE] [--check] [AREA]...\n"
	 "Prints the checklist (the seed's do's and don'ts), the questions that make a case\n"
	 "urgent, and whom to contact, for the areas named (all when none).\n"
	 "\n"
	 "  -j, --json        JSON: checklist, triggers, contacts\n"
	 "  -f, --file FILE   the guidance file (default: $WARD_GUIDANCE,\n"
	 "                    ./guidance/response.txt, the installed copy)\n"
	 "      --check       only read the file and report errors by line\n"},
	{"hash", cmd_hash, "PDQ perceptual hash, quality and MD5/SHA-1/SHA-256 of images",
	 "usage: ward hash [--json] [--dihedral] FILE...\n"
	 "Decodes each image (JPEG, PNG, WebP, GIF first frame) in memory and prints file, pdq\n"
	 "(64 hex digits, as Meta's reference prints it), quality (under 50: not reliable), md5,\n"
	 "sha1, sha256, width and height.  No image byte is written anywhere.\n"
	 "\n"
	 "  -j, --json       one JSON object per image\n"
	 "  -d, --dihedral   also the 8 rotated and mirrored PDQ hashes\n"
	 "\n"
	 "Exit status: 0 all hashed, 2 an image could not be read (the message says why).\n"},
	{"match", cmd_match, "match images against PDQ and MD5/SHA-1/SHA-256 hash lists",
	 "usage: ward match --list LIST [--list LIST]... [--distance D] [--json] FILE...\n"
	 "Hashes each image and prints every list entry it matches: exact hashes, and PDQ\n"
	 "hashes within Hamming distance D (default 31), with the entry, label, area and\n"
	 "distance.  Lists hold one hash a line, optionally with a label and an area id.\n"
	 "\n"
	 "  -l, --list LIST      a hash list (repeatable)\n"
	 "  -D, --distance D     PDQ Hamming distance, 0 to 256 (default 31)\n"
	 "  -d, --dihedral       also match rotated and mirrored copies\n"
	 "  -j, --json           one JSON object per image with its matches\n"
	 "\n"
	 "Exit status: 0 no match, 1 a match, 2 an error (bad list lines are reported by\n"
	 "line number and the rest of the list is still used).\n"},
	{"ingest", cmd_ingest, "follow Squid and DNS query logs and post alerts to wardd",
	 "usage: ward ingest [OPTIONS]\n"
	 "Follows logs as they grow and posts what the web filter flags or blocks to wardd.\n"
	 "  -s, --squid-log FILE    Squid native access log (repeatable)\n"
	 "  -d, --dns-log FILE      dnsmasq or Unbound query log (repeatable)\n"
	 "  -c, --chat FILE         chat export, read again whenever it changes (repeatable)\n"
	 "  -S, --state FILE        where the position in each log is kept (required)\n"
	 "  -w, --wardd URL         wardd alerts endpoint, e.g. https://wardd/api/v1/alerts\n"
	 "  -t, --token-file FILE   file holding the service token\n"
	 "  -p, --spool FILE        alerts wardd has not taken yet (default STATE.spool)\n"
	 "  -l, --lists DIR         category lists; -m, --map FILE their mapping\n"
	 "  -r, --rules PATH        rules for search terms\n"
	 "      --monitor ADDR[/N]|user:NAME  only these subjects raise alerts (repeatable)\n"
	 "      --quiet-hours HH:MM-HH:MM     no alerts for events in these hours\n"
	 "      --area-off AREA     no alerts for this area (repeatable)\n"
	 "      --once              read to the end of each log and stop\n"
	 "      --interval MS       how often to look for new lines (default 500)\n"},
	{"url", cmd_url, "categorise URLs with block lists, allow-lists and search terms",
	 "usage: ward url [OPTIONS] [URL]...\n"
	 "Canonicalises each URL (standard input, one a line, when none), looks it up in the\n"
	 "category lists and runs a search engine's query through the text rules.\n"
	 "\n"
	 "  -j, --json          one object per URL: url, verdict (block, flag, allow), area,\n"
	 "                      category, list, matched; engine, query, findings for searches\n"
	 "  -l, --lists DIR     list directory or file (default: $WARD_LISTS); see ward-lists(5)\n"
	 "  -m, --map FILE      which category is which area, block or flag (default:\n"
	 "                      $WARD_LISTS_MAP; none: every category blocks)\n"
	 "  -r, --rules PATH    rules for search terms (default as for ward scan)\n"
	 "      --no-search     do not scan search terms\n"
	 "  -q, --quiet         print nothing; the exit status tells\n"
	 "\n"
	 "Exit status: 0 all allowed, 1 something blocked or flagged, 2 an error (a list that\n"
	 "cannot be read, a line that is not a URL).\n"},
	{"admin", cmd_admin, "set up wardd: a school and its first admin, accounts, audit, backups",
	 "usage: ward admin [--data-dir DIR] init --school NAME [--username NAME]\n"
	 "       ward admin [--data-dir DIR] user add --school NAME --username NAME --role ROLE\n"
	 "       ward admin [--data-dir DIR] user reset-totp --school NAME --username NAME\n"
	 "       ward admin [--data-dir DIR] token add --school NAME --name NAME\n"
	 "       ward admin [--data-dir DIR] audit verify\n"
	 "       ward admin [--data-dir DIR] backup FILE\n"
	 "       ward admin [--data-dir DIR] [--force] restore FILE\n"
	 "       ward admin [--data-dir DIR] trust add --name TRUST --school NAME\n"
	 "       ward admin [--data-dir DIR] migrate --to postgres --dsn CONNINFO\n"
	 "                  [--service-key FILE]\n"
	 "wardd's data directory (default: $WARD_DATA, /var/lib/ward) holds ward.db and wardd.key.\n"
	 "init creates both, the school and its first admin; a new password is printed once\n"
	 "(--password sets one of at least 12 characters).  Roles: staff, dsl, deputy-dsl, admin,\n"
	 "auditor; dsl, deputy-dsl and admin enrol an authenticator app (TOTP) at their first\n"
	 "sign-in, and reset-totp clears a lost one.  audit verify exits 1 and names the first\n"
	 "broken link when the chain or a concern was altered.  backup copies the live database\n"
	 "(safe while wardd runs), sealed with the key; restore needs the same key file.\n"
	 "trust add puts a school in a trust (a multi-academy trust or local authority), whose\n"
	 "trust-lead accounts (user add --role trust-lead) oversee its schools.  With --dsn or\n"
	 "WARD_POSTGRES_DSN every command works on PostgreSQL; migrate checks ward.db's audit\n"
	 "chain, copies it into a PostgreSQL service and verifies the chain there: as it is into\n"
	 "an empty one; beside schools already there with fresh ids, resealed under the\n"
	 "service's key (--service-key FILE) and the chain appended, its original kept.\n"},
	{NULL, NULL, NULL, NULL},
};

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("ward: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_usage(FILE *f, const char *name)
{
	for (const cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0) {
			fputs(c->usage, f);
			return;
		}
}

ward_status cli_load_engine(const char *path, ward_engine **out)
{
	ward_diag d;
	memset(&d, 0, sizeof d);
	ward_status st = ward_engine_load(path, 0, out, &d);
	if (st != WARD_OK) {
		if (d.file[0] && d.line)
			cli_error("%s:%u: %s", d.file, d.line, d.message[0] ? d.message : ward_strerror(st));
		else if (d.file[0])
			cli_error("%s: %s", d.file, d.message[0] ? d.message : ward_strerror(st));
		else
			cli_error("cannot load rules: %s", d.message[0] ? d.message : ward_strerror(st));
	}
	return st;
}

static void main_usage(FILE *f)
{
	fprintf(f, "usage: ward COMMAND [OPTIONS] [ARGS]\n"
	           "ward finds the nine areas of online concern for children in what a school "
	           "manages,\nand explains each finding.\n\nCommands:\n");
	for (const cli_command *c = cli_commands; c->name; c++)
		fprintf(f, "  %-8s %s\n", c->name, c->summary);
	fprintf(f, "\n`ward COMMAND --help` for a command's options; `man ward` for more.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		main_usage(stderr);
		return EXIT_TROUBLE;
	}
	const char *name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
		main_usage(stdout);
		return EXIT_CLEAN;
	}
	if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
		printf("ward %s\n", ward_version());
		return EXIT_CLEAN;
	}
	if (strcmp(name, "help") == 0) {
		if (argc > 2)
			cli_usage(stdout, argv[2]);
		else
			main_usage(stdout);
		return EXIT_CLEAN;
	}
	for (const cli_command *c = cli_commands; c->name; c++) {
		if (strcmp(c->name, name) != 0)
			continue;
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--") == 0)
				break;
			if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
				fputs(c->usage, stdout);
				return EXIT_CLEAN;
			}
		}
		return c->run(argc - 1, argv + 1);
	}
	cli_error("unknown command '%s' (see ward --help)", name);
	return EXIT_TROUBLE;
}
