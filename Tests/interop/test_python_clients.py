"""kafka-python and aiokafka use Weir as they use Kafka: version negotiation, produce,
group consumption with commits, and a restart in between."""
import asyncio
import time

from confluent_kafka import Consumer, TopicPartition

from conftest import create_topic


def test_kafka_python_produce_and_group_consume(broker):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
    admin.create_topics([NewTopic("kp", num_partitions=2, replication_factor=1)])
    assert "kp" in admin.list_topics()
    admin.close()

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
    futures = [producer.send("kp", key=f"k{i}".encode(), value=f"value-{i}".encode(), partition=i % 2)
               for i in range(200)]
    producer.flush(30)
    metas = [f.get(10) for f in futures]
    assert sorted((m.partition, m.offset) for m in metas) == sorted((i % 2, i // 2) for i in range(200))
    producer.close()

    consumer = KafkaConsumer("kp", bootstrap_servers=broker.bootstrap, group_id="kp-group",
                             auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=15000)
    got = {}
    for m in consumer:
        got[(m.partition, m.offset)] = (m.key, m.value)
        if len(got) == 200:
            break
    consumer.commit()
    consumer.close()
    assert got == {(i % 2, i // 2): (f"k{i}".encode(), f"value-{i}".encode()) for i in range(200)}

    # The commit survives a broker restart.
    assert broker.stop() == 0
    broker.start()

    # A new member of the same group resumes after the commit: nothing is re-delivered.
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    producer.send("kp", value=b"late", partition=0).get(10)
    producer.close()
    consumer = KafkaConsumer("kp", bootstrap_servers=broker.bootstrap, group_id="kp-group",
                             auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=10000)
    late = []
    for m in consumer:
        late.append((m.partition, m.offset, m.value))
        break
    consumer.close()
    assert late == [(0, 100, b"late")]


def test_aiokafka_round_trip_with_group(broker):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    create_topic(broker.bootstrap, "aio", 3)

    async def main():
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", compression_type="gzip")
        await producer.start()
        try:
            for i in range(300):
                await producer.send("aio", value=f"m{i}".encode(), key=str(i % 7).encode(),
                                    headers=[("h", f"{i}".encode())])
            await producer.flush()
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer("aio", bootstrap_servers=broker.bootstrap, group_id="aio-group",
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        got = []
        try:
            deadline = time.monotonic() + 30
            while len(got) < 300 and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, msgs in batch.items():
                    got.extend((m.key, m.value, list(m.headers)) for m in msgs)
            await consumer.commit()
        finally:
            await consumer.stop()
        return got

    got = asyncio.run(main())
    assert sorted(v for _, v, _ in got) == sorted(f"m{i}".encode() for i in range(300))
    for key, value, headers in got:
        i = int(value[1:])
        assert key == str(i % 7).encode()
        assert headers == [("h", f"{i}".encode())]
    # aiokafka's commit reached the broker: the group's offset of each partition is its end.
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "aio-group"})
    try:
        parts = [TopicPartition("aio", p) for p in range(3)]
        committed = {tp.partition: tp.offset for tp in c.committed(parts, timeout=10)}
        ends = {tp.partition: c.get_watermark_offsets(tp, timeout=10, cached=False)[1] for tp in parts}
    finally:
        c.close()
    assert committed == ends and sum(ends.values()) == 300, (committed, ends)
