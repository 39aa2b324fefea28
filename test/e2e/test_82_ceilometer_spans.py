"""Ceilometer's kept spans (vscope.sample_span, the first and last sample of
each series) under concurrent writers: requests that post to the same
series in opposite orders neither deadlock nor lose a bound, and the
listings that read the spans answer what the samples say."""
import threading

from vstest import assert_status

T = "ceilo-spans"       # a tenant of its own
RESOURCES = [f"vm-s{i}" for i in range(8)]


def admin(ctx):
    return ctx.token(T, "read,write,admin")


def sample(resource, ts, volume):
    return {"counter_name": "span.cpu", "counter_type": "gauge", "counter_unit": "%",
            "counter_volume": volume, "resource_id": resource, "project_id": T, "timestamp": ts}


def test_concurrent_posts_in_opposite_orders(ctx):
    """Six writers, five requests each, every request a sample of each of
    eight series: half list the series forwards, half backwards, and some
    go back in time (a new first sample).  Every request is stored (a
    writer takes the spans' rows in series order, whatever the order of
    its samples), and the spans are exactly the samples' bounds."""
    tok = admin(ctx)
    # the series exist before the writers start (requests that create the
    # same new series in opposite orders wait on each other's uncommitted
    # series: that is another matter); the days the writers go back to are
    # made writable first (writes never make partitions)
    ctx.add_days("2016-05-06", "2016-05-10")
    assert_status(ctx.post("/v2/meters/span.cpu", [sample(r, "2016-05-10T23:59:00", 0) for r in RESOURCES],
                           token=tok), 201)
    results = []
    lock = threading.Lock()

    def writer(w):
        for k in range(5):
            order = RESOURCES if w % 2 == 0 else RESOURCES[::-1]
            # writers 0 and 1 go back a day each request: a new first sample
            day = 10 - k if w < 2 else 10
            body = [sample(r, f"2016-05-{day:02d}T{w:02d}:{k:02d}:{i:02d}", w * 100 + k * 10 + i)
                    for i, r in enumerate(order)]
            r = ctx.post("/v2/meters/span.cpu", body, token=tok)
            with lock:
                results.append(r)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 30
    assert [r.status for r in results] == [201] * 30, [r for r in results if r.status != 201][:3]
    wrong = ctx.scalar(f"""
        SELECT count(*) FROM (
            (SELECT series_id, min(ts), max(ts) FROM vscope.samples
              WHERE tenant_id = (SELECT tenant_id FROM vscope.tenants WHERE name = '{T}') GROUP BY 1
             EXCEPT
             SELECT series_id, first_ts, last_ts FROM vscope.sample_span
              WHERE tenant_id = (SELECT tenant_id FROM vscope.tenants WHERE name = '{T}'))
            UNION ALL
            (SELECT series_id, first_ts, last_ts FROM vscope.sample_span
              WHERE tenant_id = (SELECT tenant_id FROM vscope.tenants WHERE name = '{T}')
             EXCEPT
             SELECT series_id, min(ts), max(ts) FROM vscope.samples
              WHERE tenant_id = (SELECT tenant_id FROM vscope.tenants WHERE name = '{T}') GROUP BY 1)) d""")
    assert wrong == "0"
    # the listings: every resource from the first day written to the last
    res = ctx.get("/v2/resources", token=tok).json()
    assert sorted(r["resource_id"] for r in res) == RESOURCES
    for r in res:
        assert r["first_sample_timestamp"].startswith("2016-05-06T"), r
        assert r["last_sample_timestamp"].startswith("2016-05-10T"), r
    meters = ctx.get("/v2/meters", token=tok).json()
    assert sorted(m["resource_id"] for m in meters) == RESOURCES
    # and the same bounds through a time filter, which reads the samples
    wide = ctx.get("/v2/resources?q.field=timestamp&q.op=ge&q.value=2016-01-01T00:00:00", token=tok).json()
    assert [(r["resource_id"], r["first_sample_timestamp"], r["last_sample_timestamp"]) for r in wide] == \
        [(r["resource_id"], r["first_sample_timestamp"], r["last_sample_timestamp"]) for r in res]
