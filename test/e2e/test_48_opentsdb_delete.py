"""Deleting through /api/query: refused while vscope.query_allow_delete is
off (OpenTSDB's 400); with it on (a second vscoped whose connections see
the database's setting), only for write tokens, answering the data deleted,
and the points gone from every reader: rows and compressed blocks, the
latest point, other series and tenants untouched."""
import time
import urllib.parse

from vstest import assert_status, assert_tsdb_error

TENANT = "e2e-delete"
OTHER = "e2e-delete-other"
DAY = (int(time.time()) // 86400 - 3) * 86400      # a complete day, three days ago


def put_day(ctx, tenant, host):
    """One point a minute on DAY and the next day, for host."""
    pts = [{"metric": "del.m", "timestamp": DAY + i * 60, "value": i, "tags": {"host": host}}
           for i in range(2 * 1440)]
    r = ctx.post("/api/put", pts, token=ctx.token(tenant))
    assert_status(r, 204)


def counts(ctx, tenant):
    return dict((h, int(n)) for h, n in ctx.as_tenant(
        tenant, "SELECT s.tags->>'host', count(*) FROM vscope.datapoints d JOIN vscope.series s USING (series_id) "
                "WHERE s.metric = 'del.m' GROUP BY 1 ORDER BY 1"))


def test_refused_while_off(ctx):
    ctx.tenant(TENANT)
    tok = ctx.token(TENANT)
    for r in (ctx.request("DELETE", f"/api/query?start={DAY}&m=sum:del.m", token=tok),
              ctx.post("/api/query", {"start": DAY, "delete": True,
                                      "queries": [{"aggregator": "sum", "metric": "del.m"}]}, token=tok)):
        err = assert_tsdb_error(r, 400, "Bad request")
        assert err["details"] == "Deleting data is not enabled (tsd.http.query.allow_delete=false)", err
    assert ctx.get("/api/config", token=tok).json()["tsd.http.query.allow_delete"] == "false"


def test_delete_when_allowed(ctx):
    ctx.tenant(TENANT)
    ctx.tenant(OTHER)
    ctx.add_days(DAY, DAY + 86400)
    put_day(ctx, TENANT, "a")
    put_day(ctx, TENANT, "b")
    put_day(ctx, OTHER, "a")
    ctx.psql(f"SELECT vscope.compress(to_timestamp({DAY})::date)")
    assert ctx.scalar("SELECT count(*) FROM vscope.blocks") != "0"
    ctx.psql("ALTER DATABASE vscope SET vscope.query_allow_delete = on")
    port = ctx.port + 5
    proc = ctx.spawn_daemon(port)
    try:
        w, rd = ctx.token(TENANT), ctx.token(TENANT, "read")
        assert ctx.get("/api/config", token=rd, port=port).json()["tsd.http.query.allow_delete"] == "true"
        # a read token may not delete
        q = {"start": DAY + 86400 - 600, "end": DAY + 86400 + 299, "delete": True,
             "queries": [{"aggregator": "sum", "metric": "del.m", "tags": {"host": "a"}}]}
        assert_tsdb_error(ctx.post("/api/query", q, token=rd, port=port), 403)
        # a write token: the answer is the data deleted, across the end of a compressed day
        r = ctx.post("/api/query", q, token=w, port=port)
        assert_status(r, 200)
        dps = r.json()[0]["dps"]
        assert len(dps) == 15 and dps[str(DAY + 86400 - 600)] == 1430, dps
        assert counts(ctx, TENANT) == {"a": 2880 - 15, "b": 2880}, counts(ctx, TENANT)
        assert counts(ctx, OTHER) == {"a": 2880}
        # every reader: the query engine, with and without summaries
        r = ctx.post("/api/query", {"start": DAY, "end": DAY + 2 * 86400 - 1, "queries": [
            {"aggregator": "sum", "metric": "del.m", "downsample": "1d-count", "tags": {"host": "*"}}]},
            token=rd, port=port)
        got = {g["tags"]["host"]: g["dps"] for g in r.json()}
        assert got["a"] == {str(DAY): 1430.0, str(DAY + 86400): 1435.0}, got
        assert got["b"] == {str(DAY): 1440.0, str(DAY + 86400): 1440.0}, got
        # DELETE with the GET form's arguments: b's last hour; the latest point moves back
        r = ctx.request("DELETE", f"/api/query?start={DAY + 2 * 86400 - 3600}&end={DAY + 2 * 86400}"
                                  f"&m=" + urllib.parse.quote("sum:del.m{host=b}"), token=w, port=port)
        assert_status(r, 200)
        assert len(r.json()[0]["dps"]) == 60, r.json()
        r = ctx.get("/api/query/last?timeseries=" + urllib.parse.quote("del.m{host=b}"), token=rd, port=port)
        assert r.json()[0]["timestamp"] == (DAY + 2 * 86400 - 3660) * 1000, r.json()
        # GET with method_override=delete deletes too, when allowed
        r = ctx.get(f"/api/query?start={DAY}&end={DAY + 59}&m=sum:del.m&method_override=delete",
                    token=w, port=port)
        assert_status(r, 200)
        assert counts(ctx, TENANT) == {"a": 2880 - 16, "b": 2880 - 61}, counts(ctx, TENANT)
        assert counts(ctx, OTHER) == {"a": 2880}
    finally:
        ctx.psql("ALTER DATABASE vscope RESET vscope.query_allow_delete")
        proc.terminate()
        proc.communicate(timeout=10)
