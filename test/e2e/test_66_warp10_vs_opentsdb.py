"""One data set, read through OpenTSDB's /api/query and through Warp 10, each
answering by its own protocol's rules (the issue's "same data, both ways"
test).  The fetch side: range ends, whole-value against substring regexes,
order, time units and value types.  The WarpScript side (POST /api/v0/exec):
BUCKETIZE buckets labelled by their end against downsampling buckets
labelled by their start, REDUCE without interpolation against OpenTSDB's
interpolating aggregation."""
import json
import urllib.parse

from vstest import assert_status

TENANT = "w10-vs-tsdb"
T0 = 1700000000  # 2023-11-14T22:13:20Z, seconds
HOSTS = {"web01": [1, 2, 4], "web02": [10.5, 20.5, 30.0], "db01": [100, 200, 300]}
_done = []


def data(ctx):
    """The data set, written once through OpenTSDB's /api/put: cmp.cpu{dc=dc1,
    host=web01|web02|db01} at T0, T0+60 and T0+120 (web01 integers, web02
    doubles, db01 integers), and cmp.ms{k=v} at T0 s + 123 ms; returns a read
    token of its tenant."""
    if not _done:
        ctx.add_days("2023-11-14")
        w = ctx.token(TENANT, "write")
        points = [{"metric": "cmp.cpu", "timestamp": T0 + 60 * i, "value": v, "tags": {"dc": "dc1", "host": h}}
                  for h, vals in HOSTS.items() for i, v in enumerate(vals)]
        points.append({"metric": "cmp.ms", "timestamp": T0 * 1000 + 123, "value": 7, "tags": {"k": "v"}})
        assert_status(ctx.post("/api/put", points, token=w), 204)
        _done.append(ctx.token(TENANT, "read"))
    return _done[0]


def opentsdb(ctx, tok, ms=False, **q):
    body = {"start": q.pop("start"), "end": q.pop("end"), "msResolution": ms, "queries": [q]}
    r = ctx.post("/api/query", body, token=tok)
    assert_status(r, 200)
    return r.json()


def warp10(ctx, tok, **params):
    r = ctx.get("/api/v0/fetch?" + urllib.parse.urlencode(dict(params, format="json")),
                headers={"X-Warp10-Token": tok})
    assert_status(r, 200)
    return json.loads(r.body)


def test_range_ends(ctx):
    tok = data(ctx)
    # OpenTSDB: [start, end], both ends in, in seconds
    g, = opentsdb(ctx, tok, start=T0, end=T0 + 120, metric="cmp.cpu", aggregator="sum",
                  tags={"host": "web01"})
    assert g["dps"] == {str(T0): 1, str(T0 + 60): 2, str(T0 + 120): 4}, g
    # Warp 10, now + timespan: (end - timespan, end], the start instant out
    s, = warp10(ctx, tok, selector="cmp.cpu{host=web01}", now=str((T0 + 120) * 10**6), timespan=str(120 * 10**6))
    assert s["v"] == [[(T0 + 120) * 10**6, 4], [(T0 + 60) * 10**6, 2]], s
    # Warp 10, start + stop: both ends in (Warp 10 3.x; 1.x left the start out)
    s, = warp10(ctx, tok, selector="cmp.cpu{host=web01}", start=str(T0 * 10**6), stop=str((T0 + 120) * 10**6))
    assert [v[0] for v in s["v"]] == [(T0 + 120) * 10**6, (T0 + 60) * 10**6, T0 * 10**6], s


def test_regex_whole_value_or_substring(ctx):
    tok = data(ctx)
    # OpenTSDB's regexp() finds the pattern anywhere in the value
    res = opentsdb(ctx, tok, start=T0, end=T0 + 120, metric="cmp.cpu", aggregator="sum",
                   filters=[{"type": "regexp", "tagk": "host", "filter": "web", "groupBy": True}])
    assert sorted(g["tags"]["host"] for g in res) == ["web01", "web02"], res
    # Warp 10's ~ must match the whole value
    assert warp10(ctx, tok, selector="cmp.cpu{host~web}", start=str(T0 * 10**6), stop=str((T0 + 120) * 10**6)) == []
    res = warp10(ctx, tok, selector="cmp.cpu{host~web.*}", start=str(T0 * 10**6), stop=str((T0 + 120) * 10**6))
    assert [g["l"]["host"] for g in res] == ["web01", "web02"], res
    # the same holds for the class (OpenTSDB has no metric regex at all)
    assert warp10(ctx, tok, selector="~cmp{}", start=str(T0 * 10**6), stop=str((T0 + 120) * 10**6)) == []


def test_order_units_and_types(ctx):
    tok = data(ctx)
    g, = opentsdb(ctx, tok, start=T0, end=T0 + 120, metric="cmp.cpu", aggregator="sum",
                  tags={"host": "web02"})
    # OpenTSDB: ascending seconds
    assert list(g["dps"].items()) == [(str(T0), 10.5), (str(T0 + 60), 20.5), (str(T0 + 120), 30.0)], g
    # Warp 10: newest first, microseconds; LONG and DOUBLE as written
    r = ctx.get("/api/v0/fetch?" + urllib.parse.urlencode(
        {"selector": "cmp.cpu{host~web0[12]}", "start": str(T0 * 10**6), "stop": str((T0 + 120) * 10**6),
         "format": "text"}), headers={"X-Warp10-Token": tok})
    assert r.body == (f"{(T0 + 120) * 10**6}// cmp.cpu{{dc=dc1,host=web01}} 4\n"
                      f"={(T0 + 60) * 10**6}// 2\n={T0 * 10**6}// 1\n"
                      f"{(T0 + 120) * 10**6}// cmp.cpu{{dc=dc1,host=web02}} 30.0\n"
                      f"={(T0 + 60) * 10**6}// 20.5\n={T0 * 10**6}// 10.5\n"), r.body
    # a millisecond timestamp is that many thousand microseconds
    s, = warp10(ctx, tok, selector="cmp.ms{}", now="now", timespan="-1")
    assert s["v"] == [[(T0 * 1000 + 123) * 1000, 7]], s
    g, = opentsdb(ctx, tok, start=T0, end=T0 + 1, metric="cmp.ms", aggregator="sum", ms=True)
    assert g["dps"] == {str(T0 * 1000 + 123): 7}, g


# ---- the WarpScript side: POST /api/v0/exec on the same data ----

def warpscript(ctx, script):
    r = ctx.post("/api/v0/exec", script)
    assert_status(r, 200)
    return json.loads(r.body)


def test_buckets_labelled_by_start_or_by_end(ctx):
    tok = data(ctx)
    # OpenTSDB 2m-avg: [s, s + 2 m) from epoch multiples (T0 is 80 s past one),
    # labelled by the start; buckets starting before the query's start are left out
    g, = opentsdb(ctx, tok, start=T0, end=T0 + 120, metric="cmp.cpu", aggregator="sum",
                  downsample="2m-avg", tags={"host": "web02"})
    assert g["dps"] == {str(T0 + 40): 25.25}, g
    g, = opentsdb(ctx, tok, start=T0 - 80, end=T0 + 120, metric="cmp.cpu", aggregator="sum",
                  downsample="2m-avg", tags={"host": "web02"})
    assert g["dps"] == {str(T0 - 80): 10.5, str(T0 + 40): 25.25}, g
    # Warp 10 BUCKETIZE: (e - 2 m, e], lastbucket aligned up on the span, labelled by
    # the end, newest first
    stack = warpscript(ctx, f"[ '{tok}' 'cmp.cpu' {{ 'host' 'web02' }} {(T0 + 120) * 10**6} 180000000 ] FETCH\n"
                            "[ SWAP bucketizer.mean 0 2 m 0 ] BUCKETIZE")
    gts, = stack[0]
    assert gts["v"] == [[(T0 + 160) * 10**6, 25.25], [(T0 + 40) * 10**6, 10.5]], gts
    # the same buckets both ways once Warp 10's end a microsecond before OpenTSDB's next start
    stack = warpscript(ctx, f"[ '{tok}' 'cmp.cpu' {{ 'host' 'web02' }} {(T0 + 120) * 10**6} 180000000 ] FETCH\n"
                            f"[ SWAP bucketizer.mean {(T0 + 160) * 10**6 - 1} 2 m 2 ] BUCKETIZE")
    gts, = stack[0]
    assert gts["v"] == [[(T0 + 160) * 10**6 - 1, 25.25], [(T0 + 40) * 10**6 - 1, 10.5]], gts


def test_cross_series_with_and_without_interpolation(ctx):
    tok = data(ctx)
    w = ctx.token(TENANT, "write")
    assert_status(ctx.post("/api/put", [
        {"metric": "cmp.gap", "timestamp": T0, "value": 1, "tags": {"host": "a"}},
        {"metric": "cmp.gap", "timestamp": T0 + 60, "value": 2, "tags": {"host": "a"}},
        {"metric": "cmp.gap", "timestamp": T0 + 120, "value": 3, "tags": {"host": "a"}},
        {"metric": "cmp.gap", "timestamp": T0, "value": 10, "tags": {"host": "b"}},
        {"metric": "cmp.gap", "timestamp": T0 + 120, "value": 30, "tags": {"host": "b"}}], token=w), 204)
    # OpenTSDB interpolates b at T0 + 60 (20) before summing
    g, = opentsdb(ctx, tok, start=T0, end=T0 + 120, metric="cmp.gap", aggregator="sum")
    assert g["dps"] == {str(T0): 11, str(T0 + 60): 22, str(T0 + 120): 33}, g
    # Warp 10's REDUCE: b is null at T0 + 60; sum leaves it out, mean gives nothing there
    stack = warpscript(ctx, f"[ '{tok}' 'cmp.gap' {{}} {(T0 + 120) * 10**6} 180000000 ] FETCH 'g' STORE\n"
                            "[ $g [] reducer.sum ] REDUCE [ $g [] reducer.mean ] REDUCE")
    mean, = stack[0]
    total, = stack[1]
    assert total["v"] == [[T0 * 10**6, 11], [(T0 + 60) * 10**6, 2], [(T0 + 120) * 10**6, 33]], total
    assert mean["v"] == [[T0 * 10**6, 5.5], [(T0 + 120) * 10**6, 16.5]], mean
    # BUCKETIZE, then REDUCE: the Warp 10 way to a value at every tick
    stack = warpscript(ctx, f"[ '{tok}' 'cmp.gap' {{}} {(T0 + 120) * 10**6} 180000000 ] FETCH\n"
                            f"[ SWAP bucketizer.last {(T0 + 120) * 10**6} 1 m 3 ] BUCKETIZE FILLPREVIOUS\n"
                            "[ SWAP [] reducer.sum ] REDUCE")
    total, = stack[0]
    assert total["v"] == [[T0 * 10**6, 11], [(T0 + 60) * 10**6, 12], [(T0 + 120) * 10**6, 33]], total
