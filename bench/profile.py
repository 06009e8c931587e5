#!/usr/bin/env python3
"""`make bench-profile`: where the broker spends its CPU under the broker-alone loads.

Starts `weir broker` (release) on a fresh data directory and, for each load, records a CPU
profile of the broker process only while the load runs:

  produce   weir-bench produce: pre-encoded Produce requests, acks=all, 6 partitions
  fetch     weir-bench fetch, repeated: the topic read back from its start
  latency   kbench.py --only latency: 20,000 records/s, linger 0, acks=all (many tiny requests)

With hardware counters (`perf stat -e instructions true` counts), `perf record -g` on the
broker's PID. In a VM without them, `perf record -e cpu-clock -g` (a timer-driven sample: same
stacks, kernel time included, which matters here: thread hand-offs and syscalls). Only when
perf cannot record at all, valgrind --tool=callgrind with the broker started under it — on a
copy stripped of its debug info, because valgrind 3.19 cannot read Swift 6.3's DWARF 5 (and it
still crashes in libdispatch's signal thread with this toolchain, so perf is the tool).
Writes bench/results/profile-<load>.txt: the hottest symbols by self time, then by inclusive
time (callers included), so that the cost of a whole layer (NIO, the thread pool, RocksDB) shows.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import procs  # noqa: E402
from procs import log  # noqa: E402

WEIR = os.path.join(ROOT, ".build/release/weir")
WB = os.path.join(ROOT, ".build/release/weir-bench")
CONFIG = os.path.join(ROOT, "config/server.properties")


def perf_event():
    """The perf event to sample on: None (hardware default), "cpu-clock", or False (no perf)."""
    r = subprocess.run(["perf", "stat", "-e", "instructions", "true"], capture_output=True, text=True)
    if r.returncode == 0 and "not supported" not in r.stderr:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(["perf", "record", "-e", "cpu-clock", "-o", os.path.join(tmp, "p"), "true"],
                           capture_output=True, text=True)
    return "cpu-clock" if r.returncode == 0 else False


def start_broker(tmp, wrapper=(), binary=WEIR):
    port = procs.free_port()
    data = os.path.join(tmp, "data")
    proc = procs.start(list(wrapper) + [binary, "broker", CONFIG, "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}",
                                        "--override", f"log.dirs={data}", "--log-level", "warning"],
                       os.path.join(tmp, "broker.log"))
    procs.wait_for_port(port, proc, seconds=120)
    return proc, f"127.0.0.1:{port}"


def load(name, bootstrap, pid, seconds):
    """Starts the load in the background; returns its Popen (stopped by the caller)."""
    common = ["--bootstrap", bootstrap, "--partitions", "6", "--broker-pid", str(pid)]
    if name == "produce":
        args = [WB, "produce", "--topic", "prof-produce", "--create", "--acks", "all", "--seconds", str(seconds + 2),
                "--warmup", "0.5"] + common
    elif name == "fetch":
        # A topic to read, then read it from the start again and again.
        procs.run_json([WB, "produce", "--topic", "prof-fetch", "--create", "--acks", "1", "--seconds", "3",
                        "--warmup", "0"] + common, timeout=60)
        loop = f"while true; do {WB} fetch --topic prof-fetch {' '.join(common)} >/dev/null || exit 1; done"
        args = ["bash", "-c", loop]
    elif name == "latency":
        args = [os.path.join(ROOT, ".venv/bin/python"), os.path.join(HERE, "kbench.py"), "--bootstrap", bootstrap,
                "--partitions", "6", "--only", "latency", "--lat-seconds", str(seconds + 3)]
    else:
        raise ValueError(name)
    return procs.start(args, os.devnull)


def perf_profile(name, seconds, tmp, out_dir, event):
    proc, bootstrap = start_broker(tmp)
    try:
        driver = load(name, bootstrap, proc.pid, seconds)
        time.sleep(1.5)
        data = os.path.join(out_dir, f"profile-{name}.perf.data")  # kept: perf report -i … for more views
        subprocess.run(["perf", "record", "-F", "999", "-g"] + (["-e", event] if event else []) +
                       ["-p", str(proc.pid), "-o", data, "--", "sleep", str(seconds)], capture_output=True, check=True)
        procs.stop(driver, grace=5, group=True)
        self_view = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol", "--stdio",
                                    "-g", "none", "--percent-limit", "0.5"], capture_output=True, text=True).stdout
        incl_view = subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "symbol", "--stdio",
                                    "-g", "none", "--percent-limit", "3"], capture_output=True, text=True).stdout
        write(out_dir, name, f"perf record -g{' -e ' + event if event else ''}, {seconds} s of the broker "
              f"under the {name} load",
              self_view, incl_view)
    finally:
        procs.stop(proc)


def callgrind_profile(name, seconds, tmp, out_dir, _event=None):
    out = os.path.join(tmp, f"{name}.callgrind")
    stripped = os.path.join(tmp, "weir")
    subprocess.run(["strip", "--strip-debug", "-o", stripped, WEIR], check=True)
    proc, bootstrap = start_broker(tmp, ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"], stripped)
    try:
        driver = load(name, bootstrap, proc.pid, seconds)
        time.sleep(seconds)
        procs.stop(driver, grace=5, group=True)
    finally:
        procs.stop(proc, grace=120)
    text = subprocess.run(["callgrind_annotate", "--inclusive=no", out], capture_output=True, text=True).stdout
    incl = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], capture_output=True, text=True).stdout
    write(out_dir, name, f"valgrind --tool=callgrind, {seconds} s of load (slowed down ~50x)", text, incl)


def write(out_dir, name, how, self_view, incl_view):
    def trim(text, n):
        lines = [l.rstrip()[:220] for l in text.splitlines() if l.strip() and not l.startswith("#")]
        return "\n".join(lines[:n])
    path = os.path.join(out_dir, f"profile-{name}.txt")
    with open(path, "w") as f:
        f.write(f"# {how}\n\n## self time\n{trim(self_view, 60)}\n\n## inclusive time (callers included)\n"
                f"{trim(incl_view, 80)}\n")
    log(f"wrote {os.path.relpath(path, ROOT)}")
    print(f"\n===== {name}: {how}\n{trim(self_view, 25)}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loads", type=lambda s: s.split(","), default=["produce", "fetch", "latency"])
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    event = perf_event()
    log("profiler: " + {None: "perf (hardware counters)", "cpu-clock": "perf -e cpu-clock (no hardware counters)",
                        False: "valgrind --tool=callgrind (perf cannot record here)"}[event])
    try:
        for name in a.loads:
            with tempfile.TemporaryDirectory(prefix=f"weir-profile-{name}-") as tmp:
                (callgrind_profile if event is False else perf_profile)(name, a.seconds, tmp, a.out_dir, event)
    finally:
        procs.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
