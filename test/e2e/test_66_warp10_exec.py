"""Warp 10's POST /api/v0/exec: WarpScript over HTTP.  The answer's form
(the stack as JSON, top first, and the X-Warp10-* headers with CORS), a
failing script's (500, X-Warp10-Error-Line and -Message, Jetty's page),
FETCH and FIND with tokens and tenancy, and scripts meant to hurt (deep
recursion, huge lists, endless loops, giant buckets) stopped by the limits
with a clean error while the database stays up."""
import gzip

from vstest import assert_status

A = "e2e-w10x-a"
B = "e2e-w10x-b"
T0 = 1700000000          # 2023-11-14T22:13:20Z
EXPOSED = {"X-Warp10-Elapsed", "X-Warp10-Ops", "X-Warp10-Fetched", "X-Warp10-Timeunit"}
ERROR_EXPOSED = {"X-Warp10-Error-Line", "X-Warp10-Error-Position", "X-Warp10-Error-Message"}


def setup(ctx):
    ctx.add_days(T0 - 86400, T0 + 86400)
    points = []
    for i, (h1, h2) in enumerate([(10.5, 1), (20.5, 2), (30.0, 4)]):
        ts = (T0 + 60 * i) * 1000
        points.append({"metric": "e2e.w10x.cpu", "timestamp": ts, "value": h1,
                       "tags": {"datacenter": "dc1", "host": "h1"}})
        points.append({"metric": "e2e.w10x.cpu", "timestamp": ts, "value": h2,
                       "tags": {"datacenter": "dc1", "host": "h2"}})
    assert_status(ctx.post("/api/put", points, token=ctx.token(A, "write")), 204)
    assert_status(ctx.post("/api/put", [{"metric": "e2e.w10x.cpu", "timestamp": T0 * 1000,
                                        "value": 999.0, "tags": {"datacenter": "dc1", "host": "h1"}}],
                           token=ctx.token(B, "write")), 204)


def exec_(ctx, script, method="POST", path="/api/v0/exec", **kw):
    return ctx.request(method, path, body=script, **kw)


def assert_ok(r):
    assert_status(r, 200)
    assert r.header("Content-Type").startswith("application/json"), r.headers
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert r.header("X-Warp10-Timeunit") == "1000000"
    assert set(r.header("Access-Control-Expose-Headers").split(",")) == EXPOSED
    assert int(r.header("X-Warp10-Elapsed")) > 0
    return r.json()


def assert_script_error(r, line, *parts):
    """A failing script: 500, the error headers, Jetty's page with the line."""
    assert_status(r, 500)
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert set(r.header("Access-Control-Expose-Headers").split(",")) == EXPOSED | ERROR_EXPOSED
    assert r.header("X-Warp10-Error-Line") == str(line), r.headers
    msg = r.header("X-Warp10-Error-Message")
    assert msg is not None and msg.startswith("Exception at '"), r.headers
    for part in parts:
        assert part in msg, (part, msg)
    assert r.header("Content-Type").startswith("text/html")
    assert f"ERROR line #{line}: " in r.body, r.body
    return msg


def server_start(ctx):
    return ctx.scalar("SELECT pg_postmaster_start_time()")


# ---- the answer ----

def test_grafana_connection_test_needs_no_token(ctx):
    r = exec_(ctx, "1 2 +")
    assert assert_ok(r) == [3]
    assert r.header("X-Warp10-Ops") == "3"
    assert r.header("X-Warp10-Fetched") == "0"


def test_any_method_and_the_2018_path_suffix(ctx):
    for method in ("POST", "GET", "PUT"):
        assert assert_ok(exec_(ctx, "'a' 'b' +", method=method)) == ["ab"], method
    assert assert_ok(exec_(ctx, "42", path="/api/v0/exec/warpscript")) == [42]
    # an empty script answers an empty stack
    assert assert_ok(exec_(ctx, "")) == []


def test_the_stack_is_answered_top_first_in_warp10_json(ctx):
    script = "1 2.0 1.0E7 'é' true NULL [ 1 { 'k' NaN } ] <% 1 2 + %> 10 mapper.add"
    r = exec_(ctx, script)
    assert_status(r, 200)
    # Java's number forms, NaN bare, non-ASCII escaped, macros and functions as text
    assert r.body == ('["10 mapper.add","<% 1 2 + %>",[1,{"k":NaN}],null,true,"\\u00E9",'
                      '1.0E7,2.0,1]'), r.body


def test_a_gzip_body_and_a_browser_preflight(ctx):
    r = exec_(ctx, gzip.compress(b"1 2 +\n3 *"), headers={"Content-Type": "application/gzip"})
    assert assert_ok(r) == [9]
    r = exec_(ctx, b"not gzip", headers={"Content-Type": "application/gzip"})
    assert_status(r, 500)
    assert "gzip" in r.header("X-Warp10-Error-Message")
    r = exec_(ctx, None, method="OPTIONS", headers={"Origin": "http://grafana.example",
                                                    "Access-Control-Request-Method": "POST"})
    assert_status(r, 200)
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert "POST" in r.header("Access-Control-Allow-Methods")


def test_a_multiline_script_reports_the_failing_line(ctx):
    r = exec_(ctx, "1\n2\n// a comment\n+ NOSUCH 3\n4")
    assert_script_error(r, 4, "=>NOSUCH<=", "in section [TOP]", "(Unknown function 'NOSUCH')")
    assert r.header("X-Warp10-Ops") == "4"
    r = exec_(ctx, "LINEON\n1\nDROP DROP")
    assert_script_error(r, 3, "in section [Line #3]", "Empty stack.")


def test_errors_inside_macros_nest_as_warp10_prints_them(ctx):
    r = exec_(ctx, "<% 1 0 / %> 'm' STORE\n@m")
    assert_script_error(r, 2, "Exception at '=>@m<=' in section [TOP] "
                              "(Exception at '/' in section '[TOP]' (/ by zero))")


def test_unbalanced_and_lexer_errors(ctx):
    assert_status(exec_(ctx, "<% 1"), 500)
    assert exec_(ctx, "<% 1").header("X-Warp10-Error-Message") == "Unbalanced <% construct."
    assert_script_error(exec_(ctx, "'no end"), 1, "Cannot find end of string")
    assert_script_error(exec_(ctx, "'%zz'"), 1, "URLDecoder")


def test_bodies_that_are_not_scripts(ctx):
    r = exec_(ctx, b"1 \x00 2")
    assert_status(r, 500)
    assert "NUL" in r.header("X-Warp10-Error-Message")
    r = exec_(ctx, b"'\xff\xfe'")
    assert_status(r, 500)
    assert r.header("X-Warp10-Error-Message"), r.headers
    assert_ok(exec_(ctx, "1 2 +"))


# ---- FETCH and FIND ----

def test_fetch_with_a_token_reads_its_tenant(ctx):
    tok = ctx.token(A, "read")
    script = (f"'{tok}' 'token' STORE\n"
              f"[ $token 'e2e.w10x.cpu' {{ 'datacenter' 'dc1' }} {(T0 + 120) * 1000000} 180000000 ] FETCH\n"
              "[ SWAP bucketizer.mean 0 2 m 0 ] BUCKETIZE\n"
              "[ SWAP [ 'datacenter' ] reducer.sum ] REDUCE")
    r = exec_(ctx, script)
    assert assert_ok(r) == [[{"c": "e2e.w10x.cpu", "l": {"datacenter": "dc1"}, "a": {}, "la": 0,
                              "v": [[1700000040000000, 11.5], [1700000160000000, 28.25]]}]]
    assert r.header("X-Warp10-Fetched") == "6"
    # the last point of each series, newest first in each GTS
    r = exec_(ctx, f"[ '{tok}' '~e2e.w10x.*' {{}} {(T0 + 120) * 1000000} -1 ] FETCH")
    gts = assert_ok(r)[0]
    assert [(g["l"]["host"], g["v"]) for g in gts] == [("h1", [[1700000120000000, 30.0]]),
                                                    ("h2", [[1700000120000000, 4]])]
    # FIND: the series, no points
    found = assert_ok(exec_(ctx, f"[ '{tok}' '~e2e.w10x.*' {{}} ] FIND"))[0]
    assert [g["l"] for g in found] == [{"datacenter": "dc1", "host": "h1"},
                                       {"datacenter": "dc1", "host": "h2"}]
    assert all(g["v"] == [] for g in found)


def test_a_token_sees_its_own_tenant_only(ctx):
    r = exec_(ctx, f"[ '{ctx.token(B, 'read')}' '~e2e.w10x.*' {{}} {(T0 + 120) * 1000000} -10 ] FETCH")
    assert assert_ok(r) == [[{"c": "e2e.w10x.cpu", "l": {"datacenter": "dc1", "host": "h1"},
                              "a": {}, "la": 0, "v": [[1700000000000000, 999.0]]}]]


def test_a_script_cannot_switch_tenants(ctx):
    script = (f"[ '{ctx.token(A, 'read')}' '~e2e.w10x.*' {{}} ] FIND SIZE\n"
              f"[ '{ctx.token(B, 'read')}' '~e2e.w10x.*' {{}} ] FIND")
    assert_script_error(exec_(ctx, script), 2, "FIND given an invalid read token",
                        "another tenant")


def test_fetch_with_a_bad_token_or_none(ctx):
    r = exec_(ctx, "[ 'no-such-token' '~.*' {} NOW -1 ] FETCH")
    assert_script_error(r, 1, "=>FETCH<=", "FETCH given an invalid read token")
    # a revoked token
    tok = ctx.scalar(f"SELECT vscope.create_token('{A}', '{{read}}', 'e2e revoked')")
    ctx.psql(f"SELECT vscope.revoke_token(token_id) FROM vscope.list_tokens('{A}') "
             "WHERE description = 'e2e revoked'")
    assert_script_error(exec_(ctx, f"[ '{tok}' '~.*' {{}} ] FIND"), 1, "invalid read token")


def test_a_write_token_reads_too(ctx):
    # write implies read in vscope, as for /api/query
    r = exec_(ctx, f"[ '{ctx.token(A, 'write')}' '~e2e.w10x.*' {{}} NOW -1 ] FETCH")
    assert len(assert_ok(r)[0]) == 2


def test_exec_reads_nothing_without_a_token(ctx):
    # the role and tenant exec runs as: vscope_reader, none; RLS shows no series
    rows = ctx.psql("BEGIN READ ONLY;\nSELECT set_config('role', 'vscope_reader', true), "
                    "set_config('vscope.tenant', '', true) \\g /dev/null\n"
                    "SELECT count(*) FROM vscope.series;\n"
                    "SELECT stack FROM vscope.warp10_exec('1 2 +');\nCOMMIT;")
    assert rows == [["0"], ["[3]"]], rows


# ---- scripts meant to hurt ----

def test_deep_recursion_is_stopped(ctx):
    before = server_start(ctx)
    r = exec_(ctx, "<% $f EVAL %> 'f' STORE $f EVAL")
    msg = assert_script_error(r, 1, "Maximum recursion level reached (17)")
    assert len(msg) <= 1024
    assert server_start(ctx) == before
    assert assert_ok(exec_(ctx, "1 2 +")) == [3]


def test_endless_loops_are_stopped_by_the_operation_count(ctx):
    before = server_start(ctx)
    for script in ("<% true %> <% %> WHILE", "0 MAXLONG <% DROP %> FOR",
                   "<% %> <% false %> UNTIL"):
        r = exec_(ctx, script, timeout=30)
        assert_script_error(r, 1, "Operation count (100001) exceeded maximum of 100000")
        assert r.header("X-Warp10-Ops") == "100001"
    assert server_start(ctx) == before
    assert assert_ok(exec_(ctx, "1 2 +")) == [3]


def test_huge_lists_are_stopped_by_the_memory_limit(ctx):
    before = server_start(ctx)
    # a list doubled by itself 40 times, written out rather than in a FOR
    # loop: a loop is also stopped after vscope.warp10_max_loop (5 s), which
    # a loaded machine reached before the memory limit; without one, only
    # the memory limit (or statement_timeout) can stop the script
    r = exec_(ctx, "[ 1 ]" + " DUP APPEND" * 40 + " SIZE", timeout=60)
    msg = assert_script_error(r, 1, "Memory use would exceed the limit of 262144 kB")
    assert "=>APPEND<=" in msg, msg
    # a deep stack
    r = exec_(ctx, "1 1000000 <% %> FOR")
    assert_script_error(r, 1, "Stack depth would exceed set limit of 1000")
    assert server_start(ctx) == before
    assert assert_ok(exec_(ctx, "1 2 +")) == [3]


def test_giant_buckets_are_refused(ctx):
    before = server_start(ctx)
    r = exec_(ctx, "NEWGTS 0 NaN NaN NaN 1 ADDVALUE MAXLONG 2 / NaN NaN NaN 1 ADDVALUE\n"
                   "[ SWAP bucketizer.sum 0 1 0 ] BUCKETIZE")
    assert_script_error(r, 2, "Bucket count (", "would exceed maximum value of 100000")
    r = exec_(ctx, f"[ '{ctx.token(A, 'read')}' '~e2e.w10x.*' {{}} {(T0 + 120) * 1000000} 1 h ] FETCH\n"
                   "[ SWAP bucketizer.sum 0 1 0 ] BUCKETIZE")
    assert_script_error(r, 2, "Bucket count (120000001) would exceed maximum value of 100000")
    assert server_start(ctx) == before


def test_many_requests_do_not_leak_a_tenant(ctx):
    # a pooled connection that ran a FETCH (bound to A) serves the next
    # request with no tenant: a FETCH with B's token is fine
    tok_a, tok_b = ctx.token(A, "read"), ctx.token(B, "read")
    for _ in range(3):
        assert_status(exec_(ctx, f"[ '{tok_a}' '~e2e.w10x.*' {{}} ] FIND"), 200)
        r = exec_(ctx, f"[ '{tok_b}' '~e2e.w10x.*' {{}} ] FIND")
        assert [g["l"]["host"] for g in assert_ok(r)[0]] == ["h1"]
