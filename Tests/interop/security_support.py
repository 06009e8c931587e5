"""Helpers of the security tests: a throwaway PKI made with openssl (a CA, the broker's PEM
keystore — key and chain in one file, as KIP-651 reads it — and client certificates), and a
broker started with extra listeners."""
from __future__ import annotations

import socket
import ssl
import struct
import subprocess
from pathlib import Path

from conftest import Broker, free_port, recv_exact


def openssl(*args: str, cwd: Path):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"openssl {' '.join(args)}:\n{r.stderr}"


def make_pki(d: Path) -> dict:
    """CA, server (SAN 127.0.0.1/localhost) and client (CN=weir-client,O=Weir) certificates."""
    d.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/O=Weir Test/CN=Weir Test CA", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, subj, ext in (("server", "/O=Weir/CN=localhost", ["-extfile", "san.ext"]),
                            ("client", "/O=Weir/CN=weir-client", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", subj, cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-out", f"{name}.pem", *ext, cwd=d)
    # The keystore: private key, then the chain (leaf first).
    (d / "keystore.pem").write_text((d / "server.key").read_text() + (d / "server.pem").read_text()
                                    + (d / "ca.pem").read_text())
    # The same key encrypted (PKCS#8, as Kafka requires for ssl.key.password).
    openssl("pkcs8", "-topk8", "-in", "server.key", "-out", "server-enc.key", "-v2", "aes-256-cbc",
            "-passout", "pass:s3cret", cwd=d)
    (d / "keystore-enc.pem").write_text((d / "server-enc.key").read_text() + (d / "server.pem").read_text())
    # A client the CA never signed.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue.key", "-out", "rogue.pem",
            "-days", "2", "-subj", "/CN=rogue", cwd=d)
    return {k: str(d / v) for k, v in {
        "ca": "ca.pem", "keystore": "keystore.pem", "keystore_enc": "keystore-enc.pem",
        "client_cert": "client.pem", "client_key": "client.key",
        "rogue_cert": "rogue.pem", "rogue_key": "rogue.key"}.items()}


# The client certificate's principal, as Kafka's default builder forms it (RFC 2253, last RDN first).
CLIENT_PRINCIPAL = "User:CN=weir-client,O=Weir"


def ssl_broker(tmp: Path, pki: dict, extra: dict | None = None, name="SSL", proto="SSL") -> Broker:
    """A broker with PLAINTEXT on `.port` (the fixture's readiness probe) and `name` (TLS) on `.tls_port`."""
    b = Broker(tmp)
    b.tls_port = free_port()
    b.overrides = {
        "listeners": f"PLAINTEXT://127.0.0.1:{b.port},{name}://127.0.0.1:{b.tls_port}",
        "ssl.keystore.location": pki["keystore"],
        **({} if name in ("SSL", "SASL_SSL") else {"listener.security.protocol.map": f"PLAINTEXT:PLAINTEXT,{name}:{proto}"}),
        **(extra or {}),
    }
    return b


def tls_api_versions(port: int, ca: str, cert: str | None = None, key: str | None = None,
                     max_version: ssl.TLSVersion | None = None, min_version: ssl.TLSVersion | None = None) -> bytes:
    """ApiVersions v0 over TLS; raises on a failed handshake or a closed connection."""
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    if max_version:
        ctx.maximum_version = max_version
    if min_version:
        ctx.minimum_version = min_version
    body = struct.pack(">hhih", 18, 0, 7, 4) + b"test"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", recv_exact(s, 4))[0]
            return recv_exact(s, size)
