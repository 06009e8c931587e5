"""The admin listener of a real `weir broker` (`--override admin.listener=127.0.0.1:<port>`):
health, metrics, and a snapshot taken over HTTP while confluent-kafka produces: its listed offsets
lie between what was acknowledged before the POST and what was acknowledged in the end, and,
restored with `weir snapshot restore` and served by a new broker, it holds exactly the
acknowledged records up to those offsets, compared record by record."""
from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request

from confluent_kafka import Producer

from conftest import ROOT, WEIR, create_topic, free_port

PARTITIONS = 3


def http(port: int, method: str, path: str, body: dict | str | None = None) -> tuple[int, dict | str, dict]:
    data = None
    if body is not None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            status, raw, headers = r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        status, raw, headers = e.code, e.read(), dict(e.headers)
    text = raw.decode()
    if headers.get("Content-Type", "").startswith("application/json"):
        return status, json.loads(text), headers
    return status, text, headers


def admin_broker(broker_factory):
    port = free_port()
    b = broker_factory({"admin.listener": f"127.0.0.1:{port}"}).start()
    deadline = time.monotonic() + 10
    while True:
        try:
            http(port, "GET", "/health")
            return b, port
        except OSError:
            assert time.monotonic() < deadline, b.log_text()
            time.sleep(0.05)


def test_health_and_metrics(broker_factory):
    b, port = admin_broker(broker_factory)
    create_topic(b.bootstrap, "m", partitions=2)
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0})
    for i in range(25):
        p.produce("m", value=b"x%d" % i, partition=1)
    assert p.flush(20) == 0

    status, health, _ = http(port, "GET", "/health")
    assert status == 200
    assert set(health) == {"status", "broker_id", "uptime_ms", "topics", "partitions", "data_dir_free_bytes",
                           "storage_error"}
    assert health["storage_error"] is None
    assert health["status"] == "ok" and health["broker_id"] == 1
    assert health["topics"] == 1 and health["partitions"] == 2
    assert health["data_dir_free_bytes"] > 0

    status, text, headers = http(port, "GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    lines = text.splitlines()
    assert 'weir_partition_log_end_offset{topic="m",partition="1"} 25.0' in lines
    assert 'weir_partition_log_end_offset{topic="m",partition="0"} 0.0' in lines
    assert all(line.startswith(("#", "weir_")) for line in lines if line)
    # Every request is observed: the 25 acks=all produces (linger 0, flushed) are at least one
    # Produce request each way, with bytes counted.
    def metric(prefix):
        found = [line for line in lines if line.startswith(prefix)]
        assert len(found) == 1, (prefix, found)
        return float(found[0].rsplit(" ", 1)[1])
    assert metric('weir_request_duration_seconds_count{api="Produce"}') >= 1
    assert metric('weir_request_bytes_total{api="Produce"}') > 25 * 2
    assert metric('weir_response_bytes_total{api="Produce"}') > 0
    assert metric('weir_request_duration_seconds_count{api="ApiVersions"}') >= 1

    assert http(port, "GET", "/nope")[0] == 404
    assert http(port, "DELETE", "/health")[0] == 405
    assert b.stop() == 0


def test_snapshot_while_producing(broker_factory, tmp_path):
    b, port = admin_broker(broker_factory)
    create_topic(b.bootstrap, "snap", partitions=PARTITIONS)
    acked = [0] * PARTITIONS
    values: dict[tuple[int, int], bytes] = {}  # (partition, offset) → value, as acknowledged
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[str] = []

    def delivered(err, msg):
        if err is not None:
            errors.append(str(err))
            return
        with lock:
            acked[msg.partition()] = max(acked[msg.partition()], msg.offset() + 1)
            values[(msg.partition(), msg.offset())] = msg.value()

    def produce():
        p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 1})
        i = 0
        deadline = time.monotonic() + 20  # bounded even if the test thread dies
        while not stop.is_set() and time.monotonic() < deadline:
            p.produce("snap", value=b"r%06d" % i, partition=i % PARTITIONS, on_delivery=delivered)
            i += 1
            p.poll(0)
            if i % 200 == 0:
                time.sleep(0.005)
        assert p.flush(20) == 0

    thread = threading.Thread(target=produce)
    thread.start()
    try:
        while True:  # let some records be acknowledged first
            with lock:
                if min(acked) >= 100:
                    break
            assert thread.is_alive(), errors
            time.sleep(0.01)
        with lock:
            before = list(acked)
        target = tmp_path / "snapshot-1"
        status, created, _ = http(port, "POST", "/v1/snapshots", {"path": str(target)})
        time.sleep(0.2)  # keep producing after the checkpoint
    finally:
        stop.set()
        thread.join(30)
    assert not errors, errors
    after = list(acked)

    assert status == 201, created
    assert created["path"] == str(target)
    assert (target / "CURRENT").is_file()
    listed = {p["partition"]: p for p in created["partitions"] if p["topic"] == "snap"}
    assert sorted(listed) == list(range(PARTITIONS))
    for p in range(PARTITIONS):
        end = listed[p]["log_end_offset"]
        assert before[p] <= end <= after[p], (p, before, end, after)
        assert listed[p]["log_start_offset"] == 0
    assert any(listed[p]["log_end_offset"] < after[p] for p in range(PARTITIONS)), "produced nothing after the POST"

    status, conflict, _ = http(port, "POST", "/v1/snapshots", {"path": str(target)})
    assert status == 409 and "already exists" in conflict["error"]
    assert http(port, "POST", "/v1/snapshots", "{not json")[0] == 400

    status, snapshots, _ = http(port, "GET", "/v1/snapshots")
    assert status == 200
    assert snapshots == {"snapshots": [created]}
    assert b.stop() == 0

    # Restored, the snapshot serves exactly what was acknowledged up to its offsets, record by record.
    restored = tmp_path / "restored"
    cp = subprocess.run([str(WEIR), "snapshot", "restore", "--from", str(target), "--data-dir", str(restored)],
                        capture_output=True, timeout=120, cwd=ROOT)
    assert cp.returncode == 0, cp.stderr.decode()
    r = broker_factory({"log.dirs": str(restored)}).start()
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": r.bootstrap, "group.id": "restore", "enable.auto.commit": False})
    # The listed offsets were read just before the checkpoint: it holds at least those, and at
    # most what was acknowledged in the end.
    ends = {}
    for p in range(PARTITIONS):
        low, ends[p] = c.get_watermark_offsets(TopicPartition("snap", p), timeout=10, cached=False)
        assert low == 0 and listed[p]["log_end_offset"] <= ends[p] <= after[p], (p, listed[p], ends[p], after)
    c.assign([TopicPartition("snap", p, 0) for p in range(PARTITIONS)])
    got: dict[tuple[int, int], bytes] = {}
    deadline = time.monotonic() + 30
    while len(got) < sum(ends.values()) and time.monotonic() < deadline:
        for m in c.consume(1000, 0.2):
            assert not m.error(), m.error()
            got[(m.partition(), m.offset())] = m.value()
    c.close()
    expected = {k: v for k, v in values.items() if k[1] < ends[k[0]]}
    assert got == expected, (len(got), len(expected))
    assert r.stop() == 0


def test_non_loopback_admin_listener_is_refused(tmp_path):
    args = [str(WEIR), "broker", str(ROOT / "config/server.properties"),
            "--override", f"log.dirs={tmp_path / 'data'}",
            "--override", f"listeners=PLAINTEXT://127.0.0.1:{free_port()}",
            "--override", f"admin.listener=0.0.0.0:{free_port()}"]
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "admin.listener.allow.remote=true" in r.stdout + r.stderr
