"""OpenTSDB's meta data over HTTP: /api/uid/assign (GET and POST),
/api/uid/uidmeta and /api/uid/tsmeta (GET, POST, PUT, DELETE, and GET with
method_override), per tenant, with OpenTSDB's answers, status codes and
errors; tsuids in /api/query (POST and GET tsuid=) and /api/query/last; the
telnet stats and dropcaches commands."""
import os
import socket
import time
import urllib.parse

from vstest import assert_status, assert_tsdb_error

TENANT = "e2e-uidmeta"
OTHER = "e2e-uidmeta-other"
T0 = (int(time.time()) // 60) * 60 - 600


def uid(name):
    return name.encode().hex().upper()


_done = []


def setup(ctx):
    """Two series of um.cpu (web01, web02 in lga) in TENANT, one in OTHER."""
    if not _done:
        ctx.tenant(TENANT)
        ctx.tenant(OTHER)
        ctx.add_days(T0)
        w = ctx.token(TENANT)
        for host, v in (("web01", 1), ("web02", 2)):
            r = ctx.post("/api/put", [{"metric": "um.cpu", "timestamp": T0 + k * 60, "value": v + k,
                                       "tags": {"host": host, "dc": "lga"}} for k in range(3)], token=w)
            assert_status(r, 204)
        r = ctx.post("/api/put", {"metric": "um.cpu", "timestamp": T0, "value": 5, "tags": {"host": "web99"}},
                     token=ctx.token(OTHER))
        assert_status(r, 204)
        _done.append(True)


def tsuid_of(ctx, host):
    r = ctx.get("/api/search/lookup?m=" + urllib.parse.quote(f"um.cpu{{host={host}}}"), token=ctx.token(TENANT))
    assert_status(r, 200)
    return r.json()["results"][0]["tsuid"]


def test_assign_get_and_post(ctx):
    setup(ctx)
    w = ctx.token(TENANT)
    # GET: comma-separated names; an existing name and a bad one are errors,
    # the others assigned; 400 as soon as one failed, with the same body
    r = ctx.get("/api/uid/assign?metric=um.cpu,um.new&tagk=rack&tagv=web01,bad!v", token=w)
    assert_status(r, 400)
    # keys in the order of OpenTSDB's HashMap, names sorted (its TreeMaps)
    assert r.body == ('{"tagv_errors":{"bad!v":"Invalid tagv (\\"bad!v\\"): illegal character: !",'
                      '"web01":"Name already exists with UID: %s"},'
                      '"metric":{"um.new":"%s"},"tagk":{"rack":"%s"},'
                      '"metric_errors":{"um.cpu":"Name already exists with UID: %s"},"tagv":{}}'
                      % (uid("web01"), uid("um.new"), uid("rack"), uid("um.cpu"))), r.body
    # POST: lists per type; all new: 200
    r = ctx.post("/api/uid/assign", {"tagv": ["web03", "web04"]}, token=w)
    assert_status(r, 200)
    assert r.json() == {"tagv": {"web03": uid("web03"), "web04": uid("web04")}}
    # assigned names are suggested, and exist for uidmeta
    r = ctx.get("/api/suggest?type=metrics&q=um.", token=w)
    assert r.json() == ["um.cpu", "um.new"], r.json()
    r = ctx.get(f"/api/uid/uidmeta?uid={uid('um.new')}&type=metric", token=w)
    assert_status(r, 200)
    assert r.json()["name"] == "um.new"
    # not another tenant's
    r = ctx.get("/api/suggest?type=metrics&q=um.", token=ctx.token(OTHER))
    assert r.json() == ["um.cpu"], r.json()
    assert_tsdb_error(ctx.get(f"/api/uid/uidmeta?uid={uid('um.new')}&type=metric", token=ctx.token(OTHER)),
                      404, "Could not find the requested UID")
    # errors: credentials, empty requests, bad bodies, methods
    assert_tsdb_error(ctx.get("/api/uid/assign?metric=um.x", token=ctx.token(TENANT, "read")), 403)
    assert_tsdb_error(ctx.get("/api/uid/assign?metric=um.x"), 401)
    assert_tsdb_error(ctx.get("/api/uid/assign", token=w), 400, "Missing values to assign UIDs")
    assert_tsdb_error(ctx.post("/api/uid/assign", "", token=w), 400, "Missing message content")
    assert_tsdb_error(ctx.post("/api/uid/assign", '{"metric": "x"}', token=w), 400, "Unable to parse the given JSON")
    assert_tsdb_error(ctx.post("/api/uid/assign", '{"metric": [', token=w), 400, "Unable to parse the given JSON")
    assert_tsdb_error(ctx.request("PUT", "/api/uid/assign", {"metric": ["x"]}, token=w), 405)


def test_uidmeta(ctx):
    setup(ctx)
    w = ctx.token(TENANT)
    r = ctx.get(f"/api/uid/uidmeta?uid={uid('host')}&type=tagk", token=ctx.token(TENANT, "read"))
    assert_status(r, 200)
    # OpenTSDB's fields in its order, written compactly
    assert list(r.json()) == ["uid", "type", "name", "description", "notes", "created", "custom", "displayName"]
    assert r.json()["type"] == "TAGK" and r.json()["created"] > 0
    # POST sets the fields given, custom as a map of strings
    r = ctx.post("/api/uid/uidmeta", {"uid": uid("host"), "type": "tagk", "displayName": "Host",
                                      "custom": {"owner": "ops"}}, token=w)
    assert_status(r, 200)
    assert r.body.endswith(',"custom":{"owner":"ops"},"displayName":"Host"}'), r.body
    r = ctx.post("/api/uid/uidmeta", {"uid": uid("host"), "type": "tagk", "notes": "n"}, token=w)
    assert (r.json()["displayName"], r.json()["notes"]) == ("Host", "n"), r.json()
    # nothing but defaults: 304, no body
    r = ctx.post("/api/uid/uidmeta", {"uid": uid("host"), "type": "tagk", "description": ""}, token=w)
    assert_status(r, 304)
    assert r.body == ""
    # PUT replaces every field; method_override on a GET, with its arguments
    r = ctx.get(f"/api/uid/uidmeta?uid={uid('host')}&type=tagk&description=d&method_override=put", token=w)
    assert_status(r, 200)
    assert (r.json()["displayName"], r.json()["description"], r.json()["custom"]) == ("", "d", None), r.json()
    # DELETE: 204, the defaults again
    r = ctx.request("DELETE", "/api/uid/uidmeta", {"uid": uid("host"), "type": "tagk"}, token=w)
    assert_status(r, 204)
    assert ctx.get(f"/api/uid/uidmeta?uid={uid('host')}&type=tagk", token=w).json()["description"] == ""
    # another tenant's meta is its own
    assert ctx.as_tenant(OTHER, "SELECT count(*) FROM vscope.uid_meta") == [["0"]]
    # errors
    assert_tsdb_error(ctx.get("/api/uid/uidmeta?type=tagk", token=w), 400, "Missing parameter <code>uid</code>")
    assert_tsdb_error(ctx.get(f"/api/uid/uidmeta?uid={uid('host')}&type=hosts", token=w), 400,
                      "Invalid type requested: hosts")
    assert_tsdb_error(ctx.get("/api/uid/uidmeta?uid=ZZ&type=tagk", token=w), 400, "Invalid UID")
    err = assert_tsdb_error(ctx.get(f"/api/uid/uidmeta?uid={uid('nope')}&type=tagk", token=w), 404,
                            "Could not find the requested UID")
    assert err["details"] == "No such unique ID for 'tagk': [110, 111, 112, 101]", err
    assert_tsdb_error(ctx.post("/api/uid/uidmeta", {"type": "tagk", "notes": "x"}, token=w), 400, "Missing UID")
    assert_tsdb_error(ctx.post("/api/uid/uidmeta", {"uid": uid("host"), "type": "tagk", "notes": "x"},
                               token=ctx.token(TENANT, "read")), 403)
    assert_tsdb_error(ctx.get(f"/api/uid/uidmeta?uid={uid('host')}&type=tagk&method_override=patch", token=w),
                      405, "Unknown or unsupported method override value")


def test_tsmeta(ctx):
    setup(ctx)
    w = ctx.token(TENANT)
    t1 = tsuid_of(ctx, "web01")
    r = ctx.get(f"/api/uid/tsmeta?tsuid={t1}", token=ctx.token(TENANT, "read"))
    assert_status(r, 200)
    m = r.json()
    assert list(m) == ["tsuid", "metric", "tags", "description", "notes", "created", "units", "retention",
                       "max", "min", "displayName", "dataType", "lastReceived", "totalDatapoints"], list(m)
    assert m["tsuid"] == t1 and m["metric"]["name"] == "um.cpu"
    assert [(t["type"], t["name"]) for t in m["tags"]] == [("TAGK", "dc"), ("TAGV", "lga"),
                                                          ("TAGK", "host"), ("TAGV", "web01")]
    assert (m["lastReceived"], m["totalDatapoints"], m["max"], m["min"]) == (T0 + 120, 3, "NaN", "NaN"), m
    # POST by tsuid: the fields given; PUT: all
    r = ctx.post("/api/uid/tsmeta", {"tsuid": t1, "description": "CPU", "units": "%", "max": 100,
                                     "custom": {"team": "a"}}, token=w)
    assert_status(r, 200)
    assert '"custom":{"team":"a"},"units":"%","retention":0,"max":100.0,"min":"NaN"' in r.body, r.body
    r = ctx.post("/api/uid/tsmeta", {"tsuid": t1, "description": ""}, token=w)
    assert_status(r, 304)
    r = ctx.request("PUT", "/api/uid/tsmeta", {"tsuid": t1, "notes": "n"}, token=w)
    assert (r.json()["description"], r.json()["notes"], r.json()["units"]) == ("", "n", ""), r.json()
    assert "custom" not in r.json()
    # GET by m: the series with those tags
    r = ctx.get("/api/uid/tsmeta?m=" + urllib.parse.quote("um.cpu{dc=lga}"), token=w)
    assert_status(r, 200)
    assert [x["tsuid"] for x in r.json()] == [t1, tsuid_of(ctx, "web02")]
    # POST by m without a tsuid; create=true makes a series whose names exist
    r = ctx.post("/api/uid/tsmeta?m=" + urllib.parse.quote("um.cpu{host=web02,dc=lga}"),
                 {"displayName": "two"}, token=w)
    assert_status(r, 200)
    assert r.json()["displayName"] == "two"
    q = "/api/uid/tsmeta?m=" + urllib.parse.quote("um.cpu{host=web01}")
    assert_tsdb_error(ctx.post(q, {"notes": "x"}, token=w), 400, "specify \"create=true\"")
    r = ctx.post(q + "&create=true", {"notes": "x"}, token=w)
    assert_status(r, 200)
    assert r.json()["totalDatapoints"] == 0
    # DELETE: 204, the series and its points stay
    r = ctx.get(f"/api/uid/tsmeta?tsuid={t1}&method_override=delete", token=w)
    assert_status(r, 204)
    assert ctx.get(f"/api/uid/tsmeta?tsuid={t1}", token=w).json()["notes"] == ""
    # errors, and the other tenant
    assert_tsdb_error(ctx.get("/api/uid/tsmeta?tsuid=7FFFFFF0", token=w), 404, "Could not find Timeseries meta data")
    # the same id in another tenant is that tenant's own series, meta and all
    r = ctx.get(f"/api/uid/tsmeta?tsuid={t1}", token=ctx.token(OTHER))
    assert (r.json()["tags"][1]["name"], r.json()["description"], r.json()["notes"]) == ("web99", "", ""), r.json()
    assert_tsdb_error(ctx.get("/api/uid/tsmeta", token=w), 400, "Missing parameter <code>m</code>")
    err = assert_tsdb_error(ctx.get("/api/uid/tsmeta?m=um.none", token=w), 404, "Unable to find one of the UIDs")
    assert err["details"] == "No such name for 'metrics': 'um.none'", err
    assert_tsdb_error(ctx.post("/api/uid/tsmeta", {"tsuid": t1, "max": "lots"}, token=w), 400)
    assert_tsdb_error(ctx.post("/api/uid/tsmeta", {"tsuid": t1, "notes": "x"}, token=ctx.token(TENANT, "read")), 403)
    assert_tsdb_error(ctx.request("DELETE", "/api/uid/tsmeta", token=w), 400, "Unable to delete TSMeta information")
    # what vscope does not do
    assert_tsdb_error(ctx.get("/api/uid/rename?metric=um.cpu&name=x", token=w), 501)
    assert_tsdb_error(ctx.get("/api/uid/other", token=w), 501, "Other UID endpoints have not been implemented yet")


def test_tsuids_in_queries(ctx):
    setup(ctx)
    r_ = ctx.token(TENANT, "read")
    t1, t2 = tsuid_of(ctx, "web01"), tsuid_of(ctx, "web02")
    r = ctx.post("/api/query", {"start": T0, "end": T0 + 120, "showTSUIDs": True,
                                "queries": [{"aggregator": "sum", "tsuids": [t1, t2]}]}, token=r_)
    assert_status(r, 200)
    g = r.json()
    assert len(g) == 1 and g[0]["tsuids"] == [t1, t2] and g[0]["aggregateTags"] == ["host"], g
    assert g[0]["dps"] == {str(T0): 3, str(T0 + 60): 5, str(T0 + 120): 7}, g
    r = ctx.get(f"/api/query?start={T0}&end={T0 + 120}&tsuid=max:{t2}", token=r_)
    assert_status(r, 200)
    assert r.json()[0]["tags"] == {"dc": "lga", "host": "web02"}, r.json()
    r = ctx.get(f"/api/query/last?tsuids={t1},{t2}", token=r_)
    assert [(x["tsuid"], x["value"]) for x in r.json()] == [(t1, "3"), (t2, "4")], r.json()
    r = ctx.post("/api/query/last", {"queries": [{"tsuids": [t2]}]}, token=r_)
    assert [x["tsuid"] for x in r.json()] == [t2], r.json()
    # a tsuid is this tenant's series or none: the same id in another
    # tenant is that tenant's own series
    assert_tsdb_error(ctx.post("/api/query", {"start": T0, "queries": [{"aggregator": "sum", "tsuids": ["7FFFFFF0"]}]},
                               token=r_), 400, "No such unique ID for 'tsuid'")
    r = ctx.post("/api/query", {"start": T0, "queries": [{"aggregator": "sum", "tsuids": [t1]}]},
                 token=ctx.token(OTHER, "read"))
    assert r.json()[0]["tags"] == {"host": "web99"}, r.json()
    assert_tsdb_error(ctx.post("/api/query", {"start": T0, "queries": [{"aggregator": "sum", "tsuids": ["nothex"]}]},
                               token=r_), 400, "Invalid TSUID")


class Telnet:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", int(os.environ["VSCOPE_TELNET_PORT"])), timeout=10)
        self.buf = b""

    def cmd(self, text, until):
        """Sends a command, reads lines until one satisfies until()."""
        self.s.sendall(text.encode())
        lines = []
        while True:
            while b"\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise AssertionError(f"connection closed after {lines!r}")
                self.buf += chunk
            line, _, self.buf = self.buf.partition(b"\n")
            lines.append(line.decode())
            if until(lines[-1]):
                return lines


def added(ctx):
    r = ctx.get("/api/stats", token=ctx.token(TENANT, "read"))
    return int([p for p in r.json() if p["metric"] == "tsd.datapoints.added"][0]["value"])


def test_telnet_stats_and_dropcaches(ctx):
    ctx.add_days("2013-01-01")
    before = added(ctx)
    t = Telnet()
    t.cmd("put tn.stats 1356998400 1 host=a\nput tn.stats 1356998460 2 host=a\nversion\n",
          lambda l: l.startswith("vscoped "))
    # telnet puts count among the points added
    assert added(ctx) == before + 2
    lines = t.cmd("stats\n", lambda l: l.startswith("tsd.datapoints.added "))
    # OpenTSDB's telnet stats: "metric timestamp value tags", one a line
    fields = {}
    for line in lines:
        parts = line.split(" ")
        assert len(parts) >= 4 and parts[1].isdigit() and parts[2].isdigit(), line
        assert parts[-1].startswith("host="), line
        fields[(parts[0], " ".join(parts[3:-1]))] = int(parts[2])
    assert fields[("tsd.rpc.received", "type=telnet")] >= 4, fields
    assert fields[("tsd.datapoints.added", "type=all")] == before + 2, fields
    assert t.cmd("dropcaches\n", lambda l: True) == ["Caches dropped."]
    assert "stats" in t.cmd("help\n", lambda l: True)[0]
    t.s.close()
