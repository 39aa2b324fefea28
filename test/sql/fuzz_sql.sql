-- What the SQL fuzzer (test/fuzz/sqlfuzz.py, make fuzz-sql) found: calls
-- that ended in an internal error (XX000) and now fail with a proper
-- SQLSTATE.  Only the SQLSTATE is shown: it is what is asserted.
\set VERBOSITY sqlstate
SET client_min_messages = warning;
-- the support functions of vscope.sample_stats and vscope.percentile,
-- called by hand with states they never make
SELECT vscope._stats_accum('{1,2}', 1);
SELECT vscope._stats_combine('{1,2,3,4,5,6}', '{{1,2,3},{4,5,6}}');
SELECT vscope._stats_final('{1,NULL,3,4,5,6}');
SELECT vscope._stats_final('{1,2,3,4,5,6}');
SELECT vscope._pct_accum('{50}', 1, 50);
SELECT vscope._pct_combine('{50,1}', '{50,2}');
SELECT vscope.percentile(x, 50) FROM generate_series(1, 4) x;
-- one row of Ceilometer statistics, with what the engine never passes
SELECT vscope._ceilo_stats_row('%', 60, NULL, NULL, NULL, NULL, NULL, '{1,2}', NULL, NULL);
SELECT vscope._ceilo_stats_row('%', 60, NULL, NULL, NULL, NULL, NULL, '{1,2,3,4,5,6}', '{nosuch}', NULL);
SELECT vscope._ceilo_stats_row('%', 60, NULL, NULL, NULL, NULL, NULL, '{1,2,3,4,5,6}', '{cardinality/x}', NULL);
SELECT vscope._ceilo_stats_row('%', 60, NULL, NULL, NULL, NULL, NULL, '{1,2,3,4,5,6}', '{cardinality/x}', '{{1}}');
-- days before year 1 have no partition name of their own
SELECT vscope.decompress('4713-01-01 BC');
SELECT vscope.decompress_samples('4713-01-01 BC');
SELECT vscope.compress('0001-01-01 BC');
SELECT vscope.compress_samples('10000-01-01');
-- a percentile state whose percentile is NaN crashed the backend
SELECT vscope._pct_final_r3('{NaN,Infinity,-Infinity,1e308,-1e308,0}');
SELECT vscope._pct_final_legacy('{NaN,1,2}');
SELECT vscope._pct_final_r7('{-1,1,2}');
SELECT vscope._pct_final_r7('{101,1,2}');
SELECT vscope._pct_final_r7('{50,NaN,Infinity,-Infinity,1e308,-1e308,0}') IS NOT NULL AS answered;
SELECT vscope._pct_final_legacy('{100,NaN,Infinity,-Infinity}') IS NOT NULL AS answered;
SELECT vscope._pct_final_r3('{0,1e308,-1e308}') AS r3;
