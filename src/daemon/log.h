/*
 * log.h
 *	  Leveled log lines on stderr.
 */
#ifndef VSCOPED_LOG_H
#define VSCOPED_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum
{
	LOG_CRIT, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG
} VsLogLevel;
extern bool log_set_level(const char *name);
extern void vs_log(VsLogLevel level, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern char *log_safe(const char *s);

#endif							/* VSCOPED_LOG_H */
