"""SASL (issue 11, part 2): PLAIN from Kafka's JAAS property, SCRAM-SHA-256/512 with credentials
in the broker's database (made with `weir configs` and with the Admin API), a wrong password
refused after the delay without saying why, and bad input on the SASL path closing only its
connection."""
import socket
import struct
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion)

from conftest import WEIR, ROOT, Broker, api_versions_v0, create_topic, free_port, recv_exact

pytestmark = pytest.mark.timeout(120)

PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" '
              'user_admin="admin-secret" user_alice="alice-secret";')


def sasl_broker(tmp, extra=None, proto="SASL_PLAINTEXT"):
    b = Broker(tmp)
    b.sasl_port = free_port()
    b.overrides = {
        "listeners": f"PLAINTEXT://127.0.0.1:{b.port},{proto}://127.0.0.1:{b.sasl_port}",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        f"listener.name.{proto.lower()}.plain.sasl.jaas.config": PLAIN_JAAS,
        **(extra or {}),
    }
    return b


@pytest.fixture
def broker(tmp_path):
    b = sasl_broker(tmp_path).start()
    yield b
    b.stop()


def conf(b, mechanism, user, password, **extra):
    return {"bootstrap.servers": f"127.0.0.1:{b.sasl_port}", "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password, **extra}


def confluent_round_trip(c, topic, n=10):
    p = Producer(c)
    for i in range(n):
        p.produce(topic, value=f"m{i}".encode())
    assert p.flush(20) == 0
    cons = Consumer({**c, "group.id": f"g-{topic}", "enable.auto.commit": False})
    cons.assign([TopicPartition(topic, 0, 0)])
    got = []
    for _ in range(100):
        for m in cons.consume(50, 0.2):
            assert not m.error(), m.error()
            got.append(m.value().decode())
        if len(got) >= n:
            break
    cons.close()
    return got


def kafka_python_round_trip(b, mechanism, user, password, topic, n=5):
    from kafka import KafkaConsumer, KafkaProducer
    common = dict(bootstrap_servers=f"127.0.0.1:{b.sasl_port}", security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism,
                  sasl_plain_username=user, sasl_plain_password=password)
    p = KafkaProducer(**common)
    for i in range(n):
        p.send(topic, f"k{i}".encode()).get(timeout=20)
    p.close()
    c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=5000, **common)
    got = [m.value.decode() for m in c][:n]
    c.close()
    return got


def weir_configs(b, *args):
    return subprocess.run([str(WEIR), "configs", "--bootstrap-server", b.bootstrap, "--entity-type", "users", *args],
                          capture_output=True, text=True, timeout=60)


def test_plain_round_trip_with_confluent_kafka_and_kafka_python(broker):
    create_topic(broker.bootstrap, "plain")
    assert confluent_round_trip(conf(broker, "PLAIN", "alice", "alice-secret"), "plain") == [f"m{i}" for i in range(10)]
    create_topic(broker.bootstrap, "plain2")
    assert kafka_python_round_trip(broker, "PLAIN", "alice", "alice-secret", "plain2") == [f"k{i}" for i in range(5)]


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_user_made_with_weir_configs(broker, mechanism):
    r = weir_configs(broker, "--entity-name", "bob", "--alter", "--add-config", f"{mechanism}=[iterations=8192,password=bob-secret]")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Completed updating config for user bob.\n"
    r = weir_configs(broker, "--entity-name", "bob", "--describe")
    assert r.stdout == f"SCRAM credential configs for user-principal 'bob' are {mechanism}=iterations=8192\n", r.stderr
    topic = f"scram-{mechanism[-3:]}"
    create_topic(broker.bootstrap, topic)
    assert confluent_round_trip(conf(broker, mechanism, "bob", "bob-secret"), topic) == [f"m{i}" for i in range(10)]
    create_topic(broker.bootstrap, topic + "-kp")
    assert kafka_python_round_trip(broker, mechanism, "bob", "bob-secret", topic + "-kp") == [f"k{i}" for i in range(5)]
    # Deleted, it no longer authenticates.
    r = weir_configs(broker, "--entity-name", "bob", "--alter", "--delete-config", mechanism)
    assert r.returncode == 0, r.stderr
    with pytest.raises(KafkaException):
        AdminClient(conf(broker, mechanism, "bob", "bob-secret")).list_topics(timeout=5)


def test_scram_user_made_through_the_admin_api_then_used(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    upsert = UserScramCredentialUpsertion("carol", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"carol-secret")
    for f in admin.alter_user_scram_credentials([upsert]).values():
        assert f.result(20) is None
    create_topic(broker.bootstrap, "carol")
    assert confluent_round_trip(conf(broker, "SCRAM-SHA-512", "carol", "carol-secret"), "carol", 3) == ["m0", "m1", "m2"]
    r = weir_configs(broker, "--describe")
    assert r.stdout == "SCRAM credential configs for user-principal 'carol' are SCRAM-SHA-512=iterations=4096\n", r.stderr
    # Iterations below Kafka's minimum are refused with its error.
    bad = UserScramCredentialUpsertion("dave", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 1000), b"x")
    with pytest.raises(KafkaException) as e:
        list(admin.alter_user_scram_credentials([bad]).values())[0].result(20)
    assert "UNACCEPTABLE_CREDENTIAL" in str(e.value) or "iterations" in str(e.value)


@pytest.mark.parametrize("mechanism,user,password", [
    ("PLAIN", "alice", "wrong"), ("PLAIN", "nobody", "alice-secret"),
    ("SCRAM-SHA-256", "alice", "wrong"), ("SCRAM-SHA-256", "nobody", "x"),
])
def test_a_wrong_password_or_unknown_user_is_refused_alike(broker, mechanism, user, password):
    r = weir_configs(broker, "--entity-name", "alice", "--alter", "--add-config", "SCRAM-SHA-256=[password=alice-secret]")
    assert r.returncode == 0, r.stderr
    errors = []
    p = Producer(conf(broker, mechanism, user, password, error_cb=errors.append))
    deadline = time.monotonic() + 10
    while not errors and time.monotonic() < deadline:
        p.poll(0.2)
    assert errors, "no error reported within 10 s"
    assert errors[0].code() == KafkaError._AUTHENTICATION, errors[0]
    assert "Authentication failed: Invalid username or password" in errors[0].str(), errors[0]
    assert broker.alive()


# ---- raw protocol: the gate, the delay, bad input ----

def frame(api_key, version, body, corr=1, client=b"raw"):
    payload = struct.pack(">hhih", api_key, version, corr, len(client)) + client + body
    return struct.pack(">i", len(payload)) + payload


def handshake(s, mechanism=b"PLAIN"):
    s.sendall(frame(17, 1, struct.pack(">h", len(mechanism)) + mechanism))
    size = struct.unpack(">i", recv_exact(s, 4))[0]
    body = recv_exact(s, size)
    assert struct.unpack(">h", body[4:6])[0] == 0, body


def authenticate(s, token: bytes):
    s.sendall(frame(36, 1, struct.pack(">i", len(token)) + token, corr=2))
    size = struct.unpack(">i", recv_exact(s, 4))[0]
    body = recv_exact(s, size)[4:]
    code = struct.unpack(">h", body[:2])[0]
    mlen = struct.unpack(">h", body[2:4])[0]
    message = body[4:4 + mlen].decode() if mlen >= 0 else None
    rest = body[4 + max(mlen, 0):]
    tlen = struct.unpack(">i", rest[:4])[0]
    return code, message, rest[4:4 + tlen]


def closed(s, timeout=5.0) -> bool:
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def test_a_failed_authentication_answers_58_waits_and_closes(broker):
    with socket.create_connection(("127.0.0.1", broker.sasl_port), timeout=5) as s:
        handshake(s)
        start = time.monotonic()
        code, message, _ = authenticate(s, b"\0alice\0wrong")
        assert (code, message) == (58, "Authentication failed: Invalid username or password")
        assert closed(s)
        assert time.monotonic() - start >= 0.09


def test_only_api_versions_and_sasl_are_served_before_authentication(broker):
    create_topic(broker.bootstrap, "gated")
    with socket.create_connection(("127.0.0.1", broker.sasl_port), timeout=5) as s:
        s.sendall(frame(3, 1, struct.pack(">i", 0)))  # Metadata v1, no topics
        assert closed(s)
    assert len(api_versions_v0(broker.sasl_port)) > 6
    with socket.create_connection(("127.0.0.1", broker.sasl_port), timeout=5) as s:
        handshake(s)
        code, _, _ = authenticate(s, b"\0alice\0alice-secret")
        assert code == 0
        s.sendall(frame(3, 1, struct.pack(">i", 0), corr=3))
        size = struct.unpack(">i", recv_exact(s, 4))[0]
        assert struct.unpack(">i", recv_exact(s, size)[:4])[0] == 3


BAD = {
    "truncated SaslAuthenticate": lambda: frame(36, 1, struct.pack(">i", 50) + b"\0alice"),
    "absurd token length": lambda: frame(36, 1, struct.pack(">i", 0x7FFFFFF0) + b"x" * 10),
    "negative token length": lambda: frame(36, 1, struct.pack(">i", -7)),
    "SaslAuthenticate v9": lambda: frame(36, 9, struct.pack(">i", 1) + b"x"),
    "Produce during SASL": lambda: frame(0, 3, b"\xff\xff\x00\x01\x00\x00\x03\xe8\x00\x00\x00\x00"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_on_the_sasl_path_closes_the_connection(broker, case):
    with socket.create_connection(("127.0.0.1", broker.sasl_port), timeout=5) as s:
        handshake(s)
        s.sendall(BAD[case]())
        assert closed(s), case
    assert broker.alive()
    assert len(api_versions_v0(broker.sasl_port)) > 6


def test_a_scram_nonce_mismatch_closes_the_connection(broker):
    r = weir_configs(broker, "--entity-name", "erin", "--alter", "--add-config", "SCRAM-SHA-256=[password=erin-secret]")
    assert r.returncode == 0, r.stderr
    with socket.create_connection(("127.0.0.1", broker.sasl_port), timeout=5) as s:
        handshake(s, b"SCRAM-SHA-256")
        code, _, server_first = authenticate(s, b"n,,n=erin,r=clientnonce")
        assert code == 0 and server_first.startswith(b"r=clientnonce")
        code, message, _ = authenticate(s, b"c=biws,r=clientnonceFORGED,p=" + b"A" * 44)
        assert (code, message) == (58, "Authentication failed: Invalid username or password")
        assert closed(s)
    assert "nonce mismatch" in broker.log_text()
    assert broker.alive()


def test_sasl_ssl_with_plain(tmp_path):
    from security_support import make_pki
    pki = make_pki(tmp_path / "pki")
    b = sasl_broker(tmp_path, {"ssl.keystore.location": pki["keystore"]}, proto="SASL_SSL").start()
    try:
        create_topic(b.bootstrap, "sslplain")
        c = {**conf(b, "PLAIN", "alice", "alice-secret"), "security.protocol": "SASL_SSL", "ssl.ca.location": pki["ca"]}
        assert confluent_round_trip(c, "sslplain", 3) == ["m0", "m1", "m2"]
    finally:
        b.stop()


@pytest.mark.parametrize("override,message", [
    ({"sasl.enabled.mechanisms": "GSSAPI"}, "sasl.enabled.mechanisms: GSSAPI is not supported"),
    ({"sasl.enabled.mechanisms": "OAUTHBEARER"}, "sasl.enabled.mechanisms: OAUTHBEARER is not supported"),
    ({"listener.name.sasl_plaintext.plain.sasl.jaas.config": ""}, "jaas.config"),
    ({"listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config": "x required;"}, "OAUTHBEARER is not a supported SASL mechanism"),
])
def test_unsupported_sasl_settings_stop_startup_naming_them(tmp_path, override, message):
    b = sasl_broker(tmp_path)
    args = [str(WEIR), "broker", str(ROOT / "config/server.properties"), "--override", f"log.dirs={tmp_path / 'data'}"]
    for k, v in {**b.overrides, **override}.items():
        args += ["--override", f"{k}={v}"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr, r.stderr


# ---- the tools over SASL and TLS: --command-config ----

def test_tools_take_command_config_for_scram_and_sasl_ssl(tmp_path):
    from security_support import make_pki
    pki = make_pki(tmp_path / "pki")
    b = sasl_broker(tmp_path, {"ssl.keystore.location": pki["keystore"]}, proto="SASL_SSL").start()
    try:
        r = weir_configs(b, "--entity-name", "tool", "--alter", "--add-config", "SCRAM-SHA-512=[password=tool-secret]")
        assert r.returncode == 0, r.stderr
        cfg = tmp_path / "client.properties"
        cfg.write_text("security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
                       'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required '
                       'username="tool" password="tool-secret";\n'
                       f"ssl.truststore.type=PEM\nssl.truststore.location={pki['ca']}\n")
        server = f"127.0.0.1:{b.sasl_port}"

        def run(*a, **kw):
            return subprocess.run([str(WEIR), *a], capture_output=True, timeout=60, **kw)

        r = run("topics", "--bootstrap-server", server, "--command-config", str(cfg), "--create", "--topic", "viatool")
        assert r.returncode == 0, r.stderr
        r = run("console-producer", "--bootstrap-server", server, "--producer.config", str(cfg), "--topic", "viatool",
                input=b"a\nb\n")
        assert r.returncode == 0, r.stderr
        r = run("console-consumer", "--bootstrap-server", server, "--command-config", str(cfg), "--topic", "viatool",
                "--from-beginning", "--max-messages", "2")
        assert (r.returncode, r.stdout) == (0, b"a\nb\n"), r.stderr
        # A wrong password: the tool fails with the broker's message, exit 1.
        cfg.write_text(cfg.read_text().replace("tool-secret", "nope"))
        r = run("topics", "--bootstrap-server", server, "--command-config", str(cfg), "--list")
        assert r.returncode == 1 and b"Authentication failed" in r.stderr, r.stderr
        # An unsupported client property is refused by name.
        cfg.write_text("security.protocol=SASL_SSL\nsasl.kerberos.service.name=kafka\n")
        r = run("topics", "--bootstrap-server", server, "--command-config", str(cfg), "--list")
        assert r.returncode == 1 and b"unsupported client property 'sasl.kerberos.service.name'" in r.stderr, r.stderr
    finally:
        b.stop()


def test_a_session_that_is_not_reauthenticated_is_closed_after_connections_max_reauth_ms(tmp_path):
    b = sasl_broker(tmp_path, {"connections.max.reauth.ms": "1000"}).start()
    try:
        with socket.create_connection(("127.0.0.1", b.sasl_port), timeout=5) as s:
            handshake(s)
            token = b"\0alice\0alice-secret"
            s.sendall(frame(36, 1, struct.pack(">i", len(token)) + token, corr=2))
            size = struct.unpack(">i", recv_exact(s, 4))[0]
            body = recv_exact(s, size)[4:]
            assert struct.unpack(">h", body[:2])[0] == 0
            # session_lifetime_ms: the last 8 bytes of SaslAuthenticate v1's answer.
            assert struct.unpack(">q", body[-8:])[0] == 1000
            time.sleep(1.3)
            s.sendall(frame(3, 1, struct.pack(">i", 0), corr=3))
            assert closed(s)
        # A real client keeps producing across several session lifetimes (librdkafka
        # re-authenticates per KIP-368, or reconnects when the broker closed an expired session).
        create_topic(b.bootstrap, "reauth")
        p = Producer(conf(b, "PLAIN", "alice", "alice-secret"))
        for _ in range(6):
            p.produce("reauth", value=b"x")
            assert p.flush(10) == 0
            time.sleep(0.6)
    finally:
        b.stop()
