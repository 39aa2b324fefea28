"""The Ceilometer V2 API over HTTP: samples, meters, resources, statistics,
complex queries, capabilities, events, admin vs non-admin, errors, and
keystone identity headers (a second vscoped)."""
import base64
import json
import urllib.parse

from faults import free_port
from vstest import assert_status

P = "ceilo-p1"          # a tenant; with vscope tokens, its name is the project
OTHER = "ceilo-p2"      # another tenant
_ready = {}


def setup(ctx):
    """The past days written to below (writes never make partitions)."""
    ctx.add_days("2012-08-27", "2012-08-28")
    ctx.add_days("2012-09-25")
    ctx.add_days("2013-01-01")
    ctx.add_days("2013-02-02")
    ctx.add_days("2013-03-03")
    ctx.add_days("2013-04-01", "2013-04-09")


def admin(ctx):
    return ctx.token(P, "read,write,admin")


def user(ctx):
    return ctx.token(P, "read,write")


def err(r, status, text=None, prefix=False):
    """Ceilometer's error body, with this status and faultstring."""
    assert_status(r, status)
    body = r.json()
    assert set(body) == {"error_message"}, body
    e = body["error_message"]
    assert e["faultcode"] == ("Server" if status >= 500 else "Client"), e
    assert e["debuginfo"] is None, e
    if text is not None:
        if prefix:
            assert e["faultstring"].startswith(text), e
        else:
            assert e["faultstring"] == text, e
    return e["faultstring"]


def q(*clauses, **extra):
    """A query string: clauses are (field, op, value[, type]) as the client sends them."""
    parts = []
    for c in clauses:
        field, op, value = c[:3]
        typ = c[3] if len(c) > 3 else ""
        parts += [("q.field", field), ("q.op", op), ("q.value", value), ("q.type", typ)]
    for k, v in extra.items():
        for item in (v if isinstance(v, list) else [v]):
            parts.append((k.replace("__", "."), item))
    return "?" + urllib.parse.urlencode(parts)


def sample(meter, volume, resource, ts, project=None, user_id=None, md=None, unit="%", typ="gauge"):
    s = {"counter_name": meter, "counter_type": typ, "counter_unit": unit,
         "counter_volume": volume, "resource_id": resource, "timestamp": ts}
    if project is not None:
        s["project_id"] = project
    if user_id is not None:
        s["user_id"] = user_id
    if md is not None:
        s["resource_metadata"] = md
    return s


def post(ctx, meter, samples, token=None, headers=None):
    return ctx.post(f"/v2/meters/{meter}?direct=True", samples, token=token or admin(ctx), headers=headers)


def data(ctx):
    """The shared data set, loaded once: three cpu samples in two projects."""
    if "data" not in _ready:
        r = post(ctx, "cpu", [
            sample("cpu", 10, "vm-1", "2012-09-25T10:30:00", P, "u1", {"flavor": "m1.small", "size": "5"}),
            sample("cpu", 20, "vm-1", "2012-09-25T11:31:00", P, "u1", {"flavor": "m1.small", "size": "5"}),
            sample("cpu", 30, "vm-2", "2012-09-25T12:32:00", "proj-x", "u2", {"flavor": "m1.large", "size": "50"}),
        ])
        assert_status(r, 201)
        _ready["data"] = r.json()
    return _ready["data"]


# ---- identity and errors ----

def test_no_token_is_401_in_ceilometer_format(ctx):
    err(ctx.get("/v2/meters"), 401, "Authentication required", prefix=True)
    err(ctx.get("/v2/meters", token="not-a-token"), 401, "Invalid credentials", prefix=True)


def test_unknown_path_is_404_and_wrong_method_405(ctx):
    err(ctx.get("/v2/nothing", token=user(ctx)), 404, "The resource could not be found.")
    err(ctx.get("/v2", token=user(ctx)), 404, "The resource could not be found.")
    err(ctx.get("/v2/", token=user(ctx)), 404, "The resource could not be found.")
    err(ctx.get("/v2/event_types/some.type", token=admin(ctx)), 404)
    r = ctx.request("DELETE", "/v2/meters", token=user(ctx))
    err(r, 405)


def test_errors_in_xml_for_clients_that_accept_only_xml(ctx):
    r = ctx.get("/v2/samples?limit=0", token=user(ctx), headers={"Accept": "application/xml"})
    assert_status(r, 400)
    assert r.header("Content-Type").startswith("application/xml")
    assert r.body == ("<error_message><error><faultcode>Client</faultcode><faultstring>Limit must be positive"
                      "</faultstring><debuginfo /></error></error_message>")
    r = ctx.get("/v2/samples" + q(("<a&b>", "eq", "x")), token=user(ctx), headers={"Accept": "application/xml"})
    assert_status(r, 400)
    assert '<faultstring>Unknown argument: "&lt;a&amp;b&gt;": unrecognized field in query' in r.body, r.body
    # JSON when JSON is acceptable too
    r = ctx.get("/v2/samples?limit=0", token=user(ctx), headers={"Accept": "application/json, application/xml"})
    err(r, 400, "Limit must be positive")


def test_capabilities_are_flat_maps_of_booleans(ctx):
    r = ctx.get("/v2/capabilities", token=user(ctx))
    assert_status(r, 200)
    c = r.json()
    assert set(c) == {"api", "storage", "event_storage"}
    assert c["api"]["statistics:aggregation:selectable:cardinality"] is True
    assert c["api"]["samples:query:complex"] is True
    assert c["api"]["events:query:simple"] is True
    assert c["storage"]["storage:production_ready"] is True
    assert all(isinstance(v, bool) for v in c["api"].values())


# ---- posting samples ----

def test_post_fills_fields_and_stores_synchronously(ctx):
    r = ctx.post("/v2/meters/inst.posted", [
        {"counter_name": "inst.posted", "counter_type": "gauge", "counter_unit": "instance",
         "counter_volume": 1, "resource_id": "vm-post", "source": "nova",
         "resource_metadata": {"nest.name1": "v1", "nest.name2": "v2", "plain": "p"}}],
        token=admin(ctx), headers={"X-User-Id": "alice"})
    assert_status(r, 201)
    [s] = r.json()
    assert s["project_id"] == P and s["user_id"] == "alice"
    assert s["source"] == f"{P}:nova"
    assert s["counter_volume"] == 1.0
    assert "recorded_at" not in s
    assert s["resource_metadata"] == {"nest.name1": "v1", "nest.name2": "v2", "plain": "p"}
    assert len(s["message_id"]) == 36
    # 2xx means committed: read it back, re-nested and flattened again
    [got] = ctx.get("/v2/meters/inst.posted", token=admin(ctx)).json()
    assert got["message_id"] == s["message_id"]
    assert got["resource_metadata"] == {"nest.name1": "v1", "nest.name2": "v2", "plain": "p"}
    one = ctx.get(f"/v2/samples/{s['message_id']}", token=admin(ctx))
    assert_status(one, 200)
    assert set(one.json()) == {"id", "meter", "type", "unit", "volume", "user_id", "project_id",
                               "resource_id", "source", "timestamp", "recorded_at", "metadata"}
    assert one.json()["metadata"] == {"nest.name1": "v1", "nest.name2": "v2", "plain": "p"}
    # without ?direct the sample is stored the same way
    r = ctx.post("/v2/meters/inst.posted", [sample("inst.posted", 2, "vm-post", "2013-01-01T00:00:00")],
                 token=admin(ctx))
    assert_status(r, 201)
    assert len(ctx.get("/v2/meters/inst.posted", token=admin(ctx)).json()) == 2


def test_nested_metadata_is_flattened_with_colons(ctx):
    r = post(ctx, "inst.nested", [sample("inst.nested", 1, "vm-n", "2013-01-01T00:00:00",
                                         md={"a.b.c": "1", "properties.prop_2.sub_prop_1": "x"})])
    assert_status(r, 201)
    [got] = ctx.get("/v2/meters/inst.nested", token=admin(ctx)).json()
    assert got["resource_metadata"] == {"a.b:c": "1", "properties.prop_2:sub_prop_1": "x"}
    # metadata queries use the dotted full path
    got = ctx.get("/v2/meters/inst.nested" + q(("metadata.a.b.c", "", "1")), token=admin(ctx)).json()
    assert len(got) == 1


def test_two_samples_at_one_timestamp_are_both_kept(ctx):
    s = sample("inst.twice", 5, "vm-t", "2013-02-02T02:02:02")
    r = post(ctx, "inst.twice", [s, s])
    assert_status(r, 201)
    ids = [x["message_id"] for x in r.json()]
    assert ids[0] != ids[1]
    got = ctx.get("/v2/meters/inst.twice", token=admin(ctx)).json()
    assert sorted(x["message_id"] for x in got) == sorted(ids)


def test_post_validation_errors_store_nothing(ctx):
    good = sample("inst.bad", 1, "vm-b", "2013-01-01T00:00:00")
    err(post(ctx, "inst.bad", [good, dict(good, counter_name="other")]), 400,
        "Invalid input for field/attribute counter_name. Value: 'other'. should be inst.bad")
    err(post(ctx, "inst.bad", [dict(good, message_id="x")]), 400,
        "Invalid input for field/attribute message_id. Value: 'x'. The message_id must not be set")
    err(post(ctx, "inst.bad", [dict(good, counter_type="bogus")]), 400,
        "Invalid input for field/attribute counter_type. Value: 'bogus'. The counter type must be: gauge, delta, cumulative")
    err(post(ctx, "inst.bad", []), 400, "Samples should be included in request body")
    missing = dict(good)
    del missing["counter_unit"]
    err(post(ctx, "inst.bad", [missing]), 400, "Invalid input for field/attribute counter_unit", prefix=True)
    err(post(ctx, "inst.bad", [dict(good, counter_volume="lots")]), 400)
    err(post(ctx, "inst.bad", [dict(good, timestamp="yesterday")]), 400,
        "Invalid input for field/attribute timestamp. Value: 'yesterday'. invalid timestamp format")
    err(post(ctx, "inst.bad", [dict(good, resource_metadata={"n": 1})]), 400)
    err(post(ctx, "inst.bad", "not json"), 400, "Invalid input: the body is not valid JSON")
    err(post(ctx, "inst.bad", "[" * 100000 + "]" * 100000), 400, "Invalid input: the body is nested too deeply")
    err(post(ctx, "inst.bad", [dict(good, resource_id="r" * 300)]), 400,
        "Invalid input for field/attribute resource_id", prefix=True)
    err(post(ctx, "inst.bad", [dict(good, resource_metadata={".".join(["k"] * 40): "v"})]), 400,
        "Invalid input for field/attribute resource_metadata: a key has more than 32 dotted parts")
    # the first (valid) sample of a failing request was not stored either
    assert ctx.get("/v2/meters/inst.bad", token=admin(ctx)).json() == []


def test_non_admin_posts_only_to_its_project(ctx):
    r = post(ctx, "inst.mine", [sample("inst.mine", 1, "vm-m", "2013-01-01T00:00:00")], token=user(ctx))
    assert_status(r, 201)
    assert r.json()[0]["project_id"] == P
    err(post(ctx, "inst.mine", [sample("inst.mine", 1, "vm-m", "2013-01-01T00:00:00", project="proj-x")],
             token=user(ctx)), 400,
        "Invalid input for field/attribute project_id. Value: 'proj-x'. can not post samples to other projects")
    # admins may post for any project, several in one request
    r = post(ctx, "inst.mine", [sample("inst.mine", 1, "vm-m", "2013-01-01T00:00:00", project="proj-x"),
                                sample("inst.mine", 1, "vm-m", "2013-01-01T00:00:00", project="proj-y")])
    assert_status(r, 201)
    # a read-only token cannot post at all
    ro = ctx.token(P, "read")
    assert post(ctx, "inst.mine", [sample("inst.mine", 1, "vm-m", "2013-01-01T00:00:00")], token=ro).status == 403


# ---- listing samples and the simple query ----

def test_samples_newest_first_with_limit(ctx):
    data(ctx)
    got = ctx.get("/v2/meters/cpu", token=admin(ctx)).json()
    assert [s["counter_volume"] for s in got] == [30, 20, 10]
    got = ctx.get("/v2/meters/cpu?limit=2", token=admin(ctx)).json()
    assert [s["counter_volume"] for s in got] == [30, 20]
    got = ctx.get("/v2/samples" + q(("meter", "", "cpu"), limit="1"), token=admin(ctx)).json()
    assert [s["volume"] for s in got] == [30]
    err(ctx.get("/v2/samples?limit=0", token=admin(ctx)), 400, "Limit must be positive")
    err(ctx.get("/v2/samples?limit=100000000", token=admin(ctx)), 400, "Limit must be at most 200000", prefix=True)
    err(ctx.get("/v2/meters/cpu?limit=-3", token=admin(ctx)), 400, "Limit must be positive")
    # an unknown meter is an empty list, not a 404
    r = ctx.get("/v2/meters/no.such.meter", token=admin(ctx))
    assert_status(r, 200)
    assert r.json() == []


def test_simple_query_fields_and_types(ctx):
    data(ctx)

    def vols(query):
        r = ctx.get("/v2/meters/cpu" + query, token=admin(ctx))
        assert_status(r, 200)
        return sorted(s["counter_volume"] for s in r.json())

    assert vols(q(("resource_id", "eq", "vm-1"))) == [10, 20]
    assert vols(q(("resource", "", "vm-2"))) == [30]
    assert vols(q(("user", "eq", "u1"), ("project_id", "eq", P))) == [10, 20]
    assert vols(q(("metadata.flavor", "eq", "m1.large"))) == [30]
    assert vols(q(("resource_metadata.flavor", "eq", "m1.small"))) == [10, 20]
    assert vols(q(("metadata.size", "eq", "50", "integer"))) == [30]
    assert vols(q(("metadata.size", "eq", "5.0", "float"))) == [10, 20]
    assert vols(q(("metadata.size", "eq", "5"))) == [10, 20]          # guessed integer
    assert vols(q(("timestamp", "gt", "2012-09-25T10:30:00"))) == [20, 30]
    assert vols(q(("timestamp", "ge", "2012-09-25T10:30:00"), ("timestamp", "lt", "2012-09-25T12:32:00"))) == [10, 20]
    assert vols(q(("timestamp", "le", "2012-09-25T12:32:00+00:00"))) == [10, 20, 30]
    assert vols(q(("resource_id", "eq", "vm-1"), ("resource_id", "eq", "vm-2"))) == []
    assert vols(q(("user_id", "eq", "None"))) == []
    # the same through /v2/samples, with meter as a field
    got = ctx.get("/v2/samples" + q(("meter", "eq", "cpu"), ("resource_id", "eq", "vm-2")), token=admin(ctx)).json()
    assert [(s["meter"], s["volume"]) for s in got] == [("cpu", 30)]


def test_simple_query_errors(ctx):
    tok = admin(ctx)
    err(ctx.get("/v2/samples" + q(("timestamp", "eq", "2012-09-25T10:30:00")), token=tok), 400,
        "Invalid input for field/attribute op. Value: 'eq'. unimplemented operator for timestamp")
    err(ctx.get("/v2/samples" + q(("project_id", "lt", "x")), token=tok), 400,
        "Invalid input for field/attribute op. Value: 'lt'. unimplemented operator for project_id")
    err(ctx.get("/v2/samples" + q(("metadata.size", "gt", "1")), token=tok), 400,
        "Invalid input for field/attribute op. Value: 'gt'. unimplemented operator for metadata.size")
    err(ctx.get("/v2/samples" + q(("nonsense", "eq", "x")), token=tok), 400,
        'Unknown argument: "nonsense": unrecognized field in query', prefix=True)
    err(ctx.get("/v2/samples" + q(("counter_name", "eq", "x")), token=tok), 400,
        'Unknown argument: "counter_name": unrecognized field in query', prefix=True)
    err(ctx.get("/v2/samples" + q(("metadata.size", "eq", "1", "blob")), token=tok), 400,
        "The data type blob is not supported. The supported data type list is: "
        "['integer', 'float', 'string', 'boolean', 'datetime']")
    err(ctx.get("/v2/samples" + q(("metadata.size", "eq", "0.7.5", "float")), token=tok), 400,
        "Unable to convert the value 0.7.5 to the expected data type float.")
    err(ctx.get("/v2/samples" + q(("search_offset", "eq", "10")), token=tok), 400,
        "Invalid input for field/attribute field. Value: 'search_offset'. search_offset cannot be used without timestamp")
    err(ctx.get("/v2/samples" + q(("timestamp", "gt", "not-a-time")), token=tok), 400,
        "Invalid input for field/attribute timestamp. Value: 'not-a-time'. invalid timestamp format")
    err(ctx.get("/v2/meters" + q(("timestamp", "gt", "2012-09-25T10:30:00")), token=tok), 400,
        'Unknown argument: "timestamp": not valid for this resource')
    # quotes and SQL in values are values
    r = ctx.get("/v2/samples" + q(("resource_id", "eq", "x' OR '1'='1"), ("metadata.a'b", "eq", "'; --")), token=tok)
    assert_status(r, 200)
    assert r.json() == []


def test_get_one_sample_and_404(ctx):
    d = data(ctx)
    r = ctx.get(f"/v2/samples/{d[0]['message_id']}", token=admin(ctx))
    assert_status(r, 200)
    s = r.json()
    assert (s["id"], s["meter"], s["volume"], s["timestamp"]) == (d[0]["message_id"], "cpu", 10, "2012-09-25T10:30:00")
    assert s["metadata"] == {"flavor": "m1.small", "size": "5"}
    err(ctx.get("/v2/samples/00000000-0000-0000-0000-000000000000", token=admin(ctx)), 404,
        "Sample 00000000-0000-0000-0000-000000000000 Not Found")
    err(ctx.get("/v2/samples/garbage", token=admin(ctx)), 404, "Sample garbage Not Found")


# ---- meters and resources ----

def test_meters_list_unique_and_meter_id(ctx):
    data(ctx)
    got = [m for m in ctx.get("/v2/meters", token=admin(ctx)).json() if m["name"] == "cpu"]
    assert sorted(m["resource_id"] for m in got) == ["vm-1", "vm-2"]
    vm1 = next(m for m in got if m["resource_id"] == "vm-1")
    assert vm1["meter_id"] == base64.b64encode(b"vm-1+cpu").decode()
    assert (vm1["type"], vm1["unit"], vm1["project_id"], vm1["user_id"], vm1["source"]) == \
        ("gauge", "%", P, "u1", f"{P}:openstack")
    uniq = [m for m in ctx.get("/v2/meters?unique=True", token=admin(ctx)).json() if m["name"] == "cpu"]
    assert len(uniq) == 1 and uniq[0]["resource_id"] is None and uniq[0]["project_id"] is None
    assert uniq[0]["meter_id"] == base64.b64encode(b"None+cpu").decode()
    got = ctx.get("/v2/meters" + q(("resource_id", "eq", "vm-2")), token=admin(ctx)).json()
    assert [(m["name"], m["project_id"]) for m in got] == [("cpu", "proj-x")]


def test_resources_with_links_and_bounds(ctx):
    data(ctx)
    r = ctx.get("/v2/resources" + q(("resource_id", "eq", "vm-1")), token=admin(ctx))
    assert_status(r, 200)
    [res] = r.json()
    assert res["first_sample_timestamp"] == "2012-09-25T10:30:00"
    assert res["last_sample_timestamp"] == "2012-09-25T11:31:00"
    assert res["metadata"] == {"flavor": "m1.small", "size": "5"}
    assert res["links"][0]["rel"] == "self"
    assert res["links"][0]["href"].endswith("/v2/resources/vm-1")
    assert {"rel": "cpu", "href": res["links"][0]["href"].replace("/v2/resources/vm-1", "")
            + "/v2/meters/cpu?q.field=resource_id&q.value=vm-1"} in res["links"]
    # a timestamp filter narrows first/last; meter_links=0 keeps the self link only
    [res] = ctx.get("/v2/resources" + q(("resource_id", "eq", "vm-1"), ("timestamp", "gt", "2012-09-25T11:00:00"),
                                        meter_links="0"), token=admin(ctx)).json()
    assert res["first_sample_timestamp"] == "2012-09-25T11:31:00"
    assert [link["rel"] for link in res["links"]] == ["self"]
    one = ctx.get("/v2/resources/vm-1", token=admin(ctx))
    assert_status(one, 200)
    assert one.json()["resource_id"] == "vm-1"
    err(ctx.get("/v2/resources/no-such-vm", token=admin(ctx)), 404, "Resource no-such-vm Not Found")
    err(ctx.get("/v2/resources" + q(("meter", "eq", "cpu")), token=admin(ctx)), 400,
        'Unknown argument: "meter"', prefix=True)


def test_resource_id_with_slash(ctx):
    assert_status(post(ctx, "inst.slash", [sample("inst.slash", 1, "a/b", "2013-01-01T00:00:00")]), 201)
    r = ctx.get("/v2/resources/a%252Fb", token=admin(ctx))
    assert_status(r, 200)
    assert r.json()["resource_id"] == "a/b"


# ---- statistics ----

def test_statistics_without_and_with_period(ctx):
    data(ctx)
    [s] = ctx.get("/v2/meters/cpu/statistics", token=admin(ctx)).json()
    assert (s["count"], s["sum"], s["min"], s["max"], s["avg"]) == (3, 60, 10, 30, 20)
    assert (s["period"], s["period_start"], s["period_end"]) == (0, "2012-09-25T10:30:00", "2012-09-25T12:32:00")
    assert (s["duration_start"], s["duration_end"], s["duration"]) == ("2012-09-25T10:30:00", "2012-09-25T12:32:00", 7320)
    assert s["groupby"] is None and s["unit"] == "%" and "aggregate" not in s
    rows = ctx.get("/v2/meters/cpu/statistics?period=3600", token=admin(ctx)).json()
    assert [r["period_start"] for r in rows] == ["2012-09-25T10:30:00", "2012-09-25T11:30:00", "2012-09-25T12:30:00"]
    assert [r["period_end"] for r in rows] == ["2012-09-25T11:30:00", "2012-09-25T12:30:00", "2012-09-25T13:30:00"]
    assert [r["count"] for r in rows] == [1, 1, 1] and rows[0]["period"] == 3600
    rows = ctx.get("/v2/meters/cpu/statistics" + q(("timestamp", "ge", "2012-09-25T10:15:00"), period="7200"),
                   token=admin(ctx)).json()
    assert [(r["period_start"], r["count"]) for r in rows] == [("2012-09-25T10:15:00", 2), ("2012-09-25T12:15:00", 1)]
    assert rows[0]["duration_start"] == "2012-09-25T10:30:00"
    assert ctx.get("/v2/meters/no.such/statistics", token=admin(ctx)).json() == []


def test_statistics_groupby_and_aggregates(ctx):
    data(ctx)
    rows = ctx.get("/v2/meters/cpu/statistics?groupby=project_id&groupby=project_id", token=admin(ctx)).json()
    assert sorted((r["groupby"]["project_id"], r["count"], r["sum"]) for r in rows) == [(P, 2, 30), ("proj-x", 1, 30)]
    rows = ctx.get("/v2/meters/cpu/statistics?groupby=resource_metadata.instance_type&groupby=user_id",
                   token=admin(ctx)).json()
    assert all(set(r["groupby"]) == {"resource_metadata.instance_type", "user_id"} for r in rows)
    # stddev is the population one; only the selected aggregates are there
    assert_status(post(ctx, "disk", [sample("disk", v, f"d{i}", f"2013-03-03T00:0{i}:00", unit="GB")
                                     for i, v in enumerate([2, 2, 5])]), 201)
    [s] = ctx.get("/v2/meters/disk/statistics" + q(**{"aggregate.func": ["stddev", "max", "cardinality", "cardinality"],
                                                      "aggregate.param": ["", "", "resource_id", "resource_id"]}),
                  token=admin(ctx)).json()
    assert abs(s["aggregate"]["stddev"] - 1.4142135623730951) < 1e-9
    assert s["aggregate"]["cardinality/resource_id"] == 3 and s["aggregate"]["max"] == 5
    assert s["max"] == 5 and "min" not in s and "avg" not in s and "stddev" not in s
    assert "cardinality/resource_id" not in s


def test_statistics_errors(ctx):
    tok = admin(ctx)
    err(ctx.get("/v2/meters/cpu/statistics?period=-1", token=tok), 400, "Period must be positive.")
    err(ctx.get("/v2/meters/cpu/statistics?period=10000000000000", token=tok), 400, "Invalid period 10000000000000: ",
        prefix=True)
    err(ctx.get("/v2/meters/cpu/statistics?groupby=wtf", token=tok), 400,
        "Unknown argument: \"set(['wtf'])\": Invalid groupby fields")
    err(ctx.get("/v2/meters/cpu/statistics?aggregate.func=median", token=tok), 400, "Invalid aggregation function: median")
    err(ctx.get("/v2/meters/cpu/statistics?aggregate.func=cardinality&aggregate.param=flavor", token=tok), 400,
        "Bad aggregate: cardinality.flavor")
    # a bucket that would end after year 9999
    err(ctx.get("/v2/meters/cpu/statistics?period=300000000000", token=tok), 400, "Invalid period 300000000000: ",
        prefix=True)
    # (a sample that late cannot be posted: vscope.max_future; it is stored directly)
    err(post(ctx, "inst.far", [sample("inst.far", 1, "vm-f", "9999-12-31T23:59:59")]), 400,
        "Invalid input for field/attribute timestamp. Value: '9999-12-31T23:59:59'. more than vscope.max_future",
        prefix=True)
    ctx.psql(f"SELECT vscope.use_tenant('{P}'); SELECT vscope._ensure_partitions(ARRAY[2932896], 'samples');"
             "SELECT vscope._ceilo_store_sample('inst.far', 'gauge', 's', 1, 'vm-f', NULL, NULL, 'x', '{}',"
             " '9999-12-31T23:59:59+00')")
    err(ctx.get("/v2/meters/inst.far/statistics?period=1", token=tok), 400, "Invalid period 1: ", prefix=True)


def test_statistics_duration_is_clamped_to_the_query(ctx):
    assert_status(post(ctx, "inst.clamp", [sample("inst.clamp", 1, "vm-c", "2012-08-27T23:55:00"),
                                           sample("inst.clamp", 1, "vm-c", "2012-08-28T08:00:00")]), 201)
    [s] = ctx.get("/v2/meters/inst.clamp/statistics" + q(("timestamp", "ge", "2012-08-28T00:00:00"),
                                                         ("timestamp", "le", "2012-08-28T23:59:00"),
                                                         ("search_offset", "eq", "10")), token=admin(ctx)).json()
    assert s["count"] == 2
    assert (s["duration_start"], s["duration_end"], s["duration"]) == ("2012-08-28T00:00:00", "2012-08-28T08:00:00", 28800)


# ---- the complex query ----

def test_complex_query_filter_orderby_limit(ctx):
    data(ctx)
    body = {"filter": json.dumps({"and": [{"=": {"meter": "cpu"}}, {">": {"volume": 10}}]}),
            "orderby": json.dumps([{"volume": "ASC"}]), "limit": 5}
    r = ctx.post("/v2/query/samples", body, token=admin(ctx))
    assert_status(r, 200)
    assert [s["volume"] for s in r.json()] == [20, 30]
    body = {"filter": json.dumps({"OR": [{"In": {"resource": ["vm-2"]}}, {"=": {"metadata.flavor": "m1.small"}}]})}
    got = ctx.post("/v2/query/samples", body, token=admin(ctx)).json()
    assert [s["volume"] for s in got if s["meter"] == "cpu"] == [30, 20, 10]     # newest first
    got = ctx.post("/v2/query/samples", {"filter": json.dumps({"NOT": {"=": {"meter": "cpu"}}}), "limit": 1},
                   token=admin(ctx)).json()
    assert len(got) == 1 and got[0]["meter"] != "cpu"
    assert len(ctx.post("/v2/query/samples", {}, token=admin(ctx)).json()) >= 3


def test_complex_query_errors_are_400_never_sql(ctx):
    tok = admin(ctx)

    def bad(body, text):
        err(ctx.post("/v2/query/samples", body, token=tok), 400, text, prefix=True)

    bad({"filter": "{not json"}, "Filter expression not valid: ")
    bad({"filter": json.dumps({"=": {"password": "x"}})}, "Filter expression not valid: ")
    bad({"filter": json.dumps({"=": {"meter; DROP TABLE vscope.samples": "x"}})}, "Filter expression not valid: ")
    bad({"filter": json.dumps({"like": {"meter": "x"}})}, "Filter expression not valid: ")
    bad({"filter": "{\"not\": " * 40 + "{\"=\": {\"meter\": \"x\"}}" + "}" * 40}, "Filter expression not valid: ")
    bad({"filter": json.dumps({"in": {"resource": [f"r{i}" for i in range(1001)]}})}, "Filter expression not valid: ")
    bad({"filter": json.dumps({"=": {"timestamp": "soon"}})}, "Failed to parse the timestamp value soon")
    bad({"orderby": json.dumps([{"volume": "sideways"}])}, "Order-by expression not valid: ")
    bad({"orderby": json.dumps([{"metadata.a": "asc"}])}, "Order-by expression not valid: ")
    bad({"limit": 0}, "Limit must be positive")
    bad({"filter": ""}, "Filter expression not valid: ")
    bad({"filter": json.dumps({"=": {"volume": 1e400}}).replace("Infinity", "1e400")}, "Filter expression not valid: ")
    bad({"filter": json.dumps({"=": {"timestamp": "now"}})}, "Failed to parse the timestamp value now")
    bad({"filter": json.dumps({"=": {"timestamp": "01/02/2012"}})}, "Failed to parse the timestamp value 01/02/2012")
    r = ctx.post("/v2/query/samples", {"filter": json.dumps({"=": {"resource": "x'); DROP TABLE vscope.samples; --"}})},
                 token=tok)
    assert_status(r, 200)
    assert r.json() == []
    assert int(ctx.scalar("SELECT count(*) FROM vscope.samples")) > 0


# ---- tenancy: admin vs non-admin, and other tenants ----

def test_complex_query_by_message_id_and_time(ctx):
    d = data(ctx)
    ids = [s["message_id"] for s in d]
    got = ctx.post("/v2/query/samples", {"filter": json.dumps({"=": {"message_id": ids[1]}})}, token=admin(ctx)).json()
    assert [s["id"] for s in got] == [ids[1]]
    got = ctx.post("/v2/query/samples", {"filter": json.dumps({"in": {"message_id": [ids[0], ids[2], "junk"]}})},
                   token=admin(ctx)).json()
    assert sorted(s["id"] for s in got) == sorted([ids[0], ids[2]])
    # naive times are UTC; an offset is honoured
    f = {"and": [{"=": {"meter": "cpu"}}, {"=": {"timestamp": "2012-09-25T12:30:00+02:00"}}]}
    got = ctx.post("/v2/query/samples", {"filter": json.dumps(f)}, token=admin(ctx)).json()
    assert [s["volume"] for s in got] == [10]
    got = ctx.get("/v2/query/samples", token=admin(ctx))
    err(got, 405)


def test_non_admin_sees_its_own_project_only(ctx):
    data(ctx)
    tok = user(ctx)
    got = ctx.get("/v2/meters/cpu", token=tok).json()
    assert sorted(s["counter_volume"] for s in got) == [10, 20]
    assert {s["project_id"] for s in ctx.get("/v2/samples", token=tok).json()} == {P}
    assert {m["project_id"] for m in ctx.get("/v2/meters", token=tok).json()} == {P}
    assert {r["project_id"] for r in ctx.get("/v2/resources", token=tok).json()} == {P}
    [s] = ctx.get("/v2/meters/cpu/statistics", token=tok).json()
    assert s["count"] == 2
    err(ctx.get("/v2/meters/cpu" + q(("project_id", "eq", "proj-x")), token=tok), 401,
        "Not Authorized to access project proj-x")
    err(ctx.get("/v2/meters/cpu" + q(("project", "eq", P), ("project", "eq", "proj-x")), token=tok), 401,
        "Not Authorized to access project proj-x")
    assert len(ctx.get("/v2/meters/cpu" + q(("project", "eq", P)), token=tok).json()) == 2
    # one sample and one resource of another project: 404
    foreign = next(s for s in data(ctx) if s["project_id"] == "proj-x")
    err(ctx.get(f"/v2/samples/{foreign['message_id']}", token=tok), 404)
    err(ctx.get("/v2/resources/vm-2", token=tok), 404)
    # the complex query is confined too
    got = ctx.post("/v2/query/samples", {"filter": json.dumps({"=": {"meter": "cpu"}})}, token=tok).json()
    assert sorted(s["volume"] for s in got) == [10, 20]
    err(ctx.post("/v2/query/samples", {"filter": json.dumps({"=": {"project": "proj-x"}})}, token=tok), 401,
        "Not Authorized to access project proj-x")
    err(ctx.post("/v2/query/samples", {"filter": json.dumps({"in": {"project_id": [P, "proj-x"]}})}, token=tok), 401,
        "Not Authorized to access project proj-x")


def test_another_tenant_sees_nothing(ctx):
    data(ctx)
    tok = ctx.token(OTHER, "read,write,admin")
    assert ctx.get("/v2/meters/cpu", token=tok).json() == []
    assert ctx.get("/v2/meters/cpu/statistics", token=tok).json() == []
    assert [r for r in ctx.get("/v2/resources", token=tok).json() if r["resource_id"] == "vm-1"] == []
    err(ctx.get(f"/v2/samples/{data(ctx)[0]['message_id']}", token=tok), 404)
    assert ctx.post("/v2/query/samples", {}, token=tok).json() == []
    # and row-level security holds in SQL too
    assert ctx.as_tenant(OTHER, "SELECT count(*) FROM vscope.ceilometer_samples WHERE counter_name = 'cpu'") == [["0"]]


# ---- events ----

EVENTS = [
    {"event_type": "compute.instance.create.end", "generated": "2013-12-31T10:00:00", "message_id": "ev-1",
     "traits": [{"name": "project_id", "type": "string", "value": P}, {"name": "user_id", "type": "string", "value": "u1"},
                {"name": "memory_mb", "type": "integer", "value": 512},
                {"name": "launched_at", "type": "datetime", "value": "2013-12-31T09:59:00"}],
     "raw": {"payload": {"x": 1}}},
    {"event_type": "compute.instance.delete.end", "generated": "2013-12-31T11:00:00", "message_id": "ev-2",
     "traits": [{"name": "project_id", "type": "string", "value": P}, {"name": "user_id", "type": "string", "value": "u2"},
                {"name": "memory_mb", "type": "integer", "value": 2048}]},
    {"event_type": "image.upload", "generated": "2013-12-31T12:00:00", "message_id": "ev-3",
     "traits": [{"name": "size", "type": "float", "value": 1.5}]},
    {"event_type": "compute.instance.create.end", "generated": "2013-12-31T13:00:00", "message_id": "ev-4",
     "traits": [{"name": "project_id", "type": "string", "value": "proj-x"}, {"name": "user_id", "type": "string", "value": "u1"}]},
]


def events(ctx):
    if "events" not in _ready:
        r = ctx.post("/v2/events", EVENTS, token=admin(ctx))
        assert_status(r, 201)
        assert r.json() == ["ev-1", "ev-2", "ev-3", "ev-4"]
        _ready["events"] = True


def who(usr, roles=None):
    h = {"X-User-Id": usr}
    if roles:
        h["X-Roles"] = roles
    return h


def test_events_visibility(ctx):
    events(ctx)
    # admin: own project's events and those without a project_id trait
    got = ctx.get("/v2/events", token=admin(ctx), headers=who("boss")).json()
    assert [e["message_id"] for e in got] == ["ev-1", "ev-2", "ev-3"]
    e1 = got[0]
    assert (e1["event_type"], e1["generated"], e1["raw"]) == ("compute.instance.create.end", "2013-12-31T10:00:00",
                                                              {"payload": {"x": 1}})
    assert {"name": "memory_mb", "type": "integer", "value": "512"} in e1["traits"]
    assert {"name": "launched_at", "type": "datetime", "value": "2013-12-31T09:59:00"} in e1["traits"]
    # a non-admin with a vscope token: its project's events (the token stands
    # for the project; X-User-Id is not vouched for, so it narrows nothing)
    got = ctx.get("/v2/events", token=user(ctx), headers=who("u1")).json()
    assert [e["message_id"] for e in got] == ["ev-1", "ev-2"]
    got = ctx.get("/v2/events", token=user(ctx), headers=who("someone-else")).json()
    assert [e["message_id"] for e in got] == ["ev-1", "ev-2"]
    # both identities are needed
    err(ctx.get("/v2/events", token=user(ctx)), 403, "RBAC Authorization Failed")
    err(ctx.get("/v2/events/ev-1", token=user(ctx)), 403, "RBAC Authorization Failed")
    r = ctx.get("/v2/events/ev-1", token=user(ctx), headers=who("u1"))
    assert_status(r, 200)
    assert r.json()["message_id"] == "ev-1"
    err(ctx.get("/v2/events/ev-3", token=user(ctx), headers=who("u1")), 404, "Event ev-3 Not Found")
    err(ctx.get("/v2/events/ev-4", token=admin(ctx), headers=who("boss")), 404, "Event ev-4 Not Found")


def test_event_queries(ctx):
    events(ctx)
    tok, h = admin(ctx), who("boss")

    def ids(query):
        r = ctx.get("/v2/events" + query, token=tok, headers=h)
        assert_status(r, 200)
        return [e["message_id"] for e in r.json()]

    assert ids(q(("event_type", "eq", "compute.instance.create.end"))) == ["ev-1"]
    assert ids(q(("memory_mb", "gt", "1000", "integer"))) == ["ev-2"]
    assert ids(q(("memory_mb", "le", "512", "integer"))) == ["ev-1"]
    assert ids(q(("user_id", "ne", "u1"))) == ["ev-2"]
    assert ids(q(("size", "ge", "1.5", "float"))) == ["ev-3"]
    assert ids(q(("launched_at", "lt", "2014-01-01T00:00:00", "datetime"))) == ["ev-1"]
    assert ids(q(("start_timestamp", "ge", "2013-12-31T10:30:00"), ("end_timestamp", "le", "2013-12-31T11:30:00"))) == ["ev-2"]
    assert ids(q(("message_id", "eq", "ev-3"))) == ["ev-3"]
    assert ids("?limit=1") == ["ev-1"]
    err(ctx.get("/v2/events" + q(("event_type", "ne", "x")), token=tok, headers=h), 400,
        "Operator ne is not supported. Only `eq' operator is available for field event_type")
    err(ctx.get("/v2/events" + q(("start_timestamp", "gt", "2013-12-31T10:30:00")), token=tok, headers=h), 400,
        "Operator gt is not supported. Only `ge' operator is available for field start_timestamp")
    err(ctx.get("/v2/events" + q(("memory_mb", "like", "1")), token=tok, headers=h), 400,
        "Operator like is not supported. The supported operators are: ('lt', 'le', 'eq', 'ne', 'ge', 'gt')")
    err(ctx.get("/v2/events" + q(("memory_mb", "eq", "1", "whats-up")), token=tok, headers=h), 400,
        "The data type whats-up is not supported. The supported data type list is: "
        "['integer', 'float', 'string', 'datetime']")
    err(ctx.get("/v2/events" + q(("memory_mb", "eq", "1", "boolean")), token=tok, headers=h), 400,
        "The data type boolean is not supported", prefix=True)


def test_event_types_and_traits(ctx):
    events(ctx)
    tok, h = admin(ctx), who("boss")
    types = ctx.get("/v2/event_types", token=tok, headers=h).json()
    assert types == ["compute.instance.create.end", "compute.instance.delete.end", "image.upload"]
    traits = ctx.get("/v2/event_types/compute.instance.create.end/traits", token=tok, headers=h).json()
    assert {"name": "memory_mb", "type": "integer"} in traits and {"name": "user_id", "type": "string"} in traits
    vals = ctx.get("/v2/event_types/compute.instance.create.end/traits/memory_mb", token=tok, headers=h).json()
    assert vals == [{"name": "memory_mb", "type": "integer", "value": "512"}]
    assert ctx.get("/v2/event_types/no.such/traits/x", token=tok, headers=h).json() == []
    err(ctx.get("/v2/event_types/compute.instance.create.end", token=tok, headers=h), 404)
    err(ctx.get("/v2/event_types", token=user(ctx), headers=who("u1")), 401, f"Not Authorized to access project {P}")
    err(ctx.post("/v2/events", EVENTS[:1], token=user(ctx)), 401)
    err(ctx.post("/v2/events", [{"event_type": "x"}], token=admin(ctx)), 400)
    gen = "2013-01-05T00:00:00"
    err(ctx.post("/v2/events", [{"event_type": "x", "generated": gen, "traits": [{"name": "a"}]}], token=admin(ctx)), 400)
    err(ctx.post("/v2/events", [{"event_type": "x", "generated": gen, "message_id": 5}], token=admin(ctx)), 400)
    err(ctx.post("/v2/events", [{"event_type": "x", "generated": gen, "message_id": "m" * 300}], token=admin(ctx)), 400)
    err(ctx.post("/v2/events", [{"event_type": "x", "generated": gen,
                                 "traits": [{"name": "f", "type": "float", "value": "1e400"}]}], token=admin(ctx)), 400,
        "Unable to convert the value 1e400 to the expected data type float.")
    err(ctx.post("/v2/events", EVENTS[:1], token=admin(ctx)), 409)


# ---- keystone identity headers ----

def test_keystone_identity_headers(ctx):
    ks = "ceilo-cloud"
    ctx.tenant(ks)
    port = free_port(ctx.port + 2)   # (the telnet port may be the next but one)
    proc = ctx.spawn_daemon(port, VSCOPE_IDENTITY_HEADERS="keystone", VSCOPE_KEYSTONE_TENANT=ks)
    try:
        adm = {"X-Auth-Token": "from-keystone", "X-Roles": "member,admin", "X-Project-Id": "proj-a", "X-User-Id": "ua"}
        mem = {"X-Auth-Token": "from-keystone", "X-Roles": "member", "X-Project-Id": "proj-b", "X-User-Id": "ub"}
        r = ctx.post("/v2/meters/ks.m", [sample("ks.m", 1, "r-a", "2013-01-01T00:00:00"),
                                         sample("ks.m", 2, "r-b", "2013-01-01T00:00:00", project="proj-b")],
                     headers=adm, port=port)
        assert_status(r, 201)
        assert [s["project_id"] for s in r.json()] == ["proj-a", "proj-b"]
        assert r.json()[0]["user_id"] == "ua"
        assert len(ctx.get("/v2/meters/ks.m", headers=adm, port=port).json()) == 2
        got = ctx.get("/v2/meters/ks.m", headers=mem, port=port).json()
        assert [s["resource_id"] for s in got] == ["r-b"]
        err(ctx.get("/v2/meters/ks.m" + q(("project", "eq", "proj-a")), headers=mem, port=port), 401,
            "Not Authorized to access project proj-a")
        err(ctx.post("/v2/meters/ks.m", [sample("ks.m", 1, "r-a", "2013-01-01T00:00:00", project="proj-a")],
                     headers=mem, port=port), 400)
        # the token must be there, whatever the roles say
        no_tok = dict(adm)
        del no_tok["X-Auth-Token"]
        err(ctx.get("/v2/meters", headers=no_tok, port=port), 401)
        err(ctx.get("/v2/meters", headers=no_tok, basic=("x", "y"), port=port), 401)
        # the data is in the configured tenant
        assert ctx.as_tenant(ks, "SELECT count(*) FROM vscope.ceilometer_samples") == [["2"]]
        # events: keystone vouches for the user, so a non-admin sees its own user's only
        ev = [{"event_type": "ks.e", "generated": "2013-01-01T00:00:00", "message_id": f"ks-{u}",
               "traits": [{"name": "project_id", "value": "proj-b"}, {"name": "user_id", "value": u}]}
              for u in ("ub", "uc")]
        assert_status(ctx.post("/v2/events", ev, headers=adm, port=port), 201)
        got = ctx.get("/v2/events", headers=mem, port=port).json()
        assert [e["message_id"] for e in got] == ["ks-ub"]
        no_user = dict(mem)
        del no_user["X-User-Id"]
        err(ctx.get("/v2/events", headers=no_user, port=port), 403, "RBAC Authorization Failed")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        # a clean shutdown: SIGTERM makes vscoped exit 0
        assert proc.returncode == 0, out
    # identity headers are believed only from keystone-trusted-addresses
    proc = ctx.spawn_daemon(port, VSCOPE_IDENTITY_HEADERS="keystone", VSCOPE_KEYSTONE_TENANT=ks,
                            VSCOPE_KEYSTONE_TRUSTED_ADDRESSES="10.9.8.7")
    try:
        err(ctx.get("/v2/meters", headers=adm, port=port), 401,
            "Authentication required: Identity headers are trusted only from keystone-trusted-addresses.")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        # a clean shutdown: SIGTERM makes vscoped exit 0
        assert proc.returncode == 0, out


def test_a_day_without_a_partition_is_refused_and_nothing_is_stored(ctx):
    """Writes never make partitions: a post with a sample for a day that has
    none is Ceilometer's 400 naming the day and the CALL that makes it
    writable, and none of the post's samples is stored."""
    import datetime
    day = (datetime.datetime.utcnow() - datetime.timedelta(days=500)).strftime("%Y-%m-%d")
    err(post(ctx, "inst.unwritable", [sample("inst.unwritable", 1, "vm-u", "2013-01-01T00:00:00"),
                                      sample("inst.unwritable", 2, "vm-u", f"{day}T12:00:00")]), 400,
        f"Invalid input for field/attribute timestamp. Value: '{day}T12:00:00'. day {day} is not writable: "
        "vscope.maintain() keeps the days from vscope.max_past ago to vscope.max_future ahead writable; "
        f"an operator makes others so with CALL vscope.add_days('{day}', '{day}')")
    assert ctx.get("/v2/meters/inst.unwritable", token=admin(ctx)).json() == []
    assert ctx.scalar("SELECT count(*) FROM vscope.sample_series WHERE counter_name = 'inst.unwritable'") == "0"
    assert ctx.scalar(f"SELECT to_regclass('vscope.samples_{day.replace('-', '')}') IS NULL") == "t"


def test_concurrent_posts_to_one_new_day_and_instant(ctx):
    """Eight writers post the same sample at once, on a day the operator has
    just made writable (none of the daemon's connections has seen it yet):
    all eight samples are kept."""
    import datetime
    import threading
    day = (datetime.datetime.utcnow() - datetime.timedelta(days=400)).strftime("%Y-%m-%dT12:00:00")
    ctx.add_days(day[:10])
    s = sample("inst.race", 1, "vm-r", day)
    results = []

    def one():
        results.append(post(ctx, "inst.race", [s]))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.status for r in results] == [201] * 8, results
    ids = {r.json()[0]["message_id"] for r in results}
    assert len(ids) == 8
    got = ctx.get("/v2/meters/inst.race", token=admin(ctx)).json()
    assert {g["message_id"] for g in got} == ids


def test_post_a_thousand_samples(ctx):
    samples = [sample("inst.many", i, f"vm-{i % 10}", f"2013-04-0{1 + i % 9}T00:{i % 60:02d}:{i // 60 % 60:02d}")
               for i in range(1000)]
    r = post(ctx, "inst.many", samples)
    assert_status(r, 201)
    assert len(r.json()) == 1000
    [s] = ctx.get("/v2/meters/inst.many/statistics", token=admin(ctx)).json()
    assert (s["count"], s["sum"]) == (1000, sum(range(1000)))
