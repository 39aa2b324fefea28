/*
 * telnet.h
 *	  The OpenTSDB telnet-style put listener.
 */
#ifndef VSCOPED_TELNET_H
#define VSCOPED_TELNET_H

#include "config.h"

extern int	telnet_start(const VsConfig *cfg);
extern void telnet_stop(void);
extern int	telnet_active(void);

#endif							/* VSCOPED_TELNET_H */
