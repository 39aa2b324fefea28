"""Compaction of a day (vscope.compress) while writers keep writing, a
backend killed with SIGKILL in the middle of a compaction, and a second
compaction or a decompression of the day meanwhile: the day reads back
whole, nothing lost, nothing doubled, the last write winning.

The tests pause the compaction at known points with locks held by psql
sessions of their own, so the overlap does not depend on timing:

- a row lock on a point of the day that an HTTP put overwrites holds the
  put inside its transaction after it has written its other points into
  the day (overwrites are the last thing a put writes, in (series, ts)
  order), so the put is in flight when the compaction starts, and commits
  while the compaction waits for the day;
- an uncommitted block with the key the compaction will write for the
  day's last series (tenant and series ids order the compaction) holds the
  compaction after it has written the blocks of every other series and
  before it empties the day's partition.
"""
import os
import signal
import subprocess
import threading
import time

from vstest import PSQL, assert_status

METRIC = "cmp.m"
NSERIES = 48                 # series of the loaded day, tags s=s00 .. s47
MINUTES = 1440               # a point a minute each
DAY1, DAY1_START = "2024-02-10", 1707523200
DAY2, DAY2_START = "2024-02-11", 1707609600
DAY3, DAY3_START = "2024-02-12", 1707696000
DAY_MS = 86400 * 1000


def setup(ctx):
    """The past days written to below (writes never make partitions)."""
    ctx.add_days("2024-02-10", "2024-02-12")


def tag(s):
    return "s%02d" % s


def loaded_ts(day_start, s, k):
    """Milliseconds of the k-th loaded point of series s (an offset per
    series, so series differ; whole seconds, so writes at +500 ms are new)."""
    return (day_start + 60 * k + s % 60) * 1000


def loaded_value(s, k):
    # integers and doubles both (stored in different columns and encodings)
    return s * 1000000 + k if s % 2 == 0 else s + k / 8


def points(items):
    """[(tag, ts_ms, value)] as an /api/put body."""
    return [{"metric": METRIC, "timestamp": ts, "value": v, "tags": {"s": t}} for t, ts, v in items]


def load_day(ctx, tok, day_start):
    """Puts NSERIES x MINUTES points into the day over HTTP; returns them
    as {(tag, ts_ms): value}."""
    model = {(tag(s), loaded_ts(day_start, s, k)): loaded_value(s, k)
             for s in range(NSERIES) for k in range(MINUTES)}
    items = [(t, ts, v) for (t, ts), v in model.items()]
    for i in range(0, len(items), 20000):
        assert_status(ctx.post("/api/put", points(items[i:i + 20000]), token=tok), 204)
    return model


def tenant_id(ctx, tenant):
    return int(ctx.scalar(f"SELECT tenant_id FROM vscope.tenants WHERE name = '{tenant}'"))


def read_back(ctx, tenant, start_ms=None, end_ms=None):
    """Every point of the tenant's METRIC series through vscope.read_points
    (rows and blocks merged), as the tenant's reader; {(tag, ts_ms): value}.
    Fails on a point out of (series, time) order, which includes a
    duplicate (series, ts)."""
    lo = "'-infinity'" if start_ms is None else f"to_timestamp({start_ms / 1000})"
    hi = "'infinity'" if end_ms is None else f"to_timestamp({end_ms / 1000})"
    rows = ctx.as_tenant(tenant, f"""
        SELECT p.series_id, s.tags->>'s', (extract(epoch FROM p.ts) * 1000)::bigint, p.value, p.ivalue
          FROM (SELECT array_agg(series_id) AS ids FROM vscope.series WHERE metric = '{METRIC}') x
         CROSS JOIN LATERAL vscope.read_points(x.ids, {lo}, {hi}) WITH ORDINALITY
               AS p(series_id, ts, value, ivalue, ord)
          JOIN vscope.series s ON s.tenant_id = vscope.current_tenant() AND s.series_id = p.series_id
         ORDER BY p.ord""")
    got = {}
    prev = None
    for sid, t, ts, value, ivalue in rows:
        key = (int(sid), int(ts))
        assert prev is None or key > prev, \
            f"read_points gave ({t}, {ts}) after {prev}: out of order or a duplicate (series, ts)"
        prev = key
        got[(t, int(ts))] = int(ivalue) if ivalue != "" else float(value)
    return got


def assert_same_points(got, want, what):
    missing = sorted(k for k in want if k not in got)
    extra = sorted(k for k in got if k not in want)
    # the value and its kind: an integer must come back as an integer
    wrong = sorted(k for k in want if k in got and
                   (got[k] != want[k] or type(got[k]) is not type(want[k])))
    assert not (missing or extra or wrong), (
        f"{what}: {len(got)} points read, {len(want)} expected; "
        f"{len(missing)} missing {missing[:3]}, {len(extra)} unexpected {extra[:3]}, "
        f"{len(wrong)} with another value (point, read, written) "
        f"{[(k, got[k], want[k]) for k in wrong[:3]]}")


def day_rows_and_blocks(ctx, tid, day, day_start):
    """(rows of the tenant in the day's partition, points in its blocks of
    the day, overlapping block pairs of one series), as the superuser."""
    part = "vscope.points_" + day.replace("-", "")
    r = ctx.psql(f"""
        SELECT (SELECT count(*) FROM {part} WHERE tenant_id = {tid}),
               (SELECT coalesce(sum(n), 0) FROM vscope.blocks WHERE tenant_id = {tid}
                   AND first_ts >= to_timestamp({day_start}) AND first_ts < to_timestamp({day_start + 86400})),
               (SELECT count(*) FROM (
                    SELECT first_ts, lag(last_ts) OVER (PARTITION BY series_id ORDER BY first_ts) AS prev_last
                      FROM vscope.blocks WHERE tenant_id = {tid}) b
                 WHERE b.prev_last >= b.first_ts)""")
    return tuple(int(x) for x in r[0])


def assert_rows_and_blocks(ctx, tid, day, day_start, want, what):
    got = day_rows_and_blocks(ctx, tid, day, day_start)
    assert got == want, (f"{what}: (rows, points in blocks, overlapping blocks) of the day "
                         f"are {got}, expected {want}")


def in_day(model, day_start):
    return {k: v for k, v in model.items() if day_start * 1000 <= k[1] < day_start * 1000 + DAY_MS}


def wait_for(what, cond, timeout=30, ctx=None):
    """Polls cond until it is true; on a timeout, fails saying what every
    busy backend was doing (when ctx is given)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            busy = ctx.psql("SELECT pid, application_name, state, wait_event_type, wait_event, "
                            "pg_blocking_pids(pid), left(query, 50) FROM pg_stat_activity "
                            "WHERE backend_type = 'client backend' AND state <> 'idle' "
                            "AND pid <> pg_backend_pid()") if ctx else "?"
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; backends: {busy}")
        time.sleep(0.05)


def blocked_by(ctx, pid):
    """Backends waiting for a lock that backend pid holds."""
    return [int(r[0]) for r in ctx.psql(
        f"SELECT pid FROM pg_stat_activity WHERE {pid} = ANY (pg_blocking_pids(pid))")]


def waits_for(ctx, pid, holder):
    return ctx.scalar(f"SELECT {holder} = ANY (pg_blocking_pids({pid}))") == "t"


class Session:
    """A psql session held open across steps (a transaction kept open, a
    lock held), as the superuser."""

    def __init__(self, appname):
        self.p = subprocess.Popen([PSQL, "-X", "-q", "-At", "-F", "\t", "-U", "postgres", "-d", "vscope"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, bufsize=1,
                                  env=dict(os.environ, PGAPPNAME=appname))
        self.pid = int(self.run("SELECT pg_backend_pid()")[0])

    def run(self, sql):
        """Runs SQL that does not wait; returns the output lines."""
        sql = sql.strip()
        self.p.stdin.write(sql + ("" if sql.endswith(";") else ";") + "\n\\echo __done__\n")
        self.p.stdin.flush()
        out = []
        for line in self.p.stdout:
            line = line.rstrip("\n")
            if line == "__done__":
                break
            out.append(line)
        else:
            raise AssertionError(f"psql session ended: {out}")
        assert not any("ERROR:" in line for line in out), out
        return out

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def start_compress(day, appname, function="compress"):
    """SELECT vscope.compress(day) (or decompress) in a psql process of its own."""
    return subprocess.Popen([PSQL, "-X", "-q", "-At", "-U", "postgres", "-d", "vscope",
                             "-c", f"SELECT vscope.{function}('{day}')"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PGAPPNAME=appname))


def backend_of(ctx, appname):
    """The backend running the statement of the psql named appname."""
    rows = ctx.psql(f"SELECT pid FROM pg_stat_activity WHERE application_name = '{appname}' "
                    f"AND state = 'active' AND query LIKE 'SELECT vscope.%'")
    return int(rows[0][0]) if len(rows) == 1 else None


def hold_last_block(ctx, gate, tid, day):
    """In gate's transaction, a block with the key that the compaction of
    day writes last: that insert then waits for gate to end."""
    part = "vscope.points_" + day.replace("-", "")
    t, s, first = ctx.psql(f"SELECT tenant_id, series_id, min(ts) FROM {part} "
                           f"GROUP BY 1, 2 ORDER BY 1 DESC, 2 DESC LIMIT 1")[0]
    assert int(t) == tid, f"another tenant's series comes last in {day}: {t}"
    gate.run(f"BEGIN; INSERT INTO vscope.blocks (tenant_id, series_id, first_ts, last_ts, n, vmin, "
             f"vmax, vsum, data) VALUES ({t}, {s}, '{first}', '{first}', 1, 0, 0, 0, '\\x00');")


def pool_size():
    with open(os.environ["VSCOPE_DAEMON_CONF"]) as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() == "db-pool":
                return int(value.strip())
    return 10


def heal_pool(ctx, tok, tid):
    """After a crash: puts until, at one moment, as many are inside their
    transactions (held by a row lock on the series_last row of their
    series) as vscoped has pooled connections, so that every pooled
    connection is a live one again.  A connection the crash killed fails
    its BEGIN, and vscoped opens a fresh one for that request: no put may
    get a 503 once the server takes connections again (one that did is
    sent again, and the test fails at the end).  Returns the points
    written ({(tag, ts_ms): value})."""
    n = pool_size()
    now = int(time.time()) * 1000
    written = {}
    unavailable = []

    def put(item):
        for _ in range(50):
            r = ctx.post("/api/put", points([item]), token=tok)
            if r.status != 503:
                assert_status(r, 204)
                written[item[:2]] = item[2]
                return
            unavailable.append(r)
            time.sleep(0.05)

    put(("heal", now - 60000, -1))
    assert written, "vscoped kept answering 503 after the crash"
    gate = Session("e2e-compact-heal")
    threads = []
    try:
        gate.run(f"BEGIN; SELECT 1 FROM vscope.series_last l JOIN vscope.series s USING (tenant_id, series_id) "
                 f"WHERE l.tenant_id = {tid} AND s.tags->>'s' = 'heal' FOR UPDATE;")
        threads = [threading.Thread(target=put, args=(("heal", now - 1000 * i, i),), daemon=True)
                   for i in range(n)]
        for t in threads:
            t.start()
        # (one waits for the gate, the others for that one)
        wait_for(f"{n} puts to be in their transactions at once",
                 lambda: ctx.scalar("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND query LIKE '%vscope.put(%'") == str(n), ctx=ctx)
    finally:
        gate.close()
        for t in threads:
            t.join(timeout=60)
    assert len(written) == n + 1, f"only {len(written) - 1} of {n} puts went through"
    assert not unavailable, f"{len(unavailable)} puts got a 503 on a connection the crash killed"
    return written


class Writer(threading.Thread):
    """Sends puts one after the other; records each acknowledged write."""

    def __init__(self, ctx, tok, rounds, stop=None, min_rounds=0):
        super().__init__(daemon=True)
        self.ctx, self.tok, self.rounds = ctx, tok, rounds
        self.stop, self.min_rounds = stop, min_rounds
        self.acked = []          # the items of each acknowledged put, in order
        self.failures = []

    def run(self):
        for r, items in enumerate(self.rounds):
            if self.stop is not None and self.stop.is_set() and r >= self.min_rounds:
                break
            try:
                resp = self.ctx.post("/api/put", points(items), token=self.tok)
            except Exception as e:  # noqa: BLE001 (reported by the test)
                self.failures.append(repr(e))
                return
            if not 200 <= resp.status < 300:
                self.failures.append(repr(resp))
                return
            self.acked.append(items)


def cleanup(ctx, sessions, procs, threads):
    for s in sessions:
        if s is not None:
            s.close()
    for p in procs:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
    for t in threads:
        if t.stop is not None:
            t.stop.set()
    for t in threads:
        t.join(timeout=60)


def test_compress_under_concurrent_writes_loses_and_doubles_nothing(ctx):
    tenant = f"e2e-compact-{os.getpid()}"
    tok = ctx.token(tenant)
    tid = tenant_id(ctx, tenant)
    model = load_day(ctx, tok, DAY1_START)
    d0 = DAY1_START * 1000

    gate1 = gate2 = compress = None
    p0 = None
    day_writers, today_writers = [], []
    stop = threading.Event()
    try:
        # 1. a put into the day, in flight when the compaction starts: its
        #    rows are written but for the last overwrite, whose row the
        #    gate holds
        p0_items = [(tag(0), loaded_ts(DAY1_START, 0, k) + 500, 7000 + k) for k in range(10)] + \
                   [(tag(0), loaded_ts(DAY1_START, 0, k), -k - 0.25) for k in range(100, 105)]
        gate1 = Session("e2e-compact-gate1")
        gate1.run(f"BEGIN; SELECT 1 FROM vscope.points p JOIN vscope.series s USING (tenant_id, series_id) "
                  f"WHERE p.tenant_id = {tid} AND s.tags->>'s' = '{tag(0)}' "
                  f"AND p.ts = to_timestamp({loaded_ts(DAY1_START, 0, 104)} / 1000.0) FOR UPDATE;")
        p0 = Writer(ctx, tok, [p0_items])
        p0.start()
        p0_pid = wait_for("the in-flight put to wait for its last overwrite",
                          lambda: blocked_by(ctx, gate1.pid), ctx=ctx)[0]

        # 2. the compaction: it waits for the in-flight put to end
        gate2 = Session("e2e-compact-gate2")
        hold_last_block(ctx, gate2, tid, DAY1)
        compress = start_compress(DAY1, "e2e-compact-1")
        cpid = wait_for("the compaction to start", lambda: backend_of(ctx, "e2e-compact-1"), ctx=ctx)
        wait_for("the compaction to wait for the put in flight", lambda: waits_for(ctx, cpid, p0_pid), ctx=ctx)

        # 3. the put commits; the compaction takes the day and goes through
        #    every series but the last one
        gate1.run("COMMIT;")
        p0.join(timeout=30)
        assert not p0.failures and len(p0.acked) == 1, p0.failures
        for t, ts, v in p0_items:
            model[(t, ts)] = v
        wait_for("the compaction to reach the day's last series", lambda: waits_for(ctx, cpid, gate2.pid), ctx=ctx)
        at_compaction = dict(model)

        # 4. meanwhile: writers into the day (new points, and overwrites of
        #    points being compressed) and into today
        for w in range(3):
            mine = [s for s in range(1, NSERIES) if s % 3 == w]
            rounds = []
            for r in range(3):
                items = []
                for s in mine:
                    # a new point each round, overwritten in the next
                    items.append((tag(s), loaded_ts(DAY1_START, s, 200 + r) + 500, 100 * s + r))
                    if r > 0:
                        items.append((tag(s), loaded_ts(DAY1_START, s, 200 + r - 1) + 500, -(100 * s + r) - 0.5))
                    # a point of the compressed day overwritten; once more
                    # in the last round
                    items.append((tag(s), loaded_ts(DAY1_START, s, 300 + r), 0.5 + 3 * s + r))
                    if r == 2:
                        items.append((tag(s), loaded_ts(DAY1_START, s, 300), 10 ** 12 + s))
                rounds.append(items)
            day_writers.append(Writer(ctx, tok, rounds))
        now = int(time.time())
        for w in range(2):
            rounds = []
            for r in range(200):
                ts = (now - 3600 + r) * 1000
                items = [(f"today{w}", ts, r * 10 + w), (f"today{w}x", ts, r + 0.5)]
                if r > 0:
                    items.append((f"today{w}", ts - 1000, -r))
                rounds.append(items)
            today_writers.append(Writer(ctx, tok, rounds, stop=stop, min_rounds=3))
        for w in day_writers + today_writers:
            w.start()

        # the writes into the day wait for the compaction, those into today do not
        wait_for("the writes into the day to wait for the compaction",
                 lambda: len(blocked_by(ctx, cpid)) >= len(day_writers), ctx=ctx)

        def today_acked():
            for w in day_writers + today_writers:
                assert not w.failures, w.failures
            return all(len(w.acked) >= 3 for w in today_writers)
        wait_for("writes into today to be acknowledged during the compaction", today_acked, ctx=ctx)
        assert all(not w.acked for w in day_writers), "a write into the day went past the compaction"
        assert compress.poll() is None and waits_for(ctx, cpid, gate2.pid), "the compaction is not running"
        # a reader meanwhile sees the day whole, once
        assert_same_points(read_back(ctx, tenant, d0, d0 + DAY_MS), at_compaction,
                           "the day read during its compaction")

        # 5. the compaction ends, the waiting writes go in after it
        gate2.run("ROLLBACK;")
        out, _ = compress.communicate(timeout=60)
        assert compress.returncode == 0, out
        assert int(out.strip()) >= len(at_compaction), out
        # (the waiting writes go to rows, not into these blocks)
        _, in_blocks, _ = day_rows_and_blocks(ctx, tid, DAY1, DAY1_START)
        stop.set()
        for w in day_writers + today_writers:
            w.join(timeout=60)
            assert not w.is_alive(), "a writer did not finish"
            assert not w.failures, w.failures
        assert all(len(w.acked) == 3 for w in day_writers), [len(w.acked) for w in day_writers]
    finally:
        cleanup(ctx, [gate1, gate2], [compress], ([p0] if p0 else []) + day_writers + today_writers)

    # every acknowledged write, in the order each writer made them
    for w in day_writers + today_writers:
        for items in w.acked:
            for t, ts, v in items:
                model[(t, ts)] = v
    assert_same_points(read_back(ctx, tenant), model, "after the compaction")
    # the blocks hold the day as it was when the compaction took it; the
    # writes that waited for it are rows
    assert in_blocks == len(at_compaction), \
        f"the day's blocks hold {in_blocks} points of the tenant, the day had {len(at_compaction)}"
    rows, _, overlaps = day_rows_and_blocks(ctx, tid, DAY1, DAY1_START)
    assert rows > 0, "the writes that waited for the compaction are not rows of the day"
    assert overlaps == 0, f"{overlaps} blocks overlap another of their series"

    # compressing again folds the late rows into the blocks
    assert int(ctx.scalar(f"SELECT vscope.compress('{DAY1}')")) >= len(in_day(model, DAY1_START))
    assert_same_points(read_back(ctx, tenant), model, "after compressing again")
    assert_rows_and_blocks(ctx, tid, DAY1, DAY1_START, (0, len(in_day(model, DAY1_START)), 0),
                           "compressed again")


def test_backend_killed_mid_compaction_leaves_the_day_whole(ctx):
    tenant = f"e2e-compact-crash-{os.getpid()}"
    tok = ctx.token(tenant)
    tid = tenant_id(ctx, tenant)
    model = load_day(ctx, tok, DAY2_START)
    # the day compressed, then written to again: blocks and rows, which the
    # killed compaction was merging (old blocks deleted, new ones written)
    assert int(ctx.scalar(f"SELECT vscope.compress('{DAY2}')")) >= len(model)
    late = []
    for s in range(NSERIES):
        late += [(tag(s), loaded_ts(DAY2_START, s, k), -s - k / 4) for k in (10, 500, 1439)]
        late += [(tag(s), loaded_ts(DAY2_START, s, k) + 500, k + s) for k in (20, 700)]
    # an earlier first point: the merged block of the last series gets a new key
    late.append((tag(NSERIES - 1), DAY2_START * 1000 + 250, 42))
    assert_status(ctx.post("/api/put", points(late), token=tok), 204)
    for t, ts, v in late:
        model[(t, ts)] = v
    before = (len(late), MINUTES * NSERIES, 0)
    assert_rows_and_blocks(ctx, tid, DAY2, DAY2_START, before, "written after its compaction")
    assert_same_points(read_back(ctx, tenant), model, "before the compaction")

    # (so that crash recovery has little to replay)
    ctx.psql("CHECKPOINT")
    gate = compress = None
    try:
        gate = Session("e2e-compact-gate")
        hold_last_block(ctx, gate, tid, DAY2)
        compress = start_compress(DAY2, "e2e-compact-crash")
        cpid = wait_for("the compaction to start", lambda: backend_of(ctx, "e2e-compact-crash"), ctx=ctx)
        # every series but the last one has its merged blocks, the old
        # ones deleted, the day's rows not yet
        wait_for("the compaction to reach the day's last series", lambda: waits_for(ctx, cpid, gate.pid), ctx=ctx)
        os.kill(cpid, signal.SIGKILL)
        # the postmaster ends every backend (the gate's too), then recovers
        gate_pid = gate.pid

        def gone():
            try:
                os.kill(gate_pid, 0)
                return False
            except ProcessLookupError:
                return True
        wait_for("the other backends to be ended", gone)
        compress.communicate(timeout=30)
        assert compress.returncode != 0, "the killed compaction reported success"
    finally:
        cleanup(ctx, [gate], [compress], [])

    def accepts():
        p = subprocess.run([PSQL, "-X", "-At", "-U", "postgres", "-d", "vscope", "-c", "SELECT 1"],
                           capture_output=True, text=True)
        return p.returncode == 0
    wait_for("PostgreSQL to accept connections again", accepts, timeout=120)

    def ready():
        try:
            return ctx.get("/ready").status == 200
        except OSError:
            return False
    wait_for("vscoped to be ready again", ready, timeout=60)
    # vscoped's pooled connections all died with the crash: every one of
    # them must work again, first (for the test files after this one too)
    model.update(heal_pool(ctx, tok, tid))

    # the compaction is undone: the same rows and blocks as before it
    assert_rows_and_blocks(ctx, tid, DAY2, DAY2_START, before, "after the crash")
    assert_same_points(read_back(ctx, tenant), model, "after the crash")

    # and the day compresses now
    day = in_day(model, DAY2_START)
    assert int(ctx.scalar(f"SELECT vscope.compress('{DAY2}')")) >= len(day)
    assert_rows_and_blocks(ctx, tid, DAY2, DAY2_START, (0, len(day), 0), "compressed after the crash")
    assert_same_points(read_back(ctx, tenant), model, "compressed after the crash")


def test_a_second_compaction_or_a_decompression_of_the_day_waits_for_the_first(ctx):
    """A decompress() or compress() of a day that is being compressed waits
    for it, then sees what it did: the decompression brings every point
    back into rows, the second compaction finds nothing left to do."""
    tenant = f"e2e-compact-twice-{os.getpid()}"
    tok = ctx.token(tenant)
    tid = tenant_id(ctx, tenant)
    items = [(tag(s), loaded_ts(DAY3_START, s, k), loaded_value(s, k)) for s in range(6) for k in range(0, MINUTES, 4)]
    assert_status(ctx.post("/api/put", points(items), token=tok), 204)
    model = {(t, ts): v for t, ts, v in items}

    for second in ("decompress", "compress"):
        gate = first = then = None
        try:
            gate = Session("e2e-compact-gate3")
            hold_last_block(ctx, gate, tid, DAY3)
            first = start_compress(DAY3, "e2e-compact-first")
            fpid = wait_for("the compaction to start", lambda: backend_of(ctx, "e2e-compact-first"), ctx=ctx)
            wait_for("the compaction to reach the day's last series",
                     lambda: waits_for(ctx, fpid, gate.pid), ctx=ctx)
            then = start_compress(DAY3, "e2e-compact-then", second)
            tpid = wait_for(f"the {second} to start", lambda: backend_of(ctx, "e2e-compact-then"), ctx=ctx)
            wait_for(f"the {second} to wait for the compaction", lambda: waits_for(ctx, tpid, fpid), ctx=ctx)
            gate.run("ROLLBACK;")
            out, _ = first.communicate(timeout=60)
            assert first.returncode == 0 and int(out) >= len(model), f"compress: {out}"
            out, _ = then.communicate(timeout=60)
            assert then.returncode == 0, f"{second}: {out}"
        finally:
            cleanup(ctx, [gate], [first, then], [])
        assert_same_points(read_back(ctx, tenant), model, f"after a compaction and a {second}")
        assert_rows_and_blocks(ctx, tid, DAY3, DAY3_START,
                               (0, len(model), 0) if second == "compress" else (len(model), 0, 0),
                               f"after a compaction and a {second}")
