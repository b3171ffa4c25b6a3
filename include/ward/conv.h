/*
 * ward/conv.h: chat exports and the conversation model.
 *
 * Grooming is a process, not a word.  The readers here turn the chat exports a school has
 * (WhatsApp text exports, JSON Lines, CSV, plain "[time] name: text" lines) into messages that
 * keep their line number and byte offsets in the file.  The conversation model follows each
 * sender through a conversation, scores the grooming stages their messages show (rules tagged
 * with a `stage`), counts the personal details the other side gives away to them, lets old
 * evidence fade with time and with messages, and raises an alert (low, medium, high) when the
 * combination of stages, not one word, crosses a threshold.
 *
 * Message by message (live monitoring) and whole-file scans give the same alerts: the
 * whole-file scan is the message-by-message API run over the reader.
 */
#ifndef WARD_CONV_H
#define WARD_CONV_H

#include <ward/common.h>
#include <ward/text.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------- chat exports ---------------- */

typedef enum ward_chat_format {
	WARD_CHAT_AUTO = 0, /* detect from the first lines */
	WARD_CHAT_WHATSAPP, /* "[dd/mm/yyyy, hh:mm:ss] Name: text" or "dd/mm/yyyy, hh:mm - Name: text" */
	WARD_CHAT_JSONL,    /* one {"time","from","to","text"} object a line */
	WARD_CHAT_CSV,      /* CSV with a header naming time, from, to, text columns */
	WARD_CHAT_PLAIN,    /* "[time] name: text" */
	WARD_CHAT_FORMAT_COUNT
} ward_chat_format;

/* "auto", "whatsapp", "jsonl", "csv", "plain"; "?" when out of range.  Static. */
WARD_API const char *ward_chat_format_name(ward_chat_format f);
/* The format named name; -1 if none. */
WARD_API int ward_chat_format_from_name(const char *name);

/* Limits: longer input is refused (WARD_ETOOBIG); a longer message text is cut to the limit
 * (counted in ward_chat_stats.truncated); longer names are cut. */
#define WARD_CHAT_MAX_INPUT ((uint64_t)4 << 30)
#define WARD_CHAT_MAX_TEXT ((size_t)1 << 20)
#define WARD_CHAT_MAX_NAME 256
#define WARD_CHAT_MAX_TIME 64

/* One message.  Every pointer is valid only until the next call on the reader (or during the
 * callback that receives it); strings are not NUL-terminated.  from and to may be empty. */
typedef struct ward_chat_message {
	uint64_t index;         /* 0-based position in the export */
	uint64_t line;          /* 1-based line of the message's first line */
	uint64_t end_line;      /* line of its last line (multi-line messages) */
	uint64_t start, end;    /* byte offsets [start, end) of the whole message in the file */
	const char *time;       /* the time as written */
	size_t time_len;
	int64_t when;           /* seconds since 1970 (time zone ignored), or -1 if unreadable */
	const char *from;
	size_t from_len;
	const char *to;
	size_t to_len;
	const char *text;       /* the message text, unescaped (JSON, CSV quoting) */
	size_t text_len;
	uint64_t text_start;    /* file offset of text[0] when text_verbatim */
	int text_verbatim;      /* 1: text is a verbatim slice of the file at text_start, so
	                           offsets inside it map to the file exactly */
	int truncated;          /* 1: text was cut to WARD_CHAT_MAX_TEXT */
} ward_chat_message;

/* What a reader met on the way: for a clear report of malformed exports. */
typedef struct ward_chat_stats {
	ward_chat_format format;  /* the format read (detected or forced) */
	uint64_t messages;        /* messages delivered */
	uint64_t lines;           /* lines read */
	uint64_t skipped;         /* lines or records that were not messages and were skipped */
	uint64_t first_skipped;   /* line of the first of them, or 0 */
	uint64_t system;          /* system lines ("Messages are end-to-end encrypted") skipped */
	uint64_t bad_time;        /* messages whose time could not be read */
	uint64_t no_sender;       /* messages with an empty sender */
	uint64_t truncated;       /* messages cut to WARD_CHAT_MAX_TEXT */
	uint64_t invalid_utf8;    /* messages holding bytes that are not UTF-8 */
} ward_chat_stats;

/* Guesses the format of an export from its first 64 KiB.  Returns WARD_CHAT_AUTO when it
 * does not look like any chat export.  *confidence (may be NULL) gets the share, 0 to 1, of
 * sampled lines that fit the format. */
WARD_API ward_chat_format ward_chat_detect(const char *buf, size_t len, double *confidence);

typedef struct ward_chat_reader ward_chat_reader;

/* A reader over buf[0..len), which must stay valid and unchanged while the reader lives (it is
 * not copied).  fmt WARD_CHAT_AUTO detects; an input that is no chat export gives WARD_EFORMAT
 * and a message in *diag (may be NULL).  Caller frees *out with ward_chat_reader_free. */
WARD_API ward_status ward_chat_reader_new(const char *buf, size_t len, ward_chat_format fmt,
                                          ward_chat_reader **out, ward_diag *diag);
WARD_API void ward_chat_reader_free(ward_chat_reader *r);

/* The next message into *m (pointers valid until the next call).  Returns WARD_OK with
 * *m filled, or WARD_ENOENT at the end. */
WARD_API ward_status ward_chat_next(ward_chat_reader *r, ward_chat_message *m);

/* The reader's counts so far.  Valid until ward_chat_reader_free. */
WARD_API const ward_chat_stats *ward_chat_reader_stats(const ward_chat_reader *r);

/* Called for each message; return 0 to go on, anything else to stop (WARD_ESTOPPED). */
typedef int (*ward_chat_cb)(const ward_chat_message *m, void *ctx);

/* Reads every message of buf (see ward_chat_reader_new).  stats and diag may be NULL. */
WARD_API ward_status ward_chat_read(const char *buf, size_t len, ward_chat_format fmt,
                                    ward_chat_cb cb, void *ctx, ward_chat_stats *stats,
                                    ward_diag *diag);

/* ---------------- the conversation model ---------------- */

/* The stages, in the order rules name them with `stage`. */
typedef enum ward_stage {
	WARD_STAGE_FRIENDSHIP = 0,
	WARD_STAGE_RELATIONSHIP,
	WARD_STAGE_RISK_ASSESSMENT,
	WARD_STAGE_EXCLUSIVITY,
	WARD_STAGE_SECRECY,
	WARD_STAGE_ISOLATION,
	WARD_STAGE_PLATFORM_MOVE,
	WARD_STAGE_GIFTS,
	WARD_STAGE_IMAGE_REQUEST,
	WARD_STAGE_CAMERA_REQUEST,
	WARD_STAGE_MEETING,
	WARD_STAGE_PRESSURE,
	WARD_STAGE_PERSONAL_DETAILS, /* the child's side: details given away to the sender */
	WARD_STAGE_COUNT
} ward_stage;

/* "friendship", "risk-assessment", ...; "?" when out of range.  Static. */
WARD_API const char *ward_stage_name(ward_stage s);
/* The stage named name; -1 if none. */
WARD_API int ward_stage_from_name(const char *name);

typedef enum ward_conv_level {
	WARD_LEVEL_NONE = 0,
	WARD_LEVEL_LOW,
	WARD_LEVEL_MEDIUM,
	WARD_LEVEL_HIGH
} ward_conv_level;

/* "none", "low", "medium", "high".  Static. */
WARD_API const char *ward_conv_level_name(ward_conv_level l);
/* The level named name; -1 if none. */
WARD_API int ward_conv_level_from_name(const char *name);

/* Tuning.  ward_conv_config_default fills the values the evaluation set was measured with. */
typedef struct ward_conv_config {
	double half_life_messages; /* evidence halves every this many messages of the chat */
	double half_life_seconds;  /* ... and every this many seconds of chat time */
	double stage_cap;          /* most one stage can add to a score, however often it recurs */
	double present;            /* a stage counts as seen once its value reaches this */
	double low, medium, high;  /* score thresholds */
	unsigned low_stages, medium_stages, high_stages; /* distinct stages needed as well */
	unsigned medium_groups, high_groups; /* distinct stage groups needed (trust, risk and
	                                        secrecy, contact, pressure) */
	size_t max_participants;   /* senders followed; later ones share one slot */
	size_t max_evidence;       /* evidence items kept per alert */
} ward_conv_config;

WARD_API void ward_conv_config_default(ward_conv_config *c);

/* One item of evidence: a finding that fed a stage. */
typedef struct ward_conv_evidence {
	ward_stage stage;
	const ward_rule_info *rule; /* valid until ward_engine_free */
	uint64_t message;           /* 0-based message index */
	uint64_t line;              /* line in the file */
	uint64_t start, end;        /* byte offsets in the file */
	int from_other;             /* 1: said by the other side (personal details given away) */
} ward_conv_evidence;

/* The state of one sender whose messages cross a threshold.  Valid until the next
 * ward_conv_add_* call or ward_conv_free. */
typedef struct ward_conv_alert {
	const char *sender;         /* NUL-terminated */
	const char *recipient;      /* whom they wrote to most, NUL-terminated, may be "" */
	ward_area area;             /* grooming, or the area whose findings dominate */
	ward_conv_level level;      /* the highest level reached */
	double score;               /* the score when that level was reached */
	double stage_score[WARD_STAGE_COUNT];
	uint32_t stages;            /* bit (1u << stage) for every stage seen */
	uint64_t first_message;     /* 0-based index of the message that first raised an alert */
	uint64_t first_line;        /* its line */
	uint64_t level_message[4];  /* message that first reached each level (index by level) */
	const ward_conv_evidence *evidence;
	size_t nevidence;
	uint64_t evidence_dropped;  /* items beyond max_evidence */
} ward_conv_alert;

typedef struct ward_conv ward_conv;

/* A conversation model over e (not copied: e must outlive it).  cfg NULL for the defaults.
 * Caller frees *out with ward_conv_free. */
WARD_API ward_status ward_conv_new(const ward_engine *e, const ward_conv_config *cfg,
                                   ward_conv **out);
WARD_API void ward_conv_free(ward_conv *c);

/* Adds one message: scans its text with the engine, reports each finding to cb (may be NULL)
 * with offsets and lines in the file when the text is verbatim, in the message otherwise,
 * then updates the model.  *raised (may be NULL) gets the alert when this message raised one
 * or lifted its level, else NULL.  m->index must grow from call to call. */
WARD_API ward_status ward_conv_add_message(ward_conv *c, const ward_chat_message *m,
                                           ward_finding_cb cb, void *ctx,
                                           const ward_conv_alert **raised);

/* As ward_conv_add_message with the findings given rather than scanned (for other engines
 * and for tests): rules[i] found at file offsets starts[i] (starts may be NULL). */
WARD_API ward_status ward_conv_add_findings(ward_conv *c, const ward_chat_message *m,
                                            const ward_rule_info *const *rules,
                                            const uint64_t *starts, size_t n,
                                            const ward_conv_alert **raised);

/* The alerts so far (senders at level low or above), in the order they were raised.  Valid
 * until the next ward_conv_add_* call or ward_conv_free. */
WARD_API size_t ward_conv_alert_count(const ward_conv *c);
WARD_API const ward_conv_alert *ward_conv_alert_get(const ward_conv *c, size_t i);
/* Messages the model has seen. */
WARD_API uint64_t ward_conv_message_count(const ward_conv *c);

/* The whole-file scan: reads buf (see ward_chat_reader_new) and adds every message to a new
 * model.  findings (may be NULL) is told of every finding; stats and diag may be NULL.
 * Caller frees *out with ward_conv_free (also on some errors *out may be NULL). */
WARD_API ward_status ward_conv_scan_chat(const ward_engine *e, const ward_conv_config *cfg,
                                         const char *buf, size_t len, ward_chat_format fmt,
                                         ward_finding_cb findings, void *ctx, ward_conv **out,
                                         ward_chat_stats *stats, ward_diag *diag);

#ifdef __cplusplus
}
#endif
#endif
