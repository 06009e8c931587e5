#!/usr/bin/env python3
"""txn: what transactions cost a producer and a consumer (confluent-kafka / librdkafka).

Broker-agnostic: works against any Kafka-compatible broker given a bootstrap.

Produces --records records of --record-bytes (6 partitions, lz4 off, linger 5 ms, acks=all) twice:
idempotent (enable.idempotence) and transactional (a commit every --per-txn records), then
consumes the transactional topic back from the start twice: read_uncommitted and
read_committed. Broker CPU per MB comes from /proc/<--broker-pid>/stat when given.

Prints one JSON object per line on stdout:
  {"scenario": "produce-idempotent" | "produce-transactional" | "consume-read_uncommitted" |
   "consume-read_committed", "records": N, "seconds": s, "MB_per_s": x, "broker_cpu_s_per_MB": y,
   "ok": true}
Progress goes to stderr. Exit status: 0 when every scenario moved every record, 1 otherwise.

Usage: python bench/txn.py --bootstrap 127.0.0.1:9092 [--records 200000] [--record-bytes 100]
       [--per-txn 1000] [--broker-pid PID]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def cpu_seconds(pid):
    if not pid:
        return None
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def row(scenario, records, size, seconds, cpu, ok):
    mb = records * size / 1e6
    r = {"scenario": scenario, "records": records, "seconds": round(seconds, 3),
         "MB_per_s": round(mb / seconds, 1) if seconds > 0 else None, "ok": ok}
    if cpu is not None and mb > 0:
        r["broker_cpu_s_per_MB"] = round(cpu / mb, 5)
    print(json.dumps(r), flush=True)
    print(f"[txn] {scenario}: {r['MB_per_s']} MB/s", file=sys.stderr, flush=True)
    return ok


def produce(a, topic, transactional):
    conf = {"bootstrap.servers": a.bootstrap, "linger.ms": 5, "batch.size": 16384, "acks": "all",
            "enable.idempotence": True}
    if transactional:
        conf["transactional.id"] = f"bench-{uuid.uuid4()}"
    p = Producer(conf)
    if transactional:
        p.init_transactions(30)
    payload = b"x" * a.record_bytes
    cpu0, t0 = cpu_seconds(a.broker_pid), time.monotonic()
    sent = 0
    while sent < a.records:
        n = min(a.per_txn, a.records - sent)
        if transactional:
            p.begin_transaction()
        for i in range(n):
            while True:
                try:
                    p.produce(topic, payload, partition=(sent + i) % 6)
                    break
                except BufferError:
                    p.poll(0.01)
        if transactional:
            p.commit_transaction(60)
        sent += n
    left = p.flush(60)
    seconds = time.monotonic() - t0
    cpu = None if cpu0 is None else cpu_seconds(a.broker_pid) - cpu0
    return row("produce-transactional" if transactional else "produce-idempotent", sent, a.record_bytes, seconds, cpu,
               left == 0)


def consume(a, topic, isolation):
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": f"bench-{uuid.uuid4()}", "enable.auto.commit": False,
                  "isolation.level": isolation, "fetch.queue.backoff.ms": 10})
    c.assign([TopicPartition(topic, p, 0) for p in range(6)])
    cpu0, t0 = cpu_seconds(a.broker_pid), time.monotonic()
    got, last = 0, time.monotonic()
    while got < a.records and time.monotonic() - last < 20:
        msgs = c.consume(10_000, 1.0)
        got += sum(1 for m in msgs if not m.error())
        if msgs:
            last = time.monotonic()
    seconds = time.monotonic() - t0
    cpu = None if cpu0 is None else cpu_seconds(a.broker_pid) - cpu0
    c.close()
    return row(f"consume-{isolation}", got, a.record_bytes, seconds, cpu, got == a.records)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--record-bytes", type=int, default=100)
    ap.add_argument("--per-txn", type=int, default=1000)
    ap.add_argument("--broker-pid", type=int)
    a = ap.parse_args()
    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    names = [f"txn-bench-idem-{uuid.uuid4().hex[:8]}", f"txn-bench-txn-{uuid.uuid4().hex[:8]}"]
    for f in admin.create_topics([NewTopic(n, 6, 1) for n in names]).values():
        f.result(30)
    ok = produce(a, names[0], False)
    ok = produce(a, names[1], True) and ok
    ok = consume(a, names[1], "read_uncommitted") and ok
    ok = consume(a, names[1], "read_committed") and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
