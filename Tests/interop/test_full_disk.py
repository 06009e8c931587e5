"""A full disk, as an operator meets it: the data directory on a small tmpfs, acks=all producers
until it fills. The broker stays up, answers KAFKA_STORAGE_ERROR (which clients retry) with one
log line per episode, keeps exactly what it acknowledged, and takes writes again once space
returns. Needs root to mount a tmpfs; skipped (saying so) where mounting is not allowed."""
import os
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import Broker, create_topic, free_port


def metrics(port):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def health(port):
    import json
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
        return json.loads(r.read())


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def produce_until_refused(bootstrap, topic, value, limit=200_000, random_tail=0):
    """Produces acks=all until deliveries fail; returns the acknowledged (offset, value) pairs."""
    acked, failed = [], []

    def report(err, msg):
        (failed if err else acked).append(err if err else (msg.offset(), msg.value()))

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                  "message.timeout.ms": 4000, "retry.backoff.ms": 200})
    i = 0
    while not failed and i < limit:
        p.produce(topic, value=value + str(i).encode() + os.urandom(random_tail), on_delivery=report)
        i += 1
        if i % 500 == 0:
            p.poll(0)
            p.flush(10)
    p.flush(30)
    return acked, failed


def test_a_full_disk_refuses_writes_retriably_keeps_everything_acknowledged_and_recovers(tmp_path, small_disk):
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (12 << 20))
    admin = free_port()
    b = Broker(tmp_path, {"log.dirs": str(small_disk / "data"), "admin.listener": f"127.0.0.1:{admin}",
                          "weir.storage.write.buffer.bytes": str(8 << 20)}).start()
    try:
        create_topic(b.bootstrap, "full")
        # Incompressible values: LZ4 in RocksDB must not stretch the disk.
        acked, failed = produce_until_refused(b.bootstrap, "full", b"", random_tail=1000)
        assert failed, "the disk never filled"
        assert len(acked) > 1000, f"only {len(acked)} acknowledged before the disk filled"
        assert b.alive(), b.log_text()
        log = b.log_text()
        assert log.count("storage failing") == 1, log
        assert "kafkaStorageError (56)" in log
        state = health(admin)
        assert state["status"] == "degraded" and "space" in (state["storage_error"] or "").lower(), state
        assert "weir_storage_failing 1" in metrics(admin)

        # Space returns: writes are taken again (bounded wait, asserted).
        ballast.unlink()
        deadline = time.monotonic() + 30
        later = None
        while time.monotonic() < deadline:
            more, more_failed = produce_until_refused(b.bootstrap, "full", b"y", limit=1)
            if more and not more_failed:
                later = more[0]
                break
            time.sleep(1)
        assert later is not None, "no write taken after space returned:\n" + b.log_text()
        assert "storage recovered" in b.log_text()
        assert health(admin)["status"] == "ok" and health(admin)["storage_error"] is None
        assert "weir_storage_failing 0" in metrics(admin)

        # Every acknowledged record is there, at its acknowledged offset.
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "full", "enable.auto.commit": False})
        c.assign([TopicPartition("full", 0, 0)])
        got = {}
        for _ in range(300):
            for m in c.consume(1000, 0.2):
                if not m.error():
                    got[m.offset()] = m.value()
            if later[0] in got:
                break
        c.close()
        missing = [(o, v) for o, v in acked if got.get(o) != v]
        assert not missing, f"{len(missing)} acknowledged records missing or changed, first {missing[:3]}"
    finally:
        b.stop()
