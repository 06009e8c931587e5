#!/usr/bin/env python3
"""rebalance: how long a consumer group takes to reach a stable assignment (confluent-kafka /
librdkafka, `partition.assignment.strategy=cooperative-sticky`, incremental assign/unassign).

Broker-agnostic: works against Weir, Apache Kafka, Redpanda, ... given a bootstrap.

Creates a topic of --partitions partitions (RF 1), starts --consumers consumers at once (one
thread each, one librdkafka client each, all in one group) and measures the time until the
assignment is stable: every partition of the topic owned by exactly one live consumer, the
consumers' counts differing by at most one (so each owns at least one when consumers <=
partitions, and none owns two when there are more), and no assignment change for --quiet seconds. The figure is the time from the start to the last change before that quiet
period. Then --churn rounds: in each, some consumers leave, others join and others re-subscribe
(unsubscribe + subscribe, or a detour through a second topic) in quick succession; the time
from the last of these changes to a stable assignment is measured the same way.

Prints one JSON object on stdout:
  {"consumers": N, "partitions": P, "seconds_to_stable": s,          # N consumers starting at once
   "churn_seconds_to_stable": [s, ...], "max_churn_seconds_to_stable": s, "ok": true}
A figure is null when the assignment was not stable within --timeout (then ok is false).
Progress goes to stderr.

Exit status: 0 stable every time, 1 some phase not stable within --timeout, 2 broker unreachable.

Usage: python bench/rebalance.py --bootstrap 127.0.0.1:9092 --consumers 8 [--partitions 16]
       [--churn 2] [--quiet 1.5] [--timeout 120] [--consumer-config session.timeout.ms=10000 ...]

The classes are also used by Tests/interop/test_rebalance.py, which asserts bounds on them.
"""
from __future__ import annotations

import argparse
import json
import queue
import random
import sys
import threading
import time
import uuid

from confluent_kafka import Consumer, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic


def log(*a):
    print("[rebalance]", *a, file=sys.stderr, flush=True)


class Tracker:
    """Every live consumer's current assignment, as librdkafka reports it after each poll, with
    the time of the last change and a log of events (for a failing test's message)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.owned: dict[str, frozenset] = {}
        self.last_change = time.monotonic()
        self.events: list[tuple[float, str, str]] = []
        self.t0 = time.monotonic()

    def event(self, name: str, what: str):
        with self.lock:
            self.events.append((time.monotonic() - self.t0, name, what))

    def set(self, name: str, parts: frozenset):
        with self.lock:
            if self.owned.get(name) != parts:
                self.owned[name] = parts
                self.last_change = time.monotonic()

    def remove(self, name: str):
        with self.lock:
            if self.owned.pop(name, None) is not None:
                self.last_change = time.monotonic()

    def touch(self):
        """A change the assignments do not show yet (a member left, re-subscribed...)."""
        with self.lock:
            self.last_change = time.monotonic()

    def snapshot(self):
        with self.lock:
            return dict(self.owned), self.last_change

    def history(self, last: int = 60) -> str:
        with self.lock:
            return "\n".join(f"{t:8.3f} {n:>6} {w}" for t, n, w in self.events[-last:])


def balanced(owned: dict[str, frozenset], topic: str, partitions: int) -> bool:
    """Every partition of `topic` owned by exactly one consumer, and the counts even (they
    differ by at most one, as cooperative-sticky leaves them when every consumer has the same
    subscription): with no more consumers than partitions every consumer owns at least one,
    with more none owns two (so a first consumer still holding everything is not stable)."""
    mine = {n: sorted(p for t, p in parts if t == topic) for n, parts in owned.items()}
    flat = sorted(p for ps in mine.values() for p in ps)
    if flat != list(range(partitions)):
        return False
    counts = [len(ps) for ps in mine.values()]
    return not counts or max(counts) - min(counts) <= 1


def describe(owned: dict[str, frozenset], topic: str) -> str:
    return ", ".join(f"{n}:{sorted(p for t, p in parts if t == topic)}" for n, parts in sorted(owned.items()))


class Member(threading.Thread):
    """One consumer in its own thread. The rebalance callbacks call incremental_assign /
    incremental_unassign, as librdkafka requires with a cooperative assignor. Commands are
    queued to the thread, which alone touches its Consumer."""

    def __init__(self, name: str, bootstrap: str, group: str, topics: list[str], tracker: Tracker,
                 extra: dict | None = None):
        super().__init__(name=f"consumer-{name}", daemon=True)
        self.member = name
        self.tracker = tracker
        self.topics = topics
        self.commands: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": name,
            "partition.assignment.strategy": "cooperative-sticky",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            **(extra or {}),
        }

    def on_assign(self, consumer, partitions):
        self.tracker.event(self.member, f"assign {sorted(p.partition for p in partitions)}")
        consumer.incremental_assign(partitions)

    def on_revoke(self, consumer, partitions):
        self.tracker.event(self.member, f"revoke {sorted(p.partition for p in partitions)}")
        consumer.incremental_unassign(partitions)

    def on_lost(self, consumer, partitions):
        self.tracker.event(self.member, f"lost {sorted(p.partition for p in partitions)}")
        consumer.incremental_unassign(partitions)

    def subscribe(self, consumer, topics):
        self.tracker.event(self.member, f"subscribe {topics}")
        consumer.subscribe(topics, on_assign=self.on_assign, on_revoke=self.on_revoke, on_lost=self.on_lost)

    def run(self):
        try:
            consumer = Consumer(self.conf)
            self.subscribe(consumer, self.topics)
            while True:
                try:
                    command = self.commands.get_nowait()
                except queue.Empty:
                    command = None
                if command == "close":
                    break
                if command == "unsubscribe":
                    self.tracker.event(self.member, "unsubscribe")
                    consumer.unsubscribe()
                elif isinstance(command, list):
                    self.subscribe(consumer, command)
                msg = consumer.poll(0.05)
                if msg is not None and msg.error() and msg.error().fatal():
                    raise KafkaException(msg.error())
                self.tracker.set(self.member, frozenset((tp.topic, tp.partition) for tp in consumer.assignment()))
            self.tracker.event(self.member, "close")
            consumer.close()
        except BaseException as e:  # reported by the caller
            self.error = e
            self.tracker.event(self.member, f"error {e!r}")
        finally:
            self.tracker.remove(self.member)

    def send(self, command):
        self.tracker.touch()
        self.commands.put(command)


class Group:
    """A set of `Member`s of one group on one topic."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, extra: dict | None = None,
                 group: str | None = None):
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = partitions
        self.extra = extra or {}
        self.group = group or f"rebalance-{uuid.uuid4().hex[:8]}"
        self.tracker = Tracker()
        self.members: dict[str, Member] = {}
        self.count = 0

    def start(self, n: int = 1) -> list[str]:
        names = []
        for _ in range(n):
            self.count += 1
            name = f"c{self.count}"
            m = Member(name, self.bootstrap, self.group, [self.topic], self.tracker, self.extra)
            self.members[name] = m
            self.tracker.touch()
            m.start()
            names.append(name)
        return names

    def close(self, name: str, wait: bool = False):
        m = self.members.pop(name)
        m.send("close")
        if wait:
            m.join(60)

    def resubscribe(self, name: str, pause: float = 0.2):
        m = self.members[name]
        m.send("unsubscribe")
        time.sleep(pause)
        m.send([self.topic])

    def detour(self, name: str, other: str, pause: float = 0.3):
        """Subscribe to the topic and `other`, then back to the topic alone."""
        m = self.members[name]
        m.send([self.topic, other])
        time.sleep(pause)
        m.send([self.topic])

    def wait_stable(self, since: float, timeout: float, quiet: float = 1.5) -> float | None:
        """Seconds from `since` to the start of the first stable period that lasts `quiet`
        seconds (measured at the last assignment change), or None after `timeout`."""
        deadline = since + timeout
        while time.monotonic() < deadline:
            owned, last = self.tracker.snapshot()
            live = {n: owned.get(n, frozenset()) for n in self.members}
            now = time.monotonic()
            if balanced(live, self.topic, self.partitions) and now - last >= quiet:
                return max(0.0, last - since)
            self.raise_errors()
            time.sleep(0.05)
        return None

    def raise_errors(self):
        for m in self.members.values():
            if m.error is not None:
                raise RuntimeError(f"consumer {m.member} failed: {m.error!r}")

    def state(self) -> str:
        owned, _ = self.tracker.snapshot()
        return describe({n: owned.get(n, frozenset()) for n in self.members}, self.topic)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        stopping = list(self.members.values())
        for name in list(self.members):
            self.close(name)
        for m in stopping:
            m.join(30)


def create_topic(bootstrap: str, topic: str, partitions: int):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        md = admin.list_topics(topic, timeout=10).topics.get(topic)
        if md is not None and md.error is None and len(md.partitions) == partitions:
            return
        time.sleep(0.1)
    raise RuntimeError(f"topic {topic} has no metadata for {partitions} partitions")


def churn_round(g: Group, rng: random.Random, other: str):
    """Some members leave, new ones join, others re-subscribe, in quick succession (~2 s)."""
    n = len(g.members)
    k = max(1, n // 4)
    names = list(g.members)
    rng.shuffle(names)
    leaving, resubscribing, detouring = names[:k], names[k:2 * k], names[2 * k:3 * k]
    for name in leaving:
        g.close(name)
        time.sleep(rng.uniform(0.05, 0.3))
    g.start(len(leaving))
    for name in resubscribing:
        g.resubscribe(name, pause=rng.uniform(0.1, 0.4))
    for name in detouring:
        g.detour(name, other, pause=rng.uniform(0.2, 0.5))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--consumers", type=int, required=True)
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--topic", default=None, help="default: a fresh rebalance-<random>")
    ap.add_argument("--churn", type=int, default=2, help="churn rounds after the first stable assignment")
    ap.add_argument("--quiet", type=float, default=1.5, help="seconds without change that count as stable")
    ap.add_argument("--timeout", type=float, default=120, help="per phase")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--consumer-config", nargs="*", default=[], metavar="KEY=VALUE")
    a = ap.parse_args()

    extra = dict(kv.split("=", 1) for kv in a.consumer_config)
    topic = a.topic or f"rebalance-{uuid.uuid4().hex[:8]}"
    other = topic + "-other"
    try:
        create_topic(a.bootstrap, topic, a.partitions)
        create_topic(a.bootstrap, other, 2)
    except Exception as e:
        log(f"cannot create topics on {a.bootstrap}: {e}")
        return 2

    rng = random.Random(a.seed)
    result = {"consumers": a.consumers, "partitions": a.partitions, "seconds_to_stable": None,
              "churn_seconds_to_stable": [], "max_churn_seconds_to_stable": None, "ok": False}
    with Group(a.bootstrap, topic, a.partitions, extra) as g:
        start = time.monotonic()
        g.start(a.consumers)
        first = g.wait_stable(start, a.timeout, a.quiet)
        result["seconds_to_stable"] = None if first is None else round(first, 3)
        log(f"{a.consumers} consumers: stable after {first} s: {g.state()}")
        ok = first is not None
        for i in range(a.churn if ok else 0):
            churn_round(g, rng, other)
            t = g.wait_stable(time.monotonic(), a.timeout, a.quiet)
            result["churn_seconds_to_stable"].append(None if t is None else round(t, 3))
            log(f"churn {i + 1}: stable after {t} s: {g.state()}")
            if t is None:
                ok = False
                break
        churn = result["churn_seconds_to_stable"]
        if churn and None not in churn:
            result["max_churn_seconds_to_stable"] = max(churn)
        result["ok"] = ok
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
