#!/usr/bin/env python3
"""Writes the harnesses' seed corpora (corpus/<harness>/), from inputs the
tests send: python3 make_seeds.py.  The seeds are committed; regression
inputs of crashes found are added beside them by hand (named crash-*)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- a small msgpack encoder (what Ceilometer's udp publisher sends) ----
def mp(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        return b"\xd3" + struct.pack(">q", v) if v < 0 else b"\xcf" + struct.pack(">Q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, bytes):
        return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(mp(k) + mp(x) for k, x in v.items())
    raise TypeError(v)


def sample(**extra):
    s = {"source": "openstack", "counter_name": "cpu", "counter_type": "cumulative",
         "counter_unit": "ns", "counter_volume": 12.25, "user_id": "u1", "project_id": "p1",
         "resource_id": "udp-1", "timestamp": "2024-03-01T14:00:00", "message_id": "m-1",
         "resource_metadata": {"flavor": {"vcpus": 2, "name": "m1.small"}, "tags": ["a", "b"],
                               "ok": True, "none": None, "n": -7, "big": 2 ** 40}}
    s.update(extra)
    return s


# config: first byte picks the environment variable (0 db-uri, 1 db-pool, ...)
conf = ('# vscoped configuration\ndb-uri = "host=/tmp port=5499 dbname=vscope user=vscope_authenticator"\n'
        'db-pool = 8\nserver-host = "127.0.0.1"\nserver-port = 4299\ntelnet-host = "127.0.0.1"\n'
        'telnet-port = 4298\ntelnet-tenant = "e2e-telnet"\nlog-level = "info"\n')
put("fuzz_config", "test_conf", b"\xff" + conf.encode())
put("fuzz_config", "env_pool", b"\x01" + conf.encode() + b"\x0012")
put("fuzz_config", "env_uri_file", b"\x00" + conf.encode() + b"\x00@Makefile")
put("fuzz_config", "keystone", b"\xff" + b'identity-headers = keystone\nkeystone-tenant = "cloud" # c\nmax-body-size = 1048576\n')

for i, (m, u) in enumerate([
        ("GET", "/api/query?start=1h-ago&m=sum:sys.cpu%7Bhost=web01%7D"), ("POST", "/api/put?details"),
        ("GET", "/api/uid/assign?metric=a"), ("GET", "/dedicatedCloud/pcc-1/datacenter/12/vm/34/live?type=cpu"),
        ("POST", "/v2/query/samples"), ("GET", "/v2/meters/cpu/statistics?q.field=timestamp&q.op=gt&q.value=2024-01-01"),
        ("OPTIONS", "/api/v0/fetch"), ("PUT", "/api/v0/exec/"), ("HEAD", "/api/version/"), ("GET", "/v2/metrics/queues")]):
    put("fuzz_route", f"route_{i}", m + "\0" + u)

put("fuzz_form", "fetch", "token=READ&selector=~cpu%7Bhost%3Dweb%2B1%7D&start=2024-03-01T00:00:00Z&stop=2024-03-02T00:00:00Z&format=json")
put("fuzz_form", "find", "selector=cpu{}&showattr=true&sortmeta&=x&a=%zz&b=%4")
put("fuzz_form", "plus", "q=a+b%20c&q=dup")

put("fuzz_lists", "roles", "admin, member,reader\0admin")
put("fuzz_lists", "trusted", "127.0.0.1,::1\0::1")
put("fuzz_lists", "xml", "application/xml;q=0.9, text/<b>&\x01\0ADMIN")

put("fuzz_telnet", "puts", "\0put sys.cpu.user 1700000000 42.5 host=web01 cpu=0\r\nput sys.cpu.user 1700000001 1e3 host=web01\n"
    "version\nhelp\nstats\nnope\n  \n\tput x\nexit\nput after.exit 1 1 a=b\n")
put("fuzz_telnet", "long_line", "\1put m 1 1 a=b\nversion\n")
put("fuzz_telnet", "bad_utf8", b"\0put m 1700000000 1 host=\xc3\x28\nput m 1700000000 1 host=\xe2\x82\xac\n")

put("fuzz_udp", "sample", b"\0" + mp(sample()))
put("fuzz_udp", "not_msgpack", b"\0\xc1 not msgpack")
put("fuzz_udp", "nan", b"\0" + mp(sample(counter_volume=float("nan"), project_id=None)))
# signed as Ceilometer signs (compute_signature over the sorted pairs): the
# harness's secret; the value does not have to match for coverage
signed = sample(message_signature="0" * 64, raw=b"\x00\xff")
put("fuzz_udp", "signed", b"\1" + mp(signed))
put("fuzz_udp", "nested", b"\1" + mp(sample(resource_metadata={"a": [[{"b": [1.5, "x", {"c": None}]}]]})))

import gzip  # noqa: E402
put("fuzz_gunzip", "update", gzip.compress(b"1700000000000000// e2e.fuzz.w{host=a} 42\n=1700000001000000// 43\n"))
put("fuzz_gunzip", "exec", gzip.compress(b"1 2 + 'x' STORE $x 3 * [ 1 2 3 ] SIZE" * 20))
put("fuzz_gunzip", "truncated", gzip.compress(b"x" * 5000)[:40])

for i, (m, p) in enumerate([
        ("GET", "pcc-1/datacenter/869/host"), ("GET", "pcc-1/datacenter/869/vm/5000"),
        ("GET", "pcc-1/datacenter/99999999999999999999/host"), ("POST", "pcc-1/user/12/metricsToken"),
        ("POST", "pcc-1/inventory"), ("GET", "pcc-1//datacenter//870/filer/201/"), ("GET", "")]):
    put("fuzz_vscope_path", f"path_{i}", m + "\0" + p)
