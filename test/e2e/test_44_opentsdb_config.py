"""OpenTSDB's maintenance endpoints: /api/config, /api/serializers,
/api/dropcaches, /api/stats (and its sub-endpoints), and the answer of the
endpoints vscope does not implement (trees, search plugins, rollups,
histograms)."""
import time

from vstest import assert_status, assert_tsdb_error

TENANT = "e2e-config"
OTHER = "e2e-config-other"


def setup(ctx):
    ctx.tenant(TENANT)
    ctx.tenant(OTHER)
    ctx.add_days(int(time.time()) - 86400, int(time.time()))


def put(ctx, tok, points):
    r = ctx.post("/api/put", points, token=tok)
    assert_status(r, 204)


def stats(ctx, tok):
    r = ctx.get("/api/stats", token=tok)
    assert_status(r, 200)
    return r.json()


def stat(points, metric, **tags):
    found = [p for p in points if p["metric"] == metric and
             all(p["tags"].get(k) == v for k, v in tags.items())]
    assert len(found) == 1, (metric, tags, points)
    return int(found[0]["value"])


# ---- /api/config ----

def test_config_needs_a_valid_token(ctx):
    assert_tsdb_error(ctx.get("/api/config"), 401, "Authentication required")
    assert_tsdb_error(ctx.get("/api/config", token="no-such-token"), 401, "Invalid credentials")


def test_config_answers_the_real_settings_as_strings(ctx):
    r = ctx.get("/api/config", token=ctx.token(TENANT, "read"))
    assert_status(r, 200)
    cfg = r.json()
    assert all(isinstance(v, str) for v in cfg.values()), cfg
    assert cfg["tsd.core.auto_create_metrics"] == "true"
    assert cfg["tsd.storage.fix_duplicates"] == "true"    # the last write of a point wins
    assert cfg["tsd.http.query.allow_delete"] == "false"
    assert cfg["tsd.http.request.enable_chunked"] == "true"
    assert cfg["tsd.network.port"] == str(ctx.port)
    assert cfg["vscoped.server-port"] == str(ctx.port)
    # the database's settings, as the database has them
    for name in ("vscope.max_put_points", "vscope.max_tags", "vscope.max_points",
                 "vscope.max_buckets", "vscope.max_future", "vscope.max_past", "vscope.retention"):
        assert name in cfg, (name, sorted(cfg))
    assert cfg["vscope.max_put_points"] == ctx.scalar(
        "SELECT vscope.settings()->>'vscope.max_put_points'")
    assert ctx.psql("SELECT vscope.settings() \\g /dev/null\nSHOW vscope.max_tags;") == \
        [[cfg["vscope.max_tags"]]]
    # nothing secret, no other tenant named
    assert not any("db-uri" in k or "tenant" in k or "auth" in k for k in cfg), sorted(cfg)
    assert "vscope_authenticator" not in r.body and "e2e-telnet" not in r.body
    # the same on POST, and for a write-only token
    r2 = ctx.post("/api/config", token=ctx.token(TENANT, "write"))
    assert_status(r2, 200)
    assert r2.json() == cfg


def test_config_refuses_other_methods(ctx):
    r = ctx.request("DELETE", "/api/config", token=ctx.token(TENANT, "read"))
    assert_tsdb_error(r, 405, "Method not allowed")
    assert r.header("Allow") == "GET, POST"


# ---- /api/serializers ----

def test_serializers_lists_the_json_serializer(ctx):
    r = ctx.get("/api/serializers")    # no credentials, as OpenTSDB
    assert_status(r, 200)
    sers = r.json()
    assert len(sers) == 1, sers
    s = sers[0]
    assert s["serializer"] == "json"
    assert s["response_content_type"] == "application/json; charset=UTF-8"
    assert s["request_content_type"] == "application/json"
    for f in ("formatQueryV1", "formatPutV1", "formatStatsV1", "formatDropCachesV1",
              "formatConfigV1", "formatSerializersV1", "formatErrorV1"):
        assert f in s["formatters"], (f, s)
    for p in ("parsePutV1", "parseQueryV1", "parseSuggestV1"):
        assert p in s["parsers"], (p, s)
    assert_status(ctx.post("/api/serializers"), 200)
    r = ctx.request("PUT", "/api/serializers", body="{}")
    assert_tsdb_error(r, 405)
    assert r.header("Allow") == "GET, POST"


# ---- /api/dropcaches ----

def test_dropcaches_needs_an_admin_token(ctx):
    assert_tsdb_error(ctx.get("/api/dropcaches"), 401)
    assert_tsdb_error(ctx.get("/api/dropcaches", token="bad"), 401)
    for scopes in ("read", "write", "read,write"):
        e = assert_tsdb_error(ctx.get("/api/dropcaches", token=ctx.token(TENANT, scopes)), 403)
        assert "admin" in e["details"], e
    r = ctx.request("DELETE", "/api/dropcaches", token=ctx.token(TENANT, "admin"))
    assert_tsdb_error(r, 405)
    assert r.header("Allow") == "GET, POST"


def test_dropcaches_answers_as_opentsdb(ctx):
    for tok in (ctx.token(TENANT, "admin"), ctx.superadmin()):
        for method in ("GET", "POST"):
            r = ctx.request(method, "/api/dropcaches", token=tok)
            assert_status(r, 200)
            assert r.json() == {"message": "Caches dropped", "status": "200"}


def test_drop_caches_empties_the_backends_caches(ctx):
    """In one backend: a put fills the known-days set and the series cache;
    vscope.drop_caches() empties the set at once (the invalidation reaches
    every backend at commit, this one included); the next put fills it
    again."""
    now = int(time.time())
    rows = ctx.psql(f"""
        SELECT vscope.use_tenant('{TENANT}') \\g /dev/null
        SET ROLE vscope_writer;
        SELECT (vscope.put('[{{"metric":"cfg.cache","timestamp":{now},"value":1,"tags":{{"h":"a"}}}}]')->>'success');
        RESET ROLE;
        SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'vscope partition days';
        SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'vscope series';
        SELECT vscope.drop_caches();
        SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'vscope partition days';
        SET ROLE vscope_writer;
        SELECT (vscope.put('[{{"metric":"cfg.cache","timestamp":{now + 1},"value":2,"tags":{{"h":"a"}}}}]')->>'success');
        RESET ROLE;
        SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'vscope partition days';
    """)
    assert [r[0] for r in rows] == ["1", "1", "1", "0", "1", "1"], rows


# ---- /api/stats ----

def test_stats_needs_a_valid_token(ctx):
    assert_tsdb_error(ctx.get("/api/stats"), 401)
    assert_tsdb_error(ctx.get("/api/stats", token="bad"), 401)
    r = ctx.request("PUT", "/api/stats", token=ctx.token(TENANT, "read"))
    assert_tsdb_error(r, 405)
    assert r.header("Allow") == "GET, POST"


def test_stats_count_requests_and_points(ctx):
    tok = ctx.token(TENANT)
    before = stats(ctx, tok)
    for p in before:
        assert list(p) == ["metric", "timestamp", "value", "tags"], p
        assert p["metric"].startswith("tsd.") and isinstance(p["value"], str), p
        assert p["tags"]["host"], p
        assert abs(p["timestamp"] - time.time()) < 60, p
    assert stat(before, "tsd.uptime") >= 0
    assert stat(before, "tsd.connectionmgr.connections", type="open") >= 1   # this one
    now = int(time.time())
    put(ctx, tok, [{"metric": "cfg.stats", "timestamp": now - i, "value": i, "tags": {"h": "a"}}
                   for i in range(3)])
    after = stats(ctx, tok)
    assert stat(after, "tsd.datapoints.added", type="all") - \
        stat(before, "tsd.datapoints.added", type="all") == 3
    def puts(points):
        return next((int(p["value"]) for p in points if p["metric"] == "tsd.http.requests"
                     and p["tags"]["endpoint"] == "/api/put"), 0)
    assert puts(after) - puts(before) == 1
    # the first stats request itself was counted
    assert stat(after, "tsd.http.requests", endpoint="/api/stats") - \
        stat(before, "tsd.http.requests", endpoint="/api/stats") >= 1
    assert stat(after, "tsd.rpc.received", type="http") > stat(before, "tsd.rpc.received", type="http")
    assert_status(ctx.post("/api/stats", token=tok), 200)


def test_stats_query_lists_the_tenants_own_queries(ctx):
    tok = ctx.token(TENANT, "read")
    other = ctx.token(OTHER, "read")
    now = int(time.time())
    body = {"start": now - 3599, "queries": [{"metric": "cfg.stats", "aggregator": "sum",
                                              "tags": {"h": "a"}}]}
    assert_status(ctx.post("/api/query", body, token=tok), 200)
    # a failed query is listed too, with its status
    assert_tsdb_error(ctx.get(f"/api/query?start={now - 60}&m=sum:cfg.nothing", token=tok), 400)
    r = ctx.get("/api/stats/query", token=tok)
    assert_status(r, 200)
    q = r.json()
    assert list(q) == ["running", "completed"] and q["running"] == [], q
    mine = [c for c in q["completed"] if c["query"] == body]
    assert len(mine) == 1, q
    c = mine[0]
    assert c["httpResponse"] == {"code": 200, "reasonPhrase": "OK"}, c
    assert c["queryCompletedTimestamp"] >= c["queryStartTimestamp"] >= (now - 5) * 1000, c
    assert c["elapsed"] == c["queryCompletedTimestamp"] - c["queryStartTimestamp"]
    # the GET form is listed with its arguments, newest first
    assert q["completed"][0]["query"] == {"start": [str(now - 60)], "m": ["sum:cfg.nothing"]}, q
    assert q["completed"][0]["httpResponse"] == {"code": 400, "reasonPhrase": "Bad Request"}, q
    # another tenant sees none of it
    r = ctx.get("/api/stats/query", token=other)
    assert_status(r, 200)
    assert ('"start":%d' % (now - 3599)) not in r.body and "cfg.nothing" not in r.body, r.body
    assert_tsdb_error(ctx.get("/api/stats/query"), 401)


def test_stats_of_a_jvm_or_hbase_are_not_implemented(ctx):
    for what in ("jvm", "threads", "region_clients"):
        e = assert_tsdb_error(ctx.get("/api/stats/" + what), 501, "not been implemented")
        assert e["details"], e
    assert_tsdb_error(ctx.get("/api/stats/nothing"), 404, "Endpoint not found")


# ---- what vscope does not implement ----

def test_hbase_and_plugin_endpoints_answer_not_implemented(ctx):
    tok = ctx.token(TENANT, "read")
    for method, path in (("GET", "/api/tree"), ("POST", "/api/tree/rule"), ("GET", "/api/tree/branch"),
                         ("DELETE", "/api/tree/rules"), ("GET", "/api/search/tsmeta"),
                         ("POST", "/api/search/uidmeta"), ("GET", "/api/search"),
                         ("POST", "/api/rollup"), ("POST", "/api/histogram")):
        e = assert_tsdb_error(ctx.request(method, path, body="{}" if method != "GET" else None,
                                          token=tok), 501, "not been implemented")
        assert e["details"], (path, e)
    # /api/search/lookup is served, the rest is still an unknown endpoint
    assert_tsdb_error(ctx.get("/api/search/lookup?m=cfg.stats"), 401)
    assert_status(ctx.get("/api/search/lookup?m=cfg.stats", token=tok), 200)
    assert_tsdb_error(ctx.get("/api/nothing"), 404, "Endpoint not found")
