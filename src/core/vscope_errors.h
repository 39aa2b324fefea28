/*-------------------------------------------------------------------------
 *
 * vscope_errors.h
 *	  vscope's own SQLSTATEs, class "VS".  vscoped maps VSxyz to HTTP status
 *	  xyz; standard SQLSTATEs are mapped by class (see src/daemon/http.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_ERRORS_H
#define VSCOPE_ERRORS_H

#include "utils/elog.h"

/* the request is malformed or names something invalid */
#define ERRCODE_VS_BAD_REQUEST		MAKE_SQLSTATE('V','S','4','0','0')
/* no tenant is selected for this session */
#define ERRCODE_VS_NO_TENANT		MAKE_SQLSTATE('V','S','4','0','1')
/* the credentials do not allow the request */
#define ERRCODE_VS_FORBIDDEN		MAKE_SQLSTATE('V','S','4','0','3')
/* the request is too large */
#define ERRCODE_VS_TOO_LARGE		MAKE_SQLSTATE('V','S','4','1','3')
/* a named object (tenant, series) does not exist */
#define ERRCODE_VS_NOT_FOUND		MAKE_SQLSTATE('V','S','4','0','4')
/*
 * a mistake in a request that the API answers as a server error (OpenTSDB
 * 2.4 answers 500 to expression queries it cannot read)
 */
#define ERRCODE_VS_SERVER_ERROR		MAKE_SQLSTATE('V','S','5','0','0')

/*
 * VsErrorMustPropagate: whether an error caught with PG_TRY must be re-thrown
 * as it is rather than reworded into a request error.  These do not say the
 * input is wrong but that the session or the server must act on them: query
 * cancel and statement timeout (57014), shutdown (class 57), out of memory
 * and disk full (class 53), stack depth and other runaway recursion (54001),
 * deadlocks and serialization failures (class 40), I/O trouble (class 58)
 * and internal errors (class XX).  A caller that turned them into a 400
 * would tell the client to fix a request that was fine and hide the cause.
 */
static inline bool
VsErrorMustPropagate(int sqlerrcode)
{
	int			cls = ERRCODE_TO_CATEGORY(sqlerrcode);

	return cls == ERRCODE_TO_CATEGORY(ERRCODE_QUERY_CANCELED) ||
		cls == ERRCODE_TO_CATEGORY(ERRCODE_OUT_OF_MEMORY) ||
		cls == ERRCODE_TO_CATEGORY(ERRCODE_T_R_SERIALIZATION_FAILURE) ||
		cls == ERRCODE_TO_CATEGORY(ERRCODE_SYSTEM_ERROR) ||
		cls == ERRCODE_TO_CATEGORY(ERRCODE_INTERNAL_ERROR) ||
		sqlerrcode == ERRCODE_STATEMENT_TOO_COMPLEX;
}

#endif							/* VSCOPE_ERRORS_H */
