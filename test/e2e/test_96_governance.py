"""Resource governance in vscoped: connections per client address, the
credentials checked before a body is read, a cap on the request bodies
being received at once, the query cancelled when its client goes away, one
tenant's share of the database pool, and 5xx answers that keep PostgreSQL's
words for the log."""
import json
import os
import re
import socket
import subprocess
import time

from faults import PGBIN, db_uri, free_port, spawn, stop, wait_for
from vstest import assert_status, assert_tsdb_error

T = "e2e-gov"
T2 = "e2e-gov2"
DAY = 1396310400                 # 2014-04-01 00:00 UTC
LOG = "vscoped_governance.log"
APP = "e2e_governance"


def setup(ctx):
    ctx.add_days("2014-04-01")


def put_body(i):
    return json.dumps([{"metric": "gov.m", "timestamp": DAY + i, "value": i, "tags": {"h": "a"}}])


def raw_request(port, method, path, headers, body=b""):
    """Sends a whole request on a socket of its own and returns the socket
    (the answer is left unread)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    lines = [f"{method} {path} HTTP/1.1", "Host: x"] + [f"{k}: {v}" for k, v in headers.items()]
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return s


def read_answer(s):
    """(status, headers dict lower-cased, body) of the answer on s."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(lines[0].split(" ")[1]), headers, rest.decode()


def lock_points(ctx):
    """Another session holds the points' table (puts wait on its lock)."""
    holder = subprocess.Popen(
        [os.path.join(PGBIN, "psql"), "-X", "-q", "-U", "postgres", "-d", "vscope", "-c",
         "BEGIN; LOCK TABLE vscope.points IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: ctx.psql(
        "SELECT count(*) FROM pg_locks WHERE relation = 'vscope.points'::regclass "
        "AND mode = 'AccessExclusiveLock' AND granted") == [["1"]], "the lock held", 60)
    return holder


def unlock_points(ctx, holder):
    holder.terminate()
    holder.wait(60)
    ctx.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE query LIKE '%LOCK TABLE vscope.points%' AND pid <> pg_backend_pid()")


def waiting_backends(ctx):
    return int(ctx.scalar(
        f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{APP}' "
        "AND state = 'active' AND wait_event_type = 'Lock'"))


def log_text(ctx):
    with open(f"{ctx.test_dir}/{LOG}") as f:
        return f.read()


def test_connections_per_client(ctx):
    """A client address holds at most max-connections-per-client
    connections: more are closed at once, and another address is served."""
    port = free_port(ctx.port + 12)
    proc = spawn(ctx, port, {"VSCOPE_MAX_CONNECTIONS_PER_CLIENT": "2", "VSCOPE_LOG_LEVEL": "debug"}, LOG)

    def served(source="127.0.0.1"):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10,
                                          source_address=(source, 0)) as s:
                s.sendall(b"GET /api/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return s.recv(4096).startswith(b"HTTP/1.1 200")
        except OSError:
            return False
    try:
        wait_for(served, "served", 30)
        held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
        for s in held:
            s.sendall(b"GET /api/version HTTP/1.1\r\nHost: x\r\n")   # an unfinished header
        wait_for(lambda: not served(), "a third connection from the address refused", 30)
        assert served("127.0.0.2"), "another client address is refused too"
        held.pop().close()
        wait_for(served, "served once a connection is given back", 30)
        for s in held:
            s.close()
    finally:
        stop(proc)


def test_credentials_before_body(ctx):
    """Bad credentials are answered from the headers, in the API's error
    form, without the body being sent; good ones are served."""
    tok = ctx.token(T)
    # a 10 MB body announced, never sent: the answer comes anyway
    status, body = ctx.headers_only("POST", "/api/put", {
        "X-Auth-Token": "no-such-token", "Content-Type": "application/json",
        "Content-Length": str(10 << 20)})
    assert status == 401, (status, body)
    assert json.loads(body)["error"]["code"] == 401, body
    status, body = ctx.headers_only("POST", "/api/put", {
        "Authorization": "Basic eDpub3BlCg==", "Content-Length": str(10 << 20)})
    assert status == 401, (status, body)
    # Coopr's routes need Coopr's headers, checked likewise
    status, body = ctx.headers_only("POST", "/v2/apikeys", {"Content-Length": str(10 << 20)})
    assert status == 401 and "Coopr-UserID" in body, (status, body)
    status, body = ctx.headers_only("POST", "/v2/nodes/events", {
        "Coopr-UserID": "admin", "Coopr-TenantID": "nobody-here", "Coopr-ApiKey": "wrong",
        "Content-Length": str(10 << 20)})
    assert status == 401 and "Invalid Coopr credentials" in body, (status, body)
    # the Ceilometer publisher's route too
    status, body = ctx.headers_only("POST", "/v2/publish/samples", {
        "X-Auth-Token": "no-such-token", "Content-Length": str(10 << 20)})
    assert status == 401, (status, body)
    # Warp 10's update: its token header, its 403s
    status, body = ctx.headers_only("POST", "/api/v0/update", {"Content-Length": str(10 << 20)})
    assert status == 403 and "Missing token" in body, (status, body)
    status, body = ctx.headers_only("POST", "/api/v0/update", {
        "X-Warp10-Token": "no-such-token", "Content-Length": str(10 << 20)})
    assert status == 403, (status, body)
    # a good token's body is read and served
    assert_status(ctx.post("/api/put", put_body(1), token=tok), 204)


def test_bytes_in_flight(ctx):
    """Bodies being received at once are capped by max-bytes-in-flight:
    past it a request gets a 503 with Retry-After in its API's form, and is
    served once the room is back."""
    tok = ctx.token(T)
    port = free_port(ctx.port + 12)
    proc = spawn(ctx, port, {"VSCOPE_MAX_BYTES_IN_FLIGHT": "100000"}, LOG)
    try:
        # the token known first: its check before the body takes no query,
        # so the slow body's room is counted as soon as its header is in
        assert_status(ctx.post("/api/put", put_body(2), token=tok, port=port), 204)
        big = put_body(2).encode()
        big = big + b" " * (80000 - len(big))
        slow = socket.create_connection(("127.0.0.1", port), timeout=30)
        slow.sendall(b"POST /api/put HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + tok.encode() +
                     b"\r\nContent-Type: application/json\r\nContent-Length: 80000\r\n\r\n" +
                     big[:1000])
        # the first body holds 80,000 bytes of the 100,000 until it is in

        def refused():
            r = ctx.post("/api/put", put_body(3) + " " * 40000, token=tok, port=port)
            return r.status == 503 and r
        wait_for(refused, "a 503 past max-bytes-in-flight", 30)
        r = ctx.post("/api/put", put_body(3) + " " * 40000, token=tok, port=port)
        e = assert_tsdb_error(r, 503)
        assert "max-bytes-in-flight" in e["details"], e
        assert r.header("Retry-After") == "1", r.headers
        # a small body still fits
        assert_status(ctx.post("/api/put", put_body(4), token=tok, port=port), 204)
        slow.sendall(big[1000:])
        status, _, body = read_answer(slow)
        assert status == 204, (status, body)
        slow.close()
        assert_status(ctx.post("/api/put", put_body(3) + " " * 40000, token=tok, port=port), 204)
    finally:
        stop(proc)


def test_query_cancelled_when_client_goes(ctx):
    """A client that goes away while its query runs has the query
    cancelled: its backend stops waiting at once."""
    tok = ctx.token(T)
    port = free_port(ctx.port + 12)
    proc = spawn(ctx, port, {"VSCOPE_DB_URI": db_uri(APP), "VSCOPE_REQUEST_TIMEOUT": "60"}, LOG)
    holder = lock_points(ctx)
    try:
        body = put_body(5).encode()
        s = raw_request(port, "POST", "/api/put", {
            "X-Auth-Token": tok, "Content-Type": "application/json",
            "Content-Length": str(len(body))}, body)
        wait_for(lambda: waiting_backends(ctx) == 1, "the put waiting on the lock", 60)
        s.close()
        wait_for(lambda: waiting_backends(ctx) == 0, "the put's query cancelled", 30)
        wait_for(lambda: "its query is cancelled" in log_text(ctx), "the cancel logged", 30)
        # no failure of the server's: a 499 in the access log, not a 504 and an error
        wait_for(lambda: re.search(r'"POST /api/put" 499 .*id=(\w+)', log_text(ctx)), "the 499 logged", 30)
        rid = re.search(r'"POST /api/put" 499 .*id=(\w+)', log_text(ctx)).group(1)
        assert f"request {rid}: its client went away and its query was cancelled" in log_text(ctx)
        assert f"request {rid}: database error" not in log_text(ctx)
    finally:
        unlock_points(ctx, holder)
        stop(proc)
    # nothing was written
    assert ctx.as_tenant(T, f"SELECT count(*) FROM vscope.datapoints WHERE metric = 'gov.m' "
                            "AND value = 5") == [["0"]]


def test_tenant_share_of_pool(ctx):
    """A tenant alone may use the whole pool; once the pool is contended, a
    tenant holding its share of db-pool waits, then gets a 503 with
    Retry-After, and the connection another frees goes to another tenant."""
    tok = ctx.token(T)
    tok2 = ctx.token(T2)
    port = free_port(ctx.port + 12)
    proc = spawn(ctx, port, {"VSCOPE_DB_URI": db_uri(APP), "VSCOPE_DB_POOL": "2",
                             "VSCOPE_DB_POOL_TENANT_SHARE": "50",
                             "VSCOPE_DB_POOL_ACQUISITION_TIMEOUT": "2"}, LOG)
    # both tokens known to vscoped (their tenants, for the share)
    assert_status(ctx.get("/api/suggest?type=metrics", token=tok, port=port), 200)
    assert_status(ctx.get("/api/suggest?type=metrics", token=tok2, port=port), 200)
    holder = lock_points(ctx)
    held = []
    try:
        # alone, the tenant takes both connections (its share is 1 of 2)
        for i in (6, 7):
            body = put_body(i).encode()
            held.append(raw_request(port, "POST", "/api/put", {
                "X-Auth-Token": tok, "Content-Type": "application/json",
                "Content-Length": str(len(body))}, body))
            wait_for(lambda: waiting_backends(ctx) == len(held), "the puts waiting on the lock", 60)
        # the pool is taken: past its share the tenant waits, then 503
        t0 = time.monotonic()
        r = ctx.get("/api/suggest?type=metrics", token=tok, port=port)
        e = assert_tsdb_error(r, 503)
        assert "db-pool-tenant-share" in e["details"], e
        assert r.header("Retry-After") == "1", r.headers
        assert time.monotonic() - t0 < 20
        # one of its connections freed: another tenant is served on it
        ctx.psql(f"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = '{APP}' "
                 "AND wait_event_type = 'Lock' LIMIT 1")
        wait_for(lambda: ctx.get("/api/suggest?type=metrics", token=tok2, port=port).status == 200,
                 "the other tenant served", 30)
        assert waiting_backends(ctx) == 1
    finally:
        unlock_points(ctx, holder)
    try:
        for s in held:
            status, _, body = read_answer(s)
            assert status in (204, 504), (status, body)
            s.close()
        assert_status(ctx.get("/api/suggest?type=metrics", token=tok, port=port), 200)
    finally:
        stop(proc)


def test_5xx_keep_postgres_words_in_the_log(ctx):
    """A 5xx says what happened in general words and the request id; what
    PostgreSQL said goes to the log with that id.  4xx keep their message."""
    tok = ctx.token(T)
    port = free_port(ctx.port + 12)
    proc = spawn(ctx, port, {"VSCOPE_REQUEST_TIMEOUT": "1"}, LOG)
    holder = lock_points(ctx)
    try:
        r = ctx.post("/api/put", put_body(7), token=tok, port=port)
        e = assert_tsdb_error(r, 504)
        rid = r.header("X-Request-Id")
        assert rid and rid in e["message"], (rid, e)
        assert "statement" not in json.dumps(e) and "canceling" not in json.dumps(e), e
    finally:
        unlock_points(ctx, holder)
    try:
        wait_for(lambda: f"request {rid}: database error 57014: canceling statement" in log_text(ctx),
                 "PostgreSQL's message logged with the request id", 30)
        # a user's error keeps its words
        r = ctx.get("/api/query?start=1396310400&m=sum:gov.m{h=a", token=tok, port=port)
        assert 400 <= r.status < 500, r
        assert "request " not in r.body, r
    finally:
        stop(proc)
