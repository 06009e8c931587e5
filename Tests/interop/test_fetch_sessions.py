"""Incremental fetch sessions (KIP-227) with kafka-python, which opens one whenever the broker
offers it: a consumer of many partitions reads everything exactly once across waves of
produce, while its fetches carry only the partitions that changed."""
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from conftest import create_topic


def drain(consumer, expected_count):
    got = {}
    for _ in range(100):
        for tp, messages in consumer.poll(timeout_ms=200).items():
            for m in messages:
                assert (tp.partition, m.offset) not in got, f"delivered twice: {tp.partition}@{m.offset}"
                got[(tp.partition, m.offset)] = m.value
        if len(got) >= expected_count:
            break
    return got


def test_kafka_python_consumes_many_partitions_through_a_session(broker):
    create_topic(broker.bootstrap, "sess", 40)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                             fetch_max_wait_ms=100)
    consumer.assign([TopicPartition("sess", p) for p in range(40)])
    consumer.seek_to_beginning()
    try:
        # Wave 1: every partition.
        for p in range(40):
            producer.send("sess", value=f"a{p}".encode(), partition=p)
        producer.flush(10)
        assert drain(consumer, 40) == {(p, 0): f"a{p}".encode() for p in range(40)}

        # The client now runs an incremental session with Weir.
        handlers = consumer._fetcher._session_handlers
        assert handlers, "kafka-python opened no fetch session"
        session_ids = {h.next_metadata.session_id for h in handlers.values()}
        assert all(sid > 0 for sid in session_ids), session_ids
        epochs_before = {h.next_metadata.epoch for h in handlers.values()}

        # Wave 2: a few partitions only; the session carries the rest without resending them.
        for p in (3, 17, 39):
            for i in range(3):
                producer.send("sess", value=f"b{p}-{i}".encode(), partition=p)
        producer.flush(10)
        got = drain(consumer, 9)
        assert got == {(p, 1 + i): f"b{p}-{i}".encode() for p in (3, 17, 39) for i in range(3)}
        assert {h.next_metadata.session_id for h in handlers.values()} == session_ids
        assert max(h.next_metadata.epoch for h in handlers.values()) > max(epochs_before)
    finally:
        consumer.close()
        producer.close()


def test_a_restarted_broker_makes_the_client_open_a_new_session(broker):
    create_topic(broker.bootstrap, "sess2", 4)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    for p in range(4):
        producer.send("sess2", value=f"x{p}".encode(), partition=p)
    producer.flush(10)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100)
    consumer.assign([TopicPartition("sess2", p) for p in range(4)])
    consumer.seek_to_beginning()
    try:
        assert drain(consumer, 4) == {(p, 0): f"x{p}".encode() for p in range(4)}
        assert broker.stop() == 0
        broker.start()
        # Sessions are in memory: the client's next incremental fetch is refused with
        # FETCH_SESSION_ID_NOT_FOUND and it starts over, losing and repeating nothing.
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        producer.send("sess2", value=b"y", partition=2).get(10)
        producer.close()
        assert drain(consumer, 1) == {(2, 1): b"y"}
    finally:
        consumer.close()
