"""Helpers of bench part 13 (security): a throwaway PKI made with openssl, the broker's listener
and authorizer overrides, and each listener's librdkafka properties."""
import os
import subprocess

BENCH_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
              'user_bench="bench-secret";')


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d):
    """CA and server certificate (SAN 127.0.0.1); the PEM keystore is key + chain in one file."""
    os.makedirs(d, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=Weir bench CA", cwd=d)
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
             "-out", "server.pem", "-extfile", "san.ext", cwd=d)
    with open(os.path.join(d, "keystore.pem"), "w") as out:
        for name in ("server.key", "server.pem", "ca.pem"):
            with open(os.path.join(d, name)) as f:
                out.write(f.read())
    return {"ca": os.path.join(d, "ca.pem"), "keystore": os.path.join(d, "keystore.pem")}


def broker_overrides(ports, pki, authorizer):
    o = {
        "listeners": ",".join(f"{name}://127.0.0.1:{port}" for name, port in ports.items()),
        "ssl.keystore.location": pki["keystore"],
        "ssl.enabled.protocols": "TLSv1.3",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": BENCH_JAAS,
    }
    if authorizer:
        # The PLAINTEXT listener is the operator's (User:ANONYMOUS a super user); the bench user is not.
        o.update({"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                  "super.users": "User:ANONYMOUS"})
    args = []
    for k, v in o.items():
        args += ["--override", f"{k}={v}"]
    return args


def allow_bench_user(weir, bootstrap):
    """ALLOW ALL for User:bench on every topic and group: the decision still goes through the authorizer."""
    for resource in (["--topic", "*"], ["--group", "*"]):
        subprocess.run([weir, "acls", "--bootstrap-server", bootstrap, "--add", "--allow-principal", "User:bench",
                        "--operation", "All", *resource], check=True, capture_output=True, timeout=60)


def client_config(listener, pki):
    conf = {"PLAINTEXT": {},
            "SSL": {"security.protocol": "SSL", "ssl.ca.location": pki["ca"]},
            "SASL_PLAINTEXT": {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
                               "sasl.username": "bench", "sasl.password": "bench-secret"}}[listener]
    args = []
    for k, v in conf.items():
        args += ["--client-config", f"{k}={v}"]
    return args
