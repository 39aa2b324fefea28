-- pg_temp.median_ms(sql, runs): runs sql once to warm caches, then runs times,
-- and returns the median wall time in milliseconds.  Read by the benchmarks
-- before their own SQL, in the same psql session.
CREATE FUNCTION pg_temp.median_ms(sql text, runs int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	t timestamptz;
	times numeric[] := '{}';
BEGIN
	EXECUTE sql;	-- warm
	FOR i IN 1..runs LOOP
		t := clock_timestamp();
		EXECUTE sql;
		times := times || (extract(epoch FROM clock_timestamp() - t) * 1000)::numeric;
	END LOOP;
	RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) x);
END $$;
