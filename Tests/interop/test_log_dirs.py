"""DescribeLogDirs (API 35), as kafka-log-dirs.sh and admin UIs read it: the broker's one log
directory with every partition and its size."""
from confluent_kafka import Producer

from conftest import create_topic


def test_describe_log_dirs_lists_every_partition_with_its_size(broker):
    from kafka.admin import KafkaAdminClient
    create_topic(broker.bootstrap, "dirs", 3)
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "compression.type": "none"})
    for i in range(200):
        p.produce("dirs", value=b"x" * 1000, partition=1)
    assert p.flush(10) == 0

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        per_broker = admin.describe_log_dirs()
    finally:
        admin.close()
    assert len(per_broker) == 1 and per_broker[0]["broker"] == 1, per_broker
    results = per_broker[0]["log_dirs"]
    assert len(results) == 1
    (result,) = results
    assert result["error_code"] == 0
    assert result["log_dir"] == str(broker.datadir)
    topics = {t["name"]: {q["partition_index"]: q["partition_size"] for q in t["partitions"]} for t in result["topics"]}
    assert set(topics) == {"dirs"} and set(topics["dirs"]) == {0, 1, 2}
    # 200 KB of values in partition 1 (uncompressed, LZ4 in RocksDB may shrink the repeated bytes,
    # so the floor is loose); the others are empty.
    assert topics["dirs"][1] > 1000 and topics["dirs"][0] == 0 and topics["dirs"][2] == 0, topics
    assert 0 < result["usable_bytes"] <= result["total_bytes"]
