"""Helpers for the fault tests: a vscoped of a test's own, the cluster
killed and started again, waiting for conditions."""
import os
import re
import signal
import socket
import subprocess
import time

PGBIN = os.environ.get("VSCOPE_PGBIN", "/usr/lib/postgresql/15/bin")


def free_port(preferred):
    for port in range(preferred, preferred + 40):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port from {preferred}")


def wait_for(cond, what, timeout=120, step=0.1):
    """Waits until cond() is true; fails saying what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def db_uri(app):
    """The main daemon's db-uri with another application_name, so this
    module's backends can be told from the main daemon's."""
    with open(os.environ["VSCOPE_DAEMON_CONF"]) as f:
        conf = f.read()
    uri = re.search(r'^db-uri = "(.*)"$', conf, re.M).group(1)
    return re.sub(r"application_name=\S+", f"application_name={app}", uri)


def spawn(ctx, port, env, log_name):
    """A vscoped of the test's own (telnet and maintenance off unless env
    says), its log appended to log_name in the test directory (a pipe
    nobody reads would fill and stop it); waits until it answers."""
    full = dict(os.environ, VSCOPE_SERVER_PORT=str(port), VSCOPE_MAINTENANCE_INTERVAL="0",
                VSCOPE_TELNET_TENANT="")
    full.update(env)
    daemon = os.path.join(os.environ["VSCOPE_ROOT"], "src", "daemon", "vscoped")
    log = open(os.path.join(ctx.test_dir, log_name), "a")
    proc = subprocess.Popen([daemon, os.environ["VSCOPE_DAEMON_CONF"]], env=full,
                            stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if ctx.get("/live", port=port, timeout=10).status == 200:
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    raise AssertionError(f"vscoped did not start on port {port} (log: {log_name})")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pg_ctl(ctx, *args, check=True):
    cmd = [os.path.join(PGBIN, "pg_ctl"), "-D", os.path.join(ctx.test_dir, "pgdata")] + list(args)
    if os.environ.get("VSCOPE_RUN_AS") == "postgres":
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def cluster_start(ctx, timeout=120):
    """Starts the cluster again; after a SIGKILLed postmaster its orphaned
    backends may hold the old shared memory a moment, so it is retried."""
    log = os.path.join(ctx.test_dir, "log", "postgresql.log")
    deadline = time.monotonic() + timeout
    while True:
        p = pg_ctl(ctx, "-l", log, "-w", "-t", "60", "-o", f"-p {os.environ['PGPORT']}", "start",
                   check=False)
        if p.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the cluster did not start again: {p.stdout} {p.stderr}")
        time.sleep(0.5)


def postmaster_pid(ctx):
    with open(os.path.join(ctx.test_dir, "pgdata", "postmaster.pid")) as f:
        return int(f.readline())


def cluster_answers(ctx):
    p = ctx.psql("SELECT 1", check=False)
    return p.returncode == 0 and p.stdout.strip() == "1"
