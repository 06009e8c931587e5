"""Processes that `make bench` starts: every one is registered here and stopped by its PID
(SIGTERM, then SIGKILL) when its part ends, and again on exit, so that no broker outlives the
run. /proc sampling for CPU seconds and peak RSS, free ports, JSON-lines commands."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

_started = []


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_port(port, proc, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


def start(args, log_path, env=None):
    """Starts a long-running process (a broker) with output to log_path; registered for stop()."""
    out = open(log_path, "ab")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    out.close()
    _started.append(proc)
    return proc


def stop(proc, grace=20, group=False):
    """SIGTERM, wait up to `grace` s for a clean exit (a broker flushes), then SIGKILL. With
    `group`, the signals go to the process group the process leads (it was started in its own
    session), so that a shell loop's children stop with it."""
    if proc is None:
        return None

    def send(sig):
        try:
            os.killpg(proc.pid, sig) if group else proc.send_signal(sig)
        except ProcessLookupError:
            pass
    if proc.poll() is None:
        try:
            send(signal.SIGTERM)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log(f"pid {proc.pid} ignored SIGTERM for {grace} s: SIGKILL")
            send(signal.SIGKILL)
            proc.wait(timeout=10)
    if proc in _started:
        _started.remove(proc)
    return proc.returncode


def stop_all():
    for proc in list(_started):
        stop(proc, grace=5)


def run_json(args, timeout, env=None, check=True):
    """Runs a command to completion (bounded by `timeout`); returns the JSON objects it printed
    one per line on stdout. Its stderr passes through. A timeout kills it (by PID) and raises;
    so does a non-zero exit status unless `check` is false."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, env=env, start_new_session=True)
    _started.append(proc)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"{os.path.basename(args[0])} {' '.join(args[1:3])}: timed out after {timeout} s")
    finally:
        if proc in _started:
            _started.remove(proc)
    rows = json_lines(out.decode(errors="replace"))
    if check and proc.returncode != 0:
        raise RuntimeError(f"{os.path.basename(args[0])} {' '.join(args[1:3])}: exit status {proc.returncode}")
    return rows


def json_lines(text):
    """The JSON objects in `text`, one per line (other lines are skipped)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    return rows


def tail(path, lines=3):
    """The last lines of a log file, joined with " | " (for an error message)."""
    try:
        with open(path, errors="replace") as f:
            return " | ".join(l.strip() for l in f.read().splitlines()[-lines:] if l.strip())
    except OSError:
        return "(no log)"


def rss_mb(pid):
    """A process's resident set (VmRSS) in MiB, or None when it is gone."""
    return Usage(pid).status_mb("VmRSS:")


def cpu_seconds(pid):
    """A process's user + system CPU seconds so far (/proc/PID/stat), or None when it is gone."""
    return Usage(pid).cpu()


def wait_idle(pid, max_seconds=60, window=1.0, busy=0.05, windows=2):
    """Waits until the process used less than `busy` of a core in `windows` consecutive windows of
    `window` seconds (its background work after a burst is done), at most `max_seconds`.
    Returns the seconds waited, or None when it never went idle (or exited)."""
    t0 = time.time()
    calm = 0
    last = cpu_seconds(pid)
    while time.time() - t0 < max_seconds:
        time.sleep(window)
        now = cpu_seconds(pid)
        if now is None or last is None:
            return None
        calm = calm + 1 if (now - last) / window < busy else 0
        last = now
        if calm >= windows:
            return round(time.time() - t0, 1)
    return None


class Usage:
    """CPU seconds and peak RSS of one process between start() and stop(), from /proc."""

    def __init__(self, pid):
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")

    def cpu(self):
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self.tick
        except (OSError, IndexError, ValueError):
            return None

    def status_mb(self, key):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(key):
                        return round(int(line.split()[1]) / 1024, 1)
        except (OSError, ValueError):
            pass
        return None

    def start(self):
        try:  # reset the peak RSS (VmHWM) to the current RSS
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        self.cpu0 = self.cpu()
        return self

    def stop(self):
        cpu = self.cpu()
        return {
            "cpu_s": round(cpu - self.cpu0, 2) if cpu is not None and self.cpu0 is not None else None,
            "peak_rss_mb": self.status_mb("VmHWM:"),
            "rss_mb": self.status_mb("VmRSS:"),
        }
