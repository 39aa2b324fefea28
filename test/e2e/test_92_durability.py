"""Durability under faults, and the database going away and coming back.

Writers put points all the time, over HTTP (/api/put, 204 is the
acknowledgement) and over telnet, while the test kills with SIGKILL first
vscoped, then one of its database backends in the middle of the puts, then
the postmaster.  Afterwards every acknowledged point is there exactly once
and every HTTP put is there whole or not at all.

Telnet has no acknowledgement of its own in OpenTSDB (only errors are
answered).  Here a put line counts as acknowledged once a later "version"
on the same connection has been answered with no error line before it:
vscoped writes the pending put lines (and answers any error) before it
acts on any other command, so that answer is a barrier.

The daemon killed and started again is a second vscoped of the test's own;
the cluster is killed under the main test daemon too, which must go on
serving (its pool reconnects) for the tests after this module.
"""
import os
import signal
import socket
import threading
import time

from faults import (cluster_answers, cluster_start, db_uri, free_port, postmaster_pid, spawn,
                    stop, wait_for)
from vstest import assert_status

T = "e2e-durable"
DAY = 1393632000                 # 2014-03-01 00:00 UTC
HTTP_BATCH = 100                 # points per /api/put
TELNET_BATCH = 10                # put lines between two "version" barriers
APP = "vscoped_durability"


def setup(ctx):
    """The past day written to below (writes never make partitions)."""
    ctx.add_days("2014-03-01", "2014-03-02")


class Writers:
    """HTTP writers and a telnet writer against one vscoped, each recording
    the batches acknowledged; they retry (new batches) through any fault."""

    def __init__(self, ctx, token, port, telnet_port):
        self.ctx, self.token, self.port, self.telnet_port = ctx, token, port, telnet_port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.http_acked = set()      # (writer, batch)
        self.http_failed = 0
        self.telnet_acked = set()    # batch
        self.telnet_failed = 0
        self.threads = [threading.Thread(target=self.http_writer, args=(w,)) for w in (0, 1)]
        self.threads.append(threading.Thread(target=self.telnet_writer))

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(120)
            assert not t.is_alive(), "a writer did not stop"

    def acked(self):
        with self.lock:
            return len(self.http_acked), len(self.telnet_acked)

    def http_writer(self, w):
        b = 0
        # each writer has its own 40000 s of the day, a second per point
        while not self.stop.is_set() and (b + 1) * HTTP_BATCH <= 40000:
            base = DAY + w * 40000 + b * HTTP_BATCH
            body = [{"metric": "dur.http", "timestamp": base + i, "value": i,
                     "tags": {"w": str(w), "b": str(b)}} for i in range(HTTP_BATCH)]
            try:
                r = self.ctx.post("/api/put", body, token=self.token, port=self.port, timeout=60)
                ok = r.status == 204
            except OSError:
                ok = False
            with self.lock:
                if ok:
                    self.http_acked.add((w, b))
                else:
                    self.http_failed += 1
            if not ok:
                time.sleep(0.05)
            b += 1

    def telnet_writer(self):
        b = 0
        sock = None
        buf = b""
        while not self.stop.is_set() and (b + 1) * TELNET_BATCH <= 4000:
            try:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", self.telnet_port), timeout=60)
                    buf = b""
                base = DAY + 80000 + b * TELNET_BATCH
                lines = "".join(f"put dur.telnet {base + i} {i} b={b}\n" for i in range(TELNET_BATCH))
                sock.sendall((lines + "version\n").encode())
                while b"\n" not in buf or not any(
                        ln.startswith(b"vscoped ") for ln in buf.split(b"\n")[:-1]):
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise OSError("closed")
                    buf += chunk
                replies = buf.split(b"\n")
                upto = next(i for i, ln in enumerate(replies) if ln.startswith(b"vscoped "))
                errors = [ln for ln in replies[:upto] if ln]
                buf = b"\n".join(replies[upto + 1:])
                ok = not errors
            except OSError:
                ok = False
                if sock is not None:
                    sock.close()
                sock = None
            with self.lock:
                if ok:
                    self.telnet_acked.add(b)
                else:
                    self.telnet_failed += 1
            if not ok:
                time.sleep(0.05)
            b += 1
        if sock is not None:
            sock.close()


def process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def test_acknowledged_points_survive_kills(ctx):
    tok = ctx.token(T)
    port = free_port(ctx.port + 6)
    telnet_port = free_port(port + 1)
    env = dict(VSCOPE_DB_URI=db_uri(APP), VSCOPE_TELNET_TENANT=T,
               VSCOPE_TELNET_PORT=str(telnet_port), VSCOPE_DB_POOL="4")
    proc = spawn(ctx, port, env, "vscoped_durability.log")
    writers = Writers(ctx, tok, port, telnet_port)
    faults = []

    def progress(more=3):
        """Waits until both kinds of writers have had more batches acknowledged."""
        h0, t0 = writers.acked()
        wait_for(lambda: writers.acked()[0] >= h0 + more and writers.acked()[1] >= t0 + more,
                 f"writes acknowledged again after {faults}", timeout=180)

    try:
        writers.start()
        progress()

        # 1. vscoped itself, SIGKILL, then started again on the same ports
        proc.kill()
        proc.wait()
        faults.append("vscoped SIGKILL")
        deadline = time.monotonic() + 60
        while True:
            try:
                proc = spawn(ctx, port, env, "vscoped_durability.log")
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        progress()

        # 2. one of its backends, while it runs a put; the postmaster then
        # restarts every backend (crash recovery), the main daemon's too
        pid = []

        def busy_backend():
            rows = ctx.psql(f"SELECT pid FROM pg_stat_activity WHERE application_name = '{APP}' "
                            "AND state = 'active' AND query LIKE '%put%' LIMIT 1")
            pid[:] = [int(r[0]) for r in rows]
            return bool(pid)
        wait_for(busy_backend, "a backend of vscoped running a put", timeout=60, step=0.01)
        os.kill(pid[0], signal.SIGKILL)
        faults.append("backend SIGKILL")
        wait_for(lambda: cluster_answers(ctx), "the cluster back from crash recovery")
        progress()

        # 3. the postmaster: gone without a word, then started again
        pm = postmaster_pid(ctx)
        os.kill(pm, signal.SIGKILL)
        faults.append("postmaster SIGKILL")
        wait_for(lambda: not process_exists(pm), "the postmaster to be gone")
        cluster_start(ctx)
        wait_for(lambda: cluster_answers(ctx), "the cluster started again")
        progress()
    finally:
        writers.finish()
        stop(proc)

    # every acknowledged point there once; every HTTP put whole or absent
    rows = ctx.as_tenant(T, """
        SELECT metric, coalesce(tags->>'w', ''), tags->>'b', count(*), count(DISTINCT ts)
          FROM vscope.datapoints WHERE metric IN ('dur.http', 'dur.telnet')
         GROUP BY 1, 2, 3""")
    present = {}
    for metric, w, b, n, distinct in rows:
        assert n == distinct, f"{metric} w={w} b={b}: {n} points, {distinct} timestamps"
        present[(metric, w, b)] = int(n)
    for (w, b) in writers.http_acked:
        assert present.get(("dur.http", str(w), str(b))) == HTTP_BATCH, \
            f"acknowledged put w={w} b={b} has {present.get(('dur.http', str(w), str(b)))} points"
    for (metric, w, b), n in present.items():
        if metric == "dur.http":
            assert n == HTTP_BATCH, f"put w={w} b={b} half applied: {n} of {HTTP_BATCH}"
    for b in writers.telnet_acked:
        assert present.get(("dur.telnet", "", str(b))) == TELNET_BATCH, \
            f"acknowledged telnet lines b={b}: {present.get(('dur.telnet', '', str(b)))} points"
    h, t = writers.acked()
    assert h >= 12 and t >= 12, (h, t)
    # the faults were felt (failed writes), and lost nothing acknowledged
    print(f"    faults: {', '.join(faults)}; acknowledged: {h} HTTP puts "
          f"({h * HTTP_BATCH} points), {t} telnet batches ({t * TELNET_BATCH} points); "
          f"refused or failed meanwhile: {writers.http_failed} HTTP, {writers.telnet_failed} telnet; "
          f"points lost: 0")
    # and the main test daemon serves on
    body = {"metric": "dur.after", "timestamp": DAY, "value": 1, "tags": {"h": "a"}}
    assert_status(ctx.post("/api/put", body, token=tok), 204)
