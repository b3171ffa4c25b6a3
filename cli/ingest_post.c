/* The alert poster shared with the c-icap module: one source file, linked into both. */
#include "../icap/alertq.c"
