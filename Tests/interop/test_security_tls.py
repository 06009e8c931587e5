"""TLS listeners (issue 11, part 1): several listeners at once, each client told the address of
the listener it came in on; PEM keystores and truststores as Kafka reads them; mutual TLS; a
plaintext client refused on the TLS port; certificates that do not load stop startup naming
the property."""
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from conftest import WEIR, ROOT, api_versions_v0, create_topic, free_port
from security_support import make_pki, ssl_broker, tls_api_versions

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def tls_conf(b, pki, **extra):
    return {"bootstrap.servers": f"127.0.0.1:{b.tls_port}", "security.protocol": "SSL",
            "ssl.ca.location": pki["ca"], **extra}


def round_trip(conf, topic, n=20):
    p = Producer(conf)
    for i in range(n):
        p.produce(topic, value=f"tls-{i}".encode())
    assert p.flush(20) == 0
    c = Consumer({**conf, "group.id": "g", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    for _ in range(100):
        for m in c.consume(50, 0.2):
            assert not m.error(), m.error()
            got.append(m.value().decode())
        if len(got) >= n:
            break
    c.close()
    return got


def test_confluent_kafka_round_trip_over_tls_and_metadata_per_listener(tmp_path, pki):
    b = ssl_broker(tmp_path, pki).start()
    try:
        create_topic(b.bootstrap, "secure")
        assert round_trip(tls_conf(b, pki), "secure") == [f"tls-{i}" for i in range(20)]
        # Each listener answers Metadata with its own address.
        tls_md = AdminClient(tls_conf(b, pki)).list_topics(timeout=10)
        plain_md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=10)
        assert [(x.host, x.port) for x in tls_md.brokers.values()] == [("127.0.0.1", b.tls_port)]
        assert [(x.host, x.port) for x in plain_md.brokers.values()] == [("127.0.0.1", b.port)]
    finally:
        assert b.stop() == 0


def test_kcat_produces_and_consumes_over_tls(tmp_path, pki):
    b = ssl_broker(tmp_path, pki).start()
    try:
        create_topic(b.bootstrap, "kc")
        common = ["kcat", "-b", f"127.0.0.1:{b.tls_port}", "-X", "security.protocol=ssl", "-X", f"ssl.ca.location={pki['ca']}"]
        subprocess.run(common + ["-P", "-t", "kc"], input=b"one\ntwo\n", check=True, timeout=30)
        out = subprocess.run(common + ["-C", "-t", "kc", "-o", "beginning", "-c", "2", "-e", "-q"],
                             capture_output=True, check=True, timeout=30)
        assert out.stdout.split() == [b"one", b"two"]
    finally:
        b.stop()


def test_a_plaintext_client_is_refused_on_the_tls_port(tmp_path, pki):
    b = ssl_broker(tmp_path, pki).start()
    try:
        with pytest.raises((ConnectionError, OSError)):
            api_versions_v0(b.tls_port)
        assert b.alive()
        assert "closing connection: TLS" in b.log_text()
        # And TLS there still works, as does plaintext on the plaintext port.
        assert len(tls_api_versions(b.tls_port, pki["ca"])) > 6
        assert len(api_versions_v0(b.port)) > 6
    finally:
        b.stop()


def test_mutual_tls_required_refuses_clients_without_a_trusted_certificate(tmp_path, pki):
    b = ssl_broker(tmp_path, pki, {"ssl.client.auth": "required", "ssl.truststore.location": pki["ca"]}).start()
    try:
        assert len(tls_api_versions(b.tls_port, pki["ca"], pki["client_cert"], pki["client_key"])) > 6
        for cert, key in ((None, None), (pki["rogue_cert"], pki["rogue_key"])):
            with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
                tls_api_versions(b.tls_port, pki["ca"], cert, key)
        create_topic(b.bootstrap, "mtls")
        conf = tls_conf(b, pki, **{"ssl.certificate.location": pki["client_cert"], "ssl.key.location": pki["client_key"]})
        assert round_trip(conf, "mtls", 5) == [f"tls-{i}" for i in range(5)]
        assert b.alive()
    finally:
        b.stop()


def test_mutual_tls_requested_accepts_clients_with_or_without_a_certificate(tmp_path, pki):
    b = ssl_broker(tmp_path, pki, {"ssl.client.auth": "requested", "ssl.truststore.location": pki["ca"]}).start()
    try:
        assert len(tls_api_versions(b.tls_port, pki["ca"])) > 6
        assert len(tls_api_versions(b.tls_port, pki["ca"], pki["client_cert"], pki["client_key"])) > 6
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            tls_api_versions(b.tls_port, pki["ca"], pki["rogue_cert"], pki["rogue_key"])
    finally:
        b.stop()


def test_an_encrypted_key_loads_with_ssl_key_password(tmp_path, pki):
    b = ssl_broker(tmp_path, pki, {"ssl.keystore.location": pki["keystore_enc"], "ssl.key.password": "s3cret"}).start()
    try:
        assert len(tls_api_versions(b.tls_port, pki["ca"])) > 6
    finally:
        b.stop()


def test_ssl_enabled_protocols_limits_the_versions(tmp_path, pki):
    b = ssl_broker(tmp_path, pki, {"ssl.enabled.protocols": "TLSv1.3"}).start()
    try:
        assert len(tls_api_versions(b.tls_port, pki["ca"], min_version=ssl.TLSVersion.TLSv1_3)) > 6
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            tls_api_versions(b.tls_port, pki["ca"], max_version=ssl.TLSVersion.TLSv1_2)
    finally:
        b.stop()


@pytest.mark.parametrize("override,message", [
    ({"ssl.keystore.location": "/nonexistent.pem"}, "ssl.keystore.location: cannot read /nonexistent.pem"),
    ({"ssl.key.password": "wrong", "KEYSTORE": "keystore_enc"}, "ssl.key.password: the private key in"),
    ({"KEYSTORE": "keystore_enc"}, "ssl.key.password must be set: the private key in"),
    ({"ssl.client.auth": "required", "ssl.truststore.location": "/nope.pem"}, "ssl.truststore.location: cannot read /nope.pem"),
    ({"ssl.keystore.type": "JKS"}, "ssl.keystore.type=JKS is not supported"),
])
def test_a_certificate_or_key_that_does_not_load_stops_startup_naming_the_property(tmp_path, pki, override, message):
    override = dict(override)
    keystore = pki[override.pop("KEYSTORE")] if "KEYSTORE" in override else pki["keystore"]
    args = [str(WEIR), "broker", str(ROOT / "config/server.properties"), "--override", f"log.dirs={tmp_path / 'data'}",
            "--override", f"listeners=SSL://127.0.0.1:{free_port()}", "--override", f"ssl.keystore.location={keystore}"]
    for k, v in override.items():
        args += ["--override", f"{k}={v}"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr, r.stderr


def peer_certificate(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return s.getpeercert(binary_form=True)


def test_certificates_are_reloaded_when_their_files_change(tmp_path, pki):
    from security_support import openssl
    d = tmp_path / "live"
    d.mkdir()
    keystore = d / "keystore.pem"
    keystore.write_text(open(pki["keystore"]).read())
    b = ssl_broker(tmp_path, pki, {"ssl.keystore.location": str(keystore), "weir.ssl.reload.check.interval.ms": "100"}).start()
    try:
        first = peer_certificate(b.tls_port, pki["ca"])
        # A renewed certificate (same CA, new key), written beside and renamed into place.
        ca_dir = Path(pki["ca"]).parent
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "new.key"), "-out", str(d / "new.csr"),
                "-subj", "/O=Weir/CN=localhost", cwd=ca_dir)
        openssl("x509", "-req", "-in", str(d / "new.csr"), "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-out", str(d / "new.pem"), "-extfile", "san.ext", cwd=ca_dir)
        (d / "next.pem").write_text((d / "new.key").read_text() + (d / "new.pem").read_text())
        os.replace(d / "next.pem", keystore)
        deadline = time.monotonic() + 10
        renewed = first
        while renewed == first and time.monotonic() < deadline:
            time.sleep(0.1)
            renewed = peer_certificate(b.tls_port, pki["ca"])
        assert renewed != first, "the renewed certificate was not served within 10 s"
        assert "TLS certificates reloaded" in b.log_text()
        # A file that no longer loads keeps the last good certificate.
        keystore.write_text("garbage\n")
        deadline = time.monotonic() + 10
        while "do not load; keeping the previous ones" not in b.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "do not load; keeping the previous ones" in b.log_text()
        assert peer_certificate(b.tls_port, pki["ca"]) == renewed
    finally:
        b.stop()
