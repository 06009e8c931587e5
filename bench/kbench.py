#!/usr/bin/env python3
"""kbench: broker-agnostic Kafka throughput / latency benchmark (confluent-kafka / librdkafka).

Weir's copy of ../shared/bench/kbench.py, extended for `make bench` (bench/run.py): with
--broker-pid it reports, for every scenario, the broker's CPU seconds, CPU seconds per MB and
peak RSS over that scenario (from /proc; the peak is reset per scenario through
/proc/PID/clear_refs), and the client's own CPU seconds (librdkafka threads included);
--broker-pid P1,P2,P3 (a cluster) sums the brokers' CPU and reports the largest peak RSS.
--replication-factor creates the topics with that many replicas (the cluster part).
The consumer polls with a 50 ms timeout instead of 500 ms, and sets librdkafka's
fetch.queue.backoff.ms (--fetch-queue-backoff-ms, default 10 here, librdkafka's is 1000): see
consume(). Everything else is unchanged, and Weir and the peer are measured by this same code.

Works against any Kafka-protocol broker (Weir, Tansu, Apache Kafka, Redpanda, ...).
For every producer scenario it creates a fresh topic <topic>-<tag> (AdminClient,
--partitions, --replication-factor, default 1), produces N records, then reads them all back from the beginning
with a consumer (assign() at OFFSET_BEGINNING, no group join) and checks the count.
Then a fixed-rate produce-latency scenario.  One JSON object per scenario on stdout,
then a one-line summary ("SUMMARY ...").  Every step is bounded by timeouts; the whole
run is also bounded by --max-seconds (SIGALRM -> exit 3).

Exit status: 0 all scenarios ok, 1 some scenario failed (error/count mismatch/timeout),
2 bad usage / broker unreachable, 3 global timeout.

Usage: python kbench.py --bootstrap 127.0.0.1:9092 --topic kbench --partitions 3
       [--only produce|latency] [--quick] [--sizes 1000000x100,300000x1024]
       [--acks 1,all] [--compression none,lz4] [--keep-topics] [--no-consume]
"""
import argparse, json, os, random, signal, statistics, string, struct, sys, time, uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic


def log(*a):
    print("[kbench]", *a, file=sys.stderr, flush=True)


def emit(obj):
    print(json.dumps(obj, sort_keys=False), flush=True)


class ProcWatch:
    """CPU seconds and peak RSS of the broker (or brokers: their CPU summed, the largest peak
    RSS, as a cluster's cost is all of its brokers' work) and of this client over one scenario."""

    def __init__(self, pids):
        self.pids = pids or []
        self.tick = os.sysconf("SC_CLK_TCK")

    def _cpu(self):
        total = 0.0
        for pid in self.pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / self.tick
            except (OSError, IndexError, ValueError):
                return None
        return total

    def _status_kb(self, key):
        vals = []
        for pid in self.pids:
            try:
                with open(f"/proc/{pid}/status") as f:
                    vals += [int(line.split()[1]) for line in f if line.startswith(key)]
            except (OSError, ValueError):
                pass
        return max(vals) if vals else None

    def start(self):
        self.client0 = time.process_time()
        if self.pids:
            for pid in self.pids:
                try:  # "5": reset the peak RSS (VmHWM) to the current RSS (Linux >= 4.0)
                    with open(f"/proc/{pid}/clear_refs", "w") as f:
                        f.write("5")
                except OSError:
                    pass
            self.cpu0 = self._cpu()
        return self

    def stop(self, payload_bytes=0):
        out = {"client_cpu_s": round(time.process_time() - self.client0, 2)}
        if self.pids and self.cpu0 is not None:
            cpu = self._cpu()
            hwm, rss = self._status_kb("VmHWM:"), self._status_kb("VmRSS:")
            if cpu is not None:
                out["broker_cpu_s"] = round(cpu - self.cpu0, 2)
                if payload_bytes:
                    out["broker_cpu_s_per_MB"] = round((cpu - self.cpu0) / (payload_bytes / 1e6), 5)
            if hwm is not None:
                out["broker_peak_rss_mb"] = round(hwm / 1024, 1)
            if rss is not None:
                out["broker_rss_mb"] = round(rss / 1024, 1)
        if payload_bytes:
            out["client_cpu_s_per_MB"] = round(out["client_cpu_s"] / (payload_bytes / 1e6), 5)
        return out


def payload_pool(size, n=1024, seed=42):
    """Like kafka-producer-perf-test: random uppercase letters (compressible ~40% by lz4
    entropy-wise, not trivially).  A pool of distinct payloads, cycled."""
    rnd = random.Random(seed)
    letters = string.ascii_uppercase.encode()
    return [bytes(rnd.choice(letters) for _ in range(size)) for _ in range(n)]


class Bench:
    def __init__(self, a):
        self.a = a
        self.base = {"bootstrap.servers": a.bootstrap, "broker.address.family": a.address_family,
                     "socket.timeout.ms": 30000}
        # --client-config security.protocol=SSL …: every client of the run (admin, producers, consumers).
        for item in a.client_config:
            key, _, value = item.partition("=")
            self.base[key] = value
        self.admin = AdminClient(dict(self.base))
        self.results = []

    # ---------------------------------------------------------------- topics
    def create_topic(self, name):
        rf = self.a.replication_factor
        fs = self.admin.create_topics([NewTopic(name, self.a.partitions, rf)], operation_timeout=30, request_timeout=30)
        try:
            fs[name].result(timeout=40)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            log(f"topic {name} already exists (reusing; counts may be off)")
        # wait until metadata shows all partitions with a leader and (replicated) a full ISR, so
        # that acks=all is measured against every replica from the first record
        deadline = time.time() + 30
        while time.time() < deadline:
            md = self.admin.list_topics(topic=name, timeout=10)
            tm = md.topics.get(name)
            if tm and not tm.error and len(tm.partitions) == self.a.partitions and all(
                    p.leader >= 0 and len(p.isrs) >= rf for p in tm.partitions.values()):
                return
            time.sleep(0.2)
        raise RuntimeError(f"topic {name}: partitions/leaders/ISR not visible in metadata within 30 s")

    def delete_topic(self, name):
        if self.a.keep_topics:
            return
        try:
            self.admin.delete_topics([name], operation_timeout=30)[name].result(timeout=40)
        except Exception as e:  # best effort
            log(f"delete {name}: {e}")

    # -------------------------------------------------------------- produce
    def produce(self, topic, n, size, acks, compression):
        conf = dict(self.base, **{
            "acks": acks, "compression.type": compression, "linger.ms": self.a.linger_ms,
            "batch.size": self.a.batch_size, "queue.buffering.max.messages": 1000000,
            "queue.buffering.max.kbytes": 1048576, "enable.idempotence": False,
            "delivery.report.only.error": True, "message.timeout.ms": int(self.a.flush_timeout * 1000),
        })
        errors = {"n": 0, "first": None}

        def on_err(err, msg):
            if err is not None:
                errors["n"] += 1
                errors["first"] = errors["first"] or str(err)

        conf["on_delivery"] = on_err
        p = Producer(conf)
        # warm-up: metadata + connection, not timed
        p.list_topics(topic=topic, timeout=10)
        pool = payload_pool(size)
        pl = len(pool)
        prod = p.produce
        t0 = time.perf_counter()
        i = 0
        while i < n:
            try:
                prod(topic, pool[i % pl])
                i += 1
                if (i & 0x3FFF) == 0:
                    p.poll(0)
            except BufferError:
                p.poll(0.005)
            if (i & 0xFFFF) == 0 and time.perf_counter() - t0 > self.a.flush_timeout:
                break
        t_enq = time.perf_counter()
        remaining = p.flush(max(1.0, self.a.flush_timeout - (t_enq - t0)))
        t1 = time.perf_counter()
        dt = t1 - t0
        delivered = i - remaining - errors["n"]
        ok = delivered == n and remaining == 0 and errors["n"] == 0
        return {
            "ok": ok, "records": n, "record_bytes": size, "delivered": delivered,
            "undelivered_at_timeout": remaining, "delivery_errors": errors["n"], "first_error": errors["first"],
            "seconds": round(dt, 3), "records_per_s": round(delivered / dt), "MB_per_s": round(delivered * size / dt / 1e6, 2),
            "enqueue_seconds": round(t_enq - t0, 3),
        }

    # -------------------------------------------------------------- consume
    def consume(self, topic, n, size):
        c = Consumer(dict(self.base, **{
            "group.id": f"kbench-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "enable.partition.eof": False,
            "fetch.max.bytes": 52428800, "max.partition.fetch.bytes": 10485760,
            "queued.max.messages.kbytes": 262144,
            # librdkafka stops fetching a partition for fetch.queue.backoff.ms (default 1 s) once
            # the application's queue holds more than queued.min.messages (100,000): a broker that
            # delivers faster than this Python loop drains stalls for a whole second each time,
            # which measures the client's flow control, not the broker. librdkafka's docs advise
            # lowering it when "experiencing long (~1s) delays between messages".
            "fetch.queue.backoff.ms": self.a.fetch_queue_backoff_ms,
        }))
        try:
            c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(self.a.partitions)])
            got = nbytes = errs = 0
            first_err = None
            t0 = time.perf_counter()
            t_first = None
            last_progress = t0
            deadline = t0 + self.a.consume_timeout
            while got < n:
                now = time.perf_counter()
                if now > deadline or now - last_progress > self.a.idle_timeout:
                    break
                # 50 ms, not the shared harness's 500 ms: consume() waits for a full batch of
                # 10,000 or the timeout, so a 0.5 s timeout added up to 0.5 s of idle start-up
                # to every consume figure (for every broker alike).
                msgs = c.consume(num_messages=10000, timeout=0.05)
                if not msgs:
                    continue
                for m in msgs:
                    if m.error():
                        errs += 1
                        first_err = first_err or str(m.error())
                        continue
                    got += 1
                    nbytes += len(m.value() or b"")
                if t_first is None:
                    t_first = now
                last_progress = time.perf_counter()
            t1 = time.perf_counter()
        finally:
            c.close()
        dt = t1 - t0
        dt2 = (t1 - t_first) if t_first else 0
        ok = got == n and nbytes == n * size
        return {
            "ok": ok, "records_expected": n, "records_read": got, "bytes_read": nbytes, "consume_errors": errs,
            "first_error": first_err, "seconds": round(dt, 3),
            "first_record_after_s": round(t_first - t0, 3) if t_first else None,
            "records_per_s": round(got / dt) if dt else 0, "MB_per_s": round(nbytes / dt / 1e6, 2) if dt else 0,
            # excluding the start-up (ListOffsets + first empty fetch wait)
            "records_per_s_after_first": round(got / dt2) if dt2 > 0 else None,
            "MB_per_s_after_first": round(nbytes / dt2 / 1e6, 2) if dt2 > 0 else None,
        }

    # -------------------------------------------------------------- latency
    def latency(self, topic):
        rate, secs, size = self.a.lat_rate, self.a.lat_seconds, self.a.lat_size
        lat_lib, lat_cb = [], []
        errors = {"n": 0, "first": None}
        clock = time.perf_counter_ns

        def cb(err, msg):
            now = clock()
            if err is not None:
                errors["n"] += 1
                errors["first"] = errors["first"] or str(err)
                return
            lat_cb.append(now - struct.unpack_from(">q", msg.value())[0])
            lib = msg.latency()
            if lib is not None and lib >= 0:
                lat_lib.append(lib)

        p = Producer(dict(self.base, **{
            "acks": "all", "linger.ms": 0, "compression.type": "none", "enable.idempotence": False,
            "message.timeout.ms": 30000, "on_delivery": cb}))
        p.list_topics(topic=topic, timeout=10)
        pad = b"x" * max(0, size - 8)
        total = int(rate * secs)
        sent = 0
        t0 = time.perf_counter()
        while sent < total:
            el = time.perf_counter() - t0
            due = min(total, int(el * rate) + 1)
            while sent < due:
                try:
                    p.produce(topic, struct.pack(">q", clock()) + pad)
                    sent += 1
                except BufferError:
                    break
            p.poll(0)
            if el > secs * 3 + 10:
                break
            # sleep a little until the next record is due (~1 ms granularity)
            nxt = (sent / rate) - (time.perf_counter() - t0)
            if nxt > 0.0005:
                time.sleep(min(nxt, 0.001))
        t_sent = time.perf_counter()
        remaining = p.flush(30)
        achieved = sent / (t_sent - t0)

        def pct(vals, q):
            if not vals:
                return None
            s = sorted(vals)
            return s[min(len(s) - 1, int(q * len(s)))]

        def summary(vals, scale):
            if not vals:
                return None
            return {"p50": round(pct(vals, 0.50) * scale, 3), "p99": round(pct(vals, 0.99) * scale, 3),
                    "p99_9": round(pct(vals, 0.999) * scale, 3), "max": round(max(vals) * scale, 3),
                    "mean": round(statistics.fmean(vals) * scale, 3)}

        ok = remaining == 0 and errors["n"] == 0 and len(lat_cb) == sent and sent == total
        return {
            "ok": ok, "target_rate": rate, "achieved_send_rate": round(achieved), "seconds": secs, "record_bytes": size,
            "sent": sent, "acked": len(lat_cb), "delivery_errors": errors["n"], "first_error": errors["first"],
            "undelivered_at_timeout": remaining,
            # librdkafka's own measure (produce() call -> broker ack seen by the client's broker thread)
            "latency_ms": summary(lat_lib, 1e3),
            # produce() call -> Python delivery callback (adds poll-loop scheduling delay, <= ~1 ms)
            "latency_ms_callback": summary(lat_cb, 1e-6),
        }

    # -------------------------------------------------------------- driver
    def run(self):
        a = self.a
        tag = a.run_id
        for n, size in a.sizes:
            for acks in a.acks:
                for comp in a.compression:
                    if a.only not in (None, "produce"):
                        continue
                    name = f"{a.topic}-{tag}-{size}b-acks{acks}-{comp}"
                    scen = f"produce n={n} size={size} acks={acks} compression={comp}"
                    res = {"scenario": "produce", "topic": name, "partitions": a.partitions,
                           "replication_factor": a.replication_factor, "acks": acks,
                           "compression": comp, "linger_ms": a.linger_ms, "batch_size": a.batch_size}
                    try:
                        self.create_topic(name)
                        log(scen)
                        w = ProcWatch(a.broker_pid).start()
                        res.update(self.produce(name, n, size, acks, comp))
                        res.update(w.stop(res.get("delivered", 0) * size))
                        emit(res)
                        self.results.append(res)
                        if a.no_consume:
                            continue
                        cres = {"scenario": "consume", "topic": name, "partitions": a.partitions,
                                "produced_with": f"acks={acks},compression={comp}", "record_bytes": size}
                        if res["delivered"] > 0:
                            log(f"consume {name}")
                            w = ProcWatch(a.broker_pid).start()
                            cres.update(self.consume(name, res["delivered"], size))
                            cres.update(w.stop(cres.get("bytes_read", 0)))
                        else:
                            cres.update(ok=False, error="nothing delivered")
                        emit(cres)
                        self.results.append(cres)
                    except Exception as e:
                        res.update(ok=False, error=repr(e))
                        emit(res)
                        self.results.append(res)
                    finally:
                        self.delete_topic(name)
        if a.only in (None, "latency"):
            name = f"{a.topic}-{tag}-latency"
            res = {"scenario": "latency", "topic": name, "partitions": a.partitions,
                   "replication_factor": a.replication_factor, "acks": "all", "linger_ms": 0}
            try:
                self.create_topic(name)
                log(f"latency {a.lat_rate}/s x {a.lat_seconds}s")
                w = ProcWatch(a.broker_pid).start()
                res.update(self.latency(name))
                res.update(w.stop(res.get("acked", 0) * a.lat_size))
            except Exception as e:
                res.update(ok=False, error=repr(e))
            emit(res)
            self.results.append(res)
            self.delete_topic(name)
        return self.summary()

    def summary(self):
        parts, ok = [], True
        for r in self.results:
            ok = ok and bool(r.get("ok"))
            if r["scenario"] == "produce":
                parts.append(f"P[{r.get('record_bytes')}B acks={r['acks']} {r['compression']}]="
                             f"{r.get('records_per_s', '-')}r/s,{r.get('MB_per_s', '-')}MB/s")
            elif r["scenario"] == "consume":
                parts.append(f"C[{r.get('record_bytes')}B {r['produced_with']}]="
                             f"{r.get('records_per_s', '-')}r/s,{r.get('MB_per_s', '-')}MB/s"
                             f"{'' if r.get('ok') else ',COUNT-MISMATCH'}")
            elif r["scenario"] == "latency":
                lm = r.get("latency_ms") or {}
                parts.append(f"L[{r.get('achieved_send_rate', '-')}/s acks=all]=p50 {lm.get('p50')} p99 {lm.get('p99')} "
                             f"p99.9 {lm.get('p99_9')} ms")
        print(f"SUMMARY {'OK' if ok else 'FAIL'} bootstrap={self.a.bootstrap} partitions={self.a.partitions} | "
              + " | ".join(parts), flush=True)
        return 0 if ok else 1


def parse_sizes(s):
    out = []
    for item in s.split(","):
        n, b = item.lower().split("x")
        out.append((int(n), int(b)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", "-b", required=True)
    ap.add_argument("--topic", "-t", default="kbench", help="topic name prefix (one topic per scenario)")
    ap.add_argument("--partitions", "-p", type=int, default=1)
    ap.add_argument("--replication-factor", type=int, default=1, help="replicas of each topic kbench creates")
    ap.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1000000x100,300000x1024"),
                    help="comma list of NxBYTES (default 1000000x100,300000x1024)")
    ap.add_argument("--acks", type=lambda s: s.split(","), default=["1", "all"])
    ap.add_argument("--compression", type=lambda s: s.split(","), default=["none", "lz4"])
    ap.add_argument("--linger-ms", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=1048576)
    ap.add_argument("--lat-rate", type=int, default=20000)
    ap.add_argument("--lat-seconds", type=float, default=10.0)
    ap.add_argument("--lat-size", type=int, default=100)
    ap.add_argument("--only", choices=["produce", "latency"], default=None)
    ap.add_argument("--quick", action="store_true", help="10x fewer records, 3 s latency run (smoke test)")
    ap.add_argument("--flush-timeout", type=float, default=120.0, help="per produce scenario, seconds")
    ap.add_argument("--consume-timeout", type=float, default=120.0, help="per consume scenario, seconds")
    ap.add_argument("--idle-timeout", type=float, default=15.0, help="consumer gives up after this long without records")
    ap.add_argument("--max-seconds", type=float, default=1800.0, help="hard bound on the whole run")
    ap.add_argument("--address-family", default="v4", choices=["any", "v4", "v6"])
    ap.add_argument("--keep-topics", action="store_true")
    ap.add_argument("--client-config", action="append", default=[], metavar="KEY=VALUE",
                    help="librdkafka property for every client (repeatable), e.g. security.protocol=SSL")
    ap.add_argument("--no-consume", action="store_true",
                    help="produce only, no read-back (with --keep-topics: topics for another consumer)")
    ap.add_argument("--fetch-queue-backoff-ms", type=int, default=10,
                    help="consumer fetch.queue.backoff.ms (librdkafka's default is 1000)")
    ap.add_argument("--broker-pid", type=lambda s: [int(p) for p in s.split(",") if p], default=[],
                    help="report this process's CPU seconds and peak RSS per scenario (/proc); "
                         "a comma list (a cluster's brokers): CPU summed, the largest peak RSS")
    ap.add_argument("--run-id", default=uuid.uuid4().hex[:6], help="suffix making topic names unique per run")
    a = ap.parse_args()
    if a.quick:
        a.sizes = [(max(1, n // 10), b) for n, b in a.sizes]
        a.lat_seconds = 3.0

    def on_alarm(*_):
        print(f"SUMMARY FAIL global timeout after {a.max_seconds} s", flush=True)
        os._exit(3)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(a.max_seconds))

    b = Bench(a)
    try:
        md = b.admin.list_topics(timeout=15)
        log(f"connected: {len(md.brokers)} broker(s), cluster_id={md.cluster_id}")
    except KafkaException as e:
        print(f"SUMMARY FAIL cannot reach {a.bootstrap}: {e}", flush=True)
        return 2
    emit({"scenario": "meta", "bootstrap": a.bootstrap, "partitions": a.partitions,
          "replication_factor": a.replication_factor, "brokers": len(md.brokers),
          "client": f"confluent-kafka {__import__('confluent_kafka').version()[0]} / librdkafka "
                    f"{__import__('confluent_kafka').libversion()[0]}",
          "cpus": os.cpu_count(), "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
          "sizes": a.sizes, "acks": a.acks, "compression": a.compression, "batch_size": a.batch_size,
          "linger_ms": a.linger_ms, "consumer_fetch_queue_backoff_ms": a.fetch_queue_backoff_ms})
    return b.run()


if __name__ == "__main__":
    sys.exit(main())
