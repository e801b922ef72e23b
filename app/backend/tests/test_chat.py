"""POST /api/chat: 503 without OPENAI_API_KEY; with one, answers through an OpenAI-compatible API."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from conftest import register_and_login


class FakeOpenAI:
    """An OpenAI-compatible /v1/chat/completions on loopback that records what it was asked."""

    def __init__(self, delay: float = 0.0, status: int = 200):
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                threading.Event().wait(delay)
                payload = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                                      "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                          "role": "assistant", "content": "echo: " + body["messages"][-1]["content"]}}]})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def fake_openai():
    server = FakeOpenAI()
    yield server
    server.close()


def test_chat_without_an_api_key_is_503_with_a_clear_json_error(client):
    headers = register_and_login(client, "chat@example.com")
    answer = client.post("/api/chat", json={"message": "hello"}, headers=headers)
    assert answer.status_code == 503
    assert "OPENAI_API_KEY" in answer.json()["detail"]


def test_chat_without_an_api_key_leaves_everything_else_working(client):
    headers = register_and_login(client, "other@example.com")
    assert client.post("/api/chat", json={"message": "hello"}, headers=headers).status_code == 503
    assert client.post("/api/todos", json={"title": "still works"}, headers=headers).status_code == 201
    assert client.get("/health/ready").status_code == 200


def test_chat_with_a_key_answers_through_the_openai_api_with_the_configured_model(
        backend_env, start_backend, fake_openai):
    env = dict(backend_env, OPENAI_API_KEY="sk-test-key-123", OPENAI_MODEL="gpt-test-mini",
               OPENAI_BASE_URL=fake_openai.base_url)
    backend = start_backend(env)
    backend.wait_ready()
    with httpx.Client(base_url=backend.base, timeout=10) as http:
        headers = register_and_login(http, "chatter@example.com")
        answer = http.post("/api/chat", json={"message": "hello there"}, headers=headers)
    assert answer.status_code == 200
    assert answer.json() == {"reply": "echo: hello there", "model": "gpt-test-mini"}
    [request] = fake_openai.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test-key-123"
    assert request["body"]["model"] == "gpt-test-mini"
    assert "sk-test-key-123" not in backend.output()


def test_chat_with_a_key_needs_a_bearer_token(backend_env, start_backend, fake_openai):
    backend = start_backend(dict(backend_env, OPENAI_API_KEY="sk-x", OPENAI_BASE_URL=fake_openai.base_url))
    backend.wait_ready()
    assert httpx.post(backend.base + "/api/chat", json={"message": "hi"}, timeout=10).status_code == 401
    assert fake_openai.requests == []


def test_chat_refuses_an_empty_message_with_422(backend_env, start_backend, fake_openai):
    backend = start_backend(dict(backend_env, OPENAI_API_KEY="sk-x", OPENAI_BASE_URL=fake_openai.base_url))
    backend.wait_ready()
    with httpx.Client(base_url=backend.base, timeout=10) as http:
        headers = register_and_login(http, "empty@example.com")
        assert http.post("/api/chat", json={"message": ""}, headers=headers).status_code == 422


def test_chat_refuses_a_lone_surrogate_with_422_before_the_upstream_sees_it(backend_env, start_backend, fake_openai):
    backend = start_backend(dict(backend_env, OPENAI_API_KEY="sk-x", OPENAI_BASE_URL=fake_openai.base_url))
    backend.wait_ready()
    with httpx.Client(base_url=backend.base, timeout=10) as http:
        headers = register_and_login(http, "surrogate@example.com")
        answer = http.post("/api/chat", content=rb'{"message": "\ud800"}',
                           headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "message"]
    assert fake_openai.requests == []


def test_chat_reports_502_when_the_openai_api_fails(backend_env, start_backend):
    failing = FakeOpenAI(status=500)
    try:
        backend = start_backend(dict(backend_env, OPENAI_API_KEY="sk-x", OPENAI_BASE_URL=failing.base_url))
        backend.wait_ready()
        with httpx.Client(base_url=backend.base, timeout=10) as http:
            headers = register_and_login(http, "fail@example.com")
            answer = http.post("/api/chat", json={"message": "hi"}, headers=headers)
        assert answer.status_code == 502 and "500" in answer.json()["detail"]
    finally:
        failing.close()
