/*
 * udp.h
 *	  The listener for Ceilometer's udp publisher.
 */
#ifndef VSCOPED_UDP_H
#define VSCOPED_UDP_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

extern int	udp_start(const VsConfig *cfg);
extern void udp_stop(void);

/* Ceilometer's message signature of one msgpack map (exposed for tests) */
extern bool udp_signature(const unsigned char *data, size_t len, const char *secret, char hex[65]);

#endif							/* VSCOPED_UDP_H */
