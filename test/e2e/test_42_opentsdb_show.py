"""/api/query's showTSUIDs, showQuery, showStats and showSummary (GET:
show_tsuids, show_query, show_stats, show_summary) and the refused delete,
over HTTP.  OpenTSDB clients read these keys in OpenTSDB's order, so the
order is checked on the raw text of the answer, not on parsed dicts."""
import json
import re
import time
import urllib.parse

from vstest import assert_status, assert_tsdb_error

TENANT = "e2e-show"
T0 = (int(time.time()) // 60) * 60 - 600
_tokens = []


def setup(ctx):
    """A tenant with three series of show.m (a and b in lga, c in nyc)."""
    if not _tokens:
        ctx.tenant(TENANT)
        w = ctx.token(TENANT, "write")
        for host, dc, v in (("a", "lga", 1), ("b", "lga", 2), ("c", "nyc", 3)):
            r = ctx.post("/api/put", [{"metric": "show.m", "timestamp": T0 + k * 60, "value": v + 10 * k,
                                       "tags": {"host": host, "dc": dc}} for k in range(2)], token=w)
            assert r.status in (200, 204), r
        _tokens.append(ctx.token(TENANT, "read"))
    return _tokens[0]


def keys_in_order(text):
    """The keys of the first JSON object in text, in their written order."""
    pairs = json.loads(text, object_pairs_hook=lambda kv: kv)
    return pairs


def order(obj_pairs):
    return [k for k, _ in obj_pairs]


def query(ctx, tok, **opts):
    body = {"start": T0 - 60, "end": T0 + 120,
            "queries": [{"metric": "show.m", "aggregator": "sum", "tags": {"dc": "*"}}]}
    body.update(opts)
    r = ctx.post("/api/query", body, token=tok)
    assert_status(r, 200)
    return r.body


def test_show_tsuids_sorted_and_as_lookup_makes_them(ctx):
    tok = setup(ctx)
    text = query(ctx, tok, showTSUIDs=True)
    groups = keys_in_order(text)
    assert order(groups[0]) == ["metric", "tags", "aggregateTags", "query", "tsuids", "dps"], text
    res = json.loads(text)
    lga = [g for g in res if g["tags"].get("dc") == "lga"][0]
    assert lga["tsuids"] == sorted(lga["tsuids"]) and len(lga["tsuids"]) == 2, lga
    assert all(re.fullmatch(r"[0-9A-F]{8}", t) for t in lga["tsuids"]), lga
    # the same strings as /api/search/lookup
    r = ctx.get("/api/search/lookup?" + urllib.parse.urlencode({"m": "show.m{dc=lga}"}), token=tok)
    assert_status(r, 200)
    assert sorted(x["tsuid"] for x in r.json()["results"]) == lga["tsuids"], (r.json(), lga)
    # GET: show_tsuids
    r = ctx.get("/api/query?" + urllib.parse.urlencode(
        {"start": T0 - 60, "end": T0 + 120, "m": "sum:show.m{dc=lga}", "show_tsuids": "true"}), token=tok)
    assert_status(r, 200)
    assert r.json()[0]["tsuids"] == lga["tsuids"], r.json()


def test_show_query_echoes_the_sub_query_in_opentsdb_order(ctx):
    tok = setup(ctx)
    text = query(ctx, tok, showQuery=True, showTSUIDs=True)
    g = keys_in_order(text)[0]
    q = dict(g)["query"]
    assert order(q) == ["aggregator", "metric", "tsuids", "downsample", "rate", "filters", "percentiles",
                        "index", "rateOptions", "filterTagKs", "explicitTags", "useFuzzyFilter",
                        "preAggregate", "rollupUsage", "rollupTable", "showHistogramBuckets",
                        "useMultiGets", "tags", "histogramQuery"], q
    qd = json.loads(text)[0]["query"]
    assert qd["filters"] == [{"tagk": "dc", "filter": "*", "group_by": True, "type": "wildcard"}], qd
    assert order(dict(q)["filters"][0]) == ["tagk", "filter", "group_by", "type"]
    assert qd["tags"] == {"dc": "wildcard(*)"} and qd["rateOptions"] is None and qd["index"] == 0, qd
    # GET: show_query, rate with OpenTSDB's default options, in their order
    r = ctx.get("/api/query?" + urllib.parse.urlencode(
        {"start": T0 - 60, "end": T0 + 120, "m": "sum:1m-avg:rate:show.m{host=a}", "show_query": "true"}),
        token=tok)
    assert_status(r, 200)
    ro = dict(dict(keys_in_order(r.body)[0])["query"])["rateOptions"]
    assert ro == [("counter", False), ("counterMax", 9223372036854775807), ("resetValue", 0),
                  ("dropResets", False)], ro
    assert r.json()[0]["query"]["downsample"] == "1m-avg"


STAT_KEYS = ["aggregationTime", "dpsPostFilter", "dpsPreFilter", "emittedDPs", "groupByTime", "queryIndex",
             "queryScanTime", "rowsPostFilter", "rowsPreFilter", "serializationTime", "stringToUidTime"]


def test_show_stats_after_dps(ctx):
    tok = setup(ctx)
    text = query(ctx, tok, showStats=True, showTSUIDs=True)
    for g in keys_in_order(text):
        assert order(g) == ["metric", "tags", "aggregateTags", "query", "tsuids", "dps", "stats"], g
        assert order(dict(g)["stats"]) == STAT_KEYS, g
    res = json.loads(text)
    lga = [g for g in res if g["tags"].get("dc") == "lga"][0]["stats"]
    # 3 series of the metric, all kept by dc=*, 6 points read; the group emits 2
    assert (lga["rowsPreFilter"], lga["rowsPostFilter"], lga["dpsPreFilter"], lga["emittedDPs"]) == (3, 3, 6, 2), lga
    assert all(isinstance(lga[k], float) and lga[k] >= 0 for k in STAT_KEYS if k.endswith("Time")), lga
    # GET: show_stats
    r = ctx.get("/api/query?" + urllib.parse.urlencode(
        {"start": T0 - 60, "end": T0 + 120, "m": "sum:show.m{host=c}", "show_stats": ""}), token=tok)
    assert_status(r, 200)
    assert r.json()[0]["stats"]["rowsPostFilter"] == 1, r.json()


def test_show_summary_is_the_last_element(ctx):
    tok = setup(ctx)
    body = {"start": T0 - 60, "end": T0 + 120, "showSummary": True,
            "queries": [{"metric": "show.m", "aggregator": "sum"},
                        {"metric": "show.m", "aggregator": "max", "tags": {"dc": "lga"}}]}
    r = ctx.post("/api/query", body, token=tok)
    assert_status(r, 200)
    elems = keys_in_order(r.body)
    assert len(elems) == 3 and order(elems[-1]) == ["statsSummary"], elems
    summary = dict(elems[-1])["statsSummary"]
    assert order(summary) == ["avgAggregationTime", "avgQueryScanTime", "avgSerializationTime", "dpsPostFilter",
                              "dpsPreFilter", "emittedDPs", "maxAggregationTime", "maxQueryScanTime",
                              "maxSerializationTime", "processingPreWriteTime", "queryIdx_00", "queryIdx_01",
                              "rowsPostFilter", "rowsPreFilter"], summary
    s = r.json()[-1]["statsSummary"]
    assert order(dict(summary)["queryIdx_00"]) == STAT_KEYS[:9] + ["scannerStats"] + STAT_KEYS[9:]
    assert (s["dpsPreFilter"], s["emittedDPs"], s["rowsPreFilter"], s["rowsPostFilter"]) == (10, 4, 6, 5), s
    assert s["queryIdx_01"]["queryIndex"] == 1 and s["queryIdx_01"]["scannerStats"] == {}, s
    assert s["maxQueryScanTime"] >= s["avgQueryScanTime"] >= 0, s
    # GET: show_summary
    r = ctx.get("/api/query?" + urllib.parse.urlencode(
        {"start": T0 - 60, "end": T0 + 120, "m": "sum:show.m", "show_summary": "true"}), token=tok)
    assert_status(r, 200)
    assert list(r.json()[-1]) == ["statsSummary"] and len(r.json()) == 2, r.json()


def test_delete_is_refused_as_opentsdb_refuses_it(ctx):
    tok = setup(ctx)
    body = {"start": T0 - 60, "delete": True, "queries": [{"metric": "show.m", "aggregator": "sum"}]}
    for r in (ctx.post("/api/query", body, token=tok), ctx.request("DELETE", "/api/query", token=tok)):
        err = assert_tsdb_error(r, 400, "Bad request")
        assert err["details"] == "Deleting data is not enabled (tsd.http.query.allow_delete=false)", err
    text = query(ctx, tok)
    assert sum(len(g["dps"]) for g in json.loads(text)) == 4, text
