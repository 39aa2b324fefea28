"""SIGTERM drains: a write under way is finished and committed, then vscoped exits 0."""
import json
import signal
import threading
import time

from faults import free_port, wait_for
from vstest import assert_status

T = "e2e-drain"


def setup(ctx):
    """The past days written to below (writes never make partitions)."""
    ctx.add_days("2013-01-01", "2013-01-02")


def test_sigterm_finishes_the_write_under_way(ctx):
    tok = ctx.token(T)
    port = free_port(ctx.port + 1)   # (the telnet port may be the next one)
    proc = ctx.spawn_daemon(port, VSCOPE_LOG_LEVEL="info")
    try:
        payload = [{"metric": "drain.m", "timestamp": 1356998400 + i, "value": i,
                    "tags": {"host": f"h{i % 500}"}} for i in range(150000)]
        # serialized here: on a loaded machine json.dumps alone can outlast
        # the 0.4 s below, and the SIGTERM would come before the request
        payload = json.dumps(payload)
        result = {}

        def put():
            result["r"] = ctx.post("/api/put", payload, token=tok, port=port)

        t = threading.Thread(target=put)
        t.start()
        # the put is being processed: its statement runs in a backend (or,
        # on a fast machine, it is already done and the drain is trivial)
        wait_for(lambda: not t.is_alive() or ctx.psql(
                     "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                     "AND backend_type = 'client backend' AND query ILIKE '%put%' "
                     "AND pid <> pg_backend_pid()") != [["0"]],
                 "the put to reach the database", timeout=60, step=0.01)
        proc.send_signal(signal.SIGTERM)
        t.join(60)
        assert_status(result["r"], 204)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert "SIGTERM" in out and "stopped" in out, out
        assert ctx.as_tenant(T, "SELECT count(*) FROM vscope.datapoints WHERE metric = 'drain.m'") == [["150000"]]
        # and it no longer listens
        try:
            ctx.get("/live", port=port, timeout=2)
            raise AssertionError("still answering after SIGTERM")
        except OSError:
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
