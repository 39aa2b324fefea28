"""The telnet put protocol (collectd's write_tsdb, tcollector) on its own port."""
import os
import socket
import time

TENANT = "e2e-telnet"


class Telnet:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", int(os.environ["VSCOPE_TELNET_PORT"])), timeout=10)
        self.buf = b""

    def send(self, text):
        self.s.sendall(text.encode())

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed; had {self.buf!r}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def sync(self):
        """version flushes pending puts first, so its answer means they are written"""
        self.send("version\n")
        v = self.line()
        assert v.startswith("vscoped "), v

    def close(self):
        self.s.close()


def setup(ctx):
    """The past days written to below (writes never make partitions)."""
    ctx.add_days("2013-01-01")


def values(ctx, metric):
    return ctx.as_tenant(TENANT, f"SELECT ts, value FROM vscope.datapoints WHERE metric = '{metric}' ORDER BY ts")


def test_collectd_style_lines_are_written(ctx):
    t = Telnet()
    # collectd writes two spaces between tags; ms timestamps with a dot
    t.send("put tn.cpu 1356998400 42 host=a  dc=b\n")
    t.send("put tn.cpu 1356998401.500 1.5 host=a dc=b\r\n")
    t.sync()
    assert values(ctx, "tn.cpu") == [["2013-01-01 00:00:00+00", "42"], ["2013-01-01 00:00:01.5+00", "1.5"]]
    assert ctx.as_tenant(TENANT, "SELECT tags::text FROM vscope.series WHERE metric = 'tn.cpu'") == [['{"dc": "b", "host": "a"}']]
    t.close()


def test_bad_lines_get_an_error_line_and_the_connection_stays(ctx):
    t = Telnet()
    t.send("put tn.bad 1356998400 abc host=a\n")
    assert t.line() == 'put: invalid value: For input string: "abc"'
    t.send("put tn.bad 1356998400 1\n")
    assert t.line() == "put: illegal argument: not enough arguments (need least 4, got 3)"
    t.send("put tn.bad -1 1 host=a\n")
    assert t.line() == "put: illegal argument: invalid timestamp: -1"
    t.send("put tn.bad 1356998400 1 host\n")
    assert t.line() == "put: illegal argument: invalid tag: host"
    t.send("put tn.bad 1356998400 1 ho st=a\n")
    assert t.line() == "put: illegal argument: invalid tag: ho"
    t.send("put tn.b@d 1356998400 1 host=a\n")
    assert t.line() == 'put: illegal argument: Invalid metric name ("tn.b@d"): illegal character: @'
    t.send("hello\n")
    assert t.line() == "unknown command: hello.  Try `help'."
    t.send("help\n")
    assert "put" in t.line()
    t.send("put tn.bad 1356998400 7 host=a\n")
    t.sync()
    assert values(ctx, "tn.bad") == [["2013-01-01 00:00:00+00", "7"]]
    t.close()


def test_a_burst_is_batched_and_nothing_is_lost_at_exit(ctx):
    t = Telnet()
    lines = "".join(f"put tn.burst {1356998400 + i} {i} host=h{i % 7}\n" for i in range(5000))
    t.send(lines + "exit\n")
    # exit flushes, then closes
    t.s.settimeout(30)
    assert t.s.recv(100) == b""
    t.close()
    assert ctx.as_tenant(TENANT, "SELECT count(*), sum(value) FROM vscope.datapoints WHERE metric = 'tn.burst'") \
        == [["5000", str(sum(range(5000)))]]


def test_a_pause_is_enough_to_write(ctx):
    t = Telnet()
    t.send("put tn.pause 1356998400 3 host=a\n")
    deadline = time.time() + 5
    while time.time() < deadline and not values(ctx, "tn.pause"):
        time.sleep(0.05)
    assert values(ctx, "tn.pause") == [["2013-01-01 00:00:00+00", "3"]]
    t.close()


def test_a_line_of_bad_utf8_fails_alone(ctx):
    t = Telnet()
    t.s.sendall(b"put tn.utf 1356998400 1 host=a\nput tn.utf 1356998401 2 host=\xff\nput tn.utf 1356998402 3 host=a\n")
    assert t.line() == "put: illegal argument: the line is not valid UTF-8"
    t.sync()
    assert [r[1] for r in values(ctx, "tn.utf")] == ["1", "3"]
    t.close()


def test_a_day_outside_the_writable_window_makes_no_partition(ctx):
    """The listener takes no credentials: a put for a day that nobody made
    writable (before vscope.max_past, or never) is refused on its line and
    creates no partition, whatever day it names."""
    parts = "SELECT count(*) FROM vscope.partitions()"
    before = ctx.scalar(parts)
    t = Telnet()
    for ts in (86400, 315532800, 946684800, int(time.time()) - 400 * 86400):
        t.send(f"put tn.old {ts} 1 host=a\n")
        line = t.line()
        assert line.startswith("put: ") and "not writable" in line, line
    # a day past vscope.max_future alike (refused by the future bound first)
    t.send(f"put tn.old {int(time.time()) + 400 * 86400} 1 host=a\n")
    line = t.line()
    assert line.startswith("put: ") and "in the future" in line, line
    t.sync()
    assert ctx.scalar(parts) == before
    assert values(ctx, "tn.old") == []
    t.close()
