/*-------------------------------------------------------------------------
 *
 * ceilometer.c
 *	  Small hot helpers of the Ceilometer API, in C because they run once
 *	  per answered row: Ceilometer's timestamp format (naive UTC ISO 8601,
 *	  microseconds only when there are some).
 *
 *-------------------------------------------------------------------------
 */
#include "vscope.h"

#include "datatype/timestamp.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

VS_FUNCTION_INFO_V1(vscope_ceilometer_ts);

/*
 * vscope_ceilometer_ts formats a timestamptz as Ceilometer does:
 * 2012-09-25T10:30:00, or 2012-09-25T10:30:00.250000 with microseconds.
 */
Datum
vscope_ceilometer_ts(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
	struct pg_tm tm;
	fsec_t		fsec;
	char		buf[64];

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range"),
				 errdetail("Ceilometer times are finite.")));
	/* no time zone: the broken-down time is UTC */
	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	if (tm.tm_year <= 0 || tm.tm_year > 9999)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for Ceilometer: year %d", tm.tm_year),
				 errdetail("Ceilometer times have years 1 to 9999.")));
	if (fsec != 0)
		snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06d",
				 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
	else
		snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d",
				 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}

VS_FUNCTION_INFO_V1(vscope_ceilometer_message_id);

/*
 * vscope_ceilometer_message_id makes a sample's id from where it is stored:
 * series_id (8 hex digits), microseconds since 1970 (16), seq (8), laid out
 * like a UUID.  vscope._ceilo_parse_message_id() reads it back.
 */
Datum
vscope_ceilometer_message_id(PG_FUNCTION_ARGS)
{
	uint32		series = (uint32) PG_GETARG_INT32(0);
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(1);
	uint32		seq = (uint32) PG_GETARG_INT32(2);
	uint64		us = (uint64) (ts + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
	char		hex[33];
	char		buf[37];

	snprintf(hex, sizeof(hex), "%08x%016llx%08x", series, (unsigned long long) us, seq);
	snprintf(buf, sizeof(buf), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}
