/* common.c: errors, version, severities. */
#include <string.h>

#include <ward/common.h>

static const char *const status_text[WARD_STATUS_COUNT_] = {
	[WARD_OK] = "no error",
	[WARD_ENOMEM] = "out of memory",
	[WARD_EINVAL] = "invalid argument",
	[WARD_EIO] = "input/output error",
	[WARD_ENOENT] = "no such file or directory",
	[WARD_ETOOBIG] = "input too large",
	[WARD_ESYNTAX] = "syntax error",
	[WARD_ECOMPILE] = "pattern could not be compiled",
	[WARD_EFORMAT] = "format not recognised",
	[WARD_EIMAGE] = "image could not be decoded",
	[WARD_ELIMIT] = "input exceeds a safety limit",
	[WARD_EUNSUPPORTED] = "not supported",
	[WARD_ESTOPPED] = "stopped by the caller",
	[WARD_EINTERNAL] = "internal error in ward (please report it)",
};

const char *ward_strerror(ward_status st)
{
	if ((unsigned)st >= WARD_STATUS_COUNT_ || !status_text[st])
		return "unknown error";
	return status_text[st];
}

const char *ward_version(void)
{
	return WARD_VERSION;
}

static const char *const severity_names[] = {"low", "medium", "high", "critical"};

const char *ward_severity_name(ward_severity s)
{
	if ((unsigned)s >= sizeof severity_names / sizeof *severity_names)
		return "?";
	return severity_names[s];
}

int ward_severity_from_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof severity_names / sizeof *severity_names; i++)
		if (strcmp(name, severity_names[i]) == 0)
			return (int)i;
	return -1;
}
