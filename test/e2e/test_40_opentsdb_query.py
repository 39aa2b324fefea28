"""OpenTSDB /api/query, /api/suggest and /api/aggregators over HTTP, on the
demo data of make run (loaded once into the test cluster)."""
import json
import os
import time
import urllib.parse

from vstest import assert_status, assert_tsdb_error

SERVICE = "pcc-37-187-228-180"
DC = SERVICE + "_datacenter869"
HOST = "172.17.86.51"
_loaded = []


def demo(ctx):
    """The demo tenant with make run's data, and a read-only token for it."""
    if not _loaded:
        ctx.tenant(SERVICE)
        demo_sql = os.path.join(os.environ["VSCOPE_ROOT"], "scripts", "demo.sql")
        with open(demo_sql) as f:
            sql = f.read()
        ctx.psql(f"\\set tenant {SERVICE}\n" + sql)
        _loaded.append(ctx.token(SERVICE, "read"))
    return _loaded[0]


def test_the_vscope_guides_example(ctx):
    tok = demo(ctx)
    start = int(time.time()) - 86400
    body = {"start": start, "queries": [{"metric": "vscope.host.mem.usage.perc", "aggregator": "sum",
                                         "downsample": "20m-max-zero",
                                         "tags": {"datacenter": DC, "host": HOST}}]}
    r = ctx.post("/api/query", body, basic=("read", tok))
    assert_status(r, 200)
    res = r.json()
    assert len(res) == 1, res
    g = res[0]
    assert list(g) == ["metric", "tags", "aggregateTags", "query", "dps"], list(g)
    assert g["metric"] == "vscope.host.mem.usage.perc"
    assert g["tags"] == {"datacenter": DC, "env": "prod", "host": HOST,
                         "servicename": SERVICE, "servicetype": "vscope"}, g["tags"]
    assert g["aggregateTags"] == [] and g["query"] == {"index": 0}
    ts = [int(k) for k in g["dps"]]
    assert ts == sorted(ts) and all(b - a == 1200 for a, b in zip(ts, ts[1:])), ts[:5]
    assert all(t % 1200 == 0 and t >= start for t in ts)
    assert 70 <= len(ts) <= 73, len(ts)
    # values are the 20-minute maxima of the stored minute points
    first = ts[0]
    expect = ctx.as_tenant(SERVICE, f"""
        SELECT max(value) FROM vscope.datapoints
         WHERE metric = 'vscope.host.mem.usage.perc' AND tags->>'host' = '{HOST}'
           AND tags->>'datacenter' = '{DC}'
           AND ts >= to_timestamp({first}) AND ts < to_timestamp({first + 1200})""")[0][0]
    assert g["dps"][str(first)] == float(expect), (g["dps"][str(first)], expect)


def test_get_form_answers_like_post(ctx):
    tok = demo(ctx)
    start = int(time.time()) - 7200
    post = ctx.post("/api/query", {"start": start, "queries": [{
        "metric": "vscope.host.cpu.usage.perc", "aggregator": "avg", "downsample": "30m-avg",
        "filters": [{"type": "literal_or", "tagk": "datacenter", "filter": DC, "groupBy": True},
                    {"type": "wildcard", "tagk": "host", "filter": "*", "groupBy": False}]}]}, token=tok)
    m = f"avg:30m-avg:vscope.host.cpu.usage.perc{{datacenter={DC}}}{{host=*}}"
    get = ctx.get("/api/query?" + urllib.parse.urlencode({"start": start, "m": m}), token=tok)
    assert_status(post, 200)
    assert_status(get, 200)
    assert post.json() == get.json()
    g = get.json()[0]
    assert g["tags"]["datacenter"] == DC and g["aggregateTags"] == ["host"], g


def test_group_by_gives_one_result_per_value(ctx):
    tok = demo(ctx)
    r = ctx.get("/api/query?" + urllib.parse.urlencode(
        {"start": "1h-ago", "m": f"sum:10m-max:vscope.host.cpu.usage.perc{{host=*,datacenter={DC}}}"}), token=tok)
    assert_status(r, 200)
    hosts = sorted(g["tags"]["host"] for g in r.json())
    assert hosts == ["172.17.86.51", "172.17.86.52", "172.17.86.53"], hosts


def test_query_errors_in_opentsdb_format(ctx):
    tok = demo(ctx)
    q = {"metric": "vscope.host.mem.usage.perc", "aggregator": "sum"}
    assert_tsdb_error(ctx.post("/api/query", {"queries": [q]}, token=tok), 400, "Missing start time")
    assert_tsdb_error(ctx.get("/api/query?m=sum:x", token=tok), 400, "Missing parameter <code>start</code>")
    assert_tsdb_error(ctx.get("/api/query?start=1h-ago", token=tok), 400, "Missing sub queries")
    assert_tsdb_error(ctx.post("/api/query", {"start": "1h-ago"}, token=tok), 400, "Missing queries")
    assert_tsdb_error(ctx.post("/api/query", {"start": "1h-ago", "queries": [dict(q, metric="nope")]}, token=tok),
                      400, "No such name for 'metrics': 'nope'")
    assert_tsdb_error(ctx.post("/api/query", {"start": "1h-ago", "queries": [dict(q, aggregator="foo")]}, token=tok),
                      400, "No such aggregation function: foo")
    assert_tsdb_error(ctx.post("/api/query", {"start": "1h-ago", "queries": [dict(q, downsample="1h")]}, token=tok),
                      400, "Invalid downsampling specifier")
    assert_tsdb_error(ctx.post("/api/query", {"start": "1h-ago", "queries": [dict(q, downsample="1h-avg-lerp")]}, token=tok),
                      400, "Unrecognized fill policy: lerp")
    assert_tsdb_error(ctx.post("/api/query", {"start": "1h-ago", "end": "2h-ago", "queries": [q]}, token=tok),
                      400, "must be greater than or equal to the start time")
    assert_tsdb_error(ctx.post("/api/query", {"start": "yesterday", "queries": [q]}, token=tok), 400, "Invalid time")
    assert_tsdb_error(ctx.post("/api/query", {"start": "1h-ago", "queries": [dict(q, tags={"rack": "r1"})]}, token=tok),
                      400, "No such name for 'tagk': 'rack'")
    assert_tsdb_error(ctx.post("/api/query", {"start": "1h-ago", "queries": [dict(q, tags={"host": "10.0.0.1"})]}, token=tok),
                      400, "No such name for 'tagv': '10.0.0.1'")
    assert_tsdb_error(ctx.post("/api/query", '{"start": ', token=tok), 400)
    err = assert_tsdb_error(ctx.request("DELETE", "/api/query", token=tok), 400, "Bad request")
    assert err["details"] == "Deleting data is not enabled (tsd.http.query.allow_delete=false)", err
    # a regexp or wildcard that matches nothing is not an error
    r = ctx.post("/api/query", {"start": "1h-ago", "queries": [dict(q, filters=[
        {"type": "regexp", "tagk": "host", "filter": "^nomatch$"}])]}, token=tok)
    assert_status(r, 200)
    assert r.json() == []


def test_query_needs_a_token_and_sees_only_its_tenant(ctx):
    demo(ctx)
    body = {"start": "1h-ago", "queries": [{"metric": "vscope.host.mem.usage.perc", "aggregator": "sum"}]}
    assert_tsdb_error(ctx.post("/api/query", body), 401)
    other = ctx.token("e2e-query-other", "read")
    assert_tsdb_error(ctx.post("/api/query", body, token=other), 400, "No such name for 'metrics'")


def test_aggregators(ctx):
    r = ctx.get("/api/aggregators")
    assert_status(r, 200)
    names = r.json()
    assert len(names) == 35 and len(set(names)) == 35, names
    for n in ("sum", "zimsum", "mimmin", "mimmax", "squareSum", "mult", "pfsum", "p999", "ep50r3", "ep999r7", "none"):
        assert n in names, n
    assert ctx.post("/api/aggregators").json() == names


def test_suggest(ctx):
    tok = demo(ctx)
    r = ctx.get("/api/suggest?type=metrics&q=vscope.host.net&max=3", token=tok)
    assert_status(r, 200)
    assert r.json() == ["vscope.host.net.packetsrx", "vscope.host.net.packetstx", "vscope.host.net.rx"], r.json()
    r = ctx.get("/api/suggest?type=tagk&q=", token=tok)
    assert r.json() == ["datacenter", "datastore", "env", "host", "nicname", "servicename", "servicetype", "vm"], r.json()
    r = ctx.post("/api/suggest", {"type": "tagv", "q": "vmnic"}, token=tok)
    assert r.json() == ["vmnic0", "vmnic1", "vmnic2", "vmnic3"], r.json()
    assert_tsdb_error(ctx.get("/api/suggest?q=x", token=tok), 400, "Missing 'type' parameter")
    assert_tsdb_error(ctx.get("/api/suggest?type=hosts", token=tok), 400, "Invalid 'type' parameter:hosts")
    assert_tsdb_error(ctx.get("/api/suggest?type=tagk&max=many", token=tok), 400, "Unable to parse 'max' as a number")


def test_query_last(ctx):
    tok = demo(ctx)
    latest = ctx.as_tenant(SERVICE, f"""
        SELECT (extract(epoch FROM max(ts)) * 1000)::bigint FROM vscope.datapoints
         WHERE metric = 'vscope.host.mem.usage.perc' AND tags->>'host' = '{HOST}' AND tags->>'datacenter' = '{DC}'""")[0][0]
    r = ctx.post("/api/query/last", {"queries": [{"metric": "vscope.host.mem.usage.perc",
                                                  "tags": {"host": HOST, "datacenter": DC}}]}, token=tok)
    assert_status(r, 200)
    res = r.json()
    assert len(res) == 1 and res[0]["timestamp"] == int(latest), (res, latest)
    assert res[0]["tags"]["host"] == HOST and isinstance(res[0]["value"], str)
    # the GET form: all three hosts of the datacenter, one latest point each
    r = ctx.get("/api/query/last?" + urllib.parse.urlencode(
        {"timeseries": f"vscope.host.cpu.usage.perc{{datacenter={DC}}}", "back_scan": "24"}), token=tok)
    assert_status(r, 200)
    assert sorted(x["tags"]["host"] for x in r.json()) == ["172.17.86.51", "172.17.86.52", "172.17.86.53"]
    assert_tsdb_error(ctx.post("/api/query/last", {"queries": []}, token=tok), 400, "Missing queries")


def test_search_lookup(ctx):
    tok = demo(ctx)
    r = ctx.get("/api/search/lookup?" + urllib.parse.urlencode({"m": f"vscope.vm.cpu.ready{{datacenter={DC},vm=*}}"}), token=tok)
    assert_status(r, 200)
    body = r.json()
    assert body["type"] == "LOOKUP" and body["totalResults"] == 6 and len(body["results"]) == 6, body
    assert all(x["metric"] == "vscope.vm.cpu.ready" and x["tags"]["datacenter"] == DC for x in body["results"])
    r = ctx.post("/api/search/lookup", {"metric": "*", "tags": [{"key": "nicname", "value": "vmnic3"}], "limit": 5},
                 token=tok)
    body = r.json()
    # 6 hosts x 4 nic metrics have vmnic3; 5 shown
    assert body["totalResults"] == 24 and len(body["results"]) == 5, body
    assert_tsdb_error(ctx.get("/api/search/lookup?m=", token=tok), 400)


def test_arrays_on_post_query_string(ctx):
    """Grafana's 2.4 mode posts with ?arrays=true and reads dps as [[ts, value], ...]."""
    tok = demo(ctx)
    start = int(time.time()) - 7200
    body = {"start": start, "queries": [{"metric": "vscope.host.mem.usage.perc", "aggregator": "sum",
                                         "downsample": "20m-max", "tags": {"host": HOST}}]}
    plain = ctx.post("/api/query", body, basic=("read", tok))
    assert_status(plain, 200)
    arrays = ctx.post("/api/query?arrays=true", body, basic=("read", tok))
    assert_status(arrays, 200)
    dps = plain.json()[0]["dps"]
    pairs = arrays.json()[0]["dps"]
    assert isinstance(pairs, list) and len(pairs) == len(dps) > 0, pairs
    assert [[int(k), v] for k, v in dps.items()] == pairs, (dps, pairs)
    off = ctx.post("/api/query?arrays=false", body, basic=("read", tok))
    assert off.json()[0]["dps"] == dps
    # the flag with a body that is not an object: the body's own error
    assert_tsdb_error(ctx.post("/api/query?arrays", [1, 2], basic=("read", tok)), 400)


def test_config_filters(ctx):
    r = ctx.get("/api/config/filters")
    assert_status(r, 200)
    body = r.json()
    assert sorted(body) == ["iliteral_or", "iwildcard", "literal_or", "not_iliteral_or",
                            "not_key", "not_literal_or", "regexp", "wildcard"], sorted(body)
    assert all(set(v) == {"examples", "description"} for v in body.values()), body


def test_lookup_repeated_key_and_limit_zero(ctx):
    tok = demo(ctx)
    vms = ctx.get("/api/search/lookup?" + urllib.parse.urlencode(
        {"m": f"vscope.vm.cpu.ready{{datacenter={DC},vm=*}}", "limit": "0"}), token=tok).json()
    assert vms["totalResults"] == 6 and len(vms["results"]) == 6, vms
    names = sorted({x["tags"]["vm"] for x in vms["results"]})
    two = names[:2]
    r = ctx.get("/api/search/lookup?" + urllib.parse.urlencode(
        {"m": f"vscope.vm.cpu.ready{{datacenter={DC},vm={two[0]},vm={two[1]}}}"}), token=tok)
    assert_status(r, 200)
    body = r.json()
    assert sorted(x["tags"]["vm"] for x in body["results"]) == two, body
