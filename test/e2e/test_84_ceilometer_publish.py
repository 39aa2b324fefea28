"""Ceilometer's pipeline writes into vscope: Debian's Ceilometer 19 publishers
(its http publisher for samples and events, its udp publisher for samples,
driven by ceilometer_driver.py) send to vscoped, and the V2 API answers with
what they sent: each project its own, nothing twice, bad items refused alone.
"""
import json
import os
import socket
import subprocess
import time
import uuid

from vstest import assert_status

HOME = "pub-home"           # the publish token's tenant: samples without a project
PA, PB = "pubproj-a", "pubproj-b"   # projects, so tenants (made on first sight)
DAY = "2014-05-01"
PYTHON = os.environ.get("VSCOPE_CEILOMETER_PYTHON", "/usr/bin/python3")
DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ceilometer_driver.py")


def setup(ctx):
    ctx.add_days("2014-05-01", "2014-05-02")


def publisher_token(ctx):
    return ctx.token(HOME, "publish")


def url(ctx, what, token=None, port=None, query="timeout=5"):
    return (f"http://publisher:{token or publisher_token(ctx)}@{ctx.host}:{port or ctx.port}"
            f"/v2/publish/{what}?{query}")


def drive(url_, items, what="samples", secret="", **kw):
    """Publishes items with Ceilometer's own publisher; its answer (ids,
    seconds per call, errors raised, warnings Ceilometer logged)."""
    req = dict(url=url_, items=items, what=what, secret=secret, **kw)
    p = subprocess.run([PYTHON, DRIVER], input=json.dumps(req), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"the Ceilometer driver failed: {p.stderr[-3000:]}"
    return json.loads(p.stdout)


def smp(name, volume, resource, ts, project=PA, **kw):
    s = dict(name=name, type=kw.pop("type", "gauge"), unit=kw.pop("unit", "%"), volume=volume,
             user_id=kw.pop("user_id", "u1"), project_id=project, resource_id=resource, timestamp=ts,
             resource_metadata=kw.pop("metadata", {}), source=kw.pop("source", "openstack"),
             id=kw.pop("id", str(uuid.uuid1())))
    s.update(kw)
    return s


def reader(ctx, project, scopes="read"):
    return ctx.token(project, scopes)


def count(ctx, tenant, where="true"):
    return int(ctx.as_tenant(tenant, f"SELECT count(*) FROM vscope.ceilometer_samples WHERE {where}")[0][0])


BATCH = [
    smp("cpu", 123456789012, "vm-a1", f"{DAY}T10:00:00", type="cumulative", unit="ns",
        metadata={"flavor": {"name": "m1.small", "vcpus": 1}, "display_name": "web-1", "tags": ["a", "b"],
                  "ok": True, "nothing": None}, source="hypervisor"),
    smp("memory.usage", 512.5, "vm-a1", f"{DAY}T10:00:00.250000+00:00", unit="MB",
        metadata={"flavor": {"name": "m1.small", "vcpus": 1}}),
    smp("disk.usage", "42.5", "vm-b1", f"{DAY}T11:00:00", project=PB, unit="B", type="delta"),
]


def test_http_samples_round_trip_each_project_its_own(ctx):
    out = drive(url(ctx, "samples"), BATCH)
    assert out["errors"] == [] and out["log"] == [], out
    a, b = reader(ctx, PA), reader(ctx, PB)
    # the meters of each project, and only those
    assert sorted(m["name"] for m in ctx.get("/v2/meters", token=a).json()) == ["cpu", "memory.usage"]
    assert [m["name"] for m in ctx.get("/v2/meters", token=b).json()] == ["disk.usage"]
    # old style: counter fields, metadata flattened as Ceilometer shows it
    [cpu] = ctx.get("/v2/meters/cpu", token=a).json()
    assert cpu["counter_volume"] == 123456789012.0 and cpu["counter_type"] == "cumulative"
    assert cpu["counter_unit"] == "ns" and cpu["source"] == "hypervisor"
    assert cpu["timestamp"] == f"{DAY}T10:00:00" and cpu["message_id"] == BATCH[0]["id"]
    assert cpu["project_id"] == PA and cpu["user_id"] == "u1" and cpu["resource_id"] == "vm-a1"
    assert cpu["resource_metadata"] == {"flavor.name": "m1.small", "flavor.vcpus": "1", "display_name": "web-1",
                                        "tags": "['a', 'b']", "ok": "True", "nothing": "None"}, cpu
    # one sample by the publisher's id; another project's is not there
    got = ctx.get(f"/v2/samples/{BATCH[1]['id']}", token=a).json()
    assert got["id"] == BATCH[1]["id"] and got["volume"] == 512.5 and got["unit"] == "MB"
    assert got["timestamp"] == f"{DAY}T10:00:00.250000" and got["type"] == "gauge"
    assert_status(ctx.get(f"/v2/samples/{BATCH[2]['id']}", token=a), 404)
    got = ctx.get(f"/v2/samples/{BATCH[2]['id']}", token=b).json()
    assert got["volume"] == 42.5 and got["type"] == "delta" and got["project_id"] == PB
    # nested metadata is queryable as metadata.a.b
    r = ctx.get("/v2/meters/memory.usage?q.field=metadata.flavor.name&q.value=m1.small", token=a)
    assert [s["message_id"] for s in r.json()] == [BATCH[1]["id"]]
    assert ctx.get("/v2/meters/memory.usage?q.field=metadata.flavor.name&q.value=m1.large", token=a).json() == []
    # resources: first and last sample, attributes of the latest
    [res] = ctx.get("/v2/resources", token=a).json()
    assert res["resource_id"] == "vm-a1" and res["project_id"] == PA
    assert res["first_sample_timestamp"] == f"{DAY}T10:00:00"
    assert res["last_sample_timestamp"] == f"{DAY}T10:00:00.250000"
    assert res["metadata"]["flavor.name"] == "m1.small"
    # the samples are in their projects' tenants, which the publisher made
    assert count(ctx, PA) == 2 and count(ctx, PB) == 1


def test_a_second_post_of_the_same_batch_stores_nothing_new(ctx):
    before = count(ctx, PA) + count(ctx, PB)
    out = drive(url(ctx, "samples"), BATCH, times=2)
    assert out["errors"] == [] and out["log"] == [], out
    # Ceilometer 19's batch=False posts the whole list once per item
    out = drive(url(ctx, "samples", query="timeout=5&batch=False"), BATCH)
    assert len(out["seconds"]) == 1 and out["errors"] == [], out
    assert count(ctx, PA) + count(ctx, PB) == before == 3
    r = ctx.post("/v2/publish/samples", body=json.dumps(BATCH), basic=("p", publisher_token(ctx)))
    assert_status(r, 200)
    assert r.json() == {"stored": 0, "duplicates": 3, "rejected": []}, r


def test_a_bad_item_is_refused_alone_and_logged(ctx):
    good = smp("cpu", 1.5, "vm-a2", f"{DAY}T12:00:00")
    nan = smp("cpu", float("nan"), "vm-a2", f"{DAY}T12:01:00")
    late = smp("cpu", 2.0, "vm-a2", "2014-05-09T12:00:00")      # a day that is not writable
    out = drive(url(ctx, "samples"), [good, nan, late])
    assert out["errors"] == [] and out["log"] == [], out     # 200: nothing for Ceilometer to log
    assert count(ctx, PA, "resource_id = 'vm-a2'") == 1
    # the answer says which and why (Python's json writes NaN as NaN)
    body = json.dumps([good, nan, late])
    assert "NaN" in body
    r = ctx.post("/v2/publish/samples", body=body, basic=("p", publisher_token(ctx)))
    assert_status(r, 200)
    a = r.json()
    assert a["stored"] == 0 and a["duplicates"] == 1, a
    assert [(x["index"], x["id"]) for x in a["rejected"]] == [(1, nan["id"]), (2, late["id"])], a
    assert a["rejected"][0]["error"] == "volume: NaN is not a finite number"
    assert "day 2014-05-09 is not writable" in a["rejected"][1]["error"]
    # and so does vscoped's log
    with open(os.path.join(ctx.test_dir, "log", "vscoped.log")) as f:
        logged = f.read()
    assert f"sample 1 (id {nan['id']}) refused: volume: NaN is not a finite number" in logged
    # nothing usable at all: 400, which the publisher logs (it drops the batch)
    out = drive(url(ctx, "samples"), [nan])
    assert any("400" in line for line in out["log"]), out
    r = ctx.post("/v2/publish/samples", body="[1, 2]", basic=("p", publisher_token(ctx)))
    assert_status(r, 400)
    assert r.json()["error_message"]["faultstring"].startswith("No sample could be stored: item 0: a sample is a JSON object")
    assert_status(ctx.post("/v2/publish/samples", body="[{", basic=("p", publisher_token(ctx))), 400)


def test_events_round_trip_with_typed_traits(ctx):
    eid = str(uuid.uuid4())
    ev = {"message_id": eid, "event_type": "compute.instance.create.end", "generated": f"{DAY}T10:30:00.123456",
          "traits": [["project_id", 1, PA], ["user_id", 1, "u1"], ["memory_mb", 2, 2048], ["load", 3, 0.75],
                     ["launched_at", 4, f"{DAY}T10:29:00"], ["state", 1, "active"]],
          "raw": {"event_type": "compute.instance.create.end", "payload": {"memory_mb": 2048}}}
    other = {"message_id": str(uuid.uuid4()), "event_type": "image.upload", "generated": f"{DAY}T11:00:00",
             "traits": [["project_id", 1, PB]], "raw": {}}
    out = drive(url(ctx, "events"), [ev, other], what="events", times=2)
    assert out["errors"] == [] and out["log"] == [], out
    hdr = {"X-User-Id": "u1"}
    a_admin = ctx.token(PA, "read,admin")
    got = ctx.get(f"/v2/events/{eid}", token=a_admin, headers=hdr).json()
    assert got["event_type"] == "compute.instance.create.end" and got["generated"] == f"{DAY}T10:30:00.123456"
    assert {t["name"]: (t["type"], t["value"]) for t in got["traits"]} == {
        "project_id": ("string", PA), "user_id": ("string", "u1"), "memory_mb": ("integer", "2048"),
        "load": ("float", "0.75"), "launched_at": ("datetime", f"{DAY}T10:29:00"), "state": ("string", "active")}
    assert got["raw"] == ev["raw"]
    # each project its own, once
    assert [e["message_id"] for e in ctx.get("/v2/events", token=reader(ctx, PA), headers=hdr).json()] == [eid]
    assert [e["message_id"] for e in ctx.get("/v2/events", token=reader(ctx, PB), headers=hdr).json()] == \
        [other["message_id"]]
    # a trait Ceilometer could not have made refuses its event alone
    bad = dict(ev, message_id=str(uuid.uuid4()), traits=[["memory_mb", 2, "lots"]])
    r = ctx.post("/v2/publish/events", body=[bad, dict(other, message_id=str(uuid.uuid4()))],
                 basic=("p", publisher_token(ctx)))
    assert_status(r, 200)
    assert r.json()["stored"] == 1 and r.json()["rejected"][0]["error"] == 'traits: memory_mb: "lots" is not an integer'


def test_credentials(ctx):
    one = [smp("cred", 1, "vm-c", f"{DAY}T10:00:00")]
    # none: 401 with the basic auth realm
    r = ctx.post("/v2/publish/samples", body=one)
    assert_status(r, 401)
    assert r.header("WWW-Authenticate") == 'Basic realm="vscope"'
    assert set(r.json()) == {"error_message"}
    assert_status(ctx.post("/v2/publish/samples", body=one, basic=("p", "not-a-token")), 401)
    # a token that may not publish: 403, which Ceilometer logs (and drops the batch)
    out = drive(url(ctx, "samples", token=ctx.token(PA, "read")), one)
    assert any("403" in line for line in out["log"]), out
    assert count(ctx, PA, "counter_name = 'cred'") == 0
    # a tenant's write token publishes its own project's samples only
    r = ctx.post("/v2/publish/samples", basic=("p", ctx.token(PA, "read,write")),
                 body=[one[0], smp("cred", 2, "vm-c", f"{DAY}T10:01:00", project=PB),
                       smp("cred", 3, "vm-c", f"{DAY}T10:02:00", project=None)])
    assert_status(r, 200)
    assert r.json()["stored"] == 2 and [x["index"] for x in r.json()["rejected"]] == [1], r
    assert count(ctx, PA, "counter_name = 'cred'") == 2 and count(ctx, PB, "counter_name = 'cred'") == 0
    # a tenant admin cannot mint a publish token
    p = ctx.psql(f"SELECT vscope.use_tenant('{PA}') \\g /dev/null\nSET ROLE vscope_admin;\n"
                 f"SELECT vscope.create_token('{PA}', '{{publish}}');", check=False)
    assert p.returncode != 0 and "row-level security" in p.stderr, p.stderr
    # GET is not a way to publish
    r = ctx.get("/v2/publish/samples", basic=("p", publisher_token(ctx)))
    assert_status(r, 405)
    assert r.header("Allow") == "POST"


def test_64_parallel_posters_of_50_samples(ctx):
    run = uuid.uuid4().hex[:8]
    batches = [[smp("par.cpu", float(i * 50 + k), f"par-{run}-{i}-{k}", f"{DAY}T13:{k:02d}:{i % 60:02d}",
                    project=PA if k % 2 else PB, metadata={"host": f"compute-{i}", "flavor": {"name": "m1.small"}})
                for k in range(50)] for i in range(64)]
    out = drive(url(ctx, "samples"), batches, parallel=64)
    assert out["errors"] == [] and out["log"] == [], out
    assert len(out["seconds"]) == 64
    # the publisher's default timeout is 5 s: every post well inside it
    print(f"    64 parallel posts of 50 samples: slowest {max(out['seconds']):.2f} s")
    assert max(out["seconds"]) < 5, sorted(out["seconds"])[-5:]
    where = f"resource_id LIKE 'par-{run}-%'"
    assert count(ctx, PA, where) == 64 * 25 and count(ctx, PB, where) == 64 * 25
    # and again, all at once: all duplicates
    out = drive(url(ctx, "samples"), batches, parallel=64)
    assert out["errors"] == [] and out["log"] == [], out
    assert count(ctx, PA, where) + count(ctx, PB, where) == 64 * 50


def test_post_meters_takes_at_most_the_cap(ctx):
    tok = ctx.token(PA, "read,write,admin")
    cap = int(ctx.scalar("SELECT vscope._ceilo_max_samples()"))
    one = {"counter_name": "capped", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 1,
           "resource_id": "r", "timestamp": f"{DAY}T10:00:00"}
    r = ctx.post("/v2/meters/capped", [one] * (cap + 1), token=tok)
    assert_status(r, 400)
    assert f"at most {cap} are taken in one request" in r.json()["error_message"]["faultstring"]
    r = ctx.post("/v2/publish/samples", body=[{}] * (cap + 1), basic=("p", publisher_token(ctx)))
    assert_status(r, 400)


# ---- a second vscoped: the udp listener, keystone mode ----

def free_port(preferred, kind=socket.SOCK_STREAM):
    for port in range(preferred, preferred + 40):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port from {preferred}")


def stop(proc):
    proc.terminate()
    out, _ = proc.communicate(timeout=15)
    # a clean shutdown: SIGTERM makes vscoped exit 0
    assert proc.returncode == 0, out
    return out


def udp_stats(ctx, port):
    points = ctx.get("/api/stats", token=ctx.token(HOME, "read"), port=port).json()
    return {p["tags"]["result"]: int(p["value"]) for p in points if p["metric"] == "vscoped.ceilometer.udp.datagrams"}


def wait_for(what, timeout=10):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = what()
        if v:
            return v
        time.sleep(0.1)
    return what()


def test_udp_publisher_signed_samples(ctx):
    ctx.tenant(HOME)
    http_port = free_port(ctx.port + 5)
    udp_port = free_port(ctx.port + 6, socket.SOCK_DGRAM)
    proc = ctx.spawn_daemon(http_port, VSCOPE_CEILOMETER_UDP_TENANT=HOME, VSCOPE_CEILOMETER_UDP_PORT=str(udp_port),
                            VSCOPE_CEILOMETER_UDP_SECRET="s3cret")
    try:
        run = uuid.uuid4().hex[:8]
        # metadata that makes Ceilometer's signature interesting: nested maps,
        # lists of strings (signed as bytes) and maps, floats, quotes
        md = {"flavor": {"name": "m1.small", "vcpus": 2}, "tags": ["a", "it's", {"k": "v"}], "ratio": 0.1,
              "tiny": 1.5e-07, "big": 1e16, "quote": 'say "hi"', "none": None, "yes": True, "nested": {"l": [1, 2.5]}}
        good = [smp("udp.cpu", 12.25, f"udp-{run}", f"{DAY}T14:00:00", metadata=md),
                smp("udp.cpu", 7, f"udp-{run}", f"{DAY}T14:00:01", project=None)]
        out = drive(f"udp://127.0.0.1:{udp_port}", good, secret="s3cret", times=2)
        assert out["errors"] == [], out
        # the wrong secret, and NaN: dropped, refused, counted
        wrong = [smp("udp.cpu", 1, f"udp-{run}", f"{DAY}T14:00:02")]
        drive(f"udp://127.0.0.1:{udp_port}", wrong, secret="not-it")
        nan = [smp("udp.cpu", float("nan"), f"udp-{run}", f"{DAY}T14:00:03")]
        drive(f"udp://127.0.0.1:{udp_port}", nan, secret="s3cret")
        st = wait_for(lambda: (lambda s: s if s.get("bad_signature") == 1 and s.get("rejected") == 1
                               and s.get("stored", 0) + s.get("duplicate", 0) == 4 else None)(udp_stats(ctx, http_port)))
        assert st == {"stored": 2, "duplicate": 2, "rejected": 1, "bad_signature": 1, "undecodable": 0, "failed": 0}, st
        # a datagram that is not msgpack
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"\xc1 not msgpack", ("127.0.0.1", udp_port))
        assert wait_for(lambda: udp_stats(ctx, http_port)["undecodable"] == 1)
        # the samples, through the V2 API: the project's own, and the home tenant's
        got = ctx.get(f"/v2/samples/{good[0]['id']}", token=reader(ctx, PA)).json()
        assert got["volume"] == 12.25 and got["resource_id"] == f"udp-{run}" and got["timestamp"] == f"{DAY}T14:00:00"
        assert got["metadata"]["flavor.name"] == "m1.small" and got["metadata"]["ratio"] == "0.1"
        stored = ctx.as_tenant(PA, f"SELECT resource_metadata FROM vscope.ceilometer_samples WHERE message_id = '{good[0]['id']}'")
        assert json.loads(stored[0][0]) == md
        assert count(ctx, HOME, f"resource_id = 'udp-{run}'") == 1
        assert ctx.get(f"/v2/samples/{good[1]['id']}", token=ctx.token(HOME, "read,admin")).json()["volume"] == 7.0
    finally:
        log = stop(proc)
    assert "signature" in log and "volume: NaN is not a finite number" in log, log


def test_keystone_mode_puts_everything_in_keystone_tenant(ctx):
    ks = "pub-keystone"
    ctx.tenant(ks)
    port = free_port(ctx.port + 5)
    proc = ctx.spawn_daemon(port, VSCOPE_IDENTITY_HEADERS="keystone", VSCOPE_KEYSTONE_TENANT=ks)
    try:
        items = [smp("ks.cpu", 1, "ks-vm", f"{DAY}T15:00:00", project="ks-proj-a"),
                 smp("ks.cpu", 2, "ks-vm", f"{DAY}T15:00:00", project="ks-proj-b")]
        out = drive(url(ctx, "samples", port=port), items)
        assert out["errors"] == [] and out["log"] == [], out
        assert count(ctx, ks, "counter_name = 'ks.cpu'") == 2
        assert ctx.scalar("SELECT count(*) FROM vscope.tenants WHERE name LIKE 'ks-proj-%'") == "0"
        # another tenant's write token may not publish into keystone-tenant
        r = ctx.post("/v2/publish/samples", body=items, basic=("p", ctx.token(PA, "read,write")), port=port)
        assert_status(r, 403)
        # keystone-tenant's own write token may
        r = ctx.post("/v2/publish/samples", body=items, basic=("p", ctx.token(ks, "read,write")), port=port)
        assert_status(r, 200)
        assert r.json()["duplicates"] == 2
    finally:
        stop(proc)
