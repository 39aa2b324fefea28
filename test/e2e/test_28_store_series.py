"""Series identities across sessions: ids numbered per tenant while several
writers create series at once (one tenant's creators take turns, other
tenants' do not wait), the series limit through /api/put, the series cache
of a pooled backend after series rows are deleted or truncated and after
the extension is dropped and created again, and an upgrade from 0.2.0 that
keeps every id.

The cache is per backend, so those tests write through a vscoped of their
own with one pooled connection: every request is served by the backend that
cached the ids."""
import os
import re
import socket
import subprocess
import threading
import time
import urllib.parse

from vstest import PSQL, assert_status, assert_tsdb_error

A, B, LIM, CACHE = "e2e-ser-a", "e2e-ser-b", "e2e-ser-limit", "e2e-ser-cache"
CACHE_DB, UP_DB = "vscope_series_cache", "vscope_series_up"
T0 = 1704067200


class Session:
    """A psql session kept open: statements are sent as the test goes, and
    pg_stat_activity (application_name) says where it stands."""

    def __init__(self, name, db="vscope"):
        self.name = name
        env = dict(os.environ, PGAPPNAME=name)
        self.proc = subprocess.Popen([PSQL, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                                      "-U", "postgres", "-d", db],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)

    def send(self, sql):
        self.proc.stdin.write(sql.rstrip() + "\n")
        self.proc.stdin.flush()

    def close(self):
        """Ends the session; returns (stdout lines, stderr)."""
        out, err = self.proc.communicate(timeout=60)
        return [line for line in out.splitlines() if line], err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def activity(ctx, name):
    """(state, wait_event_type, the statement it runs or ran last) of the
    session, or None."""
    rows = ctx.psql(f"SELECT state, coalesce(wait_event_type, ''), replace(query, E'\\n', ' ') "
                    f"FROM pg_stat_activity WHERE application_name = '{name}'")
    return tuple(rows[0]) if rows else None


def done_put(state):
    """A predicate: the session is in that state after its put_point."""
    return lambda a: a[0] == state and "put_point" in a[2]


def wait_for(ctx, name, pred, what):
    for _ in range(400):
        a = activity(ctx, name)
        if a is not None and pred(a):
            return a
        time.sleep(0.025)
    raise AssertionError(f"session {name} never got {what}: {activity(ctx, name)}")


def ids(ctx, tenant, db="vscope"):
    """{skey: series_id} of the tenant."""
    return {k: int(v) for k, v in ctx.psql(
        f"SELECT s.skey, s.series_id FROM vscope.series s JOIN vscope.tenants t USING (tenant_id) "
        f"WHERE t.name = '{tenant}'", db=db)}


def put_point_sql(tenant, host, value):
    return (f"SELECT vscope.use_tenant('{tenant}') \\g /dev/null\n"
            f"SELECT vscope.put_point('ser.m', '{{\"h\": \"{host}\"}}', to_timestamp({T0}), {value});")


# ---- per-tenant numbering under concurrent writers ----

def test_one_tenants_creators_take_turns_other_tenants_do_not_wait(ctx):
    ctx.tenant(A)
    ctx.tenant(B)
    tok_b = ctx.token(B)
    # the day's partition exists beforehand, as maintain() makes it for
    # today: creating it would make the writers of every tenant wait
    ctx.psql(f"SELECT vscope._ensure_partitions(ARRAY[{T0 // 86400}])")
    s1, s2 = Session("e2e-ser-s1"), Session("e2e-ser-s2")
    try:
        # s1 creates a series of A and keeps its transaction open: it holds
        # A's numbering until it commits
        s1.send("BEGIN;\n" + put_point_sql(A, "one", 1))
        wait_for(ctx, s1.name, done_put("idle in transaction"), "its series created")
        # a writer of B creates series meanwhile, through SQL and the API,
        # without waiting (lock_timeout would cancel a wait in SQL; the API
        # would wait until s1 commits, which comes only later)
        got = ctx.psql("SET lock_timeout = '2s';\n" + put_point_sql(B, "one", 1))
        assert got == [["1"]], got
        assert_status(ctx.post("/api/put", [
            {"metric": "ser.m", "timestamp": T0, "value": 2, "tags": {"h": "two"}},
            {"metric": "ser.m", "timestamp": T0, "value": 3, "tags": {"h": "three"}}], token=tok_b), 204)
        # a second creator of A waits for s1: a lock not granted, on s1's transaction
        s2.send(put_point_sql(A, "two", 2))
        wait_for(ctx, s2.name, lambda a: a[1] == "Lock", "a lock wait")
        waiting = ctx.psql(f"""
            SELECT l.locktype, l.mode, l.granted, h.application_name
              FROM pg_locks l JOIN pg_stat_activity w ON w.pid = l.pid
              JOIN pg_locks hl ON hl.locktype = l.locktype AND hl.granted
                              AND hl.transactionid IS NOT DISTINCT FROM l.transactionid
                              AND hl.relation IS NOT DISTINCT FROM l.relation
                              AND hl.page IS NOT DISTINCT FROM l.page
                              AND hl.tuple IS NOT DISTINCT FROM l.tuple
              JOIN pg_stat_activity h ON h.pid = hl.pid
             WHERE w.application_name = '{s2.name}' AND NOT l.granted""")
        assert len(waiting) == 1 and waiting[0][2] == "f" and waiting[0][3] == s1.name, waiting
        # s2 still waits while B's writers go on
        assert_status(ctx.post("/api/put", {"metric": "ser.m", "timestamp": T0, "value": 4,
                                            "tags": {"h": "four"}}, token=tok_b), 204)
        assert activity(ctx, s2.name)[1] == "Lock"
        s1.send("COMMIT;")
        wait_for(ctx, s2.name, done_put("idle"), "its series created")
        out1, err1 = s1.close()
        out2, err2 = s2.close()
    finally:
        s1.kill()
        s2.kill()
    assert err1 == "" and err2 == "", (err1, err2)
    # A: 1 then 2, in the order the creators got the lock; B: 1..4 of its own
    assert out1 == ["1"] and out2 == ["2"], (out1, out2)
    assert ids(ctx, A) == {"ser.m{h=one}": 1, "ser.m{h=two}": 2}
    assert ids(ctx, B) == {"ser.m{h=one}": 1, "ser.m{h=three}": 2, "ser.m{h=two}": 3,
                           "ser.m{h=four}": 4}
    assert ctx.psql(f"SELECT name, series_next, series_count FROM vscope.tenants "
                    f"WHERE name IN ('{A}', '{B}') ORDER BY name") == [[A, "3", "2"], [B, "5", "4"]]


def test_concurrent_puts_of_one_tenant_get_distinct_ids(ctx):
    """Eight writers of one tenant, each creating ten series of its own and
    ten shared with all the others, at once: every series once, ids 1..90."""
    ctx.tenant("e2e-ser-many")
    tok = ctx.token("e2e-ser-many")
    results = []

    def writer(w):
        body = [{"metric": "ser.many", "timestamp": T0 + w, "value": w, "tags": {"w": str(w), "k": str(k)}}
                for k in range(10)]
        body += [{"metric": "ser.many", "timestamp": T0 + w, "value": w, "tags": {"shared": str(k)}}
                 for k in range(10)]
        results.append(ctx.post("/api/put", body, token=tok).status)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [204] * 8, results
    got = ids(ctx, "e2e-ser-many")
    assert len(got) == 90 and sorted(got.values()) == list(range(1, 91)), sorted(got.values())
    # every point under its series: 8 writers x 20 points
    assert ctx.scalar("SELECT count(*) FROM vscope.points p JOIN vscope.series s USING (tenant_id, series_id) "
                      "JOIN vscope.tenants t USING (tenant_id) WHERE t.name = 'e2e-ser-many'") == "160"


# ---- the limit through the API ----

def test_a_put_past_the_series_limit_is_refused_whole(ctx):
    ctx.tenant(LIM)
    tok = ctx.token(LIM)
    ctx.psql(f"UPDATE vscope.tenants SET max_series = 3 WHERE name = '{LIM}'")
    pt = lambda h, v: {"metric": "lim.m", "timestamp": T0 + v, "value": v, "tags": {"h": h}}  # noqa: E731
    assert_status(ctx.post("/api/put", [pt("a", 1), pt("b", 2)], token=tok), 204)
    for path in ("/api/put", "/api/put?details", "/api/put?summary"):
        r = ctx.post(path, [pt("a", 3), pt("c", 4), pt("d", 5)], token=tok)
        err = assert_tsdb_error(r, 400, f'Tenant "{LIM}" may have at most 3 series')
        assert err["details"].startswith("It has 2; this write would create 2 more, and nothing of it "
                                         "was stored."), err
        assert "vscope.max_series" in err["details"], err
    assert ctx.as_tenant(LIM, "SELECT count(*), max(value) FROM vscope.datapoints") == [["2", "2"]]
    # one more fits, and existing series are written as ever
    assert_status(ctx.post("/api/put", [pt("a", 3), pt("c", 4)], token=tok), 204)
    assert ctx.as_tenant(LIM, "SELECT count(*), max(value) FROM vscope.datapoints") == [["4", "4"]]
    assert_tsdb_error(ctx.post("/api/put", pt("d", 5), token=tok), 400, "at most 3 series")


# ---- the series cache of a pooled backend ----

def free_port(preferred):
    for port in range(preferred, preferred + 40):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port from {preferred}")


def db_uri(dbname):
    """The main daemon's db-uri, for another database of the same cluster."""
    with open(os.environ["VSCOPE_DAEMON_CONF"]) as f:
        conf = f.read()
    m = re.search(r'^\s*db-uri\s*=\s*"?(.*?)"?\s*$', conf, re.M)
    uri = os.environ.get("VSCOPE_DB_URI") or (m.group(1) if m else "")
    if uri.startswith("@"):
        with open(uri[1:]) as f:
            uri = f.read().strip()
    if "://" in uri:
        u = urllib.parse.urlsplit(uri)
        return urllib.parse.urlunsplit(u._replace(path="/" + dbname))
    if re.search(r"\bdbname=", uri):
        return re.sub(r"\bdbname=\S+", f"dbname={dbname}", uri)
    return f"{uri} dbname={dbname}"


def one_connection_daemon(ctx, db):
    env = {"VSCOPE_DB_POOL": "1"}
    if db != "vscope":
        env["VSCOPE_DB_URI"] = db_uri(db)
    port = free_port(ctx.port + 30)
    return ctx.spawn_daemon(port, **env), port


def stop(proc):
    proc.terminate()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def orphans(ctx, tenant, db="vscope"):
    """Points of the tenant under an id that no series of it has."""
    return ctx.psql(f"""SELECT p.series_id, p.ts, coalesce(p.value, p.ivalue) FROM vscope.points p
                          JOIN vscope.tenants t ON t.tenant_id = p.tenant_id AND t.name = '{tenant}'
                         WHERE NOT EXISTS (SELECT FROM vscope.series s WHERE s.tenant_id = p.tenant_id
                                              AND s.series_id = p.series_id)""", db=db)


def landed(ctx, tenant, db="vscope"):
    """[(skey, series_id, unix ts)] of the tenant's points that have a series."""
    return [(k, int(i), int(t)) for k, i, t in ctx.psql(f"""
        SELECT s.skey, s.series_id, extract(epoch FROM p.ts)::bigint
          FROM vscope.points p JOIN vscope.series s USING (tenant_id, series_id)
          JOIN vscope.tenants t USING (tenant_id) WHERE t.name = '{tenant}'
         ORDER BY p.ts, s.skey""", db=db)]


def test_a_pooled_backend_forgets_deleted_series(ctx):
    tok = ctx.token(CACHE)
    proc, port = one_connection_daemon(ctx, "vscope")
    try:
        def put(ts, hosts):
            body = [{"metric": "cache.m", "timestamp": ts, "value": ts - T0, "tags": {"h": h}} for h in hosts]
            assert_status(ctx.request("POST", "/api/put", body, token=tok, port=port), 204)

        put(T0, ["x", "y"])               # the backend caches x -> 1, y -> 2
        assert ids(ctx, CACHE) == {"cache.m{h=x}": 1, "cache.m{h=y}": 2}
        ctx.psql(f"DELETE FROM vscope.series WHERE tenant_id = vscope.tenant_id('{CACHE}') "
                 f"AND skey = 'cache.m{{h=x}}'")
        put(T0 + 60, ["x", "y"])          # x is a new series, numbered past every id given
        assert ids(ctx, CACHE) == {"cache.m{h=x}": 3, "cache.m{h=y}": 2}
        assert landed(ctx, CACHE) == [("cache.m{h=y}", 2, T0), ("cache.m{h=x}", 3, T0 + 60),
                                      ("cache.m{h=y}", 2, T0 + 60)]
        # the point written before the delete is the only one without a series
        assert orphans(ctx, CACHE) == [["1", "2024-01-01 00:00:00+00", "0"]]
    finally:
        stop(proc)


def test_a_pooled_backend_forgets_series_after_truncate_and_a_new_extension(ctx):
    ctx.psql(f'DROP DATABASE IF EXISTS "{CACHE_DB}" WITH (FORCE)', db="postgres")
    ctx.psql(f'CREATE DATABASE "{CACHE_DB}"', db="postgres")
    proc = None
    try:
        def setup():
            ctx.psql(f"CREATE EXTENSION vscope; SELECT vscope.create_tenant('{CACHE}') \\g /dev/null", db=CACHE_DB)
            ctx.add_days(T0, db=CACHE_DB)
            return ctx.scalar(f"SELECT vscope.create_token('{CACHE}', '{{read,write}}', 'e2e')", db=CACHE_DB)

        tok = setup()
        proc, port = one_connection_daemon(ctx, CACHE_DB)

        def put(ts, hosts):
            body = [{"metric": "cache.m", "timestamp": ts, "value": ts - T0, "tags": {"h": h}} for h in hosts]
            assert_status(ctx.request("POST", "/api/put", body, token=tok, port=port), 204)

        put(T0, ["x", "y"])
        assert ids(ctx, CACHE, CACHE_DB) == {"cache.m{h=x}": 1, "cache.m{h=y}": 2}
        # TRUNCATE: the points stay under ids no series has any more; new
        # writes make new series, numbered on
        ctx.psql("TRUNCATE vscope.series", db=CACHE_DB)
        put(T0 + 60, ["y"])
        assert ids(ctx, CACHE, CACHE_DB) == {"cache.m{h=y}": 3}
        assert landed(ctx, CACHE, CACHE_DB) == [("cache.m{h=y}", 3, T0 + 60)]
        # DROP and CREATE EXTENSION: everything is new, the tenant's id too,
        # while the daemon's one connection stays open
        ctx.psql("DROP EXTENSION vscope CASCADE", db=CACHE_DB)
        tok = setup()
        put(T0 + 120, ["y", "z"])
        assert ids(ctx, CACHE, CACHE_DB) == {"cache.m{h=y}": 1, "cache.m{h=z}": 2}
        assert landed(ctx, CACHE, CACHE_DB) == [("cache.m{h=y}", 1, T0 + 120), ("cache.m{h=z}", 2, T0 + 120)]
        assert orphans(ctx, CACHE, CACHE_DB) == []
        # and the same backend served all of it
        assert ctx.scalar(f"SELECT count(DISTINCT pid) FROM pg_stat_activity WHERE datname = '{CACHE_DB}' "
                          f"AND usename = 'vscope_authenticator'") == "1"
    finally:
        if proc is not None:
            stop(proc)
        ctx.psql(f'DROP DATABASE IF EXISTS "{CACHE_DB}" WITH (FORCE)', db="postgres")


# ---- upgrade ----

def test_an_upgrade_from_0_2_0_keeps_every_id_and_numbers_on_per_tenant(ctx):
    ctx.psql(f'DROP DATABASE IF EXISTS "{UP_DB}" WITH (FORCE)', db="postgres")
    ctx.psql(f'CREATE DATABASE "{UP_DB}"', db="postgres")
    try:
        ctx.psql("CREATE EXTENSION vscope VERSION '0.2.0'", db=UP_DB)
        # writes never make partitions (0.2.0 has no add_days: its internal function)
        ctx.psql(f"SELECT vscope._ensure_partitions(ARRAY[{T0 // 86400}])", db=UP_DB)
        # 0.2.0 numbers series from one sequence: interleave two tenants
        sql = "SELECT vscope.create_tenant('up-a') \\g /dev/null\nSELECT vscope.create_tenant('up-b') \\g /dev/null\n"
        for i in range(6):
            t = "up-a" if i % 3 else "up-b"
            sql += (f"SELECT vscope.use_tenant('{t}') \\g /dev/null\n"
                    f"SELECT vscope.put_point('up.m', '{{\"h\": \"{i}\"}}', to_timestamp({T0}), {i}) \\g /dev/null\n")
        ctx.psql(sql, db=UP_DB)
        before = {t: ids(ctx, t, UP_DB) for t in ("up-a", "up-b")}
        assert before == {"up-a": {"up.m{h=1}": 2, "up.m{h=2}": 3, "up.m{h=4}": 5, "up.m{h=5}": 6},
                          "up-b": {"up.m{h=0}": 1, "up.m{h=3}": 4}}, before
        ctx.psql("ALTER EXTENSION vscope UPDATE", db=UP_DB)
        assert {t: ids(ctx, t, UP_DB) for t in ("up-a", "up-b")} == before
        assert ctx.psql("SELECT name, series_next, series_count FROM vscope.tenants ORDER BY name",
                        db=UP_DB) == [["up-a", "7", "4"], ["up-b", "5", "2"]]
        # new series go on from each tenant's own largest id
        got = ctx.psql("SELECT vscope.use_tenant('up-b') \\g /dev/null\n"
                       f"SELECT vscope.put_point('up.m', '{{\"h\": \"new\"}}', to_timestamp({T0}), 9);\n"
                       "SELECT vscope.use_tenant('up-a') \\g /dev/null\n"
                       f"SELECT vscope.put_point('up.m', '{{\"h\": \"new\"}}', to_timestamp({T0}), 9);", db=UP_DB)
        assert got == [["5"], ["7"]], got
        assert ctx.scalar("SELECT count(*) FROM vscope.points p JOIN vscope.series s USING (tenant_id, series_id)",
                          db=UP_DB) == "8"
    finally:
        ctx.psql(f'DROP DATABASE IF EXISTS "{UP_DB}" WITH (FORCE)', db="postgres")
