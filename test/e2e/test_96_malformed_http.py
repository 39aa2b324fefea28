"""Malformed requests over HTTP: a seeded generator makes a corpus of
well over 1,000 bad requests over every endpoint family (OpenTSDB /api/*,
Ceilometer /v2/*, Coopr, vScope live /dedicatedCloud/..., Warp 10
/api/v0/*): bad bodies (truncated, bytes flipped, invalid UTF-8, NUL, huge
numbers, deep nesting, duplicate keys, types swapped), headers
(credentials, content types and lengths, encodings), methods, paths and
query strings (percent-escapes, NUL, invalid UTF-8, repeated and empty
keys).  Each is sent on a connection of its own, raw, to a vscoped of the
test's own.  Every answer must be a 4xx in the error body of the API the
path belongs to (never a 5xx: the database is up and the pool is not
exhausted).  libmicrohttpd 0.9.75 answers only two kinds itself, which
no callback of it lets vscoped answer: a chunked body whose framing it
cannot read (its own 400 page) and a request line or header larger than
connection-memory (its 414 or 431 page); and it closes without any answer
a request line with no method (one that begins with a space).  Everything
else must reach vscoped and get the API's own error.  vscoped must stay up
and its memory flat: its RSS after the corpus is within a bound of its RSS
after a first pass over part of it.  The outcome by status is printed (the
README's "Reliability" quotes it)."""
import base64
import collections
import json
import os
import random
import re
import socket
import threading
import time

from faults import free_port, spawn, stop
from test_60_vscope_live import BASE as VSCOPE_BASE
from test_70_coopr import su as coopr_su
from vstest import assert_status

LOG = "vscoped_malformed.log"
SEED = 20261202
CORPUS = 1600                  # requests in the corpus (the issue asks for 1,000 at least)
WORKERS = 4
RSS_GROWTH_MB = 24             # allowed growth from the warm-up to the end
CONNECTION_MEMORY = 196608     # vscoped's default connection-memory

# ---- the endpoints: method, path, a valid body (or None), its content type ----
PUT = [{"metric": "e2e.fuzz.m", "timestamp": 1700000000, "value": 1.5, "tags": {"host": "a"}}]
QUERY = {"start": 1700000000, "end": 1700003600,
         "queries": [{"aggregator": "sum", "metric": "e2e.fuzz.m", "tags": {"host": "*"},
                      "downsample": "1m-avg", "filters": [{"type": "wildcard", "tagk": "host", "filter": "a*"}]}]}
EXP = {"time": {"start": "1h-ago", "aggregator": "sum"},
       "filters": [{"id": "f1", "tags": [{"type": "wildcard", "tagk": "host", "filter": "*"}]}],
       "metrics": [{"id": "a", "metric": "e2e.fuzz.m", "filter": "f1"}],
       "expressions": [{"id": "e", "expr": "a * 2"}], "outputs": [{"id": "e"}]}
CEILO_SAMPLE = [{"counter_name": "e2e.fuzz", "counter_type": "gauge", "counter_unit": "u",
                 "counter_volume": 1.0, "resource_id": "r1", "timestamp": "2023-11-14T22:13:20"}]
CEILO_QUERY = {"filter": json.dumps({"and": [{"=": {"counter_name": "cpu"}}, {">": {"counter_volume": 1}}]}),
               "orderby": json.dumps([{"timestamp": "desc"}]), "limit": 10}
PUBLISH = [{"source": "openstack", "counter_name": "cpu", "counter_type": "cumulative", "counter_unit": "ns",
            "counter_volume": 1, "user_id": "u", "project_id": "p", "resource_id": "r",
            "timestamp": "2023-11-14T22:13:20", "message_id": "m1", "resource_metadata": {}}]

J = "application/json"
FORM = "application/x-www-form-urlencoded"
TEXT = "text/plain"

# (family, method, path with query, body, content type)
ENDPOINTS = [
    ("tsdb", "POST", "/api/put?details", PUT, J),
    ("tsdb", "POST", "/api/query", QUERY, J),
    ("tsdb", "GET", "/api/query?start=1700000000&m=sum:1m-avg:e2e.fuzz.m%7Bhost=*%7D", None, None),
    ("tsdb", "POST", "/api/query/last", {"queries": [{"metric": "e2e.fuzz.m", "tags": {}}], "resolveNames": True}, J),
    ("tsdb", "POST", "/api/query/exp", EXP, J),
    ("tsdb", "GET", "/api/query/gexp?start=1h-ago&exp=scale(sum:e2e.fuzz.m,2)", None, None),
    ("tsdb", "POST", "/api/search/lookup", {"metric": "e2e.fuzz.m", "tags": [{"key": "host", "value": "*"}]}, J),
    ("tsdb", "POST", "/api/annotation", {"startTime": 1700000000, "description": "d", "tsuid": "000001"}, J),
    ("tsdb", "POST", "/api/annotation/bulk", [{"startTime": 1700000000, "description": "d"}], J),
    ("tsdb", "GET", "/api/uid/assign?metric=e2e.fuzz.x", None, None),
    ("tsdb", "POST", "/api/uid/uidmeta", {"uid": "000001", "type": "metric", "displayName": "x"}, J),
    ("tsdb", "POST", "/api/uid/tsmeta", {"tsuid": "000001000001000001", "description": "x"}, J),
    ("tsdb", "POST", "/api/suggest", {"type": "metrics", "q": "e2e", "max": 10}, J),
    ("tsdb", "GET", "/api/stats/query", None, None),
    ("ceilometer", "GET", "/v2/meters/cpu/statistics?q.field=timestamp&q.op=gt&q.value=2023-11-14T00:00:00&period=60", None, None),
    ("ceilometer", "GET", "/v2/samples?q.field=resource_id&q.op=eq&q.value=r1&limit=5", None, None),
    ("ceilometer", "POST", "/v2/meters/e2e.fuzz?direct=True", CEILO_SAMPLE, J),
    ("ceilometer", "POST", "/v2/query/samples", CEILO_QUERY, J),
    ("ceilometer", "GET", "/v2/resources?q.field=project_id&q.op=eq&q.value=p", None, None),
    ("ceilometer", "GET", "/v2/events?q.field=event_type&q.op=eq&q.value=x&q.type=string", None, None),
    ("publish", "POST", "/v2/publish/samples", PUBLISH, J),
    ("publish", "POST", "/v2/publish/events", [{"event_type": "x", "message_id": "m", "generated": "2023-11-14T22:13:20", "traits": []}], J),
    ("coopr", "POST", "/v2/apikeys", {"tenant": "e2e-fuzz-coopr", "user": "u"}, J),
    ("coopr", "POST", "/v2/nodes/events", {"tenants": ["e2e-fuzz-coopr"], "events": [{"node": "n", "event": "create", "ts": 1700000000}]}, J),
    ("coopr", "POST", "/v2/queues/events", {"ops": [{"tenant": "e2e-fuzz-coopr", "op": "queued", "id": "j1"}]}, J),
    ("coopr", "GET", "/v2/metrics/nodes/usage?start=1700000000&end=1700003600&groupby=user", None, None),
    ("vscope", "GET", VSCOPE_BASE + "/datacenter/869/host/1001/live?type=cpu&period=lastday", None, None),
    ("vscope", "GET", VSCOPE_BASE + "/datacenter/869/vm", None, None),
    ("vscope", "POST", VSCOPE_BASE + "/inventory", {"hosts": [{"datacenter_id": 1, "host_id": 7, "name": "h"}]}, J),
    ("warp10", "GET", "/api/v0/fetch?selector=e2e.fuzz.m%7Bhost%3Da%7D&now=1700003600000000&timespan=-10", None, None),
    ("warp10", "POST", "/api/v0/fetch", "selector=e2e.fuzz.m%7B%7D&start=2023-11-14T00:00:00Z&stop=2023-11-15T00:00:00Z", FORM),
    ("warp10", "GET", "/api/v0/find?selector=~e2e.*%7B%7D", None, None),
    ("warp10", "POST", "/api/v0/update", "1700000000000000// e2e.fuzz.w{host=a} 42\n=1700000001000000// 43\n", TEXT),
    ("warp10_exec", "POST", "/api/v0/exec", "1 2 + 'x' STORE $x 3 * [ 1 2 3 ] SIZE", TEXT),
]

# ---- mutations ----
HUGE_NUMBERS = [b"1e999999", b"-1e999999", b"99999999999999999999999999999999", b"-9223372036854775809",
                b"18446744073709551616", b"1" * 400, b"0." + b"0" * 400 + b"1", b"NaN", b"Infinity", b"-0"]
BAD_BYTES = [b"\x00", b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xe2\x82",
             b"\x7f", b"\x01", b"\\u0000", b"\\ud800", b"\"", b"\\", b"}", b"]", b"{", b"[", b",", b":"]
WORDS = [b"true", b"false", b"null", b"{}", b"[]", b"\"\"", b"0", b"-1", b"\"x\"", b"{\"a\":1}", b"[1]"]


def deep(rng):
    n = rng.choice([64, 500, 5000, 20000])
    kind = rng.random()
    if kind < 0.5:
        return b"[" * n + b"1" + b"]" * n
    if kind < 0.8:
        return b"{\"a\":" * n + b"1" + b"}" * n
    return b"[" * n                                  # never closed


def mutate_json_text(rng, raw):
    """A mutation of a body's bytes."""
    b = bytearray(raw)
    k = rng.randrange(12)
    if k == 0 and b:                               # truncated
        return bytes(b[:rng.randrange(len(b))])
    if k == 1 and b:                               # bytes flipped
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    if k == 2:                                     # invalid UTF-8, NUL, escapes
        i = rng.randrange(len(b) + 1)
        return bytes(b[:i]) + rng.choice(BAD_BYTES) + bytes(b[i:])
    if k == 3:                                     # a number made huge
        digits = [i for i, c in enumerate(b) if chr(c).isdigit()]
        if digits:
            i = rng.choice(digits)
            j = i
            while j < len(b) and (chr(b[j]).isdigit() or b[j] in b".eE+-"):
                j += 1
            return bytes(b[:i]) + rng.choice(HUGE_NUMBERS) + bytes(b[j:])
        return raw + rng.choice(HUGE_NUMBERS)
    if k == 4:                                     # deep nesting
        return deep(rng)
    if k == 5:                                     # garbage
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
    if k == 6:                                     # empty, or only whitespace or NULs
        return rng.choice([b"", b" ", b"\x00", b"\x00" * 100, b"\r\n\r\n", b"\xef\xbb\xbf"])
    if k == 7:                                     # a big string
        return b"\"" + b"x" * rng.choice([70000, 300000]) + b"\""
    if k == 8 and b:                               # a value swapped for another type
        i = rng.randrange(len(b))
        return bytes(b[:i]) + rng.choice(WORDS) + bytes(b[i + rng.randint(0, 12):])
    if k == 9:                                     # a byte repeated
        i = rng.randrange(len(b) + 1)
        return bytes(b[:i]) + bytes([rng.choice(b"{[\"\\,:")]) * rng.randint(1, 2000) + bytes(b[i:])
    if k == 10:                                    # a top-level type swap
        return rng.choice(WORDS + HUGE_NUMBERS)
    return raw + rng.choice([b"garbage", b"}", b"]", b",", b"\x00", b"{}"])    # trailing bytes


def mutate_struct(rng, value):
    """A structure-aware mutation: duplicate keys, types swapped, fields renamed."""
    text = json.dumps(value)
    k = rng.randrange(4)
    if k == 0 and text.startswith("{"):            # duplicate keys
        key = rng.choice(list(value)) if value else "x"
        return ("{" + json.dumps(key) + ":" + rng.choice(['null', '[]', '"x"', '1e400', '{}']) + "," + text[1:]).encode()
    swaps = [None, True, -1, 1e308, "x" * 1000, [], {}, [[[]]], "\u0000", "\udcff"]

    def walk(v):
        if isinstance(v, dict):
            out = {}
            for key, x in v.items():
                r = rng.random()
                if r < 0.15:
                    out[key] = rng.choice(swaps)
                elif r < 0.2:
                    out[key + rng.choice(["", "x", "\u00e9"])[::-1]] = walk(x)
                elif r < 0.25:
                    continue
                else:
                    out[key] = walk(x)
            return out
        if isinstance(v, list):
            return [walk(x) for x in v] * rng.choice([1, 1, 2, 0])
        if isinstance(v, (int, float)) and not isinstance(v, bool) and rng.random() < 0.3:
            return rng.choice([-v, v * 1e300, 2 ** 63, -2 ** 63 - 1, 0.5, "1"])
        return v
    try:
        return json.dumps(walk(value), allow_nan=True).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        return text.encode()


PATH_JUNK = ["%00", "%ff", "%", "%Z", "%2", "%2F", "%2e%2e", "..", "//", "/./", "\u00e9".encode().decode("latin-1"),
             "%ed%a0%80", "%c0%af", "~", ";x=1", "%20", "+", "%0a", "%0d%0a", "9" * 30, "-1", "0x10", "1e9"]
QUERY_JUNK = ["%", "%ZZ", "%00", "%ff%fe", "=", "&&&", "==", "a=%", "m=", "start=", "start=99999999999999999999",
              "start=-1", "end=1e400", "limit=-1", "limit=99999999999999999999", "q.field=timestamp", "q.op=xx",
              "q.value=%00", "q.field=a&q.field=b&q.op=eq", "period=-60", "period=0", "selector=%7B", "selector=~(",
              "timespan=-99999999999999999999", "now=abc", "type=%ff", "format=xml", "exp=scale(", "m=sum:",
              "m=sum:x%7Bhost=%7D", "m=" + "a" * 3000, "x" * 2000 + "=1", "token=%00", "direct=maybe",
              "groupby=%00", "q.type=datetime&q.value=notadate"]
METHODS = ["PATCH", "TRACE", "CONNECT", "get", "PROPFIND", "FOO", "OPTIONS", "DELETE", "PUT", "HEAD", "M" * 100]


def mutate_path(rng, path):
    base, _, query = path.partition("?")
    k = rng.randrange(5)
    segs = base.split("/")
    if k == 0:                                     # junk in a segment
        i = rng.randrange(1, len(segs))
        segs[i] = segs[i] + rng.choice(PATH_JUNK)
    elif k == 1:                                   # a segment replaced
        i = rng.randrange(1, len(segs))
        segs[i] = rng.choice(PATH_JUNK)
    elif k == 2:                                   # extra segments
        segs += [rng.choice(PATH_JUNK) for _ in range(rng.randint(1, 5))]
    elif k == 3:                                   # a very long path
        segs.append("a" * rng.choice([500, 5000]))
    else:                                          # case changed
        segs = [s.upper() if rng.random() < 0.5 else s for s in segs]
    out = "/".join(segs)
    return out + ("?" + query if query else "")


def mutate_query(rng, path):
    base, _, query = path.partition("?")
    parts = query.split("&") if query else []
    k = rng.randrange(4)
    if k == 0 and parts:                           # a value replaced
        i = rng.randrange(len(parts))
        name = parts[i].partition("=")[0]
        parts[i] = name + "=" + rng.choice(QUERY_JUNK).partition("=")[2]
    elif k == 1:                                   # junk added
        parts += rng.sample(QUERY_JUNK, rng.randint(1, 4))
    elif k == 2:                                   # a key repeated many times
        parts += [rng.choice(QUERY_JUNK)] * rng.choice([50, 1000])
    elif parts:                                    # a parameter dropped
        parts.pop(rng.randrange(len(parts)))
    return base + "?" + "&".join(parts)


def credentials(rng, family, token, coopr):
    """Headers with bad credentials of the endpoint's kind."""
    junk = rng.choice([b"", b"\x01", b"\xff\xfe", b"x" * 4000, b"%00", b"\"", token.encode() + b"\x7f",
                       token[:-1].encode(), token.upper().encode(), b"null", b" " + token.encode()])
    k = rng.randrange(6)
    if k == 0:
        return [(b"Authorization", b"Basic " + rng.choice([b"!!!", b"", b"=", b"YQ", b"Og==", base64.b64encode(b"u:" + junk),
                                                          base64.b64encode(junk), b"\xff" * 8, b"a" * 5000]))]
    if k == 1:
        return [(b"Authorization", rng.choice([b"Bearer " + token.encode(), b"Basic", b"basic", b"Digest x", b"\x00", junk]))]
    if k == 2:
        return [(b"X-Auth-Token", junk)]
    if k == 3 and family == "coopr":
        h = [(k_.encode(), v.encode()) for k_, v in coopr.items()]
        i = rng.randrange(len(h))
        h[i] = (h[i][0], junk)
        return h
    if k == 4 and family.startswith("warp10"):
        return [(b"X-Warp10-Token", junk)]
    return [(b"X-Auth-Token", token.encode()), (b"Authorization", b"Basic " + base64.b64encode(b"u:" + junk))]


def good_auth(family, token, coopr):
    if family == "coopr":
        return [(k.encode(), v.encode()) for k, v in coopr.items()]
    if family.startswith("warp10"):
        return [(b"X-Warp10-Token", token.encode())]
    if family == "publish":
        return [(b"Authorization", b"Basic " + base64.b64encode(b"ceilometer:" + token.encode()))]
    return [(b"X-Auth-Token", token.encode())]


def generate(rng, token, coopr):
    """The corpus: (family, raw request bytes, what was done, method)."""
    out = []
    while len(out) < CORPUS:
        family, method, path, body, ctype = rng.choice(ENDPOINTS)
        raw_body = b"" if body is None else (json.dumps(body).encode() if ctype == J else body.encode())
        headers = good_auth(family, token, coopr)
        if ctype:
            headers.append((b"Content-Type", ctype.encode()))
        k = rng.randrange(10)
        what = ""
        if k <= 2 and raw_body:                     # the body (most)
            raw_body = mutate_json_text(rng, raw_body)
            what = "body"
        elif k == 3 and body is not None and ctype == J:
            raw_body = mutate_struct(rng, body)
            what = "structure"
        elif k == 4:
            headers = [h for h in headers if h[0] not in (b"X-Auth-Token", b"Authorization", b"X-Warp10-Token")
                       and not h[0].startswith(b"Coopr-")] + credentials(rng, family, token, coopr)
            what = "credentials"
        elif k == 5:
            method = rng.choice(METHODS)
            what = "method"
        elif k == 6:
            path = mutate_path(rng, path)
            what = "path"
        elif k == 7:
            path = mutate_query(rng, path)
            what = "query"
        elif k == 8:                                # other headers
            hk = rng.randrange(6)
            what = "headers"
            if hk == 0:
                headers = [h for h in headers if h[0] != b"Content-Type"] + [
                    (b"Content-Type", rng.choice([b"application/xml", b"text/plain; charset=latin1", b"\xff", b"",
                                                  b"application/x-www-form-urlencoded", b"multipart/form-data; boundary="]))]
            elif hk == 1:
                headers.append((b"Content-Encoding", rng.choice([b"gzip", b"deflate", b"br", b"x"])))
                raw_body = raw_body or b"x"
            elif hk == 2:
                headers.append((b"Accept", rng.choice([b"application/xml", b"\x01", b"*/*;q=abc", b"text/html"])))
                raw_body = mutate_json_text(rng, raw_body) if raw_body else raw_body
            elif hk == 3:
                headers += [(b"X-Junk-%d" % i, b"\x01\xff" * 10) for i in range(rng.choice([5, 50]))]
            elif hk == 4:
                headers.append((b"Host", rng.choice([b"", b"\xff", b"a" * 3000, b"x\"y<z>"])))
            else:
                headers.append((b"X-Vscope-Tenant", rng.choice([b"\x00", b"nobody", b"' OR 1=1 --", b"\xff"])))
        else:                                       # the request line or framing itself
            fk = rng.randrange(5)
            what = "framing"
            if fk == 0:
                method = rng.choice(["G\x01T", "GET GET", ""])
            elif fk == 1:
                path = path.replace("/", " /", 1) if rng.random() < 0.5 else path + " x"
            elif fk == 2:
                path = rng.choice(["*", "http://other/api/put", "api/put", "/%", path + "#frag"])
            elif fk == 3:
                headers.append((b"Transfer-Encoding", b"chunked"))
                raw_body = b"zz\r\n" + raw_body + b"\r\n0\r\n\r\n"
            else:
                headers.append((b"Bad Header", b"x"))
        out.append((family, method, path, headers, raw_body, what))
    return out


def raw_request(method, path, headers, body):
    lines = [method.encode("latin-1") + b" " + path.encode("latin-1") + b" HTTP/1.1", b"Host: 127.0.0.1",
             b"Connection: close"]
    lines += [k + b": " + v for k, v in headers]
    chunked = any(k == b"Transfer-Encoding" for k, _ in headers)
    if not chunked and (body or method in ("POST", "PUT")):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def send(port, data):
    """Sends one request; returns (status, headers dict (lower-case names), body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        try:
            s.sendall(data)
        except OSError:
            pass                                     # answered and closed before the whole body
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines or not lines[0].startswith(b"HTTP/"):
        return None, {}, got
    status = int(lines[0].split(b" ")[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        hdrs[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    if "content-length" in hdrs:
        body = body[:int(hdrs["content-length"])]
    return status, hdrs, body


COOPR_PATHS = ("/v2/metrics/queues", "/v2/metrics/nodes/usage", "/v2/apikeys", "/v2/nodes/events", "/v2/queues/events")


def error_body_ok(method, path, status, hdrs, body):
    """Whether body is the error body of the API that path (as sent) belongs to."""
    if method == "HEAD":
        return True
    p = path.split("?", 1)[0].strip()        # libmicrohttpd trims the URL
    p = re.sub(r"^https?://[^/]*", "", p, flags=re.I) or "/"    # the absolute form names the path after its host
    while len(p) > 1 and p.endswith("/"):
        p = p[:-1]
    text = body.decode("utf-8", "replace")
    if p == "/api/uid/assign" and status == 400 and "_errors" in text:
        return True                                 # OpenTSDB's answer to a failed assignment
    if p == "/api/put" and status == 400 and "\"errors\"" in text and "\"failed\"" in text:
        return True                                 # OpenTSDB's put answer with ?details
    if p.startswith("/api/v0/exec"):
        return "x-warp10-error-message" in hdrs or f"<title>Error {status}" in text
    if p.startswith("/api/v0/") or p == "/api/v0":
        return f"<title>Error {status}" in text
    if p in COOPR_PATHS:
        return hdrs.get("content-type", "").startswith("text/plain") and len(body) > 0
    if p.startswith("/dedicatedCloud/"):
        try:
            return isinstance(json.loads(text).get("message"), str)
        except ValueError:
            return False
    if p == "/v2" or p.startswith("/v2/"):
        if hdrs.get("content-type", "").startswith("application/xml"):
            return "<error_message>" in text and "<faultstring>" in text
        try:
            return isinstance(json.loads(text)["error_message"]["faultstring"], str)
        except (ValueError, KeyError, TypeError):
            return False
    # OpenTSDB's, also for paths no route claims
    try:
        e = json.loads(text)["error"]
        return e["code"] == status and isinstance(e["message"], str)
    except (ValueError, KeyError, TypeError):
        return False


def documented_5xx(method, path, status, hdrs, body):
    """The 5xx answers the emulated APIs document for bad input, in their
    own error body: OpenTSDB's 500 for what /api/query/exp cannot read and
    501 for the endpoints it has not implemented; Warp 10's 500 for a
    WarpScript error (with X-Warp10-Error-Message)."""
    p = path.split("?", 1)[0]
    if not error_body_ok(method, path, status, hdrs, body):
        return False
    if status == 500 and (p.startswith("/api/query/exp") or p.startswith("/api/query/gexp")):
        return True
    if status == 500 and p.startswith("/api/v0/exec"):
        return "x-warp10-error-message" in hdrs
    if status == 501 and p.startswith("/api/") and not p.startswith("/api/v0/"):
        return b"not been implemented" in body
    return False


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_malformed_corpus(ctx):
    token = ctx.token("e2e-fuzz", "read,write,admin")
    ctx.tenant("e2e-fuzz-coopr")
    ctx.add_days(1700000000)  # the corpus's day, not left writable by an earlier test when run alone
    coopr = coopr_su(ctx)
    port = free_port(ctx.port + 60)
    proc = spawn(ctx, port, {"VSCOPE_LOG_LEVEL": "warn"}, LOG)
    corpus = generate(random.Random(SEED), token, coopr)
    results = [None] * len(corpus)
    t0 = time.monotonic()
    try:
        def work(indices):
            for i in indices:
                family, method, path, headers, body, what = corpus[i]
                data = raw_request(method, path, headers, body)
                try:
                    results[i] = send(port, data)
                except OSError as e:
                    results[i] = (None, {}, repr(e).encode())

        def run(indices):
            threads = [threading.Thread(target=work, args=(indices[w::WORKERS],)) for w in range(WORKERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        warm = list(range(len(corpus) // 4))
        run(warm)
        rss_warm = rss_kb(proc.pid)
        run(list(range(len(corpus))))
        rss_end = rss_kb(proc.pid)
        assert proc.poll() is None, "vscoped died"
        assert_status(ctx.get("/api/version", port=port), 200)
        # a valid request is still served as before
        assert_status(ctx.post("/api/put", PUT, token=token, port=port), 204)
    finally:
        stop(proc)
    elapsed = time.monotonic() - t0

    by_status = collections.Counter()
    documented = collections.Counter()
    bad = []
    # what libmicrohttpd answered itself, or did not answer, for a look by hand
    mhd = open(os.path.join(ctx.test_dir, "malformed_libmicrohttpd.txt"), "w")
    for (family, method, path, headers, body, what), (status, hdrs, rbody) in zip(corpus, results):
        by_status[status] += 1
        line = f"{status} for {what}: {method} {path[:120]!r} {body[:120]!r} -> {rbody[:200]!r}"
        mhd_page = status is not None and re.search(rb"<title>Request (malformed|too big)</title>", rbody)
        if status is None or mhd_page:
            mhd.write(f"{status} {what}: {method!r} {path[:200]!r} headers {[(k[:20], len(v)) for k, v in headers]} "
                      f"body {body[:40]!r} -> {rbody[:120]!r}\n")
        head_size = len(path) + sum(len(k) + len(v) for k, v in headers)
        if status is None:
            # a request line with no method (it begins with a space):
            # libmicrohttpd 0.9.75 fails it before any callback and shuts
            # the connection down, so no answer is possible
            if what == "framing" and method == "":
                documented["closed by libmicrohttpd"] += 1
            else:
                bad.append((0, line))
        elif 400 <= status < 500:
            if mhd_page:
                # libmicrohttpd's own page, with no callback to vscoped:
                # a chunk size it cannot read, or a request line or header
                # past connection-memory
                if what == "framing" and (b"Transfer-Encoding", b"chunked") in headers and status == 400:
                    documented["libmicrohttpd's page: chunked framing"] += 1
                elif status in (414, 431) and head_size > CONNECTION_MEMORY // 2:
                    documented["libmicrohttpd's page: past connection-memory"] += 1
                else:
                    bad.append((0, "libmicrohttpd's page: " + line))
            elif what == "framing" and error_body_ok("GET", "/", status, hdrs, rbody):
                # a request line that makes no path: OpenTSDB's 404
                documented["no route"] += 1
            elif not error_body_ok(method, path, status, hdrs, rbody):
                bad.append((1, f"not in {family}'s error body: " + line))
        elif 200 <= status < 300:
            pass                                    # the mutation left it valid
        elif documented_5xx(method, path, status, hdrs, rbody):
            documented[status] += 1
        else:
            bad.append((0, line))
    refused = sum(n for s, n in by_status.items() if s is not None and 400 <= s < 500)
    summary = ", ".join(f"{n} x {s}" for s, n in sorted(by_status.items(), key=lambda x: (x[0] is None, x[0] or 0)))
    print(f"    malformed corpus: {len(corpus)} requests in {elapsed:.1f} s, {refused} refused (4xx), "
          f"the 2xx still valid; by status: {summary}; documented other answers: {dict(documented)}; "
          f"RSS {rss_warm // 1024} MB after the warm-up, {rss_end // 1024} MB at the end")
    bad.sort(key=lambda b: b[0])
    assert not bad, f"{len(bad)} bad answers, the first:\n" + "\n".join(b[1] for b in bad[:25])
    assert refused >= 1000, f"only {refused} requests of the corpus were malformed (4xx)"
    assert rss_end - rss_warm < RSS_GROWTH_MB * 1024, f"vscoped's RSS grew from {rss_warm} kB to {rss_end} kB"


def test_unknown_paths_answer_in_their_api_format(ctx):
    """A path no route claims under Warp 10's /api/v0 gets Jetty's page,
    as a Warp 10 client expects; elsewhere OpenTSDB's body."""
    for path in ("/api/v0/fetch/x", "/api/v0/nothing", "/api/v0", "/api/v0/update/%ff"):
        r = ctx.get(path)
        assert_status(r, 404)
        assert r.header("Content-Type").startswith("text/html"), r
        assert "<title>Error 404 Endpoint not found" in r.body and "HTTP ERROR 404" in r.body, r
    r = ctx.get("/api/v0x")
    assert_status(r, 404)
    assert r.json()["error"]["code"] == 404, r


def test_query_and_header_limits_of_connection_memory(ctx):
    """What libmicrohttpd keeps per connection (connection-memory) bounds
    the request line, the headers and the query parameters.  A query with
    1,000 parameters, or a long header, reaches vscoped; a query with more
    parameters than fit gets the API's own 414 (libmicrohttpd would close
    the connection without an answer); a request line or header larger
    than the connection's memory gets libmicrohttpd's own 414 or 431 page,
    never silence.  A sweep over parameter counts and lengths around the
    bound finds no request left unanswered."""
    token = ctx.token("e2e-fuzz", "read,write,admin")
    port = free_port(ctx.port + 61)
    memory = 65536                     # small, so that the sweep is quick
    proc = spawn(ctx, port, {"VSCOPE_LOG_LEVEL": "warn", "VSCOPE_CONNECTION_MEMORY": str(memory)}, LOG)
    auth = [(b"X-Auth-Token", token.encode())]

    def get(path, headers=auth):
        return send(port, raw_request("GET", path, headers, b""))

    def mhd_page(body):
        return re.search(rb"<title>Request (malformed|too big)</title>", body) is not None

    try:
        # the default (192 kB) keeps 1,000 parameters: shown on the main daemon
        status, hdrs, body = send(ctx.port, raw_request("GET", "/api/suggest?type=metrics&" + "&".join(
            f"x{i}=v{i}" for i in range(1000)), auth, b""))
        assert status == 200 and isinstance(json.loads(body), list), (status, body[:200])
        # too many for 64 kB: the API's own 414, OpenTSDB's and Ceilometer's
        status, hdrs, body = get("/api/suggest?type=metrics&" + "&".join(["a=1"] * 3000))
        assert status == 414 and json.loads(body)["error"]["code"] == 414, (status, body[:200])
        assert "3001 parameters" in json.loads(body)["error"]["details"], body
        status, hdrs, body = get("/v2/meters?" + "&".join(["q.field=a"] * 3000))
        assert status == 414 and "faultstring" in json.loads(body)["error_message"], (status, body[:200])
        # a header of nearly all the memory reaches vscoped (a bad token: its 401)
        status, hdrs, body = get("/api/suggest?type=metrics", [(b"X-Auth-Token", b"t" * (memory - 4096))])
        assert status == 401 and json.loads(body)["error"]["code"] == 401, (status, body[:200])
        # past the memory: libmicrohttpd's own pages (no callback in 0.9.75 lets vscoped answer)
        status, hdrs, body = get("/api/suggest?type=metrics", [(b"X-Junk", b"j" * (2 * memory))])
        assert status == 431 and mhd_page(body), (status, body[:200])
        status, hdrs, body = get("/api/suggest?type=metrics&x=" + "u" * (2 * memory))
        assert status == 414 and mhd_page(body), (status, body[:200])
        # a request line that fits, but leaves no room for its parameters: the API's 414
        status, hdrs, body = get("/api/suggest?type=metrics&x=" + "u" * (memory - 8192))
        assert status == 414 and "too long for its query string" in json.loads(body)["error"]["details"], (status, body[:200])
        # the sweep: every request answered, in the API's form unless libmicrohttpd's 414/431
        unanswered = []
        for n in range(0, 1200, 23):
            for width in (1, 8, 40, 200):
                path = "/api/suggest?type=metrics" + "".join(f"&{'k' * width}{i}=v" for i in range(n))
                status, hdrs, body = get(path)
                if status is None:
                    unanswered.append((n, width, len(path)))
                elif status in (414, 431) and mhd_page(body):
                    pass
                elif not error_body_ok("GET", "/api/suggest", status, hdrs, body) and status != 200:
                    unanswered.append((n, width, status, body[:100]))
        assert not unanswered, f"{len(unanswered)} requests not answered in the API's form: {unanswered[:10]}"
        assert proc.poll() is None
    finally:
        stop(proc)


def test_absolute_form_names_its_path(ctx):
    """A request line in the absolute form (http://host/path, which RFC
    9112 has servers accept) is routed by its path, and answered in that
    path's API's form."""
    status, hdrs, body = send(ctx.port, raw_request("GET", "http://127.0.0.1/api/version", [], b""))
    assert status == 200 and "version" in json.loads(body), (status, body[:200])
    status, hdrs, body = send(ctx.port, raw_request("GET", "HTTPS://example/v2/nothing?x=1", [], b""))
    assert status in (401, 404) and "faultstring" in json.loads(body)["error_message"], (status, body[:200])
