"""POST /api/put over HTTP, read back through SQL."""
import time

from vstest import assert_status, assert_tsdb_error

T = "e2e-put"


def setup(ctx):
    """The past days written to below (writes never make partitions)."""
    ctx.add_days("2013-01-01")


def rows(ctx, sql):
    return ctx.as_tenant(T, sql)


def test_put_one_point_with_basic_auth_then_read_back(ctx):
    tok = ctx.token(T)
    r = ctx.post("/api/put", {"metric": "sys.cpu.user", "timestamp": 1356998400, "value": 42,
                              "tags": {"host": "web01", "dc": "lga"}}, basic=("read", tok))
    assert_status(r, 204)
    assert r.body == ""
    got = rows(ctx, "SELECT s.metric, s.tags::text, p.ts, p.value, p.ivalue FROM vscope.points p "
                    "JOIN vscope.series s USING (tenant_id, series_id) WHERE s.metric = 'sys.cpu.user'")
    assert got == [["sys.cpu.user", '{"dc": "lga", "host": "web01"}',
                    "2013-01-01 00:00:00+00", "", "42"]], got


def test_put_with_x_auth_token_floats_and_milliseconds(ctx):
    tok = ctx.token(T)
    r = ctx.post("/api/put", [
        {"metric": "sys.mem", "timestamp": 1356998400500, "value": 0.1, "tags": {"host": "web01"}},
        {"metric": "sys.mem", "timestamp": 1356998401, "value": "1e3", "tags": {"host": "web01"}},
        {"metric": "sys.mem", "timestamp": "1356998402", "value": "-7", "tags": {"host": "web01"}},
    ], token=tok)
    assert_status(r, 204)
    got = rows(ctx, "SELECT p.ts, p.value, p.ivalue FROM vscope.points p JOIN vscope.series s "
                    "USING (tenant_id, series_id) WHERE s.metric = 'sys.mem' ORDER BY ts")
    assert got == [["2013-01-01 00:00:00.5+00", "0.1", ""],
                   ["2013-01-01 00:00:01+00", "1000", ""],
                   ["2013-01-01 00:00:02+00", "", "-7"]], got


def test_int64_values_are_exact(ctx):
    tok = ctx.token(T)
    big = 9223372036854775807
    assert_status(ctx.post("/api/put", {"metric": "big.counter", "timestamp": 1356998400,
                                        "value": big, "tags": {"host": "a"}}, token=tok), 204)
    assert rows(ctx, "SELECT p.ivalue FROM vscope.points p JOIN vscope.series s USING (tenant_id, series_id) "
                     "WHERE s.metric = 'big.counter'") == [[str(big)]]


def test_last_write_wins_within_and_across_requests(ctx):
    tok = ctx.token(T)
    p = {"metric": "lww.m", "timestamp": 1356998400, "tags": {"host": "a"}}
    assert_status(ctx.post("/api/put", [dict(p, value=1), dict(p, value=2)], token=tok), 204)
    assert_status(ctx.post("/api/put", dict(p, value=3.5), token=tok), 204)
    got = rows(ctx, "SELECT count(*), max(p.value), max(p.ivalue) FROM vscope.points p "
                    "JOIN vscope.series s USING (tenant_id, series_id) WHERE s.metric = 'lww.m'")
    assert got == [["1", "3.5", ""]], got


def test_bad_points_without_flags_400_but_good_ones_land(ctx):
    tok = ctx.token(T)
    r = ctx.post("/api/put", [
        {"metric": "mixed.m", "timestamp": 1356998400, "value": 1, "tags": {"host": "a"}},
        {"metric": "mixed.m", "timestamp": 1356998460, "value": "x", "tags": {"host": "a"}},
    ], token=tok)
    err = assert_tsdb_error(r, 400, "One or more data points had errors")
    assert err["details"] == 'Please see the TSD logs or append "details" to the put request'
    assert rows(ctx, "SELECT count(*) FROM vscope.datapoints WHERE metric = 'mixed.m'") == [["1"]]


def test_summary_and_details(ctx):
    tok = ctx.token(T)
    good = {"metric": "sum.m", "timestamp": 1356998400, "value": 1, "tags": {"host": "a"}}
    bad = [
        {"timestamp": 1356998400, "value": 1, "tags": {"host": "a"}},
        {"metric": "sum.m", "timestamp": -5, "value": 1, "tags": {"host": "a"}},
        {"metric": "sum.m", "timestamp": 1356998400, "value": "", "tags": {"host": "a"}},
        {"metric": "sum.m", "timestamp": 1356998400, "value": 1, "tags": {}},
        {"metric": "sum.m", "timestamp": 1356998400, "value": "NaN", "tags": {"host": "a"}},
        {"metric": "sum m", "timestamp": 1356998400, "value": 1, "tags": {"host": "a"}},
        {"metric": "sum.m", "timestamp": 1356998400, "value": 1,
         "tags": {f"k{i}": "v" for i in range(9)}},
    ]
    r = ctx.post("/api/put?summary", [good], token=tok)
    assert_status(r, 200)
    assert r.json() == {"success": 1, "failed": 0}
    r = ctx.post("/api/put?summary", [good] + bad, token=tok)
    assert_status(r, 400)
    assert r.json() == {"success": 1, "failed": 7}
    r = ctx.post("/api/put?details", [good] + bad, token=tok)
    assert_status(r, 400)
    body = r.json()
    assert body["success"] == 1 and body["failed"] == 7, body
    assert [e["error"] for e in body["errors"]] == [
        "Metric name was empty",
        "Invalid timestamp",
        "Empty value",
        "Missing tags",
        "Unable to parse value to a number",
        'Invalid metric name ("sum m"): illegal character:  ',
        "Too many tags: 9 maximum allowed: 8",
    ], body["errors"]
    assert body["errors"][1]["datapoint"] == {"metric": "sum.m", "timestamp": -5, "value": "1",
                                              "tags": {"host": "a"}}
    r = ctx.post("/api/put?summary&sync_timeout=100", [good], token=tok)
    assert r.json() == {"success": 1, "failed": 0, "timeouts": 0}
    # in OpenTSDB's key order
    assert r.body == '{"success":1,"failed":0,"timeouts":0}', r.body
    r = ctx.post("/api/put?details", [good], token=tok)
    assert r.body == '{"success":1,"failed":0,"errors":[]}', r.body


def test_empty_array_is_400(ctx):
    assert_tsdb_error(ctx.post("/api/put", [], token=ctx.token(T)), 400, "No datapoints found in content")


def test_read_only_token_cannot_write(ctx):
    tok = ctx.token(T, "read")
    r = ctx.post("/api/put", {"metric": "ro.m", "timestamp": 1356998400, "value": 1,
                              "tags": {"host": "a"}}, token=tok)
    err = assert_tsdb_error(r, 403, "Forbidden")
    assert "write" in err["details"], err
    assert rows(ctx, "SELECT count(*) FROM vscope.series WHERE metric = 'ro.m'") == [["0"]]


def test_write_is_committed_when_acknowledged(ctx):
    tok = ctx.token(T)
    ts = int(time.time())
    assert_status(ctx.post("/api/put", {"metric": "ack.m", "timestamp": ts, "value": 7,
                                        "tags": {"host": "a"}}, token=tok), 204)
    # a new session sees it at once
    assert rows(ctx, "SELECT value FROM vscope.datapoints WHERE metric = 'ack.m'") == [["7"]]


def not_writable(day):
    return (f"Day {day} is not writable: vscope.maintain() keeps the days from vscope.max_past ago to "
            f"vscope.max_future ahead writable; an operator makes others so with "
            f"CALL vscope.add_days('{day}', '{day}')")


def test_a_day_without_a_partition_is_refused_until_the_operator_makes_it(ctx):
    """Writes never make partitions (no request runs DDL): a point for a day
    that has none is a bad point, named with its day and the CALL that makes
    the day writable, and nothing of it is stored, not even its series.
    Once the operator has made the days writable the same put lands."""
    tok = ctx.token(T)
    old = [{"metric": "old.m", "timestamp": 86400 * 3 + 5, "value": 1, "tags": {"host": "a"}},
           {"metric": "old.m", "timestamp": 1000000000, "value": 2, "tags": {"host": "a"}}]
    future = {"metric": "old.m", "timestamp": int(time.time()) + 86400 * 30, "value": 3, "tags": {"host": "a"}}
    r = ctx.post("/api/put?details", old + [future], token=tok)
    assert_status(r, 400)
    body = r.json()
    assert (body["success"], body["failed"]) == (0, 3), body
    assert [e["error"] for e in body["errors"]] == [
        not_writable("1970-01-04"), not_writable("2001-09-09"), "Timestamp is more than 604800 seconds in the future",
    ], body
    assert body["errors"][1]["datapoint"] == dict(old[1], value="2"), body
    # without flags, OpenTSDB's summary error
    assert_tsdb_error(ctx.post("/api/put", old, token=tok), 400, "One or more data points had errors")
    assert ctx.scalar("SELECT count(*) FROM vscope.series WHERE metric = 'old.m'") == "0"
    assert ctx.scalar("SELECT count(*) FROM vscope.partitions() WHERE partition::text IN "
                      "('vscope.points_19700104', 'vscope.points_20010909')") == "0"
    ctx.add_days("1970-01-04")
    ctx.add_days("2001-09-09")
    r = ctx.post("/api/put?details", old, token=tok)
    assert_status(r, 200)
    assert r.json() == {"success": 2, "failed": 0, "errors": []}
    assert rows(ctx, "SELECT p.ts, p.ivalue FROM vscope.points p JOIN vscope.series s USING (tenant_id, series_id) "
                     "WHERE s.metric = 'old.m' ORDER BY p.ts") == [
        ["1970-01-04 00:00:05+00", "1"], ["2001-09-09 01:46:40+00", "2"]]


def test_no_token_can_make_the_store_grow_by_days(ctx):
    """A put naming a thousand distinct past days (ten puts of a hundred,
    the cap that used to apply per put) leaves the number of partitions as
    it was: what one tenant can add is rows in the days that exist."""
    tok = ctx.token(T)
    before = ctx.scalar("SELECT (SELECT count(*) FROM vscope.partitions() WHERE range_start < '1990-01-01') + "
                        "(SELECT count(*) FROM vscope.partitions('samples') WHERE range_start < '1990-01-01')")
    for k in range(10):
        pts = [{"metric": "grow.m", "timestamp": 86400 * (5000 + 100 * k + d) + 60, "value": d, "tags": {"host": "a"}}
               for d in range(100)]
        r = ctx.post("/api/put?summary", pts, token=tok)
        assert_status(r, 400)
        assert r.json() == {"success": 0, "failed": 100}
    after = ctx.scalar("SELECT (SELECT count(*) FROM vscope.partitions() WHERE range_start < '1990-01-01') + "
                       "(SELECT count(*) FROM vscope.partitions('samples') WHERE range_start < '1990-01-01')")
    assert after == before, (before, after)
    assert ctx.scalar("SELECT count(*) FROM vscope.series WHERE metric = 'grow.m'") == "0"
