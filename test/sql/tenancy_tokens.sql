-- tokens: random, stored as hashes, scoped, revocable
SET timezone = 'UTC';
SELECT vscope.use_tenant('acme') IS NOT NULL;
SELECT vscope.create_token('acme', '{read,write}', 'regress rw') AS tok \gset
SELECT :'tok' ~ '^vst_[A-Za-z0-9_-]{43}$' AS well_formed;
SELECT count(*) AS stored_in_clear FROM vscope.tokens WHERE token_hash = convert_to(:'tok', 'UTF8');
SELECT count(*) AS stored_as_sha256 FROM vscope.tokens WHERE token_hash = sha256(convert_to(:'tok', 'UTF8'));
SELECT tenant, scopes, db_role FROM vscope.authenticate(:'tok');
SELECT tenant FROM vscope.authenticate(:'tok', 'acme');
-- a valid token naming another tenant is refused outright (403 in the daemon)
SELECT count(*) AS acts_for_other FROM vscope.authenticate(:'tok', 'globex');
SELECT count(*) AS unknown FROM vscope.authenticate('vst_nothing');
SELECT vscope.create_token('acme', '{read}', 'regress ro') AS ro \gset
SELECT db_role FROM vscope.authenticate(:'ro');
SELECT vscope.create_token('acme', '{admin,read,admin}', 'regress admin') AS adm \gset
SELECT scopes, db_role FROM vscope.authenticate(:'adm');
SELECT vscope.create_token('acme', '{root}');
SELECT vscope.create_token('acme', '{}');
SELECT vscope.create_token('nobody', '{read}');
SELECT tenant, scopes, description, revoked_at IS NULL AS active FROM vscope.list_tokens('acme');
SELECT vscope.revoke_token(token_id) FROM vscope.list_tokens('acme') WHERE description = 'regress ro';
SELECT vscope.revoke_token(token_id) FROM vscope.list_tokens('acme') WHERE description = 'regress ro';
SELECT count(*) AS revoked_still_works FROM vscope.authenticate(:'ro');
-- superadmin tokens act for any tenant they name
SELECT vscope.create_tenant('superadmin') IS NOT NULL;
SELECT vscope.create_token('superadmin', '{superadmin}') AS sa \gset
SELECT tenant, db_role FROM vscope.authenticate(:'sa');
SELECT tenant, db_role FROM vscope.authenticate(:'sa', 'globex');
SELECT tenant FROM vscope.authenticate(:'sa', 'nobody');
-- a tenant admin manages only its own tenant's tokens and cannot mint a superadmin
BEGIN;
SET LOCAL ROLE vscope_admin;
SELECT set_config('vscope.tenant', vscope.tenant_id('acme')::text, true) IS NOT NULL;
SELECT count(*) > 0 AS own_tokens FROM vscope.list_tokens();
SELECT DISTINCT tenant FROM vscope.list_tokens();
SAVEPOINT s;
SELECT vscope.create_token('globex', '{read}');
ROLLBACK TO s;
SELECT vscope.create_token('acme', '{superadmin}');
ROLLBACK TO s;
SELECT length(vscope.create_token('acme', '{read}', 'made by admin')) AS made;
ROLLBACK;
-- only the authenticator may call authenticate
SET ROLE vscope_writer;
SELECT * FROM vscope.authenticate('x');
RESET ROLE;
