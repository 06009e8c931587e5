"""The operator tools over the Kafka protocol: consumer-groups --reset-offsets/--delete-offsets,
configs, delete-records, get-offsets. Exact output as Kafka's scripts print it, committed offsets
and watermarks cross-checked with confluent-kafka."""
from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime, timezone

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from conftest import ROOT, WEIR, create_topic


def weir(args, check=True):
    cp = subprocess.run([str(WEIR), *args], capture_output=True, timeout=60, cwd=ROOT, stdin=subprocess.DEVNULL)
    if check:
        assert cp.returncode == 0, f"weir {' '.join(args)} exited {cp.returncode}\nstdout: {cp.stdout!r}\nstderr: {cp.stderr!r}"
    return cp


def out(cp):
    return cp.stdout.decode()


def fill(bootstrap, topic="orders", partitions=2, count=10, base_ms=None):
    """`count` records per partition, record i stamped base_ms + i*1000."""
    create_topic(bootstrap, topic, partitions)
    base_ms = base_ms if base_ms is not None else int(time.time() * 1000) - 3_600_000
    p = Producer({"bootstrap.servers": bootstrap})
    for part in range(partitions):
        for i in range(count):
            p.produce(topic, value=b"v%d" % i, partition=part, timestamp=base_ms + i * 1000)
    assert p.flush(15) == 0
    return base_ms


def commit(bootstrap, group, offsets):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
    c.close()


def committed(bootstrap, group, tps):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    got = {(tp.topic, tp.partition): tp.offset for tp in c.committed([TopicPartition(t, p) for t, p in tps], timeout=10)}
    c.close()
    return got


def plan(*rows):
    """kafka-consumer-groups.sh's reset table: "%-30s %-30s %-10s %-15s", after an empty line."""
    fmt = "{:<30} {:<30} {:<10} {:<15}"
    return "\n" + "\n".join(fmt.format(*r) for r in [("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"), *rows]) + "\n"


def reset(bs, group, *args, check=True):
    return weir(["consumer-groups", *bs, "--group", group, "--reset-offsets", *args], check=check)


def test_reset_offsets_every_scenario(broker, tmp_path):
    bs = ["--bootstrap-server", broker.bootstrap]
    base = fill(broker.bootstrap)
    commit(broker.bootstrap, "billing", {("orders", 0): 4, ("orders", 1): 6})
    tps = [("orders", 0), ("orders", 1)]

    # A dry run by default: the plan, a warning on stderr, nothing committed.
    cp = reset(bs, "billing", "--topic", "orders", "--to-earliest")
    assert out(cp) == plan(("billing", "orders", 0, 0), ("billing", "orders", 1, 0))
    assert cp.stderr.decode().startswith("WARN: No action will be performed as the --execute option is missing.")
    assert committed(broker.bootstrap, "billing", tps) == {("orders", 0): 4, ("orders", 1): 6}

    assert out(reset(bs, "billing", "--all-topics", "--to-latest", "--dry-run")) == plan(
        ("billing", "orders", 0, 10), ("billing", "orders", 1, 10))
    assert out(reset(bs, "billing", "--all-topics", "--to-current", "--dry-run")) == plan(
        ("billing", "orders", 0, 4), ("billing", "orders", 1, 6))
    # --shift-by and --to-offset are clamped to [log start, log end], as Kafka does.
    assert out(reset(bs, "billing", "--all-topics", "--shift-by", "-5", "--dry-run")) == plan(
        ("billing", "orders", 0, 0), ("billing", "orders", 1, 1))
    stamp = datetime.fromtimestamp((base + 5000) / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert out(reset(bs, "billing", "--topic", "orders:1", "--to-datetime", stamp, "--dry-run")) == plan(
        ("billing", "orders", 1, 5))
    # 30 minutes back is after every record (stamped an hour ago): the log end, with Kafka's warning.
    cp = reset(bs, "billing", "--topic", "orders:0", "--by-duration", "PT30M", "--dry-run")
    assert out(cp) == plan(("billing", "orders", 0, 10))
    assert "Warn: Partition 0 from topic orders is empty. Falling back to latest known offset." in cp.stderr.decode()
    assert out(reset(bs, "billing", "--topic", "orders:0", "--by-duration", "P1DT2H", "--dry-run")) == plan(
        ("billing", "orders", 0, 0))
    assert committed(broker.bootstrap, "billing", tps) == {("orders", 0): 4, ("orders", 1): 6}

    # --execute commits: what confluent-kafka then reads.
    assert out(reset(bs, "billing", "--topic", "orders:1", "--to-offset", "100", "--execute")) == plan(
        ("billing", "orders", 1, 10))
    assert committed(broker.bootstrap, "billing", tps) == {("orders", 0): 4, ("orders", 1): 10}
    assert out(reset(bs, "billing", "--topic", "orders:0", "--shift-by", "3", "--execute")) == plan(
        ("billing", "orders", 0, 7))
    assert committed(broker.bootstrap, "billing", tps) == {("orders", 0): 7, ("orders", 1): 10}

    # --export then --from-file round trip; the file's offsets are clamped too.
    assert out(reset(bs, "billing", "--all-topics", "--to-current", "--export")) == "orders,0,7\norders,1,10\n"
    csv = tmp_path / "plan.csv"
    csv.write_text("orders,0,2\norders,1,-8\n")
    assert out(reset(bs, "billing", "--from-file", str(csv), "--execute")) == plan(
        ("billing", "orders", 0, 2), ("billing", "orders", 1, 0))
    assert committed(broker.bootstrap, "billing", tps) == {("orders", 0): 2, ("orders", 1): 0}
    lines = out(reset(bs, "billing", "--all-topics", "--to-latest", "--dry-run", "--json")).splitlines()
    assert [json.loads(l) for l in lines] == [{"group": "billing", "new_offset": 10, "partition": p, "topic": "orders"} for p in (0, 1)]

    # A group that does not exist yet can be given offsets (Kafka allows Dead groups).
    assert out(reset(bs, "fresh", "--topic", "orders", "--to-offset", "3", "--execute")) == plan(
        ("fresh", "orders", 0, 3), ("fresh", "orders", 1, 3))
    assert committed(broker.bootstrap, "fresh", tps) == {("orders", 0): 3, ("orders", 1): 3}


def wait_assigned(c, timeout=30):
    deadline = time.monotonic() + timeout
    while not c.assignment() and time.monotonic() < deadline:
        c.poll(0.2)
    assert c.assignment(), "no assignment"


def test_reset_refused_and_delete_offsets_while_the_group_is_active(broker):
    bs = ["--bootstrap-server", broker.bootstrap]
    fill(broker.bootstrap)
    fill(broker.bootstrap, topic="old", partitions=1, count=3)
    commit(broker.bootstrap, "live", {("orders", 0): 1, ("orders", 1): 2, ("old", 0): 3})
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "live", "enable.auto.commit": False,
                  "session.timeout.ms": 10000})
    c.subscribe(["orders"])
    try:
        wait_assigned(c)
        cp = reset(bs, "live", "--all-topics", "--to-earliest", "--execute", check=False)
        assert cp.returncode == 1 and cp.stdout == b""
        assert cp.stderr.decode() == "Error: Assignments can only be reset if the group 'live' is inactive, but the current state is Stable.\n"

        # A topic the members subscribe to is refused; another one's offsets can go.
        cp = weir(["consumer-groups", *bs, "--group", "live", "--delete-offsets", "--topic", "orders"], check=False)
        assert cp.returncode == 1
        assert cp.stderr.decode() == "Error: Encounter some partition level error, see the follow-up details:\n"
        msg = "Error: Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it."
        assert out(cp) == "\n" + "\n".join("{:<30} {:<15} {:<15}".format(*r) for r in [
            ("TOPIC", "PARTITION", "STATUS"), ("orders", 0, msg), ("orders", 1, msg)]) + "\n"
        cp = weir(["consumer-groups", *bs, "--group", "live", "--delete-offsets", "--topic", "old:0"])
        assert out(cp) == "Request succeed for deleting offsets with topic old:0 group live\n\n" + "\n".join(
            "{:<30} {:<15} {:<15}".format(*r) for r in [("TOPIC", "PARTITION", "STATUS"), ("old", 0, "Successful")]) + "\n"
    finally:
        c.close()
    assert committed(broker.bootstrap, "live", [("orders", 0), ("old", 0)]) == {("orders", 0): 1, ("old", 0): -1001}

    # Empty now: the subscribed topic's offsets can be deleted too.
    weir(["consumer-groups", *bs, "--group", "live", "--delete-offsets", "--topic", "orders:1"])
    assert committed(broker.bootstrap, "live", [("orders", 0), ("orders", 1)]) == {("orders", 0): 1, ("orders", 1): -1001}
    cp = weir(["consumer-groups", *bs, "--group", "nobody", "--delete-offsets", "--topic", "old"], check=False)
    assert cp.returncode == 1 and cp.stderr.decode() == "Error: 'nobody' does not exist.\n"
    assert out(cp).splitlines()[-1] == "{:<30} {:<15} {:<15}".format("old", 0, "Error: The group id does not exist.")


def test_configs_describe_and_alter(broker):
    bs = ["--bootstrap-server", broker.bootstrap]
    create_topic(broker.bootstrap, "orders", 1)
    topic = ["configs", *bs, "--entity-type", "topics", "--entity-name", "orders"]
    assert out(weir([*topic, "--describe"])) == "Dynamic configs for topic orders are:\n"
    assert out(weir([*topic, "--alter", "--add-config", "retention.ms=60000,cleanup.policy=[compact,delete]"])) \
        == "Completed updating config for topic orders.\n"
    assert out(weir([*topic, "--describe"])) == (
        "Dynamic configs for topic orders are:\n"
        "  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, "
        "DEFAULT_CONFIG:log.cleanup.policy=delete}\n"
        "  retention.ms=60000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=60000, "
        "DEFAULT_CONFIG:log.retention.ms=604800000}\n")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    res = ConfigResource(ResourceType.TOPIC, "orders")
    assert admin.describe_configs([res])[res].result(10)["cleanup.policy"].value == "compact,delete"

    weir([*topic, "--alter", "--delete-config", "cleanup.policy"])
    assert out(weir([*topic, "--describe"])).splitlines()[1:] == [
        "  retention.ms=60000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=60000, "
        "DEFAULT_CONFIG:log.retention.ms=604800000}"]
    assert admin.describe_configs([res])[res].result(10)["cleanup.policy"].value == "delete"
    all_lines = out(weir([*topic, "--describe", "--all"])).splitlines()
    assert all_lines[0] == "All configs for topic orders are:" and "  segment.bytes=1073741824 sensitive=false " \
        "synonyms={DEFAULT_CONFIG:log.segment.bytes=1073741824}" in all_lines

    bad = weir([*topic, "--alter", "--add-config", "retention.ms=soon"], check=False)
    assert bad.returncode == 1 and "INVALID_CONFIG" in bad.stderr.decode()
    bad = weir([*topic, "--alter", "--delete-config", "no.such.config"], check=False)
    assert bad.returncode == 1 and bad.stderr.decode() == "Error: Invalid config(s): no.such.config\n"

    # Brokers: static configs, so the Dynamic view is empty, --all shows them, --alter is refused.
    assert out(weir(["configs", *bs, "--entity-type", "brokers", "--describe"])) == \
        "Dynamic configs for broker 1 are:\nDefault configs for brokers in the cluster are:\n"
    lines = out(weir(["configs", *bs, "--entity-type", "brokers", "--entity-name", "1", "--describe", "--all"])).splitlines()
    assert lines[0] == "All configs for broker 1 are:" and "  broker.id=1 sensitive=false synonyms={}" in lines
    refused = weir(["configs", *bs, "--entity-type", "brokers", "--entity-default", "--alter", "--add-config", "a=b"], check=False)
    assert refused.returncode == 1 and "static" in refused.stderr.decode()


def test_delete_records(broker, tmp_path):
    bs = ["--bootstrap-server", broker.bootstrap]
    fill(broker.bootstrap)
    f = tmp_path / "delete.json"
    f.write_text(json.dumps({"partitions": [{"topic": "orders", "partition": 0, "offset": 5},
                                            {"topic": "orders", "partition": 1, "offset": -1}], "version": 1}))
    assert out(weir(["delete-records", *bs, "--offset-json-file", str(f)])) == (
        "Executing records delete operation\nRecords delete operation completed:\n"
        "partition: orders-0\tlow_watermark: 5\npartition: orders-1\tlow_watermark: 10\n")
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "w"})
    assert c.get_watermark_offsets(TopicPartition("orders", 0), timeout=10) == (5, 10)
    assert c.get_watermark_offsets(TopicPartition("orders", 1), timeout=10) == (10, 10)
    c.close()

    f.write_text(json.dumps({"partitions": [{"topic": "orders", "partition": 0, "offset": 11},
                                            {"topic": "orders", "partition": 9, "offset": 1}], "version": 1}))
    cp = weir(["delete-records", *bs, "--offset-json-file", str(f)], check=False)
    assert cp.returncode == 1
    assert out(cp).splitlines()[2:] == [
        "partition: orders-0\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException: "
        "The requested offset is not within the range of offsets maintained by the server.",
        "partition: orders-9\terror: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: "
        "This server does not host this topic-partition."]
    f.write_text('{"partitions":[{"topic":"orders","partition":0,"offset":1},{"topic":"orders","partition":0,"offset":2}]}')
    cp = weir(["delete-records", *bs, "--offset-json-file", str(f)], check=False)
    assert cp.returncode == 1 and "duplicate topic partitions: orders-0" in cp.stderr.decode()


def test_get_offsets(broker):
    bs = ["--bootstrap-server", broker.bootstrap]
    base = fill(broker.bootstrap)
    fill(broker.bootstrap, topic="audit", partitions=1, count=2)
    create_topic(broker.bootstrap, "empty", 1)
    assert out(weir(["get-offsets", *bs])) == "audit:0:2\nempty:0:0\norders:0:10\norders:1:10\n"
    assert out(weir(["get-offsets", *bs, "--topic", "orders", "--time", "-2"])) == "orders:0:0\norders:1:0\n"
    assert out(weir(["get-offsets", *bs, "--topic", "ord.*", "--partitions", "1", "--time", str(base + 3500)])) == "orders:1:4\n"
    assert out(weir(["get-offsets", *bs, "--topic", "orders|empty", "--time", "-3"])) == "empty:0:\norders:0:9\norders:1:9\n"
    assert out(weir(["get-offsets", *bs, "--topic", "audit", "--time", "latest", "--json"])) == \
        '{"offset":2,"partition":0,"topic":"audit"}\n'
    none = weir(["get-offsets", *bs, "--topic", "nothing.*"], check=False)
    assert none.returncode == 1 and none.stderr.decode() == "Error: Could not match any topic-partitions with the specified filters\n"


def test_usage_errors_exit_2_and_help_ends_with_an_example():
    for args in (["get-offsets"], ["get-offsets", "--bootstrap-server", "h:1", "--time", "-9"],
                 ["delete-records", "--bootstrap-server", "h:1"], ["configs", "--bootstrap-server", "h:1"],
                 ["configs", "--bootstrap-server", "h:1", "--entity-type", "clients", "--describe"],
                 ["consumer-groups", "--bootstrap-server", "h:1", "--group", "g", "--reset-offsets", "--to-earliest"],
                 ["consumer-groups", "--bootstrap-server", "h:1", "--group", "g", "--reset-offsets", "--all-topics"],
                 ["consumer-groups", "--bootstrap-server", "h:1", "--group", "g", "--reset-offsets", "--all-topics",
                  "--to-datetime", "yesterday"],
                 ["consumer-groups", "--bootstrap-server", "h:1", "--delete-offsets", "--group", "g"],
                 ["consumer-groups", "--bootstrap-server", "h:1", "--list", "--bogus"]):
        cp = weir(args, check=False)
        assert cp.returncode == 2 and cp.stdout == b"", (args, cp)
        assert cp.stderr.decode().splitlines()[-1] == f"See 'weir {args[0]} --help'.", (args, cp.stderr)
    for sub in ("consumer-groups", "configs", "delete-records", "get-offsets"):
        text = out(weir([sub, "--help"]))
        discussion = text[:text.index("USAGE:")].rstrip().splitlines()
        example = discussion[discussion.index("Example:") + 1:]
        assert example[0].startswith(f"  weir {sub} --bootstrap-server ") and all(len(l) <= 80 for l in example), example
        assert all(l.endswith(" \\") for l in example[:-1]) and all(l.startswith("    --") for l in example[1:]), example
