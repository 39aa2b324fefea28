/*
 * fuzz_telnet.c
 *	  The telnet listener's line reader and command splitting
 *	  (src/daemon/telnet.c: serve and handle_line): the input is what a
 *	  client sends before closing its side, written into a socket pair
 *	  whose other end serve() reads, as it does an accepted connection.
 *	  An odd first byte prefixes 65,533 bytes without a newline, so that
 *	  the over-long line's path is taken.  The database is replaced by a
 *	  transaction that cannot begin (put batches answer their error line).
 */
#define txn_begin_trusted fuzz_txn_begin_trusted
#include "../../src/daemon/telnet.c"

#include <assert.h>
#include <fcntl.h>

#include "fuzz_common.h"

static VsConfig fz_cfg;
static long fz_flushes;

bool
fuzz_txn_begin_trusted(VsRequest *r, VsTxn *t, const char *tenant, const char *role, bool read_only)
{
	memset(t, 0, sizeof(*t));
	t->status = 503;
	t->message = strdup("no database in the fuzzer");
	fz_flushes++;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready = false;
	int			sv[2];
	TelnetConn *c;
	char		sink[65536];
	size_t		pre;

	if (!ready)
	{
		char		err[256];

		log_set_level("crit");
		if (config_load(&fz_cfg, NULL, err, sizeof(err)) != 0)
			abort();
		log_set_level("crit");
		vs_config = &fz_cfg;
		tenant_name = "fuzz";
		ready = true;
	}
	if (size < 1)
		return 0;
	pre = (data[0] & 1) ? TELNET_MAX_LINE - 3 : 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	{
		int			big = 1 << 20;

		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	}
	/* the client's bytes, then its end of sending */
	if (pre > 0)
	{
		char	   *fill = malloc(pre);

		memset(fill, 'p', pre);
		for (size_t off = 0; off < pre;)
		{
			ssize_t		n = write(sv[1], fill + off, pre - off);

			assert(n > 0);
			off += (size_t) n;
		}
		free(fill);
	}
	for (size_t off = 1; off < size;)
	{
		ssize_t		n = write(sv[1], data + off, size - off);

		assert(n > 0);
		off += (size_t) n;
	}
	shutdown(sv[1], SHUT_WR);
	/* what serve() answers must not block it: a full socket ends the client */
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	c = calloc(1, sizeof(TelnetConn));
	c->fd = sv[0];
	c->alive = true;
	strcpy(c->peer, "fuzz");
	pthread_mutex_lock(&tmu);
	telnet_conns++;
	pthread_mutex_unlock(&tmu);
	serve(c);					/* closes sv[0], frees c */
	while (read(sv[1], sink, sizeof(sink)) > 0)
		;
	close(sv[1]);
	assert(telnet_active() == 0);
	return 0;
}
