-- What the extension made in this database, one line per object property,
-- free of OIDs and of data: a fresh install and an upgraded one must print
-- the same lines.  Daily partitions (data, not schema) are left out.
-- Usage: psql -X -At -d DB -f test/upgrade/catalog.sql
-- (test/e2e/test_97_upgrade.py compares an upgraded and a fresh database.)
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
	-- the extension itself, and its membership
	SELECT format('extension %s version=%s relocatable=%s schema=%s owner=%s',
				  e.extname, e.extversion, e.extrelocatable, e.extnamespace::regnamespace,
				  e.extowner::regrole) AS line
	  FROM pg_extension e WHERE e.extname = 'vscope'
	UNION ALL
	SELECT 'member ' || pg_describe_object(classid, objid, 0) FROM members
	UNION ALL
	SELECT 'config ' || c::regclass::text || ' ' || coalesce(f, '')
	  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(c, f)
	 WHERE e.extname = 'vscope'
	UNION ALL
	SELECT 'schema acl ' || coalesce(nspacl::text, '') || ' owner ' || nspowner::regrole::text
		   || ' comment=' || coalesce(obj_description(oid, 'pg_namespace'), '')
	  FROM pg_namespace WHERE nspname = 'vscope'
	UNION ALL
	-- privileges as the extension's scripts left them (what pg_dump compares
	-- against to dump later GRANTs and REVOKEs)
	SELECT format('initprivs %s type=%s %s',
				  pg_describe_object(ip.classoid, ip.objoid, ip.objsubid), ip.privtype, ip.initprivs)
	  FROM pg_init_privs ip
	 WHERE CASE ip.classoid
			   WHEN 'pg_class'::regclass THEN EXISTS (SELECT FROM pg_class c WHERE c.oid = ip.objoid
														AND c.relnamespace = 'vscope'::regnamespace)
			   WHEN 'pg_proc'::regclass THEN EXISTS (SELECT FROM pg_proc p WHERE p.oid = ip.objoid
													   AND p.pronamespace = 'vscope'::regnamespace)
			   WHEN 'pg_type'::regclass THEN EXISTS (SELECT FROM pg_type t WHERE t.oid = ip.objoid
													   AND t.typnamespace = 'vscope'::regnamespace)
			   WHEN 'pg_namespace'::regclass THEN ip.objoid = 'vscope'::regnamespace
			   ELSE (ip.classoid, ip.objoid) IN (SELECT classid, objid FROM members)
		   END
	UNION ALL
	-- default privileges for what is created in the schema later (partitions)
	SELECT format('default acl for %s objtype=%s %s', coalesce(d.defaclrole::regrole::text, ''),
				  d.defaclobjtype, d.defaclacl)
	  FROM pg_default_acl d WHERE d.defaclnamespace = 'vscope'::regnamespace
	UNION ALL
	-- functions and aggregates
	SELECT format('function %s(%s) returns %s kind=%s lang=%s vol=%s strict=%s secdef=%s leak=%s par=%s cost=%s rows=%s support=%s config=%s owner=%s acl=%s comment=%s src=%s sqlbody=%s bin=%s args=%s',
				  p.proname, pg_get_function_identity_arguments(p.oid),
				  pg_get_function_result(p.oid), p.prokind, l.lanname, p.provolatile,
				  p.proisstrict, p.prosecdef, p.proleakproof, p.proparallel, p.procost,
				  p.prorows, p.prosupport, p.proconfig, p.proowner::regrole, p.proacl,
				  obj_description(p.oid, 'pg_proc'), md5(p.prosrc),
				  md5(pg_get_function_sqlbody(p.oid)), p.probin,
				  pg_get_function_arguments(p.oid))
	  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	 WHERE p.pronamespace = 'vscope'::regnamespace
	UNION ALL
	SELECT format('function %s(%s) defaults %s', p.proname,
				  pg_get_function_identity_arguments(p.oid),
				  pg_get_expr(p.proargdefaults, 0))
	  FROM pg_proc p
	 WHERE p.pronamespace = 'vscope'::regnamespace AND p.proargdefaults IS NOT NULL
	UNION ALL
	SELECT format('aggregate %s(%s) sfunc=%s stype=%s sspace=%s final=%s finalextra=%s finalmodify=%s combine=%s serial=%s deserial=%s init=%s kind=%s direct=%s msfunc=%s minvfunc=%s mstype=%s mfinal=%s minit=%s sortop=%s',
				  p.proname, pg_get_function_identity_arguments(p.oid),
				  a.aggtransfn, a.aggtranstype::regtype, a.aggtransspace, a.aggfinalfn,
				  a.aggfinalextra, a.aggfinalmodify, a.aggcombinefn,
				  a.aggserialfn, a.aggdeserialfn, a.agginitval, a.aggkind, a.aggnumdirectargs,
				  a.aggmtransfn, a.aggminvtransfn, a.aggmtranstype::regtype, a.aggmfinalfn,
				  a.aggminitval, a.aggsortop::regoperator)
	  FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
	 WHERE p.pronamespace = 'vscope'::regnamespace
	UNION ALL
	-- relations
	SELECT format('relation %s kind=%s rls=%s force=%s persistence=%s options=%s owner=%s acl=%s partkey=%s am=%s replident=%s populated=%s comment=%s',
				  c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
				  c.relpersistence, c.reloptions, c.relowner::regrole, c.relacl,
				  pg_get_partkeydef(c.oid), am.amname, c.relreplident, c.relispopulated,
				  obj_description(c.oid, 'pg_class'))
	  FROM rels c LEFT JOIN pg_am am ON am.oid = c.relam
	UNION ALL
	SELECT format('column %s.%s #%s %s notnull=%s default=%s identity=%s generated=%s collation=%s storage=%s compression=%s stats=%s acl=%s comment=%s',
				  c.relname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod),
				  a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attidentity,
				  a.attgenerated, co.collname, a.attstorage, a.attcompression, a.attstattarget,
				  a.attacl, col_description(c.oid, a.attnum))
	  FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid
	  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
	  LEFT JOIN pg_collation co ON co.oid = a.attcollation
	 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'c', 'f')
	UNION ALL
	SELECT format('index %s on %s: %s clustered=%s replident=%s', c.relname, t.relname,
				  pg_get_indexdef(c.oid), x.indisclustered, x.indisreplident)
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
	SELECT format('constraint %s on %s type=%s: %s comment=%s', co.conname, c.relname, co.contype,
				  pg_get_constraintdef(co.oid), obj_description(co.oid, 'pg_constraint'))
	  FROM pg_constraint co JOIN rels c ON c.oid = co.conrelid
	UNION ALL
	SELECT format('domain constraint %s on %s type=%s: %s', co.conname, t.typname, co.contype,
				  pg_get_constraintdef(co.oid))
	  FROM pg_constraint co JOIN pg_type t ON t.oid = co.contypid
	 WHERE t.typnamespace = 'vscope'::regnamespace
	UNION ALL
	SELECT format('policy %s on %s cmd=%s permissive=%s roles=%s using=%s check=%s comment=%s',
				  po.polname, c.relname, po.polcmd, po.polpermissive,
				  (SELECT array_agg(CASE r WHEN 0 THEN 'public' ELSE r::regrole::text END
									ORDER BY CASE r WHEN 0 THEN 'public' ELSE r::regrole::text END)
					 FROM unnest(po.polroles) r),
				  pg_get_expr(po.polqual, po.polrelid), pg_get_expr(po.polwithcheck, po.polrelid),
				  obj_description(po.oid, 'pg_policy'))
	  FROM pg_policy po JOIN rels c ON c.oid = po.polrelid
	UNION ALL
	SELECT format('trigger %s on %s: %s enabled=%s comment=%s', tg.tgname, c.relname,
				  pg_get_triggerdef(tg.oid), tg.tgenabled, obj_description(tg.oid, 'pg_trigger'))
	  FROM pg_trigger tg JOIN rels c ON c.oid = tg.tgrelid WHERE NOT tg.tgisinternal
	UNION ALL
	SELECT format('type %s kind=%s base=%s notnull=%s default=%s labels=%s owner=%s acl=%s comment=%s',
				  t.typname, t.typtype, nullif(t.typbasetype, 0)::regtype, t.typnotnull, t.typdefault,
				  (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e
					WHERE e.enumtypid = t.oid),
				  t.typowner::regrole, t.typacl, obj_description(t.oid, 'pg_type'))
	  FROM pg_type t
	 WHERE t.typnamespace = 'vscope'::regnamespace AND t.typtype NOT IN ('c')
	   AND t.typname !~ '^_' AND NOT EXISTS (SELECT FROM pg_class c WHERE c.reltype = t.oid)
) l
ORDER BY line COLLATE "C";
