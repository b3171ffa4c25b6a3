/* squidlog.c: one line of Squid's native access.log.  The format is fixed by Squid's
 * logformat "squid": "%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt". */
#include <string.h>

#include <ward/url.h>

static int next_field(const char **p, const char *end, const char **f, size_t *n)
{
	const char *s = *p;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s >= end)
		return 0;
	const char *e = s;
	while (e < end && *e != ' ' && *e != '\t')
		e++;
	*f = s;
	*n = (size_t)(e - s);
	*p = e;
	return 1;
}

ward_status ward_squid_parse(const char *line, size_t len, ward_squid_entry *e)
{
	const char *f[10];
	size_t n[10];
	int nf = 0;
	if (!e || (!line && len))
		return WARD_EINVAL;
	memset(e, 0, sizeof *e);
	if (len > WARD_URL_MAX + 4096)
		return WARD_ETOOBIG;
	const char *p = line, *end = line + len;
	while (nf < 10 && next_field(&p, end, &f[nf], &n[nf]))
		nf++;
	if (nf < 7)
		return WARD_ESYNTAX;
	/* time: digits, a dot, digits */
	double t = 0, scale = 0;
	int digits = 0;
	for (size_t i = 0; i < n[0]; i++) {
		char c = f[0][i];
		if (c == '.' && scale == 0) {
			scale = 1;
		} else if (c >= '0' && c <= '9') {
			digits++;
			if (scale == 0) {
				t = t * 10 + (c - '0');
			} else {
				scale /= 10;
				t += (c - '0') * scale;
			}
		} else {
			return WARD_ESYNTAX;
		}
	}
	if (!digits || digits > 20)
		return WARD_ESYNTAX;
	/* elapsed: digits; code: a slash in it */
	for (size_t i = 0; i < n[1]; i++)
		if (f[1][i] < '0' || f[1][i] > '9')
			return WARD_ESYNTAX;
	if (!memchr(f[3], '/', n[3]))
		return WARD_ESYNTAX;
	e->time = t;
	e->client = f[2];
	e->client_len = n[2];
	e->code = f[3];
	e->code_len = n[3];
	e->method = f[5];
	e->method_len = n[5];
	e->url = f[6];
	e->url_len = n[6];
	if (nf > 7) {
		e->user = f[7];
		e->user_len = n[7];
	} else {
		e->user = "-";
		e->user_len = 1;
	}
	return WARD_OK;
}
