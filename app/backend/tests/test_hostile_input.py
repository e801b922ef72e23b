"""What an attacker or a fuzzer sends: every answer is a 4xx with a JSON body, never a 500, and nothing sent is
echoed back. One test (or a few) per row of the hostile-input table of issue 15."""
import hashlib
import http.client
import json
import socket

import httpx
import pytest

from conftest import JWT_SECRET, app_client, register_and_login

BIG_ID = 2**31  # one past PostgreSQL's integer


@pytest.fixture
def ann(client):
    return register_and_login(client, "ann@example.com")


def post_raw(client, path: str, raw: bytes, headers=None):
    return client.post(path, content=raw, headers={"Content-Type": "application/json", **(headers or {})})


# --- ids out of PostgreSQL's integer range ------------------------------------------------------------------------

@pytest.mark.parametrize("todo_id", [BIG_ID, 2**63, 0, -1])
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_todo_id_out_of_range_is_422_not_500(client, ann, method, todo_id):
    answer = client.request(method, f"/api/todos/{todo_id}", headers=ann,
                            json={"completed": True} if method == "PATCH" else None)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["path", "todo_id"]


def test_an_out_of_range_id_keeps_the_keep_alive_connection(backend_env, start_backend):
    backend = start_backend(backend_env)
    backend.wait_ready()
    with httpx.Client(base_url=backend.base, timeout=10) as api:
        headers = register_and_login(api, "keep@example.com")
    conn = http.client.HTTPConnection("127.0.0.1", backend.port, timeout=10)
    try:
        sockets = []
        for path, status in ((f"/api/todos/{BIG_ID}", 422), ("/api/todos", 200)):
            conn.request("GET", path, headers=headers)
            answer = conn.getresponse()
            answer.read()
            assert answer.status == status
            sockets.append(conn.sock)
        assert sockets[0] is not None and sockets[0] is sockets[1]  # one connection served both
    finally:
        conn.close()


def test_a_token_for_an_id_out_of_range_is_401_not_500(client):
    import jwt
    token = jwt.encode({"sub": str(BIG_ID), "exp": 4102444800}, JWT_SECRET, algorithm="HS256")
    assert client.get("/api/todos", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# --- NUL bytes and lone surrogates --------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "field", "body"), [
    ("/api/todos", "title", {"title": "a\x00b"}),
    ("/api/todos", "description", {"title": "t", "description": "a\x00b"}),
    ("/api/auth/register", "email", {"email": "a\x00b@example.com", "password": "long-enough"}),
    ("/api/auth/login", "email", {"email": "a\x00b@example.com", "password": "long-enough"}),
    ("/api/auth/register", "password", {"email": "nul@example.com", "password": "long-\x00-enough"}),
])
def test_a_nul_character_is_422_naming_the_field(client, ann, path, field, body):
    answer = client.post(path, json=body, headers=ann)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", field]


def test_a_nul_character_in_a_patched_title_is_422(client, ann):
    todo = client.post("/api/todos", json={"title": "t"}, headers=ann).json()
    answer = client.patch(f"/api/todos/{todo['id']}", json={"title": "\x00"}, headers=ann)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "title"]


@pytest.mark.parametrize(("path", "raw"), [
    ("/api/todos", rb'{"title": "\ud800"}'),
    ("/api/todos", rb'{"title": "ok", "description": "x\udfffy"}'),
    ("/api/auth/register", rb'{"email": "\ud800@example.com", "password": "long-enough"}'),
    ("/api/auth/login", rb'{"email": "a@example.com", "password": "long-\ud800-enough"}'),
])
def test_a_lone_surrogate_in_any_string_is_422(client, ann, path, raw):
    answer = post_raw(client, path, raw, ann)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][0] == "body"


def test_a_body_that_is_not_utf8_is_a_4xx_json_answer(client, ann):
    answer = post_raw(client, "/api/todos", b'{"title": "\xff\xfe"}', ann)
    assert answer.status_code in (400, 422) and "detail" in answer.json()


# --- bodies over the limit ----------------------------------------------------------------------------------------

def _rss_peak_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def _raw_exchange(port: int, head: bytes, chunks=()) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the body ended, as it should
        answer = b""
        while data := sock.recv(65536):
            answer += data
        return answer


def test_a_100_mb_body_is_413_before_it_is_read_and_memory_stays_flat(backend_env, start_backend):
    backend = start_backend(backend_env)
    backend.wait_ready()
    before = _rss_peak_kib(backend.proc.pid)
    head = (b"POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n")
    answer = _raw_exchange(backend.port, head)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["detail"].startswith("request body over")
    chunk = b'{"email": "' + b"a" * 1_000_000
    chunked = (b"POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
    body = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 100  # 100 MB, no length announced
    assert _raw_exchange(backend.port, chunked, body).startswith(b"HTTP/1.1 413 ")
    assert _rss_peak_kib(backend.proc.pid) - before < 20 * 1024, "the backend held the body in memory"
    assert httpx.get(backend.base + "/health", timeout=5).status_code == 200


def test_a_body_at_the_limit_is_parsed_and_one_byte_over_is_413(client, ann):
    limit = client.app.state.settings.max_body_bytes
    body = b'{"title": "t", "description": "' + b"x" * 100 + b'"}'
    assert post_raw(client, "/api/todos", body, ann).status_code == 201
    over = b'{"title": "t", "description": "' + b"x" * limit + b'"}'
    answer = post_raw(client, "/api/todos", over, ann)
    assert answer.status_code == 413 and "detail" in answer.json()


def test_the_largest_valid_todo_json_escaped_fits_under_the_limit(client, ann):
    body = json.dumps({"title": "\U0001F600" * 500, "description": "\U0001F600" * 10_000}).encode()  # ensure_ascii
    assert post_raw(client, "/api/todos", body, ann).status_code == 201


# --- login throttling and the same work for unknown and known emails ---------------------------------------------

class Clock:
    """The throttle's clock, moved by the test: windows end without waiting for them."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def throttled_client(database_url):
    """The app with small limits (5 per account, 8 per address) and a clock the test moves."""
    with app_client(database_url, login_failures_per_account=5, login_failures_per_address=8) as test_client:
        test_client.clock = test_client.app.state.throttle.clock = Clock()
        yield test_client


def _login(client, email, password):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_60_wrong_passwords_for_one_account_get_429_with_retry_after_even_for_the_right_one(client):
    register_and_login(client, "victim@example.com", password="the-right-one")
    answers = [_login(client, "victim@example.com", f"wrong-{i:04d}") for i in range(60)]
    codes = [answer.status_code for answer in answers]
    limit = client.app.state.settings.login_failures_per_account
    assert codes == [401] * limit + [429] * (60 - limit)
    assert 0 < int(answers[-1].headers["retry-after"]) <= client.app.state.settings.login_window_seconds
    assert _login(client, "victim@example.com", "the-right-one").status_code == 429


def test_the_account_limit_ends_with_its_window_and_a_success_clears_it(throttled_client):
    client = throttled_client
    register_and_login(client, "w@example.com", password="the-right-one")
    for _ in range(5):
        assert _login(client, "w@example.com", "wrong-password").status_code == 401
    answer = _login(client, "w@example.com", "the-right-one")
    assert answer.status_code == 429 and answer.headers["retry-after"] == "900"
    client.clock.now += 600
    assert _login(client, "w@example.com", "the-right-one").headers["retry-after"] == "300"
    client.clock.now += 300
    assert _login(client, "w@example.com", "the-right-one").status_code == 200
    for _ in range(4):
        assert _login(client, "w@example.com", "wrong-password").status_code == 401
    assert _login(client, "w@example.com", "the-right-one").status_code == 200  # cleared: 4 more allowed
    assert _login(client, "w@example.com", "wrong-password").status_code == 401


def test_failures_across_many_accounts_from_one_address_get_429(throttled_client):
    client = throttled_client
    register_and_login(client, "z@example.com", password="the-right-one")
    codes = [_login(client, f"guess{i}@example.com", "wrong-password").status_code for i in range(10)]
    assert codes == [401] * 8 + [429] * 2
    assert _login(client, "z@example.com", "the-right-one").status_code == 429  # the address is throttled


def test_login_of_an_unknown_email_costs_the_same_hash_as_a_wrong_password(client, monkeypatch):
    register_and_login(client, "known@example.com")
    calls = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **kw: calls.append(kw["n"] * kw["r"] * kw["p"]) or real(*a, **kw))
    assert _login(client, "nobody@example.com", "whatever-pass").status_code == 401
    unknown = list(calls)
    calls.clear()
    assert _login(client, "known@example.com", "whatever-pass").status_code == 401
    assert unknown == calls and len(calls) == 1


def test_an_old_weaker_hash_still_logs_in_and_is_replaced_by_the_current_one(client):
    import base64
    import os

    from todo_api import security
    from todo_api.db import User

    salt = os.urandom(16)
    old = "scrypt$16384$8$1${}${}".format(base64.b64encode(salt).decode(), base64.b64encode(
        hashlib.scrypt(b"old-password", salt=salt, n=2**14, r=8, p=1, dklen=32)).decode())
    with client.app.state.engine.begin() as conn:
        conn.execute(User.__table__.insert().values(email="old@example.com", password_hash=old))
    assert _login(client, "old@example.com", "old-password").status_code == 200
    with client.app.state.engine.connect() as conn:
        stored = conn.execute(User.__table__.select().where(User.email == "old@example.com")).one().password_hash
    assert stored != old and not security.needs_rehash(stored)
    assert _login(client, "old@example.com", "old-password").status_code == 200


# --- what a 4xx says: never the values sent -----------------------------------------------------------------------

def test_a_422_never_echoes_the_submitted_password(client):
    answer = client.post("/api/auth/register", json={"email": "bad", "password": "Xq9#"})
    assert answer.status_code == 422
    assert "Xq9#" not in answer.text and "input" not in answer.text
    assert {error["loc"][-1] for error in answer.json()["detail"]} == {"email", "password"}


@pytest.mark.parametrize("email", ["x@y..z", "x@.example.com", "x@example.com.", "x@-a.com", "x@a-.com", "x@123"])
def test_an_email_with_an_empty_or_malformed_label_is_422(client, email):
    assert client.post("/api/auth/register", json={"email": email, "password": "long-enough"}).status_code == 422


@pytest.mark.parametrize("email", ["first.last+tag@sub.example.co.uk", "o'hara@example.com", "a@xn--p1ai.xn--p1ai"])
def test_ordinary_addresses_are_accepted(client, email):
    assert client.post("/api/auth/register", json={"email": email, "password": "long-enough"}).status_code == 201


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "1", None])
def test_completed_must_be_a_json_boolean(client, ann, value):
    todo = client.post("/api/todos", json={"title": "t"}, headers=ann).json()
    answer = client.patch(f"/api/todos/{todo['id']}", json={"completed": value}, headers=ann)
    if value is None:  # null means "leave it"
        assert answer.status_code == 200 and answer.json()["completed"] is False
    else:
        assert answer.status_code == 422


def test_an_unknown_field_is_422_not_silently_dropped(client, ann):
    answer = client.post("/api/todos", json={"title": "t", "titel": "typo"}, headers=ann)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "titel"]


# --- chat, docs, the contract -------------------------------------------------------------------------------------

def test_chat_without_a_token_is_401_even_when_chat_is_disabled(client):
    answer = client.post("/api/chat", json={"message": "hello"})
    assert answer.status_code == 401 and "OPENAI" not in answer.text


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_docs_and_the_schema_are_not_served_in_production(backend_env, start_backend, path):
    backend = start_backend(dict(backend_env, APP_ENV="production"))
    backend.wait_ready()
    assert httpx.get(backend.base + path, timeout=5).status_code == 404
    assert httpx.get(backend.base + "/health", timeout=5).status_code == 200


def test_docs_are_served_outside_production(client):
    assert client.get("/docs").status_code == 200 and client.get("/openapi.json").status_code == 200


def test_the_schema_declares_the_bearer_scheme_and_every_error_the_api_answers(client):
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": "The access_token from POST /api/auth/login"}
    ops = schema["paths"]
    for path, method in [("/api/todos", "get"), ("/api/todos", "post"), ("/api/todos/{todo_id}", "patch"),
                         ("/api/chat", "post")]:
        assert ops[path][method]["security"] == [{"HTTPBearer": []}]
        assert {"401", "413", "422"} <= set(ops[path][method]["responses"])
    assert {"404", "503"} <= set(ops["/api/todos/{todo_id}"]["delete"]["responses"])
    assert {"409"} <= set(ops["/api/auth/register"]["post"]["responses"])
    assert {"401", "429"} <= set(ops["/api/auth/login"]["post"]["responses"])
    assert {"502", "503", "504"} <= set(ops["/api/chat"]["post"]["responses"])
    assert "security" not in ops["/api/auth/login"]["post"]
    parts = schema["components"]["schemas"]
    assert parts["Credentials"]["properties"]["email"]["format"] == "email"
    assert parts["TodoCreate"]["properties"]["title"]["minLength"] == 1
    assert parts["TodoCreate"]["additionalProperties"] is False
    id_schema = ops["/api/todos/{todo_id}"]["get"]["parameters"][0]["schema"]
    assert (id_schema["minimum"], id_schema["maximum"]) == (1, 2**31 - 1)


# What the server enforces and what the schema says must be the same, or a client (and schemathesis) builds a
# request the schema allows and gets a 422. A constraint put on top of a validator is enforced but left out of the
# schema by pydantic: the title's pattern once was.
@pytest.mark.parametrize("model, field, stated", [
    ("TodoCreate", "title", {"minLength": 1, "maxLength": 500, "pattern": "[^ \\t\\n\\v\\f\\r]"}),
    ("TodoUpdate", "title", {"minLength": 1, "maxLength": 500, "pattern": "[^ \\t\\n\\v\\f\\r]"}),
    ("TodoCreate", "description", {"maxLength": 10_000}),
    ("Credentials", "email", {"maxLength": 254, "format": "email"}),
    ("Credentials", "password", {"minLength": 8, "maxLength": 256}),
    ("ChatIn", "message", {"minLength": 1, "maxLength": 4000}),
])
def test_the_schema_states_every_constraint_the_server_enforces_on_a_string(client, model, field, stated):
    prop = client.get("/openapi.json").json()["components"]["schemas"][model]["properties"][field]
    string = next(s for s in prop.get("anyOf", [prop]) if s["type"] == "string")
    assert {key: string.get(key) for key in stated} == stated


def test_a_whitespace_only_title_is_422_as_the_schema_says(client, ann):
    for title in ["\v", " \t\n\f\r "]:
        r = client.post("/api/todos", json={"title": title}, headers=ann)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "title"]


def test_a_method_the_path_does_not_have_is_405_listing_every_method_it_has(client, ann):
    answer = client.request("OPTIONS", "/api/todos/1", headers=ann)
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == {"GET", "PATCH", "DELETE"}
    assert set(client.request("PUT", "/api/todos").headers["allow"].split(", ")) == {"GET", "POST"}


# --- a 500 says nothing but its request id ------------------------------------------------------------------------

def test_an_unhandled_error_is_a_json_500_with_the_request_id_and_logs_no_values(client, ann, caplog):
    with client.app.state.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE users RENAME COLUMN password_hash TO gone")  # every later query fails
    answer = client.post("/api/auth/register", json={"email": "err@example.com", "password": "leak-me-not"},
                         headers={"X-Request-ID": "req-abc-123"})
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error", "request_id": "req-abc-123"}
    assert answer.headers["x-request-id"] == "req-abc-123"
    logged = caplog.text
    assert "req-abc-123" in logged and "ProgrammingError" in logged
    for value in ("err@example.com", "leak-me-not", "scrypt$", "Traceback"):
        assert value not in logged


def test_a_request_id_that_is_not_a_plain_token_is_replaced(client):
    answer = client.get("/health", headers={"X-Request-ID": "evil\x1b[31m id"})
    assert answer.headers["x-request-id"] != "evil\x1b[31m id" and len(answer.headers["x-request-id"]) == 32
