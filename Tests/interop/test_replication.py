"""Replication between Weir brokers: three brokers and an etcd, topics with replication factor
2 and 3, confluent-kafka (librdkafka) as the client. acks=all answered once the ISR has the
batch, a leader killed under idempotent acks=all load (every acknowledged record present
exactly once at its offset), a restarted broker catching up into the ISR, min.insync.replicas."""
from __future__ import annotations

import json
import signal
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from cluster_support import Cluster, create, metadata, running_cluster, wait_for

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def cluster(tmp_path):
    yield from running_cluster(tmp_path, {"replica.lag.time.max.ms": 4000})


def partition_state(cluster: Cluster, topic: str, p: int) -> dict:
    return json.loads(dict(cluster.etcd.get(f"/weir-test/partitions/{topic}/{p}"))[f"/weir-test/partitions/{topic}/{p}"])


def consume_everything(bootstrap: str, topic: str, partitions: int, expected: int):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{time.monotonic_ns()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < expected and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append((m.partition(), m.offset(), m.value()))
    # A little longer: anything beyond what was acknowledged would be a duplicate.
    end = time.monotonic() + 2
    while time.monotonic() < end:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append((m.partition(), m.offset(), m.value()))
    c.close()
    return got


def test_replicas_follow_and_acks_all_waits_for_the_isr(cluster):
    create(cluster.bootstrap, "r3", 3, 3)
    md = metadata(cluster.bootstrap).topics["r3"]
    for p, part in md.partitions.items():
        assert sorted(part.replicas) == [1, 2, 3] and sorted(part.isrs) == [1, 2, 3]
    leaders = {p: part.leader for p, part in md.partitions.items()}
    assert sorted(leaders.values()) == [1, 2, 3]

    acked = []
    prod = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    for i in range(300):
        prod.produce("r3", f"v{i}".encode(), partition=i % 3,
                     on_delivery=lambda err, m: acked.append(err or (m.partition(), m.offset(), m.value())))
    assert prod.flush(60) == 0
    assert all(isinstance(a, tuple) for a in acked), acked[:3]
    assert sorted(o for p, o, _ in acked if p == 0) == list(range(100))

    # The followers have everything: stop each partition's leader in turn... here, the leader of
    # partition 0; the new leader serves all 100 records of it, exactly.
    victim = leaders[0]
    cluster.brokers[victim].stop(signal.SIGKILL)
    survivors = ",".join(b.bootstrap for n, b in cluster.brokers.items() if n != victim)
    wait_for("a new leader for partition 0", lambda: metadata(survivors).topics["r3"].partitions[0].leader not in (victim, -1))
    got = consume_everything(survivors, "r3", 3, 300)
    assert sorted(got) == sorted(acked)


def test_a_leader_killed_under_idempotent_acks_all_load_loses_nothing(cluster):
    create(cluster.bootstrap, "orders", 3, 3)
    acked: list[tuple[int, int, bytes]] = []
    errors: list = []
    stop = threading.Event()
    prod = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
                     "linger.ms": 2, "message.timeout.ms": 60000})

    def delivered(err, m):
        if err:
            errors.append(err)
        else:
            acked.append((m.partition(), m.offset(), m.value(), time.monotonic()))

    def load():
        i = 0
        while not stop.is_set():
            try:
                prod.produce("orders", f"o{i}".encode(), partition=i % 3, on_delivery=delivered)
                i += 1
            except BufferError:
                pass
            prod.poll(0.001)
            time.sleep(0.002)
        prod.flush(90)

    t = threading.Thread(target=load)
    t.start()
    time.sleep(3)
    victim = metadata(cluster.bootstrap).topics["orders"].partitions[0].leader
    cluster.brokers[victim].stop(signal.SIGKILL)
    killed = time.monotonic()
    time.sleep(18)
    stop.set()
    t.join(120)
    assert errors == []
    # Partition 0 took writes again: the first acknowledgement on it after the kill.
    resumed = min((at for p, _, _, at in acked if p == 0 and at > killed), default=None)
    assert resumed is not None, "partition 0 never took a write after its leader died"
    assert resumed - killed < 15, f"producers resumed after {resumed - killed:.1f} s"
    print(f"failover: partition 0 took writes again {resumed - killed:.1f} s after its leader was killed")

    records = [(p, o, v) for p, o, v, _ in acked]
    survivors = ",".join(b.bootstrap for n, b in cluster.brokers.items() if n != victim)
    got = consume_everything(survivors, "orders", 3, len(records))
    # Every acknowledged record, exactly once, at its acknowledged offset.
    assert len(got) == len(set(got)), "a record is there twice"
    assert set(records) <= set(got)
    values = [v for _, _, v in got]
    assert len(values) == len(set(values)), "a value was written twice"


def test_a_restarted_broker_catches_up_and_rejoins_the_isr(cluster):
    create(cluster.bootstrap, "events", 1, 3)
    part = metadata(cluster.bootstrap).topics["events"].partitions[0]
    follower = next(r for r in part.replicas if r != part.leader)
    cluster.brokers[follower].stop(signal.SIGKILL)
    wait_for("the dead follower out of the ISR", lambda: follower not in partition_state(cluster, "events", 0)["isr"])
    prod = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(200):
        prod.produce("events", f"e{i}".encode(), partition=0)
    assert prod.flush(30) == 0
    cluster.brokers[follower].start()
    wait_for("the follower back in the ISR", lambda: follower in partition_state(cluster, "events", 0)["isr"], timeout=60)
    state = partition_state(cluster, "events", 0)
    assert sorted(state["isr"]) == [1, 2, 3]


def test_min_insync_replicas_refuses_acks_all_when_too_few_are_in_sync(cluster):
    create(cluster.bootstrap, "strict", 1, 2, {"min.insync.replicas": "2"})
    part = metadata(cluster.bootstrap).topics["strict"].partitions[0]
    follower = next(r for r in part.replicas if r != part.leader)
    ok = []
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    p.produce("strict", b"both in sync", partition=0, on_delivery=lambda err, m: ok.append(err))
    assert p.flush(30) == 0 and ok == [None]

    cluster.brokers[follower].stop(signal.SIGKILL)
    wait_for("the ISR down to the leader", lambda: partition_state(cluster, "strict", 0)["isr"] == [part.leader])
    results = []
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "message.timeout.ms": 3000, "retries": 0})
    p.produce("strict", b"refused", partition=0, on_delivery=lambda err, m: results.append(err))
    p.flush(10)
    assert len(results) == 1 and results[0] is not None
    assert results[0].code() == KafkaError.NOT_ENOUGH_REPLICAS
    # acks=1 does not ask the ISR.
    one = []
    p1 = Producer({"bootstrap.servers": cluster.bootstrap, "acks": 1})
    p1.produce("strict", b"acks one", partition=0, on_delivery=lambda err, m: one.append(err))
    assert p1.flush(10) == 0 and one == [None]


def java_hash(s: str) -> int:
    h = 0
    for ch in s.encode("utf-16-be").decode("utf-16-be"):
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def test_committed_offsets_survive_the_coordinators_death(cluster):
    create(cluster.bootstrap, "ledger", 2, 3)
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(40):
        p.produce("ledger", f"l{i}".encode(), partition=i % 2)
    assert p.flush(30) == 0
    group = "auditors"
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.assign([TopicPartition("ledger", 0, 0), TopicPartition("ledger", 1, 0)])
    seen = 0
    deadline = time.monotonic() + 30
    while seen < 40 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            seen += 1
    assert seen == 40
    c.commit(offsets=[TopicPartition("ledger", 0, 17), TopicPartition("ledger", 1, 20)], asynchronous=False)
    c.close()

    # The coordinator is the leader of the group's __consumer_offsets partition (Kafka's hash).
    offsets_partition = (java_hash(group) & 0x7FFFFFFF) % 50
    md = metadata(cluster.bootstrap)
    coordinator = md.topics["__consumer_offsets"].partitions[offsets_partition].leader
    assert sorted(md.topics["__consumer_offsets"].partitions[offsets_partition].isrs) == [1, 2, 3]
    cluster.brokers[coordinator].stop(signal.SIGKILL)
    survivors = ",".join(b.bootstrap for n, b in cluster.brokers.items() if n != coordinator)
    killed = time.monotonic()

    def committed():
        c2 = Consumer({"bootstrap.servers": survivors, "group.id": group})
        try:
            got = c2.committed([TopicPartition("ledger", 0), TopicPartition("ledger", 1)], timeout=5)
            return [tp.offset for tp in got] == [17, 20] and [tp.offset for tp in got]
        finally:
            c2.close()
    assert wait_for("the commits from the new coordinator", committed, timeout=60) == [17, 20]
    print(f"coordinator failover: commits readable {time.monotonic() - killed:.1f} s after the coordinator was killed")


def test_a_leader_cut_off_from_etcd_stops_leading_and_acks_all_loses_nothing(tmp_path):
    """The link between one broker and etcd is cut (the broker keeps running): its lease
    expires, the controller elects another in-sync replica, and the cut-off broker stops taking
    writes for the partition. Every acks=all acknowledgement survives, exactly once."""
    cluster = Cluster(tmp_path, overrides={"replica.lag.time.max.ms": 4000}, links=True).start()
    try:
        wait_for("three live brokers", lambda: len(metadata(cluster.bootstrap).brokers) == 3)
        create(cluster.bootstrap, "fenced", 1, 3)
        victim = metadata(cluster.bootstrap).topics["fenced"].partitions[0].leader
        acked = []
        stop = threading.Event()
        prod = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 2, "message.timeout.ms": 20000})

        def load():
            i = 0
            while not stop.is_set():
                try:
                    prod.produce("fenced", f"f{i}".encode(), partition=0, on_delivery=lambda err, m: None if err else
                                 acked.append((m.partition(), m.offset(), m.value())))
                    i += 1
                except BufferError:
                    pass
                prod.poll(0.001)
                time.sleep(0.003)
            prod.flush(30)

        t = threading.Thread(target=load)
        t.start()
        time.sleep(2)
        cluster.links[victim].cut()
        cut = time.monotonic()
        new_leader = wait_for("another leader elected", lambda: (
            (l := partition_state(cluster, "fenced", 0)["leader"]) not in (victim, -1) and l), timeout=30)
        moved = time.monotonic() - cut
        print(f"link cut: leader moved from {victim} to {new_leader} {moved:.1f} s after the cut")
        assert cluster.brokers[victim].alive(), "the cut-off broker kept running"

        # The cut-off broker no longer takes writes; the new leader does.
        refused = []
        old = Producer({"bootstrap.servers": cluster.brokers[victim].bootstrap, "acks": 1, "retries": 0,
                        "message.timeout.ms": 3000, "topic.metadata.refresh.interval.ms": 100000})
        old.produce("fenced", b"to the old leader", partition=0, on_delivery=lambda err, m: refused.append(err))
        old.flush(10)
        assert refused and refused[0] is not None, "the cut-off broker took a write"
        fresh = Producer({"bootstrap.servers": cluster.brokers[new_leader].bootstrap, "acks": "all",
                          "enable.idempotence": True})
        for i in range(50):
            fresh.produce("fenced", f"n{i}".encode(), partition=0,
                          on_delivery=lambda err, m: acked.append((m.partition(), m.offset(), m.value())) if not err else None)
        assert fresh.flush(30) == 0
        stop.set()
        t.join(60)

        others = ",".join(b.bootstrap for n, b in cluster.brokers.items() if n != victim)
        got = consume_everything(others, "fenced", 1, len(acked))
        assert len(got) == len(set(got)), "a record is there twice"
        assert set(acked) <= set(got), "an acknowledged record is missing"
        assert len({v for _, _, v in got}) == len(got), "a value was written twice"
        assert any(v.startswith(b"n") for _, _, v in got)

        # The link back: the broker registers again and follows the new leader into the ISR.
        cluster.links[victim].restore()
        wait_for("the cut-off broker back in the ISR", lambda: victim in partition_state(cluster, "fenced", 0)["isr"],
                 timeout=60)
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.stop()


def test_controlled_shutdown_moves_leadership_at_once(cluster):
    """SIGTERM: the broker revokes its lease before its listeners close, so the controller
    moves its leaderships without waiting for the session timeout."""
    create(cluster.bootstrap, "graceful", 1, 3)
    leader = metadata(cluster.bootstrap).topics["graceful"].partitions[0].leader
    stopped = time.monotonic()
    assert cluster.brokers[leader].stop(signal.SIGTERM) == 0
    moved = wait_for("a new leader", lambda: partition_state(cluster, "graceful", 0)["leader"] not in (leader, -1), timeout=10)
    took = time.monotonic() - stopped
    assert moved and took < 5, f"leadership moved {took:.1f} s after SIGTERM (the session timeout is 9 s)"
    print(f"controlled shutdown: leadership moved {took:.1f} s after SIGTERM")
    survivors = ",".join(b.bootstrap for n, b in cluster.brokers.items() if n != leader)
    p = Producer({"bootstrap.servers": survivors, "acks": "all"})
    done = []
    p.produce("graceful", b"after", partition=0, on_delivery=lambda err, m: done.append(err))
    assert p.flush(20) == 0 and done == [None]
