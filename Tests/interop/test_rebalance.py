"""Rebalances with real cooperative-sticky consumers (confluent-kafka / librdkafka): eight
consumers of a 16-partition topic join, leave and re-subscribe, and the group must reach a
stable assignment within a few seconds of the last change, as it does on Kafka (whose join
phase ends as soon as every known member has rejoined).

The consumer harness is bench/rebalance.py's (`Group`, `Member`): one thread per consumer,
incremental_assign/incremental_unassign in the rebalance callbacks. "Stable": every partition
owned by exactly one live consumer, counts even (each owns 2 here), no change for 1.5 s.
"""
from __future__ import annotations

import importlib.util
import random
import time

import pytest

from conftest import ROOT, create_topic

spec = importlib.util.spec_from_file_location("rebalance_bench", ROOT / "bench/rebalance.py")
rb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rb)

pytestmark = pytest.mark.timeout(120)

PARTITIONS = 16
CONSUMERS = 8
BOUND = 10.0  # seconds from the last change to a stable assignment


def assert_stable(g, since: float, what: str, broker):
    t = g.wait_stable(since, timeout=BOUND + 5)
    assert t is not None and t <= BOUND, (
        f"{what}: not stable within {BOUND} s (took {t}); assignment now: {g.state()}\n"
        f"consumer events:\n{g.tracker.history()}\nbroker log:\n{broker.log_text()[-4000:]}")
    return t


@pytest.fixture
def group_broker(broker_factory):
    return broker_factory({"group.initial.rebalance.delay.ms": 0}).start()


def test_eight_consumers_join_leave_resubscribe(group_broker):
    b = group_broker
    create_topic(b.bootstrap, "rb", PARTITIONS)
    create_topic(b.bootstrap, "rb-other", 2)
    rng = random.Random(7)
    with rb.Group(b.bootstrap, "rb", PARTITIONS) as g:
        start = time.monotonic()
        g.start(CONSUMERS)
        assert_stable(g, start, f"{CONSUMERS} consumers starting", b)

        # Consumers that come and go during a rebalance: their JoinGroup waits until every
        # member has rejoined (up to a heartbeat interval), and they close meanwhile. librdkafka
        # then sends no LeaveGroup; the broker must not make them members of the next generation
        # (they would hold partitions and the next join phase for a session timeout, 45 s).
        for _ in range(2):
            passing = g.start(2)
            time.sleep(0.5)
            for name in passing:
                g.close(name)
            assert_stable(g, time.monotonic(), "two consumers closed while joining", b)

        # Churn without waiting for the group to settle in between: members leave, new ones
        # join, others re-subscribe or change their subscription and change it back.
        for round_ in range(2):
            rb.churn_round(g, rng, "rb-other")
            assert_stable(g, time.monotonic(), f"churn round {round_ + 1}", b)
        assert len(g.members) == CONSUMERS


@pytest.mark.xfail(reason="librdkafka closes a cooperative consumer that owns no partition without a "
                          "LeaveGroup; the group then waits for its session timeout (45 s), as Kafka's "
                          "classic coordinator does. Needs the broker to drop members whose connection "
                          "closed (not done yet).", strict=False)
def test_consumers_closed_with_no_partitions(group_broker):
    b = group_broker
    create_topic(b.bootstrap, "rb", PARTITIONS)
    with rb.Group(b.bootstrap, "rb", PARTITIONS) as g:
        start = time.monotonic()
        g.start(CONSUMERS)
        assert_stable(g, start, f"{CONSUMERS} consumers starting", b)
        # Two newcomers get nothing in their first cooperative generation (the partitions must
        # be revoked first); closed then, they send no LeaveGroup.
        passing = g.start(2)
        time.sleep(2.0)
        for name in passing:
            g.close(name)
        assert_stable(g, time.monotonic(), "two consumers closed owning no partition", b)
