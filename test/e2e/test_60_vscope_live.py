"""vScope live data and metrics tokens over HTTP, on the demo data of make run."""
import concurrent.futures
import time

from vstest import assert_status
from test_40_opentsdb_query import demo, SERVICE, DC, HOST

BASE = f"/dedicatedCloud/{SERVICE}"


def admin(ctx):
    demo(ctx)
    return ctx.token(SERVICE, "admin")


def latest(ctx, metric, **tags):
    cond = " AND ".join(f"tags->>'{k}' = '{v}'" for k, v in tags.items())
    return float(ctx.as_tenant(SERVICE, f"""
        SELECT value FROM vscope.datapoints WHERE metric = '{metric}' AND {cond}
         ORDER BY ts DESC LIMIT 1""")[0][0])


def test_lists(ctx):
    tok = admin(ctx)
    assert ctx.get(f"{BASE}/datacenter/869/host", token=tok).json() == [1001, 1002, 1003]
    assert ctx.get(f"{BASE}/datacenter/870/filer", token=tok).json() == [201, 202]
    assert ctx.get(f"{BASE}/datacenter/869/vm", token=tok).json() == [5000, 5001, 5002, 5003, 5004, 5005]


def test_host_live_values_come_from_the_latest_points(ctx):
    tok = admin(ctx)
    r = ctx.get(f"{BASE}/datacenter/869/host/1001", token=tok)
    assert_status(r, 200)
    h = r.json()
    assert h["hostId"] == 1001 and h["name"] == HOST and h["cpuMax"] == 48000 and h["ram"] == {"unit": "GB", "value": 256}
    cpu = latest(ctx, "vscope.host.cpu.usage.perc", host=HOST, datacenter=DC)
    mem = latest(ctx, "vscope.host.mem.usage.perc", host=HOST, datacenter=DC)
    assert h["cpuUsed"] == round(cpu / 100 * 48000), (h["cpuUsed"], cpu)
    assert abs(h["memoryUsed"] - mem / 100 * 256 * 1024) < 0.01, (h["memoryUsed"], mem)
    # VMs 5000 and 5003 run on this host: cpu_num 2 and 2
    assert h["vmTotal"] == 2 and h["vmVcpuTotal"] == 4, h


def test_vm_and_filer_objects(ctx):
    tok = admin(ctx)
    v = ctx.get(f"{BASE}/datacenter/869/vm/5001", token=tok).json()
    assert v["moRef"] == "vm-01255" and v["powerState"] == "poweredOn" and v["memoryMax"] == 8192
    mem = latest(ctx, "vscope.vm.mem.usage.perc", vm="vm-01255", datacenter=DC)
    assert v["memoryUsed"] == round(mem / 100 * 8192), (v["memoryUsed"], mem)
    assert v["netRx"] == latest(ctx, "vscope.vm.net.rx", vm="vm-01255", datacenter=DC)
    assert v["readLatency"] == latest(ctx, "vscope.vm.disk.latency.read", vm="vm-01255", datacenter=DC)
    assert v["cpuReady"] == latest(ctx, "vscope.vm.cpu.ready", vm="vm-01255", datacenter=DC)
    f = ctx.get(f"{BASE}/datacenter/869/filer/101", token=tok).json()
    used_kb = latest(ctx, "vscope.filer.datastore.diskspace.used", datastore="pcc-000443", datacenter=DC)
    assert f["name"] == "pcc-000443" and f["size"] == {"unit": "GB", "value": 2048}
    assert abs(f["spaceUsed"] - used_kb / 1048576) < 0.01 and abs(f["spaceFree"] - (2048 - used_kb / 1048576)) < 0.01, f


def test_unknown_ids_and_urls_are_404_in_ovh_format(ctx):
    tok = admin(ctx)
    r = ctx.get(f"{BASE}/datacenter/869/host/9", token=tok)
    assert_status(r, 404)
    assert r.json() == {"message": "The requested object (hostId = 9) does not exist"}
    r = ctx.get(f"{BASE}/datacenter/1/vm", token=tok)
    assert_status(r, 404)
    assert r.json() == {"message": "The requested object (datacenterId = 1) does not exist"}
    r = ctx.get(f"{BASE}/datacenter/869/switch", token=tok)
    assert_status(r, 404)
    assert "message" in r.json()
    r = ctx.get(f"{BASE}/datacenter/abc/host", token=tok)
    assert_status(r, 400)


def test_live_data_needs_an_admin_of_the_service(ctx):
    demo(ctx)
    assert_status(ctx.get(f"{BASE}/datacenter/869/host"), 401)
    r = ctx.get(f"{BASE}/datacenter/869/host", token=ctx.token(SERVICE, "read"))
    assert_status(r, 403)
    assert "message" in r.json()
    other = ctx.token("e2e-other-service", "admin")
    # an admin of another service is known but not allowed here
    assert_status(ctx.get(f"{BASE}/datacenter/869/host", token=other), 403)
    # a superadmin acts for the service the path names
    assert ctx.get(f"{BASE}/datacenter/869/host", token=ctx.superadmin()).json() == [1001, 1002, 1003]


def test_without_a_valid_token_every_path_id_and_method_answers_the_same(ctx):
    """A caller without credentials, or with a bad token, learns nothing: an
    object that exists, one that does not, a malformed id, an unknown path
    and a wrong method all get the same 401 and the same body."""
    demo(ctx)
    probes = [("GET", f"{BASE}/datacenter/869/vm/5001"),      # exists
              ("GET", f"{BASE}/datacenter/869/vm/999999"),    # does not
              ("GET", f"{BASE}/datacenter/abc/vm/x"),         # malformed ids
              ("GET", "/dedicatedCloud/no-such-service/datacenter/869/host"),
              ("GET", f"{BASE}/nothing/here"),                # no such endpoint
              ("DELETE", f"{BASE}/datacenter/869/vm/5001"),   # wrong methods
              ("PUT", f"{BASE}/user/1/metricsToken"),
              ("GET", f"{BASE}/user/x/metricsToken"),
              ("GET", f"{BASE}/inventory")]
    for creds in ({}, {"token": "not-a-token"}, {"basic": ("read", "not-a-token")}):
        answers = set()
        for method, path in probes:
            r = ctx.request(method, path, **creds)
            answers.add((r.status, r.body))
        assert len(answers) == 1, (creds, answers)
        status, _ = answers.pop()
        assert status == 401, (creds, status)
    # with a valid admin token the same probes are told apart
    tok = admin(ctx)
    assert_status(ctx.request("DELETE", f"{BASE}/datacenter/869/vm/5001", token=tok), 405)
    assert_status(ctx.get(f"{BASE}/datacenter/abc/vm/x", token=tok), 400)
    assert_status(ctx.get(f"{BASE}/datacenter/869/vm/999999", token=tok), 404)


def test_metrics_token_reads_its_service_at_once(ctx):
    tok = admin(ctx)
    r = ctx.post(f"{BASE}/user/42/metricsToken", token=tok)
    assert_status(r, 200)
    body = r.json()
    assert set(body) == {"warpEndpoint", "token", "opentsdbEndpoint"}, body
    assert body["opentsdbEndpoint"].startswith("http://127.0.0.1:")
    mt = body["token"]
    q = {"start": int(time.time()) - 3600, "queries": [{"metric": "vscope.host.mem.usage.perc", "aggregator": "sum",
         "downsample": "20m-max", "tags": {"datacenter": DC, "host": HOST}}]}
    r = ctx.post("/api/query", q, basic=("read", mt))
    assert_status(r, 200)
    assert r.json()[0]["tags"]["host"] == HOST
    # it is read-only
    assert_status(ctx.post("/api/put", {"metric": "m", "timestamp": 1356998400, "value": 1, "tags": {"a": "b"}},
                           basic=("read", mt)), 403)
    # and sees nothing of another service
    ctx.post("/api/put", {"metric": "other.only", "timestamp": 1356998400, "value": 1, "tags": {"a": "b"}},
             token=ctx.token("e2e-other-service"))
    r = ctx.post("/api/query", {"start": 1356998000, "queries": [{"metric": "other.only", "aggregator": "sum"}]},
                 basic=("read", mt))
    assert_status(r, 400)
    assert "No such name for 'metrics'" in r.json()["error"]["message"]
    # asking again issues a new token and revokes the old one
    mt2 = ctx.post(f"{BASE}/user/42/metricsToken", token=tok).json()["token"]
    assert mt2 != mt
    assert_status(ctx.post("/api/query", q, basic=("read", mt)), 401)
    assert_status(ctx.post("/api/query", q, basic=("read", mt2)), 200)
    assert_status(ctx.get(f"{BASE}/user/42/metricsToken", token=tok), 405)


def test_concurrent_metrics_tokens_leave_one_live(ctx):
    tok = admin(ctx)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        rs = list(pool.map(lambda _: ctx.post(f"{BASE}/user/77/metricsToken", token=tok), range(12)))
    for r in rs:
        assert_status(r, 200)
    assert ctx.scalar("SELECT count(*) FROM vscope.tokens WHERE metrics_user_id = 77 AND revoked_at IS NULL") == "1"
    live = [r.json()["token"] for r in rs if ctx.post("/api/query/last", {"queries": []},
                                                       basic=("read", r.json()["token"])).status != 401]
    assert len(live) == 1, live


def test_inventory_can_be_registered_over_http(ctx):
    tok = ctx.token("e2e-inventory", "admin")
    r = ctx.post("/dedicatedCloud/e2e-inventory/inventory", {
        "datacenters": [{"datacenter_id": 1, "name": "dc1"}],
        "hosts": [{"datacenter_id": 1, "host_id": 7, "name": "10.0.0.7", "cpu_max": 1000, "ram_gb": 8}]}, token=tok)
    assert_status(r, 200)
    assert r.json() == {"datacenters": 1, "filers": 0, "hosts": 1, "vms": 0}
    h = ctx.get("/dedicatedCloud/e2e-inventory/datacenter/1/host/7", token=tok).json()
    assert h["name"] == "10.0.0.7" and h["cpuUsed"] is None, h     # no metrics yet
    r = ctx.post("/dedicatedCloud/e2e-inventory/inventory", {"hosts": [{"datacenter_id": 2, "host_id": 1, "name": "x"}]}, token=tok)
    assert_status(r, 400)
    assert r.json()["message"].startswith("Invalid inventory")
    r = ctx.post("/dedicatedCloud/e2e-inventory/inventory", {"datacenters": [{"datacenter_id": -3, "name": "neg"}]}, token=tok)
    assert_status(r, 400)
    # ids beyond a bigint are refused, not wrapped
    assert_status(ctx.get("/dedicatedCloud/e2e-inventory/datacenter/99999999999999999999/host", token=tok), 400)
