/* chat_int.h: internals of the chat readers and the conversation model, shared with tests. */
#ifndef WARD_CHAT_INT_H
#define WARD_CHAT_INT_H

#include <ward/conv.h>

#include "text_int.h"

/* Seconds since 1970 for a time as chat exports write it (ISO 8601, "dd/mm/yyyy, hh:mm[:ss]"
 * with am/pm, a clock alone as seconds of the day, or seconds or milliseconds since 1970);
 * -1 when it cannot be read.  Time zones are ignored. */
int64_t chat_parse_time(const char *s, size_t n);

#endif
