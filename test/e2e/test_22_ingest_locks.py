"""Writers of overlapping series lock them in one order, series order,
whatever the order of the points they send: a put waiting for a series
another transaction holds holds no series after it, so it waits, never in
a cycle, and both commit."""
import os
import subprocess

from vstest import PSQL
from test_26_store_compaction import Session, blocked_by, wait_for

METRIC = "locks.m"


def body(items):
    """[(host, ts, value)] as a put body (SQL literal)."""
    return "'[" + ",".join(
        f'{{"metric":"{METRIC}","timestamp":{ts},"value":{v},"tags":{{"h":"{h}"}}}}'
        for h, ts, v in items) + "]'"


def test_a_put_waiting_for_a_series_holds_none_after_it(ctx):
    tenant = ctx.tenant(f"e2e-locks-{os.getpid()}")
    ctx.add_days(1700000000)  # not left writable by an earlier test when run alone
    use = f"SELECT vscope.use_tenant('{tenant}') \\g /dev/null\n"
    # three series, created in order: their ids ascend a < b < c
    for h in "abc":
        ctx.psql(use + f"SELECT vscope.put({body([(h, 1700000000, 0)])})")
    ids = [int(r[0]) for r in ctx.psql(use + f"SELECT series_id FROM vscope.series "
                                             f"WHERE metric = '{METRIC}' ORDER BY tags->>'h'")]
    assert ids == sorted(ids), ids

    holder = Session("e2e-locks-holder")
    waiter = None
    try:
        # a transaction holds series a
        holder.run(use + f"BEGIN; SELECT vscope.put({body([('a', 1700000060, 1)])});")
        # a put of c, b, a (in that order) waits for a, the first in series order
        waiter = subprocess.Popen([PSQL, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-U", "postgres",
                                   "-d", "vscope", "-c", use.strip().replace(" \\g /dev/null", ""),
                                   "-c", f"SELECT vscope.put({body([('c', 1700000120, 2), ('b', 1700000120, 2), ('a', 1700000120, 2)])})"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  env=dict(os.environ, PGAPPNAME="e2e-locks-waiter"))
        wait_for("the reversed put to wait for the holder", lambda: blocked_by(ctx, holder.pid), ctx=ctx)
        # meanwhile it holds neither b nor c: a put of c goes through at once
        ctx.psql("SET lock_timeout = '5s';\n" + use +
                 f"SELECT vscope.put({body([('c', 1700000180, 3)])})")
        assert waiter.poll() is None, "the reversed put did not wait"
        holder.run("COMMIT;")
        out, _ = waiter.communicate(timeout=60)
        assert waiter.returncode == 0, out
        assert '"success":3' in out, out
    finally:
        holder.close()
        if waiter is not None and waiter.poll() is None:
            waiter.kill()
            waiter.wait()
    rows = ctx.psql(use + f"SELECT s.tags->>'h', extract(epoch FROM p.ts)::bigint, p.ivalue "
                          f"FROM vscope.points p JOIN vscope.series s USING (tenant_id, series_id) "
                          f"WHERE s.metric = '{METRIC}' ORDER BY 1, 2")
    got = [(h, int(ts), int(v)) for h, ts, v in rows]
    assert got == [("a", 1700000000, 0), ("a", 1700000060, 1), ("a", 1700000120, 2),
                   ("b", 1700000000, 0), ("b", 1700000120, 2),
                   ("c", 1700000000, 0), ("c", 1700000120, 2), ("c", 1700000180, 3)], got
    last = ctx.psql(use + f"SELECT s.tags->>'h', extract(epoch FROM l.ts)::bigint "
                          f"FROM vscope.series_last l JOIN vscope.series s USING (tenant_id, series_id) "
                          f"WHERE s.metric = '{METRIC}' ORDER BY 1")
    assert [(h, int(ts)) for h, ts in last] == [("a", 1700000120), ("b", 1700000120), ("c", 1700000180)], last
