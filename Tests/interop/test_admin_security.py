"""The admin listener secured as issue 11 asks: HTTPS with `admin.ssl.*` (PEM certificates made
with openssl), `admin.auth.token` on every request but /health (a bearer header for scripts, a
login form and a SameSite cookie for the console), and writes refused from another origin."""
import http.cookiejar
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import free_port
from security_support import make_pki

TOKEN = "a-long-admin-token-0123456789"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("admin-pki"))


@pytest.fixture
def https_admin(broker_factory, pki):
    port = free_port()
    b = broker_factory({"admin.listener": f"127.0.0.1:{port}", "admin.auth.token": TOKEN,
                        "admin.ssl.keystore.type": "PEM", "admin.ssl.keystore.location": pki["keystore"]}).start()
    b.admin = f"https://127.0.0.1:{port}"
    b.tls = ssl.create_default_context(cafile=pki["ca"])
    return b


def call(b, path, method="GET", headers=None, data=None, opener=None):
    request = urllib.request.Request(b.admin + path, method=method, headers=headers or {}, data=data)
    try:
        with (opener or urllib.request.build_opener(urllib.request.HTTPSHandler(context=b.tls))).open(request, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_https_and_the_token_guard_every_request_but_health(https_admin):
    b = https_admin
    assert call(b, "/health")[0] == 200
    status, headers, body = call(b, "/v1/topics")
    assert (status, json.loads(body)) == (401, {"error": "admin.auth.token required: send 'Authorization: Bearer <token>'"})
    assert headers["WWW-Authenticate"] == 'Bearer realm="weir-admin"'
    assert call(b, "/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"})[0] == 401
    status, _, body = call(b, "/v1/topics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and json.loads(body)["topics"] == []
    # Plain HTTP on the HTTPS port gets no answer.
    with pytest.raises(Exception):
        urllib.request.urlopen(b.admin.replace("https", "http") + "/health", timeout=5).read()


def test_the_console_signs_in_with_a_form_and_a_strict_cookie(https_admin):
    b = https_admin
    status, _, page = call(b, "/")
    assert status == 401 and b'name="token"' in page
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=b.tls), urllib.request.HTTPCookieProcessor(jar))
    status, _, page = call(b, "/login", "POST", data=b"token=nope", opener=opener)
    assert status == 401 and b"login-error" in page
    status, _, page = call(b, "/login", "POST", data=urllib.parse.urlencode({"token": TOKEN}).encode(), opener=opener)
    assert status == 200 and b"<html" in page.lower()            # redirected to the console
    [cookie] = list(jar)
    assert (cookie.name, cookie.value, cookie.secure, cookie.has_nonstandard_attr("HttpOnly")) == ("weir_admin", TOKEN, True, True)
    assert call(b, "/v1/broker", opener=opener)[0] == 200


def test_writes_from_another_origin_are_refused(https_admin):
    b = https_admin
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, _, body = call(b, "/v1/snapshots", "POST", headers={**auth, "Origin": "https://evil.example"}, data=b"")
    assert status == 403 and "evil.example" in json.loads(body)["error"]
    body = json.dumps({"path": str(b.datadir.parent / "snap")}).encode()
    status, _, _ = call(b, "/v1/snapshots", "POST", headers={**auth, "Origin": b.admin, "Content-Type": "application/json"}, data=body)
    assert status == 201
