-- vscope 0.2.0 -> 0.2.1: the block store held at scale (what the sections
-- below say).  Every change here is also in the sql/<domain>.sql file that
-- holds the object, so a fresh 0.2.1 install and an upgraded one match
-- (make test compares their catalogs).
\echo Use "ALTER EXTENSION vscope UPDATE TO '0.2.1'" to load this file. \quit

-- Summaries answer downsampling (src/opentsdb/query.c): a block says whether
-- it is its series' whole day and whether its timestamps are whole
-- milliseconds.  Blocks made by 0.2.0 say neither and are decoded until
-- their day is compressed again.
ALTER TABLE vscope.blocks ADD COLUMN flags smallint NOT NULL DEFAULT 0;
COMMENT ON COLUMN vscope.blocks.flags IS '1: the only block of its series and day; 2: timestamps in whole milliseconds (both needed before downsampling uses the summary)';

-- The datapoints view reads only the blocks of the range a query asks for.
CREATE FUNCTION vscope._read_series(tenant_id integer, series_id integer,
									start_ts timestamptz, end_ts timestamptz)
	RETURNS TABLE (ts timestamptz, value double precision, ivalue bigint)
	AS 'MODULE_PATHNAME', 'vscope_read_series'
	LANGUAGE C STABLE STRICT ROWS 1440;
COMMENT ON FUNCTION vscope._read_series(integer, integer, timestamptz, timestamptz) IS 'internal: the points of one series in [start_ts, end_ts), from rows and blocks, in time order (the datapoints view)';
CREATE OR REPLACE VIEW vscope.datapoints WITH (security_invoker = true) AS
	SELECT s.tenant_id, s.series_id, s.metric, s.tags, p.ts,
		   coalesce(p.value, p.ivalue::double precision) AS value
	  FROM vscope.series s
	 CROSS JOIN LATERAL vscope._read_series(s.tenant_id, s.series_id,
											'-infinity', 'infinity') p;
DROP FUNCTION vscope._read_series(integer, integer);

CREATE FUNCTION vscope.reader_stats(OUT blocks_decoded bigint, OUT blocks_summarized bigint,
									OUT head_rows bigint, OUT points bigint)
	AS 'MODULE_PATHNAME', 'vscope_reader_stats'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vscope.reader_stats() IS 'what the reader has read in this session: blocks decoded, blocks answered from their summary, head rows, points';
