"""Retention against Weir through confluent-kafka: with the broker checking every 200 ms, a
topic's retention.ms / retention.bytes move the low watermark to exactly the first kept offset,
and a consumer from the beginning gets exactly the kept records."""
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from conftest import create_topic

CHECK_MS = {"log.retention.check.interval.ms": "200"}


def produce_one_batch_each(bootstrap: str, topic: str, records: list[tuple[bytes, int]]):
    """Each record in a batch of its own (flush after each), with its explicit timestamp (ms)."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0})
    for value, ts in records:
        p.produce(topic, value=value, timestamp=ts)
        assert p.flush(10) == 0


def wait_for_low_watermark(bootstrap: str, topic: str, expected: int, end: int, timeout: float = 20.0):
    """Polls the watermarks until the low one is `expected` or the deadline passes, then asserts
    both: a broker that never trims fails here with what it last answered."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
    try:
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
            if got[0] == expected:
                break
            time.sleep(0.1)
        assert got == (expected, end), f"watermarks {got} after {timeout}s, expected ({expected}, {end})"
    finally:
        c.close()


def consume_from_beginning(bootstrap: str, topic: str, count: int) -> list[tuple[int, bytes]]:
    """Reads from the log start until `count` records arrived, then half a second more to catch
    any extra one; returns (offset, value) pairs."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got = []
        deadline = time.monotonic() + 20
        settle = None
        while time.monotonic() < deadline:
            m = c.poll(0.1)
            if m is not None:
                assert m.error() is None, m.error()
                got.append((m.offset(), m.value()))
            if len(got) >= count:
                settle = settle or time.monotonic() + 0.5
                if time.monotonic() >= settle:
                    break
        return got
    finally:
        c.close()


def test_retention_ms_deletes_exactly_the_expired_batches(broker_factory):
    b = broker_factory(CHECK_MS).start()
    create_topic(b.bootstrap, "aged", config={"retention.ms": "60000"})
    now = int(time.time() * 1000)
    old = [(f"old{i}".encode(), now - 3_600_000 + i) for i in range(6)]
    recent = [(f"new{i}".encode(), now + i) for i in range(4)]
    produce_one_batch_each(b.bootstrap, "aged", old + recent)

    wait_for_low_watermark(b.bootstrap, "aged", expected=6, end=10)
    assert consume_from_beginning(b.bootstrap, "aged", 4) == [(6 + i, f"new{i}".encode()) for i in range(4)]
    assert "retention deleted records" in b.log_text()


def test_retention_bytes_keeps_at_most_the_limit(broker_factory):
    b = broker_factory(CHECK_MS).start()
    # Ten batches of one 1,000-byte record: ~1,070 stored bytes each. 3,500 bytes hold three.
    create_topic(b.bootstrap, "sized", config={"retention.bytes": "3500"})
    now = int(time.time() * 1000)
    records = [(bytes([0x41 + i]) * 1000, now) for i in range(10)]
    produce_one_batch_each(b.bootstrap, "sized", records)

    wait_for_low_watermark(b.bootstrap, "sized", expected=7, end=10)
    assert consume_from_beginning(b.bootstrap, "sized", 3) == [(7 + i, bytes([0x41 + 7 + i]) * 1000) for i in range(3)]


def test_unlimited_retention_keeps_everything(broker_factory):
    b = broker_factory(CHECK_MS).start()
    create_topic(b.bootstrap, "forever", config={"retention.ms": "-1", "retention.bytes": "-1"})
    now = int(time.time() * 1000)
    produce_one_batch_each(b.bootstrap, "forever", [(b"ancient", 1_000), (b"recent", now)])
    time.sleep(1.0)  # five retention passes
    wait_for_low_watermark(b.bootstrap, "forever", expected=0, end=2, timeout=1.0)
    assert consume_from_beginning(b.bootstrap, "forever", 2) == [(0, b"ancient"), (1, b"recent")]
