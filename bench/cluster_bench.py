"""Part 14 `cluster` of `make bench`: what replication costs end to end. An etcd and three
`weir broker`s joined through it (tools/run-cluster.sh's setup, on free loopback ports, data in
a temp dir), then kbench (confluent-kafka, acks=all, no compression, 6 partitions) against a
topic with replication factor 3 and one with replication factor 1 on the same cluster,
alternately, `repeats` rounds, each scenario its best round. The brokers' CPU is summed (all
three write every byte of an RF 3 topic). Broker log lines at warning or above are kept, since a
stall or an ISR flap in the middle of a run explains a figure better than the figure does."""
import json
import os
import re
import shutil
import time
import urllib.request

import procs
from procs import log

BROKERS = 3
# kbench's latency scenario runs at 20,000 rec/s (part 4's rate), linger 0: one small request
# per record or few. Should RF 3 not keep up with that, its p99 is only the client's message
# timeout, so the scenario also runs at a rate a replicated partition may sustain.
SLOW_RATE = 1000
ETCD_ROOT = "weir-bench"
# StreamLogHandler's lines: "2026-12-02T16:40:00+0000 warning weir : [...] message"
LOUD = re.compile(r"^\S+ (warning|error|critical) ")


class LocalCluster:
    """etcd plus brokers 1..n with etcd.connect, every process registered with procs (stopped
    by PID), each writing its log beside its data under `root`."""

    def __init__(self, weir, config, root, n=BROKERS):
        self.weir, self.config, self.root, self.n = weir, config, root, n
        self.etcd = None
        self.brokers = []       # (node id, Popen, port, log path)
        self.client_port = procs.free_port()

    @property
    def bootstrap(self):
        return ",".join(f"127.0.0.1:{port}" for _, _, port, _ in self.brokers)

    @property
    def pids(self):
        return [p.pid for _, p, _, _ in self.brokers]

    def start(self, seconds):
        os.makedirs(self.root, exist_ok=True)
        c, p = self.client_port, procs.free_port()
        etcd = shutil.which("etcd") or "/usr/bin/etcd"
        if not os.access(etcd, os.X_OK):
            raise RuntimeError("etcd is not installed (Debian's etcd-server; `make run-cluster` installs it)")
        self.etcd = procs.start(
            [etcd, "--name", "bench", "--data-dir", os.path.join(self.root, "etcd"),
             "--listen-client-urls", f"http://127.0.0.1:{c}", "--advertise-client-urls", f"http://127.0.0.1:{c}",
             "--listen-peer-urls", f"http://127.0.0.1:{p}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{p}",
             "--initial-cluster", f"bench=http://127.0.0.1:{p}"], os.path.join(self.root, "etcd.log"))
        deadline = time.time() + seconds
        self._wait("etcd healthy", self._etcd_healthy, deadline)
        for node in range(1, self.n + 1):
            port, data = procs.free_port(), os.path.join(self.root, f"node{node}")
            path = os.path.join(self.root, f"node{node}.log")
            proc = procs.start([self.weir, "broker", self.config, "--override", f"node.id={node}",
                                "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}",
                                "--override", f"log.dirs={data}",
                                "--override", f"etcd.connect=127.0.0.1:{c}/{ETCD_ROOT}",
                                "--log-level", "warning"], path)
            self.brokers.append((node, proc, port, path))
        for node, proc, port, path in self.brokers:
            procs.wait_for_port(port, proc, max(1, deadline - time.time()))
        self._wait(f"Metadata listing {self.n} brokers", self._all_registered, deadline)
        log(f"cluster: etcd pid {self.etcd.pid} on 127.0.0.1:{c}, brokers "
            + ", ".join(f"{node}: pid {proc.pid} on 127.0.0.1:{port}" for node, proc, port, _ in self.brokers))

    def _wait(self, what, check, deadline):
        while time.time() < deadline:
            for _, proc, _, path in self.brokers:
                if proc.poll() is not None:
                    raise RuntimeError(f"broker pid {proc.pid} exited with {proc.returncode}: {procs.tail(path)}")
            if self.etcd.poll() is not None:
                raise RuntimeError(f"etcd exited with {self.etcd.returncode}: "
                                   + procs.tail(os.path.join(self.root, "etcd.log")))
            if check():
                return
            time.sleep(0.2)
        raise RuntimeError(f"cluster: no {what} in time")

    def _etcd_healthy(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.client_port}/health", timeout=1) as r:
                return json.load(r).get("health") == "true"
        except (OSError, ValueError):
            return False

    def _all_registered(self):
        from confluent_kafka.admin import AdminClient
        try:
            md = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=5)
            return len(md.brokers) == self.n
        except Exception:  # not every broker answers yet
            return False

    def stop(self):
        """Brokers first (a broker stopping may still write to etcd), then etcd. Returns the
        exit status of each that did not exit 0."""
        bad = {}
        for node, proc, _, _ in self.brokers:
            rc = procs.stop(proc)
            if rc not in (0, None):
                bad[f"broker {node}"] = rc
        if self.etcd is not None:
            rc = procs.stop(self.etcd, grace=10)
            # etcd ends a clean SIGTERM shutdown by raising the signal again on itself (Go's
            # osutil.HandleInterrupts): -15 is its normal exit.
            if rc not in (0, None, -15):
                bad["etcd"] = rc
        return bad

    def loud_lines(self, keep=8):
        """Per broker: how many log lines at warning or above, and the first `keep` of them."""
        out = {}
        for node, _, _, path in self.brokers:
            try:
                with open(path, errors="replace") as f:
                    lines = [l.rstrip() for l in f if LOUD.match(l)]
            except OSError:
                lines = []
            out[str(node)] = {"count": len(lines), "first": [l[:400] for l in lines[:keep]]}
        return out


def settle(bench, cluster, seconds):
    """Waits (at most `seconds` in all) until every broker is idle; returns the seconds waited."""
    t = time.time()
    for pid in cluster.pids:
        procs.wait_idle(pid, max(1, bench.budget(seconds) - (time.time() - t)))
    return round(time.time() - t, 1)


def run(bench, best_of):
    """The part: `bench` is run.py's Bench (its budget, kbench_rows, problems), best_of its
    per-scenario best-round picker. Results go to bench.res["cluster"]."""
    out = bench.res["cluster"]
    root = os.path.join(bench.tmp, "cluster")
    cluster = LocalCluster(bench.weir, bench.config, root)
    try:
        cluster.start(bench.budget(90))
        # The brokers create __consumer_offsets (50 partitions × RF 3) once all three are live:
        # a burst of work that would land in the first scenario's figure.
        out["settle_s"] = settle(bench, cluster, 60)
        out["brokers"] = BROKERS
        etcd = procs.Usage(cluster.etcd.pid).start()
        pids = ",".join(map(str, cluster.pids))
        for i in range(bench.cfg["repeats"]):
            # RF 3 first in even rounds, RF 1 first in odd ones: drift in background load is shared.
            for rf in ((3, 1) if i % 2 == 0 else (1, 3)):
                # A round's own topic names (run id): a topic deleted in the last round may still
                # be going away on some broker.
                args = ["--acks", "all", "--compression", "none", "--replication-factor", str(rf)]
                rows = bench.kbench_rows(cluster.bootstrap, pids, f"cluster_rf{rf}_r{i}", args)
                settle(bench, cluster, 30)
                rows += [r for r in bench.kbench_rows(cluster.bootstrap, pids, f"cluster_rf{rf}_r{i}_slow",
                                                      args + ["--only", "latency", "--lat-rate", str(SLOW_RATE)])
                         if r.get("scenario") == "latency"]
                # A backlog the run left (requests the client gave up on) must not land in the next.
                settle(bench, cluster, 30)
                out.setdefault(f"rf{rf}_runs", []).append(rows)
                out[f"rf{rf}"] = best_of(out[f"rf{rf}_runs"])
                for r in rows:
                    if r.get("scenario") == "produce":
                        log(f"cluster RF {rf} produce {r.get('record_bytes')} B: {r.get('MB_per_s')} MB/s")
                    elif r.get("scenario") == "latency":
                        log(f"cluster RF {rf} latency at {r.get('target_rate')} rec/s: "
                            f"p99 {(r.get('latency_ms') or {}).get('p99')} ms")
        out["etcd_cpu_s"] = etcd.stop()["cpu_s"]
    finally:
        # Counted before the stop and after it: a line a broker logs while shutting down is
        # not a problem of the measured run, but is worth seeing.
        out["logs"] = cluster.loud_lines()
        bad = cluster.stop()
        out["logs_at_stop"] = {n: {"count": v["count"] - out["logs"].get(n, {}).get("count", 0),
                                   "first": v["first"][out["logs"].get(n, {}).get("count", 0):]}
                               for n, v in cluster.loud_lines().items()}
        if bad:
            bench.problems.append(f"cluster: exit status {bad}")
        for node, v in out["logs"].items():
            if v["count"]:
                bench.problems.append(f"cluster: broker {node} logged {v['count']} warning/error lines during the "
                                      f"run, first: {v['first'][0][:200]}")
        if not bench.a.keep:
            shutil.rmtree(root, ignore_errors=True)
