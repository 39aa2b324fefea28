"""Tenant isolation, enforced by the database, seen over HTTP and SQL."""
import threading

from vstest import assert_status, assert_tsdb_error

A, B = "e2e-tenant-a", "e2e-tenant-b"


def setup(ctx):
    """The past days written to below (writes never make partitions)."""
    ctx.add_days("2013-01-01")


def point(metric, value, host="h"):
    return {"metric": metric, "timestamp": 1356998400, "value": value, "tags": {"host": host}}


def daemon_view(ctx, token, sql):
    """Runs SQL exactly as vscoped does for a request with this token:
    logged in as the authenticator, role and tenant from vscope.authenticate()."""
    script = f"""
BEGIN;
SELECT set_config('role', db_role, true), set_config('vscope.tenant', tenant_id::text, true)
  FROM vscope.authenticate('{token}') \\g /dev/null
{sql};
COMMIT;
"""
    return ctx.psql(script, user="vscope_authenticator")


def test_each_token_writes_its_own_tenant(ctx):
    ta, tb = ctx.token(A), ctx.token(B)
    assert_status(ctx.post("/api/put", point("iso.m", 1), token=ta), 204)
    assert_status(ctx.post("/api/put", point("iso.m", 2), token=tb), 204)
    assert ctx.as_tenant(A, "SELECT value FROM vscope.datapoints WHERE metric = 'iso.m'") == [["1"]]
    assert ctx.as_tenant(B, "SELECT value FROM vscope.datapoints WHERE metric = 'iso.m'") == [["2"]]


def test_token_of_a_cannot_act_for_b(ctx):
    ta = ctx.token(A)
    r = ctx.post("/api/put", point("iso.cross", 1), token=ta, headers={"X-Vscope-Tenant": B})
    # a valid token naming another tenant is authenticated but not allowed
    assert_tsdb_error(r, 403)
    assert ctx.as_tenant(B, "SELECT count(*) FROM vscope.series WHERE metric = 'iso.cross'") == [["0"]]


def test_token_of_a_reads_nothing_of_b(ctx):
    ta, tb = ctx.token(A), ctx.token(B)
    assert_status(ctx.post("/api/put", point("iso.read", 5, "only-b"), token=tb), 204)
    seen = daemon_view(ctx, ta, "SELECT count(*) FROM vscope.points WHERE value = 5 OR ivalue = 5")
    assert seen == [["0"]], seen
    seen = daemon_view(ctx, ta, "SELECT count(*) FROM vscope.series WHERE tags->>'host' = 'only-b'")
    assert seen == [["0"]], seen
    # and the tenant list shows only its own
    names = daemon_view(ctx, ta, "SELECT name FROM vscope.tenants")
    assert names == [[A]], names
    # B sees its own point the same way
    assert daemon_view(ctx, tb, "SELECT count(*) FROM vscope.series WHERE tags->>'host' = 'only-b'") == [["1"]]


def test_forged_tenant_id_cannot_write_into_b(ctx):
    ta = ctx.token(A)
    b_id = ctx.scalar(f"SELECT tenant_id FROM vscope.tenants WHERE name = '{B}'")
    res = ctx.psql(f"""
BEGIN;
SELECT set_config('role', db_role, true), set_config('vscope.tenant', tenant_id::text, true)
  FROM vscope.authenticate('{ta}') \\g /dev/null
INSERT INTO vscope.points (tenant_id, series_id, ts, value) VALUES ({b_id}, 1, now(), 1);
COMMIT;""", user="vscope_authenticator", check=False)
    assert res.returncode != 0
    assert "row-level security" in res.stderr, res.stderr


def test_plain_login_role_cannot_choose_a_tenant(ctx):
    ctx.psql("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'e2e_bi') "
             "THEN CREATE ROLE e2e_bi LOGIN; END IF; END$$")
    ctx.psql(f"SELECT vscope.grant_tenant_access('e2e_bi', '{A}', 'read')")
    ta = ctx.token(A)
    assert_status(ctx.post("/api/put", point("iso.bi", 9, "bi-a"), token=ta), 204)
    b_id = ctx.scalar(f"SELECT tenant_id FROM vscope.tenants WHERE name = '{B}'")
    got = ctx.psql(f"SET vscope.tenant = '{b_id}';"
                   "SELECT DISTINCT s.tags->>'host' FROM vscope.series s ORDER BY 1", user="e2e_bi")
    hosts = [r[0] for r in got]
    assert "bi-a" in hosts and "only-b" not in hosts, hosts
    assert ctx.scalar("SELECT count(*) FROM vscope.tenants") != "1"  # superuser sees all
    got = ctx.psql("SELECT name FROM vscope.tenants", user="e2e_bi")
    assert got == [[A]], got


def test_pooled_connections_never_mix_tenants(ctx):
    ta, tb = ctx.token(A), ctx.token(B)
    errors = []

    def writer(tok, host, n):
        for i in range(n):
            r = ctx.post("/api/put", {"metric": "iso.pool", "timestamp": 1356998400 + i,
                                      "value": i, "tags": {"host": host}}, token=tok)
            if r.status != 204:
                errors.append(r)

    threads = [threading.Thread(target=writer, args=(ta if k % 2 == 0 else tb,
                                                     "pool-a" if k % 2 == 0 else "pool-b", 40))
               for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert ctx.as_tenant(A, "SELECT DISTINCT tags->>'host' FROM vscope.series WHERE metric = 'iso.pool'") == [["pool-a"]]
    assert ctx.as_tenant(B, "SELECT DISTINCT tags->>'host' FROM vscope.series WHERE metric = 'iso.pool'") == [["pool-b"]]


def test_superadmin_acts_for_a_named_tenant(ctx):
    sa = ctx.superadmin()
    r = ctx.post("/api/put", point("iso.super", 11, "by-super"), token=sa, headers={"X-Vscope-Tenant": B})
    assert_status(r, 204)
    assert ctx.as_tenant(B, "SELECT value FROM vscope.datapoints WHERE metric = 'iso.super'") == [["11"]]
    # without a named tenant, a superadmin acts as its own tenant, "superadmin"
    assert_status(ctx.post("/api/put", point("iso.super", 12), token=sa), 204)
    assert ctx.as_tenant("superadmin", "SELECT value FROM vscope.datapoints WHERE metric = 'iso.super'") == [["12"]]
    assert_tsdb_error(ctx.post("/api/put", point("iso.super", 1), token=sa,
                               headers={"X-Vscope-Tenant": "no-such-tenant"}), 404)
