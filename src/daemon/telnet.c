/*
 * telnet.c
 *	  OpenTSDB's line protocol on its own TCP port, for collectd's write_tsdb
 *	  and tcollector: "put <metric> <ts> <value> <k=v> ...", plus version,
 *	  help and exit.  These clients send no credentials, so the listener
 *	  binds to loopback by default and writes to the one tenant named by
 *	  telnet-tenant.  Put lines are batched: a batch goes to
 *	  vscope.put_lines() in one transaction when it reaches TELNET_BATCH
 *	  lines or when the client pauses; a bad line gets OpenTSDB's error line
 *	  back and the connection stays usable.  A connection thread each.
 */
#include "telnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "pool.h"
#include "stats.h"

#define TELNET_BATCH 1000
#define TELNET_MAX_LINE 65536
#define TELNET_MAX_CONNECTIONS 64
#define TELNET_BATCH_BYTES (1024 * 1024)
#define TELNET_IDLE_SECONDS 600
#define TELNET_SEND_TIMEOUT_SECONDS 5

static int	listen_fd = -1;
static pthread_t accept_thread;
static volatile bool telnet_stopping = false;
static pthread_mutex_t tmu = PTHREAD_MUTEX_INITIALIZER;
static int	telnet_conns = 0;
static char *tenant_name;

typedef struct TelnetConn
{
	int			fd;
	char		peer[INET6_ADDRSTRLEN];
	VsBuf		batch;
	int			nbatch;
	bool		alive;			/* false once the client stops reading */
} TelnetConn;

/*
 * send_str writes to the client; one that does not take the bytes within
 * the socket's send timeout is given up on (alive = false).
 */
static void
send_str(TelnetConn *c, const char *s)
{
	size_t		len = strlen(s);

	while (len > 0 && c->alive)
	{
		ssize_t		n = send(c->fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
		{
			c->alive = false;
			return;
		}
		s += n;
		len -= (size_t) n;
	}
}

/*
 * flush writes the pending put lines in one transaction.  The error lines
 * are collected and sent only after the database connection is back in the
 * pool, so a client that does not read cannot hold one.
 */
static void
flush(TelnetConn *c)
{
	VsTxn		t;
	PGresult   *res;
	const char *params[1];
	char	   *err = NULL;
	VsBuf		replies = {0};

	if (c->nbatch == 0)
		return;
	if (!txn_begin_trusted(NULL, &t, tenant_name, "vscope_writer", false))
	{
		if (asprintf(&err, "put: Unexpected runtime exception: %s, lines dropped\n",
					 t.detail ? t.detail : t.message ? t.message : "database error") < 0)
			err = NULL;
	}
	else
	{
		params[0] = c->batch.data;
		res = txn_exec(&t, "SELECT vscope.put_lines($1)", 1, params);
		if (res == NULL)
		{
			if (asprintf(&err, "put: Unexpected runtime exception: %s, lines dropped\n",
						 t.message ? t.message : "database error") < 0)
				err = NULL;
		}
		else
		{
			struct json_object *out = json_tokener_parse(PQgetvalue(res, 0, 0));
			struct json_object *errors;
			struct json_object *success;

			if (!txn_commit(&t))
			{
				if (asprintf(&err, "put: Unexpected runtime exception: %s\n",
							 t.message ? t.message : "commit failed") < 0)
					err = NULL;
			}
			else if (out != NULL)
			{
				/* /api/stats counts the points written here too */
				if (json_object_object_get_ex(out, "success", &success))
					stats_points((long) json_object_get_int64(success));
				if (!json_object_object_get_ex(out, "errors", &errors))
					errors = NULL;
				for (size_t i = 0; errors != NULL && i < json_object_array_length(errors); i++)
				{
					struct json_object *e = json_object_array_get_idx(errors, i);
					struct json_object *msg;

					if (json_object_object_get_ex(e, "error", &msg))
					{
						const char *m = json_object_get_string(msg);

						buf_append(&replies, m, strlen(m));
						buf_append(&replies, "\n", 1);
					}
				}
			}
			if (out)
				json_object_put(out);
			PQclear(res);
		}
		txn_end(&t);
	}
	txn_free(&t);
	if (err != NULL)
	{
		vs_log(LOG_WARN, "telnet %s: %s", c->peer, err);
		send_str(c, err);
		free(err);
	}
	if (replies.len > 0)
		send_str(c, replies.data);
	free(replies.data);
	vs_log(LOG_DEBUG, "telnet %s: %d line(s)", c->peer, c->nbatch);
	c->batch.len = 0;
	if (c->batch.data)
		c->batch.data[0] = '\0';
	c->nbatch = 0;
}

/*
 * dropcaches answers telnet's "dropcaches" as OpenTSDB does: every
 * backend's caches emptied (vscope.drop_caches(), as /api/dropcaches), as
 * an admin of the telnet tenant, since the listener trusts its clients
 */
static void
dropcaches(TelnetConn *c)
{
	VsTxn		t;
	PGresult   *res = NULL;
	bool		ok = false;

	if (txn_begin_trusted(NULL, &t, tenant_name, "vscope_admin", false))
	{
		res = txn_exec(&t, "SELECT vscope.drop_caches()", 0, NULL);
		ok = res != NULL && txn_commit(&t);
		if (res)
			PQclear(res);
		txn_end(&t);
	}
	if (ok)
		send_str(c, "Caches dropped.\n");
	else
	{
		char	   *err;

		if (asprintf(&err, "dropcaches: Unexpected runtime exception: %s\n",
					 t.message ? t.message : "database error") >= 0)
		{
			send_str(c, err);
			free(err);
		}
	}
	txn_free(&t);
}

/* utf8_valid tells whether s is well-formed UTF-8 (the database refuses the rest) */
static bool
utf8_valid(const unsigned char *s)
{
	while (*s)
	{
		int			n = *s < 0x80 ? 0 : (*s & 0xE0) == 0xC0 ? 1 : (*s & 0xF0) == 0xE0 ? 2
			: (*s & 0xF8) == 0xF0 ? 3 : -1;

		if (n < 0 || (n == 1 && *s < 0xC2))
			return false;
		s++;
		for (int i = 0; i < n; i++, s++)
			if ((*s & 0xC0) != 0x80)
				return false;
	}
	return true;
}

/* handle_line acts on one line; false to close the connection */
static bool
handle_line(TelnetConn *c, char *line)
{
	char	   *cmd = line;
	size_t		n;

	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	n = strcspn(cmd, " \t\r");
	if (cmd[0] == '\0' || cmd[0] == '\r')
		return true;
	stats_telnet(1);
	if (n == 3 && strncmp(cmd, "put", 3) == 0)
	{
		if (!utf8_valid((const unsigned char *) cmd))
		{
			send_str(c, "put: illegal argument: the line is not valid UTF-8\n");
			return c->alive;
		}
		buf_append(&c->batch, cmd, strlen(cmd));
		buf_append(&c->batch, "\n", 1);
		if (++c->nbatch >= TELNET_BATCH || c->batch.len >= TELNET_BATCH_BYTES)
			flush(c);
		return c->alive;
	}
	flush(c);
	if (n == 4 && strncmp(cmd, "exit", 4) == 0)
		return false;
	if (n == 7 && strncmp(cmd, "version", 7) == 0)
		send_str(c, "vscoped " VSCOPED_VERSION " (the OpenTSDB 2.4 telnet protocol)\n");
	else if (n == 4 && strncmp(cmd, "help", 4) == 0)
		send_str(c, "available commands: put stats dropcaches version help exit\n");
	else if (n == 5 && strncmp(cmd, "stats", 5) == 0)
	{
		char		host[256] = "";
		char	   *text;

		gethostname(host, sizeof(host) - 1);
		text = stats_text(host, http_connections(), vs_config->db_pool);
		if (text != NULL)
			send_str(c, text);
		free(text);
	}
	else if (n == 10 && strncmp(cmd, "dropcaches", 10) == 0)
		dropcaches(c);
	else
	{
		char	   *msg;

		if (asprintf(&msg, "unknown command: %.*s.  Try `help'.\n", (int) (n > 64 ? 64 : n), cmd) >= 0)
		{
			send_str(c, msg);
			free(msg);
		}
	}
	return c->alive;
}

static void *
serve(void *arg)
{
	TelnetConn *c = arg;
	char	   *buf = malloc(TELNET_MAX_LINE + 1);
	size_t		have = 0;
	bool		discarding = false;
	bool		open = buf != NULL;
	int			idle = 0;

	while (open && c->alive)
	{
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int			pr = poll(&pfd, 1, 100);
		ssize_t		got;

		if (pr == 0)
		{
			/* the client paused: what it sent so far is written now */
			flush(c);
			if (telnet_stopping || ++idle > TELNET_IDLE_SECONDS * 10)
				break;
			continue;
		}
		idle = 0;
		if (pr < 0)
		{
			if (errno == EINTR)
				continue;
			break;
		}
		got = recv(c->fd, buf + have, TELNET_MAX_LINE - have, 0);
		if (got <= 0)
			break;
		/* stopping: take what arrived, then flush and close below */
		if (telnet_stopping)
			open = false;
		have += (size_t) got;
		for (;;)
		{
			char	   *nl = memchr(buf, '\n', have);
			size_t		len;

			if (nl == NULL)
			{
				if (have == TELNET_MAX_LINE)
				{
					if (!discarding)
						send_str(c, "put: illegal argument: line longer than 65536 bytes\n");
					discarding = true;
					have = 0;
				}
				break;
			}
			len = (size_t) (nl - buf);
			*nl = '\0';
			if (len > 0 && buf[len - 1] == '\r')
				buf[len - 1] = '\0';
			if (!discarding && !handle_line(c, buf))
				open = false;
			if (!c->alive)
				break;
			discarding = false;
			memmove(buf, nl + 1, have - len - 1);
			have -= len + 1;
			if (!open)
				break;
		}
	}
	flush(c);
	close(c->fd);
	free(buf);
	free(c->batch.data);
	free(c);
	pthread_mutex_lock(&tmu);
	telnet_conns--;
	pthread_mutex_unlock(&tmu);
	return NULL;
}

static void *
accept_loop(void *arg)
{
	while (!telnet_stopping)
	{
		struct sockaddr_storage sa;
		socklen_t	salen = sizeof(sa);
		struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
		int			fd;
		TelnetConn *c;
		pthread_t	t;
		bool		full;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		fd = accept(listen_fd, (struct sockaddr *) &sa, &salen);
		if (fd < 0)
		{
			usleep(100000);		/* e.g. out of file descriptors: do not spin */
			continue;
		}
		pthread_mutex_lock(&tmu);
		full = telnet_conns >= TELNET_MAX_CONNECTIONS;
		if (!full)
			telnet_conns++;
		pthread_mutex_unlock(&tmu);
		if (full)
		{
			const char	msg[] = "too many connections\n";

			if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL) < 0)
				vs_log(LOG_DEBUG, "telnet: could not refuse a connection politely");
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(TelnetConn));
		if (c == NULL)
		{
			close(fd);
			pthread_mutex_lock(&tmu);
			telnet_conns--;
			pthread_mutex_unlock(&tmu);
			continue;
		}
		c->fd = fd;
		c->alive = true;
		{
			struct timeval tv = {.tv_sec = TELNET_SEND_TIMEOUT_SECONDS};

			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		}
		sockaddr_text((struct sockaddr *) &sa, c->peer, sizeof(c->peer));
		if (pthread_create(&t, NULL, serve, c) != 0)
		{
			close(fd);
			free(c);
			pthread_mutex_lock(&tmu);
			telnet_conns--;
			pthread_mutex_unlock(&tmu);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

/* telnet_start listens when telnet-tenant is set; -1 when it cannot */
int
telnet_start(const VsConfig *cfg)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr *addr;
	socklen_t	addrlen;
	int			one = 1;

	if (cfg->telnet_tenant == NULL || cfg->telnet_tenant[0] == '\0')
	{
		vs_log(LOG_INFO, "telnet put listener off (set telnet-tenant to turn it on)");
		return 0;
	}
	tenant_name = cfg->telnet_tenant;
	memset(&a4, 0, sizeof(a4));
	memset(&a6, 0, sizeof(a6));
	if (inet_pton(AF_INET, cfg->telnet_host, &a4.sin_addr) == 1)
	{
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t) cfg->telnet_port);
		addr = (struct sockaddr *) &a4;
		addrlen = sizeof(a4);
	}
	else if (inet_pton(AF_INET6, cfg->telnet_host, &a6.sin6_addr) == 1)
	{
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t) cfg->telnet_port);
		addr = (struct sockaddr *) &a6;
		addrlen = sizeof(a6);
	}
	else
	{
		vs_log(LOG_CRIT, "telnet-host \"%s\" is not an IPv4 or IPv6 address", cfg->telnet_host);
		return -1;
	}
	listen_fd = socket(addr->sa_family, SOCK_STREAM, 0);
	if (listen_fd >= 0)
		setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (listen_fd < 0 || bind(listen_fd, addr, addrlen) < 0)
		goto fail;
	if (listen(listen_fd, 64) < 0)
		goto fail;
	if (pthread_create(&accept_thread, NULL, accept_loop, NULL) != 0)
		goto fail;
	vs_log(LOG_INFO, "telnet put listener on %s:%d, writing to tenant \"%s\"",
		   cfg->telnet_host, cfg->telnet_port, tenant_name);
	return 0;
fail:
	vs_log(LOG_CRIT, "cannot listen for telnet puts on %s:%d: %s", cfg->telnet_host,
		   cfg->telnet_port, strerror(errno));
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	return -1;
}

/* telnet_stop stops accepting; connections flush what they have and close */
void
telnet_stop(void)
{
	if (listen_fd < 0)
		return;
	telnet_stopping = true;
	pthread_join(accept_thread, NULL);
	close(listen_fd);
	listen_fd = -1;
}

int
telnet_active(void)
{
	int			n;

	pthread_mutex_lock(&tmu);
	n = telnet_conns;
	pthread_mutex_unlock(&tmu);
	return n;
}
