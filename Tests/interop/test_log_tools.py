"""The operator's tools on a broker's database (`weir log inspect/dump/verify/compact`,
`weir snapshot create/restore`), run as processes on a database that a real broker wrote from
confluent-kafka records: exact figures, exact records, the lock refusal while a broker runs, and a
snapshot restored into a directory that a new broker then serves record for record."""
from __future__ import annotations

import json
import os
import pty
import subprocess
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from conftest import ROOT, WEIR, create_topic

T0 = 1_600_000_000_000  # 2020-09-13T12:26:40Z
T0_TEXT = "2020-09-13T12:26:40.000Z"


def weir(args, *, env=None, timeout=60):
    return subprocess.run([str(WEIR), *args], capture_output=True, timeout=timeout, cwd=ROOT,
                          stdin=subprocess.DEVNULL, env=env)


def ok(args):
    cp = weir(args)
    assert cp.returncode == 0, f"weir {' '.join(args)} exited {cp.returncode}\nstdout: {cp.stdout!r}\nstderr: {cp.stderr!r}"
    return cp


def json_lines(cp):
    return [json.loads(line) for line in cp.stdout.decode().splitlines()]


# Record sizes as Kafka encodes them (implementation.html §5.3.2), to predict stored bytes.
def varint(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = b""
    while True:
        if z < 0x80:
            return out + bytes([z])
        out += bytes([(z & 0x7F) | 0x80])
        z >>= 7


def varbytes(b: bytes | None) -> bytes:
    return varint(-1) if b is None else varint(len(b)) + b


def batch_size(records: list[tuple]) -> int:
    """Bytes of an uncompressed v2 batch of (key, value, headers, timestamp) records."""
    base = records[0][3]
    size = 61
    for i, (key, value, headers, ts) in enumerate(records):
        body = b"\x00" + varint(ts - base) + varint(i) + varbytes(key) + varbytes(value) + varint(len(headers))
        for k, v in headers:
            body += varbytes(k.encode()) + varbytes(v)
        size += len(varint(len(body))) + len(body)
    return size


def produce_batch(bootstrap: str, topic: str, partition: int, records: list[tuple], **config):
    """The records as one batch (linger, then one flush)."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 200, **config})
    errors = []
    for key, value, headers, ts in records:
        p.produce(topic, key=key, value=value, headers=headers or None, partition=partition, timestamp=ts,
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert p.flush(20) == 0
    assert errors == [], errors


def consume_all(bootstrap: str, topic: str, partitions: int, count: int):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "log-tools", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < count and time.monotonic() < deadline:
        for m in c.consume(100, 0.2):
            assert not m.error(), m.error()
            got.append((m.partition(), m.offset(), m.timestamp(), m.key(), m.value(), m.headers()))
    c.close()
    assert len(got) == count, f"read {len(got)} of {count} records from {topic}"
    return sorted(got, key=lambda r: (r[0], r[1]))


# librdkafka sends a batch uncompressed when lz4 would not make it smaller: the first value repeats.
LZ4_RECORDS = [(b"k0", b"v0" * 100, [("h", b"x")], T0), (None, b"\x00\xffA", [], T0 + 1), (b"k2", None, [], T0 + 2)]
PLAIN_RECORDS = [(b"tab", b"a\tb", [("n", None)], T0 + 3), (b"\xc3\xa9", "é\\".encode(), [], T0 + 5)]


def fill(broker):
    """logs (2 partitions): an idempotent lz4 batch and a plain batch in partition 0, nothing in
    1; compacted (cleanup.policy=compact): one plain batch; empty: nothing."""
    create_topic(broker.bootstrap, "logs", 2)
    create_topic(broker.bootstrap, "compacted", 1, {"cleanup.policy": "compact"})
    create_topic(broker.bootstrap, "empty", 1)
    produce_batch(broker.bootstrap, "logs", 0, LZ4_RECORDS, **{"compression.type": "lz4", "enable.idempotence": True})
    produce_batch(broker.bootstrap, "logs", 0, PLAIN_RECORDS)
    produce_batch(broker.bootstrap, "compacted", 0, PLAIN_RECORDS)


def test_inspect_dump_verify_exact(broker_factory):
    b = broker_factory().start()
    fill(b)
    b.stop()
    d = str(b.datadir)

    rows = json_lines(ok(["log", "inspect", "--data-dir", d, "--json"]))
    for r in rows:
        assert len(r.pop("topic_id")) == 22
    lz4_bytes = rows[2]["bytes"] - batch_size(PLAIN_RECORDS)
    assert 61 < lz4_bytes < batch_size(LZ4_RECORDS)
    common = {"column_family_missing": False}
    assert rows == [
        {"topic": "compacted", "partition": 0, "log_start_offset": 0, "log_end_offset": 2, "records": 2, "batches": 1,
         "bytes": batch_size(PLAIN_RECORDS), "first_timestamp": T0 + 3, "last_timestamp": T0 + 5,
         "cleanup_policy": "compact", **common},
        {"topic": "empty", "partition": 0, "log_start_offset": 0, "log_end_offset": 0, "records": 0, "batches": 0,
         "bytes": 0, "first_timestamp": None, "last_timestamp": None, "cleanup_policy": "delete", **common},
        {"topic": "logs", "partition": 0, "log_start_offset": 0, "log_end_offset": 5, "records": 5, "batches": 2,
         "bytes": lz4_bytes + batch_size(PLAIN_RECORDS), "first_timestamp": T0, "last_timestamp": T0 + 5,
         "cleanup_policy": "delete", **common},
        {"topic": "logs", "partition": 1, "log_start_offset": 0, "log_end_offset": 0, "records": 0, "batches": 0,
         "bytes": 0, "first_timestamp": None, "last_timestamp": None, "cleanup_policy": "delete", **common},
    ]
    table = ok(["log", "inspect", "--data-dir", d, "--topic", "logs", "--partition", "0"]).stdout.decode().splitlines()
    assert table[0].split() == ["TOPIC", "PARTITION", "LOG-START", "LOG-END", "RECORDS", "BATCHES", "BYTES",
                                "FIRST-TIMESTAMP", "LAST-TIMESTAMP", "CLEANUP-POLICY"]
    assert table[1].split() == ["logs", "0", "0", "5", "5", "2", str(rows[2]["bytes"]), T0_TEXT,
                                "2020-09-13T12:26:40.005Z", "delete"]
    assert len(table) == 2

    batches = json_lines(ok(["log", "dump", "--data-dir", d, "--topic", "logs", "--partition", "0", "--json"]))
    assert len(batches) == 2
    first, second = batches
    assert first["producer_id"] >= 0
    assert {k: first[k] for k in ("base_offset", "last_offset", "record_count", "codec", "producer_epoch",
                                  "base_sequence", "is_control", "is_transactional", "timestamp_type",
                                  "max_timestamp", "bytes", "crc_valid", "error")} == {
        "base_offset": 0, "last_offset": 2, "record_count": 3, "codec": "lz4", "producer_epoch": 0,
        "base_sequence": 0, "is_control": False, "is_transactional": False, "timestamp_type": "CreateTime",
        "max_timestamp": T0 + 2, "bytes": lz4_bytes, "crc_valid": True, "error": None}
    assert first["records"] == [
        {"offset": 0, "timestamp": T0, "key": "k0", "key_encoding": "utf8", "value": "v0" * 100, "value_encoding": "utf8",
         "headers": [{"key": "h", "value": "x", "value_encoding": "utf8"}]},
        {"offset": 1, "timestamp": T0 + 1, "key": None, "key_encoding": "null", "value": "00ff41",
         "value_encoding": "hex", "headers": []},
        {"offset": 2, "timestamp": T0 + 2, "key": "k2", "key_encoding": "utf8", "value": None,
         "value_encoding": "null", "headers": []},
    ]
    assert (second["codec"], second["producer_id"], second["base_offset"], second["bytes"]) == \
        ("none", -1, 3, batch_size(PLAIN_RECORDS))
    assert second["records"] == [
        {"offset": 3, "timestamp": T0 + 3, "key": "tab", "key_encoding": "utf8", "value": "a\tb",
         "value_encoding": "utf8", "headers": [{"key": "n", "value": None, "value_encoding": "null"}]},
        {"offset": 4, "timestamp": T0 + 5, "key": "é", "key_encoding": "utf8", "value": "é\\",
         "value_encoding": "utf8", "headers": []},
    ]

    # Text, from an offset inside the first batch, at most three records.
    text = ok(["log", "dump", "--data-dir", d, "--topic", "logs", "--partition", "0", "--from", "1", "--max", "3"])
    pid = first["producer_id"]
    assert text.stdout.decode().splitlines() == [
        f"baseOffset: 0 lastOffset: 2 count: 3 codec: lz4 producerId: {pid} producerEpoch: 0 baseSequence: 0 "
        f"isTransactional: false isControl: false timestampType: CreateTime maxTimestamp: {T0 + 2} "
        f"partitionLeaderEpoch: 0 size: {lz4_bytes} crcValid: true",
        f"| offset: 1 timestamp: {T0 + 1} key: null value: \\x00\\xffA headers: []",
        f"| offset: 2 timestamp: {T0 + 2} key: k2 value: null headers: []",
        f"baseOffset: 3 lastOffset: 4 count: 2 codec: none producerId: -1 producerEpoch: -1 baseSequence: -1 "
        f"isTransactional: false isControl: false timestampType: CreateTime maxTimestamp: {T0 + 5} "
        f"partitionLeaderEpoch: 0 size: {batch_size(PLAIN_RECORDS)} crcValid: true",
        f"| offset: 3 timestamp: {T0 + 3} key: tab value: a\\x09b headers: [n: null]",
    ]

    verify = ok(["log", "verify", "--data-dir", d])
    total = rows[2]["bytes"] + batch_size(PLAIN_RECORDS)
    assert verify.stdout.decode() == f"ok: 4 partitions, 3 batches, {total} bytes verified\n"
    assert json.loads(ok(["log", "verify", "--data-dir", d, "--json"]).stdout) == {
        "ok": True, "partitions": 4, "batches": 3, "bytes": total, "problems": []}


def test_read_only_tools_work_beside_a_broker_and_writers_are_refused(broker_factory):
    b = broker_factory().start()
    fill(b)
    d = str(b.datadir)
    # Read-only: works while the broker holds the database, and sees what it acknowledged.
    rows = json_lines(ok(["log", "inspect", "--data-dir", d, "--json", "--topic", "logs"]))
    assert [(r["partition"], r["log_end_offset"], r["records"]) for r in rows] == [(0, 5, 5), (1, 0, 0)]
    assert ok(["log", "verify", "--data-dir", d]).stdout.decode().startswith("ok: 4 partitions, 3 batches, ")
    # Writers: refused, saying why, exit 1; the broker goes on serving.
    for args in (["log", "compact", "--data-dir", d], ["snapshot", "create", "--data-dir", d, "--to", d + "-snap"]):
        cp = weir(args)
        name = " ".join(args[:2])
        assert (cp.returncode, cp.stdout, cp.stderr.decode()) == (
            1, b"", f"weir {name}: the database at {d} is in use by a running broker; stop it first\n")
    assert not os.path.exists(d + "-snap")
    assert b.alive()
    assert len(consume_all(b.bootstrap, "logs", 2, 5)) == 5
    b.stop()


def test_compact_applies_retention_offline(broker_factory):
    b = broker_factory().start()
    create_topic(b.bootstrap, "old", 1)
    create_topic(b.bootstrap, "keep", 1, {"retention.ms": "-1"})
    create_topic(b.bootstrap, "compacted", 1, {"cleanup.policy": "compact"})
    now = int(time.time() * 1000)
    # Keyed records (a compacted topic refuses keyless ones): k0 is overwritten by the new batch.
    old = [(b"k%d" % i, b"old-%d" % i, [], T0 + i) for i in range(3)]
    new = [(b"k0", b"new", [], now)]
    for topic in ("old", "keep", "compacted"):
        produce_batch(b.bootstrap, topic, 0, old)
        produce_batch(b.bootstrap, topic, 0, new)
    b.stop()
    d = str(b.datadir)
    cp = ok(["log", "compact", "--data-dir", d, "--override", "log.retention.hours=24"])
    assert cp.stdout.decode().splitlines() == [
        # k0's old record (offset 0: key "k0", value "old-0", 14 bytes encoded) is superseded.
        "compacted-0: compacted: removed 1 records, 14 bytes; cleaned up to offset 4",
        "keep-0: skipped: retention.ms and retention.bytes are both unlimited",
        f"old-0: deleted 1 batches, {batch_size(old)} bytes; log start offset 0 -> 3 (log end offset 4)",
        f"deleted 1 batches, {batch_size(old)} bytes from 1 partitions",
        "compacted 1 partitions: removed 1 records, 14 bytes",
    ]
    again = json_lines(ok(["log", "compact", "--data-dir", d, "--topic", "old", "--json",
                           "--override", "log.retention.hours=24"]))
    assert again == [{"topic": "old", "partition": 0, "deleted_batches": 0, "deleted_bytes": 0,
                      "log_start_offset_before": 3, "log_start_offset": 3, "log_end_offset": 4, "skipped": None,
                      "compacted_records": 0, "compacted_bytes": 0, "cleaned_up_to": None}]
    rows = json_lines(ok(["log", "inspect", "--data-dir", d, "--json"]))
    assert [(r["topic"], r["log_start_offset"], r["records"], r["batches"]) for r in rows] == [
        ("compacted", 0, 3, 2), ("keep", 0, 4, 2), ("old", 3, 1, 1)]
    assert ok(["log", "verify", "--data-dir", d]).returncode == 0
    # A broker on the compacted database serves from the new start.
    b.start()
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "w"})
    assert c.get_watermark_offsets(TopicPartition("old", 0), timeout=10, cached=False) == (3, 4)
    c.close()
    assert [r[4] for r in consume_all(b.bootstrap, "old", 1, 1)] == [b"new"]
    b.stop()


def test_snapshot_restore_serves_exactly_the_records(broker_factory, tmp_path):
    b = broker_factory().start()
    fill(b)
    expected = consume_all(b.bootstrap, "logs", 2, 5) + consume_all(b.bootstrap, "compacted", 1, 2)
    b.stop()
    snap = tmp_path / "snap"
    cp = ok(["snapshot", "create", "--data-dir", str(b.datadir), "--to", str(snap)])
    assert cp.stdout.decode().splitlines() == [
        "compacted-0: log start offset 0, log end offset 2",
        "empty-0: log start offset 0, log end offset 0",
        "logs-0: log start offset 0, log end offset 5",
        "logs-1: log start offset 0, log end offset 0",
        f"snapshot of 4 partitions written to {snap}",
    ]
    exists = weir(["snapshot", "create", "--data-dir", str(b.datadir), "--to", str(snap)])
    assert exists.returncode == 2 and f"{snap} exists" in exists.stderr.decode()

    restored = broker_factory()
    result = json.loads(ok(["snapshot", "restore", "--from", str(snap), "--data-dir", str(restored.datadir),
                            "--json"]).stdout)
    assert result["verify"] == {"ok": True, "partitions": 4, "batches": 3, "bytes": result["verify"]["bytes"],
                                "problems": []}
    assert [(p["topic"], p["partition"], p["log_end_offset"], p["records"]) for p in result["partitions"]] == [
        ("compacted", 0, 2, 2), ("empty", 0, 0, 0), ("logs", 0, 5, 5), ("logs", 1, 0, 0)]
    assert result["files"] == len(os.listdir(snap)) and result["data_dir"] == str(restored.datadir)
    again = weir(["snapshot", "restore", "--from", str(snap), "--data-dir", str(restored.datadir)])
    assert (again.returncode, again.stderr.decode().splitlines()[0]) == (
        2, f"weir snapshot restore: {restored.datadir} exists and is not empty")

    restored.start()
    got = consume_all(restored.bootstrap, "logs", 2, 5) + consume_all(restored.bootstrap, "compacted", 1, 2)
    assert got == expected
    # And it takes new records after them.
    produce_batch(restored.bootstrap, "logs", 0, [(None, b"after", [], T0 + 9)])
    last = consume_all(restored.bootstrap, "logs", 2, 6)[5]
    assert (last[1], last[2][1], last[3], last[4]) == (5, T0 + 9, None, b"after")
    restored.stop()


def test_usage_errors_exit_2_and_help_ends_with_an_example(tmp_path):
    for args in (["log", "inspect"], ["log", "inspect", "--data-dir", str(tmp_path), "--bogus"],
                 ["log", "dump", "--data-dir", str(tmp_path), "--topic", "t"],
                 ["log", "dump", "--data-dir", str(tmp_path), "--topic", "t", "--partition", "x"],
                 ["log", "verify", "--data-dir", str(tmp_path / "none")],
                 ["log", "compact", "--data-dir", str(tmp_path), "--override", "nope=1"],
                 ["snapshot", "create", "--data-dir", str(tmp_path)],
                 ["snapshot", "restore", "--from", str(tmp_path), "--data-dir", str(tmp_path / "x")]):
        cp = weir(args)
        assert cp.returncode == 2 and cp.stdout == b"", (args, cp)
        assert cp.stderr.decode().splitlines()[-1] == f"See 'weir {args[0]} {args[1]} --help'.", (args, cp.stderr)
    for sub in (["log"], ["log", "inspect"], ["log", "dump"], ["log", "verify"], ["log", "compact"],
                ["snapshot"], ["snapshot", "create"], ["snapshot", "restore"]):
        text = ok([*sub, "--help"]).stdout.decode()
        discussion = text[:text.index("USAGE:")].rstrip().splitlines()
        assert discussion[-2] == "Example:" and discussion[-1].startswith(f"  weir {sub[0]} "), (sub, discussion[-3:])
    assert "hard-link" in ok(["snapshot", "create", "--help"]).stdout.decode()
    assert "latest record of each key stays" in ok(["log", "compact", "--help"]).stdout.decode()


def test_progress_bar_only_on_a_terminal(broker_factory):
    b = broker_factory().start()
    fill(b)
    b.stop()
    env = {**os.environ, "WEIR_PROGRESS_DELAY_MS": "0"}
    piped = weir(["log", "verify", "--data-dir", str(b.datadir)], env=env)
    assert piped.returncode == 0 and piped.stderr == b""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([str(WEIR), "log", "verify", "--data-dir", str(b.datadir)], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    out, _ = proc.communicate(timeout=60)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.returncode == 0 and out.decode().startswith("ok: 4 partitions")
    assert seen.startswith(b"\rverifying [") and seen.endswith(b"\r\x1b[K"), seen
