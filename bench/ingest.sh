#!/usr/bin/env bash
# Bulk ingest: vscope.put() (OpenTSDB JSON, 10,000 points per call, each call
# its own transaction as the daemon does it) against a plain COPY into the
# table a competent user would make:
#   points(series_id int, ts timestamptz, value float8), btree (series_id, ts).
# Same points for both: SERIES series x POINTS points a minute apart, arriving
# in time order (every series at t, then every series at t+60, as collectors
# send them).  Reports points/s, the ratio, and bytes on disk per point.
# Run through `make bench` (scripts/bench.sh sets up the cluster).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
: "${BENCH_DIR:?run through make bench}"
SERIES=${BENCH_SERIES:-2000}
POINTS=${BENCH_POINTS:-1500}
BATCH=10000
N=$((SERIES * POINTS))
q() { psql_q -d vscope "$@"; }
now() { date +%s.%N; }

echo "ingest: $SERIES series x $POINTS points = $N points, batches of $BATCH"
q -c "SELECT vscope.create_tenant('bench')" >/dev/null
q -v n="$N" -v s="$SERIES" -v b="$BATCH" <<'SQL'
SELECT setseed(0.5);
CREATE TABLE bench_src AS
SELECT i, i % :s AS sid, 1700000000 + (i / :s) * 60 AS t,
       round((random() * 100)::numeric, 2)::float8 AS v
  FROM generate_series(0, :n - 1) AS i;
-- the same data as OpenTSDB put payloads, one row per call
CREATE TABLE bench_payload AS
SELECT i / :b AS batch,
       json_agg(json_build_object('metric', 'bench.cpu', 'timestamp', t, 'value', v,
                                  'tags', json_build_object('host', 'h' || sid,
                                                            'dc', 'dc' || (sid % 4)))
                ORDER BY i)::text AS body
  FROM bench_src GROUP BY i / :b;
SQL
# writes never make partitions: the operator makes the days writable first
q <<'SQL'
SELECT (to_timestamp(min(t)) AT TIME ZONE 'UTC')::date AS d0, (to_timestamp(max(t)) AT TIME ZONE 'UTC')::date AS d1
  FROM bench_src \gset
CALL vscope.add_days(:'d0', :'d1');
SQL
q -c "COPY (SELECT sid, to_timestamp(t), v FROM bench_src ORDER BY i) TO '$BENCH_DIR/plain.csv' (FORMAT csv)"
q -c "CREATE TABLE plain_points (series_id int, ts timestamptz, value float8);
      CREATE INDEX ON plain_points (series_id, ts);
      CHECKPOINT"

t0=$(now)
q -c "COPY plain_points FROM '$BENCH_DIR/plain.csv' (FORMAT csv)"
t1=$(now)
q -c "CHECKPOINT"
t2=$(now)
q <<'SQL'
SELECT vscope.use_tenant('bench') \g /dev/null
-- one payload fetched per transaction (a loop over a query would keep
-- its portal across the COMMITs, materialising every payload: the
-- driver's cost, not put()'s)
DO $$
DECLARE
	body text;
BEGIN
	FOR i IN 0 .. (SELECT max(batch) FROM bench_payload) LOOP
		SELECT p.body INTO body FROM bench_payload p WHERE p.batch = i;
		PERFORM vscope.put(body);
		COMMIT;
	END LOOP;
END
$$;
SQL
t3=$(now)

q -v n="$N" -v plain_s="$(awk "BEGIN{print $t1 - $t0}")" -v vs_s="$(awk "BEGIN{print $t3 - $t2}")" <<'SQL'
SELECT vscope.use_tenant('bench') \g /dev/null
WITH sizes AS (
	SELECT pg_total_relation_size('plain_points') AS plain_bytes,
		   (SELECT sum(bytes) FROM vscope.partitions()) AS vs_bytes,
		   pg_total_relation_size('vscope.series') AS series_bytes,
		   (SELECT count(*) FROM vscope.points) AS vs_n,
		   (SELECT count(*) FROM plain_points) AS plain_n
)
SELECT unnest(ARRAY[format('  plain COPY    %8s points/s  %6s bytes/point  (%s points)',
			  round(:n / :plain_s), round(plain_bytes::numeric / plain_n, 1), plain_n),
	   format('  vscope.put    %8s points/s  %6s bytes/point  (%s points; +%s bytes/point for the series table)',
			  round(:n / :vs_s), round(vs_bytes::numeric / vs_n, 1), vs_n,
			  round(series_bytes::numeric / vs_n, 2)),
	   format('  ratio         vscope takes %sx the time of COPY; %sx its bytes per point',
			  round(:vs_s / :plain_s, 2),
			  round((vs_bytes::numeric / vs_n) / (plain_bytes::numeric / plain_n), 2))])
  FROM sizes;
SQL
