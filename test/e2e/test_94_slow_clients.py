"""Slow clients cannot hold the connections: a client has client-timeout
seconds to send a whole request, and every connection that dribbles a
header or a body (each byte well within the idle timeout) is cut off then,
so a valid request is served again."""
import socket
import threading
import time

from faults import free_port, spawn, stop, wait_for
from vstest import assert_status

LOG = "vscoped_slow.log"
SLOTS = 4


def dribble(sock, chunks, closed, i):
    """Sends the chunks a byte every 0.3 s until the server closes the
    connection, a minute at most; closed[i] = seconds it lasted (None if
    it never closed)."""
    t0 = time.monotonic()
    data = b"".join(chunks)
    try:
        for k in range(200):    # a minute at most
            sock.sendall(data[k % len(data):k % len(data) + 1] if k < len(data) else b"X")
            sock.settimeout(0.3)
            try:
                if sock.recv(4096) == b"":
                    break
            except socket.timeout:
                continue
            # an answer (an error) is fine too: what matters is the close
            sock.settimeout(10)
            while sock.recv(4096):
                pass
            break
        else:
            sock.close()
            return
    except OSError:
        pass
    closed[i] = time.monotonic() - t0
    sock.close()


def test_slow_clients_are_cut_off(ctx):
    tok = ctx.token("e2e-slow")
    port = free_port(ctx.port + 9)
    proc = spawn(ctx, port, {"VSCOPE_CLIENT_TIMEOUT": "3", "VSCOPE_MAX_CONNECTIONS": str(SLOTS)}, LOG)
    try:
        # before: served
        assert_status(ctx.get("/api/version", port=port), 200)
        heads = [b"POST /api/put HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + tok.encode() +
                 b"\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 200,
                 b"POST /api/put HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + tok.encode() +
                 b"\r\nContent-Length: 5000\r\n\r\n[" + b" " * 1000]
        socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(SLOTS)]
        closed = [None] * SLOTS
        threads = [threading.Thread(target=dribble, args=(s, [heads[i % 2]], closed, i))
                   for i, s in enumerate(socks)]
        for t in threads:
            t.start()
        # every slot is held; each holder is cut off after client-timeout
        for t in threads:
            t.join(120)
        assert all(c is not None and c < 60 for c in closed), closed
        # (one may have been turned away at once if the first request's
        # connection was not yet closed when they came)
        assert sum(1 for c in closed if c >= 2.5) >= SLOTS - 1, closed
        # after: served again, by the same vscoped
        wait_for(lambda: ctx.get("/api/version", port=port, timeout=10).status == 200,
                 "a request served after the slow clients were cut off", 60, 0.2)
        # a quick client on the same kind of connection is not cut off
        body = '[{"metric": "slow.m", "timestamp": 1356998400, "value": 1, "tags": {"h": "a"}}]'
        r = ctx.post("/api/put", body, token=tok, port=port)
        assert r.status in (204, 400), r
    finally:
        stop(proc)
    with open(f"{ctx.test_dir}/{LOG}") as f:
        assert "no whole request within client-timeout (3 s)" in f.read()
