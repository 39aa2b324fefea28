"""Coopr admin metrics over HTTP: API keys, node events, node-seconds, queues,
with the worked examples of the spec (MetricHandlerTest, AdminHandlerTest)."""
import json
import time

from vstest import assert_status

RUN = "c"   # tenant names of this test file
T1, T2, T3 = f"{RUN}-tenant1", f"{RUN}-tenant2", f"{RUN}-tenant3"
_keys = {}


def su_key(ctx):
    if "su" not in _keys:
        ctx.tenant("superadmin")
        _keys["su"] = ctx.scalar("SELECT vscope.coopr_create_apikey('superadmin', 'admin')->>'apikey'")
    return _keys["su"]


def h(tenant, user, key):
    return {"Coopr-TenantID": tenant, "Coopr-UserID": user, "Coopr-ApiKey": key}


def su(ctx):
    return h("superadmin", "admin", su_key(ctx))


def key(ctx, tenant, user):
    if (tenant, user) not in _keys:
        r = ctx.post("/v2/apikeys", {"tenant": tenant, "user": user}, headers=su(ctx))
        assert_status(r, 201)
        _keys[(tenant, user)] = r.json()["apikey"]
    return _keys[(tenant, user)]


def seven_tasks(ctx, scale, tenant1, tenant2):
    """MetricHandlerTest's seven tasks, times multiplied by scale."""
    ev = [("1", "node1", "CREATE", "COMPLETE", 2), ("1", "node2", "CREATE", "COMPLETE", 17),
          ("1", "node3", "CREATE", "COMPLETE", 9), ("1", "node3", "DELETE", "COMPLETE", 20),
          ("2", "node1", "CREATE", "COMPLETE", 25), ("2", "node3", "CREATE", "FAILED", 4)]
    events = [{"tenant": tenant1, "user": "user1", "cluster": c, "node": n, "action": a, "status": s, "time": t * scale}
              for c, n, a, s, t in ev]
    events.append({"tenant": tenant2, "user": "user2", "cluster": "2", "node": "node2", "action": "CREATE",
                   "status": "COMPLETE", "time": 11 * scale})
    r = ctx.post("/v2/nodes/events", {"tenants": [tenant1, tenant2], "events": events}, headers=su(ctx))
    assert_status(r, 200)
    assert r.json() == {"recorded": 7}


_seeded = []


def seeded(ctx):
    if not _seeded:
        seven_tasks(ctx, 1, T1, T2)
        seven_tasks(ctx, 3600, T3, T3 + "-b")
        _seeded.append(True)


def usage(ctx, headers, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    return ctx.get("/v2/metrics/nodes/usage" + (f"?{q}" if q else ""), headers=headers)


def test_node_seconds_worked_example(ctx):
    seeded(ctx)
    adm = h(T1, "admin", key(ctx, T1, "admin"))
    r = usage(ctx, adm, start=5, end=22)
    assert_status(r, 200)
    assert r.json() == {"start": 5, "end": 22, "data": [{"time": 5, "value": 33}]}
    assert usage(ctx, adm, start=0, end=30).json()["data"] == [{"time": 0, "value": 57}]
    assert usage(ctx, adm, start=9, end=20).json()["data"] == [{"time": 9, "value": 25}]
    # start defaults to the first completed CREATE (2)
    assert usage(ctx, adm, end=22).json() == {"start": 2, "end": 22, "data": [{"time": 2, "value": 36}]}
    # end defaults to now (spec section 5): three nodes are still live, so the
    # node-seconds grow by 3 per second of wall clock
    j = usage(ctx, adm).json()
    assert j["start"] == 2 and abs(j["end"] - time.time()) < 60, j
    assert j["data"] == [{"time": 2, "value": 3 * j["end"] - 33}], j
    # the user filter: user1 is the owner of all of tenant1's tasks
    assert usage(ctx, adm, start=5, end=22, user="user1").json()["data"][0]["value"] == 33
    assert usage(ctx, adm, start=5, end=22, user="nobody").json()["data"][0]["value"] == 0


def test_superadmin_sees_all_or_one_tenant(ctx):
    seeded(ctx)
    assert usage(ctx, su(ctx), start=5, end=22, tenant=T2).json()["data"] == [{"time": 5, "value": 11}]
    assert usage(ctx, su(ctx), start=5, end=22, tenant=T1).json()["data"] == [{"time": 5, "value": 33}]
    both = usage(ctx, su(ctx), start=5, end=22, user="user2").json()["data"][0]["value"]
    assert both >= 11


def test_grouped_by_hour_in_minutes(ctx):
    seeded(ctx)
    adm = h(T3, "admin", key(ctx, T3, "admin"))
    r = usage(ctx, adm, start=5 * 3600, end=22 * 3600, groupby="hour", timeunit="minutes")
    assert_status(r, 200)
    data = r.json()["data"]
    assert [d["time"] for d in data] == [h_ * 3600 for h_ in range(5, 22)]
    assert [d["value"] for d in data] == [60] * 4 + [120] * 8 + [180] * 3 + [120] * 2, data
    assert sum(d["value"] for d in data) == 1980


def test_no_tasks_and_edges(ctx):
    adm = h(f"{RUN}-empty", "admin", key(ctx, f"{RUN}-empty", "admin"))
    assert usage(ctx, adm, start=10, end=20).json() == {"start": 10, "end": 20, "data": [{"time": 10, "value": 0}]}
    r = usage(ctx, adm)
    assert r.json()["start"] == 0 and r.json()["data"] == [{"time": 0, "value": 0}]
    seeded(ctx)
    t1 = h(T1, "admin", key(ctx, T1, "admin"))
    assert usage(ctx, t1, start=7, end=7).json()["data"][0]["value"] == 0
    # 1/node1, 1/node2 and 2/node1 are alive then: 3 nodes x 10 s, no "+1"
    assert usage(ctx, t1, start=100, end=110).json()["data"][0]["value"] == 30


def test_status_codes_in_order(ctx):
    seeded(ctx)
    adm = h(T1, "admin", key(ctx, T1, "admin"))
    user1 = h(T1, "user1", key(ctx, T1, "user1"))
    # wrong method first, before any credentials
    assert_status(ctx.post("/v2/metrics/nodes/usage", {}), 405)
    assert_status(ctx.post("/v2/metrics/queues", {}), 405)
    # 401: each header, then the key
    r = usage(ctx, {"Coopr-TenantID": T1, "Coopr-ApiKey": "x"})
    assert_status(r, 401)
    assert r.body == "Coopr-UserID not found in request headers."
    r = usage(ctx, {"Coopr-UserID": "admin", "Coopr-ApiKey": "x"})
    assert r.status == 401 and r.body == "Coopr-TenantID not found in request headers."
    assert_status(usage(ctx, {"Coopr-UserID": "admin", "Coopr-TenantID": T1}), 401)
    assert_status(usage(ctx, h(T1, "admin", "wrong")), 401)
    assert_status(usage(ctx, h("no-such-tenant", "admin", "wrong")), 401)
    assert_status(usage(ctx, h(T1, "user1", key(ctx, T1, "admin"))), 401)   # another user's key
    # 403: not an admin
    assert_status(usage(ctx, user1, start=5, end=22), 403)
    # 405: a tenant admin naming any tenant, its own included, before parameter checks
    r = usage(ctx, adm, tenant=T2, start="abc")
    assert_status(r, 405)
    assert "tenant " + T2 in r.body
    assert_status(usage(ctx, adm, tenant=T1), 405)
    # 400: parameters
    for bad in ({"start": "abc"}, {"end": ""}, {"start": 30, "end": 20}, {"groupby": "minute"},
                {"timeunit": "fortnights"}):
        assert_status(usage(ctx, adm, **bad), 400)


def test_queue_metrics(ctx):
    names = {x: f"{RUN}-{x}" for x in "ABCD"}
    ops = []
    for x, added, taken in (("A", 3, 1), ("B", 1, 0), ("C", 1, 1), ("D", 2, 1)):
        ops += [{"tenant": names[x], "op": "add", "task": f"{x}{i}"} for i in range(added)]
        ops += [{"tenant": names[x], "op": "take", "task": f"{x}{i}"} for i in range(taken)]
    r = ctx.post("/v2/queues/events", {"ops": ops}, headers=su(ctx))
    assert_status(r, 200)
    r = ctx.get("/v2/metrics/queues", headers=su(ctx))
    assert_status(r, 200)
    m = r.json()
    assert m[names["A"]] == {"queued": 2, "inProgress": 1, "total": 3}
    assert m[names["B"]] == {"queued": 1, "inProgress": 0, "total": 1}
    assert m[names["C"]] == {"queued": 0, "inProgress": 1, "total": 1}
    assert m[names["D"]] == {"queued": 1, "inProgress": 1, "total": 2}
    assert m["superadmin"] == {"queued": 0, "inProgress": 0, "total": 0}
    a_admin = h(names["A"], "admin", key(ctx, names["A"], "admin"))
    assert ctx.get("/v2/metrics/queues", headers=a_admin).json() == {names["A"]: {"queued": 2, "inProgress": 1, "total": 3}}
    a_user = h(names["A"], "bob", key(ctx, names["A"], "bob"))
    r = ctx.get("/v2/metrics/queues", headers=a_user)
    assert_status(r, 403)
    assert r.body == "Forbidden to get queue metrics."
    # never stale: finish one, fail one, and read straight back
    ctx.post("/v2/queues/events", {"ops": [{"tenant": names["A"], "op": "finish", "task": "A0"},
                                           {"tenant": names["D"], "op": "fail", "task": "D0"}]}, headers=su(ctx))
    m = ctx.get("/v2/metrics/queues", headers=su(ctx)).json()
    assert m[names["A"]] == {"queued": 2, "inProgress": 0, "total": 2}
    assert m[names["D"]] == {"queued": 2, "inProgress": 0, "total": 2}
    assert_status(ctx.post("/v2/queues/events", {"ops": [{"tenant": names["B"], "op": "explode", "task": "x"}]},
                           headers=su(ctx)), 400)
    # only the superadmin reports events
    assert_status(ctx.post("/v2/queues/events", {"ops": []}, headers=a_admin), 403)
    assert_status(ctx.post("/v2/nodes/events", {"events": []}, headers=a_admin), 403)
    # ... and the permission comes first: a non-superadmin with a broken body is still 403
    assert_status(ctx.post("/v2/nodes/events", "{not json", headers=a_admin), 403)


def test_bad_event_bodies(ctx):
    sa = su(ctx)
    for body in ("", "{not json", "[]", '{"events": 7}'):
        r = ctx.post("/v2/nodes/events", body, headers=sa)
        assert_status(r, 400)
        assert not r.body.lstrip().startswith("{"), r   # Coopr's errors are plain text
        assert_status(ctx.post("/v2/queues/events", body, headers=sa), 400)
    ev = {"tenant": f"{RUN}-bad", "user": "u", "cluster": "1", "node": "n", "action": "CREATE", "status": "COMPLETE"}
    for t in ("NaN", "Infinity", "-1e300", "1e300"):
        body = json.dumps({"events": [dict(ev, time="TIME")]}).replace('"TIME"', t)
        r = ctx.post("/v2/nodes/events", body, headers=sa)
        assert_status(r, 400)
    assert ctx.scalar(f"SELECT count(*) FROM vscope.coopr_tasks t JOIN vscope.tenants n USING (tenant_id) WHERE n.name = '{RUN}-bad'") == "0"


def test_api_keys(ctx):
    k = key(ctx, f"{RUN}-keys", "admin")
    adm = h(f"{RUN}-keys", "admin", k)
    r = ctx.post("/v2/apikeys", {"tenant": f"{RUN}-keys", "user": "carol"}, headers=adm)
    assert_status(r, 201)
    assert r.json()["tenant"] == f"{RUN}-keys" and r.json()["user"] == "carol" and r.json()["apikey"].startswith("vst_")
    assert_status(ctx.post("/v2/apikeys", {"tenant": T1, "user": "mallory"}, headers=adm), 403)
    assert_status(ctx.post("/v2/apikeys", {"tenant": f"{RUN}-keys"}, headers=adm), 400)
    carol = h(f"{RUN}-keys", "carol", r.json()["apikey"])
    assert_status(ctx.post("/v2/apikeys", {"tenant": f"{RUN}-keys", "user": "dave"}, headers=carol), 403)
    # keys are stored as hashes only
    assert ctx.scalar(f"SELECT count(*) FROM vscope.coopr_users WHERE apikey_hash = convert_to('{k}', 'UTF8')") == "0"
