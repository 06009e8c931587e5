"""Idempotent producers (KIP-98) against Weir: librdkafka with enable.idempotence gets a producer
id from InitProducerId, every delivery succeeds, and each record is stored exactly once, in
order, even when Produce responses are lost and the producer retries batches already stored,
and across a broker kill."""
import json
import signal
import socket
import struct
import threading

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import create_topic


def idempotent_producer(bootstrap: str, stats: list, **extra) -> Producer:
    return Producer({
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "batch.num.messages": 500,
        "message.timeout.ms": 60000,
        "statistics.interval.ms": 100,
        "stats_cb": lambda s: stats.append(json.loads(s)),
        **extra,
    })


class ResponseDroppingProxy:
    """A TCP proxy in front of the broker that loses some Produce responses: it forwards the
    request (the broker stores the batch), then closes the client's connection instead of
    passing the response on. The producer must retry the batch with the same sequence, and the
    broker must answer the retry with the stored offsets instead of storing it again."""

    def __init__(self, drop_every: int, max_drops: int):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.upstream_port = 0
        self.drop_every = drop_every
        self.max_drops = max_drops
        self.produce_responses = 0
        self.dropped = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:  # the broker is gone (test teardown)
                client.close()
                continue
            api_keys = {}
            threading.Thread(target=self._requests, args=(client, upstream, api_keys), daemon=True).start()
            threading.Thread(target=self._responses, args=(client, upstream, api_keys), daemon=True).start()

    @staticmethod
    def _frame(s: socket.socket) -> bytes:
        head = ResponseDroppingProxy._exact(s, 4)
        return head + ResponseDroppingProxy._exact(s, struct.unpack(">i", head)[0])

    @staticmethod
    def _exact(s: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError
            buf += chunk
        return buf

    @staticmethod
    def _close(*sockets):
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _requests(self, client, upstream, api_keys):
        try:
            while True:
                frame = self._frame(client)
                api_key, _, correlation = struct.unpack(">hhi", frame[4:12])
                api_keys[correlation] = api_key
                upstream.sendall(frame)
        except OSError:
            self._close(client, upstream)

    def _responses(self, client, upstream, api_keys):
        try:
            while True:
                frame = self._frame(upstream)
                correlation = struct.unpack(">i", frame[4:8])[0]
                if api_keys.pop(correlation, None) == 0:
                    with self.lock:
                        self.produce_responses += 1
                        drop = self.dropped < self.max_drops and self.produce_responses % self.drop_every == 0
                        self.dropped += drop
                    if drop:
                        self._close(client, upstream)
                        return
                client.sendall(frame)
        except OSError:
            self._close(client, upstream)


def read_partitions(bootstrap: str, topic: str, counts: dict) -> dict:
    """Every record of each partition from offset 0, as (offset, value) in log order."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-reader", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 50})
    c.assign([TopicPartition(topic, p, 0) for p in counts])
    got = {p: [] for p in counts}
    for _ in range(600):
        for m in c.consume(5000, 0.1):
            assert not m.error(), m.error()
            got[m.partition()].append((m.offset(), m.value()))
        if all(len(got[p]) >= n for p, n in counts.items()):
            break
    # Nothing beyond what was produced: the log ends where the reads stopped.
    ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False) for p in counts}
    c.close()
    assert ends == {p: (0, n) for p, n in counts.items()}
    return got


def assigned_producer_ids(stats: list) -> set:
    return {s["eos"]["producer_id"] for s in stats
            if s.get("eos", {}).get("idemp_state") == "Assigned" and s["eos"].get("producer_id", -1) >= 0}


def test_idempotent_producer_stores_each_record_once_in_order(broker):
    create_topic(broker.bootstrap, "idem", 3)
    stats: list = []
    p = idempotent_producer(broker.bootstrap, stats)
    sent = {0: [], 1: [], 2: []}
    delivered = []
    failures = []

    def on_delivery(err, m):
        if err is not None:
            failures.append(err)
        else:
            delivered.append((m.partition(), m.offset(), m.value()))

    for i in range(20000):
        value = f"rec-{i}".encode()
        partition = i % 3
        sent[partition].append(value)
        p.produce("idem", value=value, key=str(i).encode(), partition=partition, on_delivery=on_delivery)
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    p.poll(0.3)  # one more statistics callback
    assert failures == []
    assert len(delivered) == 20000
    assert len(assigned_producer_ids(stats)) == 1

    # Delivery reports: each partition's offsets are dense from 0, in produce order.
    for part in range(3):
        mine = [(o, v) for pp, o, v in delivered if pp == part]
        assert sorted(mine) == list(enumerate(sent[part]))

    got = read_partitions(broker.bootstrap, "idem", {q: len(sent[q]) for q in range(3)})
    for part in range(3):
        assert got[part] == list(enumerate(sent[part]))


def test_retries_across_a_broker_kill_are_not_stored_twice(broker_factory):
    b = broker_factory().start()
    create_topic(b.bootstrap, "idem-kill", 2)
    stats: list = []
    p = idempotent_producer(b.bootstrap, stats)
    sent = {0: [], 1: []}
    failures = []

    def produce(lo, hi):
        for i in range(lo, hi):
            value = f"k-{i}".encode()
            sent[i % 2].append(value)
            p.produce("idem-kill", value=value, partition=i % 2,
                      on_delivery=lambda err, m: failures.append(err) if err is not None else None)
            if i % 500 == 0:
                p.poll(0)

    produce(0, 6000)
    assert p.flush(30) == 0
    # Batches in flight when the broker dies: some were stored, their acks never sent. The
    # producer retries them with the same sequences after the restart.
    produce(6000, 12000)
    p.poll(0.01)
    b.stop(signal.SIGKILL)
    b.start()
    produce(12000, 15000)
    assert p.flush(60) == 0
    assert failures == []
    assert len(assigned_producer_ids(stats)) == 1

    got = read_partitions(b.bootstrap, "idem-kill", {0: len(sent[0]), 1: len(sent[1])})
    for part in range(2):
        assert got[part] == list(enumerate(sent[part]))


def test_retries_of_stored_batches_are_answered_not_stored_again(broker_factory, monkeypatch):
    monkeypatch.setenv("WEIR_LOG_LEVEL", "debug")
    proxy = ResponseDroppingProxy(drop_every=3, max_drops=5)
    # Clients learn the broker's address from Metadata: advertise the proxy.
    b = broker_factory({"advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy.port}"})
    proxy.upstream_port = b.port
    b.start()
    bootstrap = f"127.0.0.1:{proxy.port}"
    create_topic(bootstrap, "idem-lost", 3)
    stats: list = []
    p = idempotent_producer(bootstrap, stats, **{"reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100,
                                                 "retry.backoff.ms": 10, "batch.num.messages": 100})
    sent = {0: [], 1: [], 2: []}
    delivered = []
    failures = []

    def on_delivery(err, m):
        if err is not None:
            failures.append(err)
        else:
            delivered.append((m.partition(), m.offset(), m.value()))

    for i in range(6000):
        value = f"lost-{i}".encode()
        sent[i % 3].append(value)
        p.produce("idem-lost", value=value, partition=i % 3, on_delivery=on_delivery)
        if i % 200 == 0:
            p.poll(0.005)
    assert p.flush(60) == 0
    assert failures == []
    assert proxy.dropped == 5
    # The producer kept its id and epoch: the retries were plain retries, not a new session.
    assert len(assigned_producer_ids(stats)) == 1
    for part in range(3):
        mine = [(o, v) for pp, o, v in delivered if pp == part]
        assert sorted(mine) == list(enumerate(sent[part]))

    got = read_partitions(bootstrap, "idem-lost", {q: len(sent[q]) for q in range(3)})
    for part in range(3):
        assert got[part] == list(enumerate(sent[part]))
    proxy.close()
    b.stop()
    # At least one lost response was for a batch the broker had stored: its retry was answered
    # from the producer state (a request the broker had not yet handled is simply appended).
    assert "answered a retried batch from producer state" in b.log.read_text()
