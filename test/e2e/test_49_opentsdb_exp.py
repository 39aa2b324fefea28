"""OpenTSDB 2.4's expression endpoints over HTTP: POST /api/query/exp (time,
filters, metrics, expressions, outputs) and GET /api/query/gexp
(Graphite-style functions), with OpenTSDB's answers, status codes (500 for
what it cannot read, 400 for what fails running) and error bodies."""
import time
import urllib.parse

from faults import free_port
from vstest import assert_status, assert_tsdb_error

TENANT = "e2e-exp"
OTHER = "e2e-exp-other"
NOW = int(time.time())
# the top of an hour one to two hours back: every point is in one hour
T0 = (NOW - 7200) // 3600 * 3600
START, END = T0, T0 + 120


def setup(ctx):
    ctx.tenant(TENANT)
    ctx.tenant(OTHER)
    ctx.add_days(T0 - 86400, NOW)
    points = []
    # cpu user and system of three hosts in two datacenters; web03 has no
    # system metric, web01 and web02 the same timestamps
    for i, host, dc in ((1, "web01", "lga"), (2, "web02", "lga"), (3, "web03", "nyc")):
        for k in range(3):
            points.append({"metric": "e2e.cpu.user", "timestamp": T0 + 60 * k, "value": 10 * i + k,
                           "tags": {"host": host, "dc": dc}})
            if host != "web03":
                points.append({"metric": "e2e.cpu.system", "timestamp": T0 + 60 * k, "value": i,
                               "tags": {"host": host, "dc": dc}})
    # and a point of web01's system after END
    points.append({"metric": "e2e.cpu.system", "timestamp": T0 + 180, "value": 9,
                   "tags": {"host": "web01", "dc": "lga"}})
    r = ctx.post("/api/put", points, token=ctx.token(TENANT))
    assert_status(r, 204)
    r = ctx.post("/api/put", {"metric": "e2e.cpu.user", "timestamp": T0, "value": 1000,
                              "tags": {"host": "web01", "dc": "lga"}}, token=ctx.token(OTHER))
    assert_status(r, 204)


def exp_body(**extra):
    """The documentation's shape: filter f1 groups by host, a and b are user and system."""
    body = {"time": {"start": START, "end": END, "aggregator": "sum"},
            "filters": [{"id": "f1", "tags": [{"type": "wildcard", "tagk": "host", "filter": "web*",
                                                "groupBy": True}]}],
            "metrics": [{"id": "a", "metric": "e2e.cpu.user", "filter": "f1"},
                        {"id": "b", "metric": "e2e.cpu.system", "filter": "f1"}],
            "expressions": [{"id": "e", "expr": "a + b"}]}
    body.update(extra)
    return body


def test_expression_per_host(ctx):
    tok = ctx.token(TENANT, "read")
    r = ctx.post("/api/query/exp", exp_body(), basic=("read", tok),
                 headers={"Content-Type": "application/json"})
    assert_status(r, 200)
    # OpenTSDB's order of keys, compact as Jackson writes it
    assert r.body.startswith('{"outputs":[{"id":"e","dps":[['), r.body[:80]
    res = r.json()
    assert list(res) == ["outputs", "query"], list(res)
    out = res["outputs"][0]
    assert list(out) == ["id", "dps", "dpsMeta", "meta"], list(out)
    ms = T0 * 1000
    # union: web03 has no system series, which counts as 0
    assert out["dps"] == [[ms, 11.0, 22.0, 30.0], [ms + 60000, 12.0, 23.0, 31.0],
                          [ms + 120000, 13.0, 24.0, 32.0]], out["dps"]
    assert out["dpsMeta"] == {"firstTimestamp": ms, "lastTimestamp": ms + 120000,
                              "setCount": 3, "series": 3}, out["dpsMeta"]
    assert out["meta"][0] == {"index": 0, "metrics": ["timestamp"]}
    assert out["meta"][1] == {"index": 1, "metrics": ["e2e.cpu.system", "e2e.cpu.user"],
                              "commonTags": {"dc": "lga", "host": "web01"}, "aggregatedTags": []}
    assert out["meta"][3]["metrics"] == ["e2e.cpu.user"] and out["meta"][3]["commonTags"]["host"] == "web03"
    # the query echoed with the defaults OpenTSDB fills in
    q = res["query"]
    assert list(q) == ["name", "time", "filters", "metrics", "expressions", "outputs"], list(q)
    assert q["expressions"][0]["join"] == {"operator": "union", "useQueryTags": False,
                                           "includeAggTags": True}
    assert q["time"]["start"] == str(START) and q["outputs"] is None


def test_intersection_nesting_outputs_and_fill(ctx):
    tok = ctx.token(TENANT, "read")
    body = exp_body(expressions=[
        {"id": "busy", "expr": "(a + b) / (a + b + 100) * 100", "join": {"operator": "intersection"}},
        {"id": "twice", "expr": "busy * 2"}],
        outputs=[{"id": "twice", "alias": "Busy x2"}, {"id": "b", "alias": "system"}])
    r = ctx.post("/api/query/exp", body, token=tok)
    assert_status(r, 200)
    twice, system = r.json()["outputs"]
    assert twice["id"] == "twice" and twice["alias"] == "Busy x2"
    assert twice["dpsMeta"]["series"] == 2       # web03 is not in the intersection
    first = twice["dps"][0]
    assert first[1] == (11 / 111 * 100) * 2 and first[2] == (22 / 122 * 100) * 2, first
    # a metric as output: its series side by side
    assert system["alias"] == "system" and system["dps"][0] == [T0 * 1000, 1.0, 2.0], system
    # a missing series counts as 0 in a union, whatever the fill policy;
    # a missing value is the metric's fill, NaN written "NaN" as Jackson does
    body = exp_body(metrics=[{"id": "a", "metric": "e2e.cpu.user", "filter": "f1"},
                             {"id": "b", "metric": "e2e.cpu.system", "filter": "f1",
                              "fillPolicy": {"policy": "nan"}}],
                    expressions=[{"id": "e", "expr": "b - a"}])
    r = ctx.post("/api/query/exp", body, token=tok)
    assert_status(r, 200)
    assert r.json()["outputs"][0]["dps"][1] == [T0 * 1000 + 60000, -10.0, -19.0, -31.0], r.body
    assert all("NaN" not in row for row in r.json()["outputs"][0]["dps"]), r.body
    # at T0+180 only web01's system has a point: a's fill 100 stands in for
    # every a, b's NaN for web02's b, web03 has no b series (0)
    body["metrics"][0]["fillPolicy"] = {"policy": "scalar", "value": 100}
    body["time"]["end"] = END + 60
    r = ctx.post("/api/query/exp", body, token=tok)
    assert_status(r, 200)
    assert r.json()["outputs"][0]["dps"][3] == [T0 * 1000 + 180000, -91.0, "NaN", -100.0], r.body


def test_downsampled_expression_as_opentsdb_users_write_it(ctx):
    """A relative start, a downsampler and a per-metric aggregator."""
    tok = ctx.token(TENANT, "read")
    body = {"time": {"start": "3h-ago", "aggregator": "sum",
                     "downsampler": {"interval": "1h", "aggregator": "max"}},
            "metrics": [{"id": "u", "metric": "e2e.cpu.user"},
                        {"id": "s", "metric": "e2e.cpu.system", "aggregator": "min"}],
            "expressions": [{"id": "ratio", "expr": "s / u", "join": {
                "operator": "intersection", "useQueryTags": True, "includeAggTags": False}}]}
    r = ctx.post("/api/query/exp", body, token=tok)
    assert_status(r, 200)
    out = r.json()["outputs"][0]
    # one hour: user summed over the hosts' maxima 12 + 22 + 32, system the
    # least of web01's (9) and web02's (2) maxima; joined on no tags at all
    assert out["dps"] == [[T0 * 1000, 2 / 66]], out
    assert out["meta"][1]["metrics"] == ["e2e.cpu.system", "e2e.cpu.user"], out


def test_errors_as_opentsdb_answers_them(ctx):
    tok = ctx.token(TENANT, "read")
    # what OpenTSDB cannot read: 500
    assert_tsdb_error(ctx.get("/api/query/exp", token=tok), 500, "Incoming data was null or empty")
    assert_tsdb_error(ctx.get("/api/query/exp", token="vst_not_a_token"), 401)   # credentials first
    assert_tsdb_error(ctx.post("/api/query/exp", "{\"time\":", token=tok), 500,
                      "Unable to parse the given JSON")
    assert_tsdb_error(ctx.post("/api/query/exp", {}, token=tok), 500, "Missing time")
    e = assert_tsdb_error(ctx.post("/api/query/exp", exp_body(time={"start": START}), token=tok), 500,
                          "Invalid time")
    assert e["details"] == "Missing or empty aggregator", e
    assert_tsdb_error(ctx.post("/api/query/exp", exp_body(metrics=[]), token=tok), 500,
                      "Missing or empty metrics")
    assert_tsdb_error(ctx.post("/api/query/exp", exp_body(expressions=[{"id": "e", "expr": "a + x"}]),
                               token=tok), 500, "Expression [a + x] was missing input x")
    e = assert_tsdb_error(ctx.post("/api/query/exp", exp_body(
        expressions=[{"id": "e", "expr": "a.getClass().forName('java.lang.Runtime')"}]), token=tok), 500,
        "Unable to parse the expression")
    assert "position 2" in e["details"], e
    assert_tsdb_error(ctx.post("/api/query/exp", exp_body(
        metrics=[{"id": "a.b", "metric": "e2e.cpu.user"}]), token=tok), 500, "Invalid id")
    # what fails running: 400
    assert_tsdb_error(ctx.post("/api/query/exp", exp_body(
        metrics=[{"id": "a", "metric": "e2e.nosuch"}], expressions=[]), token=tok), 400,
        "No such name for 'metrics'")
    assert_tsdb_error(ctx.post("/api/query/exp", exp_body(expressions=[
        {"id": "e", "expr": "f + a"}, {"id": "f", "expr": "e + b"}]), token=tok), 400,
        "Circular reference found")
    assert_tsdb_error(ctx.post("/api/query/exp", exp_body(expressions=[{"id": "e", "expr": "e * 2"}]),
                               token=tok), 400, "Self referencing expression found: e")
    # DELETE as OpenTSDB refuses it; another method; no credentials
    assert_tsdb_error(ctx.request("DELETE", "/api/query/exp", exp_body(), token=tok), 400, "Bad request")
    r = ctx.request("PUT", "/api/query/exp", exp_body(), token=tok)
    assert_tsdb_error(r, 405)
    assert r.header("Allow") == "GET, POST, DELETE"
    assert_tsdb_error(ctx.post("/api/query/exp", exp_body()), 401)


def test_delete_when_deleting_is_allowed_answers_and_deletes_nothing(ctx):
    """OpenTSDB runs the expression endpoints' DELETE as their other method."""
    ctx.psql("ALTER DATABASE vscope SET vscope.query_allow_delete = on")
    port = free_port(ctx.port + 6)
    proc = ctx.spawn_daemon(port)
    try:
        w = ctx.token(TENANT)
        r = ctx.request("DELETE", "/api/query/exp", exp_body(), token=w, port=port)
        assert_status(r, 200)
        assert r.json()["outputs"][0]["dpsMeta"]["setCount"] == 3, r.body
        r = ctx.request("DELETE", "/api/query/gexp?" + urllib.parse.urlencode(
            {"start": START, "end": END, "exp": "scale(sum:e2e.cpu.user{host=*},1)"}), token=w, port=port)
        assert_status(r, 200)
        assert len(r.json()) == 3, r.body
        assert ctx.as_tenant(TENANT, "SELECT count(*) FROM vscope.datapoints "
                                     "WHERE metric = 'e2e.cpu.user'") == [["9"]]
    finally:
        ctx.psql("ALTER DATABASE vscope RESET vscope.query_allow_delete")
        proc.terminate()
        proc.communicate(timeout=10)


def test_tenants_see_only_their_series(ctx):
    r = ctx.post("/api/query/exp", exp_body(filters=None, metrics=[{"id": "a", "metric": "e2e.cpu.user"}],
                                            expressions=[{"id": "e", "expr": "a * 1"}]),
                 token=ctx.token(OTHER, "read"))
    assert_status(r, 200)
    assert r.json()["outputs"][0]["dps"] == [[T0 * 1000, 1000.0]], r.body
    r = ctx.post("/api/query/exp", exp_body(), token=ctx.token(OTHER, "read"))
    assert_tsdb_error(r, 400, "No such name for 'metrics': 'e2e.cpu.system'")
    r = ctx.get("/api/query/gexp?" + urllib.parse.urlencode(
        {"start": START, "end": END, "exp": "scale(sum:e2e.cpu.system,2)"}), token=ctx.token(OTHER, "read"))
    assert_tsdb_error(r, 400, "No such name")


def gexp(ctx, *exps, **args):
    q = [("start", START), ("end", END)] + [("exp", e) for e in exps] + list(args.items())
    return ctx.get("/api/query/gexp?" + urllib.parse.urlencode(q), token=ctx.token(TENANT, "read"))


def test_gexp_answers_as_api_query(ctx):
    # scale(..., 1) is the sub-query itself, in /api/query's form
    r = gexp(ctx, "scale(sum:e2e.cpu.user{host=*},1)")
    assert_status(r, 200)
    q = ctx.get("/api/query?" + urllib.parse.urlencode(
        {"start": START, "end": END, "m": "sum:e2e.cpu.user{host=*}"}), token=ctx.token(TENANT, "read"))
    assert_status(q, 200)
    assert r.json() == q.json(), (r.body, q.body)
    assert list(r.json()[0]) == ["metric", "tags", "aggregateTags", "query", "dps"]
    # the OpenTSDB documentation's example, with arrays and ms as Grafana's 2.4 mode asks
    r = gexp(ctx, "scale(sum:e2e.cpu.user{host=web01},1024)", arrays="true", ms="")
    assert_status(r, 200)
    assert r.json()[0]["dps"] == [[T0 * 1000, 10240], [T0 * 1000 + 60000, 11264], [T0 * 1000 + 120000, 12288]]
    # a POST is an /api/query POST, as OpenTSDB reads it
    body = {"start": START, "end": END, "queries": [{"metric": "e2e.cpu.user", "aggregator": "sum"}]}
    p = ctx.post("/api/query/gexp", body, token=ctx.token(TENANT, "read"))
    assert_status(p, 200)
    assert p.json() == ctx.post("/api/query", body, token=ctx.token(TENANT, "read")).json()


def test_gexp_functions(ctx):
    r = gexp(ctx, "sumSeries(sum:e2e.cpu.user{host=*},sum:e2e.cpu.system{host=*})",
             "alias(highestMax(sum:e2e.cpu.user{host=*},1),top.@host)",
             "movingAverage(diffSeries(sum:e2e.cpu.user{host=web01},sum:e2e.cpu.system{host=web01}),2)")
    assert_status(r, 200)
    res = r.json()
    assert len(res) == 5, r.body
    by = {(g["metric"], g["tags"].get("host")): g["dps"] for g in res[:4]}
    s = str(T0)
    # sumSeries: named after the first of its metrics; web03 has no system series: 0
    assert by[("e2e.cpu.system", "web01")][s] == 11.0
    assert by[("e2e.cpu.system", "web02")][s] == 22.0
    assert by[("e2e.cpu.user", "web03")][s] == 30.0
    # highestMax keeps web03's, alias names it
    assert by[("top.web03", None)] == {s: 30, str(T0 + 60): 31, str(T0 + 120): 32}
    # user - system = 9, 10, 11; their moving average over 2 points
    assert res[4]["dps"] == {s: 0.0, str(T0 + 60): 9.5, str(T0 + 120): 10.5}, res[4]


def test_gexp_errors(ctx):
    tok = ctx.token(TENANT, "read")
    assert_tsdb_error(ctx.get("/api/query/gexp?exp=scale(sum:e2e.cpu.user,2)", token=tok), 400,
                      "Missing parameter <code>start</code>")
    assert_tsdb_error(gexp(ctx, "nosuch(sum:e2e.cpu.user)"), 500, "Function nosuch has not been implemented")
    assert_tsdb_error(gexp(ctx, "scale(sum:e2e.cpu.user"), 500, "Failed to parse")
    assert_tsdb_error(gexp(ctx, "scale(sum:e2e.cpu.user,x)"), 400, "Unparseable scale factor value")
    assert_tsdb_error(gexp(ctx, "sumSeries(sum:e2e.cpu.user)"), 400, "Must have 2 to 26 series, got 1 instead")
    assert_tsdb_error(ctx.request("DELETE", f"/api/query/gexp?start={START}", token=tok), 400, "Bad request")
    assert_tsdb_error(ctx.get(f"/api/query/gexp?start={START}&exp=scale(sum:e2e.cpu.user,2)"), 401)


def test_stats_query_lists_expression_queries(ctx):
    tok = ctx.token(TENANT, "read")
    assert_status(ctx.post("/api/query/exp", exp_body(name="listed"), token=tok), 200)
    r = ctx.get("/api/stats/query", token=tok)
    assert_status(r, 200)
    names = [q["query"].get("name") for q in r.json()["completed"] if isinstance(q["query"], dict)]
    assert "listed" in names, r.body
