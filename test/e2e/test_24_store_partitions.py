"""Daily partitions held at scale: no request runs DDL, and what a request
locks does not depend on how many days exist.

- A backfill (a put into a past day the operator made writable) is held
  inside its transaction after it has written its points: a psql session of
  the test holds a row lock on the day's last point, which the put
  overwrites last (overwrites go in (series, ts) order, after the others).  Meanwhile a second session sees in pg_locks that the put
  holds nothing stronger than ROW EXCLUSIVE, a reader with lock_timeout = 1s
  reads vscope.points at once, and maintain() attaches a new day without
  waiting.  (When writes made partitions, such a put held vscope.points in
  ACCESS EXCLUSIVE mode until it committed and that reader was cancelled.)
- A one-hour query through the reader takes the same few locks with 16 days
  and with 216 (plan-time pruning of the head query's custom plan).
- The demo data of make run loads into a new database before maintenance
  ever ran, and maintain() makes the writable window once, then nothing.
"""
import os
import threading
import time

from vstest import assert_status
from test_26_store_compaction import Session, wait_for

T = "e2e-part"
BACKFILL_DAY, BACKFILL_TS = "2019-05-05", 1557057600      # 12:00 UTC that day
SCALE_DB = "vscope_part_scale"
DEMO_DB = "vscope_part_demo"


def setup(ctx):
    """The past day written to below (writes never make partitions)."""
    ctx.add_days(BACKFILL_DAY)


def new_database(ctx, name):
    ctx.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', db="postgres")
    ctx.psql(f'CREATE DATABASE "{name}"', db="postgres")
    ctx.psql("CREATE EXTENSION vscope", db=name)


def maintain_until_done(ctx, db):
    """maintain() a call at a time, as vscoped does; the calls' "created"."""
    made = []
    for _ in range(50):
        row = ctx.psql("SELECT m->>'created', m->>'pending' FROM vscope.maintain() m", db=db)[0]
        made.append(int(row[0]))
        if row[1] != "true":
            return made
    raise AssertionError(f"maintain() still pending after 50 calls: {made}")


def test_a_backfill_takes_no_lock_that_readers_wait_for(ctx):
    tok = ctx.token(T)
    series = {"metric": "part.backfill", "tags": {"host": "a"}}
    last = BACKFILL_TS + 60 * 99
    # the series, its latest point today, and the backfill's last point
    assert_status(ctx.post("/api/put", [dict(series, timestamp=int(time.time()), value=1),
                                        dict(series, timestamp=last, value=-1)], token=tok), 204)
    tid = ctx.scalar(f"SELECT tenant_id FROM vscope.tenants WHERE name = '{T}'")
    sid = ctx.scalar(f"SELECT series_id FROM vscope.series WHERE tenant_id = {tid} AND metric = 'part.backfill'")
    in_day = (f"tenant_id = {tid} AND series_id = {sid} "
              f"AND ts >= '{BACKFILL_DAY}' AND ts < '{BACKFILL_DAY}'::date + 1")
    # a day of the window that maintenance will have to make again
    ctx.psql("DO $$ BEGIN EXECUTE format('DROP TABLE vscope.%I', 'points_' || "
             "to_char(now() AT TIME ZONE 'UTC' + interval '4 days', 'YYYYMMDD')); END $$")
    holder = Session("e2e-part-holder")
    result = {}
    put = None
    try:
        holder.run(f"BEGIN; SELECT 1 FROM vscope.points WHERE tenant_id = {tid} AND series_id = {sid} "
                   f"AND ts = to_timestamp({last}) FOR UPDATE")

        def backfill():
            result["r"] = ctx.post("/api/put", [dict(series, timestamp=BACKFILL_TS + 60 * i, value=i)
                                                for i in range(100)], token=tok)
        put = threading.Thread(target=backfill)
        put.start()
        # the put has written its other points and waits for the row, in its transaction
        pid = wait_for("the backfill to wait for the day's last point", lambda: ctx.psql(
            f"SELECT pid FROM pg_stat_activity WHERE {holder.pid} = ANY (pg_blocking_pids(pid))"), ctx=ctx)[0][0]
        locks = ctx.psql(f"SELECT relation::regclass, mode FROM pg_locks WHERE pid = {pid} AND locktype = 'relation' "
                         "AND relation::regclass::text LIKE 'vscope.points%' ORDER BY 1::text, 2")
        part = "vscope.points_" + BACKFILL_DAY.replace("-", "")
        assert [part, "RowExclusiveLock"] in locks and ["vscope.points", "RowExclusiveLock"] in locks, locks
        # (on tables and indexes; its own transaction id it holds exclusively, as any writer)
        strong = ctx.psql(f"SELECT relation::regclass, mode FROM pg_locks WHERE pid = {pid} AND locktype = 'relation' "
                          "AND mode NOT IN ('AccessShareLock', 'RowShareLock', 'RowExclusiveLock')")
        assert strong == [], strong
        # a reader does not wait (lock_timeout would cancel it), and sees
        # nothing of the uncommitted backfill
        assert ctx.psql(f"SET lock_timeout = '1s'; SELECT count(*) FROM vscope.points WHERE {in_day}") == [["1"]]
        # and maintenance attaches the missing day meanwhile, without waiting
        t0 = time.monotonic()
        made = ctx.psql("SET lock_timeout = '1s'; SELECT vscope.maintain()->>'created'")
        assert made == [["1"]], made
        assert time.monotonic() - t0 < 4, "maintain() waited for the backfill's locks"
        holder.run("COMMIT")
        put.join(60)
        assert_status(result["r"], 204)
    finally:
        holder.close()
        if put is not None:
            put.join(60)
    assert ctx.psql(f"SELECT count(*), sum(ivalue) FROM vscope.points WHERE {in_day}") == [["100", str(sum(range(100)))]]


def test_maintain_leaves_a_day_it_cannot_lock_in_time_for_the_next_run(ctx):
    """Making a day waits at most lock_timeout (5 s) for vscope.points; a
    session holding it (as ANALYZE of the parent would) makes maintain()
    warn and leave the day, without holding up anything else; the next
    run makes it."""
    day = "to_char(now() AT TIME ZONE 'UTC' + interval '5 days', 'YYYYMMDD')"
    ctx.psql(f"DO $$ BEGIN EXECUTE format('DROP TABLE vscope.%I', 'points_' || {day}); END $$")
    holder = Session("e2e-part-analyze")
    try:
        # (ONLY: the parent, not its partitions, which the compaction of a
        # day, the call's other step, locks)
        holder.run("BEGIN; LOCK TABLE ONLY vscope.points IN SHARE UPDATE EXCLUSIVE MODE")
        p = ctx.psql("SET statement_timeout = '60s'; SELECT vscope.maintain()->>'created'", check=False)
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == "0", p.stdout
        assert "waited too long for a lock, left for the next run" in p.stderr, p.stderr
        # readers and writers never waited for it
        assert ctx.psql("SET lock_timeout = '1s'; SELECT count(*) >= 0 FROM vscope.points "
                        "WHERE ts > now() - interval '1 hour'") == [["t"]]
    finally:
        holder.run("ROLLBACK")
        holder.close()
    assert int(ctx.scalar("SELECT vscope.maintain()->>'created'")) >= 1
    assert ctx.scalar(f"SELECT to_regclass('vscope.points_' || {day}) IS NOT NULL") == "t"


def relation_locks(ctx, db, sql):
    """How many relation locks the statement leaves its transaction holding
    (the statement runs in a new session)."""
    out = ctx.psql(f"SELECT vscope.use_tenant('{T}') \\g /dev/null\nBEGIN;\n{sql} \\g /dev/null\n"
                   "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' "
                   "AND relation <> 'pg_locks'::regclass;\nCOMMIT;", db=db)
    return int(out[0][0])


def test_a_one_hour_query_locks_the_same_with_200_more_days(ctx):
    new_database(ctx, SCALE_DB)
    try:
        ctx.psql(f"SELECT vscope.create_tenant('{T}')", db=SCALE_DB)
        made = maintain_until_done(ctx, SCALE_DB)
        assert sum(made) == 32, made             # 16 days of points and of samples
        # ten series, a point a minute over the last two hours
        ctx.psql(f"SELECT vscope.use_tenant('{T}') \\g /dev/null\n"
                 "SELECT vscope.put(json_agg(json_build_object('metric', 'scale.m', 'value', k, "
                 "'timestamp', extract(epoch FROM now())::bigint - 60 * k, "
                 "'tags', json_build_object('host', 'h' || s)))::text) "
                 "FROM generate_series(1, 120) k, generate_series(1, 10) s", db=SCALE_DB)
        hour = ("(SELECT array_agg(series_id) FROM vscope.series WHERE metric = 'scale.m'), "
                "now() - interval '1 hour', now()")
        read = f"SELECT count(*) FROM vscope.read_points({hour})"
        query = ("SELECT vscope.tsdb_query(format('{\"start\": %s, \"queries\": [{\"metric\": \"scale.m\", "
                 "\"aggregator\": \"sum\", \"downsample\": \"5m-avg\"}]}', "
                 "extract(epoch FROM now() - interval '1 hour')::bigint)::jsonb)")
        before = (relation_locks(ctx, SCALE_DB, read), relation_locks(ctx, SCALE_DB, query))
        ctx.add_days(int(time.time()) - 230 * 86400, int(time.time()) - 31 * 86400, db=SCALE_DB)
        assert ctx.scalar("SELECT count(*) FROM vscope.partitions()", db=SCALE_DB) == "216"
        after = (relation_locks(ctx, SCALE_DB, read), relation_locks(ctx, SCALE_DB, query))
        # the head's one partition and its index, the parent, the blocks and
        # the series with their indexes: the same few, whatever the days
        assert after == before, (before, after)
        assert max(after) <= 16, after
    finally:
        ctx.psql(f'DROP DATABASE IF EXISTS "{SCALE_DB}" WITH (FORCE)', db="postgres")


def test_the_demo_data_loads_and_maintain_makes_the_window_once(ctx):
    new_database(ctx, DEMO_DB)
    try:
        root = os.environ["VSCOPE_ROOT"]
        # before maintenance ever ran: the demo files make their own days writable
        for script, variables in (("demo.sql", {"tenant": "pcc-demo"}),
                                  ("demo_ceilometer.sql", {"project": "demo-project", "user": "demo-user"})):
            with open(os.path.join(root, "scripts", script)) as f:
                sql = f.read()
            ctx.psql("".join(f"\\set {k} {v}\n" for k, v in variables.items()) + sql, db=DEMO_DB)
        nseries = int(ctx.scalar("SELECT count(*) FROM vscope.series", db=DEMO_DB))
        assert nseries > 100, nseries
        # every series has a point a minute over 24 hours, none was refused
        assert ctx.scalar("SELECT count(*) FROM vscope.points", db=DEMO_DB) == str(nseries * 1441)
        assert ctx.scalar("SELECT count(*) FROM vscope.samples", db=DEMO_DB) == str(2 * 4 * 144)
        made = maintain_until_done(ctx, DEMO_DB)
        # today - 7 to today + 8, of points and samples, less the two days
        # the demo made
        assert sum(made) == 2 * 16 - 4, made
        assert maintain_until_done(ctx, DEMO_DB) == [0]
        days = ctx.psql("SELECT count(*), min(range_start) = date_trunc('day', now() - interval '7 days', 'UTC'), "
                        "max(range_start) = date_trunc('day', now() + interval '8 days', 'UTC') "
                        "FROM vscope.partitions()", db=DEMO_DB)
        assert days == [["16", "t", "t"]], days
    finally:
        ctx.psql(f'DROP DATABASE IF EXISTS "{DEMO_DB}" WITH (FORCE)', db="postgres")
