/*
 * pool.h
 *	  A fixed pool of libpq connections shared by the request threads.
 */
#ifndef VSCOPED_POOL_H
#define VSCOPED_POOL_H

#include <stdbool.h>

#include <libpq-fe.h>

extern bool pool_init(const char *conninfo, int size, int acquire_timeout);
extern PGconn *pool_acquire(void);
extern void pool_release(PGconn *conn);
extern bool pool_reconnect(PGconn **conn);
extern bool pool_contended(void);
extern void pool_close(void);

#endif							/* VSCOPED_POOL_H */
