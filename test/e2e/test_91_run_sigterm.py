"""make run (scripts/run.sh) stops both vscoped and PostgreSQL on SIGTERM,
what a service manager, a container stop or a CI timeout sends, as it does
on Ctrl-C: afterwards neither process is left and both ports are free, so
the next make run can start."""
import os
import signal
import socket
import subprocess
import threading
import time

from faults import free_port, wait_for


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is gone for this purpose
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def daemon_pid(conf):
    """vscoped's pid: the process whose command line names this config"""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"vscoped") for a in args) and conf.encode() in args:
            return int(pid)
    return None


def test_sigterm_to_make_run_stops_vscoped_and_postgresql(ctx):
    pg = free_port(ctx.port + 70)
    http = free_port(pg + 1)
    telnet = free_port(http + 1)
    data = os.path.join(ctx.test_dir or "/tmp", "run-sigterm")
    subprocess.run(["rm", "-rf", data], check=True)
    env = dict(os.environ, VSCOPE_DATA=data, VSCOPE_PGPORT=str(pg), VSCOPE_HTTP_PORT=str(http),
               VSCOPE_TELNET_PORT=str(telnet), VSCOPE_DEMO="0")   # no demo data: start quickly
    for k in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS"):     # not the jobs of the make test runs in
        env.pop(k, None)
    # make run itself: GNU make passes a SIGTERM on to scripts/run.sh
    proc = subprocess.Popen(["make", "-s", "-C", os.environ["VSCOPE_ROOT"], "run"], env=env,
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    out = []
    reader = threading.Thread(target=lambda: out.extend(iter(proc.stdout.readline, b"")), daemon=True)
    reader.start()
    postmaster = vscoped = None
    try:
        wait_for(lambda: b"vscope is running" in b"".join(out) or proc.poll() is not None,
                 "make run to start", timeout=300, step=0.2)
        assert proc.poll() is None, b"".join(out).decode(errors="replace")
        with open(os.path.join(data, "pgdata", "postmaster.pid")) as f:
            postmaster = int(f.readline())
        vscoped = daemon_pid(os.path.join(data, "vscoped.conf"))
        assert vscoped is not None and alive(postmaster)
        assert not port_free(pg) and not port_free(http)

        # only make gets the signal, as from kill or a service manager
        # (not the whole process group, as Ctrl-C in a terminal does)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        reader.join(10)
        text = b"".join(out).decode(errors="replace")
        assert "stopping vscoped and PostgreSQL" in text, text
        wait_for(lambda: not alive(vscoped) and not alive(postmaster),
                 "vscoped and PostgreSQL to exit", timeout=60)
        wait_for(lambda: port_free(pg) and port_free(http), "the ports to be free", timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in (vscoped, postmaster):
            if pid is not None and alive(pid):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        subprocess.run(["rm", "-rf", data])
