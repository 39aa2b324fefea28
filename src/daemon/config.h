/*
 * config.h
 *	  vscoped's settings: a config file of key = value lines, VSCOPE_*
 *	  environment variables overriding it, @file for secrets; and the
 *	  daemon's version.
 */
#ifndef VSCOPED_CONFIG_H
#define VSCOPED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define VSCOPED_VERSION "0.2.1"

typedef struct VsConfig
{
	char	   *db_uri;
	int			db_pool;
	int			db_pool_acquisition_timeout;	/* seconds */
	char	   *server_host;
	int			server_port;
	char	   *log_level;
	long		max_body_size;	/* bytes */
	int			max_connections;
	int			max_connections_per_client;	/* per source address; 0 = no limit */
	long		connection_memory;	/* libmicrohttpd's memory per connection, bytes */
	long		max_bytes_in_flight;	/* request bodies buffered at once, bytes */
	int			db_pool_tenant_share;	/* percent of db-pool one tenant may hold */
	int			request_timeout;	/* seconds, per SQL statement */
	int			client_timeout;	/* seconds to send a whole request */
	int			maintenance_interval;	/* seconds; 0 = never */
	char	   *telnet_host;
	int			telnet_port;
	char	   *telnet_tenant;	/* "" = no telnet listener */
	char	   *public_url;		/* the API's own URL, as clients reach it */
	char	   *identity_headers;	/* Ceilometer callers: "token" or "keystone" */
	char	   *keystone_tenant;	/* the tenant keystone callers act in */
	char	   *keystone_trusted;	/* addresses whose identity headers are trusted */
	char	   *udp_host;		/* Ceilometer's udp publisher's listener */
	int			udp_port;
	char	   *udp_tenant;		/* "" = no udp listener */
	char	   *udp_secret;		/* "" = signatures not checked */
} VsConfig;

extern int	config_load(VsConfig *cfg, const char *path, char *err, size_t errlen);
extern void config_print_example(void);


/* the settings in force (main.c) */
extern const VsConfig *vs_config;

#endif							/* VSCOPED_CONFIG_H */
