#!/usr/bin/env python3
"""The data and the client of bench/ceilometer_publish.sh.

  ceilometer_publish.py make DIR RESOURCES ROUNDS T0
      writes DIR/publish-B-R.json (the http publisher's bodies, B samples a
      post, round R), DIR/meters-1000-R.json (the same samples as POST
      /v2/meters/cpu_util bodies) and DIR/plain-B-R.sql (the same rows as
      plain INSERTs, one statement a post)
  ceilometer_publish.py post URL TOKEN PATH FILE...
      POSTs each file's body in turn on one keep-alive connection, and
      prints the seconds it took and the samples stored (or echoed)

RESOURCES instances of 20 projects, each polled ROUNDS times ten minutes
apart from T0 (Unix seconds): cpu_util, memory.usage and disk.read.bytes,
with the metadata Ceilometer's compute pollsters attach to an instance.
"""
import base64
import http.client
import json
import sys
import time
import urllib.parse
import uuid

METERS = [("cpu_util", "gauge", "%"), ("memory.usage", "gauge", "MB"), ("disk.read.bytes", "cumulative", "B")]


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))


def samples(resources, rnd, t0, run):
    """one round: every meter of every instance, as Sample.as_dict() has them
    (run: the ids and times of each run of the benchmark differ)"""
    out = []
    for r in range(resources):
        vm = str(uuid.UUID(int=r + 1))
        md = {"display_name": f"vm-{r}", "host": f"compute-{r % 40}", "instance_id": vm,
              "instance_type": "m1.small", "image_ref": "9f7a2f8e-6c41-4d0f-9a0e-0f7c1b2a3d4e",
              "flavor": {"name": "m1.small", "id": "2", "vcpus": 1, "ram": 2048, "disk": 20, "ephemeral": 0},
              "status": "active", "state": "running", "architecture": "x86_64", "os_type": "linux",
              "root_gb": 20, "vcpus": 1, "memory_mb": 2048}
        for m, (name, typ, unit) in enumerate(METERS):
            vol = [round(10 + (r * 7 + rnd * 13) % 80 + 0.25, 2), 512 + (r + rnd) % 1536,
                   1000000 * (rnd + 1) + r][m]
            out.append({"name": name, "type": typ, "unit": unit, "volume": vol,
                        "user_id": f"user-{r % 50}", "project_id": f"bench-proj-{r % 20}",
                        "resource_id": vm, "timestamp": iso(t0 + 600 * rnd + r % 300 + run % 7),
                        "resource_metadata": md, "source": "openstack",
                        "id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{run}/{rnd}/{r}/{m}")), "monotonic_time": None})
    return out


def lit(v):
    if v is None:
        return "NULL"
    return "'" + str(v).replace("'", "''") + "'"


def make(d, resources, rounds, t0):
    for rnd in range(rounds):
        for b in (1000, 50):
            all_ = samples(resources, rnd, t0, b)
            for i in range(0, len(all_), b):
                part = all_[i:i + b]
                with open(f"{d}/publish-{b}-{rnd}.json", "a") as f:
                    f.write(json.dumps(part) + "\n")
                with open(f"{d}/plain-{b}-{rnd}.sql", "a") as f:
                    f.write("INSERT INTO plain_samples VALUES\n" + ",\n".join(
                        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)" % (
                            lit(s["id"]), lit(s["name"]), lit(s["type"]), lit(s["unit"]), repr(float(s["volume"])),
                            lit(s["user_id"]), lit(s["project_id"]), lit(s["resource_id"]),
                            lit(s["timestamp"] + "+00"), lit(json.dumps(s["resource_metadata"])), lit(s["source"]))
                        for s in part) + ";\n")
        # the cpu_util samples as POST /v2/meters/cpu_util takes them (1000 a post)
        cpu = [s for s in samples(resources, rnd, t0, 1) if s["name"] == "cpu_util"]
        for i in range(0, len(cpu), 1000):
            with open(f"{d}/meters-1000-{rnd}.json", "a") as f:
                f.write(json.dumps([{
                    "counter_name": s["name"], "counter_type": s["type"], "counter_unit": s["unit"],
                    "counter_volume": s["volume"], "resource_id": s["resource_id"], "project_id": s["project_id"],
                    "user_id": s["user_id"], "timestamp": s["timestamp"],
                    "resource_metadata": {"display_name": s["resource_metadata"]["display_name"],
                                          "host": s["resource_metadata"]["host"],
                                          "flavor.name": "m1.small"}} for s in cpu[i:i + 1000]]) + "\n")


def post(url, token, path, files):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    auth = "Basic " + base64.b64encode(f"bench:{token}".encode()).decode()
    bodies = [line for f in files for line in open(f) if line.strip()]
    n = 0
    t0 = time.monotonic()
    for body in bodies:
        conn.request("POST", path, body=body.encode(),
                     headers={"Content-Type": "application/json", "Authorization": auth, "X-Auth-Token": token})
        r = conn.getresponse()
        data = r.read()
        if r.status >= 300:
            sys.exit(f"POST {path}: {r.status} {data[:500]!r}")
        a = json.loads(data)
        n += a["stored"] + a["duplicates"] if isinstance(a, dict) else len(a)
    print(f"{time.monotonic() - t0:.6f} {n}")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        post(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
