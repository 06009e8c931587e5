"""DeleteRecords (API 21) through the clients' admin APIs: the log start offset moves, reads
below it are out of range, ListOffsets earliest follows, appends continue at the end."""
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from conftest import create_topic


def produce(bootstrap, topic, values):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0})
    for v in values:
        p.produce(topic, value=v.encode())
        p.flush(10)  # one batch per record: deletion boundaries fall between records
    assert p.flush(10) == 0


def consume_from(bootstrap, topic, offset, n, reset="error"):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "dr", "enable.auto.commit": False,
                  "auto.offset.reset": reset})
    c.assign([TopicPartition(topic, 0, offset)])
    got, errors = [], []
    try:
        for _ in range(50):
            for m in c.consume(100, 0.2):
                if m.error():
                    errors.append(m.error().code())
                else:
                    got.append((m.offset(), m.value().decode()))
            if len(got) >= n or errors:
                break
        return got, errors
    finally:
        c.close()


def test_delete_records_moves_the_log_start_and_appends_continue(broker):
    create_topic(broker.bootstrap, "dr")
    produce(broker.bootstrap, "dr", [f"v{i}" for i in range(10)])
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})

    result = admin.delete_records([TopicPartition("dr", 0, 4)])[TopicPartition("dr", 0, 4)].result(10)
    assert result.low_watermark == 4

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "w"})
    try:
        assert c.get_watermark_offsets(TopicPartition("dr", 0), timeout=10, cached=False) == (4, 10)
    finally:
        c.close()
    got, errors = consume_from(broker.bootstrap, "dr", 0, 1)
    assert got == [] and errors == [KafkaError._AUTO_OFFSET_RESET], (got, errors)
    got, errors = consume_from(broker.bootstrap, "dr", 4, 6)
    assert errors == [] and got == [(i, f"v{i}") for i in range(4, 10)]

    # An offset below the start changes nothing; -1 means the high watermark.
    tp = TopicPartition("dr", 0, 2)
    assert admin.delete_records([tp])[tp].result(10).low_watermark == 4
    produce(broker.bootstrap, "dr", ["v10", "v11"])
    tp = TopicPartition("dr", 0, -1)
    assert admin.delete_records([tp])[tp].result(10).low_watermark == 12
    produce(broker.bootstrap, "dr", ["v12"])
    got, errors = consume_from(broker.bootstrap, "dr", 12, 1)
    assert errors == [] and got == [(12, "v12")]


def test_delete_records_beyond_the_end_and_unknown_partition_are_errors(broker):
    create_topic(broker.bootstrap, "dr2")
    produce(broker.bootstrap, "dr2", ["a", "b"])
    from kafka.admin import KafkaAdminClient
    from kafka.structs import TopicPartition as KTP
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        import kafka.errors as Errors
        try:
            admin.delete_records({KTP("dr2", 0): 5})
            raise AssertionError("delete_records beyond the high watermark succeeded")
        except Errors.OffsetOutOfRangeError:
            pass
        assert admin.delete_records({KTP("dr2", 0): 1})[KTP("dr2", 0)]["low_watermark"] == 1
    finally:
        admin.close()
