"""The web console of a real `weir broker` (admin listener on), driven in headless Chromium with
Selenium: topics and a topic page show the log end offsets confluent-kafka produced to, the
records page shows the exact values, a consumer group's lag falls to 0 on its page while the
page refreshes itself, and a write action is refused while admin.console.writable is unset.
Screenshots of each page go to Tests/interop/artifacts/ (gitignored)."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conftest import create_topic, free_port
from test_admin import admin_broker, http

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WAIT = 20  # seconds any one condition may take; the page refreshes every 2 s


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


def wait(driver, condition, what: str):
    """Waits up to WAIT seconds for `condition(driver)` to be truthy; fails naming `what` otherwise."""
    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(condition, message=f"timed out waiting for {what}")


# Read in one script call: live pages replace their DOM every 2 s, so an element found in one
# WebDriver call may be gone (stale) by the next.
def text_of(driver, css: str) -> str | None:
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;", css)


def attrs(driver, css: str, name: str) -> list[str | None]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.getAttribute(arguments[1]));", css, name)


def shot(driver, name: str):
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def produce(bootstrap: str, topic: str, records: list[tuple[int, bytes | None, bytes]]):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0})
    for partition, key, value in records:
        p.produce(topic, key=key, value=value, partition=partition, headers=[("source", b"test")])
    assert p.flush(20) == 0


def test_topics_topic_page_records_and_a_refused_write(broker_factory, browser):
    b, port = admin_broker(broker_factory)
    create_topic(b.bootstrap, "orders", partitions=3)
    values = [b"order-%d" % i for i in range(10)] + [b"\xff\x00"]
    produce(b.bootstrap, "orders", [(1, b"k%d" % i, v) for i, v in enumerate(values)])
    base = f"http://127.0.0.1:{port}/"

    browser.get(base + "#/topics")
    wait(browser, lambda d: text_of(d, 'tr[data-topic="orders"] td[data-field="records"]') == "11", "the topics table")
    shot(browser, "topics")

    browser.get(base + "#/topics/orders")
    end = 'tr[data-partition="{}"] td[data-field="log_end_offset"]'
    wait(browser, lambda d: text_of(d, end.format(1)) == "11", "partition 1's log end offset")
    assert text_of(browser, end.format(0)) == "0" and text_of(browser, end.format(2)) == "0"
    assert text_of(browser, 'tr[data-config="cleanup.policy"] td:nth-child(2)') == "delete"
    shot(browser, "topic")

    browser.get(base + "#/topics/orders/partitions/1/records?offset=0&max=50")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr[data-offset]")) == 11, "11 record rows")
    cells = browser.find_elements(By.CSS_SELECTOR, "tr[data-offset] td.value")
    assert [c.find_element(By.CSS_SELECTOR, "span.text").text for c in cells] == [v.decode() for v in values[:10]] + ["ff00"]
    assert [c.get_attribute("data-encoding") for c in cells] == ["utf8"] * 10 + ["hex"]
    keys = browser.find_elements(By.CSS_SELECTOR, "tr[data-offset] td.key span.text")
    assert [k.text for k in keys] == ["k%d" % i for i in range(11)]
    shot(browser, "records")

    # The newest records when no offset is given: the last 3.
    browser.get(base + "#/topics/orders/partitions/1/records?max=3")
    wait(browser, lambda d: attrs(d, "tr[data-offset]", "data-offset") == ["8", "9", "10"], "the tail page")

    # A write action asks for confirmation, then is refused (403) while admin.console.writable is unset.
    browser.get(base + "#/topics")
    form = wait(browser, lambda d: d.find_element(By.ID, "create-topic"), "the create form")
    form.find_element(By.NAME, "name").send_keys("refused-topic")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    alert = wait(browser, expected_conditions.alert_is_present(), "the confirmation")
    assert alert.text == "Create topic refused-topic with 1 partition(s)?"
    alert.accept()
    wait(browser, lambda d: text_of(d, "#message.error")
         == "403: the console is read-only: set admin.console.writable=true to allow this", "the refusal")
    shot(browser, "refused-write")
    topics = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=10).topics
    assert "refused-topic" not in topics and "orders" in topics
    assert b.stop() == 0


def test_group_lag_falls_to_zero_while_the_page_refreshes(broker_factory, browser):
    b, port = admin_broker(broker_factory)
    # One partition, so that a commit after 20 records is exactly 20 behind 50 (librdkafka may
    # drain one partition before the other, and only committed partitions have a lag).
    create_topic(b.bootstrap, "events", partitions=1)
    produce(b.bootstrap, "events", [(0, None, b"e%d" % i) for i in range(50)])
    consumer = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "readers", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    try:
        consumer.subscribe(["events"])

        def consume(n: int):
            got, deadline = 0, time.monotonic() + WAIT
            while got < n:
                assert time.monotonic() < deadline, f"consumed {got} of {n}"
                for m in consumer.consume(num_messages=n - got, timeout=0.5):
                    assert m.error() is None, m.error()
                    got += 1
            consumer.commit(asynchronous=False)

        base = f"http://127.0.0.1:{port}/"
        for m in consumer.consume(num_messages=1, timeout=WAIT):  # joined and assigned; nothing committed
            assert m.error() is None, m.error()
        browser.get(base + "#/groups/readers")
        committed = 'tr[data-partition="0"] td[data-field="committed_offset"]'
        wait(browser, lambda d: text_of(d, committed) == "–" and text_of(d, "#group-lag") == "0", "the uncommitted row")
        assert attrs(browser, 'td[data-field="lag"]', "data-lag") == [""]
        consume(19)
        wait(browser, lambda d: text_of(d, "#group-lag") == "30", "a lag of 30")
        assert text_of(browser, "#group-state") == "Stable"
        shot(browser, "group-lagging")

        consume(30)  # the page is not reloaded: its refresh shows the lag fall
        wait(browser, lambda d: text_of(d, "#group-lag") == "0", "a lag of 0")
        assert attrs(browser, 'td[data-field="lag"]', "data-lag") == ["0"]
        assert text_of(browser, 'tr[data-partition="0"] td[data-field="committed_offset"]') == "50"
        shot(browser, "group")

        browser.get(base + "#/groups")
        wait(browser, lambda d: text_of(d, 'tr[data-group="readers"] td[data-field="lag"]') == "0", "the groups table")
        shot(browser, "groups")
    finally:
        consumer.close()
    assert b.stop() == 0


def test_overview_charts_live_rates_and_a_snapshot_from_the_page(broker_factory, browser, tmp_path):
    b, port = admin_broker(broker_factory)
    create_topic(b.bootstrap, "load", partitions=1)
    stop = threading.Event()

    def load():
        p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 5})
        deadline = time.monotonic() + 2 * WAIT  # bounded even if the test thread dies
        while not stop.is_set() and time.monotonic() < deadline:
            for _ in range(50):
                p.produce("load", value=b"x" * 100)
            p.poll(0)
            time.sleep(0.01)
        p.flush(20)

    thread = threading.Thread(target=load)
    thread.start()
    try:
        base = f"http://127.0.0.1:{port}/"
        browser.get(base)
        wait(browser, lambda d: text_of(d, "#broker-id") == "1", "the overview")
        assert text_of(browser, "#topic-count") == "1"
        # The produce series of the records/s chart shows the load (a live, non-zero rate).
        def charted(d):
            lines = attrs(d, ".chart polyline", "points")
            return (text_of(d, ".chart .legend .k1") or "produce 0/s") != "produce 0/s" and \
                len(lines) == 4 and len(lines[0].split()) >= 5
        wait(browser, charted, "a produce rate on the charts")
        shot(browser, "overview")
        browser.set_window_size(390, 844)  # a phone
        shot(browser, "overview-phone")
        browser.set_window_size(1280, 900)
    finally:
        stop.set()
        thread.join(30)

    target = tmp_path / "snap-from-page"
    browser.get(base + "#/snapshots")
    form = wait(browser, lambda d: d.find_element(By.ID, "take-snapshot"), "the snapshot form")
    form.find_element(By.NAME, "path").send_keys(str(target))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: text_of(d, "#message") == f"Snapshot taken in {target}.", "the snapshot")
    status, listed, _ = http(port, "GET", "/v1/snapshots")
    assert status == 200 and [s["path"] for s in listed["snapshots"]] == [str(target)]
    assert target.is_dir()
    shot(browser, "snapshots")
    assert b.stop() == 0


def test_json_endpoints_answer_bad_input_with_4xx_json(broker_factory):
    b, port = admin_broker(broker_factory)
    create_topic(b.bootstrap, "t", partitions=1)
    produce(b.bootstrap, "t", [(0, None, b"v%d" % i) for i in range(5)])
    status, page, _ = http(port, "GET", "/v1/topics/t/partitions/0/records?offset=3&max=10")
    assert status == 200
    assert [(r["offset"], r["value"], r["value_encoding"], r["key_encoding"]) for r in page["records"]] == \
        [(3, "v3", "utf8", "null"), (4, "v4", "utf8", "null")]
    assert page["records"][0]["headers"] == [{"key": "source", "value": "test", "value_encoding": "utf8"}]
    assert page["next_offset"] == 5 and page["log_end_offset"] == 5
    for path, expected in [
        ("/v1/topics/nope", (404, "unknown topic: nope")),
        ("/v1/topics/t/partitions/0/records?offset=-5", (400, "offset must be a non-negative integer, not '-5'")),
        ("/v1/topics/t/partitions/0/records?max=1000000", (400, "max must be an integer from 1 to 500, not '1000000'")),
        ("/v1/topics/t/partitions/9/records", (404, "topic t has no partition 9")),
        ("/v1/groups/nobody", (404, "unknown group: nobody")),
    ]:
        status, body, headers = http(port, "GET", path)
        assert headers["Content-Type"] == "application/json"
        assert (status, body["error"]) == expected, path
    status, body, _ = http(port, "POST", "/v1/topics", {"name": "x"})
    assert (status, body["error"]) == (403, "the console is read-only: set admin.console.writable=true to allow this")
    # A DNS-rebound page (its own name in Host) gets nothing from the loopback-only listener.
    rebound = urllib.request.Request(f"http://127.0.0.1:{port}/v1/topics", headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(rebound, timeout=10)
    assert refused.value.code == 403
    assert json.loads(refused.value.read()) == \
        {"error": "Host 'evil.example' is not a loopback address; this admin listener is loopback-only"}
    assert b.stop() == 0


def post_json(port: int, path: str, body: dict, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_writable_console_creates_a_topic(broker_factory):
    port = free_port()
    b = broker_factory({"admin.listener": f"127.0.0.1:{port}", "admin.console.writable": "true"}).start()
    deadline = time.monotonic() + 10
    while True:
        try:
            status, body = post_json(port, "/v1/topics", {"name": "made", "partitions": 2})
            break
        except OSError:
            assert time.monotonic() < deadline, b.log_text()
            time.sleep(0.05)
    assert status == 201 and body["name"] == "made" and body["partitions"] == 2
    # What a cross-site form can send (no CORS preflight) is refused.
    assert post_json(port, "/v1/topics", {"name": "forged"}, "text/plain") == \
        (415, {"error": "send the body as Content-Type: application/json"})
    assert AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=10).topics["made"].partitions.keys() == {0, 1}
    assert b.stop() == 0
