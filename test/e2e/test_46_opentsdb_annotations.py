"""OpenTSDB annotations: /api/annotation (GET, POST merges, PUT replaces,
DELETE) and /api/annotation/bulk, per tenant, with OpenTSDB's JSON and
errors."""
import time
import urllib.parse

from vstest import assert_status, assert_tsdb_error

TENANT = "e2e-annot"
OTHER = "e2e-annot-other"
NOW = int(time.time())
T0 = NOW - 3600


def setup(ctx):
    ctx.tenant(TENANT)
    ctx.tenant(OTHER)
    ctx.add_days(NOW - 86400, NOW)


def tsuid(ctx, tenant, host):
    """Writes one point of sys.annot{host=...} and answers its tsuid from the lookup."""
    tok = ctx.token(tenant)
    r = ctx.post("/api/put", {"metric": "sys.annot", "timestamp": T0, "value": 1,
                              "tags": {"host": host}}, token=tok)
    assert_status(r, 204)
    r = ctx.get("/api/search/lookup?m=" + urllib.parse.quote(f"sys.annot{{host={host}}}"), token=tok)
    assert_status(r, 200)
    res = r.json()["results"]
    assert len(res) == 1, res
    return res[0]["tsuid"]


def get(ctx, tok, uid, start):
    q = f"/api/annotation?start_time={start}" + (f"&tsuid={uid}" if uid else "")
    return ctx.get(q, token=tok)


def test_create_read_update_delete(ctx):
    tok = ctx.token(TENANT)
    uid = tsuid(ctx, TENANT, "a")
    body = {"tsuid": uid, "startTime": T0, "description": "deploy", "notes": "v1.2",
            "custom": {"owner": "ops"}}
    r = ctx.post("/api/annotation", body, token=tok)
    assert_status(r, 200)
    a = r.json()
    # OpenTSDB's fields, in its order
    assert list(a) == ["tsuid", "description", "notes", "custom", "endTime", "startTime"], a
    # written compactly, as OpenTSDB's Jackson writes it
    assert r.body == ('{"tsuid":"%s","description":"deploy","notes":"v1.2","custom":{"owner":"ops"},'
                      '"endTime":0,"startTime":%d}' % (uid, T0)), r.body
    assert a == {"tsuid": uid, "description": "deploy", "notes": "v1.2",
                 "custom": {"owner": "ops"}, "endTime": 0, "startTime": T0}, a
    # read back with a read-only token
    r = get(ctx, ctx.token(TENANT, "read"), uid, T0)
    assert_status(r, 200)
    assert r.json() == a
    # the row is in the table, under RLS
    assert ctx.as_tenant(TENANT, "SELECT description FROM vscope.annotations") == [["deploy"]]
    assert ctx.as_tenant(OTHER, "SELECT count(*) FROM vscope.annotations") == [["0"]]
    # POST merges: fields left out are kept, custom is merged
    r = ctx.post("/api/annotation", {"tsuid": uid, "startTime": T0, "endTime": T0 + 60,
                                     "custom": {"ticket": "42"}}, token=tok)
    assert_status(r, 200)
    assert r.json() == {"tsuid": uid, "description": "deploy", "notes": "v1.2",
                        "custom": {"owner": "ops", "ticket": "42"}, "endTime": T0 + 60,
                        "startTime": T0}, r.json()
    # PUT replaces every field
    r = ctx.request("PUT", "/api/annotation", {"tsuid": uid, "startTime": T0 * 1000,
                                               "description": "rollback"}, token=tok)
    assert_status(r, 200)
    assert r.json() == {"tsuid": uid, "description": "rollback", "notes": "", "custom": None,
                        "endTime": 0, "startTime": T0}, r.json()
    # DELETE: 204, then it is gone
    r = ctx.request("DELETE", f"/api/annotation?tsuid={uid}&start_time={T0}", token=tok)
    assert_status(r, 204)
    assert_tsdb_error(get(ctx, tok, uid, T0), 404, "Unable to locate annotation")


def test_global_annotations(ctx):
    tok = ctx.token(TENANT)
    r = ctx.post("/api/annotation", {"startTime": T0 + 5, "description": "network outage"}, token=tok)
    assert_status(r, 200)
    assert r.json()["tsuid"] == ""
    r = get(ctx, tok, None, T0 + 5)
    assert_status(r, 200)
    assert r.json()["description"] == "network outage"
    # not another tenant's
    assert_tsdb_error(get(ctx, ctx.token(OTHER), None, T0 + 5), 404)
    r = ctx.request("DELETE", "/api/annotation", {"startTime": T0 + 5}, token=tok)
    assert_status(r, 204)


def test_bulk(ctx):
    tok = ctx.token(TENANT)
    u1, u2 = tsuid(ctx, TENANT, "b1"), tsuid(ctx, TENANT, "b2")
    body = [{"tsuid": u1, "startTime": T0 + 10, "description": "one"},
            {"tsuid": u2, "startTime": T0 + 20, "description": "two"},
            {"tsuid": u2, "startTime": T0 + 30, "description": "three"},
            {"startTime": T0 + 40, "description": "global"}]
    r = ctx.post("/api/annotation/bulk", body, token=tok)
    assert_status(r, 200)
    assert [a["description"] for a in r.json()] == ["one", "two", "three", "global"], r.json()
    assert get(ctx, tok, u2, T0 + 30).json()["description"] == "three"
    # a bad annotation in the list writes none of them
    r = ctx.post("/api/annotation/bulk", [{"tsuid": u1, "startTime": T0 + 50},
                                          {"tsuid": u1}], token=tok)
    assert_tsdb_error(r, 400, "Missing start time")
    assert_tsdb_error(get(ctx, tok, u1, T0 + 50), 404)
    # delete by tsuids and time range: the global one stays
    r = ctx.request("DELETE", "/api/annotation/bulk",
                    {"tsuids": [u2], "startTime": T0 + 15, "endTime": T0 + 35}, token=tok)
    assert_status(r, 200)
    assert r.json()["totalDeleted"] == 2, r.json()
    assert_tsdb_error(get(ctx, tok, u2, T0 + 20), 404)
    assert_status(get(ctx, tok, u1, T0 + 10), 200)
    r = ctx.request("DELETE", "/api/annotation/bulk",
                    {"global": True, "tsuids": [u1], "startTime": T0}, token=tok)
    assert_status(r, 200)
    assert r.json()["totalDeleted"] == 2, r.json()
    assert ctx.as_tenant(TENANT, "SELECT count(*) FROM vscope.annotations") == [["0"]]


def test_errors(ctx):
    tok = ctx.token(TENANT)
    uid = tsuid(ctx, TENANT, "e")
    # credentials: none, read-only for a write
    assert_tsdb_error(ctx.get(f"/api/annotation?tsuid={uid}&start_time={T0}"), 401)
    r = ctx.post("/api/annotation", {"tsuid": uid, "startTime": T0}, token=ctx.token(TENANT, "read"))
    assert_tsdb_error(r, 403)
    # missing start time, malformed and unknown tsuids, another tenant's tsuid
    assert_tsdb_error(ctx.post("/api/annotation", {"tsuid": uid}, token=tok), 400, "Missing start time")
    assert_tsdb_error(ctx.get(f"/api/annotation?tsuid={uid}", token=tok), 400, "Missing start time")
    assert_tsdb_error(ctx.post("/api/annotation", {"tsuid": "xyz", "startTime": T0}, token=tok),
                      400, "Invalid TSUID")
    assert_tsdb_error(ctx.post("/api/annotation", {"tsuid": "7FFFFFF0", "startTime": T0}, token=tok),
                      404, "Unable to locate TSUID")
    # another tenant's annotation is not this tenant's, whatever its tsuid
    other = tsuid(ctx, OTHER, "o")
    r = ctx.post("/api/annotation", {"tsuid": other, "startTime": T0 + 7}, token=ctx.token(OTHER))
    assert_status(r, 200)
    assert_tsdb_error(get(ctx, tok, other, T0 + 7), 404)
    # not JSON, not an object, a bad custom, a bad time
    assert_tsdb_error(ctx.post("/api/annotation", "{", token=tok), 400)
    assert_tsdb_error(ctx.post("/api/annotation", [1], token=tok), 400, "Unable to parse")
    assert_tsdb_error(ctx.post("/api/annotation", {"startTime": T0, "custom": [1]}, token=tok),
                      400, "Invalid custom")
    assert_tsdb_error(ctx.post("/api/annotation", {"startTime": "soon"}, token=tok), 400, "Invalid time")
    # methods
    r = ctx.get("/api/annotation/bulk", token=tok)
    assert_tsdb_error(r, 405)
    assert r.header("Allow") == "POST, PUT, DELETE"
    assert_tsdb_error(ctx.request("DELETE", "/api/annotation/bulk", {"startTime": T0}, token=tok),
                      400, "Missing the TSUIDs")
    assert_tsdb_error(get(ctx, tok, uid, T0), 404, "Unable to locate annotation")


def test_annotations_in_query_answers(ctx):
    tok = ctx.token(TENANT)
    uid = tsuid(ctx, TENANT, "q")
    r = ctx.post("/api/annotation", {"tsuid": uid, "startTime": T0 + 100, "description": "in range"},
                 token=tok)
    assert_status(r, 200)
    note = r.json()
    assert_status(ctx.post("/api/annotation", {"startTime": T0 + 200, "description": "everywhere"},
                           token=tok), 200)
    q = {"start": T0, "end": T0 + 300, "showTSUIDs": True,
         "queries": [{"aggregator": "sum", "metric": "sys.annot", "tags": {"host": "q"}}]}
    r = ctx.post("/api/query", q, token=tok)
    assert_status(r, 200)
    g = r.json()[0]
    # OpenTSDB's key order: after tsuids, before dps
    assert list(g) == ["metric", "tags", "aggregateTags", "query", "tsuids", "annotations", "dps"], list(g)
    assert g["annotations"] == [note], g
    r = ctx.post("/api/query", dict(q, globalAnnotations=True), token=tok)
    g = r.json()[0]
    assert list(g)[-3:] == ["annotations", "globalAnnotations", "dps"], list(g)
    assert [a["description"] for a in g["globalAnnotations"]] == ["everywhere"], g
    # noAnnotations leaves both out; so does a range the annotation is not in
    r = ctx.post("/api/query", dict(q, globalAnnotations=True, noAnnotations=True), token=tok)
    assert "annotations" not in r.json()[0] and "globalAnnotations" not in r.json()[0]
    r = ctx.post("/api/query", dict(q, start=T0 + 150, globalAnnotations=True), token=tok)
    assert "annotations" not in r.json()[0], r.json()
    # the GET form's flags
    m = urllib.parse.quote("sum:sys.annot{host=q}")
    r = ctx.get(f"/api/query?start={T0}&end={T0 + 300}&m={m}&global_annotations", token=tok)
    assert_status(r, 200)
    assert r.json()[0]["annotations"] == [note] and len(r.json()[0]["globalAnnotations"]) == 1
    r = ctx.get(f"/api/query?start={T0}&end={T0 + 300}&m={m}&no_annotations", token=tok)
    assert "annotations" not in r.json()[0]
    # another tenant's query over its own series of the same tsuid sees none of them
    other = ctx.token(OTHER)
    assert_status(ctx.post("/api/put", {"metric": "sys.annot", "timestamp": T0, "value": 1,
                                        "tags": {"host": "q"}}, token=other), 204)
    r = ctx.post("/api/query", dict(q, globalAnnotations=True), token=other)
    assert_status(r, 200)
    assert "annotations" not in r.json()[0] and "globalAnnotations" not in r.json()[0], r.json()
