#!/usr/bin/env bash
# Warp 10 against OpenTSDB on the same data, in one run: the query
# benchmark's metric (150 series of bench.cpu, host h0..h149, dc dc0..dc2,
# one point a minute), for one day, compressed into blocks as vscope.maintain()
# would.  The same question asked both ways:
#   WarpScript  [ TOKEN 'bench.cpu' {} END 1 d ] FETCH
#               [ SWAP bucketizer.mean END 1 h 24 ] BUCKETIZE
#               [ SWAP [] reducer.sum ] REDUCE
#               (vscope.warp10_exec(), what POST /api/v0/exec runs, as
#               vscope_reader with no tenant: the token binds it)
#   OpenTSDB    {"queries":[{"metric":"bench.cpu","aggregator":"sum","downsample":"1h-avg"}]}
#               (vscope.tsdb_query(), what /api/query runs)
# plus FETCH alone (every point of the day into GTS) and the same through
# HTTP, both endpoints, with curl; and every point of the day raw over
# HTTP: GET /api/v0/fetch against /api/query with aggregator none.  Each runs RUNS times; the median is
# reported, with the ratio.  Run through `make bench` (VSCOPE_BENCH=warp10).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
: "${BENCH_DIR:?run through make bench}"
RUNS=${BENCH_W_RUNS:-9}
q() { psql_q -d vscope "$@"; }

echo "warp10: 150 series, one point a minute for a day, median of $RUNS runs"
q <<'SQL'
SELECT vscope.create_tenant('benchw') \g /dev/null
SELECT vscope.use_tenant('benchw') \g /dev/null
SELECT extract(epoch FROM date_trunc('day', now()) - interval '2 days')::bigint AS t0 \gset
SELECT setseed(0.25);
INSERT INTO vscope.series (tenant_id, series_id, metric, tags, skey)
SELECT vscope.current_tenant(), i + 1, 'bench.cpu', jsonb_build_object('host', 'h' || i, 'dc', 'dc' || (i % 3)),
       'bench.cpu{dc=dc' || (i % 3) || ',host=h' || i || '}'
  FROM generate_series(0, 149) i;
CALL vscope.add_days((to_timestamp(:t0) AT TIME ZONE 'UTC')::date, (to_timestamp(:t0) AT TIME ZONE 'UTC')::date + 1);
INSERT INTO vscope.points (tenant_id, series_id, ts, value)
SELECT vscope.current_tenant(), s, to_timestamp(:t0 + 60 * k), round((50 + 40 * sin(k / 300.0 + s) + random())::numeric, 2)
  FROM generate_series(0, 1439) k, generate_series(1, 150) s ORDER BY k, s;
SELECT vscope.compress((to_timestamp(:t0) AT TIME ZONE 'UTC')::date) \g /dev/null
VACUUM ANALYZE vscope.points;
VACUUM ANALYZE vscope.blocks;
ANALYZE vscope.series;
SQL

t0=$(q -c "SELECT extract(epoch FROM date_trunc('day', now()) - interval '2 days')::bigint")
tok=$(q -c "SELECT vscope.create_token('benchw', '{read}', 'bench warp10')")
end_us=$(((t0 + 86400) * 1000000 - 1))
# buckets [hour, hour + 1 h) as OpenTSDB's: Warp 10's (end - 1 h, end] ending
# a microsecond before each hour
ws_bench="[ '$tok' 'bench.cpu' {} $end_us 1 d ] FETCH [ SWAP bucketizer.mean $end_us 1 h 24 ] BUCKETIZE [ SWAP [] reducer.sum ] REDUCE"
ws_fetch="[ '$tok' 'bench.cpu' {} $end_us 1 d ] FETCH SIZE"
tsdb="{\"start\":$t0,\"end\":$((t0 + 86399)),\"queries\":[{\"metric\":\"bench.cpu\",\"aggregator\":\"sum\",\"downsample\":\"1h-avg\"}]}"

tid=$(q -c "SELECT vscope.tenant_id('benchw')")

# the two answers agree: 24 sums (labelled by the bucket's end in Warp 10, its start in OpenTSDB)
q -v ws="$ws_bench" -v tsdb="$tsdb" -v tid="$tid" <<'SQL'
SET ROLE vscope_reader;
SELECT (SELECT array_agg(round((v->>1)::numeric, 6) ORDER BY (v->>0)::bigint)
          FROM json_array_elements((stack::json)->0->0->'v') v) AS w
  FROM vscope.warp10_exec(:'ws') \gset ws_
SELECT set_config('vscope.tenant', :'tid', false) \g /dev/null
SELECT (SELECT array_agg(round(value::numeric, 6) ORDER BY key::bigint)
          FROM json_each_text((vscope.tsdb_query(:'tsdb')::json)->0->'dps')) AS t \gset ts_
SELECT CASE WHEN :'ws_w' = :'ts_t' THEN '  the answers agree (24 hourly sums)'
            ELSE format('  THE ANSWERS DIFFER: %s / %s', :'ws_w', :'ts_t') END;
SQL

cat "$(dirname "$0")/median_ms.sql" - <<'SQL' | q -v runs="$RUNS" -v ws="$ws_bench" -v wsf="$ws_fetch" -v tsdb="$tsdb" -v tid="$tid" -v tok="$tok" -v s_us="$((t0 * 1000000))" -v e_us="$end_us"
CREATE TEMP TABLE results (q text, warp_ms numeric, tsdb_ms numeric);
GRANT ALL ON results TO vscope_reader;
SET ROLE vscope_reader;
-- exec: no tenant, the token binds each run's transaction
INSERT INTO results SELECT 'FETCH + BUCKETIZE 1h mean + REDUCE sum',
  pg_temp.median_ms(format('SELECT stack FROM vscope.warp10_exec(%L)', :'ws'), :runs), NULL;
INSERT INTO results SELECT 'FETCH alone (216,000 points into GTS)',
  pg_temp.median_ms(format('SELECT stack FROM vscope.warp10_exec(%L)', :'wsf'), :runs), NULL;
INSERT INTO results SELECT 'vscope.warp10_fetch() alone, under FETCH',
  pg_temp.median_ms(format('SELECT count(*) FROM vscope.warp10_fetch(%L, ''bench.cpu{}'', %s, %s, NULL)',
                           :'tok', :s_us, :e_us), :runs), NULL;
-- /api/query: the session acts for the tenant, as vscoped sets it
SELECT set_config('vscope.tenant', :'tid', false) \g /dev/null
UPDATE results SET tsdb_ms = pg_temp.median_ms(format('SELECT vscope.tsdb_query(%L)', :'tsdb'), :runs)
 WHERE q LIKE 'FETCH + %';
SELECT format('  %-42s WarpScript %8s ms   /api/query %8s ms   %s', q,
              round(warp_ms, 1), coalesce(round(tsdb_ms, 1)::text, '-'),
              CASE WHEN tsdb_ms IS NULL THEN ''
                   WHEN warp_ms <= tsdb_ms
                   THEN format('%sx faster', round(tsdb_ms / greatest(warp_ms, 0.001), 2))
                   ELSE format('%sx slower', round(warp_ms / greatest(tsdb_ms, 0.001), 2)) END)
  FROM results ORDER BY q DESC;
SQL

# the same through vscoped: POST /api/v0/exec against GET /api/query
port=${VSCOPE_BENCH_HTTP_PORT:-4297}
cluster_paths "$BENCH_DIR" "$PGPORT"
write_daemon_config "$BENCH_DIR/vscoped.conf" "$PGPORT" "$port" "$((port + 1))" ""
start_daemon "$BENCH_DIR/vscoped.conf" "$BENCH_DIR/vscoped.log"
trap 'stop_daemon; cluster_stop' EXIT
median_http() {
	local times=() i
	for i in $(seq 0 "$RUNS"); do
		t=$("$@" -s -o /dev/null -w '%{time_total}')
		[ "$i" -gt 0 ] && times+=("$t")
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)] * 1000}'
}
w_http=$(median_http curl -X POST --data-binary "$ws_bench" "http://127.0.0.1:$port/api/v0/exec")
t_http=$(median_http curl -X POST -H "X-Auth-Token: $tok" --data-binary "$tsdb" "http://127.0.0.1:$port/api/query")
ratio() { awk -v w="$1" -v t="$2" 'BEGIN { if (w <= t) printf "%.2fx faster", t / w; else printf "%.2fx slower", w / t }'; }
echo "  over HTTP                                  /api/v0/exec $w_http ms   /api/query $t_http ms   $(ratio "$w_http" "$t_http")"
# every point of the day, raw: GET /api/v0/fetch (text) against /api/query
# with no aggregation and no downsampling (each series' points as JSON)
raw="{\"start\":$t0,\"end\":$((t0 + 86399)),\"queries\":[{\"metric\":\"bench.cpu\",\"aggregator\":\"none\"}]}"
f_http=$(median_http curl -G -H "X-Warp10-Token: $tok" --data-urlencode "selector=bench.cpu{}" \
	--data-urlencode "start=$((t0 * 1000000))" --data-urlencode "stop=$end_us" \
	"http://127.0.0.1:$port/api/v0/fetch")
r_http=$(median_http curl -X POST -H "X-Auth-Token: $tok" --data-binary "$raw" "http://127.0.0.1:$port/api/query")
echo "  raw points over HTTP (216,000)             /api/v0/fetch $f_http ms   /api/query $r_http ms   $(ratio "$f_http" "$r_http")"
