/*
 * log.c
 *	  Leveled logging to stderr, one line per event, safe from any thread.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static VsLogLevel current = LOG_INFO;
static const char *const names[] = {"crit", "error", "warn", "info", "debug"};

/* log_set_level accepts crit, error, warn, info or debug */
bool
log_set_level(const char *name)
{
	for (int i = 0; i <= LOG_DEBUG; i++)
		if (strcasecmp(name, names[i]) == 0)
		{
			current = (VsLogLevel) i;
			return true;
		}
	return false;
}

/* vs_log writes one timestamped line when the level is enabled */
void
vs_log(VsLogLevel level, const char *fmt,...)
{
	char	   *line = NULL;
	char		stamp[32];
	struct timespec ts;
	struct tm	tm;
	va_list		ap;

	if (level > current)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ %s: %s\n", stamp, ts.tv_nsec / 1000000, names[level],
			line ? line : fmt);
	free(line);
}

/* log_safe copies s with control characters, quotes and backslashes escaped (malloc) */
char *
log_safe(const char *s)
{
	size_t		n = 0;
	char	   *out;
	char	   *o;

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		n += (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\') ? 4 : 1;
	out = malloc(n + 1);
	if (out == NULL)
		return strdup("?");
	o = out;
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
		{
			snprintf(o, 5, "\\x%02x", *p);
			o += 4;
		}
		else
			*o++ = (char) *p;
	}
	*o = '\0';
	return out;
}
