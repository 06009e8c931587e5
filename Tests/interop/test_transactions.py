"""Transactions with real clients: confluent-kafka (librdkafka) and kafka-python commit and abort
across partitions; read_committed consumers see exactly the committed records, read_uncommitted
ones see everything but never a marker; fencing, timeouts, and consume-transform-produce that
stays exactly-once through a kill -9 of the broker."""
import signal
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from conftest import Broker, create_topic


def txn_producer(bootstrap, txn_id, **extra):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5, **extra})
    p.init_transactions(20)
    return p


def read_all(bootstrap, topic, partitions, isolation, expect, seconds=20):
    """Every record of `topic` from offset 0, per partition in order: {partition: [(offset, value)]}."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{time.monotonic_ns()}",
                  "isolation.level": isolation, "enable.auto.commit": False, "enable.partition.eof": True})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = {p: [] for p in range(partitions)}
    deadline = time.monotonic() + seconds
    while sum(len(v) for v in got.values()) < expect and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None or (m.error() and m.error().code() == -191):  # partition EOF
            continue
        assert m.error() is None, m.error()
        got[m.partition()].append((m.offset(), m.value().decode()))
    # A little longer: nothing more may come (an aborted record would show up here).
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got[m.partition()].append((m.offset(), m.value().decode()))
    c.close()
    return got


def values(got):
    return {p: [v for _, v in recs] for p, recs in got.items()}


def test_commit_and_abort_across_three_partitions(broker):
    create_topic(broker.bootstrap, "tx", 3)
    p = txn_producer(broker.bootstrap, "tx-1")
    for label, commit in (("c1", True), ("ab", False), ("c2", True)):
        p.begin_transaction()
        for i in range(30):
            p.produce("tx", value=f"{label}-{i}", partition=i % 3)
        if commit:
            p.commit_transaction(20)
        else:
            p.flush(20)
            p.abort_transaction(20)

    committed = read_all(broker.bootstrap, "tx", 3, "read_committed", 60)
    assert values(committed) == {q: [f"{label}-{i}" for label in ("c1", "c2") for i in range(q, 30, 3)] for q in range(3)}
    # 10 records + a marker per transaction: the committed second transaction starts at 22.
    assert [o for o, _ in committed[0]] == list(range(0, 10)) + list(range(22, 32))

    everything = read_all(broker.bootstrap, "tx", 3, "read_uncommitted", 90)
    assert values(everything) == {q: [f"{label}-{i}" for label in ("c1", "ab", "c2") for i in range(q, 30, 3)]
                                  for q in range(3)}
    # No marker is handed over: offsets 10, 21 and 32 are markers.
    assert [o for o, _ in everything[1]] == list(range(0, 10)) + list(range(11, 21)) + list(range(22, 32))

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "wm", "isolation.level": "read_committed"})
    assert c.get_watermark_offsets(TopicPartition("tx", 0), timeout=10) == (0, 33)
    c.close()


def test_read_committed_waits_for_an_open_transaction(broker):
    create_topic(broker.bootstrap, "open", 1)
    plain = Producer({"bootstrap.servers": broker.bootstrap})
    plain.produce("open", value="before", partition=0)
    plain.flush(10)
    p = txn_producer(broker.bootstrap, "open-1")
    p.begin_transaction()
    p.produce("open", value="inside", partition=0)
    p.flush(10)
    plain.produce("open", value="after", partition=0)  # behind the open transaction
    plain.flush(10)

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "waiting", "isolation.level": "read_committed",
                  "auto.offset.reset": "earliest"})
    c.assign([TopicPartition("open", 0, 0)])
    seen = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            seen.append(m.value().decode())
    assert seen == ["before"]  # the last stable offset is the open transaction's first offset
    p.commit_transaction(20)
    deadline = time.monotonic() + 10
    while len(seen) < 3 and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            seen.append(m.value().decode())
    c.close()
    assert seen == ["before", "inside", "after"]


def test_a_new_instance_fences_the_old_one_and_aborts_its_transaction(broker):
    create_topic(broker.bootstrap, "fence", 2)
    zombie = txn_producer(broker.bootstrap, "fenced-id")
    zombie.begin_transaction()
    for i in range(4):
        zombie.produce("fence", value=f"zombie-{i}", partition=i % 2)
    zombie.flush(10)

    fresh = txn_producer(broker.bootstrap, "fenced-id")   # bumps the epoch, aborts the zombie's transaction
    fresh.begin_transaction()
    fresh.produce("fence", value="fresh", partition=0)
    fresh.commit_transaction(20)

    with pytest.raises(KafkaException) as failure:
        zombie.commit_transaction(10)
    assert failure.value.args[0].fatal()
    assert values(read_all(broker.bootstrap, "fence", 2, "read_committed", 1)) == {0: ["fresh"], 1: []}


def test_a_transaction_past_its_timeout_is_aborted(broker_factory):
    b = broker_factory({"transaction.abort.timed.out.transaction.cleanup.interval.ms": "300"}).start()
    create_topic(b.bootstrap, "slow", 1)
    p = txn_producer(b.bootstrap, "slow-1", **{"transaction.timeout.ms": 1500})
    p.begin_transaction()
    p.produce("slow", value="late", partition=0)
    p.flush(10)
    time.sleep(3)
    with pytest.raises(KafkaException):
        p.commit_transaction(10)
    assert values(read_all(b.bootstrap, "slow", 1, "read_committed", 1, seconds=3)) == {0: []}
    assert "aborting a transaction past its timeout" in b.log_text()


def test_consume_transform_produce_is_exactly_once_through_a_kill_9(broker_factory):
    b = broker_factory().start()
    create_topic(b.bootstrap, "in", 3)
    create_topic(b.bootstrap, "out", 3)
    seed = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 20})
    for i in range(10_000):
        seed.produce("in", value=f"{i}", partition=i % 3)
    assert seed.flush(30) == 0

    def run_app(max_commits):
        """The application: read in, write out (value × 2), commit offsets in the transaction."""
        consumer = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "eos", "isolation.level": "read_committed",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        consumer.subscribe(["in"])
        producer = txn_producer(b.bootstrap, "eos-app")
        commits, idle_since = 0, time.monotonic()
        while commits < max_commits and time.monotonic() - idle_since < 8:
            batch = consumer.consume(500, 1.0)
            batch = [m for m in batch if not m.error()]
            if not batch:
                continue
            idle_since = time.monotonic()
            producer.begin_transaction()
            for m in batch:
                producer.produce("out", value=str(int(m.value()) * 2), partition=m.partition())
            producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                                 consumer.consumer_group_metadata(), 20)
            producer.commit_transaction(30)
            commits += 1
        return consumer, producer, commits

    consumer, producer, commits = run_app(max_commits=6)
    assert commits == 6
    # One more transaction left open, then the broker dies mid-transaction.
    batch = [m for m in consumer.consume(500, 5.0) if not m.error()]
    assert batch
    producer.begin_transaction()
    for m in batch:
        producer.produce("out", value=str(int(m.value()) * 2), partition=m.partition())
    producer.flush(10)
    b.stop(signal.SIGKILL)
    consumer.close()
    del producer
    b.start()

    # The application restarts: the new producer fences the old one's open transaction.
    consumer, producer, commits = run_app(max_commits=10_000)
    consumer.close()
    out = read_all(b.bootstrap, "out", 3, "read_committed", 10_000, seconds=60)
    got = sorted(int(v) for recs in values(out).values() for v in recs)
    assert got == [2 * i for i in range(10_000)]
    assert values(out) == {q: [str(2 * i) for i in range(q, 10_000, 3)] for q in range(3)}


def test_kafka_python_transactions_and_read_committed(broker):
    from kafka import KafkaConsumer, KafkaProducer
    create_topic(broker.bootstrap, "kp-tx", 2)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="kp-1")
    p.init_transactions()
    for label, commit in (("yes", True), ("no", False)):
        p.begin_transaction()
        for i in range(6):
            p.send("kp-tx", value=f"{label}-{i}".encode(), partition=i % 2)
        if commit:
            p.commit_transaction()
        else:
            p.flush()
            p.abort_transaction()
    p.close()
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, isolation_level="read_committed",
                      auto_offset_reset="earliest", consumer_timeout_ms=4000, enable_auto_commit=False)
    from kafka import TopicPartition as KTP
    c.assign([KTP("kp-tx", 0), KTP("kp-tx", 1)])
    c.seek_to_beginning()
    seen = sorted((m.partition, m.offset, m.value.decode()) for m in c)
    c.close()
    assert seen == [(0, 0, "yes-0"), (0, 1, "yes-2"), (0, 2, "yes-4"), (1, 0, "yes-1"), (1, 1, "yes-3"), (1, 2, "yes-5")]


def weir(*args, timeout=60):
    import subprocess
    from conftest import ROOT, WEIR
    cp = subprocess.run([str(WEIR), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert cp.returncode == 0, f"weir {args}: rc {cp.returncode}\n{cp.stdout}\n{cp.stderr}"
    return cp.stdout.splitlines()


def test_the_transaction_tools_find_describe_and_abort_a_hanging_transaction(broker):
    create_topic(broker.bootstrap, "hang", 1)
    committed = txn_producer(broker.bootstrap, "done-id")
    committed.begin_transaction()
    committed.produce("hang", value="kept", partition=0)
    committed.commit_transaction(20)                                  # offsets 0, marker 1
    stuck = txn_producer(broker.bootstrap, "stuck-id", **{"transaction.timeout.ms": 900_000})
    stuck.begin_transaction()
    stuck.produce("hang", value="stuck", partition=0)                 # offset 2, never ended
    stuck.flush(10)

    listed = weir("transactions", "--bootstrap-server", broker.bootstrap, "list")
    assert [line.split() for line in listed] == [
        ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"],
        ["done-id", "1", "0", "CompleteCommit"],
        ["stuck-id", "1", "1", "Ongoing"],
    ]
    described = [line.split() for line in weir("transactions", "--bootstrap-server", broker.bootstrap, "describe",
                                                "--transactional-id", "stuck-id")]
    assert described[0][:5] == ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState"]
    assert described[1][:6] == ["1", "stuck-id", "1", "0", "Ongoing", "900000"] and described[1][-1] == "hang-0"
    producers = [line.split() for line in weir("transactions", "--bootstrap-server", broker.bootstrap,
                                               "describe-producers", "--topic", "hang", "--partition", "0")]
    assert [(r[0], r[-1]) for r in producers[1:]] == [("0", "None"), ("1", "2")]

    def console(isolation):
        return weir("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", "hang", "--from-beginning",
                    "--isolation-level", isolation, "--timeout-ms", "1500")
    assert console("read_committed") == ["kept"]
    assert console("read_uncommitted") == ["kept", "stuck"]

    assert weir("transactions", "--bootstrap-server", broker.bootstrap, "abort", "--topic", "hang", "--partition", "0",
                "--start-offset", "2") == ["Aborted the transaction of producer 1 starting at offset 2 on hang-0"]
    plain = Producer({"bootstrap.servers": broker.bootstrap})
    plain.produce("hang", value="after", partition=0)
    plain.flush(10)
    assert console("read_committed") == ["kept", "after"]


def test_metrics_show_open_transactions_and_their_age(broker_factory):
    import re
    import urllib.request
    from conftest import free_port
    port = free_port()
    b = broker_factory({"admin.listener": f"127.0.0.1:{port}"}).start()
    create_topic(b.bootstrap, "metered", 1)

    def metrics():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
            text = r.read().decode()
        return (int(float(re.search(r"^weir_transactions_open (\S+)$", text, re.M).group(1))),
                float(re.search(r"^weir_transaction_oldest_open_seconds (\S+)$", text, re.M).group(1)))

    assert metrics() == (0, 0.0)
    p = txn_producer(b.bootstrap, "metered-1")
    p.begin_transaction()
    p.produce("metered", value="v", partition=0)
    p.flush(10)
    time.sleep(1.2)
    count, age = metrics()
    assert count == 1 and 1.0 <= age < 30
    p.commit_transaction(20)
    assert metrics() == (0, 0.0)
