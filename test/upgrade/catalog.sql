-- What the extension made in this database, one line per object property,
-- free of OIDs and of data: a fresh install and an upgraded one must print
-- the same lines.  Daily partitions (data, not schema) are left out.
SET search_path = pg_catalog;
WITH members AS (
	SELECT d.classid, d.objid
	  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
	 WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'vscope'
	   AND d.deptype = 'e'
),
rels AS (
	-- partitions and their indexes (relispartition) are data, not schema
	SELECT c.* FROM pg_class c
	 WHERE c.relnamespace = 'vscope'::regnamespace AND NOT c.relispartition
	   AND c.relkind <> 't'
)
SELECT line FROM (
	-- extension membership
	SELECT 'member ' || pg_describe_object(classid, objid, 0) AS line FROM members
	UNION ALL
	SELECT 'config ' || c::regclass::text || ' ' || coalesce(f, '')
	  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(c, f)
	 WHERE e.extname = 'vscope'
	UNION ALL
	SELECT 'schema acl ' || coalesce(nspacl::text, '') || ' owner ' || nspowner::regrole::text
	  FROM pg_namespace WHERE nspname = 'vscope'
	UNION ALL
	-- functions and aggregates
	SELECT format('function %s(%s) returns %s kind=%s lang=%s vol=%s strict=%s secdef=%s leak=%s par=%s cost=%s rows=%s config=%s owner=%s acl=%s comment=%s src=%s bin=%s',
				  p.proname, pg_get_function_identity_arguments(p.oid),
				  pg_get_function_result(p.oid), p.prokind, l.lanname, p.provolatile,
				  p.proisstrict, p.prosecdef, p.proleakproof, p.proparallel, p.procost,
				  p.prorows, p.proconfig, p.proowner::regrole, p.proacl,
				  obj_description(p.oid, 'pg_proc'), md5(p.prosrc), p.probin)
	  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	 WHERE p.pronamespace = 'vscope'::regnamespace
	UNION ALL
	SELECT format('function %s(%s) defaults %s', p.proname,
				  pg_get_function_identity_arguments(p.oid),
				  pg_get_expr(p.proargdefaults, 0))
	  FROM pg_proc p
	 WHERE p.pronamespace = 'vscope'::regnamespace AND p.proargdefaults IS NOT NULL
	UNION ALL
	SELECT format('aggregate %s(%s) sfunc=%s stype=%s final=%s combine=%s serial=%s deserial=%s init=%s kind=%s',
				  p.proname, pg_get_function_identity_arguments(p.oid),
				  a.aggtransfn, a.aggtranstype::regtype, a.aggfinalfn, a.aggcombinefn,
				  a.aggserialfn, a.aggdeserialfn, a.agginitval, a.aggkind)
	  FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
	 WHERE p.pronamespace = 'vscope'::regnamespace
	UNION ALL
	-- relations
	SELECT format('relation %s kind=%s rls=%s force=%s persistence=%s options=%s owner=%s acl=%s partkey=%s comment=%s',
				  c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
				  c.relpersistence, c.reloptions, c.relowner::regrole, c.relacl,
				  pg_get_partkeydef(c.oid), obj_description(c.oid, 'pg_class'))
	  FROM rels c
	UNION ALL
	SELECT format('column %s.%s #%s %s notnull=%s default=%s identity=%s generated=%s acl=%s comment=%s',
				  c.relname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod),
				  a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attidentity,
				  a.attgenerated, a.attacl, col_description(c.oid, a.attnum))
	  FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid
	  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
	 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'c', 'f')
	UNION ALL
	SELECT format('index %s on %s: %s', c.relname, t.relname, pg_get_indexdef(c.oid))
	  FROM rels c JOIN pg_index x ON x.indexrelid = c.oid JOIN pg_class t ON t.oid = x.indrelid
	UNION ALL
	SELECT format('sequence %s type=%s inc=%s min=%s max=%s cache=%s cycle=%s',
				  c.relname, s.seqtypid::regtype, s.seqincrement, s.seqmin, s.seqmax,
				  s.seqcache, s.seqcycle)
	  FROM rels c JOIN pg_sequence s ON s.seqrelid = c.oid
	UNION ALL
	SELECT format('view %s: %s', c.relname, pg_get_viewdef(c.oid))
	  FROM rels c WHERE c.relkind IN ('v', 'm')
	UNION ALL
	SELECT format('constraint %s on %s type=%s: %s', co.conname, c.relname, co.contype,
				  pg_get_constraintdef(co.oid))
	  FROM pg_constraint co JOIN rels c ON c.oid = co.conrelid
	UNION ALL
	SELECT format('policy %s on %s cmd=%s permissive=%s roles=%s using=%s check=%s',
				  po.polname, c.relname, po.polcmd, po.polpermissive,
				  (SELECT array_agg(r::regrole::text ORDER BY r::regrole::text)
					 FROM unnest(po.polroles) r),
				  pg_get_expr(po.polqual, po.polrelid), pg_get_expr(po.polwithcheck, po.polrelid))
	  FROM pg_policy po JOIN rels c ON c.oid = po.polrelid
	UNION ALL
	SELECT format('trigger %s on %s: %s', tg.tgname, c.relname, pg_get_triggerdef(tg.oid))
	  FROM pg_trigger tg JOIN rels c ON c.oid = tg.tgrelid WHERE NOT tg.tgisinternal
	UNION ALL
	SELECT format('type %s kind=%s comment=%s', t.typname, t.typtype, obj_description(t.oid, 'pg_type'))
	  FROM pg_type t
	 WHERE t.typnamespace = 'vscope'::regnamespace AND t.typtype NOT IN ('c')
	   AND t.typname !~ '^_' AND NOT EXISTS (SELECT FROM pg_class c WHERE c.reltype = t.oid)
) l
ORDER BY line COLLATE "C";
