#!/usr/bin/env python3
"""baseline_etcd.py: the plain client Skiff's etcd bench compares against.

Python's http.client with keep-alive, one thread and one connection per
concurrent stream, JSON through the etcd v3 gateway with base64 keys and
values. It does exactly the work of bench/etcd_bench.c for one case:

  put  each stream puts VALUE to PREFIX<stream>/<seq % 128>
  txn  each stream runs a compare-and-swap on its own key PREFIX<stream>:
       compare MOD(key) == last mod_revision (0 at first), success: put
       key=VALUE; the new mod_revision is the response's header.revision.
       A txn that does not succeed is an error (nobody else writes the key).

Every stream starts together, runs WARMUP seconds unmeasured (connections
open, caches warm), then counts the operations that complete in the next
DURATION seconds. Errors (HTTP status other than 200, a gRPC error body,
a broken connection, an unexpected response) are counted and reported,
never counted as operations.

Output, one line on stdout (total counts warm-up operations too):
  ops=N errors=N total=N seconds=S rate=R first_error="..."
Exit status 0, or 2 on usage errors. Standard library only.
"""
import argparse
import base64
import http.client
import json
import sys
import threading
import time
import urllib.parse


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


class Stream(threading.Thread):
    def __init__(self, args, idx, start, t_measure, t_end):
        super().__init__(daemon=True)
        self.args = args
        self.idx = idx
        self.start_barrier = start
        self.t_measure = t_measure
        self.t_end = t_end
        self.ops = 0
        self.total = 0
        self.errors = 0
        self.first_error = ""
        self.conn = None
        self.mod_rev = 0
        self.seq = 0

    def connect(self):
        u = self.args.url
        self.conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=self.args.timeout)
        self.conn.connect()

    def call(self, path, body):
        """POST body (a dict) to path; return the decoded JSON reply."""
        data = json.dumps(body).encode()
        self.conn.request("POST", path, data, {"Content-Type": "application/json"})
        r = self.conn.getresponse()
        payload = r.read()
        if r.status != 200:
            raise RuntimeError("HTTP %d: %s" % (r.status, payload[:200].decode(errors="replace")))
        return json.loads(payload)

    def put(self):
        key = "%s%d/%d" % (self.args.prefix, self.idx, self.seq % 128)
        self.seq += 1
        res = self.call("/v3/kv/put", {"key": b64(key), "value": self.args.value_b64})
        int(res["header"]["revision"])

    def txn(self):
        key = b64("%s%d" % (self.args.prefix, self.idx))
        body = {
            "compare": [{"target": "MOD", "result": "EQUAL", "key": key,
                         "mod_revision": str(self.mod_rev)}],
            "success": [{"request_put": {"key": key, "value": self.args.value_b64}}],
        }
        res = self.call("/v3/kv/txn", body)
        rev = int(res["header"]["revision"])
        if not res.get("succeeded", False):
            # Resynchronise so one lost reply does not fail every later txn.
            self.mod_rev = self.current_mod_rev(key)
            raise RuntimeError("txn compare failed (mod_revision moved)")
        self.mod_rev = rev

    def current_mod_rev(self, key):
        try:
            res = self.call("/v3/kv/range", {"key": key})
            kvs = res.get("kvs", [])
            return int(kvs[0]["mod_revision"]) if kvs else 0
        except Exception:
            return self.mod_rev

    def error(self, e):
        self.errors += 1
        if not self.first_error:
            self.first_error = "%s: %s" % (type(e).__name__, e)
        if isinstance(e, (OSError, http.client.HTTPException)):
            try:
                self.conn.close()
                self.connect()
            except OSError:
                time.sleep(0.01)

    def run(self):
        op = self.put if self.args.op == "put" else self.txn
        try:
            self.connect()
        except OSError as e:
            self.error(e)
        self.start_barrier.wait()
        now = time.monotonic()
        while now < self.t_end:
            try:
                op()
                now = time.monotonic()
                self.total += 1
                if now >= self.t_measure and now < self.t_end:
                    self.ops += 1
            except Exception as e:  # counted and reported, never as success
                self.error(e)
                now = time.monotonic()
        if self.conn:
            self.conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True, help="http://host:port")
    p.add_argument("--op", choices=["put", "txn"], required=True)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--duration", type=float, default=3.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=0.3, help="unmeasured seconds first")
    p.add_argument("--prefix", required=True, help="key prefix, distinct per case")
    p.add_argument("--value-size", type=int, default=128)
    p.add_argument("--timeout", type=float, default=5.0, help="per request, seconds")
    args = p.parse_args()
    args.url = urllib.parse.urlsplit(args.endpoint)
    if args.url.scheme != "http" or args.concurrency < 1:
        p.error("need an http:// endpoint and concurrency >= 1")
    args.value_b64 = b64(b"x" * args.value_size)

    start = threading.Barrier(args.concurrency + 1)
    streams = []
    for i in range(args.concurrency):
        streams.append(Stream(args, i, start, 0, 0))
        streams[-1].start()
    t0 = time.monotonic()
    t_measure, t_end = t0 + args.warmup, t0 + args.warmup + args.duration
    for s in streams:
        s.t_measure, s.t_end = t_measure, t_end
    start.wait()
    for s in streams:
        s.join()
    ops = sum(s.ops for s in streams)
    total = sum(s.total for s in streams)
    errors = sum(s.errors for s in streams)
    first = next((s.first_error for s in streams if s.first_error), "")
    print('ops=%d errors=%d total=%d seconds=%.3f rate=%.1f first_error="%s"' % (
        ops, errors, total, args.duration, ops / args.duration, first.replace('"', "'")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
