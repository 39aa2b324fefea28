"""The daemon itself: health, version, routing, limits, credentials, logging."""
import http.client
import json
import os
import time

from vstest import assert_status, assert_tsdb_error


def setup(ctx):
    """The past days written to below (writes never make partitions)."""
    ctx.add_days("2023-11-14")


def test_live_and_ready(ctx):
    r = ctx.get("/live")
    assert_status(r, 200)
    assert r.json() == {"status": "ok"}
    r = ctx.get("/ready")
    assert_status(r, 200)
    assert r.json()["status"] == "ready"


def test_version_needs_no_credentials(ctx):
    r = ctx.get("/api/version")
    assert_status(r, 200)
    body = r.json()
    assert body["version"] == "0.2.1", body
    assert body["repo"] == "vscope"
    assert ctx.post("/api/version").status == 200


def test_unknown_path_is_404_in_opentsdb_format(ctx):
    err = assert_tsdb_error(ctx.get("/api/nope"), 404, "Endpoint not found")
    assert err["details"] == "/api/nope"


def test_trailing_slash_and_query_string_route_the_same(ctx):
    assert ctx.get("/api/version/").status == 200
    assert ctx.get("/api/version?x=1").status == 200


def test_wrong_method_is_405_with_allow(ctx):
    r = ctx.get("/api/put")
    assert_tsdb_error(r, 405, "Method not allowed")
    assert r.header("Allow") == "POST"
    r = ctx.request("DELETE", "/api/version")
    assert_tsdb_error(r, 405)


def test_put_without_credentials_is_401_with_challenge(ctx):
    r = ctx.post("/api/put", {"metric": "m", "timestamp": 1, "value": 1, "tags": {"a": "b"}})
    assert_tsdb_error(r, 401, "Authentication required")
    assert r.header("WWW-Authenticate", ) == 'Basic realm="vscope"'


def test_put_with_unknown_token_is_401(ctx):
    r = ctx.post("/api/put", {"metric": "m", "timestamp": 1, "value": 1, "tags": {"a": "b"}},
                 basic=("read", "vst_not-a-real-token"))
    assert_tsdb_error(r, 401, "Invalid credentials")
    assert r.header("WWW-Authenticate") is not None
    r = ctx.post("/api/put", {"metric": "m", "timestamp": 1, "value": 1, "tags": {"a": "b"}},
                 token="")
    assert_tsdb_error(r, 401)


def test_revoked_token_is_401_at_once(ctx):
    tenant = ctx.tenant("e2e-revoke")
    tok = ctx.scalar(f"SELECT vscope.create_token('{tenant}', '{{write}}', 'to revoke')")
    body = {"metric": "rev.m", "timestamp": 1700000000, "value": 1, "tags": {"h": "a"}}
    assert_status(ctx.post("/api/put", body, token=tok), 204)
    tid = ctx.scalar(f"SELECT token_id FROM vscope.list_tokens('{tenant}') WHERE description = 'to revoke'")
    assert ctx.scalar(f"SELECT vscope.revoke_token({tid})") == "t"
    assert_tsdb_error(ctx.post("/api/put", body, token=tok), 401)


def test_oversized_body_is_413(ctx):
    tok = ctx.token("e2e-limits")
    # declared too large: refused from the headers alone
    status, body = ctx.headers_only("POST", "/api/put", {"X-Auth-Token": tok,
                                                         "Content-Length": str(17 * 1024 * 1024)})
    assert status == 413, (status, body)
    assert json.loads(body)["error"]["message"] == "Request entity too large"
    # sent chunked, with no length: cut off at the limit while reading
    big = "[" + ",".join(['{"metric":"big.m","timestamp":1700000000,"value":1,"tags":{"h":"a"}}'] * 260000) + "]"
    assert len(big) > 16 * 1024 * 1024

    def chunks():
        for i in range(0, len(big), 1 << 20):
            yield big[i:i + (1 << 20)].encode()
    conn = http.client.HTTPConnection(ctx.host, ctx.port, timeout=60)
    try:
        conn.request("POST", "/api/put", body=chunks(), headers={"X-Auth-Token": tok},
                     encode_chunked=True)
        r = conn.getresponse()
        assert r.status == 413, (r.status, r.read())
    except (BrokenPipeError, ConnectionResetError):
        pass    # the server may answer and close before the last chunk is sent
    finally:
        conn.close()
    assert ctx.as_tenant("e2e-limits", "SELECT count(*) FROM vscope.series WHERE metric = 'big.m'") == [["0"]]


def test_malformed_json_is_400(ctx):
    tok = ctx.token("e2e-limits")
    err = assert_tsdb_error(ctx.post("/api/put", '{"metric": "m", ', token=tok), 400)
    assert "json" in (err["message"] + err.get("details", "")).lower(), err
    err = assert_tsdb_error(ctx.post("/api/put", "42", token=tok), 400, "Malformed put payload")
    assert_tsdb_error(ctx.post("/api/put", "", token=tok), 400, "Missing request content")


def logged_lines(log, marker, timeout=30):
    """The lines of the log that hold marker, once there is one (the access
    log line is written after the answer is sent: waited for, not slept on)."""
    deadline = time.monotonic() + timeout
    while True:
        with open(log) as f:
            lines = [line for line in f if marker in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def test_access_log_has_one_line_per_request(ctx):
    log = os.path.join(ctx.test_dir, "log", "vscoped.log")
    marker = f"/api/nope-{time.time_ns()}"
    ctx.get(marker)
    lines = logged_lines(log, marker)
    assert len(lines) == 1, lines
    assert '"GET ' + marker + '" 404' in lines[0], lines[0]


def test_log_lines_cannot_be_forged(ctx):
    log = os.path.join(ctx.test_dir, "log", "vscoped.log")
    marker = f"forged{time.time_ns()}"
    ctx.get(f"/nope%0A2030-01-01T00:00:00.000Z%20info:%20{marker}%20\"POST%20/api/put\"%20204")
    lines = logged_lines(log, marker)
    assert len(lines) == 1, lines
    assert "\\x0a" in lines[0] and lines[0].startswith("20"), lines[0]


def test_refusals_come_before_the_body(ctx):
    # the answer comes from the headers alone: the body is never sent
    status, body = ctx.headers_only("POST", "/api/put", {"Content-Length": "1000000"})
    assert status == 401 and json.loads(body)["error"]["code"] == 401, (status, body)
    status, body = ctx.headers_only("POST", "/nowhere", {"Content-Length": "1000000"})
    assert status == 404, (status, body)
    status, body = ctx.headers_only("PUT", "/api/put", {"Content-Length": "1000000"})
    assert status == 405, (status, body)
