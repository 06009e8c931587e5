"""Bad input: every malformed frame closes only its own connection, with one log line; the
broker keeps serving and nothing already acknowledged is lost."""
import socket
import struct
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import api_versions_v0, create_topic, recv_exact


def produce_some(bootstrap, topic, n=50):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(n):
        p.produce(topic, value=f"v{i}".encode())
    assert p.flush(20) == 0


def read_all(bootstrap, topic, n):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    for _ in range(100):
        for m in c.consume(100, 0.2):
            assert not m.error(), m.error()
            got.append(m.value())
        if len(got) >= n:
            break
    c.close()
    return got


def closed_after(port: int, payload: bytes, deadline_s: float = 5.0) -> str:
    """Sends raw bytes; "closed" if the broker closes the connection without answering within
    `deadline_s`, otherwise what happened instead (an answer, or neither: a hang)."""
    with socket.create_connection(("127.0.0.1", port), timeout=deadline_s) as s:
        try:
            s.sendall(payload)
            first = s.recv(1)
        except socket.timeout:
            return f"neither answered nor closed within {deadline_s} s"
        except (BrokenPipeError, ConnectionResetError):
            return "closed"
        return "closed" if first == b"" else f"answered (first byte {first.hex()}) instead of closing"


def request(api_key, version, body=b"", corr=1, client=b"t"):
    payload = struct.pack(">hhih", api_key, version, corr, len(client)) + client + body
    return struct.pack(">i", len(payload)) + payload


def test_malformed_frames_close_the_connection_and_lose_nothing(broker):
    create_topic(broker.bootstrap, "safe")
    produce_some(broker.bootstrap, "safe")
    cases = {
        "negative length": struct.pack(">i", -5) + b"xxxx",
        "oversized length": struct.pack(">i", 200 * 1024 * 1024),
        "unknown api key": request(999, 0),
        "unsupported produce version": request(0, 99),
        "truncated header": struct.pack(">i", 3) + b"\x00\x03\x00",
        "garbage metadata body": request(3, 9, b"\xff\xff\xff\xff\xff\xff\xff"),
        "huge array length": request(3, 1, struct.pack(">i", 0x7fffffff)),
    }
    for name, payload in cases.items():
        verdict = closed_after(broker.port, payload)
        assert verdict == "closed", f"{name}: {verdict}"
        assert broker.alive(), f"broker died on {name}:\n{broker.log_text()}"
    log = broker.log_text()
    assert "closing connection" in log
    assert "socket.request.max.bytes" in log
    assert api_versions_v0(broker.port)[4:6] == b"\x00\x00"
    assert read_all(broker.bootstrap, "safe", 50) == [f"v{i}".encode() for i in range(50)]


def test_corrupt_batch_gets_corrupt_message_and_nothing_is_stored(broker):
    create_topic(broker.bootstrap, "crc")
    produce_some(broker.bootstrap, "crc", 3)
    # A one-record v2 batch with a wrong CRC, in a Produce v3 request (acks=1).
    record = bytes([0x0e, 0x00, 0x00, 0x00, 0x01, 0x02, 0x61, 0x00])  # len 7: attrs 0, tsd 0, od 0, key -1, value "a", 0 headers
    body = struct.pack(">hiqqqhii", 0, 0, 0, 0, -1, -1, -1, 1) + record
    batch_len = 4 + 1 + 4 + len(body)
    batch = struct.pack(">qiib", 0, batch_len, -1, 2) + struct.pack(">I", 0xDEADBEEF) + body
    produce = struct.pack(">h", -1) + struct.pack(">hi", 1, 5000) + struct.pack(">i", 1) + \
        struct.pack(">h", 3) + b"crc" + struct.pack(">i", 1) + struct.pack(">i", 0) + struct.pack(">i", len(batch)) + batch
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
        s.sendall(request(0, 3, produce, corr=42))
        size = struct.unpack(">i", recv_exact(s, 4))[0]
        resp = recv_exact(s, size)
    corr, = struct.unpack(">i", resp[:4])
    assert corr == 42
    # topics[1] name "crc" partitions[1] index 0 error_code
    off = 4 + 4 + 2 + 3 + 4 + 4
    err, = struct.unpack(">h", resp[off:off + 2])
    assert err == 2, f"expected CORRUPT_MESSAGE (2), got {err}"
    assert read_all(broker.bootstrap, "crc", 3) == [b"v0", b"v1", b"v2"]


def test_unknown_api_versions_version_gets_v0_error_35_and_the_list(broker):
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
        s.sendall(request(18, 99, b"\x00\x00\x00", corr=77))
        size, = struct.unpack(">i", recv_exact(s, 4))
        resp = recv_exact(s, size)
    corr, err, n = struct.unpack(">ihi", resp[:10])
    assert (corr, err) == (77, 35)
    apis = {struct.unpack(">h", resp[10 + 6 * i:12 + 6 * i])[0]: struct.unpack(">hh", resp[12 + 6 * i:16 + 6 * i])
            for i in range(n)}
    assert apis[18] == (0, 3) and apis[0] == (0, 9) and apis[1] == (0, 12)
    # The connection stays usable: the client retries at v0.
    assert api_versions_v0(broker.port)[4:6] == b"\x00\x00"


# What a fuzzed request may take before the broker must have answered or closed: no request in
# the corpus asks the broker to wait on anything (long-poll, rebalance) for longer than this.
FUZZ_DEADLINE_S = 10.0
# Far above any answer to a 64-byte request: a size beyond it is a corrupt frame.
FUZZ_MAX_RESPONSE = 1 << 20


def exchange(port: int, frame: bytes, corr: int, deadline_s: float) -> tuple[str, bytes]:
    """Sends one request frame on a fresh connection and waits, at most `deadline_s`, for the
    broker's verdict. Returns ("answered", frame) for a complete response frame carrying `corr`,
    ("closed", b"") when the broker closes without answering, and otherwise a failure: "timeout"
    (neither within the deadline), "truncated" (closed mid-frame), "bad size",
    "wrong correlation id", each with the bytes received."""
    end = time.monotonic() + deadline_s
    with socket.create_connection(("127.0.0.1", port), timeout=deadline_s) as s:
        try:
            s.sendall(frame)
        except (BrokenPipeError, ConnectionResetError):
            return "closed", b""
        got = b""
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return "timeout", got
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return "timeout", got
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return ("closed", b"") if not got else ("truncated", got)
            got += chunk
            if len(got) >= 4:
                size, = struct.unpack(">i", got[:4])
                if not 4 <= size <= FUZZ_MAX_RESPONSE:
                    return "bad size", got
                if len(got) >= 8 and struct.unpack(">i", got[4:8])[0] != corr:
                    return "wrong correlation id", got
                if len(got) >= 4 + size:
                    return "answered", got[:4 + size]


def test_random_requests_never_crash_the_broker(broker):
    """2,000 frames of random bytes behind real request headers of every advertised API, each
    on its own connection: every one gets, within FUZZ_DEADLINE_S, either a complete response
    frame with its correlation id or a close; the broker stays up and loses nothing."""
    import random
    from concurrent.futures import ThreadPoolExecutor
    rnd = random.Random(1234)
    create_topic(broker.bootstrap, "fuzz")
    produce_some(broker.bootstrap, "fuzz", 5)
    apis = [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 32, 33, 35, 37, 42, 44, 47, 60]
    cases = []
    for i in range(2000):
        body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 64)))
        key = rnd.choice(apis)
        version = rnd.randint(0, 12)
        cases.append((i, key, version, body))

    def run(case):
        i, key, version, body = case
        return case, exchange(broker.port, request(key, version, body, corr=i), i, FUZZ_DEADLINE_S)

    # Concurrent connections keep the test fast; each request still has its own connection and
    # deadline, so one that hangs is named, not hidden behind the others.
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(run, cases))
    failures = [f"#{i} api key {key} v{version} body {body.hex() or '(empty)'}: {verdict}, got {got[:64].hex()}"
                for (i, key, version, body), (verdict, got) in outcomes if verdict not in ("answered", "closed")]
    assert broker.alive(), f"broker died during the random requests:\n{broker.log_text()}"
    assert not failures, f"{len(failures)} of 2000 random requests were neither answered nor closed:\n" + \
        "\n".join(failures[:20])
    # Both outcomes occur: the corpus reaches past the frame and header checks into the handlers.
    verdicts = {verdict for _, (verdict, _) in outcomes}
    assert verdicts == {"answered", "closed"}, verdicts
    assert read_all(broker.bootstrap, "fuzz", 5) == [f"v{i}".encode() for i in range(5)]
