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

#endif							/* VSCOPE_ERRORS_H */
