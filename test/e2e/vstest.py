"""Helpers for the end-to-end tests: HTTP, psql, tenants and tokens."""
import base64
import http.client
import json
import os
import subprocess
import urllib.parse

PSQL = os.path.join(os.environ.get("VSCOPE_PGBIN", "/usr/lib/postgresql/15/bin"), "psql")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Ctx:
    def __init__(self):
        self.url = os.environ["VSCOPE_URL"]
        u = urllib.parse.urlparse(self.url)
        self.host, self.port = u.hostname, u.port
        self.test_dir = os.environ.get("VSCOPE_TEST_DIR", "")
        self._tokens = {}

    # ---- HTTP ----
    def request(self, method, path, body=None, token=None, basic=None, headers=None,
                port=None, timeout=60):
        """One HTTP request.  token goes in X-Auth-Token; basic=(user, pass)."""
        h = dict(headers or {})
        if token is not None:
            h["X-Auth-Token"] = token
        if basic is not None:
            raw = f"{basic[0]}:{basic[1]}".encode()
            h["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection(self.host, port or self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read().decode("utf-8", "replace")
            return Response(r.status, r.getheaders(), data)
        finally:
            conn.close()

    def headers_only(self, method, path, headers):
        """Sends the request line and headers but no body, and returns
        (status, body) of what the server answers without waiting for it."""
        import socket
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        with socket.create_connection((self.host, self.port), timeout=10) as s:
            s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            status = int(head.split(b" ")[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v.strip())
            while len(rest) < length:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
            return status, rest.decode()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    # ---- a second vscoped, with settings of its own ----
    def spawn_daemon(self, port, **env):
        """Starts vscoped on port with VSCOPE_* overrides (telnet and
        maintenance off) and waits until it answers; returns the Popen."""
        import time
        full = dict(os.environ, VSCOPE_SERVER_PORT=str(port), VSCOPE_TELNET_TENANT="",
                    VSCOPE_MAINTENANCE_INTERVAL="0", **env)
        daemon = os.path.join(os.environ["VSCOPE_ROOT"], "src", "daemon", "vscoped")
        proc = subprocess.Popen([daemon, os.environ["VSCOPE_DAEMON_CONF"]], env=full,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(100):
            try:
                if self.get("/live", port=port).status == 200:
                    return proc
            except OSError:
                time.sleep(0.05)
        proc.kill()
        raise AssertionError(f"vscoped did not start on port {port}: {proc.communicate()[0]}")

    # ---- SQL (as the superuser, over the cluster's socket) ----
    def psql(self, sql, user="postgres", check=True, db="vscope"):
        """Runs SQL in database db; returns rows as lists of strings
        (unaligned, tab-separated)."""
        p = subprocess.run([PSQL, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                            "-U", user, "-d", db, "-f", "-"],
                           input=sql, capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"psql failed: {p.stderr.strip()}")
        if not check:
            return p
        return [line.split("\t") for line in p.stdout.splitlines() if line != ""]

    def scalar(self, sql, db="vscope"):
        rows = self.psql(sql, db=db)
        assert len(rows) == 1 and len(rows[0]) == 1, f"expected one value from {sql!r}, got {rows}"
        return rows[0][0]

    def add_days(self, first, last=None, db="vscope"):
        """Makes the UTC days first..last ("YYYY-MM-DD", or Unix seconds)
        writable, as the operator does: writes never make partitions, and
        the tests write to days long past."""
        import datetime

        def day(d):
            if isinstance(d, (int, float)):
                return datetime.datetime.fromtimestamp(d, datetime.timezone.utc).date().isoformat()
            return d
        first = day(first)
        last = day(last) if last is not None else first
        self.psql(f"SET client_min_messages = warning;\nCALL vscope.add_days('{first}', '{last}');", db=db)

    def as_tenant(self, tenant, sql):
        """Runs SQL as a reader of the tenant (the superuser would bypass RLS)."""
        return self.psql(f"SELECT vscope.use_tenant('{tenant}') \\g /dev/null\n"
                         f"SET ROLE vscope_reader;\n{sql}")

    # ---- tenants and tokens ----
    def tenant(self, name):
        self.psql(f"SELECT vscope.create_tenant('{name}')")
        return name

    def token(self, tenant, scopes="read,write"):
        """A token for the tenant with these scopes, made once per (tenant, scopes)."""
        key = (tenant, scopes)
        if key not in self._tokens:
            self.tenant(tenant)
            self._tokens[key] = self.scalar(
                f"SELECT vscope.create_token('{tenant}', '{{{scopes}}}', 'e2e')")
        return self._tokens[key]

    def superadmin(self):
        return self.token("superadmin", "superadmin")


def assert_status(r, status):
    assert r.status == status, f"expected {status}, got {r!r}"


def assert_tsdb_error(r, status, message_part=None):
    """The OpenTSDB error body: {"error": {"code": status, "message": ...}}."""
    assert_status(r, status)
    body = r.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == status, body
    if message_part is not None:
        assert message_part in body["error"]["message"], body
    return body["error"]
