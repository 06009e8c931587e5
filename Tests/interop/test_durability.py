"""An acknowledged batch survives kill -9: it is in RocksDB's WAL before the answer leaves."""
import signal

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import create_topic


def test_acknowledged_records_survive_kill_9(broker_factory):
    b = broker_factory().start()
    create_topic(b.bootstrap, "durable", 2)
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 2})
    acked = []
    for i in range(5000):
        p.produce("durable", value=f"r{i}".encode(), partition=i % 2,
                  on_delivery=lambda err, m: acked.append((m.partition(), m.offset(), m.value())) if err is None else None)
        if i % 500 == 0:
            p.poll(0)
    assert p.flush(30) == 0
    assert len(acked) == 5000
    b.stop(signal.SIGKILL)
    b.start()
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "d", "enable.auto.commit": False})
    c.assign([TopicPartition("durable", 0, 0), TopicPartition("durable", 1, 0)])
    got = set()
    for _ in range(200):
        for m in c.consume(1000, 0.2):
            assert not m.error(), m.error()
            got.add((m.partition(), m.offset(), m.value()))
        if len(got) >= 5000:
            break
    lo, hi = c.get_watermark_offsets(TopicPartition("durable", 0), timeout=10, cached=False)
    c.close()
    assert got == set(acked)
    assert (lo, hi) == (0, 2500)
    # Appends continue at the old log end.
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
    offsets = []
    p.produce("durable", value=b"after", partition=0, on_delivery=lambda e, m: offsets.append(m.offset()))
    assert p.flush(10) == 0
    assert offsets == [2500]
    assert b.stop() == 0
