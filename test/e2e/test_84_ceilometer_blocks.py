"""Ceilometer samples in blocks, over HTTP: once their days are compressed
(vscope.compress_samples(), as vscope.maintain() does a day after a day's
end), every endpoint answers byte for byte as it did from rows, every
message_id the API handed out still finds its sample, and a sample posted
into a compressed day, at an instant that already has samples there, gets
an id of its own."""
import urllib.parse

from vstest import assert_status

T = "ceilo-blocks"      # a tenant of its own
DAYS = ("2017-03-01", "2017-03-02", "2017-03-03")


def admin(ctx):
    return ctx.token(T, "read,write,admin")


def sample(resource, ts, volume, project="pb"):
    return {"counter_name": "blk.cpu", "counter_type": "gauge", "counter_unit": "%",
            "counter_volume": volume, "resource_id": resource, "project_id": project,
            "user_id": "ub", "timestamp": ts, "resource_metadata": {"instance_type": "m1." + resource[-1]}}


def reads(ctx, tok, ids):
    """What every read endpoint answers (the raw bodies), and one sample per id."""
    q = urllib.parse.quote
    urls = [
        "/v2/meters/blk.cpu",
        "/v2/meters/blk.cpu?limit=1000",
        "/v2/samples?limit=7",
        "/v2/samples?q.field=resource_id&q.op=eq&q.value=vm-b1&q.field=timestamp&q.op=gt&q.value=2017-03-02T06:00:00"
        "&limit=500",
        "/v2/meters",
        "/v2/resources",
        "/v2/resources?q.field=timestamp&q.op=ge&q.value=2017-03-01T12:00:00",
        "/v2/resources/vm-b2",
        "/v2/meters/blk.cpu/statistics",
        "/v2/meters/blk.cpu/statistics?period=86400",
        "/v2/meters/blk.cpu/statistics?period=3600&groupby=resource_id",
        "/v2/meters/blk.cpu/statistics?period=5000&groupby=project_id&groupby=resource_metadata.instance_type",
        "/v2/meters/blk.cpu/statistics?period=86400&aggregate.func=cardinality&aggregate.param=resource_id"
        "&aggregate.func=stddev&q.field=timestamp&q.op=ge&q.value=2017-03-01T00:00:00",
        "/v2/meters/blk.cpu/statistics?q.field=message_id&q.value=" + q(ids[5]),
    ]
    out = {u: ctx.get(u, token=tok) for u in urls}
    out["POST /v2/query/samples"] = ctx.post("/v2/query/samples", {
        "filter": '{"and": [{"=": {"resource": "vm-b0"}}, {">": {"volume": 30}}]}',
        "orderby": '[{"volume": "desc"}, {"timestamp": "asc"}]', "limit": 50}, token=tok)
    for i in ids:
        out["/v2/samples/" + i] = ctx.get("/v2/samples/" + i, token=tok)
    for u, r in out.items():
        assert r.status == 200, (u, r)
    return {u: r.body for u, r in out.items()}


def test_compressed_days_answer_as_rows(ctx):
    tok = admin(ctx)
    ctx.add_days(DAYS[0], DAYS[-1])
    # three resources over three days, every 20 minutes and at odd seconds,
    # some samples at one instant twice
    body = []
    for d, day in enumerate(DAYS):
        for m in range(0, 1440, 20):
            for r in range(3):
                ts = f"{day}T{m // 60:02d}:{m % 60:02d}:{(r * 7 + d) % 60:02d}"
                body.append(sample(f"vm-b{r}", ts, round((m * 7 + r * 13 + d) % 97 * 0.37, 3)))
                if m % 180 == 0:
                    body.append(sample(f"vm-b{r}", ts, 1000 + m))
    posted = ctx.post("/v2/meters/blk.cpu", body, token=tok)
    assert_status(posted, 201)
    ids = [s["message_id"] for s in posted.json()]
    assert len(set(ids)) == len(body)
    before = reads(ctx, tok, ids[::23])

    n = ctx.scalar(f"SELECT sum(vscope.compress_samples(d::date)) FROM generate_series('{DAYS[0]}'::date, "
                   f"'{DAYS[-1]}', '1 day') d")
    assert int(n) >= len(body)
    tenant = f"(SELECT tenant_id FROM vscope.tenants WHERE name = '{T}')"
    assert ctx.scalar(f"SELECT count(*) FROM vscope.samples WHERE tenant_id = {tenant}") == "0"
    assert ctx.scalar(f"SELECT sum(n) FROM vscope.sample_blocks WHERE tenant_id = {tenant}") == str(len(body))

    after = reads(ctx, tok, ids[::23])
    assert [u for u in before if before[u] != after[u]] == []
    # every id of the post, not only those compared above
    for i in ids[1::37]:
        r = ctx.get("/v2/samples/" + i, token=tok)
        assert r.status == 200 and r.json()["id"] == i, r


def test_a_sample_posted_into_a_compressed_day(ctx):
    """At an instant whose samples 0 and 1 are in a block: seq 2, a new
    message_id, readable at once with the others; and folded into the
    day's block by the next compaction, its id still good."""
    tok = admin(ctx)
    ts = "2017-03-02T03:00:01"      # vm-b0 on the second day, at 03:00, twice
    listing = f"/v2/samples?q.field=resource_id&q.op=eq&q.value=vm-b0&q.field=timestamp&q.op=ge&q.value={ts}" \
              f"&q.field=timestamp&q.op=le&q.value={ts}"
    old = sorted(s["id"] for s in ctx.get(listing, token=tok).json())
    assert len(old) == 2, old
    r = ctx.post("/v2/meters/blk.cpu", [sample("vm-b0", ts, 4.5)], token=tok)
    assert_status(r, 201)
    new = r.json()[0]["message_id"]
    assert new not in old
    seqs = ctx.psql(f"SELECT m.seq FROM vscope._ceilo_parse_message_id('{new}') m")
    assert seqs == [["2"]]
    now = ctx.get(listing, token=tok).json()
    assert sorted(s["id"] for s in now) == sorted(old + [new])
    assert ctx.get("/v2/samples/" + new, token=tok).json()["volume"] == 4.5
    stats = ctx.get("/v2/meters/blk.cpu/statistics?period=86400", token=tok).json()
    assert sum(s["count"] for s in stats) == int(ctx.scalar(
        f"SELECT count(*) FROM vscope.ceilometer_samples WHERE counter_name = 'blk.cpu' "
        f"AND tenant_id = (SELECT tenant_id FROM vscope.tenants WHERE name = '{T}')"))
    # the next compaction folds it in
    ctx.psql("SELECT vscope.compress_samples('2017-03-02')")
    assert ctx.get("/v2/samples/" + new, token=tok).json()["volume"] == 4.5
    assert sorted(s["id"] for s in ctx.get(listing, token=tok).json()) == sorted(old + [new])
    assert ctx.get("/v2/meters/blk.cpu/statistics?period=86400", token=tok).json() == stats
