"""A Weir cluster: a real etcd and three `weir broker` processes with etcd.connect, driven by
confluent-kafka (librdkafka) and etcdctl. Membership, the controller, placement, produce and
consume through partition leaders on every broker, a broker's death and return, the
controller's failover, a foreign cluster id, and etcd down under load."""
from __future__ import annotations

import json
import signal
import time
from collections import Counter

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from cluster_support import Etcd, create, metadata, running_cluster, wait_for
from conftest import Broker

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def cluster(tmp_path):
    yield from running_cluster(tmp_path)


def leaders(bootstrap: str, topic: str) -> dict[int, int]:
    t = metadata(bootstrap).topics[topic]
    return {p: part.leader for p, part in t.partitions.items()}


def produce(bootstrap: str, topic: str, values: list[tuple[int, bytes]], **config) -> list[tuple[int, int, bytes]]:
    """Produces (partition, value) pairs with acks=all; returns (partition, offset, value) as acknowledged."""
    acked, errors = [], []
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, **config})

    def done(err, msg):
        (errors if err else acked).append(err or (msg.partition(), msg.offset(), msg.value()))

    for partition, value in values:
        p.produce(topic, value, partition=partition, on_delivery=done)
        p.poll(0)
    assert p.flush(60) == 0, "messages left undelivered"
    assert errors == []
    return acked


def consume_all(bootstrap: str, topic: str, partitions: list[int], expected: int, group: str | None = None):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group or f"read-{time.monotonic_ns()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    if group:
        c.subscribe([topic])
    else:
        c.assign([TopicPartition(topic, p, 0) for p in partitions])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < expected and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got.append((m.partition(), m.offset(), m.value()))
    if group:
        c.commit(asynchronous=False)
    c.close()
    return got


def test_brokers_controller_placement_and_what_etcd_holds(cluster):
    md = metadata(cluster.bootstrap)
    assert sorted(md.brokers) == [1, 2, 3]
    assert {b.port for b in md.brokers.values()} == {b.port for b in cluster.brokers.values()}
    assert md.controller_id in (1, 2, 3)
    create(cluster.bootstrap, "spread", 6)
    placed = leaders(cluster.bootstrap, "spread")
    assert Counter(placed.values()) == {1: 2, 2: 2, 3: 2}
    # Every broker tells the same story.
    for b in cluster.brokers.values():
        wait_for(f"broker {b.port} sees the placement", lambda: leaders(b.bootstrap, "spread") == placed)
        t = metadata(b.bootstrap).topics["spread"]
        assert all(part.replicas == [part.leader] and part.isrs == [part.leader] for part in t.partitions.values())

    # What etcd holds: the cluster id, three registrations, the controller, the topic, its partitions.
    keys = dict(cluster.etcd.get("/weir-test/", prefix=True))
    assert keys["/weir-test/cluster_id"] == "weir-cluster"
    assert sorted(k for k in keys if k.startswith("/weir-test/brokers/")) == [f"/weir-test/brokers/{n}" for n in (1, 2, 3)]
    assert json.loads(keys["/weir-test/controller"])["id"] == md.controller_id
    spec = json.loads(keys["/weir-test/topics/spread"])
    assert (spec["partitions"], spec["replicationFactor"]) == (6, 1)
    for p, leader in placed.items():
        state = json.loads(keys[f"/weir-test/partitions/spread/{p}"])
        assert (state["leader"], state["replicas"], state["isr"]) == (leader, [leader], [leader])

    # More replicas than live brokers is refused, as Kafka refuses it.
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    with pytest.raises(KafkaException) as refused:
        admin.create_topics([NewTopic("replicated", 1, 4)])["replicated"].result(20)
    assert refused.value.args[0].code() == KafkaError.INVALID_REPLICATION_FACTOR
    assert "larger than available brokers: 3" in refused.value.args[0].str()
    with pytest.raises(KafkaException) as twice:
        admin.create_topics([NewTopic("spread", 1, 1)])["spread"].result(20)
    assert twice.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS


def test_produce_and_consume_through_every_leader_with_a_group(cluster):
    create(cluster.bootstrap, "orders", 6)
    sent = [(i % 6, f"order-{i}".encode()) for i in range(600)]
    acked = produce(cluster.bootstrap, "orders", sent, **{"enable.idempotence": True})
    assert sorted(v for _, _, v in acked) == sorted(v for _, v in sent)
    # Offsets per partition are 0..99 in the order sent.
    for p in range(6):
        assert [o for q, o, _ in sorted(acked) if q == p] == list(range(100))

    got = consume_all(cluster.bootstrap, "orders", list(range(6)), 600, group="billing")
    assert sorted(got) == sorted(acked)
    # The group's coordinator kept the commit: a new member of the group starts after it.
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "billing"})
    committed = c.committed([TopicPartition("orders", p) for p in range(6)], timeout=20)
    c.close()
    assert [tp.offset for tp in committed] == [100] * 6


def test_a_dead_brokers_partitions_go_offline_and_come_back_with_it(cluster):
    create(cluster.bootstrap, "events", 3)
    placed = leaders(cluster.bootstrap, "events")
    acked = produce(cluster.bootstrap, "events", [(p, f"e{p}-{i}".encode()) for p in range(3) for i in range(10)])
    victim = placed[0]
    others = [n for n in (1, 2, 3) if n != victim]
    cluster.brokers[victim].stop(signal.SIGKILL)
    killed = time.monotonic()
    survivors = ",".join(cluster.brokers[n].bootstrap for n in others)

    def offline():
        md = metadata(survivors)
        return victim not in md.brokers and md.topics["events"].partitions[0].leader == -1
    wait_for("the dead broker's partition offline", offline, timeout=30)
    noticed = time.monotonic() - killed
    # broker.session.timeout.ms is 9 s: the lease expires, then the controller acts.
    assert noticed < 20, f"took {noticed:.1f} s"

    # Partitions led elsewhere still take writes.
    alive_partition = next(p for p, n in placed.items() if n != victim)
    more = produce(survivors, "events", [(alive_partition, b"after")])
    assert more[0][1] == 10

    cluster.brokers[victim].start()
    wait_for("the broker back as leader", lambda: leaders(cluster.bootstrap, "events")[0] == victim, timeout=40)
    got = consume_all(cluster.bootstrap, "events", [0], 10)
    assert sorted(got) == sorted(a for a in acked if a[0] == 0)


def test_the_controller_fails_over_and_topics_can_still_be_created(cluster):
    old = metadata(cluster.bootstrap).controller_id
    cluster.brokers[old].stop(signal.SIGKILL)
    survivors = ",".join(b.bootstrap for n, b in cluster.brokers.items() if n != old)
    new = wait_for("a new controller", lambda: (c := metadata(survivors).controller_id) not in (old, -1) and c, timeout=30)
    assert new in (1, 2, 3) and new != old
    create(survivors, "after-failover", 4)
    assert set(leaders(survivors, "after-failover").values()) == set(n for n in (1, 2, 3) if n != old)


def test_a_broker_of_another_cluster_is_refused(tmp_path):
    etcd = Etcd(tmp_path).start()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Broker(tmp_path / "a", {"node.id": 1, "etcd.connect": etcd.endpoint}).start()
    try:
        other = Broker(tmp_path / "b", {"node.id": 2, "etcd.connect": etcd.endpoint, "cluster.id": "elsewhere"})
        with pytest.raises(AssertionError, match="broker exited"):
            other.start()
        assert "cluster.id is elsewhere but the cluster at /weir in etcd is weir-cluster" in other.log_text()
    finally:
        first.stop(signal.SIGKILL)
        etcd.stop(signal.SIGKILL)


def test_leaders_keep_serving_while_etcd_is_down_and_the_cluster_resumes(cluster):
    create(cluster.bootstrap, "steady", 3)
    placed = leaders(cluster.bootstrap, "steady")
    cluster.etcd.stop(signal.SIGKILL)
    down = time.monotonic()
    acked = []
    # Longer than the session timeout: leaders of partitions nobody else could lead keep going.
    while time.monotonic() - down < 12:
        acked += produce(cluster.bootstrap, "steady", [(p, f"s{len(acked)}-{p}".encode()) for p in range(3)])
        time.sleep(0.5)
    assert len(acked) >= 3 * 10
    cluster.etcd.start()
    create(cluster.bootstrap, "after-etcd", 3)
    wait_for("three brokers again", lambda: len(metadata(cluster.bootstrap).brokers) == 3)
    assert leaders(cluster.bootstrap, "steady") == placed
    got = consume_all(cluster.bootstrap, "steady", [0, 1, 2], len(acked))
    assert sorted(got) == sorted(acked)
