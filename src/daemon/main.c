/*
 * main.c
 *	  vscoped: vscoped CONFIG-FILE | --example | --version
 *
 *	  Starts the HTTP server, runs vscope.maintain() every
 *	  maintenance-interval seconds, and on SIGTERM or SIGINT stops
 *	  accepting, waits for requests under way (up to 30 s), then exits.
 */
#include "auth.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "stats.h"
#include "telnet.h"
#include "udp.h"

#define DRAIN_SECONDS 30

static VsConfig cfg;
static volatile bool stopping = false;
static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cv = PTHREAD_COND_INITIALIZER;

/* maintainer runs vscope.maintain() now and then, as the authenticator */
static void *
maintainer(void *arg)
{
	for (;;)
	{
		struct timespec until;
		PGconn	   *c;

		c = pool_acquire();
		if (c != NULL)
		{
			/*
			 * Each call is its own transaction and compresses at most one day;
			 * a backlog (after an upgrade, or a long stop) is worked off call
			 * by call, a bounded number per round.
			 */
			for (int round = 0; round < 1000 && !stopping; round++)
			{
				PGresult   *res = PQexec(c, "SELECT vscope.maintain()");
				bool		pending = false;

				if (PQresultStatus(res) == PGRES_TUPLES_OK)
				{
					vs_log(LOG_DEBUG, "maintenance: %s", PQgetvalue(res, 0, 0));
					pending = strstr(PQgetvalue(res, 0, 0), "\"pending\": true") != NULL;
				}
				else
					vs_log(LOG_WARN, "maintenance failed: %s", PQresultErrorMessage(res));
				PQclear(res);
				if (!pending)
					break;
			}
			pool_release(c);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += cfg.maintenance_interval;
		pthread_mutex_lock(&stop_mu);
		while (!stopping)
			if (pthread_cond_timedwait(&stop_cv, &stop_mu, &until) != 0)
				break;
		pthread_mutex_unlock(&stop_mu);
		if (stopping)
			return NULL;
	}
}

int
main(int argc, char **argv)
{
	char		err[512];
	sigset_t	sigs;
	int			sig;
	pthread_t	maint;
	bool		have_maint = false;

	if (argc == 2 && strcmp(argv[1], "--example") == 0)
	{
		config_print_example();
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0)
	{
		printf("vscoped %s\n", VSCOPED_VERSION);
		return 0;
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
	{
		fprintf(stderr, "usage: vscoped [CONFIG-FILE]\n       vscoped --example\n");
		return 2;
	}
	if (config_load(&cfg, argc == 2 ? argv[1] : NULL, err, sizeof(err)) < 0)
	{
		fprintf(stderr, "vscoped: %s\n", err);
		return 2;
	}
	request_timeout_secs = cfg.request_timeout;
	vs_config = &cfg;
	stats_init();

	/* signals are taken by this thread alone, with sigwait */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!pool_init(cfg.db_uri, cfg.db_pool, cfg.db_pool_acquisition_timeout))
	{
		fprintf(stderr, "vscoped: out of memory\n");
		return 1;
	}
	auth_init(cfg.db_pool, cfg.db_pool_tenant_share, cfg.db_pool_acquisition_timeout);
	if (http_start(&cfg) < 0)
		return 1;
	vs_log(LOG_INFO, "vscoped %s listening on http://%s:%d/", VSCOPED_VERSION,
		   cfg.server_host, cfg.server_port);
	if (telnet_start(&cfg) < 0)
	{
		http_stop();
		return 1;
	}
	if (udp_start(&cfg) < 0)
	{
		telnet_stop();
		http_stop();
		return 1;
	}
	if (cfg.maintenance_interval > 0 &&
		pthread_create(&maint, NULL, maintainer, NULL) == 0)
		have_maint = true;

	for (;;)
	{
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP)
		{
			vs_log(LOG_INFO, "SIGHUP: configuration reload is not supported yet; restart to apply changes");
			continue;
		}
		break;
	}

	vs_log(LOG_INFO, "%s: no new connections; finishing %d request(s)",
		   sig == SIGTERM ? "SIGTERM" : "SIGINT", http_active());
	http_quiesce();
	telnet_stop();
	udp_stop();
	for (int i = 0; i < DRAIN_SECONDS * 10 && (http_active() > 0 || telnet_active() > 0); i++)
		usleep(100000);
	if (http_active() > 0 || telnet_active() > 0)
		vs_log(LOG_WARN, "%d request(s) and %d telnet connection(s) still under way after %d s; stopping anyway",
			   http_active(), telnet_active(), DRAIN_SECONDS);
	pthread_mutex_lock(&stop_mu);
	stopping = true;
	pthread_cond_broadcast(&stop_cv);
	pthread_mutex_unlock(&stop_mu);
	if (have_maint)
		pthread_join(maint, NULL);
	http_stop();
	/* a telnet thread still running would use a closed connection: leave them open */
	if (telnet_active() == 0)
		pool_close();
	vs_log(LOG_INFO, "stopped");
	return 0;
}
