"""The Go clients of Weir's tutorial, as Debian 12 packages them (kafka-go 0.2.1, sarama 1.22.1),
built offline from examples/go and run unchanged against the release broker: exact output,
and cross-checked with confluent-kafka in both directions for every codec each can use."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import ROOT, create_topic

GOPATH = "/usr/share/gocode"


@pytest.fixture(scope="module")
def go_bin(tmp_path_factory):
    """Both example programs, built once with Debian's packaged sources and no module proxy."""
    go = shutil.which("go")
    assert go, "go is not installed: `make test-deps` installs golang-go and the client packages"
    out = tmp_path_factory.mktemp("go")
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOFLAGS="", GOCACHE=str(out / "cache"))
    for name in ("tutorial", "sarama"):
        subprocess.run([go, "build", "-o", str(out / name), f"./examples/go/{name}"], cwd=ROOT, env=env,
                       check=True, timeout=600, capture_output=True)
    return out


def run(binary: Path, broker, *args, expect_rc=0) -> list[str]:
    p = subprocess.run([str(binary), "-brokers", broker.bootstrap, *args], capture_output=True, text=True, timeout=60)
    assert p.returncode == expect_rc, f"{binary.name} {args}: rc {p.returncode}\n{p.stdout}\n{p.stderr}\n{broker.log_text()}"
    return p.stdout.splitlines()


def confluent_read(bootstrap: str, topic: str, n: int) -> list[tuple[int, str, str]]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{topic}", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    for _ in range(200):
        if len(got) >= n:
            break
        m = c.poll(0.5)
        if m is not None:
            assert m.error() is None, m.error()
            got.append((m.offset(), m.key().decode(), m.value().decode()))
    c.close()
    return got


def confluent_write(bootstrap: str, topic: str, codec: str, n: int, prefix: str):
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20,
                  "enable.idempotence": True})
    for i in range(n):
        # A header too: old message formats have none, so it is dropped for the Go clients.
        p.produce(topic, key=f"{prefix}key-{i}", value=f"{prefix}value-{i}", partition=0, headers=[("h", b"x")])
    assert p.flush(20) == 0


def test_the_tutorial_program_prints_what_the_tutorial_shows(broker, go_bin):
    assert run(go_bin / "tutorial", broker, "-topic", "tutorial") == [
        "partitions listed with no topic named: 0",
        "topic tutorial partition 0 leader 1",
        "wrote 50 messages (680 bytes, none)",
        *[f"{i}: key-{i} = value-{i}" for i in range(42, 50)],
    ]


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4"])
def test_kafka_go_and_confluent_read_each_other(broker, go_bin, codec):
    topic = f"kgo-{codec}"
    create_topic(broker.bootstrap, topic)
    run(go_bin / "tutorial", broker, "-topic", topic, "-codec", codec, "-count", "5", "-prefix", "go-", "write")
    assert confluent_read(broker.bootstrap, topic, 5) == [(i, f"go-key-{i}", f"go-value-{i}") for i in range(5)]
    confluent_write(broker.bootstrap, topic, "zstd" if codec == "none" else codec, 5, "ck-")
    assert run(go_bin / "tutorial", broker, "-topic", topic, "-offset", "3", "read") == [
        "3: go-key-3 = go-value-3", "4: go-key-4 = go-value-4",
        *[f"{5 + i}: ck-key-{i} = ck-value-{i}" for i in range(5)],
    ]


@pytest.mark.parametrize("codec,version", [("none", ""), ("gzip", ""), ("snappy", ""), ("lz4", "0.10.0.0")])
def test_sarama_and_confluent_read_each_other(broker, go_bin, codec, version):
    """sarama at its default version (0.8.2: magic 0), and lz4 from 0.10.0 (magic 1), where it allows it."""
    topic = f"sarama-{codec}"
    flags = ["-topic", topic, *(["-version", version] if version else [])]
    assert run(go_bin / "sarama", broker, *flags, "-codec", codec, "-count", "4", "-prefix", "sa-", "produce") == [
        f"produced 4 messages ({codec}, version {version or '0.8.2.0'}) at offsets 0..3"]
    assert confluent_read(broker.bootstrap, topic, 4) == [(i, f"sa-key-{i}", f"sa-value-{i}") for i in range(4)]
    confluent_write(broker.bootstrap, topic, "zstd" if codec == "none" else codec, 3, "ck-")
    assert run(go_bin / "sarama", broker, *flags, "consume") == [
        *[f"{i}: sa-key-{i} = sa-value-{i}" for i in range(4)],
        *[f"{4 + i}: ck-key-{i} = ck-value-{i}" for i in range(3)],
    ]


def test_a_sarama_consumer_group_commits_what_it_read(broker, go_bin):
    create_topic(broker.bootstrap, "sarama-group")
    confluent_write(broker.bootstrap, "sarama-group", "lz4", 6, "")
    assert run(go_bin / "sarama", broker, "-topic", "sarama-group", "-group", "go-group", "group") == [
        "member of go-group, assigned [0]",
        *[f"{i}: key-{i} = value-{i}" for i in range(6)],
    ]
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "go-group"})
    committed = c.committed([TopicPartition("sarama-group", 0)], timeout=10)
    c.close()
    assert [(tp.topic, tp.partition, tp.offset) for tp in committed] == [("sarama-group", 0, 6)]


def test_sarama_zstd_in_produce_v3_is_refused_as_kafka_refuses_it(broker, go_bin):
    out = run(go_bin / "sarama", broker, "-topic", "zstd", "-version", "2.1.0", "-codec", "zstd", "produce", expect_rc=1)
    assert out == ["produce: kafka server: The requesting client does not support the compression type of given partition."]
    assert "reason=zstd needs Produce v7 or later" in broker.log_text()


def test_old_fetchers_are_refused_where_down_conversion_is_off(broker, go_bin):
    create_topic(broker.bootstrap, "v2-only", config={"message.downconversion.enable": "false"})
    run(go_bin / "sarama", broker, "-topic", "v2-only", "-count", "1", "produce")
    out = run(go_bin / "sarama", broker, "-topic", "v2-only", "consume", expect_rc=1)
    assert out == ["consume: kafka: error while consuming v2-only/0: kafka server: The version of API is not supported."]
