#!/usr/bin/env python3
"""cache_rss.py: what the control plane's caches cost per pod (issue 20).

Starts a throwaway etcd (scripts/etcd-local.sh), writes PODS pods the way
the cluster writes them: replication controllers of 100 replicas (app
label, one container, as bench/scale's), each pod owned by its controller,
bound to one of 50 nodes by a binding carrying the pod's copy, with a
Running and ready status as an agent writes it, and a service selecting
each controller's pods. Then starts skiff-scheduler,
skiff-replication-controller and skiff-endpoints-controller from BINDIR,
waits until each one's VmRSS has not moved for STABLE seconds (their
caches listed, the controllers' statuses and endpoints written) and
prints one line:

  pods=N sched_rss_kb=... rc_rss_kb=... epc_rss_kb=... (VmRSS, and VmHWM)

Bytes per pod are the difference of two runs (e.g. --pods 0 and
--pods 8000) divided by the pods. Memory, not time: the load on the
machine does not change it. Exit status 0, 1 when something did not
start, 2 on usage errors. Standard library only.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import time
import urllib.request

NODES = 50
REPLICAS = 100
P = "/rss"


def b64(s):
    return base64.b64encode(s.encode()).decode()


def call(ep, path, body):
    req = urllib.request.Request(ep + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def put_all(ep, kvs):
    """Put (key, value) pairs, 100 to a transaction; the revision of each."""
    revs = []
    for i in range(0, len(kvs), 100):
        chunk = kvs[i:i + 100]
        ops = [{"request_put": {"key": b64(k), "value": b64(v)}} for k, v in chunk]
        rev = int(call(ep, "/v3/kv/txn", {"success": ops})["header"]["revision"])
        revs += [rev] * len(chunk)
    return revs


def pod(name, app, ctl_uid, uid=None):
    meta = {"labels": {"app": app}, "name": name,
            "ownerReferences": [{"controller": True, "kind": "ReplicationController", "name": app, "uid": ctl_uid}]}
    if uid:
        meta["uid"] = uid
    return {"metadata": meta,
            "spec": {"containers": [{"image": "hollow/web:1", "imagePullPolicy": "IfNotPresent", "name": "web"}],
                     "restartPolicy": "Always", "terminationGracePeriodSeconds": 10}}


def status(uid, node, k):
    t = "2026-01-01T00:00:00Z"
    cond = [{"type": c, "status": "True", "lastTransitionTime": t}
            for c in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
    return {"uid": uid, "phase": "Running", "hostIP": "10.128.0.%d" % (node + 1),
            "podIP": "10.244.%d.%d" % (k // 250, k % 250 + 2), "startTime": t,
            "containerStatuses": [{"name": "web", "ready": True, "started": True, "restartCount": 0,
                                   "image": "hollow/web:1", "imageID": "hollow://sha256:%064x" % k,
                                   "containerID": "hollow://%032x" % k, "state": {"running": {"startedAt": t}}}],
            "conditions": cond}


def fill(ep, pods):
    ctls = (pods + REPLICAS - 1) // REPLICAS
    cv = []
    for c in range(ctls):
        app = "app%d" % c
        tmpl = {"metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "web", "image": "hollow/web:1"}]}}
        cv.append(("%s/controllers/%s" % (P, app), json.dumps({"metadata": {"name": app}, "spec": {
            "replicas": min(REPLICAS, pods - c * REPLICAS), "selector": {"app": app}, "template": tmpl}})))
    crev = put_all(ep, cv)
    pv, names = [], []
    for k in range(pods):
        c = k // REPLICAS
        name = "app%d-%05d" % (c, k)
        names.append((name, c))
        pv.append(("%s/pods/%s" % (P, name), json.dumps(pod(name, "app%d" % c, str(crev[c])))))
    prev = put_all(ep, pv)
    kv = []
    for k, ((name, c), rev) in enumerate(zip(names, prev)):
        node = "node-%d" % (k % NODES)
        b = {"node": node, "pod": pod(name, "app%d" % c, str(crev[c]), str(rev))}
        kv.append(("%s/bindings/%s/%s" % (P, node, name), json.dumps(b)))
        kv.append(("%s/podstatus/%s/%s" % (P, node, name), json.dumps(status(str(rev), k % NODES, k))))
    put_all(ep, kv)
    sv = [("%s/services/app%d" % (P, c), json.dumps({"metadata": {"name": "app%d" % c}, "spec": {
        "selector": {"app": "app%d" % c}, "ports": [{"port": 80, "targetPort": 8080}]}})) for c in range(ctls)]
    put_all(ep, sv)


def count(ep, d):
    k = P + d
    end = k[:-1] + chr(ord(k[-1]) + 1)
    return int(call(ep, "/v3/kv/range", {"key": b64(k), "range_end": b64(end), "count_only": True}).get("count", 0))


def mem(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def settle(procs, stable, limit):
    """Wait until no process's VmRSS moved by more than 64 kB for stable s."""
    last, since, t0 = None, time.time(), time.time()
    while time.time() - t0 < limit:
        time.sleep(1)
        now = [mem(p.pid)["VmRSS"] for p in procs]
        if last is None or any(abs(a - b) > 64 for a, b in zip(now, last)):
            last, since = now, time.time()
        elif time.time() - since >= stable:
            return
    print("cache_rss: RSS still moving after %d s" % limit, file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pods", type=int, default=8000)
    ap.add_argument("--bindir", default="build/bin")
    ap.add_argument("--stable", type=int, default=8, help="seconds of unchanged RSS (8)")
    ap.add_argument("--limit", type=int, default=300, help="give up waiting after this long (300)")
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    ep = subprocess.run([os.path.join(here, "..", "scripts", "etcd-local.sh"), "start", "--owner", str(os.getpid())],
                        check=True, capture_output=True, text=True).stdout.strip()
    procs = []
    try:
        fill(ep, a.pods)
        for prog in ("skiff-scheduler", "skiff-replication-controller", "skiff-endpoints-controller"):
            procs.append(subprocess.Popen([os.path.join(a.bindir, prog), "--etcd-endpoints=" + ep,
                                           "--prefix=" + P, "--log-level=warn"], stderr=subprocess.DEVNULL))
        settle(procs, a.stable, a.limit)
        m = [mem(p.pid) for p in procs]
        left = count(ep, "/pods/"), count(ep, "/endpoints/"), count(ep, "/controllerstatus/")
        print("pods=%d sched_rss_kb=%d rc_rss_kb=%d epc_rss_kb=%d (hwm %d %d %d; in etcd: %d pods, %d endpoints, "
              "%d controller statuses)" % ((a.pods, m[0]["VmRSS"], m[1]["VmRSS"], m[2]["VmRSS"], m[0]["VmHWM"],
                                            m[1]["VmHWM"], m[2]["VmHWM"]) + left))
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        subprocess.run([os.path.join(here, "..", "scripts", "etcd-local.sh"), "stop", ep], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
