#!/usr/bin/env python3
"""Fuzzes the parsers inside the extension through SQL.

Valid inputs (harvested from the pg_regress files in test/sql, plus a few
written here) for every SQL function that parses what a client sends are
mutated -- byte flips, truncation, deep nesting, huge numbers, invalid
UTF-8, NUL escapes, duplicate keys, JSON type swaps, swaps of operators and
field names taken from the other inputs -- and the functions are called
directly, each case in its own transaction, rolled back.

A case passes when it answers or fails with a clean SQLSTATE.  It fails when
the error is XX000 (internal_error: an elog(ERROR) or an unexpected state)
or the connection is lost (a backend crash); at the end the postmaster's log
is searched for crashed backends and AddressSanitizer reports.

Deterministic: case i of seed s is a function of (s, i) only, so a failure
is replayed with --seed s --case i.  Needs psycopg2 (python3-psycopg2).

Usage: sqlfuzz.py --dsn DSN [--seed N] [--cases N] [--seconds S]
                  [--log POSTMASTER_LOG] [--setup] [--case I] [-v]
Prints one line "sqlfuzz: N cases, F failed, ..." and exits 1 on a failure.
"""
import argparse
import glob
import json
import os
import random
import re
import sys
import time

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TENANT = "sqlfuzz"
TIME_SQL = "vscope._tsdb_time_ms"

# ---- the targets ----
# name: (SQL with %s for the fuzzed argument(s), functions whose literal
# arguments in test/sql are the seeds, the position of the fuzzed argument
# among their arguments, extra seeds, kind "json" or "text")
TARGETS = {
    "put": ("SELECT vscope.put(%s, true)", ["vscope.put"], 0, [
        '{"metric":"sys.cpu","timestamp":1356998400,"value":18,"tags":{"host":"web01","dc":"lga"}}',
        '[{"metric":"sys.cpu","timestamp":1356998400000,"value":1.5e3,"tags":{"host":"a"}},'
        '{"metric":"sys.mem","timestamp":"1356998400","value":"42","tags":{"host":"a"}}]',
    ], "text"),
    "put_lines": ("SELECT vscope.put_lines(%s)", ["vscope.put_lines"], 0, [
        "put sys.cpu 1356998400 1 host=a dc=b\nput sys.cpu 1356998460.250 2.5 host=a",
    ], "text"),
    "parse_m": ("SELECT * FROM vscope.tsdb_parse_m(%s)", ["vscope.tsdb_parse_m"], 0, [
        "sum:1h-avg:rate{counter,100,0}:sys.cpu{host=web01|web02,dc=*}{env=literal_or(prod)}",
        "zimsum:0all-max-nan:explicit_tags:sys.cpu{host=regexp(web.*)}",
        "p99:10m-p95-zero:percentiles[50,99]:rate:a.b",
    ], "text"),
    "time_ms": ("SELECT vscope._tsdb_time_ms(%s, 'UTC')", [TIME_SQL], 0, [
        "1356998400", "1356998400123", "1h-ago", "3w-ago", "2013/01/01-00:00:00",
        "2013/01/01 12:30", "2013/01/01-00:00:00.123", "now", "1356998400.5",
    ], "text"),
    "query": ("SELECT vscope.tsdb_query(%s::jsonb)", ["vscope.tsdb_query"], 0, [
        '{"start":1356998400,"end":1356998460,"queries":[{"aggregator":"sum","metric":"vscope.host.cpu.usage.perc",'
        '"downsample":"1m-avg-nan","rate":true,"rateOptions":{"counter":true,"counterMax":100,"resetValue":1},'
        '"filters":[{"type":"wildcard","tagk":"host","filter":"*","groupBy":true},'
        '{"type":"literal_or","tagk":"dc","filter":"a|b"}]}],"showQuery":true,"msResolution":true}',
        '{"start":"1h-ago","queries":[{"aggregator":"p99","metric":"vscope.vm.cpu.ready","tags":{"vm":"*"},'
        '"percentiles":[50,99.9],"explicitTags":true}],"timezone":"Europe/Paris","useCalendar":true}',
    ], "json"),
    "query_get": ("SELECT vscope.tsdb_query_get(%s::jsonb)", ["vscope.tsdb_query_get"], 0, [
        '{"start":["1d-ago"],"m":["sum:1h-avg:rate:vscope.host.cpu.usage.perc{host=*}"],"tsuid":[],"ms":["true"]}',
    ], "json"),
    "query_exp": ("SELECT vscope.tsdb_query_exp(%s::jsonb)", ["vscope.tsdb_query_exp"], 0, [
        '{"time":{"start":"1d-ago","aggregator":"sum","downsampler":{"interval":"1h","aggregator":"avg",'
        '"fillPolicy":{"policy":"nan"}},"rate":false},'
        '"filters":[{"id":"f1","tags":[{"type":"wildcard","tagk":"host","filter":"*","groupBy":true}]}],'
        '"metrics":[{"id":"a","metric":"vscope.host.net.rx","filter":"f1","fillPolicy":{"policy":"zero"}},'
        '{"id":"b","metric":"vscope.host.net.tx","filter":"f1"}],'
        '"expressions":[{"id":"e","expr":"a + b * 2","join":{"operator":"intersection"}},'
        '{"id":"f","expr":"(e - a) / b"}],"outputs":[{"id":"e","alias":"sum"},{"id":"f"}]}',
    ], "json"),
    "query_gexp": ("SELECT vscope.tsdb_query_gexp(%s::jsonb)", ["vscope.tsdb_query_gexp"], 0, [
        '{"start":["1d-ago"],"exp":["scale(sum:vscope.host.net.rx{host=*},10)"]}',
        '{"start":["1d-ago"],"exp":["highestMax(movingAverage(sum:vscope.host.net.rx{host=*},\'5m\'),2)"]}',
        '{"start":["1d-ago"],"exp":["alias(absolute(diffSeries(sum:a.b,sum:c.d)),\'@host\')"]}',
    ], "json"),
    "last": ("SELECT vscope.tsdb_last(%s::jsonb)", ["vscope.tsdb_last"], 0, [], "json"),
    "last_get": ("SELECT vscope.tsdb_last_get(%s::jsonb)", ["vscope.tsdb_last_get"], 0, [
        '{"timeseries":["vscope.host.cpu.usage.perc{host=*}"],"back_scan":["24"],"resolve":["true"]}',
    ], "json"),
    "lookup": ("SELECT vscope.tsdb_lookup(%s::jsonb)", ["vscope.tsdb_lookup"], 0, [], "json"),
    "lookup_get": ("SELECT vscope.tsdb_lookup_get(%s::jsonb)", ["vscope.tsdb_lookup_get"], 0, [
        '{"m":["vscope.host.cpu.usage.perc{host=*}"],"limit":["3"],"useMeta":["false"]}',
    ], "json"),
    "suggest": ("SELECT vscope.tsdb_suggest('metrics', %s, '10')", ["vscope.tsdb_suggest"], 1,
                ["vscope.", "vscope.h%", "\\"], "text"),
    "delete_get": ("SELECT vscope.tsdb_query_delete_get(%s::jsonb)", ["vscope.tsdb_query_delete_get"], 0, [
        '{"start":["1h-ago"],"m":["sum:vscope.host.cpu.usage.perc{host=x}"]}',
    ], "json"),
    "ceilo_filter": ("SELECT vscope.ceilometer_filter_sql(%s)", ["vscope.ceilometer_filter_sql"], 0, [
        '{"and": [{"=": {"meter": "cpu"}}, {"or": [{">": {"volume": 10}}, {"<=": {"timestamp": "2012-09-25T10:30:00"}}]},'
        '{"not": {"in": {"resource_id": ["a", "b"]}}}, {"=~": {"metadata.flavor.name": "m1.*"}}, {"!=": {"project": "p1"}}]}',
    ], "text"),
    "ceilo_orderby": ("SELECT vscope.ceilometer_orderby_sql(%s)", ["vscope.ceilometer_orderby_sql"], 0, [
        '[{"volume": "desc"}, {"timestamp": "asc"}, {"metadata.a.b": "ASC"}]',
    ], "text"),
    "ceilo_query": ("SELECT vscope.ceilometer_query_samples(%s)", ["vscope.ceilometer_query_samples"], 0, [
        '{"filter": "{\\"and\\": [{\\"=\\": {\\"meter\\": \\"cpu\\"}}, {\\">\\": {\\"volume\\": 10}}]}",'
        ' "orderby": "[{\\"volume\\": \\"desc\\"}]", "limit": 3}',
    ], "text"),
    "ceilo_parse_ts": ("SELECT vscope._ceilo_parse_ts(%s)", ["vscope._ceilo_parse_ts"], 0, [
        "2012-09-25T10:30:00", "2012-09-25T10:30:00.123456+02:00", "2012-09-25 10:30", "2012-09-25T10:30:00Z",
    ], "text"),
    "ceilo_samples": ("SELECT vscope.ceilometer_list_samples(%s::jsonb)", ["vscope.ceilometer_list_samples"], 0, [
        '{"q.field": ["timestamp", "metadata.flavor.name", "volume"], "q.op": ["ge", "eq", "lt"],'
        ' "q.value": ["2012-09-25T10:30:00", "m1.small", "3.5"], "q.type": ["", "string", "float"], "limit": ["5"]}',
    ], "json"),
    "ceilo_stats": ("SELECT vscope.ceilometer_statistics('cpu', %s::jsonb)", ["vscope.ceilometer_statistics"], 1, [
        '{"period": ["3600"], "groupby": ["project_id", "resource_id"], "aggregate.func": ["cardinality", "avg"],'
        ' "aggregate.param": ["resource_id", ""], "q.field": ["timestamp"], "q.op": ["gt"], "q.value": ["2012-09-25"]}',
    ], "json"),
    "ceilo_events": ("SELECT vscope.ceilometer_list_events(%s::jsonb)", ["vscope.ceilometer_list_events"], 0, [
        '{"q.field": ["event_type", "start_timestamp", "trait_x"], "q.op": ["eq", "ge", "lt"],'
        ' "q.value": ["compute.*", "2016-03-02T10:00:00", "5"], "q.type": ["string", "", "integer"], "limit": ["2"]}',
    ], "json"),
    "ceilo_post": ("SELECT vscope.ceilometer_post_samples('cpu', %s)", ["vscope.ceilometer_post_samples"], 1, [
        '[{"counter_name": "cpu", "counter_type": "gauge", "counter_unit": "%", "counter_volume": 1.5,'
        ' "resource_id": "r1", "timestamp": "2012-09-25T10:30:00", "resource_metadata": {"a": {"b": [1, 2]}},'
        ' "project_id": "p", "user_id": "u", "source": "s", "message_id": "m"}]',
    ], "text"),
    "ceilo_pub_samples": ("SELECT vscope.ceilometer_publish_samples(%s)", ["vscope.ceilometer_publish_samples"],
                          0, [], "text"),
    "ceilo_pub_events": ("SELECT vscope.ceilometer_publish_events(%s)", ["vscope.ceilometer_publish_events"],
                         0, [], "text"),
    "ceilo_request": ("SELECT * FROM vscope.ceilometer_request('GET', %s, '{}', NULL, 'http://x')", [], 0, [
        "/v2/meters/cpu/statistics", "/v2/samples/00000001-7000-0000-0000-000000000000", "/v2/resources/r%2F1",
        "/v2/events/x/traits", "/v2/event_types/a/traits/b", "/v2/query/samples", "/v2/capabilities",
    ], "text"),
    "ceilo_sample_id": ("SELECT vscope.ceilometer_get_sample(%s)", ["vscope.ceilometer_get_sample"], 0, [
        "00000001-7000-0000-0000-000000000000", "00000001-0004-CA84-3033-3A0000000000",
    ], "text"),
    "coopr_node_events": ("SELECT vscope.coopr_node_events(%s)", ["vscope.coopr_node_events"], 0, [
        '{"tenants": ["t1"], "events": [{"tenant": "t1", "user": "u1", "cluster": "1", "node": "n1",'
        ' "action": "CREATE", "status": "complete", "time": 1400000000}]}',
    ], "text"),
    "coopr_queue_events": ("SELECT vscope.coopr_queue_events(%s)", ["vscope.coopr_queue_events"], 0, [
        '{"ops": [{"tenant": "t1", "op": "add", "task": "A1"}, {"tenant": "t1", "op": "take", "task": "A1"}]}',
    ], "text"),
    "coopr_apikey": ("SELECT vscope.coopr_apikey_request(%s)", ["vscope.coopr_apikey_request"], 0, [
        '{"tenant": "t1", "user": "u1"}',
    ], "text"),
    "coopr_usage": ("SELECT vscope.coopr_node_usage(%s, '1500000000', NULL, NULL, 'hour', 'hours')",
                    ["vscope.coopr_node_usage"], 0, ["1400000000", "0", "-5"], "text"),
    "inventory": ("SELECT vscope.register_inventory(%s::jsonb)", ["vscope.register_inventory"], 0, [
        '{"datacenters": [{"datacenter_id": 1, "name": "dc1"}],'
        ' "hosts": [{"datacenter_id": 1, "host_id": 7, "name": "10.0.0.7", "cpu_max": 1000, "ram_gb": 8}],'
        ' "vms": [{"datacenter_id": 1, "vm_id": 3, "name": "vm-3", "host_id": 7}],'
        ' "filers": [{"datacenter_id": 1, "filer_id": 2, "name": "pcc-1", "size_gb": 100}]}',
    ], "json"),
    "w10_find": ("SELECT * FROM vscope.warp10_find(NULL, %s)", ["vscope.warp10_find"], 1, [
        "~vscope.host.*{host~172.*,dc=x}", "=vscope.vm.cpu.ready{vm=vm-01254} a{b=c}", "my%20class{a~b.*}",
    ], "text"),
    "w10_fetch": ("SELECT vscope.warp10_fetch_request(current_setting('sqlfuzz.token'), %s::jsonb)", ["vscope.warp10_fetch_request"], 1, [
        '{"selector": "~vscope.*{}", "now": "now", "timespan": "-10", "format": "fulltext", "dedup": "true"}',
        '{"selector": "~.*{host~.*}", "start": "2013-01-01T00:00:00Z", "end": "now", "format": "tsv", "showattr": "true"}',
    ], "json"),
    "w10_find_req": ("SELECT vscope.warp10_find_request(current_setting('sqlfuzz.token'), %s::jsonb)", ["vscope.warp10_find_request"], 1, [
        '{"selector": "~.*{}", "format": "json", "gskip": "1", "gcount": "2", "showattr": "true"}',
    ], "json"),
    "w10_update": ("SELECT vscope.warp10_update(%s)", ["vscope.warp10_update"], 0, [
        "1700000000000000// a{k=v} 1\n=1700000000000001// 2.5\n1700000000000002/48.5:2.3/10 b{} T\n",
    ], "text"),
    "w10_exec": ("SELECT * FROM vscope.warp10_exec(%s)", ["vscope.warp10_exec", "pg_temp.ws"], 0, [
        "[ NULL '~vscope.host.*' {} NOW 1 h ] FETCH bucketizer.mean 0 1 m 0 ] BUCKETIZE"
        " [ SWAP [ 'host' ] reducer.sum ] REDUCE",
    ], "text"),
}

# The internal C functions (callable from SQL, so by sqlsmith and by anyone
# granted them), called with edge values of their argument types: a
# template with {type} placeholders, each filled from the pool of that type.
POOLS = {
    "f8arr": ["NULL", "'{}'", "'{NULL}'", "'{1,2}'", "'{1,2,3,4,5,6}'", "'{{1,2,3},{4,5,6}}'",
              "'[0:5]={1,2,3,4,5,6}'", "'{1,NULL,3,4,5,6}'", "'{NaN,Infinity,-Infinity,1e308,-1e308,0}'",
              "'{-1,2,3,4,5,6}'", "'{0,0,0,0,0,0}'", "'{1e308,1e308,1e308,1e308,1e308,1e308}'",
              "array_fill(1::float8, ARRAY[100000])", "'{50,1,2,3}'", "'{101,1}'", "'{-5,1}'"],
    "f8": ["NULL", "0", "-1", "50", "100", "101", "'NaN'", "'Infinity'", "'-Infinity'", "1e308", "-0.0"],
    "intarr": ["NULL", "'{}'", "'{NULL}'", "'{1}'", "'{1,2,3}'", "'{-1}'", "'{2147483647}'", "'{{1},{2}}'",
               "(SELECT array_agg(id) FROM vscope.series)", "array_fill(1, ARRAY[10000])"],
    "int": ["NULL", "0", "-1", "1", "2147483647", "-2147483648", "(SELECT min(id) FROM vscope.series)"],
    "bigint": ["NULL", "0", "-1", "9223372036854775807", "-9223372036854775808", "1700000000000000"],
    "ts": ["NULL", "now()", "'-infinity'", "'infinity'", "'4713-01-01 00:00 BC'", "'294276-12-31 23:59'",
           "'1970-01-01'", "now() - interval '1 hour'", "'2000-01-01'"],
    "text": ["NULL", "''", "' '", "'x'", "'1h-avg'", "'0all-sum'", "'1dc-avg'", "'1n-max-nan'", "'1ms-p99-zero'",
             "'9999999999999y-avg'", "'UTC'", "'Europe/Paris'", "'+14'", "'no/such/zone'", "'count'",
             "'cardinality/resource_id'", "'avg'", "repeat('a', 100000)", "'%'", "'\\'"],
    "textarr": ["NULL", "'{}'", "'{NULL}'", "'{avg}'", "'{cardinality/x,cardinality/y}'", "'{nosuch}'",
                "'{count,sum,min,max,avg,stddev}'"],
    "json": ["NULL", "'{}'", "'[]'", "'null'", "'{\"a\": 1}'", "'[1, [2]]'"],
    "date": ["NULL", "current_date", "'-infinity'", "'infinity'", "'4713-01-01 BC'", "'5874897-12-31'"],
}
CALLS = [
    "SELECT vscope._stats_accum({f8arr}, {f8})",
    "SELECT vscope._stats_combine({f8arr}, {f8arr})",
    "SELECT vscope._stats_final({f8arr})",
    "SELECT vscope._pct_accum({f8arr}, {f8}, {f8})",
    "SELECT vscope._pct_combine({f8arr}, {f8arr})",
    "SELECT vscope._pct_final_legacy({f8arr})",
    "SELECT vscope._pct_final_r3({f8arr})",
    "SELECT vscope._pct_final_r7({f8arr})",
    "SELECT vscope.percentile(x, {f8}) FROM unnest({f8arr}::float8[]) x",
    "SELECT vscope._ceilo_stats_row({text}, {bigint}, {ts}, {ts}, {ts}, {ts}, {json}, {f8arr}, {textarr}, {f8arr})",
    "SELECT count(*) FROM vscope.read_points({intarr}, {ts}, {ts})",
    "SELECT count(*) FROM vscope._read_series({int}, {int}, {ts}, {ts})",
    "SELECT count(*) FROM vscope.downsample({intarr}, {ts}, {ts}, {text}, {text})",
    "SELECT count(*) FROM vscope._ceilo_read_series({int}, {int}, {ts}, {ts})",
    "SELECT count(*) FROM vscope._ceilo_sample_bounds({intarr}, {ts}, {ts})",
    "SELECT vscope._ceilo_block_max_seq({int}, {int}, {ts})",
    "SELECT vscope.ceilometer_message_id({int}, {ts}, {int})",
    "SELECT vscope._ceilo_message_id_ok({text})",
    "SELECT vscope._ceilo_ts({ts})",
    "SELECT vscope._ceilo_parse_ts({text})",
    "SELECT vscope._ceilo_float({f8})",
    "SELECT vscope._java_double({f8})",
    "SELECT vscope._tsdb_time_ms({text}, {text})",
    "SELECT vscope._tsdb_key_part({text})",
    "SELECT vscope._tsdb_check_name({text}, {text})",
    "SELECT vscope._day_not_writable({ts}, {text})",
    "SELECT count(*) FROM vscope.warp10_fetch(NULL, {text}, {bigint}, {bigint}, {bigint})",
    "SELECT vscope.delete_points({intarr}, {ts}, {ts})",
    "SELECT vscope.put_point({text}, {json}::jsonb, {ts}, {f8})",
    "SELECT vscope.put_point({text}, {json}::jsonb, {ts}, {bigint})",
    "SELECT vscope.compress({date})",
    "SELECT vscope.decompress({date})",
    "SELECT vscope.compress_samples({date})",
    "SELECT vscope.decompress_samples({date})",
]


# words swapped in by the grammar-aware mutation, besides the seeds' own
EXTRA_WORDS = [
    "=", "!=", "<", "<=", ">", ">=", "=~", "and", "or", "not", "in", "like", "eq", "ne", "lt", "le", "gt",
    "ge", "sum", "avg", "min", "max", "count", "zimsum", "mimmin", "p99", "ep999r7", "first", "last", "none",
    "dev", "1h-avg", "0all-sum", "1n-max-nan", "1ms-avg", "9999999999y-avg", "wildcard", "regexp",
    "literal_or", "iliteral_or", "not_literal_or", "timestamp", "volume", "meter", "project_id",
    "resource_id", "user_id", "message_id", "metadata.", "metadata..", "event_type", "traits", "generated",
    "FETCH", "BUCKETIZE", "REDUCE", "MAP", "FILTER", "EVAL", "STORE", "DUP", "SWAP", "DROP", "+", "-", "*", "/",
    "<%", "%>", "[", "]", "{", "}", "'", '"', "\\", "%", "%2", "%zz", "*", "|", ",", ":", "//", "=", "{}",
    "NaN", "Infinity", "-0", "1e308", "1e-400", "9223372036854775807", "9223372036854775808",
    "-9223372036854775809", "18446744073709551616", "2147483648", "1e19", "0x7fffffffffffffff", "",
]
HUGE = ["1e308", "-1e308", "1e999", "1e-999", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "-9223372036854775809", "99999999999999999999999999999999",
        "4294967296", "2147483648", "-2147483649", "0", "-0", "0.0000000000000001", "253402300800",
        "253402300800000", "-62135596801", "1" * 400, "NaN", "Infinity", "-Infinity", "0x10", "1.7976931348623157e308"]


# ---- seeds from test/sql ----
def _literal_at(text, i):
    """The SQL literal starting at text[i] ('...' or E'...' or $$...$$ or
    $tag$...$tag$) as (value, end) or None."""
    m = re.match(r"E'((?:[^'\\]|\\.|'')*)'", text[i:], re.S)
    if m:
        raw = m.group(1).replace("''", "'")
        try:
            return raw.encode("latin-1", "backslashreplace").decode("unicode_escape"), i + m.end()
        except Exception:
            return None
    m = re.match(r"'((?:[^']|'')*)'", text[i:], re.S)
    if m:
        return m.group(1).replace("''", "'"), i + m.end()
    m = re.match(r"(\$[A-Za-z_]*\$)(.*?)\1", text[i:], re.S)
    if m:
        return m.group(2), i + m.end()
    return None


def harvest(funcs, pos):
    """The literal arguments at position pos of calls of funcs in test/sql."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "test", "sql", "*.sql"))):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for fn in funcs:
            for m in re.finditer(re.escape(fn) + r"\s*\(", text):
                i = m.end()
                for argno in range(pos + 1):
                    while i < len(text) and text[i] in " \t\r\n":
                        i += 1
                    lit = _literal_at(text, i)
                    if lit is None:
                        break
                    val, i = lit
                    if argno == pos:
                        out.append(val)
                        break
                    while i < len(text) and text[i] in " \t\r\n":
                        i += 1
                    if i >= len(text) or text[i] != ",":
                        break
                    i += 1
    return out


# ---- mutations ----
def tokens(s):
    return re.findall(r"[A-Za-z_][A-Za-z0-9_.\-]*|-?[0-9][0-9.eE+\-]*|\s+|.", s, re.S)


def json_mutate(rng, v, words, depth=0):
    """A copy of the JSON value v with one structural change somewhere."""
    if isinstance(v, dict) and v and rng.random() < 0.7:
        k = rng.choice(list(v))
        r = rng.random()
        v = dict(v)
        if r < 0.45:
            v[k] = json_mutate(rng, v[k], words, depth + 1)
        elif r < 0.6:
            del v[k]
        elif r < 0.8:
            v[rng.choice(words) if rng.random() < 0.5 else k + rng.choice(["", ".x", "s", " "])] = v[k]
        else:
            v[k] = swap_type(rng, v[k], words)
        return v
    if isinstance(v, list) and v and rng.random() < 0.7:
        v = list(v)
        j = rng.randrange(len(v))
        r = rng.random()
        if r < 0.5:
            v[j] = json_mutate(rng, v[j], words, depth + 1)
        elif r < 0.65:
            del v[j]
        elif r < 0.8:
            v.extend([v[j]] * rng.choice([1, 2, 50]))
        else:
            v[j] = swap_type(rng, v[j], words)
        return v
    if isinstance(v, str) and v[:1] in "{[" and rng.random() < 0.7:
        try:    # JSON inside a string (Ceilometer's filter and orderby)
            return json.dumps(json_mutate(rng, json.loads(v), words, depth + 1))
        except ValueError:
            pass
    if isinstance(v, str) and rng.random() < 0.6:
        return text_mutate(rng, v, words)
    return swap_type(rng, v, words)


def swap_type(rng, v, words):
    r = rng.randrange(12)
    if r == 0:
        return None
    if r == 1:
        return rng.choice([True, False])
    if r == 2:
        return json.loads(rng.choice([h for h in HUGE if h not in ("NaN", "Infinity", "-Infinity", "0x10")]))
    if r == 3:
        return rng.choice(words)
    if r == 4:
        return [v]
    if r == 5:
        return {rng.choice(words): v}
    if r == 6:
        return json.dumps(v) if not isinstance(v, str) else v + v
    if r == 7:
        return []
    if r == 8:
        return {}
    if r == 9:
        return rng.choice([0, -1, 1, 0.5, -1e-300, 2 ** 63, -2 ** 63 - 1, 10 ** 30])
    if r == 10:
        return "\u0000" if rng.random() < 0.5 else "\ud800x"[1:] + "\u00e9\u20ac\U0001f600"
    return rng.choice(["", " ", "*", "%", "\\", "'", '"', "null", "1e999"])


def text_mutate(rng, s, words):
    """One textual change to s (a str)."""
    r = rng.randrange(14)
    n = len(s)
    if r == 0 and n:        # truncate
        return s[:rng.randrange(n)]
    if r == 1 and n:        # delete a range
        i = rng.randrange(n)
        return s[:i] + s[i + rng.randint(1, 16):]
    if r == 2 and n:        # duplicate a range
        i = rng.randrange(n)
        j = min(n, i + rng.randint(1, 64))
        return s[:j] + s[i:j] * rng.choice([1, 2, 100]) + s[j:]
    if r == 3:              # insert a random character
        i = rng.randint(0, n)
        return s[:i] + chr(rng.choice([rng.randrange(1, 128), rng.randrange(128, 0x800),
                                        rng.randrange(0x800, 0xd800), rng.randrange(0x10000, 0x110000)])) + s[i:]
    if r == 4 and n:        # flip a bit of a character
        i = rng.randrange(n)
        c = ord(s[i]) ^ (1 << rng.randrange(7))
        return s[:i] + (chr(c) if c else " ") + s[i + 1:]
    if r in (5, 6, 7):      # grammar-aware: swap a token for another input's
        t = tokens(s)
        if t:
            i = rng.randrange(len(t))
            t[i] = rng.choice(words)
            return "".join(t)
    if r == 8:              # a huge or odd number in place of a number
        nums = list(re.finditer(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", s))
        if nums:
            m = rng.choice(nums)
            return s[:m.start()] + rng.choice(HUGE) + s[m.end():]
    if r == 9:              # deep nesting
        d = rng.choice([10, 100, 1000, 5000, 20000])
        o, c = rng.choice([("[", "]"), ('{"a":', "}"), ("(", ")"), ("<% ", " %>"), ("{", "}"), ("[ ", " ]")])
        i = rng.randint(0, n)
        return s[:i] + o * d + s[i:] + c * (d if rng.random() < 0.7 else rng.randrange(d))
    if r == 10:             # NUL, as a JSON escape (the text type cannot hold it)
        i = rng.randint(0, n)
        return s[:i] + rng.choice(["\\u0000", "\\ud800", "\\udfff\\ud800", "\\u", "\\x00", "%00"]) + s[i:]
    if r == 11:             # duplicate a key/value pair
        m = list(re.finditer(r'"[^"\\]*"\s*:\s*("[^"\\]*"|[-0-9.eE+]+|true|false|null)', s))
        if m:
            m = rng.choice(m)
            return s[:m.end()] + "," + m.group(0) + s[m.end():]
    if r == 12:             # long runs
        i = rng.randint(0, n)
        return s[:i] + rng.choice(["a", "9", " ", "\n", "{", ".", "%", "é"]) * rng.choice([256, 4096, 70000]) + s[i:]
    i = rng.randint(0, n)   # splice a token in
    return s[:i] + rng.choice(words) + s[i:]


def mutate(rng, seed, kind, words):
    """(value as str or bytes, description) from one seed."""
    s = seed
    steps = rng.choice([1, 1, 1, 2, 3, 5])
    for _ in range(steps):
        if kind == "json" or (s[:1] in "[{" and rng.random() < 0.5):
            try:
                s = json.dumps(json_mutate(rng, json.loads(s), words))
                continue
            except (ValueError, RecursionError):
                pass
        s = text_mutate(rng, s, words)
    if rng.random() < 0.05:     # invalid UTF-8 (the server refuses it at the door: 22021)
        b = s.encode("utf-8", "surrogatepass")
        i = rng.randint(0, len(b))
        return b[:i] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"]) + b[i:]
    return s


# ---- running ----
class Fuzzer:
    def __init__(self, args):
        self.args = args
        self.dsn = args.dsn
        self.conn = None
        self.seeds = {}
        self.words = {}
        for name, (sql, funcs, pos, extra, kind) in TARGETS.items():
            seeds = [s for s in harvest(funcs, pos) if ":'" not in s] + extra
            seeds = [s for s in seeds if "\x00" not in s] or [""]
            self.seeds[name] = sorted(set(seeds))
            w = set(EXTRA_WORDS)
            for s in seeds:
                w.update(t for t in tokens(s) if not t.isspace() and len(t) < 64)
            self.words[name] = sorted(w)

    def connect(self):
        for _ in range(120):
            try:
                self.conn = psycopg2.connect(self.dsn)
                break
            except psycopg2.OperationalError:
                time.sleep(0.5)
        else:
            raise SystemExit("sqlfuzz: cannot connect to the database")
        self.conn.autocommit = True
        with self.conn.cursor() as c:
            c.execute("SET client_min_messages = error")
            c.execute("SET statement_timeout = %s", (str(self.args.timeout_ms),))
            c.execute("SELECT vscope.use_tenant(%s)", (TENANT,))
            # the Warp 10 functions take a token (the templates read it back)
            c.execute("SELECT set_config('sqlfuzz.token', vscope.create_token(%s, '{read,write}', 'sqlfuzz'), false)",
                      (TENANT,))
        self.conn.autocommit = False

    def case(self, i):
        """(target, value) of case i: a mutated input for a parser, or
        (one case in eight) an edge call of an internal function."""
        rng = random.Random(f"{self.args.seed}:{i}")
        if rng.random() < 0.125:
            call = rng.choice(CALLS)
            return "call", re.sub(r"\{(\w+)\}", lambda m: rng.choice(POOLS[m.group(1)]), call)
        name = rng.choice(sorted(TARGETS))
        seed = rng.choice(self.seeds[name])
        if rng.random() < 0.1 and len(self.seeds[name]) > 1:   # crossover
            other = rng.choice(self.seeds[name])
            a, b = rng.randint(0, len(seed)), rng.randint(0, len(other))
            seed = seed[:a] + other[b:]
        return name, mutate(rng, seed, TARGETS[name][4], self.words[name])

    def run_one(self, name, value):
        """None (clean), or a failure description."""
        if name == "call":
            sql, value = value, None
        else:
            sql = TARGETS[name][0]
        if value is None:
            pass
        elif isinstance(value, bytes):
            sql = sql.replace("%s", "convert_from(%s::bytea, 'UTF8')", 1)
            value = psycopg2.Binary(value)
        elif "\x00" in value:
            value = value.replace("\x00", "\\u0000")
        try:
            with self.conn.cursor() as c:
                c.execute(sql, (value,) if value is not None else None)
                c.fetchall()
            self.conn.rollback()
            return None, "ok"
        except psycopg2.Error as e:
            code = e.pgcode
            if self.conn.closed or code is None:
                try:
                    self.conn.close()
                except Exception:
                    pass
                self.connect()
                return f"connection lost: {str(e).strip()[:300]}", "crash"
            self.conn.rollback()
            if code == "XX000":
                return f"XX000: {e.pgerror.strip()[:300] if e.pgerror else ''}", code
            return None, code

    def log_problems(self, offset):
        path = self.args.log
        if not path or not os.path.exists(path):
            return []
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        bad = []
        for line in text.splitlines():
            if ("terminated by signal" in line or re.search(r"server process .* was terminated", line)
                    or "AddressSanitizer" in line or "runtime error:" in line):
                bad.append(line.strip()[:300])
        return bad


def setup(dsn, hours):
    """The tenant sqlfuzz with the demo data of the last hours (both
    scripts/demo.sql and scripts/demo_ceilometer.sql; once)."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as c:
        c.execute("SET client_min_messages = error")
        c.execute("SELECT count(*) FROM vscope.tenants WHERE name = %s", (TENANT,))
        if c.fetchone()[0]:
            return
        # the days of the seeds' fixed times (OpenTSDB's 2013-01-01 and Warp
        # 10's 2023-11-14) writable, so that mutated writes go deep
        for day in ("2013-01-01", "2023-11-14"):
            c.execute("CALL vscope.add_days(%s, %s)", (day, day))
        for name in ("demo.sql", "demo_ceilometer.sql"):
            with open(os.path.join(ROOT, "scripts", name), encoding="utf-8") as f:
                demo = f.read()
            demo = "\n".join(ln for ln in demo.splitlines() if not ln.startswith("\\"))
            for var, val in (("tenant", TENANT), ("project", TENANT), ("user", "sqlfuzz-user")):
                demo = demo.replace(":'%s'" % var, "'%s'" % val)
            demo = demo.replace("'24 hours'", "'%d hours'" % hours)
            # one statement at a time (CALL vscope.add_days() commits)
            for stmt in re.split(r";[ \t]*\n", demo):
                if stmt.strip() and not all(ln.strip().startswith("--") or not ln.strip()
                                            for ln in stmt.splitlines()):
                    c.execute(stmt)
    conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dsn", default="dbname=vscope")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: no limit)")
    ap.add_argument("--case", type=int, action="append", help="run this case only (a replay; repeatable)")
    ap.add_argument("--log", help="the postmaster's log, searched for crashes at the end")
    ap.add_argument("--timeout-ms", type=int, default=3000)
    ap.add_argument("--setup", action="store_true", help="load the demo data as tenant sqlfuzz first")
    ap.add_argument("--demo-hours", type=int, default=24, help="with --setup: the hours of demo data")
    ap.add_argument("--show", action="store_true", help="print the inputs instead of running them")
    ap.add_argument("--seeds", action="store_true", help="run the seeds unmutated and say how they fare")
    ap.add_argument("--per-target", action="store_true", help="the outcomes per function at the end")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    fz = Fuzzer(args)
    if args.show:
        for i in (args.case if args.case else range(args.cases)):
            print(i, *fz.case(i))
        return 0
    if args.setup:
        setup(args.dsn, args.demo_hours)
    log_offset = os.path.getsize(args.log) if args.log and os.path.exists(args.log) else 0
    fz.connect()
    if args.seeds:      # the seeds themselves, unmutated: how many a function accepts
        for name in sorted(TARGETS):
            out = [fz.run_one(name, sd)[1] for sd in fz.seeds[name]]
            print(f"  {name}: {len(out)} seeds, {out.count('ok')} answered; "
                  + ", ".join(sorted(set(c for c in out if c != "ok"))))
        return 0
    t0 = time.monotonic()
    codes = {}
    per_target = {}
    failures = []
    n = 0
    for i in (args.case if args.case else range(args.cases)):
        if args.seconds and time.monotonic() - t0 > args.seconds:
            break
        name, value = fz.case(i)
        problem, code = fz.run_one(name, value)
        codes[code] = codes.get(code, 0) + 1
        t = per_target.setdefault(name, [0, 0])
        t[0 if code == "ok" else 1] += 1
        n += 1
        if problem:
            failures.append((i, name, problem, value))
            print(f"FAIL case {i} ({name}): {problem}\n    input: {value!r:.600}")
        elif args.verbose:
            print(f"case {i} ({name}): {code}")
        sys.stdout.flush()
    log_bad = fz.log_problems(log_offset)
    for line in log_bad[:20]:
        print(f"FAIL postmaster log: {line}")
    if args.per_target:
        for name, (ok, err) in sorted(per_target.items()):
            print(f"  {name}: {ok + err} cases, {ok} answered, {err} clean errors")
    summary = ", ".join(f"{k} {v}" for k, v in sorted(codes.items(), key=lambda kv: -kv[1])[:12])
    print(f"sqlfuzz: {n} cases (seed {args.seed}) in {time.monotonic() - t0:.0f} s, "
          f"{len(failures)} failed, {len(log_bad)} log problems; outcomes: {summary}")
    return 1 if failures or log_bad else 0


if __name__ == "__main__":
    sys.exit(main())
