"""Warp 10's /api/v0/fetch, /api/v0/find and /api/v0/update over HTTP: the
worked examples of the spec (§2.7), every fetch format, selectors and their
encodings, time parameters, atomic updates, tokens and tenancy, and the
metricsToken's warpEndpoint."""
import gzip
import json
import time
import urllib.parse

from vstest import assert_status

A = "w10-e2e-a"
B = "w10-e2e-b"
CPU = "vscope.host.cpu.usage.perc"
# the spec's data (1700000000 s = 2023-11-14T22:13:20Z)
DATA = f"""1700000000000000// {CPU}{{datacenter=dc1,host=h1}} 10.5
1700000060000000// {CPU}{{datacenter=dc1,host=h1}} 20.5
1700000120000000// {CPU}{{datacenter=dc1,host=h1}} 30.0
1700000000000000// {CPU}{{datacenter=dc1,host=h2}} 1
=1700000060000000// 2
=1700000120000000// 4
"""


def setup(ctx):
    ctx.add_days("2023-11-13", "2023-11-15")
    ctx.add_days("2013-09-29")
    r = update(ctx, DATA, ctx.token(A, "write"))
    assert_status(r, 200)


def update(ctx, body, token, headers=None):
    h = {"X-Warp10-Token": token} if token is not None else {}
    h.update(headers or {})
    return ctx.post("/api/v0/update", body, headers=h)


def fetch(ctx, token=None, header=True, **params):
    h = {"X-Warp10-Token": token} if token is not None and header else {}
    if token is not None and not header:
        params["token"] = token
    return ctx.get("/api/v0/fetch?" + urllib.parse.urlencode(params), headers=h)


def find(ctx, token=None, **params):
    h = {"X-Warp10-Token": token} if token is not None else {}
    return ctx.get("/api/v0/find?" + urllib.parse.urlencode(params), headers=h)


def test_update_answers_200_with_no_body(ctx):
    r = update(ctx, "# a comment, then an empty line\n\n"
                    "1700000180000000// e2e.update{k=v} 1\n", ctx.token(A, "write"))
    assert_status(r, 200)
    assert r.body == "" and r.header("Access-Control-Allow-Origin") == "*"


def test_worked_example_a_text(ctx):
    r = fetch(ctx, ctx.token(A, "read"), selector=f"{CPU}{{datacenter=dc1}}",
              now="1700000120000000", timespan="120000000", format="text")
    assert_status(r, 200)
    assert r.body == (f"1700000120000000// {CPU}{{datacenter=dc1,host=h1}} 30.0\n"
                      "=1700000060000000// 20.5\n"
                      f"1700000120000000// {CPU}{{datacenter=dc1,host=h2}} 4\n"
                      "=1700000060000000// 2\n"), r.body
    assert r.header("X-Warp10-Timeunit") == "1000000"
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert r.header("Content-Type").startswith("text/plain")


def test_worked_example_b_last_point(ctx):
    r = fetch(ctx, ctx.token(A, "read"), selector=f"{CPU}{{datacenter=dc1}}",
              now="1700000120000000", timespan="-1", format="fulltext")
    assert_status(r, 200)
    assert r.body == (f"1700000120000000// {CPU}{{datacenter=dc1,host=h1}} 30.0\n"
                      f"1700000120000000// {CPU}{{datacenter=dc1,host=h2}} 4\n"), r.body


def test_worked_example_c_json_regex_iso(ctx):
    r = fetch(ctx, ctx.token(A, "read"), selector="~vscope.host.*{host~h[12]}",
              start="2023-11-14T22:13:20Z", stop="2023-11-14T22:15:20Z", format="json")
    assert_status(r, 200)
    assert r.header("Content-Type") == "application/json"
    ids = [row[0] for row in ctx.psql(
        f"SELECT series_id FROM vscope.series WHERE tenant_id = vscope.tenant_id('{A}') "
        f"AND metric = '{CPU}' ORDER BY tags->>'host'")]
    assert r.body == (
        '[{"c":"vscope.host.cpu.usage.perc","l":{"datacenter":"dc1","host":"h1"},"a":{},"i":"%s","la":0,'
        '"v":[[1700000120000000,30.0],[1700000060000000,20.5],[1700000000000000,10.5]]},'
        '{"c":"vscope.host.cpu.usage.perc","l":{"datacenter":"dc1","host":"h2"},"a":{},"i":"%s","la":0,'
        '"v":[[1700000120000000,4],[1700000060000000,2],[1700000000000000,1]]}]' % tuple(ids)), r.body


def test_worked_examples_d_e_nothing_and_errors(ctx):
    tok = ctx.token(A, "read")
    r = fetch(ctx, tok, selector=f"{CPU}{{host=h3}}", now="now", timespan="-1")
    assert_status(r, 200)
    assert r.body == ""
    r = fetch(ctx, tok, selector=f"{CPU}{{host=h3}}", now="now", timespan="-1", format="json")
    assert r.body == "[]"
    # no token, an unknown one: 403, Jetty's page
    r = fetch(ctx, None, selector="~.*{}", now="now", timespan="-1")
    assert_status(r, 403)
    assert "<h2>HTTP ERROR 403</h2>" in r.body and "Missing token." in r.body, r.body
    assert_status(fetch(ctx, "vst_nothing", selector="~.*{}", now="now", timespan="-1"), 403)
    # a selector without braces
    r = fetch(ctx, tok, selector="foo", now="now", timespan="-1")
    assert_status(r, 400)
    assert "invalid selector" in r.body


def test_formats_tsv_fulltsv_showattr(ctx):
    tok = ctx.token(A, "read")
    common = dict(selector=f"{CPU}{{host=h2}}", start="1700000060000000", end="1700000120000000")
    r = fetch(ctx, tok, format="tsv", **common)
    assert r.body == (f"# {CPU}{{datacenter=dc1,host=h2}}{{}}\n"
                      "1700000120000000\t\t\t\t4\n1700000060000000\t\t\t\t2\n"), repr(r.body)
    r = fetch(ctx, tok, format="fulltsv", **common)
    assert r.body == (f"{CPU}\tdatacenter=dc1,host=h2\t\t1700000120000000\t\t\t\t4\n"
                      f"{CPU}\tdatacenter=dc1,host=h2\t\t1700000060000000\t\t\t\t2\n"), repr(r.body)
    r = fetch(ctx, tok, format="fulltext", showattr="", **common)
    assert r.body == (f"1700000120000000// {CPU}{{datacenter=dc1,host=h2}}{{}} 4\n"
                      f"1700000060000000// {CPU}{{datacenter=dc1,host=h2}}{{}} 2\n"), r.body
    # an unknown format is text
    assert fetch(ctx, tok, format="nosuch", **common).body == fetch(ctx, tok, **common).body


def test_cors_preflight(ctx):
    # a browser asks before sending X-Warp10-Token from another origin
    for path in ("/api/v0/fetch", "/api/v0/find", "/api/v0/update"):
        r = ctx.request("OPTIONS", path, headers={"Origin": "http://grafana.example",
                                                  "Access-Control-Request-Headers": "x-warp10-token"})
        assert_status(r, 200)
        assert r.header("Access-Control-Allow-Origin") == "*"
        assert "X-Warp10-Token" in r.header("Access-Control-Allow-Headers")
        assert "GET" in r.header("Access-Control-Allow-Methods")
    # elsewhere OPTIONS stays refused
    assert_status(ctx.request("OPTIONS", "/api/query"), 405)


def test_token_parameter_and_form_post(ctx):
    tok = ctx.token(A, "read")
    params = dict(selector=f"{CPU}{{host=h1}}", now="1700000120000000", timespan="-2")
    expect = (f"1700000120000000// {CPU}{{datacenter=dc1,host=h1}} 30.0\n"
              "=1700000060000000// 20.5\n")
    assert fetch(ctx, tok, header=False, **params).body == expect
    # the tour POSTs its parameters as a form
    r = ctx.post("/api/v0/fetch", urllib.parse.urlencode(dict(params, token=tok)),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_status(r, 200)
    assert r.body == expect


def test_dedup(ctx):
    w = ctx.token(A, "write")
    t0 = 1700000300000000
    body = "".join(f"{t0 + i}// e2e.dedup{{k=v}} {v}\n" for i, v in enumerate(["7", "42", "42", "42", "43", "44", "44.0", "44.0"]))
    assert_status(update(ctx, body, w), 200)
    tok = ctx.token(A, "read")
    r = fetch(ctx, tok, selector="e2e.dedup{}", start=str(t0), end=str(t0 + 7), format="fulltext", dedup="true")
    # newest first: 44.0 44.0 | 44 | 43 | 42 42 42 | 7: the newest of each run, and the last point
    assert r.body == ("".join(f"{t0 + i}// e2e.dedup{{k=v}} {v}\n" for i, v in
                              [(7, "44.0"), (5, "44"), (4, "43"), (3, "42"), (0, "7")])), r.body
    r = fetch(ctx, tok, selector="e2e.dedup{}", start=str(t0 + 1), end=str(t0 + 3), format="json", dedup="")
    assert json.loads(r.body)[0]["v"] == [[t0 + 3, 42], [t0 + 1, 42]], r.body
    r = fetch(ctx, tok, selector="e2e.dedup{}", start=str(t0 + 1), end=str(t0 + 3), format="json", dedup="false")
    assert len(json.loads(r.body)[0]["v"]) == 3, r.body


def test_names_are_percent_encoded_in_text_plain_in_json(ctx):
    w = ctx.token(A, "write")
    assert_status(update(ctx, "1700000000000000// my%20class{label%2C=v%3Dx,%C3%A9t%C3%A9=%C3%BC+1} 1.0E-4\n", w), 200)
    tok = ctx.token(A, "read")
    # the selector's own encoding is encoded again on the wire (%2C -> %252C)
    sel = "my%20class{label%2C=v%3Dx}"
    r = fetch(ctx, tok, selector=sel, now="1700000000000000", timespan="-1", format="fulltext")
    assert r.body == "1700000000000000// my%20class{label%2C=v%3Dx,%C3%A9t%C3%A9=%C3%BC%2B1} 1.0E-4\n", r.body
    r = fetch(ctx, tok, selector=sel, now="1700000000000000", timespan="-1", format="json")
    g = json.loads(r.body)[0]
    assert g["c"] == "my class" and g["l"] == {"label,": "v=x", "été": "ü+1"}, g
    assert g["v"] == [[1700000000000000, 0.0001]] and "1.0E-4" in r.body
    # a literal space in a query string is a space: spaces separate selectors
    r = ctx.get("/api/v0/fetch?selector=my+class{}&now=now&timespan=-1", headers={"X-Warp10-Token": tok})
    assert_status(r, 400)
    r = ctx.get("/api/v0/fetch?selector=my%2520class{}&now=now&timespan=-1", headers={"X-Warp10-Token": tok})
    assert_status(r, 200)
    assert r.body.startswith("1700000000000000// my%20class{"), r.body
    # two series that only differ by where a delimiter is are two series
    assert_status(update(ctx, "1700000000000000// e2e.delim{a=b%2Cc%3Dd} 1\n"
                              "1700000000000000// e2e.delim{a=b,c=d} 2\n", w), 200)
    r = fetch(ctx, tok, selector="e2e.delim{}", now="1700000000000000", timespan="-1", format="fulltext")
    assert sorted(r.body.splitlines()) == ["1700000000000000// e2e.delim{a=b%2Cc%3Dd} 1",
                                           "1700000000000000// e2e.delim{a=b,c=d} 2"], r.body


def test_time_parameters(ctx):
    tok = ctx.token(A, "read")
    sel = f"{CPU}{{host=h1}}"

    def ticks(**p):
        r = fetch(ctx, tok, selector=sel, format="json", **p)
        assert_status(r, 200)
        body = json.loads(r.body)
        return [v[0] for v in body[0]["v"]] if body else []
    # start and end (or stop) are both inclusive; swapped if reversed
    assert ticks(start="1700000000000000", end="1700000060000000") == [1700000060000000, 1700000000000000]
    assert ticks(start="1700000060000000", end="1700000000000000") == [1700000060000000, 1700000000000000]
    # start + timespan: [start, start + timespan)
    assert ticks(start="1700000000000000", timespan="60000000") == [1700000000000000]
    # ISO 8601 with offsets and fractions, durations
    assert ticks(start="2023-11-14T23:13:20+01:00", end="2023-11-14T22:14:20.000000001Z") == \
        [1700000060000000, 1700000000000000]
    assert ticks(now="2023-11-14T22:15:20Z", timespan="PT1M") == [1700000120000000]
    assert ticks(now="1700000120000000", timespan="PT2M1S") == [1700000120000000, 1700000060000000, 1700000000000000]
    # count caps each series to its newest points
    assert ticks(now="1700000120000000", timespan="PT1H", count="2") == [1700000120000000, 1700000060000000]
    assert ticks(now="now", timespan="-1") == [1700000120000000]

    def error(message, **p):
        r = fetch(ctx, tok, selector=sel, **p)
        assert_status(r, 400)
        assert message in r.body, r.body
    error("Cannot specify both 'end' and 'stop'.", end="1", stop="2", timespan="1")
    error("Cannot specify both 'end' and 'now'.", end="1", now="2", timespan="1")
    error("Cannot specify both 'count' and negative 'timespan'.", now="1", timespan="-1", count="1")
    error("Missing either 'start' or 'end' parameter.", timespan="1")
    error("Invalid time range specification: 'count' is mandatory", now="now")
    error("Invalid format for parameter 'start'.", start="yesterday", timespan="1")
    error("Invalid format for parameter 'now'.", now="2023-13-01T00:00:00Z", timespan="1")
    error("cannot all be defined", start="1", end="2", timespan="1")
    error("No support for ambiguous durations", now="now", timespan="P1M")
    # the time parameters are checked before the token
    r = fetch(ctx, "vst_nothing", selector=sel, start="yesterday", timespan="1")
    assert_status(r, 400)


def test_find(ctx):
    tok = ctx.token(A, "read")
    r = find(ctx, tok, selector=f"~vscope.*{{datacenter=dc1}}")
    assert_status(r, 200)
    assert r.body == f"{CPU}{{datacenter=dc1,host=h1}}\n{CPU}{{datacenter=dc1,host=h2}}\n", r.body
    r = find(ctx, tok, selector=f"{CPU}{{host=h2}}", showattr="")
    assert r.body == f"{CPU}{{datacenter=dc1,host=h2}}{{}}\n"
    r = find(ctx, tok, selector=f"~vscope.*{{}}", format="json")
    assert r.body == ('[\n{"c":"vscope.host.cpu.usage.perc","l":{"datacenter":"dc1","host":"h1"},"a":{},"la":0},\n'
                      '{"c":"vscope.host.cpu.usage.perc","l":{"datacenter":"dc1","host":"h2"},"a":{},"la":0}\n]\n'), r.body
    r = find(ctx, tok, selector="nothing.here{}", format="json")
    assert r.body == "[\n\n]\n"
    # paging
    assert find(ctx, tok, selector="~vscope.*{}", gskip="1", limit="5").body == f"{CPU}{{datacenter=dc1,host=h2}}\n"
    # the token as a parameter; none at all is 403
    r = ctx.get("/api/v0/find?" + urllib.parse.urlencode({"selector": "~vscope.*{}", "token": tok}))
    assert r.body.count("\n") == 2, r.body
    r = find(ctx, None, selector="~.*{}")
    assert_status(r, 403)
    assert "Missing token." in r.body


def test_update_is_atomic(ctx):
    w = ctx.token(A, "write")
    tok = ctx.token(A, "read")
    # good lines, then one vscope cannot store: nothing of it is stored
    good = "1700000000000000// e2e.refused{k=v} 1\n=1700000060000000// 2\n"
    cases = [
        ("'a string'", "STRING"),
        ("true", "BOOLEAN"),
        ("T", "BOOLEAN"),
        ("b64:AAAA", "binary"),
        ("NaN", "finite"),
        ("1e400", "finite"),
        ("12abc", "Cannot parse value."),
        ("99999999999999999999", "Cannot parse value."),
    ]
    for value, why in cases:
        r = update(ctx, good + f"1700000120000000// e2e.refused{{k=v}} {value}\n", w)
        assert_status(r, 400)
        assert "Error when updating data: Parse error at index" in r.body and why in r.body, (value, r.body)
    for line, why in [
        ("1700000120000000/48.0:2.3/ e2e.refused{k=v} 1", "location"),
        ("1700000120000000//100 e2e.refused{k=v} 1", "elevation"),
        ("1700000120000000// e2e.refused{k=v}{a=b} 1", "attributes"),
        ("1700000120000000// e2e.refused{.owner=x} 1", "Invalid label name '.owner'"),
        ("1700000120000000// e2e.refused{k=} 1", "no empty label value"),
        ("1700000120000000// e2e.refused{k~v} 1", "Invalid label definition."),
        ("1700000120000000// e2e.refused{k=v 1", "Missing end of labels"),
        ("1700000120000000 e2e.refused{k=v} 1", "Missing timestamp separator."),
        ("x// e2e.refused{k=v} 1", "Invalid timestamp."),
        ("1700000120000000// e2e.refused{k=v}", "Missing value."),
        ("665539200000000// e2e.refused{k=v} 1", "Day 1991-02-03 is not writable"),
        ("99999999999999999// e2e.refused{k=v} 1", "too far in the future"),
        ("=1700000060000000// 2", "Invalid continuation."),
    ]:
        body = line + "\n" if line.startswith("=") else good + line + "\n"
        r = update(ctx, body, w)
        assert r.status == 400 and why in r.body, (line, r)
    assert find(ctx, tok, selector="e2e.refused{}").body == ""
    # the same good lines with a late but writable day are stored, all of them
    assert_status(update(ctx, good + "1380475081000000// e2e.refused{k=v} 3\n", w), 200)
    r = fetch(ctx, tok, selector="e2e.refused{}", start="0", end="1800000000000000", format="fulltext")
    assert r.body == ("1700000060000000// e2e.refused{k=v} 2\n1700000000000000// e2e.refused{k=v} 1\n"
                      "1380475081000000// e2e.refused{k=v} 3\n"), r.body


def test_update_lines(ctx):
    w = ctx.token(A, "write")
    tok = ctx.token(A, "read")
    # the ingress example of the docs: continuation lines, a line with no
    # timestamp (stored at the time of the request), several spaces, \r\n
    t0 = int(time.time() * 1e6)
    body = ("1380475081000000// foo{label0=val0,label1=val1} 123\r\n"
            "=1380475082000000// 124\r\n"
            "// bar{label0=val0}   3.14\r\n"
            "  T-1000000// baz{a=b} -5  \n")
    assert_status(update(ctx, body, w), 200)
    t1 = int(time.time() * 1e6)
    r = fetch(ctx, tok, selector="foo{}", now="1380475090000000", timespan="-10", format="text")
    assert r.body == "1380475082000000// foo{label0=val0,label1=val1} 124\n=1380475081000000// 123\n", r.body
    r = json.loads(fetch(ctx, tok, selector="bar{} baz{}", now="now", timespan="-1", format="json").body)
    assert [g["c"] for g in r] == ["bar", "baz"]
    (bt, bv), = r[0]["v"]
    (zt, zv), = r[1]["v"]
    assert t0 <= bt <= t1 and bv == 3.14, r
    assert t0 - 1000000 <= zt <= t1 - 1000000 and zv == -5, r
    # a later write of the same (series, ts) replaces the value; mixed types
    assert_status(update(ctx, "1380475081000000// foo{label1=val1,label0=val0} 123.5\n", w), 200)
    r = fetch(ctx, tok, selector="foo{}", now="1380475090000000", timespan="-10", format="text")
    assert r.body == "1380475082000000// foo{label0=val0,label1=val1} 124\n=1380475081000000// 123.5\n", r.body
    # gzip bodies
    z = gzip.compress(b"1380475083000000// foo{label0=val0,label1=val1} 125\n")
    r = ctx.post("/api/v0/update", z, headers={"X-Warp10-Token": w, "Content-Type": "application/gzip"})
    assert_status(r, 200)
    assert fetch(ctx, tok, selector="foo{}", now="1380475090000000", timespan="-1", format="fulltext").body == \
        "1380475083000000// foo{label0=val0,label1=val1} 125\n"
    r = ctx.post("/api/v0/update", b"not gzip", headers={"X-Warp10-Token": w, "Content-Type": "application/gzip"})
    assert_status(r, 400)


def test_update_tokens(ctx):
    line = "1700000000000000// e2e.tok{k=v} 1\n"
    r = update(ctx, line, None)
    assert_status(r, 403)
    assert "Missing token." in r.body
    assert_status(update(ctx, line, "vst_nothing"), 403)
    # a read token cannot write
    assert_status(update(ctx, line, ctx.token(A, "read")), 403)
    # vscope's own headers are not Warp 10's
    r = ctx.post("/api/v0/update", line, token=ctx.token(A, "write"))
    assert_status(r, 403)
    assert_status(ctx.get("/api/v0/update"), 405)


def test_a_token_of_one_tenant_reads_nothing_of_another(ctx):
    wb = ctx.token(B, "write")
    assert_status(update(ctx, f"1700000000000000// {CPU}{{datacenter=dc1,host=h1}} 999\n"
                              "1700000000000000// only.b{k=v} 1\n", wb), 200)
    ta, tb = ctx.token(A, "read"), ctx.token(B, "read")
    r = fetch(ctx, tb, selector="~.*{}", now="1800000000000000", timespan="-100", format="fulltext")
    assert r.body == (f"1700000000000000// only.b{{k=v}} 1\n"
                      f"1700000000000000// {CPU}{{datacenter=dc1,host=h1}} 999\n"), r.body
    r = fetch(ctx, ta, selector="only.b{}", now="now", timespan="-1")
    assert_status(r, 200)
    assert r.body == ""
    r = fetch(ctx, ta, selector=f"{CPU}{{host=h1}}", now="1700000000000000", timespan="-1", format="fulltext")
    assert r.body == f"1700000000000000// {CPU}{{datacenter=dc1,host=h1}} 10.5\n", r.body
    assert "only.b" not in find(ctx, ta, selector="~.*{}").body
    assert find(ctx, tb, selector="~.*{}").body.splitlines() == ["only.b{k=v}", f"{CPU}{{datacenter=dc1,host=h1}}"]


def test_metrics_token_reads_through_warp10(ctx):
    from test_40_opentsdb_query import demo, SERVICE, DC, HOST
    demo(ctx)
    admin = ctx.token(SERVICE, "admin")
    r = ctx.post(f"/dedicatedCloud/{SERVICE}/user/64/metricsToken", token=admin)
    assert_status(r, 200)
    body = r.json()
    assert body["warpEndpoint"] == body["opentsdbEndpoint"] == ctx.url, body
    mt = body["token"]
    sel = f"vscope.host.mem.usage.perc{{datacenter={DC},host={HOST}}}"
    r = ctx.get(body["warpEndpoint"][len(ctx.url):] + "/api/v0/fetch?" + urllib.parse.urlencode(
        {"selector": sel, "now": "now", "timespan": "-1", "format": "json"}), headers={"X-Warp10-Token": mt})
    assert_status(r, 200)
    g, = json.loads(r.body)
    assert g["c"] == "vscope.host.mem.usage.perc" and g["l"]["host"] == HOST and g["l"]["servicename"] == SERVICE
    (ts, value), = g["v"]
    # the same newest point as OpenTSDB's /api/query/last gives, in microseconds
    last = ctx.get("/api/query/last?" + urllib.parse.urlencode({"timeseries": sel}),
                   basic=("read", mt)).json()
    assert ts == last[0]["timestamp"] * 1000 and value == float(last[0]["value"]), (g, last)
    # read only
    r = update(ctx, "1700000000000000// m{a=b} 1\n", mt)
    assert_status(r, 403)
    # nothing of another tenant
    assert fetch(ctx, mt, selector="e2e.update{}", now="1800000000000000", timespan="-10").body == ""
