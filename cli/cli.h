/* cli.h: what ward's subcommands share.  Each subcommand lives in cli/cmd_NAME.c and is listed
 * once, in the table in cli/ward.c, which drives dispatch, `ward --help` and `ward help CMD`. */
#ifndef WARD_CLI_H
#define WARD_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <ward/ward.h>

/* Exit statuses, as grep and clamscan use them. */
enum { EXIT_CLEAN = 0, EXIT_FOUND = 1, EXIT_TROUBLE = 2 };

typedef struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
	const char *summary;               /* one line for `ward --help` */
	const char *usage;                 /* full help for `ward CMD --help` */
} cli_command;

/* The table, terminated by an entry with name NULL. */
extern const cli_command cli_commands[];

/* Prints "ward: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the usage of the named command to f. */
void cli_usage(FILE *f, const char *name);

/* Loads the engine from path (NULL: default), printing a clear message on failure. */
ward_status cli_load_engine(const char *path, ward_engine **out);

/* Copies n bytes of untrusted text to out (capacity cap, NUL-terminated) as valid UTF-8 with
 * control and bidi characters replaced by spaces: safe for a terminal and for JSON.
 * Returns the length written. */
size_t cli_clean_text(const char *in, size_t n, char *out, size_t cap);

/* A progress bar on stderr, shown only on a terminal and for large inputs. */
typedef struct cli_progress {
	uint64_t total, done;
	double started, last;
	int enabled, shown;
} cli_progress;
void cli_progress_init(cli_progress *p, uint64_t total, int enabled);
void cli_progress_add(cli_progress *p, uint64_t n);
void cli_progress_done(cli_progress *p);

/* Conversations (conv_output.c): chat exports scanned message by message with the conversation
 * model.  Prints each finding ("kind":"finding" in JSON, with the message index and sender),
 * each alert at min_level or above ("kind":"conversation": area, level, score, sender,
 * stages, evidence with lines and rule ids) and what the reader met ("kind":"chat"; in human
 * output a line on stderr); human output ends with the seed's advice.  Returns EXIT_CLEAN,
 * EXIT_FOUND or EXIT_TROUBLE (not a chat export, unreadable).  buf is not kept. */
typedef struct cli_conv_opts {
	int json, quiet;
	ward_chat_format format; /* WARD_CHAT_AUTO to detect */
	int min_sev;             /* findings below this severity are not printed */
	uint32_t areas;          /* bit per area to report; 0 = all */
	int min_level;           /* alerts below this ward_conv_level are not printed; 0 = low */
} cli_conv_opts;
int cli_scan_conversation(ward_engine *e, const char *name, const char *buf, size_t len,
                          const cli_conv_opts *o);
/* As cli_scan_conversation, reading path ("-" for standard input) whole. */
int cli_scan_conversation_file(ward_engine *e, const char *path, const cli_conv_opts *o);
/* 1 when buf, or the first 64 KiB of the file at path, looks like a chat export. */
int cli_is_chat_export(const char *buf, size_t len);
int cli_sniff_chat_file(const char *path);

/* The web filter (cmd_url.c).  lists, map, rules may be NULL (no lists; default rules). */
typedef struct cli_url_opts {
	int json, quiet, no_search;
	const char *lists, *map, *rules;
	const char *log_name; /* Squid access log for cli_scan_squid_log ("-": stdin) */
} cli_url_opts;
/* Reads the Squid native access log o->log_name and prints each request that lists or search
 * rules flag or block, with time (UTC), client address and method.  Returns EXIT_CLEAN,
 * EXIT_FOUND or EXIT_TROUBLE (lists, rules or log unreadable). */
int cli_scan_squid_log(const cli_url_opts *o);

/* Subcommands. */
int cmd_areas(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_guide(int argc, char **argv);
int cmd_url(int argc, char **argv);
int cmd_hash(int argc, char **argv);  /* cmd_hash.c */
int cmd_match(int argc, char **argv); /* cmd_hash.c */
int cmd_admin(int argc, char **argv);
/* `ward admin favourites` (cmd_favourites.c): argv[0] is "favourites". */
int cmd_admin_favourites(int argc, char **argv);
int cmd_ingest(int argc, char **argv); /* cmd_ingest.c */

#endif
