"""The `weir` command-line tools (topics, console-producer, console-consumer, consumer-groups):
exact output formats and the behaviour the conformance suite does not cover, cross-checked
with confluent-kafka and kafka-python."""
from __future__ import annotations

import re
import signal
import subprocess
import time

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from conftest import ROOT, WEIR, create_topic

TOPIC_ID = r"[A-Za-z0-9_-]{22}"


def weir(args, *, input=None, check=True, timeout=60):
    cp = subprocess.run([str(WEIR), *args], input=input, capture_output=True, timeout=timeout, cwd=ROOT,
                        stdin=None if input is not None else subprocess.DEVNULL)
    if check:
        assert cp.returncode == 0, f"weir {' '.join(args)} exited {cp.returncode}\nstdout: {cp.stdout!r}\n" \
                                   f"stderr: {cp.stderr!r}"
    return cp


def out_lines(cp):
    return cp.stdout.decode("utf-8").splitlines()


def read_records(bootstrap, topic, partitions, count, timeout=30):
    """[(partition, offset, key, value, headers)] of `count` records, sorted by (partition, offset)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "cli-test-reader", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        for m in c.consume(1000, 0.2):
            assert not m.error(), m.error()
            got.append((m.partition(), m.offset(), m.key(), m.value(), m.headers()))
    c.close()
    assert len(got) == count, f"read {len(got)} of {count} records from {topic}"
    return sorted(got, key=lambda r: (r[0], r[1]))


def topic_configs(bootstrap, topic):
    res = ConfigResource(ResourceType.TOPIC, topic)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return admin.describe_configs([res])[res].result(20)


def test_topics_describe_list_and_errors(broker):
    bs = ["--bootstrap-server", broker.bootstrap]
    weir(["topics", *bs, "--create", "--topic", "alpha", "--partitions", "3", "--replication-factor", "1",
          "--config", "retention.ms=3600000", "--config", "cleanup.policy=delete"])
    cp = weir(["topics", *bs, "--create", "--topic", "beta"])
    assert out_lines(cp) == ["Created topic beta."]

    assert out_lines(weir(["topics", *bs, "--list"])) == ["alpha", "beta"]

    lines = out_lines(weir(["topics", *bs, "--describe"]))
    assert len(lines) == 6, lines
    m = re.fullmatch(rf"Topic: alpha\tTopicId: ({TOPIC_ID})\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: (.*)",
                     lines[0])
    assert m, lines[0]
    configs = dict(kv.split("=", 1) for kv in m.group(2).split(","))
    assert configs.get("retention.ms") == "3600000" and configs.get("cleanup.policy") == "delete", configs
    assert lines[1:4] == [f"\tTopic: alpha\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1" for p in range(3)]
    m = re.fullmatch(rf"Topic: beta\tTopicId: ({TOPIC_ID})\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: (.*)",
                     lines[4])
    assert m and "retention.ms" not in m.group(2), lines[4]
    assert lines[5] == "\tTopic: beta\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1"

    # --topic selects one topic; a pattern selects by regular expression.
    assert out_lines(weir(["topics", *bs, "--describe", "--topic", "beta"]))[0].startswith("Topic: beta\t")
    assert [l.split("\t")[0] for l in out_lines(weir(["topics", *bs, "--describe", "--topic", "al.*"]))
            if not l.startswith("\t")] == ["Topic: alpha"]

    # Errors: one line on stderr, exit status 1; --if-not-exists / --if-exists make them no-ops.
    dup = weir(["topics", *bs, "--create", "--topic", "alpha", "--partitions", "3"], check=False)
    assert dup.returncode == 1 and dup.stdout == b""
    assert dup.stderr.decode().strip() == "Error while executing topic command : Topic 'alpha' already exists."
    assert weir(["topics", *bs, "--create", "--topic", "alpha", "--if-not-exists"]).stdout == b""
    missing = weir(["topics", *bs, "--describe", "--topic", "nope"], check=False)
    assert missing.returncode == 1
    assert missing.stderr.decode().strip() == "Error while executing topic command : Topic 'nope' does not exist as expected"
    assert weir(["topics", *bs, "--delete", "--topic", "nope"], check=False).returncode == 1
    assert weir(["topics", *bs, "--delete", "--topic", "nope", "--if-exists"]).returncode == 0
    assert weir(["topics", *bs, "--list", "--describe"], check=False).returncode == 1
    unreachable = weir(["topics", "--bootstrap-server", "127.0.0.1:1", "--list"], check=False, timeout=40)
    assert unreachable.returncode == 1 and len(unreachable.stderr.decode().strip().splitlines()) == 1

    weir(["topics", *bs, "--delete", "--topic", "beta"])
    assert out_lines(weir(["topics", *bs, "--list"])) == ["alpha"]


def test_topics_alter_partitions_and_configs(broker):
    bs = ["--bootstrap-server", broker.bootstrap]
    weir(["topics", *bs, "--create", "--topic", "grow", "--partitions", "1"])
    weir(["topics", *bs, "--alter", "--topic", "grow", "--partitions", "4"])
    desc = out_lines(weir(["topics", *bs, "--describe", "--topic", "grow"]))
    assert "\tPartitionCount: 4\t" in desc[0], desc
    assert [l.split("\t")[2] for l in desc[1:]] == [f"Partition: {p}" for p in range(4)]
    md = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10)
    assert sorted(md.topics["grow"].partitions) == [0, 1, 2, 3]

    # Shrinking is refused by the broker: exit 1 with its message.
    shrink = weir(["topics", *bs, "--alter", "--topic", "grow", "--partitions", "2"], check=False)
    assert shrink.returncode == 1 and shrink.stderr.decode().startswith("Error while executing topic command : ")

    cp = weir(["topics", *bs, "--alter", "--topic", "grow", "--config", "retention.ms=7200000",
               "--config", "max.message.bytes=2000000"])
    assert out_lines(cp) == ["Completed updating config for topic grow."]
    cfg = topic_configs(broker.bootstrap, "grow")
    assert cfg["retention.ms"].value == "7200000" and cfg["max.message.bytes"].value == "2000000"
    configs = re.search(r"\tConfigs: (.*)$", out_lines(weir(["topics", *bs, "--describe", "--topic", "grow"]))[0])
    assert {"retention.ms=7200000", "max.message.bytes=2000000"} <= set(configs.group(1).split(","))

    weir(["topics", *bs, "--alter", "--topic", "grow", "--delete-config", "retention.ms"])
    cfg = topic_configs(broker.bootstrap, "grow")
    assert cfg["retention.ms"].is_default and cfg["max.message.bytes"].value == "2000000"

    bad = weir(["topics", *bs, "--alter", "--topic", "gone", "--partitions", "3"], check=False)
    assert bad.returncode == 1 and "does not exist" in bad.stderr.decode()
    assert weir(["topics", *bs, "--alter", "--topic", "gone", "--partitions", "3", "--if-exists"]).returncode == 0


def murmur2(data: bytes) -> int:
    """Kafka's `Utils.murmur2` (the Java default partitioner's hash), as a signed 32-bit int."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    h = (0x9747B28C ^ len(data)) & mask
    n4 = len(data) // 4
    for i in range(n4):
        k = (int.from_bytes(data[4 * i:4 * i + 4], "little") * m) & mask
        k = ((k ^ (k >> 24)) * m) & mask
        h = ((h * m) & mask) ^ k
    tail = data[4 * n4:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h = ((h ^ tail[0]) * m) & mask
    h = ((h ^ (h >> 13)) * m) & mask
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def java_murmur2_partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def test_murmur2_reference_vectors():
    # From Kafka's UtilsTest.testMurmur2: the expectation below is only as good as this.
    assert [murmur2(k) for k in (b"21", b"foobar", b"a-little-bit-long-string", b"a-little-bit-longer-string",
                                 b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", b"abc")] == \
        [-973932308, -790332482, -985981536, -1486304829, -58897971, 479470107]


def test_console_producer_keys_headers_and_consumer_formatting(broker):
    bs = ["--bootstrap-server", broker.bootstrap]
    create_topic(broker.bootstrap, "keyed", 3)
    keys = ["21", "foobar", "a-little-bit-long-string", "abc"] + [f"user-{i}" for i in range(7)]
    lines = [f"{keys[i % len(keys)]}:value {i} ünï" for i in range(77)]
    weir(["console-producer", *bs, "--topic", "keyed", "--property", "parse.key=true", "--property", "key.separator=:"],
         input=("\n".join(lines) + "\n").encode())
    got = read_records(broker.bootstrap, "keyed", 3, len(lines))
    # Keys land where Kafka's (Java) default partitioner puts them, in produce order per partition.
    expected = {p: [] for p in range(3)}
    for line in lines:
        k, v = line.split(":", 1)
        expected[java_murmur2_partition(k.encode(), 3)].append((k.encode(), v.encode()))
    for p in range(3):
        assert [(r[2], r[3]) for r in got if r[0] == p] == expected[p], f"partition {p}"
        assert [r[1] for r in got if r[0] == p] == list(range(len(expected[p])))

    # Headers, null markers, and a line without separator refused with its line number.
    create_topic(broker.bootstrap, "headed", 1)
    weir(["console-producer", *bs, "--topic", "headed", "--property", "parse.key=true",
          "--property", "parse.headers=true", "--property", "null.marker=NULL"],
         input=b"h1:a,h2:NULL\tk1\tv1\n\tNULL\tv2\nh3:x\tk3\tNULL\n")
    got = read_records(broker.bootstrap, "headed", 1, 3)
    assert [(r[2], r[3], r[4]) for r in got] == [(b"k1", b"v1", [("h1", b"a"), ("h2", None)]),
                                                 (None, b"v2", None), (b"k3", None, [("h3", b"x")])]
    bad = weir(["console-producer", *bs, "--topic", "headed", "--property", "parse.key=true"],
               input=b"fine\tline\nno separator here\n", check=False)
    assert bad.returncode == 1 and "line number 2" in bad.stderr.decode()

    out = weir(["console-consumer", *bs, "--topic", "headed", "--from-beginning", "--max-messages", "3",
                "--property", "print.key=true", "--property", "print.offset=true", "--property", "print.partition=true",
                "--property", "print.headers=true", "--property", "key.separator= | "])
    assert out_lines(out) == ["Partition:0 | Offset:0 | h1:a,h2:null | k1 | v1",
                              "Partition:0 | Offset:1 | NO_HEADERS | null | v2",
                              "Partition:0 | Offset:2 | h3:x | k3 | null"]
    assert out.stderr.decode().strip() == "Processed a total of 3 messages"


def test_console_consumer_partition_offset_and_timeout(broker):
    bs = ["--bootstrap-server", broker.bootstrap]
    create_topic(broker.bootstrap, "seek", 2)
    weir(["console-producer", *bs, "--topic", "seek", "--compression-codec", "zstd"],
         input="".join(f"p0-{i}\n" for i in range(10)).encode())
    # Records without a key stick to one partition while its batch fills; find which.
    got = read_records(broker.bootstrap, "seek", 2, 10)
    part = got[0][0]
    assert [r[3] for r in got] == [f"p0-{i}".encode() for i in range(10)] and {r[0] for r in got} == {part}

    started = time.monotonic()
    out = weir(["console-consumer", *bs, "--topic", "seek", "--partition", str(part), "--offset", "6",
                "--timeout-ms", "1500", "--property", "print.offset=true"])
    assert out_lines(out) == [f"Offset:{i}\tp0-{i}" for i in range(6, 10)]
    assert 1.4 < time.monotonic() - started < 20

    # Without --from-beginning a consumer starts at the end: it sees only what comes later.
    later = subprocess.Popen([str(WEIR), "console-consumer", *bs, "--topic", "seek", "--max-messages", "2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT)
    time.sleep(3)  # time to look up the end offset before anything new arrives
    weir(["console-producer", *bs, "--topic", "seek"], input=b"new-1\nnew-2\n")
    stdout, stderr = later.communicate(timeout=30)
    assert later.returncode == 0, stderr
    assert stdout.decode().splitlines() == ["new-1", "new-2"]

    # Option combinations Kafka refuses.
    assert weir(["console-consumer", *bs, "--topic", "seek", "--offset", "3"], check=False).returncode == 1
    assert weir(["console-consumer", *bs, "--topic", "seek", "--group", "g", "--partition", "0"],
                check=False).returncode == 1


def test_console_consumer_group_resume_and_consumer_groups(broker):
    bs = ["--bootstrap-server", broker.bootstrap]
    create_topic(broker.bootstrap, "resume", 1)
    weir(["console-producer", *bs, "--topic", "resume"], input="".join(f"m{i}\n" for i in range(10)).encode())

    def consume(n):
        return out_lines(weir(["console-consumer", *bs, "--topic", "resume", "--group", "readers",
                               "--from-beginning", "--max-messages", str(n)]))

    assert consume(4) == [f"m{i}" for i in range(4)]
    assert consume(3) == [f"m{i}" for i in range(4, 7)]

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "readers"})
    assert [tp.offset for tp in c.committed([TopicPartition("resume", 0)], timeout=10)] == [7]
    c.close()

    assert "readers" in out_lines(weir(["consumer-groups", *bs, "--list"]))
    desc = out_lines(weir(["consumer-groups", *bs, "--describe", "--group", "readers"]))
    assert desc[:2] == ["", "Consumer group 'readers' has no active members."], desc
    assert desc[2] == ""
    assert desc[3].split() == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                               "CONSUMER-ID", "HOST", "CLIENT-ID"]
    assert desc[3].startswith("GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG")
    assert desc[4].split() == ["readers", "resume", "0", "7", "10", "3", "-", "-", "-"]

    # While a member is active the describe shows it as the owner of the partition.
    live = subprocess.Popen([str(WEIR), "console-consumer", *bs, "--topic", "resume", "--group", "readers"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT)
    try:
        row = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            rows = [l.split() for l in out_lines(weir(["consumer-groups", *bs, "--describe", "--group", "readers"]))
                    if l.startswith("readers ")]
            if rows and rows[0][6] != "-":
                row = rows[0]
                break
            time.sleep(0.3)
        assert row is not None, "the live member never showed up in --describe"
        # CURRENT-OFFSET is 7 until the member's periodic commit, then 10.
        assert row[:3] == ["readers", "resume", "0"] and row[3] in ("7", "10") and row[4] == "10"
        assert row[8] == "weir-console-consumer" and row[7].endswith("127.0.0.1")
        busy = weir(["consumer-groups", *bs, "--delete", "--group", "readers"], check=False)
        assert busy.returncode == 1 and "NON_EMPTY_GROUP" in busy.stderr.decode()
    finally:
        live.send_signal(signal.SIGINT)
        stdout, stderr = live.communicate(timeout=20)
    assert live.returncode == 0, stderr
    # It resumed at 7 and committed what it printed before leaving.
    assert stdout.decode().splitlines() == ["m7", "m8", "m9"]
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "readers"})
    assert [tp.offset for tp in c.committed([TopicPartition("resume", 0)], timeout=10)] == [10]
    c.close()

    cp = weir(["consumer-groups", *bs, "--delete", "--group", "readers"])
    assert out_lines(cp) == ["Deletion of requested consumer groups ('readers') was successful."]
    assert "readers" not in out_lines(weir(["consumer-groups", *bs, "--list"]))
    gone = weir(["consumer-groups", *bs, "--describe", "--group", "readers"], check=False)
    assert gone.returncode == 1 and "does not exist" in gone.stderr.decode()


def test_console_producer_volume_codecs_and_failures(broker):
    bs = ["--bootstrap-server", broker.bootstrap]
    create_topic(broker.bootstrap, "volume", 1)
    lines = [f"{i:06d} {'abcdefghij' * (i % 5)}" for i in range(100_000)]
    started = time.monotonic()
    weir(["console-producer", *bs, "--topic", "volume", "--compression-codec", "lz4"],
         input=("\n".join(lines) + "\n").encode(), timeout=120)
    assert time.monotonic() - started < 30, "100k lines took too long"
    out = weir(["console-consumer", *bs, "--topic", "volume", "--from-beginning", "--max-messages", "100000"],
               timeout=120)
    assert out.stdout.decode().split("\n")[:-1] == lines

    for codec in ("gzip", "snappy", "zstd", "none"):
        t = f"codec-{codec}"
        create_topic(broker.bootstrap, t, 1)
        weir(["console-producer", *bs, "--topic", t, "--compression-codec", codec, "--request-required-acks", "1"],
             input=b"one\ntwo\r\n\nfour")
        assert [r[3] for r in read_records(broker.bootstrap, t, 1, 4)] == [b"one", b"two", b"", b"four"]

    # Like Kafka's producer it lets the broker auto-create a missing topic (enabled in the config).
    weir(["console-producer", *bs, "--topic", "auto-made"], input=b"first\n")
    assert [r[3] for r in read_records(broker.bootstrap, "auto-made", 1, 1)] == [b"first"]
    invalid = weir(["console-producer", *bs, "--topic", "bad name!"], input=b"x\n", check=False)
    assert invalid.returncode == 1 and "INVALID_TOPIC_EXCEPTION" in invalid.stderr.decode()
    bad_codec = weir(["console-producer", *bs, "--topic", "volume", "--compression-codec", "brotli"],
                     input=b"x\n", check=False)
    assert bad_codec.returncode == 1 and "brotli" in bad_codec.stderr.decode()


def test_console_consumer_survives_broker_restart(broker):
    bs = ["--bootstrap-server", broker.bootstrap]
    create_topic(broker.bootstrap, "restart", 1)
    weir(["console-producer", *bs, "--topic", "restart"], input=b"before-1\nbefore-2\n")
    reader = subprocess.Popen([str(WEIR), "console-consumer", *bs, "--topic", "restart", "--from-beginning",
                               "--max-messages", "4"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT)
    try:
        time.sleep(1.5)
        assert broker.stop() == 0
        broker.start()
        weir(["console-producer", *bs, "--topic", "restart"], input=b"after-1\nafter-2\n")
        stdout, stderr = reader.communicate(timeout=30)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait(5)
    assert reader.returncode == 0, stderr
    assert stdout.decode().splitlines() == ["before-1", "before-2", "after-1", "after-2"]
