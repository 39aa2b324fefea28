/*-------------------------------------------------------------------------
 *
 * ceilometer.h
 *	  Ceilometer's times and message ids, shared by the Ceilometer modules.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_CEILOMETER_H
#define VSCOPE_CEILOMETER_H

#include "core/vscope.h"

extern bool VsCeiloParseTs(const char *s, TimestampTz *out);
extern char *VsCeiloFormatTs(TimestampTz ts);
extern bool VsCeiloParseMessageId(const char *s, int32 *series_id, TimestampTz *ts, int32 *seq);

#endif							/* VSCOPE_CEILOMETER_H */
