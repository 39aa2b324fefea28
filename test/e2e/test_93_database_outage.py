"""The database goes away and comes back while requests run: vscoped
answers 503 in each API's own error form meanwhile, never hangs, and serves
again without a restart.  A statement that outlives request-timeout is a 504
in the API's error form, answered when the timeout fires."""
import os
import subprocess
import threading
import time

from faults import PGBIN, cluster_answers, cluster_start, free_port, pg_ctl, spawn, stop, wait_for
from vstest import assert_status, assert_tsdb_error

T = "e2e-outage"
DAY = 1396310400                 # 2014-04-01 00:00 UTC
LOG = "vscoped_outage.log"


def setup(ctx):
    """The past day written to below (writes never make partitions)."""
    ctx.add_days("2014-04-01")


def put(ctx, tok, port, i, timeout=60):
    body = {"metric": "outage.m", "timestamp": DAY + i, "value": i, "tags": {"h": "a"}}
    return ctx.post("/api/put", body, token=tok, port=port, timeout=timeout)


def test_database_away_and_back(ctx):
    tok = ctx.token(T)
    port = free_port(ctx.port + 8)
    proc = spawn(ctx, port, {"VSCOPE_DB_POOL": "3"}, LOG)
    statuses = []
    stopping = threading.Event()
    threads = []

    def hammer():
        """Requests all along the outage: each 204 or 503, never a hang."""
        i = 1000
        while not stopping.is_set():
            t0 = time.monotonic()
            r = put(ctx, tok, port, i, timeout=60)
            statuses.append((r.status, time.monotonic() - t0, r.body))
            i += 1
            if r.status != 204:
                time.sleep(0.02)
    try:
        assert_status(put(ctx, tok, port, 0), 204)
        threads += [threading.Thread(target=hammer) for _ in range(2)]
        for t in threads:
            t.start()
        wait_for(lambda: len(statuses) >= 4, "puts before the outage")
        # away: without a checkpoint, every connection cut
        pg_ctl(ctx, "-m", "immediate", "-w", "stop")
        before = len(statuses)
        wait_for(lambda: sum(1 for s in statuses[before:] if s[0] == 503) >= 4,
                 "503s while the database is away")

        # each API answers in its own error form, at once
        t0 = time.monotonic()
        e = assert_tsdb_error(put(ctx, tok, port, 1), 503)
        assert e["message"], e
        r = ctx.get("/v2/meters", token=tok, port=port)
        assert_status(r, 503)
        assert set(r.json()) == {"error_message"}, r
        assert r.json()["error_message"]["faultcode"], r
        r = ctx.get("/api/query?start=1396310400&end=1396310500&m=sum:outage.m", token=tok, port=port)
        assert_tsdb_error(r, 503)
        assert_status(ctx.get("/ready", port=port), 503)
        assert_status(ctx.get("/live", port=port), 200)
        assert time.monotonic() - t0 < 30, "answers during the outage were slow"

        # back: the same vscoped serves again
        cluster_start(ctx)
        wait_for(lambda: cluster_answers(ctx), "the cluster started again")
        assert_status(put(ctx, tok, port, 2), 204)
        assert_status(ctx.get("/ready", port=port), 200)
        after = len(statuses)
        wait_for(lambda: sum(1 for s in statuses[after:] if s[0] == 204) >= 4,
                 "puts acknowledged again after the outage")
    finally:
        stopping.set()
        for t in threads:
            t.join(120)
        stop(proc)
    assert {s[0] for s in statuses} <= {204, 503}, \
        [s for s in statuses if s[0] not in (204, 503)][:3]
    # 503s came quickly (no connection: no wait for the pool's timeout)
    slow = [s for s in statuses if s[0] == 503 and s[1] > 30]
    assert not slow, slow[:3]
    assert proc.returncode == 0
    assert ctx.as_tenant(T, "SELECT count(*) >= 3 FROM vscope.datapoints WHERE metric = 'outage.m'") \
        == [["t"]]


def test_statement_timeout_is_a_504(ctx):
    tok = ctx.token(T)
    port = free_port(ctx.port + 8)
    proc = spawn(ctx, port, {"VSCOPE_REQUEST_TIMEOUT": "1"}, LOG)
    # another session holds the points' table: the put waits on its lock
    holder = subprocess.Popen(
        [os.path.join(PGBIN, "psql"), "-X", "-q", "-U", "postgres", "-d", "vscope", "-c",
         "BEGIN; LOCK TABLE vscope.points IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(20); COMMIT;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: ctx.psql(
            "SELECT count(*) FROM pg_locks WHERE relation = 'vscope.points'::regclass "
            "AND mode = 'AccessExclusiveLock' AND granted") == [["1"]], "the lock held")
        t0 = time.monotonic()
        r = put(ctx, tok, port, 500)
        took = time.monotonic() - t0
        assert_tsdb_error(r, 504)
        assert took < 15, f"the 504 took {took:.1f} s, the lock is held 20 s"
    finally:
        holder.terminate()
        holder.wait(60)
        ctx.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 "WHERE query LIKE '%LOCK TABLE vscope.points%' AND pid <> pg_backend_pid()")
    try:
        wait_for(lambda: put(ctx, tok, port, 501).status == 204, "puts once the lock is gone", 60, 0.2)
    finally:
        stop(proc)
