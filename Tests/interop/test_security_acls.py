"""ACLs (issue 11, part 3): Kafka's authorizer model over real clients. A user without Write is
refused, then allowed after CreateAcls; DENY beats ALLOW; prefixed patterns; super users;
Metadata and ListGroups leave out what the principal may not Describe; DeleteAcls takes effect
at once; a mutual-TLS principal is what ACLs name; `weir acls` prints what kafka-acls.sh prints."""
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                   NewTopic, ResourcePatternType, ResourceType)

from conftest import WEIR, ROOT, Broker, free_port
from security_support import CLIENT_PRINCIPAL, make_pki

pytestmark = pytest.mark.timeout(120)

PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
              'user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret";')
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def acl_broker(tmp, extra=None):
    # PLAINTEXT on loopback is the operators' listener (its User:ANONYMOUS is a super user, as
    # brokers' own listeners often are); clients come in over SASL_PLAINTEXT.
    b = Broker(tmp)
    b.sasl_port = free_port()
    b.overrides = {
        "listeners": f"PLAINTEXT://127.0.0.1:{b.port},SASL_PLAINTEXT://127.0.0.1:{b.sasl_port}",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
        "authorizer.class.name": AUTHORIZER,
        "super.users": "User:admin;User:ANONYMOUS",
        **(extra or {}),
    }
    return b


@pytest.fixture
def broker(tmp_path):
    b = acl_broker(tmp_path).start()
    yield b
    b.stop()


def conf(b, user, **extra):
    return {"bootstrap.servers": f"127.0.0.1:{b.sasl_port}", "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN", "sasl.username": user, "sasl.password": f"{user}-secret", **extra}


def admin(b, user="admin"):
    return AdminClient(conf(b, user))


def make_topics(b, *names):
    a = admin(b)  # kept alive until the futures resolve
    fs = a.create_topics([NewTopic(n, 1, 1) for n in names])
    for f in fs.values():
        f.result(20)


def produce(c, topic, n=3):
    """Delivery error codes (None for success) of n records."""
    results = []
    p = Producer({**c, "message.timeout.ms": 5000})
    for i in range(n):
        p.produce(topic, value=f"v{i}".encode(), on_delivery=lambda err, msg: results.append(err.code() if err else None))
    p.flush(15)
    assert len(results) == n, "not every delivery was reported within 15 s"
    return results


def weir_acls(b, *args):
    r = subprocess.run([str(WEIR), "acls", "--bootstrap-server", b.bootstrap, *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_write_refused_until_create_acls_then_refused_again_after_delete_acls(broker):
    make_topics(broker, "orders")
    assert produce(conf(broker, "alice"), "orders") == [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 3
    a = admin(broker)
    binding = AclBinding(ResourceType.TOPIC, "orders", ResourcePatternType.LITERAL, "User:alice", "*",
                         AclOperation.WRITE, AclPermissionType.ALLOW)
    for f in a.create_acls([binding]).values():
        assert f.result(20) is None
    assert produce(conf(broker, "alice"), "orders") == [None] * 3
    described = a.describe_acls(AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                                 AclOperation.ANY, AclPermissionType.ANY)).result(20)
    assert described == [binding]
    deleted = list(a.delete_acls([AclBindingFilter(ResourceType.TOPIC, "orders", ResourcePatternType.LITERAL, None, None,
                                                   AclOperation.ANY, AclPermissionType.ANY)]).values())[0].result(20)
    assert deleted == [binding]
    assert produce(conf(broker, "alice"), "orders") == [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 3


def test_deny_beats_allow_and_prefixed_patterns(broker):
    make_topics(broker, "logs-app", "logs-db", "metrics")
    weir_acls(broker, "--add", "--allow-principal", "User:*", "--operation", "All", "--topic", "logs-",
              "--resource-pattern-type", "PREFIXED")
    weir_acls(broker, "--add", "--deny-principal", "User:alice", "--operation", "Write", "--topic", "logs-db")
    assert produce(conf(broker, "alice"), "logs-app") == [None] * 3
    assert produce(conf(broker, "alice"), "logs-db") == [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 3
    assert produce(conf(broker, "bob"), "logs-db") == [None] * 3
    assert produce(conf(broker, "bob"), "metrics") == [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 3


def test_super_users_need_no_acls(broker):
    make_topics(broker, "su")
    assert produce(conf(broker, "admin"), "su") == [None] * 3
    assert produce(conf(broker, "bob"), "su") == [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 3


def test_metadata_and_list_groups_leave_out_what_may_not_be_described(broker):
    make_topics(broker, "visible", "hidden")
    weir_acls(broker, "--add", "--allow-principal", "User:alice", "--consumer", "--topic", "visible", "--group", "alice-g")
    alice_admin, admin_admin = admin(broker, "alice"), admin(broker, "admin")
    assert sorted(alice_admin.list_topics(timeout=10).topics) == ["visible"]
    assert sorted(admin_admin.list_topics(timeout=10).topics) == ["hidden", "visible"]
    # alice reads with her group; the group is listed to her, the admin's other group is not.
    assert produce(conf(broker, "admin"), "visible", 2) == [None, None]
    c = Consumer({**conf(broker, "alice"), "group.id": "alice-g", "auto.offset.reset": "earliest"})
    c.subscribe(["visible"])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < 2 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None:
            assert not m.error(), m.error()
            got.append(m.value())
    c.commit(asynchronous=False)
    c.close()
    assert got == [b"v0", b"v1"]
    other = Consumer({**conf(broker, "admin"), "group.id": "admin-g", "auto.offset.reset": "earliest"})
    other.subscribe(["visible"])
    other.poll(5)
    other.commit(asynchronous=False) if other.assignment() else None
    seen_by_alice = [g.group_id for g in alice_admin.list_consumer_groups().result(20).valid]
    seen_by_admin = sorted(g.group_id for g in admin_admin.list_consumer_groups().result(20).valid)
    other.close()
    assert seen_by_alice == ["alice-g"]
    assert "alice-g" in seen_by_admin and "admin-g" in seen_by_admin


def test_a_consumer_without_the_group_acl_is_refused(broker):
    make_topics(broker, "t")
    weir_acls(broker, "--add", "--allow-principal", "User:bob", "--operation", "Read", "--topic", "t")
    c = Consumer({**conf(broker, "bob"), "group.id": "bob-g", "auto.offset.reset": "earliest"})
    c.subscribe(["t"])
    err = None
    deadline = time.monotonic() + 20
    while err is None and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error():
            err = m.error()
    c.close()
    assert err is not None and err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, err


def test_weir_acls_lists_as_kafka_acls_does_and_removes(broker):
    out = weir_acls(broker, "--add", "--allow-principal", "User:alice", "--producer", "--topic", "orders")
    assert out.startswith("Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`: \n")
    assert weir_acls(broker, "--list", "--topic", "orders") == (
        "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`: \n"
        " \t(principal=User:alice, host=*, operation=CREATE, permissionType=ALLOW)\n"
        " \t(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW)\n"
        " \t(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)\n\n")
    weir_acls(broker, "--remove", "--force", "--topic", "orders")
    assert weir_acls(broker, "--list") == ""


def test_a_mutual_tls_principal_is_what_acls_name(tmp_path):
    pki = make_pki(tmp_path / "pki")
    b = Broker(tmp_path)
    b.tls_port = free_port()
    b.overrides = {
        "listeners": f"PLAINTEXT://127.0.0.1:{b.port},SSL://127.0.0.1:{b.tls_port}",
        "ssl.keystore.location": pki["keystore"], "ssl.truststore.location": pki["ca"], "ssl.client.auth": "required",
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer", "super.users": "User:ANONYMOUS",
    }
    b.start()
    try:
        subprocess.run([str(WEIR), "topics", "--bootstrap-server", b.bootstrap, "--create", "--topic", "certs"],
                       check=True, capture_output=True, timeout=30)
        c = {"bootstrap.servers": f"127.0.0.1:{b.tls_port}", "security.protocol": "SSL", "ssl.ca.location": pki["ca"],
             "ssl.certificate.location": pki["client_cert"], "ssl.key.location": pki["client_key"]}
        assert produce(c, "certs") == [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 3
        weir_acls(b, "--add", "--allow-principal", CLIENT_PRINCIPAL, "--operation", "Write", "--topic", "certs")
        assert produce(c, "certs") == [None] * 3
    finally:
        b.stop()


def test_security_disabled_without_an_authorizer_and_unknown_authorizers_refused(tmp_path):
    b = Broker(tmp_path).start()
    try:
        r = subprocess.run([str(WEIR), "acls", "--bootstrap-server", b.bootstrap, "--list"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "SECURITY_DISABLED" in r.stderr, r.stderr
    finally:
        b.stop()
    r = subprocess.run([str(WEIR), "broker", str(ROOT / "config/server.properties"), "--override", f"log.dirs={tmp_path / 'd2'}",
                        "--override", "authorizer.class.name=com.example.MyAuthorizer"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "authorizer.class.name=com.example.MyAuthorizer is not supported" in r.stderr, r.stderr
