"""The database restarts under vscoped: the next request still works."""
import os
import subprocess

from vstest import assert_status

PG_CTL = os.path.join(os.environ.get("VSCOPE_PGBIN", "/usr/lib/postgresql/15/bin"), "pg_ctl")


def setup(ctx):
    """The past days written to below (writes never make partitions)."""
    ctx.add_days("2013-01-01")


def test_put_after_database_restart(ctx):
    tok = ctx.token("e2e-restart")
    body = {"metric": "restart.m", "timestamp": 1356998400, "value": 1, "tags": {"h": "a"}}
    assert_status(ctx.post("/api/put", body, token=tok), 204)
    cmd = [PG_CTL, "-D", os.path.join(ctx.test_dir, "pgdata"), "-m", "fast", "-w", "restart",
           "-l", os.path.join(ctx.test_dir, "log", "postgresql.log")]
    if os.environ.get("VSCOPE_RUN_AS") == "postgres":
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, capture_output=True)
    # every pooled connection is now dead; each must be replaced, not fail
    for i in range(12):
        r = ctx.post("/api/put", dict(body, timestamp=1356998400 + i + 1), token=tok)
        assert_status(r, 204)
