"""Drives Ceilometer's own publishers (Debian's python3-ceilometer) for the
end-to-end tests: run with the Python that has Ceilometer (/usr/bin/python3),
a JSON request on stdin, a JSON answer on stdout.

Request: {"url": "http://user:TOKEN@host:port/v2/publish/samples?timeout=5"
          or "udp://host:port", "secret": "...", "what": "samples"|"events",
          "items": [...], "times": 1, "parallel": 0}
  samples are the keyword arguments of ceilometer.sample.Sample (id
  included, so that a test knows them); events are {"message_id",
  "event_type", "generated", "traits": [[name, dtype, value]], "raw"}, with
  datetimes (generated, dtype 4 values) as ISO strings made datetimes here.
  times: how often the same items are published; parallel: the items are
  a list of batches, published by that many threads at once through one
  publisher, as a notification agent's workers do.
Answer: {"ids": [...], "seconds": [...one per publish call...],
         "errors": [...exceptions...], "log": [...warnings Ceilometer logged...]}
"""
import datetime
import json
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from oslo_config import cfg
from oslo_utils import netutils

from ceilometer.event import models
from ceilometer.publisher import http as http_publisher
from ceilometer.publisher import udp as udp_publisher
from ceilometer.publisher import utils as publisher_utils
from ceilometer import sample as sample_mod


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def conf_with(secret):
    conf = cfg.ConfigOpts()
    conf.register_opts(publisher_utils.OPTS, group="publisher")
    conf.register_opt(cfg.IntOpt("max_parallel_requests", default=64))
    conf([], project="ceilometer", default_config_files=[])
    conf.set_override("telemetry_secret", secret, group="publisher")
    return conf


def when(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")) if isinstance(s, str) else s


def event(e):
    traits = [models.Trait(n, d, when(v) if d == 4 else v) for n, d, v in e.get("traits", [])]
    return models.Event(e["message_id"], e["event_type"], when(e["generated"]), traits, e.get("raw", {}))


def main():
    req = json.load(sys.stdin)
    log = Collect()
    logging.getLogger().addHandler(log)
    conf = conf_with(req.get("secret", ""))
    url = netutils.urlsplit(req["url"])
    pub = (udp_publisher.UDPPublisher if url.scheme == "udp" else http_publisher.HttpPublisher)(conf, url)
    events = req.get("what") == "events"
    out = {"ids": [], "seconds": [], "errors": []}

    def publish(items):
        t0 = time.monotonic()
        try:
            if events:
                pub.publish_events([event(e) for e in items])
            else:
                pub.publish_samples([sample_mod.Sample(**s) for s in items])
        except Exception as e:  # what Ceilometer would log and retry
            out["errors"].append(f"{type(e).__name__}: {e}")
        out["seconds"].append(time.monotonic() - t0)

    if req.get("parallel"):
        with ThreadPoolExecutor(req["parallel"]) as ex:
            list(ex.map(publish, req["items"]))
    else:
        for _ in range(req.get("times", 1)):
            publish(req["items"])
    out["log"] = log.lines
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
