"""A real etcd and Weir brokers joined through it, for the cluster's interop tests: each on
free loopback ports with its data under the test's tmp_path, killed at the end."""
from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import threading
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


class LinkProxy:
    """A TCP relay from a free loopback port to `target`: what a broker's link to etcd goes
    through, so a test can cut that one link (`cut`: open connections are closed, new ones are
    accepted and closed at once) and restore it, without touching either process."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.cut_off = threading.Event()
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket):
        try:
            while not self.cut_off.is_set():
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    def cut(self):
        self.cut_off.set()
        with self.lock:
            for s in self.open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.open.clear()

    def restore(self):
        self.cut_off.clear()

    def close(self):
        self.cut()
        self.server.close()


class Cluster:
    """etcd plus `n` brokers (node ids 1..n) with etcd.connect set; with `links`, each broker
    reaches etcd through its own LinkProxy (`cluster.links[node]`), which a test may cut."""

    def __init__(self, tmp: Path, n: int = 3, overrides: dict | None = None, links: bool = False):
        self.tmp = tmp
        self.etcd = Etcd(tmp).start()
        self.brokers: dict[int, Broker] = {}
        self.links: dict[int, LinkProxy] = {}
        for node in range(1, n + 1):
            d = tmp / f"node{node}"
            d.mkdir()
            endpoint = self.etcd.endpoint
            if links:
                self.links[node] = LinkProxy(self.etcd.client_port)
                endpoint = f"127.0.0.1:{self.links[node].port}"
            self.brokers[node] = Broker(d, {"node.id": node, "etcd.connect": f"{endpoint}/weir-test",
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
        for link in self.links.values():
            link.close()
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


def metadata(bootstrap: str):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)


def create(bootstrap: str, name: str, partitions: int, rf: int = 1, config: dict | None = None):
    """CreateTopics, then waits until every broker knows the topic: CreateTopics returns once the
    controller placed it; the other brokers learn it from their etcd watch a moment later, as
    Kafka brokers do from the controller."""
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the result is in
    admin.create_topics([NewTopic(name, partitions, rf, config=config or {})], operation_timeout=20)[name].result(30)
    for address in bootstrap.split(","):
        wait_for(f"{name} known to {address}", lambda: (t := metadata(address).topics.get(name)) is not None
                 and len(t.partitions) == partitions and all(p.leader >= 0 for p in t.partitions.values()))


def running_cluster(tmp: Path, overrides: dict | None = None):
    """A started cluster once all three brokers are live (a fixture's body: `yield from`);
    the brokers' logs are printed when the test fails."""
    c = Cluster(tmp, overrides=overrides).start()
    try:
        wait_for("three live brokers", lambda: len(metadata(c.bootstrap).brokers) == 3)
        yield c
    except BaseException:
        print(c.logs())
        raise
    finally:
        c.stop()
