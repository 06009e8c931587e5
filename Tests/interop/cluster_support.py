"""A real etcd and Weir brokers joined through it, for the cluster's interop tests: each on
free loopback ports with its data under the test's tmp_path, killed at the end."""
from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import Broker, free_port


class Etcd:
    def __init__(self, tmp: Path):
        self.client_port = free_port()
        self.peer_port = free_port()
        self.datadir = tmp / "etcd"
        self.log = tmp / "etcd.log"
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def start(self) -> "Etcd":
        binary = shutil.which("etcd") or "/usr/bin/etcd"
        c, p = self.client_port, self.peer_port
        self.proc = subprocess.Popen(
            [binary, "--name", "t", "--data-dir", str(self.datadir),
             "--listen-client-urls", f"http://127.0.0.1:{c}", "--advertise-client-urls", f"http://127.0.0.1:{c}",
             "--listen-peer-urls", f"http://127.0.0.1:{p}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{p}",
             "--initial-cluster", f"t=http://127.0.0.1:{p}"],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"etcd exited:\n{self.log.read_text()[-3000:]}"
            if self.get("/health-probe") is not None:
                return self
            time.sleep(0.1)
        raise AssertionError("etcd did not start")

    def get(self, key: str, prefix: bool = False):
        """etcdctl get: the (key, value) pairs, or None when etcd does not answer."""
        args = ["etcdctl", f"--endpoints={self.endpoint}", "--dial-timeout=1s", "--command-timeout=2s", "get", key]
        if prefix:
            args.append("--prefix")
        r = subprocess.run(args, capture_output=True, text=True, env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"})
        if r.returncode != 0:
            return None
        lines = r.stdout.splitlines()
        return list(zip(lines[0::2], lines[1::2]))

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(20)


class Cluster:
    """etcd plus `n` brokers (node ids 1..n) with etcd.connect set."""

    def __init__(self, tmp: Path, n: int = 3, overrides: dict | None = None):
        self.tmp = tmp
        self.etcd = Etcd(tmp).start()
        self.brokers: dict[int, Broker] = {}
        for node in range(1, n + 1):
            d = tmp / f"node{node}"
            d.mkdir()
            self.brokers[node] = Broker(d, {"node.id": node, "etcd.connect": f"{self.etcd.endpoint}/weir-test",
                                            **(overrides or {})})

    def start(self) -> "Cluster":
        for b in self.brokers.values():
            b.start()
        return self

    @property
    def bootstrap(self) -> str:
        return ",".join(b.bootstrap for b in self.brokers.values() if b.alive())

    def stop(self):
        for b in self.brokers.values():
            if b.alive():
                b.stop(signal.SIGKILL)
        self.etcd.stop(signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(f"--- node {n}\n{b.log_text()[-2500:]}" for n, b in self.brokers.items())


def wait_for(what: str, check, timeout: float = 30.0, every: float = 0.2):
    """Polls `check` until it returns a truthy value (returned); fails naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as e:  # a broker may be restarting: keep asking until the deadline
            last = e
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")
