/*
 * config.c
 *	  vscoped's configuration, the PostgREST way: a file of "key = value"
 *	  lines given as the only argument, then VSCOPE_* environment variables
 *	  (key upper-cased, '-' as '_') overriding it.  A value "@path" is read
 *	  from that file (for secrets such as a db-uri with a password).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef enum
{
	T_STRING, T_INT, T_SIZE
} KeyType;

typedef struct KeyDef
{
	const char *name;
	KeyType		type;
	const char *def;
	const char *help;
	size_t		offset;
	long		min;
	long		max;
} KeyDef;

#define OFF(f) offsetof(VsConfig, f)

static const KeyDef keys[] = {
	{"db-uri", T_STRING, "postgresql://", "libpq connection string or URI; log in as the authenticator role (vscope_authenticator)", OFF(db_uri), 0, 0},
	{"db-pool", T_INT, "10", "connections in the pool", OFF(db_pool), 1, 1000},
	{"db-pool-acquisition-timeout", T_INT, "10", "seconds a request waits for a free connection before a 503", OFF(db_pool_acquisition_timeout), 1, 3600},
	{"server-host", T_STRING, "127.0.0.1", "address to listen on", OFF(server_host), 0, 0},
	{"server-port", T_INT, "4242", "HTTP port (4242 is OpenTSDB's)", OFF(server_port), 1, 65535},
	{"log-level", T_STRING, "info", "crit, error, warn, info (one access-log line per request) or debug", OFF(log_level), 0, 0},
	{"client-timeout", T_INT, "30", "seconds a client has to send a whole request (header and body), from its connection's opening or its previous answer; then the connection is closed", OFF(client_timeout), 1, 3600},
	{"max-body-size", T_SIZE, "16777216", "largest request body in bytes; larger gets a 413", OFF(max_body_size), 1024, 1L << 30},
	{"max-connections", T_INT, "256", "simultaneous HTTP connections", OFF(max_connections), 1, 65536},
	{"max-connections-per-client", T_INT, "64", "simultaneous HTTP connections from one client address; more are refused at once (0: no limit)", OFF(max_connections_per_client), 0, 65536},
	{"connection-memory", T_SIZE, "196608", "bytes each HTTP connection reads its request line and headers into (about 64 more per query parameter) and writes its answer's header from; a keep-alive connection keeps all of it once it has served a request. A query with more parameters than fit gets the API's own 414, a request line or headers longer than all of it libmicrohttpd's 414 or 431", OFF(connection_memory), 32768, 16L << 20},
	{"max-bytes-in-flight", T_SIZE, "268435456", "request bodies being received at once, in bytes, over all connections; a request past it gets a 503 with Retry-After", OFF(max_bytes_in_flight), 1024, 1L << 40},
	{"db-pool-tenant-share", T_INT, "50", "percent of db-pool one tenant may hold while other requests wait for a connection (at least one connection); past it its requests wait, then get a 503 with Retry-After", OFF(db_pool_tenant_share), 1, 100},
	{"request-timeout", T_INT, "60", "seconds one request's SQL may run (statement_timeout)", OFF(request_timeout), 1, 86400},
	{"telnet-host", T_STRING, "127.0.0.1", "address of the telnet put listener (its clients send no credentials: keep it on loopback)", OFF(telnet_host), 0, 0},
	{"telnet-port", T_INT, "4243", "port of the telnet put listener", OFF(telnet_port), 1, 65535},
	{"telnet-tenant", T_STRING, "", "the tenant telnet puts are written to; empty turns the listener off", OFF(telnet_tenant), 0, 0},
	{"public-url", T_STRING, "", "the API's URL as clients reach it (metrics tokens point there); empty: http://server-host:server-port", OFF(public_url), 0, 0},
	{"identity-headers", T_STRING, "token", "Ceilometer API (/v2/meters...) callers: token (a vscope token; its tenant is the project, admin scope is admin) or keystone (trust X-Roles, X-Project-Id, X-User-Id set by keystonemiddleware in front of vscoped)", OFF(identity_headers), 0, 0},
	{"keystone-tenant", T_STRING, "", "with identity-headers = keystone: the vscope tenant that holds the cloud's Ceilometer data", OFF(keystone_tenant), 0, 0},
	{"keystone-trusted-addresses", T_STRING, "127.0.0.1,::1", "with identity-headers = keystone: the client addresses (keystonemiddleware's proxy) whose identity headers are trusted, comma-separated; others get 401", OFF(keystone_trusted), 0, 0},
	{"ceilometer-udp-host", T_STRING, "127.0.0.1", "address of the listener for Ceilometer's udp publisher (udp://host:port in pipeline.yaml; it sends no credentials: keep it on loopback or a private address)", OFF(udp_host), 0, 0},
	{"ceilometer-udp-port", T_INT, "4952", "port of the Ceilometer udp listener (4952 is Ceilometer's)", OFF(udp_port), 1, 65535},
	{"ceilometer-udp-tenant", T_STRING, "", "the tenant of udp samples without a project (each other sample goes to its project's tenant; with identity-headers = keystone all go to keystone-tenant); empty turns the listener off", OFF(udp_tenant), 0, 0},
	{"ceilometer-udp-secret", T_STRING, "", "Ceilometer's [publisher] telemetry_secret: udp samples whose message_signature does not match are dropped; empty: not checked", OFF(udp_secret), 0, 0},
	{"maintenance-interval", T_INT, "3600", "seconds between runs of vscope.maintain() (partitions ahead, expiry); 0 never", OFF(maintenance_interval), 0, 86400 * 7},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* config_print_example prints a commented configuration with every key */
void
config_print_example(void)
{
	printf("# vscoped configuration: key = value; VSCOPE_<KEY> environment variables override\n");
	printf("# (e.g. VSCOPE_DB_URI for db-uri); a value \"@/path\" is read from that file.\n\n");
	for (size_t i = 0; i < NKEYS; i++)
	{
		printf("# %s\n", keys[i].help);
		if (keys[i].type == T_STRING)
			printf("%s = \"%s\"\n\n", keys[i].name, keys[i].def);
		else
			printf("%s = %s\n\n", keys[i].name, keys[i].def);
	}
}

static char *
trim(char *s)
{
	char	   *e;

	while (isspace((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

static char *
read_file_value(const char *path, char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "r");
	char	   *data = NULL;
	size_t		cap = 0;
	size_t		len = 0;
	size_t		n;
	char		chunk[4096];

	if (f == NULL)
	{
		snprintf(err, errlen, "cannot read \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
	{
		if (len + n + 1 > cap)
		{
			char	   *grown;

			cap = (len + n + 1) * 2;
			grown = realloc(data, cap);
			if (grown == NULL)
			{
				/* the old buffer is still ours to free */
				free(data);
				fclose(f);
				snprintf(err, errlen, "out of memory");
				return NULL;
			}
			data = grown;
		}
		memcpy(data + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (data == NULL)
		return strdup("");
	data[len] = '\0';
	{
		char	   *t = strdup(trim(data));

		free(data);
		return t;
	}
}

static int
set_key(VsConfig *cfg, const KeyDef *k, const char *raw, const char *origin,
		char *err, size_t errlen)
{
	char	   *val;
	char	   *end;
	long		n;

	if (raw[0] == '@')
	{
		val = read_file_value(raw + 1, err, errlen);
		if (val == NULL)
			return -1;
	}
	else
		val = strdup(raw);

	if (k->type == T_STRING)
	{
		char	  **slot = (char **) ((char *) cfg + k->offset);

		free(*slot);
		*slot = val;
		return 0;
	}
	errno = 0;
	n = strtol(val, &end, 10);
	if (errno != 0 || end == val || *trim(end) != '\0' || n < k->min || n > k->max)
	{
		snprintf(err, errlen, "%s: \"%s\" must be a whole number from %ld to %ld, not \"%s\"",
				 origin, k->name, k->min, k->max, val);
		free(val);
		return -1;
	}
	free(val);
	if (k->type == T_INT)
		*(int *) ((char *) cfg + k->offset) = (int) n;
	else
		*(long *) ((char *) cfg + k->offset) = n;
	return 0;
}

static const KeyDef *
find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/*
 * config_load fills cfg from defaults, the file (may be NULL) and the
 * environment; returns -1 with a message in err on any bad line.
 */
int
config_load(VsConfig *cfg, const char *path, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++)
		if (set_key(cfg, &keys[i], keys[i].def, "default", err, errlen) < 0)
			return -1;

	if (path != NULL)
	{
		FILE	   *f = fopen(path, "r");
		char	   *line = NULL;
		size_t		cap = 0;
		int			lineno = 0;

		if (f == NULL)
		{
			snprintf(err, errlen, "cannot open config file \"%s\": %s", path, strerror(errno));
			return -1;
		}
		while (getline(&line, &cap, f) >= 0)
		{
			char	   *s = trim(line);
			char	   *eq;
			char	   *name;
			char	   *value;
			const KeyDef *k;
			char		origin[64];

			lineno++;
			if (*s == '\0' || *s == '#')
				continue;
			eq = strchr(s, '=');
			if (eq == NULL)
			{
				snprintf(err, errlen, "%s:%d: expected \"key = value\"", path, lineno);
				goto fail;
			}
			*eq = '\0';
			name = trim(s);
			value = trim(eq + 1);
			if (value[0] == '"')
			{
				char	   *close = strrchr(value + 1, '"');

				if (close == NULL)
				{
					snprintf(err, errlen, "%s:%d: unterminated quoted value", path, lineno);
					goto fail;
				}
				*close = '\0';
				value++;
			}
			else
			{
				char	   *hash = strchr(value, '#');

				if (hash)
					*hash = '\0';
				value = trim(value);
			}
			k = find_key(name);
			if (k == NULL)
			{
				snprintf(err, errlen, "%s:%d: unknown key \"%s\" (vscoped --example lists them)",
						 path, lineno, name);
				goto fail;
			}
			snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
			if (set_key(cfg, k, value, origin, err, errlen) < 0)
				goto fail;
			continue;
	fail:
			free(line);
			fclose(f);
			return -1;
		}
		free(line);
		fclose(f);
	}

	for (size_t i = 0; i < NKEYS; i++)
	{
		char		env[96] = "VSCOPE_";
		size_t		p = strlen(env);
		const char *v;

		for (const char *c = keys[i].name; *c && p < sizeof(env) - 1; c++)
			env[p++] = *c == '-' ? '_' : (char) toupper((unsigned char) *c);
		env[p] = '\0';
		v = getenv(env);
		if (v != NULL && set_key(cfg, &keys[i], v, env, err, errlen) < 0)
			return -1;
	}
	if (strcmp(cfg->identity_headers, "token") != 0 && strcmp(cfg->identity_headers, "keystone") != 0)
	{
		snprintf(err, errlen, "identity-headers must be token or keystone, not \"%s\"",
				 cfg->identity_headers);
		return -1;
	}
	if (strcmp(cfg->identity_headers, "keystone") == 0 && cfg->keystone_tenant[0] == '\0')
	{
		snprintf(err, errlen, "identity-headers = keystone needs keystone-tenant (the tenant holding the cloud's data)");
		return -1;
	}
	if (!log_set_level(cfg->log_level))
	{
		snprintf(err, errlen, "log-level must be crit, error, warn, info or debug, not \"%s\"",
				 cfg->log_level);
		return -1;
	}
	return 0;
}
