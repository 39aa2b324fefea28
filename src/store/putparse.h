/*-------------------------------------------------------------------------
 *
 * putparse.h
 *	  The OpenTSDB /api/put payload: parsing and per-point validation.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_PUTPARSE_H
#define VSCOPE_PUTPARSE_H

#include "store/store.h"

#include "common/jsonapi.h"

/* A field as it came: absent, JSON null, a scalar's text, or a container. */
typedef enum VsFieldState
{
	VS_FIELD_ABSENT = 0,
	VS_FIELD_NULL,
	VS_FIELD_SCALAR,
	VS_FIELD_CONTAINER
} VsFieldState;

typedef struct VsRawPoint
{
	VsFieldState metric_state;
	char	   *metric;
	VsFieldState ts_state;
	char	   *ts;
	JsonTokenType ts_type;
	VsFieldState value_state;
	char	   *value;
	JsonTokenType value_type;
	VsFieldState tags_state;
	VsTag	   *tags;
	int			ntags;
	int			tags_cap;
	bool		tags_bad;		/* a tag value was an object or array */
	bool		is_null;		/* the array element itself was null */
} VsRawPoint;

/* A validated point, ready to be stored. */
typedef struct VsGoodPoint
{
	const char *metric;
	VsTag	   *tags;
	int			ntags;
	TimestampTz ts;
	bool		is_int;
	int64		ivalue;
	double		value;
} VsGoodPoint;

extern VsRawPoint *VsParsePut(const char *json, int len, int *npoints);
extern const char *VsValidatePoint(VsRawPoint *raw, VsGoodPoint *good, TimestampTz oldest);
extern void VsAppendRawPointJson(StringInfo buf, const VsRawPoint *raw);
extern const char *VsParseLine(char *line, VsGoodPoint *good, TimestampTz oldest);
extern const char *VsParseValue(const char *s, bool *is_int, int64 *ivalue, double *value);

#endif							/* VSCOPE_PUTPARSE_H */
