"""Upgrades: the oldest released version of the extension, filled through the
APIs and then brought to the current version with ALTER EXTENSION vscope
UPDATE, answers every API as a fresh install of the current version does,
and has the same objects (test/upgrade/catalog.sql, compared line by line).

Two databases of the test cluster, each with its own vscoped (a second and a
third daemon, on ports derived from VSCOPE_URL's): vscope_up_old starts at the
oldest release, vscope_up_new at the current default version.  Both get the
same tenants and the same data, in the same order, so that even generated ids
(series ids, Ceilometer message ids) agree; only secrets (tokens, API keys)
are per database.  The tests run in order and share the module's state; the
last one stops the daemons and drops the databases, whatever happened."""
import atexit
import datetime
import difflib
import json
import os
import re
import socket
import subprocess
import urllib.parse

from vstest import assert_status

PG_CONFIG = os.path.join(os.environ.get("VSCOPE_PGBIN", "/usr/lib/postgresql/15/bin"), "pg_config")
OLD_DB, NEW_DB = "vscope_up_old", "vscope_up_new"
# the public URL both daemons give out (metrics tokens, Ceilometer links), so
# that their answers do not differ by their ports
PUBLIC_URL = "http://vscope.upgrade.test:4242"

SVC = "up-svc"          # a vScope service: OpenTSDB data, inventory, live values
PROJ = "up-proj"        # a Ceilometer project
COOPR = ("up-c1", "up-c2")
T0 = 1704067200         # 2024-01-01T00:00:00Z: fixed times, so no answer depends on today
DAY = 86400
CATALOG_SQL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "upgrade", "catalog.sql")

_dbs = {}               # "old"/"new" -> Db
_state = {}


class Db:
    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.proc = None
        self.tok = {}       # secrets of this database: tokens and Coopr API keys
        self.saved = {}     # what an answer gave that a later request uses (ids, tokens)


def version_key(v):
    return tuple(int(x) for x in v.split("."))


def oldest_release():
    """The oldest install script in the installed extension directory:
    vscope--X.Y.Z.sql (upgrade scripts, vscope--A--B.sql, are not installs)."""
    sharedir = subprocess.run([PG_CONFIG, "--sharedir"], capture_output=True, text=True,
                              check=True).stdout.strip()
    versions = [m.group(1) for f in os.listdir(os.path.join(sharedir, "extension"))
                if (m := re.fullmatch(r"vscope--([0-9]+(?:\.[0-9]+)*)\.sql", f))]
    assert versions, f"no vscope install script in {sharedir}/extension"
    return min(versions, key=version_key)


def free_port(preferred):
    """preferred, or the next port up that nothing listens on (other agents'
    and other tests' daemons may sit next to ours)."""
    for port in range(preferred, preferred + 40):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port from {preferred}")


def db_uri(ctx, dbname):
    """The main daemon's db-uri, for another database of the same cluster."""
    with open(os.environ["VSCOPE_DAEMON_CONF"]) as f:
        conf = f.read()
    m = re.search(r'^\s*db-uri\s*=\s*"?(.*?)"?\s*$', conf, re.M)
    uri = os.environ.get("VSCOPE_DB_URI") or (m.group(1) if m else "")
    if uri.startswith("@"):
        with open(uri[1:]) as f:
            uri = f.read().strip()
    if "://" in uri:
        u = urllib.parse.urlsplit(uri)
        return urllib.parse.urlunsplit(u._replace(path="/" + dbname))
    if re.search(r"\bdbname=", uri):
        return re.sub(r"\bdbname=\S+", f"dbname={dbname}", uri)
    return f"{uri} dbname={dbname}"


def drop_databases(ctx):
    for name in (OLD_DB, NEW_DB):
        ctx.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', db="postgres")


def stop_daemons():
    outs = []
    for d in _dbs.values():
        if d.proc is not None:
            d.proc.terminate()
            try:
                out, _ = d.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                d.proc.kill()
                out, _ = d.proc.communicate()
            outs.append((d.proc.returncode, out or ""))
            d.proc = None
    return outs


# the daemons are ours: never left running, even when only some tests of this file run
atexit.register(stop_daemons)


def req(ctx, d, method, path, body=None, **kw):
    return ctx.request(method, path, body=body, port=d.port, **kw)


# ---- set-up ----

def make_secrets(ctx, d):
    """Tenants, tokens and the Coopr superadmin's key: made with SQL, as an
    operator does; the tokens are random, so they are this database's own."""
    q = lambda sql: ctx.scalar(sql, db=d.name)   # noqa: E731
    for t in (SVC, PROJ, "superadmin") + COOPR:
        q(f"SELECT vscope.create_tenant('{t}')")
    d.tok["svc_rw"] = q(f"SELECT vscope.create_token('{SVC}', '{{read,write}}', 'upgrade')")
    d.tok["svc_read"] = q(f"SELECT vscope.create_token('{SVC}', '{{read}}', 'upgrade')")
    d.tok["svc_admin"] = q(f"SELECT vscope.create_token('{SVC}', '{{read,write,admin}}', 'upgrade')")
    d.tok["super"] = q("SELECT vscope.create_token('superadmin', '{superadmin}', 'upgrade')")
    d.tok["ceilo_admin"] = q(f"SELECT vscope.create_token('{PROJ}', '{{read,write,admin}}', 'upgrade')")
    d.tok["ceilo_user"] = q(f"SELECT vscope.create_token('{PROJ}', '{{read,write}}', 'upgrade')")
    d.tok["coopr_su"] = q("SELECT vscope.coopr_create_apikey('superadmin', 'admin')->>'apikey'")


def tsdb_points():
    """Three days of OpenTSDB points: doubles, integers (a counter, for rates),
    millisecond timestamps, several series and tags."""
    pts = []
    for k, (host, dc) in enumerate([("web1", "lga"), ("web2", "lga"), ("web3", "sjc"), ("db1", "sjc")]):
        for i in range(0, 3 * DAY // 600):
            ts = T0 + 600 * i
            v = round(50 + 40 * ((i * (7 + k)) % 97) / 97 - 20 * ((i // 6) % 2), 3)
            pts.append({"metric": "up.cpu", "timestamp": ts, "value": v, "tags": {"host": host, "dc": dc}})
            if k < 3:
                pts.append({"metric": "up.req", "timestamp": ts, "value": i * (37 + 11 * k) + (i * i) % 13,
                            "tags": {"host": host, "dc": dc, "app": "api" if k < 2 else "web"}})
    for i in range(200):
        pts.append({"metric": "up.ms", "timestamp": (T0 + DAY) * 1000 + 1500 * i, "value": (i * 17) % 41,
                    "tags": {"host": "web1"}})
    return pts


def dc_label(dc):
    return f"{SVC}_datacenter{dc}"


INVENTORY = {
    "datacenters": [{"datacenter_id": 11, "name": "datacenter11"}, {"datacenter_id": 12, "name": "datacenter12"}],
    "filers": [{"datacenter_id": 11, "filer_id": 301, "name": "ds-301", "profile": "2t-nfs", "full_profile": "2 TB NFS",
                "size_gb": 2048, "state": "delivered", "billing_type": "monthly", "vm_total": 2},
               {"datacenter_id": 12, "filer_id": 302, "name": "ds-302", "size_gb": 1024}],
    "hosts": [{"datacenter_id": 11, "host_id": 101 + h, "name": f"10.0.11.{h + 1}", "profile": "L",
               "profile_code": "pcc-l", "rack": "R1", "state": "delivered", "connection_state": "connected",
               "billing_type": "monthly", "cpu_max": 48000, "cpu_max_core": 2000, "cpu_num": 24, "ram_gb": 256,
               "uptime": 86400 * 40, "in_maintenance": h == 1, "cluster_name": "Cluster1"} for h in range(2)]
             + [{"datacenter_id": 12, "host_id": 201, "name": "10.0.12.1", "cpu_max": 24000, "ram_gb": 128}],
    "vms": [{"datacenter_id": 11, "vm_id": 1101 + v, "mo_ref": f"vm-{1101 + v}", "name": f"web-{v}",
             "power_state": "poweredOn" if v < 2 else "poweredOff", "cpu_num": 2 + v, "cpu_max": 4000.0 + 1000 * v,
             "memory_max": 4096 * (1 + v), "host_name": "10.0.11.1" if v != 1 else "10.0.11.2",
             "cluster_name": "Cluster1", "folder_name": "web", "snapshot_num": v, "vmware_tools": "toolsOk",
             "vmware_tools_version": "11333"} for v in range(3)],
}


def live_points():
    """The vscope.* metrics behind the live values, a few points each (the
    latest is what the live objects show)."""
    pts = []

    def add(metric, tags, base, is_int=False):
        for j in range(4):
            v = base + 3 * j + len(metric) % 5
            pts.append({"metric": metric, "timestamp": T0 + 2 * DAY + 300 * j,
                        "value": int(v) if is_int else round(v * 1.25, 2), "tags": tags})

    for h in INVENTORY["hosts"]:
        tags = {"datacenter": dc_label(h["datacenter_id"]), "host": h["name"], "servicename": SVC}
        add("vscope.host.cpu.usage.perc", tags, 20 + h["host_id"] % 7)
        add("vscope.host.mem.usage.perc", tags, 40 + h["host_id"] % 5)
        for nic in range(2):
            ntags = dict(tags, nicname=f"vmnic{nic}")
            add("vscope.host.net.rx", ntags, 400 + nic)
            add("vscope.host.net.tx", ntags, 300 + nic)
    for v in INVENTORY["vms"]:
        tags = {"datacenter": dc_label(v["datacenter_id"]), "vm": v["mo_ref"]}
        for m, base, is_int in (("cpu.usage.perc", 18, False), ("mem.usage.perc", 41, False), ("cpu.ready", 45, False),
                                ("net.rx", 95, False), ("net.tx", 70, False), ("net.packetsrx", 640, True),
                                ("net.packetstx", 520, True), ("disk.io.read", 38, False), ("disk.io.write", 52, False),
                                ("disk.bandwidth.read", 830, False), ("disk.bandwidth.write", 1150, False),
                                ("disk.latency.read", 1.6, False), ("disk.latency.write", 2.3, False)):
            add("vscope.vm." + m, tags, base + v["vm_id"] % 3, is_int)
    for f in INVENTORY["filers"]:
        add("vscope.filer.datastore.diskspace.used",
            {"datacenter": dc_label(f["datacenter_id"]), "datastore": f["name"]}, 512000000, True)
    return pts


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def ceilo_samples():
    """Two days of hourly samples of two meters for three resources."""
    out = {"cpu_util": [], "disk.read.bytes": []}
    for r, (res, usr, flavor) in enumerate([("vm-a", "u1", "m1.small"), ("vm-b", "u1", "m1.large"),
                                            ("vm-c", "u2", "m1.small")]):
        md = {"flavor": flavor, "instance_type": flavor, "image.name": "debian", "image.size": str(2 + r), "az": "nova"}
        for i in range(48):
            ts = iso(T0 + 3600 * i + 60 * r)
            vol = round(10 + ((i * (r + 3)) % 23) * 1.5, 2) if i % 5 else 10 + r   # ints too
            out["cpu_util"].append({"counter_name": "cpu_util", "counter_type": "gauge", "counter_unit": "%",
                                    "counter_volume": vol, "resource_id": res, "project_id": PROJ,
                                    "user_id": usr, "timestamp": ts, "resource_metadata": md})
            if i % 4 == 0:
                out["disk.read.bytes"].append({
                    "counter_name": "disk.read.bytes", "counter_type": "cumulative", "counter_unit": "B",
                    "counter_volume": 1000 * i * (r + 1), "resource_id": res, "project_id": PROJ,
                    "user_id": usr, "timestamp": ts, "resource_metadata": md, "source": "openstack"})
    return out


EVENTS = [
    {"event_type": "compute.instance.create.end", "generated": "2024-01-01T10:00:00", "message_id": "up-ev-1",
     "traits": [{"name": "project_id", "type": "string", "value": PROJ}, {"name": "user_id", "type": "string", "value": "u1"},
                {"name": "memory_mb", "type": "integer", "value": 512},
                {"name": "launched_at", "type": "datetime", "value": "2024-01-01T09:59:00"}],
     "raw": {"payload": {"x": 1}}},
    {"event_type": "compute.instance.delete.end", "generated": "2024-01-02T11:00:00", "message_id": "up-ev-2",
     "traits": [{"name": "project_id", "type": "string", "value": PROJ}, {"name": "user_id", "type": "string", "value": "u2"},
                {"name": "memory_mb", "type": "integer", "value": 2048}]},
    {"event_type": "image.upload", "generated": "2024-01-02T12:00:00", "message_id": "up-ev-3",
     "traits": [{"name": "size", "type": "float", "value": 1.5}]},
]


def coopr_h(d, tenant="superadmin", user="admin", key=None):
    return {"Coopr-TenantID": tenant, "Coopr-UserID": user, "Coopr-ApiKey": key or d.tok["coopr_su"]}


def fill(ctx, d):
    """The same data, through the HTTP APIs, into d."""
    pts = tsdb_points()
    for i in range(0, len(pts), 1000):
        assert_status(req(ctx, d, "POST", "/api/put", pts[i:i + 1000], token=d.tok["svc_rw"]), 204)
    # vScope: the inventory, then the metrics behind the live values
    r = req(ctx, d, "POST", f"/dedicatedCloud/{SVC}/inventory", INVENTORY, token=d.tok["svc_admin"])
    assert_status(r, 200)
    assert r.json() == {"datacenters": 2, "filers": 2, "hosts": 3, "vms": 3}, r
    r = req(ctx, d, "POST", "/api/put?summary", live_points(), token=d.tok["svc_rw"])
    assert_status(r, 200)
    assert r.json()["failed"] == 0, r
    # a metrics token issued before the upgrade: still good after it
    r = req(ctx, d, "POST", f"/dedicatedCloud/{SVC}/user/7/metricsToken", token=d.tok["svc_admin"])
    assert_status(r, 200)
    d.tok["metrics_7"] = r.json()["token"]
    # Ceilometer samples (the ids come back in the answer) and events
    d.saved["sample_ids"] = []
    for meter, samples in ceilo_samples().items():
        for i in range(0, len(samples), 40):
            r = req(ctx, d, "POST", f"/v2/meters/{meter}?direct=True", samples[i:i + 40],
                    token=d.tok["ceilo_admin"], headers={"X-User-Id": "u1"})
            assert_status(r, 201)
            d.saved["sample_ids"] += [s["message_id"] for s in r.json()]
    # the project and user filled in from the caller
    r = req(ctx, d, "POST", "/v2/meters/backup.size", [
        {"counter_name": "backup.size", "counter_type": "gauge", "counter_unit": "GB", "counter_volume": 12.5,
         "resource_id": "vm-a", "timestamp": iso(T0 + 7200), "resource_metadata": {"tier": "gold"}}],
        token=d.tok["ceilo_admin"], headers={"X-User-Id": "u9"})
    assert_status(r, 201)
    d.saved["sample_ids"].append(r.json()[0]["message_id"])
    r = req(ctx, d, "POST", "/v2/events", EVENTS, token=d.tok["ceilo_admin"])
    assert_status(r, 201)
    # Coopr: a tenant admin's key, node events over two days, queue operations
    r = req(ctx, d, "POST", "/v2/apikeys", {"tenant": COOPR[0], "user": "admin"}, headers=coopr_h(d))
    assert_status(r, 201)
    d.tok["coopr_c1"] = r.json()["apikey"]
    ev = []
    for n in range(5):
        t = COOPR[n % 2]
        ev.append({"tenant": t, "user": f"user{n % 3}", "cluster": f"c{n // 2}", "node": f"n{n}", "action": "CREATE",
                   "status": "COMPLETE" if n != 3 else "FAILED", "time": T0 + 1800 * n})
        if n % 2 == 0:
            ev.append({"tenant": t, "user": f"user{n % 3}", "cluster": f"c{n // 2}", "node": f"n{n}",
                       "action": "DELETE", "status": "COMPLETE", "time": T0 + DAY + 3600 * n})
    r = req(ctx, d, "POST", "/v2/nodes/events", {"tenants": list(COOPR), "events": ev}, headers=coopr_h(d))
    assert_status(r, 200)
    ops = [{"tenant": t, "op": "add", "task": f"{t}-{i}"} for t in COOPR for i in range(3)]
    ops += [{"tenant": COOPR[0], "op": "take", "task": f"{COOPR[0]}-0"},
            {"tenant": COOPR[1], "op": "take", "task": f"{COOPR[1]}-1"},
            {"tenant": COOPR[1], "op": "finish", "task": f"{COOPR[1]}-1"}]
    assert_status(req(ctx, d, "POST", "/v2/queues/events", {"ops": ops}, headers=coopr_h(d)), 200)


def fill_after(ctx, d):
    """Writes after the upgrade (in both): new series, a new day's partition,
    an existing series' point overwritten, a sample at an instant already taken."""
    pts = [{"metric": "up.cpu", "timestamp": T0 + 3 * DAY + 60 * i, "value": 1.5 * i, "tags": {"host": "web1", "dc": "lga"}}
           for i in range(10)]
    pts += [{"metric": "up.after", "timestamp": T0 + 5 * DAY, "value": 42, "tags": {"host": "new1"}},
            {"metric": "up.cpu", "timestamp": T0, "value": 99.5, "tags": {"host": "web2", "dc": "lga"}}]
    assert_status(req(ctx, d, "POST", "/api/put", pts, token=d.tok["svc_rw"]), 204)
    r = req(ctx, d, "POST", "/v2/meters/cpu_util?direct=True", [
        {"counter_name": "cpu_util", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 77.0,
         "resource_id": "vm-a", "project_id": PROJ, "user_id": "u1", "timestamp": iso(T0),
         "resource_metadata": {"flavor": "m1.small", "instance_type": "m1.small", "image.name": "debian",
                               "image.size": "2", "az": "nova"}},
        {"counter_name": "cpu_util", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 5,
         "resource_id": "vm-d", "project_id": PROJ, "user_id": "u3", "timestamp": iso(T0 + 5 * DAY)}],
        token=d.tok["ceilo_admin"])
    assert_status(r, 201)
    d.saved["sample_ids"] += [s["message_id"] for s in r.json()]
    assert_status(req(ctx, d, "POST", "/v2/nodes/events", {"tenants": [COOPR[0]], "events": [
        {"tenant": COOPR[0], "user": "user9", "cluster": "c9", "node": "n9", "action": "CREATE", "status": "COMPLETE",
         "time": T0 + 2 * DAY}]}, headers=coopr_h(d)), 200)


# ---- the requests both must answer alike ----

def cq(*clauses, **extra):
    """A Ceilometer query string: clauses are (field, op, value[, type])."""
    parts = []
    for c in clauses:
        parts += [("q.field", c[0]), ("q.op", c[1]), ("q.value", c[2]), ("q.type", c[3] if len(c) > 3 else "")]
    for k, v in extra.items():
        for item in (v if isinstance(v, list) else [v]):
            parts.append((k.replace("__", "."), item))
    return "?" + urllib.parse.urlencode(parts)


def normalized(v):
    """Ceilometer's recorded_at is when a sample was stored, which differs
    between the two databases by the seconds between their fills: only its
    presence and form are compared.  Everything else must be equal as is."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "recorded_at":
                assert isinstance(x, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", x), v
                x = "<recorded_at>"
            out[k] = normalized(x)
        return out
    if isinstance(v, list):
        return [normalized(x) for x in v]
    return v


def first_difference(a, b, path="$"):
    """Where two JSON values first differ, and how."""
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a)[:300]} vs {json.dumps(b)[:300]}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} vs {list(b)}"
        for k in a:
            if a[k] != b[k]:
                return first_difference(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]")
    return f"{path}: {json.dumps(a)[:300]} vs {json.dumps(b)[:300]}"


def no_token(body):
    """A freshly issued metrics token is random: only its presence is compared."""
    assert isinstance(body.get("token"), str) and len(body["token"]) >= 20, body
    return dict(body, token="<token>")


def no_time(body):
    """/api/search/lookup reports how many milliseconds it took."""
    assert isinstance(body.get("time"), int), body
    return dict(body, time="<ms>")


def save_metrics_token(d, r):
    d.tok["metrics_42"] = r.json()["token"]


def requests():
    """(name, request(d) -> (method, path, body, kwargs), normalize or None, after(d, r) or None).
    The answers may depend on the database only through its secrets."""
    end = T0 + 6 * DAY
    tsdb = lambda body: lambda d: ("POST", "/api/query", body, {"token": d.tok["svc_read"]})  # noqa: E731
    get = lambda path, tok="svc_read", **kw: lambda d: ("GET", path, None, dict({"token": d.tok[tok]}, **kw))  # noqa: E731
    ceilo = lambda path, tok="ceilo_admin", usr="u1": lambda d: ("GET", path, None, {  # noqa: E731
        "token": d.tok[tok], "headers": {"X-User-Id": usr}})
    live = lambda path: lambda d: ("GET", f"/dedicatedCloud/{SVC}/{path}", None, {"token": d.tok["svc_admin"]})  # noqa: E731
    coopr = lambda path, who=None: lambda d: ("GET", path, None, {  # noqa: E731
        "headers": coopr_h(d) if who is None else coopr_h(d, COOPR[0], "admin", d.tok["coopr_c1"])})
    lookup = {"metric": "up.cpu", "tags": [{"key": "dc", "value": "lga"}]}
    return [
        # ---- OpenTSDB ----
        ("tsdb sum 1h-avg", tsdb({"start": T0, "end": end, "queries": [
            {"metric": "up.cpu", "aggregator": "sum", "downsample": "1h-avg"}]}), None, None),
        ("tsdb groupby filters", tsdb({"start": T0 + 3600, "end": T0 + 2 * DAY, "queries": [
            {"metric": "up.cpu", "aggregator": "max", "downsample": "6h-p95",
             "filters": [{"type": "wildcard", "tagk": "host", "filter": "web*", "groupBy": True},
                         {"type": "literal_or", "tagk": "dc", "filter": "lga|sjc", "groupBy": False}]},
            {"metric": "up.cpu", "aggregator": "avg", "downsample": "1d-min-zero",
             "tags": {"dc": "*"}}]}), None, None),
        ("tsdb rate counter", tsdb({"start": T0, "end": T0 + DAY, "queries": [
            {"metric": "up.req", "aggregator": "sum", "rate": True, "downsample": "2h-sum",
             "rateOptions": {"counter": True, "counterMax": 100000, "resetValue": 0},
             "filters": [{"type": "regexp", "tagk": "app", "filter": "^(api|web)$", "groupBy": True}]},
            {"metric": "up.req", "aggregator": "zimsum", "downsample": "30m-last-nan", "tags": {"host": "web1"}}]}),
         None, None),
        ("tsdb ms resolution", tsdb({"start": (T0 + DAY) * 1000, "end": (T0 + DAY) * 1000 + 120000,
                                     "msResolution": True, "queries": [{"metric": "up.ms", "aggregator": "sum"}]}),
         None, None),
        ("tsdb calendar", tsdb({"start": "2024/01/01-00:00:00", "end": "2024/01/04-00:00:00", "timezone": "UTC",
                                "useCalendar": True, "queries": [
                                    {"metric": "up.cpu", "aggregator": "count", "downsample": "1d-count"}]}),
         None, None),
        ("tsdb after upgrade writes", tsdb({"start": T0 + 3 * DAY - 600, "end": end, "queries": [
            {"metric": "up.cpu", "aggregator": "none", "tags": {"host": "web1"}},
            {"metric": "up.after", "aggregator": "sum"}]}), None, None),
        ("tsdb overwritten point", tsdb({"start": T0, "end": T0 + 600, "queries": [
            {"metric": "up.cpu", "aggregator": "none", "tags": {"host": "web2"}}]}), None, None),
        ("tsdb get", get("/api/query?" + urllib.parse.urlencode([
            ("start", T0), ("end", T0 + DAY), ("m", "sum:1h-avg:up.cpu{host=*}{dc=lga}"),
            ("m", "avg:rate{counter,,1000}:up.req{app=api}")])), None, None),
        ("tsdb get nothing", get("/api/query?" + urllib.parse.urlencode([
            ("start", T0), ("m", "sum:up.cpu{host=regexp(^nomatch$)}")])), None, None),
        ("tsdb unknown metric", tsdb({"start": T0, "queries": [{"metric": "nope", "aggregator": "sum"}]}), None, None),
        ("tsdb last", lambda d: ("POST", "/api/query/last", {"queries": [
            {"metric": "up.cpu", "tags": {"dc": "lga"}}, {"metric": "up.req"}], "resolveNames": True},
            {"token": d.tok["svc_read"]}), None, None),
        ("tsdb last get", get("/api/query/last?timeseries=up.cpu%7Bhost%3Dweb3%7D"), None, None),
        ("suggest metrics", get("/api/suggest?type=metrics&q=up"), None, None),
        ("suggest tagk", get("/api/suggest?type=tagk&q="), None, None),
        ("suggest tagv", get("/api/suggest?type=tagv&q=web&max=2"), None, None),
        ("lookup", lambda d: ("POST", "/api/search/lookup", lookup, {"token": d.tok["svc_read"]}), no_time, None),
        ("lookup get", get("/api/search/lookup?m=up.req%7Bapp%3D*%7D"), no_time, None),
        ("aggregators", lambda d: ("GET", "/api/aggregators", None, {}), None, None),
        ("version", lambda d: ("GET", "/api/version", None, {}), None, None),
        # ---- vScope live data ----
        ("live hosts 11", live("datacenter/11/host"), None, None),
        ("live hosts 12", live("datacenter/12/host"), None, None),
        ("live vms", live("datacenter/11/vm"), None, None),
        ("live filers", live("datacenter/11/filer"), None, None),
        ("live host", live("datacenter/11/host/101"), None, None),
        ("live host 2", live("datacenter/11/host/102"), None, None),
        ("live host bare", live("datacenter/12/host/201"), None, None),
        ("live vm", live("datacenter/11/vm/1101"), None, None),
        ("live vm off", live("datacenter/11/vm/1103"), None, None),
        ("live filer", live("datacenter/11/filer/301"), None, None),
        ("live no host", live("datacenter/11/host/9"), None, None),
        ("live no dc", live("datacenter/99/vm"), None, None),
        ("live as superadmin", lambda d: ("GET", f"/dedicatedCloud/{SVC}/datacenter/11/host", None,
                                          {"token": d.tok["super"]}), None, None),
        ("metrics token (pre-upgrade) reads", lambda d: ("POST", "/api/query", {
            "start": T0 + 2 * DAY, "end": end, "queries": [
                {"metric": "vscope.host.cpu.usage.perc", "aggregator": "sum", "downsample": "10m-max",
                 "tags": {"host": "10.0.11.1"}}]}, {"basic": ("read", d.tok["metrics_7"])}), None, None),
        ("metrics token issued", lambda d: ("POST", f"/dedicatedCloud/{SVC}/user/42/metricsToken", None,
                                            {"token": d.tok["svc_admin"]}), no_token, save_metrics_token),
        ("metrics token (new) reads", lambda d: ("POST", "/api/query/last", {
            "queries": [{"metric": "vscope.filer.datastore.diskspace.used"}]},
            {"basic": ("read", d.tok["metrics_42"])}), None, None),
        ("metrics token is read-only", lambda d: ("POST", "/api/put", {
            "metric": "m", "timestamp": T0, "value": 1, "tags": {"a": "b"}},
            {"basic": ("read", d.tok["metrics_42"])}), None, None),
        # ---- Coopr ----
        ("coopr queues", coopr("/v2/metrics/queues"), None, None),
        ("coopr queues tenant admin", coopr("/v2/metrics/queues", who="c1"), None, None),
        ("coopr usage", coopr(f"/v2/metrics/nodes/usage?start={T0}&end={T0 + 3 * DAY}"), None, None),
        ("coopr usage tenant", coopr(f"/v2/metrics/nodes/usage?tenant={COOPR[1]}&start={T0}&end={T0 + 2 * DAY}"),
         None, None),
        ("coopr usage by hour", coopr(f"/v2/metrics/nodes/usage?start={T0}&end={T0 + 12 * 3600}"
                                      "&groupby=hour&timeunit=minutes"), None, None),
        ("coopr usage by day user", coopr(f"/v2/metrics/nodes/usage?start={T0}&end={T0 + 4 * DAY}"
                                          "&groupby=day&user=user0", who="c1"), None, None),
        # ---- Ceilometer ----
        ("ceilo meters", ceilo("/v2/meters"), None, None),
        ("ceilo meters of a resource", ceilo("/v2/meters" + cq(("resource", "eq", "vm-b"))), None, None),
        ("ceilo samples of a meter", ceilo("/v2/meters/cpu_util?limit=7"), None, None),
        ("ceilo samples in a window", ceilo("/v2/meters/cpu_util" + cq(
            ("timestamp", "ge", iso(T0 + 3600)), ("timestamp", "lt", iso(T0 + 4 * 3600)),
            ("metadata.flavor", "eq", "m1.small"))), None, None),
        ("ceilo statistics", ceilo("/v2/meters/cpu_util/statistics"), None, None),
        ("ceilo statistics period", ceilo("/v2/meters/cpu_util/statistics" + cq(
            ("timestamp", "ge", iso(T0)), ("timestamp", "lt", iso(T0 + DAY)), period="14400")), None, None),
        ("ceilo statistics groupby", ceilo("/v2/meters/disk.read.bytes/statistics" + cq(
            groupby=["resource_id", "user_id"], period="43200")), None, None),
        ("ceilo statistics metadata groupby", ceilo("/v2/meters/cpu_util/statistics" + cq(
            groupby="resource_metadata.instance_type")), None, None),
        ("ceilo statistics aggregates", ceilo("/v2/meters/cpu_util/statistics" + cq(**{
            "aggregate.func": ["stddev", "max", "cardinality", "avg"], "aggregate.param": ["", "", "resource_id", ""]})),
         None, None),
        ("ceilo samples", ceilo("/v2/samples?limit=10"), None, None),
        ("ceilo samples filtered", ceilo("/v2/samples" + cq(("meter", "eq", "disk.read.bytes"),
                                                            ("resource_id", "eq", "vm-c"))), None, None),
        ("ceilo sample by id", lambda d: ("GET", f"/v2/samples/{d.saved['sample_ids'][5]}", None,
                                          {"token": d.tok["ceilo_admin"]}), None, None),
        ("ceilo sample by id (after)", lambda d: ("GET", f"/v2/samples/{d.saved['sample_ids'][-1]}", None,
                                                  {"token": d.tok["ceilo_admin"]}), None, None),
        ("ceilo no such sample", ceilo("/v2/samples/00000000-0000-0000-0000-000000000000"), None, None),
        ("ceilo resources", ceilo("/v2/resources"), None, None),
        ("ceilo resource", ceilo("/v2/resources/vm-a"), None, None),
        ("ceilo resources in a window", ceilo("/v2/resources" + cq(("timestamp", "gt", iso(T0 + DAY)),
                                                                   ("user_id", "eq", "u1"))), None, None),
        ("ceilo complex query", lambda d: ("POST", "/v2/query/samples", {
            "filter": json.dumps({"and": [{"=": {"resource": "vm-a"}},
                                          {"or": [{"=": {"counter_name": "cpu_util"}},
                                                  {">": {"counter_volume": 5000}}]}]}),
            "orderby": json.dumps([{"timestamp": "desc"}, {"counter_volume": "asc"}]), "limit": 9},
            {"token": d.tok["ceilo_admin"]}), None, None),
        ("ceilo capabilities", ceilo("/v2/capabilities"), None, None),
        ("ceilo events", ceilo("/v2/events", usr="boss"), None, None),
        ("ceilo events query", ceilo("/v2/events" + cq(("memory_mb", "gt", "1000", "integer")), usr="boss"),
         None, None),
        ("ceilo event", ceilo("/v2/events/up-ev-1", usr="boss"), None, None),
        ("ceilo event types", ceilo("/v2/event_types", usr="boss"), None, None),
        ("ceilo event traits", ceilo("/v2/event_types/compute.instance.create.end/traits", usr="boss"), None, None),
        ("ceilo event trait values", ceilo("/v2/event_types/compute.instance.create.end/traits/memory_mb",
                                           usr="boss"), None, None),
        ("ceilo as a member", ceilo("/v2/meters/cpu_util?limit=3", tok="ceilo_user"), None, None),
        ("ceilo events as a member", ceilo("/v2/events", tok="ceilo_user", usr="u2"), None, None),
        ("ceilo error", ceilo("/v2/meters/cpu_util/statistics?period=-1"), None, None),
    ]


def ask(ctx, d, spec):
    name, make, normalize, after = spec
    method, path, body, kw = make(d)
    r = req(ctx, d, method, path, body, **kw)
    got = r.body
    try:
        got = json.loads(r.body)
    except ValueError:
        pass
    got = normalized(got)
    if normalize is not None and r.status == 200:
        got = normalize(got)
    if after is not None and r.status == 200:
        after(d, r)
    return r.status, got


# ---- the tests ----

def test_install_the_oldest_release_and_the_current_version(ctx):
    stop_daemons()
    _dbs.clear()
    _state.clear()
    drop_databases(ctx)
    oldest = oldest_release()
    current = ctx.scalar("SELECT default_version FROM pg_available_extensions WHERE name = 'vscope'")
    _state.update(oldest=oldest, current=current)
    base = free_port(ctx.port + 50)
    ports = (base, free_port(base + 1))
    for (key, name), port in zip((("old", OLD_DB), ("new", NEW_DB)), ports):
        ctx.psql(f'CREATE DATABASE "{name}"', db="postgres")
        _dbs[key] = Db(name, port)
    # the current version first: roles are the cluster's, and the oldest
    # release grants vscoped's login role what the current version revokes
    # (vscope_superadmin) and the oldest release's Coopr path still needs
    # until the update
    ctx.psql("CREATE EXTENSION vscope", db=NEW_DB)
    ctx.psql(f"CREATE EXTENSION vscope VERSION '{oldest}'", db=OLD_DB)
    # writes never make partitions: the days written to (2024-01-01 to -06)
    # are made writable as an operator would, in the oldest release (which
    # has no add_days) through its internal function
    days = f"ARRAY(SELECT generate_series({T0 // DAY}, {T0 // DAY + 5}))"
    ctx.psql(f"SELECT vscope._ensure_partitions({days}), vscope._ensure_partitions({days}, 'samples')", db=OLD_DB)
    ctx.add_days(T0, T0 + 5 * DAY, db=NEW_DB)
    assert ctx.scalar("SELECT extversion FROM pg_extension WHERE extname = 'vscope'", db=OLD_DB) == oldest
    assert ctx.scalar("SELECT extversion FROM pg_extension WHERE extname = 'vscope'", db=NEW_DB) == current
    for d in _dbs.values():
        # access-log lines off: nothing reads the daemon's output until it stops
        d.proc = ctx.spawn_daemon(d.port, VSCOPE_DB_URI=db_uri(ctx, d.name), VSCOPE_PUBLIC_URL=PUBLIC_URL,
                                  VSCOPE_LOG_LEVEL="warn")
        assert d.proc.poll() is None, f"the daemon on port {d.port} exited (another one answers there?)"
        make_secrets(ctx, d)


def test_fill_both_through_the_apis_then_update(ctx):
    assert len(_dbs) == 2, "the set-up failed"
    old, new = _dbs["old"], _dbs["new"]
    fill(ctx, old)          # while it is still at the oldest release
    fill(ctx, new)
    # the same writes in the same order give the same ids (series ids are in
    # tsuids and Ceilometer message ids), which the comparison below relies on
    assert old.saved["sample_ids"] == new.saved["sample_ids"], \
        "the oldest release and the current version gave the same samples different ids"
    ctx.psql("ALTER EXTENSION vscope UPDATE", db=OLD_DB)
    v_old = ctx.scalar("SELECT extversion FROM pg_extension WHERE extname = 'vscope'", db=OLD_DB)
    v_new = ctx.scalar("SELECT extversion FROM pg_extension WHERE extname = 'vscope'", db=NEW_DB)
    assert v_old == v_new == _state["current"], (v_old, v_new, _state)
    # the daemon of the old database keeps running through the update, as in
    # production; writes after it must work as on the fresh install
    fill_after(ctx, old)
    fill_after(ctx, new)
    _state["filled"] = True


def test_every_api_answers_as_on_a_fresh_install(ctx):
    assert _state.get("filled"), "the fill failed"
    old, new = _dbs["old"], _dbs["new"]
    answers = {}
    diffs = []
    for spec in requests():
        a, b = ask(ctx, old, spec), ask(ctx, new, spec)
        answers[spec[0]] = b
        if a != b:
            diffs.append(f"{spec[0]} (upgraded vs fresh): {first_difference(list(a), list(b))}")
    assert not diffs, f"{len(diffs)} answers differ after the upgrade:\n" + "\n".join(diffs)
    # and the answers are about real data, so the comparison is not vacuous
    ok = lambda name: answers[name][0] == 200 and answers[name][1]  # noqa: E731
    for name in ("tsdb sum 1h-avg", "tsdb groupby filters", "tsdb rate counter", "tsdb get", "tsdb last",
                 "lookup", "live hosts 11", "live host", "live vm", "metrics token (pre-upgrade) reads",
                 "coopr queues", "coopr usage", "ceilo meters", "ceilo statistics period",
                 "ceilo statistics groupby", "ceilo statistics metadata groupby", "ceilo samples",
                 "ceilo sample by id", "ceilo resources", "ceilo complex query", "ceilo events"):
        assert ok(name), (name, answers[name])
    assert len(answers["tsdb sum 1h-avg"][1][0]["dps"]) == 73, answers["tsdb sum 1h-avg"]
    assert {g["tags"]["host"] for g in answers["tsdb groupby filters"][1][:3]} == {"web1", "web2", "web3"}
    assert answers["live host"][1]["cpuUsed"] is not None and answers["live host"][1]["netRx"] is not None
    assert answers["live vm"][1]["readLatency"] is not None
    assert answers["coopr usage"][1]["data"][0]["value"] > 0, answers["coopr usage"]
    assert sum(s["count"] for s in answers["ceilo statistics period"][1]) == 3 * 24 + 1
    assert answers["ceilo no such sample"][0] == 404 and answers["tsdb unknown metric"][0] == 400
    assert answers["metrics token is read-only"][0] == 403
    _state["answers"] = answers


def test_days_compressed_after_the_update_answer_the_same(ctx):
    """The days written before and after the update, compressed by the
    current version (points and Ceilometer samples, as maintain() does):
    both databases still answer alike, and the OpenTSDB and Ceilometer
    answers are those given before compaction."""
    assert _state.get("answers"), "the comparison before compaction failed"
    old, new = _dbs["old"], _dbs["new"]
    days = (f"generate_series((to_timestamp({T0}) AT TIME ZONE 'UTC')::date, "
            f"(to_timestamp({T0 + 5 * DAY}) AT TIME ZONE 'UTC')::date, interval '1 day')")
    for db in (OLD_DB, NEW_DB):
        ctx.psql(f"SELECT vscope.compress(d::date), vscope.compress_samples(d::date) FROM {days} d", db=db)
        assert ctx.scalar("SELECT count(*) FROM vscope.samples", db=db) == "0"
        assert int(ctx.scalar("SELECT count(*) FROM vscope.sample_blocks", db=db)) > 0
    diffs = []
    for spec in requests():
        a, b = ask(ctx, old, spec), ask(ctx, new, spec)
        if a != b:
            diffs.append(f"{spec[0]} (upgraded vs fresh): {first_difference(list(a), list(b))}")
        elif spec[0].startswith(("ceilo", "tsdb")) and b != _state["answers"][spec[0]]:
            diffs.append(f"{spec[0]} (compressed vs rows): {first_difference(list(b), list(_state['answers'][spec[0]]))}")
    assert not diffs, f"{len(diffs)} answers differ after compaction:\n" + "\n".join(diffs)


def catalog(ctx, db, before=""):
    """test/upgrade/catalog.sql's lines in db, after the statements before
    (in a transaction that is rolled back, so nothing stays)."""
    p = ctx.psql(f"BEGIN;\n{before}\n\\i {CATALOG_SQL}\nROLLBACK;\n", db=db, check=False)
    assert p.returncode == 0, f"catalog.sql failed in {db}: {p.stderr}"
    return p.stdout.splitlines()


def test_upgraded_and_fresh_catalogs_are_the_same(ctx):
    assert _state.get("filled"), "the update failed"
    old, new = catalog(ctx, OLD_DB), catalog(ctx, NEW_DB)
    assert len(new) > 300, f"catalog.sql printed too little: {new[:20]}"
    if old != new:
        diff = "\n".join(difflib.unified_diff(new, old, f"fresh {_state['current']}",
                                              f"{_state['oldest']} updated to {_state['current']}",
                                              lineterm="", n=0))
        raise AssertionError(f"the upgraded catalog differs from a fresh install's:\n{diff[:20000]}")


def test_the_catalog_comparison_sees_each_kind_of_change(ctx):
    """Each scratch change (rolled back) changes catalog.sql's listing: the
    comparison above cannot pass by listing too little."""
    assert _dbs, "the set-up failed"
    base = catalog(ctx, NEW_DB)
    changes = [
        "COMMENT ON FUNCTION vscope.tenant_id(text) IS 'x'",
        "ALTER FUNCTION vscope.tenant_id(text) VOLATILE",
        "ALTER FUNCTION vscope.tenant_id(text) SET work_mem = '1MB'",
        "CREATE OR REPLACE FUNCTION vscope._to_long(x double precision) RETURNS bigint LANGUAGE sql IMMUTABLE"
        " PARALLEL SAFE AS $$ SELECT round(x)::bigint $$",
        "GRANT EXECUTE ON FUNCTION vscope.register_inventory(jsonb) TO vscope_reader",
        "REVOKE SELECT ON vscope.series FROM vscope_reader",
        "ALTER TABLE vscope.series ALTER COLUMN metric SET DEFAULT 'x'",
        "ALTER TABLE vscope.series ADD COLUMN extra int",
        "DROP INDEX vscope.series_metric_idx",
        "ALTER POLICY tenant_isolation ON vscope.series USING (true)",
        "ALTER TABLE vscope.events NO FORCE ROW LEVEL SECURITY",
        "CREATE FUNCTION vscope.extra() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "ALTER EXTENSION vscope DROP FUNCTION vscope.tenant_id(text)",
        "ALTER TABLE vscope.series ALTER COLUMN metric SET STORAGE MAIN",
        "ALTER TABLE vscope.series REPLICA IDENTITY FULL",
        "COMMENT ON POLICY tenant_isolation ON vscope.series IS 'x'",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA vscope GRANT SELECT ON TABLES TO vscope_reader",
        "COMMENT ON SCHEMA vscope IS 'x'",
    ]
    unseen = [c for c in changes if catalog(ctx, NEW_DB, c + ";") == base]
    assert not unseen, f"catalog.sql does not see: {unseen}"
    assert catalog(ctx, NEW_DB) == base, "a scratch change was left behind"


def test_stop_the_daemons_and_drop_the_databases(ctx):
    try:
        outs = stop_daemons()
        for rc, out in outs:
            # a clean shutdown: SIGTERM makes vscoped exit 0 (a kill after the
            # timeout, or a crash, does not)
            assert rc == 0, out
    finally:
        _dbs.clear()
        drop_databases(ctx)
