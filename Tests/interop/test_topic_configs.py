"""Topic configs are honest: what Weir accepts works, or is accepted for compatibility and says
in DescribeConfigs' documentation that it has no effect; what it cannot honour is refused."""
import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic


def create(admin, name, config):
    return admin.create_topics([NewTopic(name, 1, 1, config=config)])[name]


def test_segment_configs_are_accepted_and_documented_as_without_effect(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    create(admin, "streams-internal", {"segment.ms": "600000", "segment.bytes": "52428800"}).result(10)
    from kafka.admin import KafkaAdminClient, ConfigResource as KResource, ConfigResourceType
    k = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        described = k.describe_configs([KResource(ConfigResourceType.TOPIC, "streams-internal")],
                                       config_filter="all")
    finally:
        k.close()
    entries = described["topic"]["streams-internal"]
    assert entries["segment.ms"]["value"] == "600000"
    assert "no effect" in (entries["segment.ms"].get("documentation") or "")
    assert entries["retention.ms"].get("documentation") is None
    assert "topic config has no effect" in broker.log_text() and "segment.ms" in broker.log_text()


@pytest.mark.parametrize("config,expected", [
    ({"compression.type": "gzip"}, "only compression.type=producer"),
    ({"flush.ms": "1000"}, "log.flush.interval.ms"),
    ({"flush.messages": "100"}, "flush.messages=1"),
])
def test_settings_weir_cannot_honour_are_refused(broker, config, expected):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    with pytest.raises(KafkaException) as raised:
        create(admin, "refused", config).result(10)
    assert expected in str(raised.value)
    assert "refused" not in admin.list_topics(timeout=10).topics


def test_a_topic_with_flush_messages_1_fsyncs_and_serves(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    create(admin, "synced", {"flush.messages": "1"}).result(10)
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 0})
    for i in range(20):
        p.produce("synced", value=f"s{i}".encode())
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "s", "enable.auto.commit": False})
    c.assign([TopicPartition("synced", 0, 0)])
    got = []
    for _ in range(50):
        got += [m.value().decode() for m in c.consume(100, 0.2) if not m.error()]
        if len(got) >= 20:
            break
    c.close()
    assert got == [f"s{i}" for i in range(20)]
