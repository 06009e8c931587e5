"""Fixtures for Weir's interop tests: a real `weir broker` process per test on a free loopback
port with its data in the test's tmp_path, talked to only through third-party clients and raw
sockets."""
from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("WEIR_ROOT", Path(__file__).resolve().parents[2]))
WEIR = Path(os.environ.get("WEIR", ROOT / ".build/release/weir"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_versions_v0(port: int) -> bytes:
    body = struct.pack(">hhih", 18, 0, 7, 4) + b"test"
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", recv_exact(s, 4))[0]
        return recv_exact(s, size)


def recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


class Broker:
    def __init__(self, tmp: Path, overrides: dict | None = None):
        self.port = free_port()
        self.datadir = tmp / "data"
        self.log = tmp / "broker.log"
        self.overrides = overrides or {}
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "Broker":
        args = [str(WEIR), "broker", str(ROOT / "config/server.properties"),
                "--override", f"log.dirs={self.datadir}",
                "--override", f"listeners=PLAINTEXT://127.0.0.1:{self.port}", "--log-level", os.environ.get("WEIR_LOG_LEVEL", "info")]
        for k, v in self.overrides.items():
            args += ["--override", f"{k}={v}"]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"broker exited {self.proc.returncode}:\n{self.log_text()}"
            try:
                api_versions_v0(self.port)
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"broker did not start:\n{self.log_text()}")

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        return self.proc.wait(30)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-6000:]
        except OSError:
            return ""


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path).start()
    yield b
    b.stop()


@pytest.fixture
def broker_factory(tmp_path):
    made = []

    def make(overrides=None, sub="b"):
        d = tmp_path / f"{sub}{len(made)}"
        d.mkdir()
        b = Broker(d, overrides)
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop(signal.SIGKILL) if b.alive() else None


def create_topic(bootstrap: str, name: str, partitions: int = 1, config: dict | None = None):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])[name].result(20)
