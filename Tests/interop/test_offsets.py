"""ListOffsets: earliest, latest and by timestamp resolve to the exact record, even inside a
batch, as Kafka answers."""
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import create_topic


def test_offsets_for_times_is_exact_within_a_batch(broker):
    create_topic(broker.bootstrap, "times")
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 200, "acks": "all"})
    for i in range(10):
        p.produce("times", value=f"r{i}".encode(), timestamp=1_000_000 + 1000 * i)
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "t"})
    try:
        for ts, expected in [(0, 0), (1_000_000, 0), (1_005_500, 6), (1_009_000, 9), (1_009_001, -1)]:
            got = c.offsets_for_times([TopicPartition("times", 0, ts)], timeout=10)[0]
            assert got.offset == expected, f"offsets_for_times({ts}) = {got.offset}, expected {expected}"
        assert c.get_watermark_offsets(TopicPartition("times", 0), timeout=10, cached=False) == (0, 10)
    finally:
        c.close()
