"""vScope live data and OpenTSDB queries answer the same once make run's demo
days are compressed into blocks (the head rows gone, every point in
vscope.blocks)."""
import time

from vstest import assert_status
from test_40_opentsdb_query import demo, SERVICE, DC, HOST
import test_60_vscope_live as live
from test_60_vscope_live import BASE, admin

OBJECTS = ([f"{BASE}/datacenter/869/{kind}" for kind in ("host", "vm", "filer")]
           + [f"{BASE}/datacenter/870/{kind}" for kind in ("host", "vm", "filer")]
           + [f"{BASE}/datacenter/869/host/{i}" for i in (1001, 1002, 1003)]
           + [f"{BASE}/datacenter/869/vm/{i}" for i in range(5000, 5006)]
           + [f"{BASE}/datacenter/869/filer/{i}" for i in (101, 102)]
           + [f"{BASE}/datacenter/870/filer/{i}" for i in (201, 202)])


def answers(ctx, admin_tok, read_tok, start):
    """Every live object and a handful of queries, as (status, body) by request."""
    out = {}
    for path in OBJECTS:
        r = ctx.get(path, token=admin_tok)
        out[path] = (r.status, r.body)
    queries = {
        "guide": {"start": start, "queries": [{"metric": "vscope.host.mem.usage.perc", "aggregator": "sum",
                                               "downsample": "20m-max-zero",
                                               "tags": {"datacenter": DC, "host": HOST}}]},
        "raw": {"start": start, "end": start + 7200,
                "queries": [{"metric": "vscope.host.cpu.usage.perc", "aggregator": "none",
                             "tags": {"host": "*"}}]},
        "by-dc": {"start": start, "queries": [{"metric": "vscope.vm.net.rx", "aggregator": "sum",
                                               "downsample": "1h-avg", "tags": {"datacenter": "*"}}]},
        "rate": {"start": start, "queries": [{"metric": "vscope.host.net.rx", "aggregator": "max",
                                              "downsample": "30m-sum", "rate": True}]},
    }
    for name, body in queries.items():
        r = ctx.post("/api/query", body, basic=("read", read_tok))
        out[name] = (r.status, r.body)
    r = ctx.post("/api/query/last", {"queries": [{"metric": "vscope.host.cpu.usage.perc"}]},
                 basic=("read", read_tok))
    out["last"] = (r.status, r.body)
    return out


def test_live_data_and_queries_answer_the_same_from_blocks(ctx):
    admin_tok = admin(ctx)
    read_tok = demo(ctx)
    start = int(time.time()) - 86400 - 3600
    before = answers(ctx, admin_tok, read_tok, start)
    assert all(status == 200 for status, _ in before.values()), \
        {k: v for k, v in before.items() if v[0] != 200}
    assert len(before["guide"][1]) > 1000 and len(before["raw"][1]) > 1000, before["guide"]

    tenant = f"(SELECT tenant_id FROM vscope.tenants WHERE name = '{SERVICE}')"
    rows = int(ctx.scalar(f"SELECT count(*) FROM vscope.points WHERE tenant_id = {tenant}"))
    assert rows > 100000, rows
    ctx.scalar("SELECT coalesce(sum(vscope.compress(range_start::date)), 0) FROM vscope.partitions()")
    assert ctx.scalar(f"SELECT count(*) FROM vscope.points WHERE tenant_id = {tenant}") == "0"
    in_blocks = int(ctx.scalar(f"SELECT coalesce(sum(n), 0) FROM vscope.blocks WHERE tenant_id = {tenant}"))
    assert in_blocks >= rows, (in_blocks, rows)

    after = answers(ctx, admin_tok, read_tok, start)
    for key in before:
        assert after[key] == before[key], f"{key} differs from blocks: {after[key]!r:.300} != {before[key]!r:.300}"
    # and test_60's own checks of live values against the points still hold
    live.test_host_live_values_come_from_the_latest_points(ctx)
    live.test_vm_and_filer_objects(ctx)


def test_a_point_written_into_a_compressed_day_is_read_and_is_live(ctx):
    admin_tok = admin(ctx)
    read_tok = demo(ctx)
    now = int(time.time())
    host_tags = {"datacenter": DC, "host": HOST, "servicename": SERVICE, "servicetype": "vscope",
                   "env": "prod"}
    r = ctx.post("/api/put", [{"metric": "vscope.host.cpu.usage.perc", "timestamp": now,
                               "value": 12.5, "tags": host_tags}], token=ctx.token(SERVICE, "write"))
    assert_status(r, 204)
    h = ctx.get(f"{BASE}/datacenter/869/host/1001", token=admin_tok).json()
    assert h["cpuUsed"] == round(12.5 / 100 * 48000), h
    r = ctx.post("/api/query", {"start": now - 60, "end": now + 60,
                                "queries": [{"metric": "vscope.host.cpu.usage.perc", "aggregator": "none",
                                             "tags": {"host": HOST}}]}, basic=("read", read_tok))
    assert_status(r, 200)
    assert any(g["dps"].get(str(now)) == 12.5 for g in r.json()), r.json()
