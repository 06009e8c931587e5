"""Log compaction (cleanup.policy=compact) against Weir through confluent-kafka: with the broker
checking every 200 ms, a consumer from the beginning ends up seeing exactly the latest record of
each key, at the offset it had when produced, and no tombstoned key; a keyless record is refused
with INVALID_RECORD, as Kafka refuses it."""
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from conftest import create_topic

CHECK_MS = {"log.retention.check.interval.ms": "200"}
COMPACT = {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "0"}
KEYS = [b"k%d" % i for i in range(10)]
TOMBSTONED = {b"k3", b"k7"}


def produce(bootstrap: str, topic: str, records, **config) -> list[tuple[int, bytes, bytes | None]]:
    """Produces (key, value) pairs in order; returns (offset, key, value) from the delivery reports."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, **config})
    delivered, errors = [], []

    def report(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered.append((msg.offset(), msg.key(), msg.value()))

    for key, value in records:
        p.produce(topic, key=key, value=value, on_delivery=report)
        p.poll(0)
    assert p.flush(20) == 0
    assert errors == []
    return sorted(delivered)


def read_all(bootstrap: str, topic: str) -> list[tuple[int, bytes, bytes | None]]:
    """Every record from the log start to the end of the partition (partition EOF)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False,
                  "enable.partition.eof": True, "fetch.queue.backoff.ms": 10})
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
                return got
            got.append((m.offset(), m.key(), m.value()))
        raise AssertionError(f"no partition EOF after 20 s; read {len(got)} records")
    finally:
        c.close()


def latest_per_key(records, drop_tombstones: bool = True):
    latest = {}
    for offset, key, value in records:
        latest[key] = (offset, key, value)
    return sorted(r for r in latest.values() if not (drop_tombstones and r[2] is None))


def wait_until_compacted(bootstrap: str, topic: str, expected, timeout: float = 30.0):
    """Reads the partition until it is exactly `expected` or the deadline passes, then asserts:
    a broker that never compacts fails here with what it last served."""
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = read_all(bootstrap, topic)
        if got == expected:
            return
        time.sleep(0.3)
    assert got == expected, f"after {timeout}s the log holds {len(got)} records: {got[:20]}…"


def test_compaction_keeps_the_latest_value_per_key_at_its_offset(broker_factory):
    b = broker_factory(CHECK_MS).start()
    create_topic(b.bootstrap, "c", 1, COMPACT)
    # 30 rounds over 10 keys, in lz4 batches of an idempotent producer; then tombstones for two keys.
    rounds = [(key, b"v%d-" % r + key) for r in range(30) for key in KEYS]
    produced = produce(b.bootstrap, "c", rounds, **{"compression.type": "lz4", "enable.idempotence": True})
    produced += produce(b.bootstrap, "c", [(key, None) for key in sorted(TOMBSTONED)])
    assert [r[0] for r in produced] == list(range(302))
    expected = latest_per_key(produced)
    assert len(expected) == 8 and not {r[1] for r in expected} & TOMBSTONED

    wait_until_compacted(b.bootstrap, "c", expected)
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "w"})
    # Offsets never move: the log still ends where it ended, and starts at 0.
    assert c.get_watermark_offsets(TopicPartition("c", 0), timeout=10, cached=False) == (0, 302)
    c.close()

    # New values are compacted in turn; the idempotent producer's batches stay consistent.
    more = produce(b.bootstrap, "c", [(b"k0", b"new"), (b"k3", b"back")], **{"enable.idempotence": True})
    assert [r[0] for r in more] == [302, 303]
    expected = latest_per_key(produced + more)
    wait_until_compacted(b.bootstrap, "c", expected)

    # A restart serves the same compacted log.
    b.stop()
    b.start()
    assert read_all(b.bootstrap, "c") == expected


def test_kafka_python_reads_a_compacted_log(broker_factory):
    """A second client's decoder over the rewritten and emptied batches (kafka-python)."""
    from kafka import KafkaConsumer, TopicPartition as KTopicPartition

    b = broker_factory(CHECK_MS).start()
    create_topic(b.bootstrap, "c", 1, COMPACT)
    # A batch per round: the first 19 lose every record and become one empty batch spanning
    # offsets 0–189, which the consumer must step over.
    produced = []
    for r in range(20):
        produced += produce(b.bootstrap, "c", [(key, b"v%d" % r) for key in KEYS], **{"compression.type": "gzip"})
    expected = latest_per_key(produced)
    assert [r[0] for r in expected] == list(range(190, 200))
    wait_until_compacted(b.bootstrap, "c", expected)
    c = KafkaConsumer(bootstrap_servers=b.bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
    tp = KTopicPartition("c", 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    got = [(m.offset, m.key, m.value) for m in c]
    c.close()
    assert got == expected


def test_a_keyless_record_is_refused_with_invalid_record(broker_factory):
    b = broker_factory(CHECK_MS).start()
    create_topic(b.bootstrap, "c", 1, COMPACT)
    create_topic(b.bootstrap, "plain", 1)
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0, "retries": 0})
    reports = {}
    for topic in ("c", "plain"):
        p.produce(topic, value=b"no key", on_delivery=lambda err, msg: reports.setdefault(msg.topic(), err))
    assert p.flush(20) == 0
    assert reports["c"] is not None and reports["c"].code() == KafkaError.INVALID_RECORD, reports
    assert reports["plain"] is None
    assert "Compacted topic cannot accept message without key in topic partition c-0." in b.log_text()
    # A record with a key (an empty one counts) goes through.
    assert produce(b.bootstrap, "c", [(b"", b"empty key"), (b"k", b"v")]) == [(0, b"", b"empty key"), (1, b"k", b"v")]
