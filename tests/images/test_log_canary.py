"""The log canary: known secret values are planted (JWT secret, database password, OpenAI key, a user's password),
every error path is driven through nginx and straight at the backend at LOG_LEVEL=DEBUG, and then all backend and
nginx output is searched: none of the values may appear, in any form."""
import base64
import urllib.parse

import httpx
import pytest

from conftest import docker, wait_http, wait_postgres

CANARIES = {
    "database password": "canary-db-pw-5f1c9e",
    "JWT secret": "canary-jwt-secret-7a3d2b-0123456789abcdef",
    "OpenAI key": "sk-canary-openai-9e8d7c",
    "user password": "canary-user-pw-4b6a1f",
}


def _forms(value: str) -> set[str]:
    """The value as a log line could carry it: plain, URL-quoted, base64."""
    return {value, urllib.parse.quote(value), base64.b64encode(value.encode()).decode()}


@pytest.fixture
def canary_stack(images, containers):
    db = containers.run(images["postgresql"], "db", restricted=False, env={
        "POSTGRES_USER": "todo", "POSTGRES_PASSWORD": CANARIES["database password"], "POSTGRES_DB": "todo"})
    wait_postgres(containers, db)
    backend = containers.run(images["backend"], "todo-list-backend", publish=8000, env={
        "DATABASE_URL": f"postgresql://todo:{CANARIES['database password']}@db:5432/todo",
        "JWT_SECRET": CANARIES["JWT secret"], "OPENAI_API_KEY": CANARIES["OpenAI key"],
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # refused: the chat error path, with the key in the request
        "APP_ENV": "test", "LOG_LEVEL": "DEBUG", "FORWARDED_ALLOW_IPS": "*"})
    frontend = containers.run(images["frontend"], "todo-list-frontend", publish=80,
                              env={"API_URL": "http://todo-list-backend:8000"})
    urls = {"backend": containers.url(backend, 8000), "frontend": containers.url(frontend, 80)}
    wait_http(urls["backend"] + "/health/ready")
    wait_http(urls["frontend"] + "/")
    return {"containers": containers, "names": {"db": db, "backend": backend, "frontend": frontend}, **urls}


def _drive_every_error_path(base: str) -> dict[int, int]:
    """Each answer class the API has, with the canary password in every body that carries a password."""
    password = CANARIES["user password"]
    seen: dict[int, int] = {}
    with httpx.Client(base_url=base, timeout=20) as http:
        def call(method, path, expect, **kwargs):
            answer = http.request(method, path, **kwargs)
            assert answer.status_code == expect, (method, path, answer.status_code, answer.text)
            seen[expect] = seen.get(expect, 0) + 1
            return answer

        call("POST", "/api/auth/register", 201, json={"email": "canary@example.com", "password": password})
        call("POST", "/api/auth/register", 409, json={"email": "canary@example.com", "password": password})
        call("POST", "/api/auth/register", 422, json={"email": "not-an-email", "password": password})
        call("POST", "/api/auth/register", 422, json={"email": "c2@example.com", "password": password + "\x00"})
        call("POST", "/api/auth/login", 422, content=f'{{"email": "canary@example.com", "password": "{password}\\ud800"}}',
             headers={"Content-Type": "application/json"})
        token = call("POST", "/api/auth/login", 200, json={"email": "canary@example.com", "password": password}
                     ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        call("GET", "/api/todos", 401, headers={"Authorization": f"Bearer {token}x"})
        call("GET", "/api/todos/2147483648", 422, headers=auth)
        call("GET", "/api/todos/999", 404, headers=auth)
        call("PUT", "/api/todos", 405, headers=auth)
        call("POST", "/api/todos", 413, headers=auth, content=b'{"title": "' + b"x" * 300_000 + b'"}')
        call("POST", "/api/chat", 502, headers=auth, json={"message": f"my password is {password}"})
        for _ in range(10):
            call("POST", "/api/auth/login", 401, json={"email": "canary@example.com", "password": password + "-wrong"})
        call("POST", "/api/auth/login", 429, json={"email": "canary@example.com", "password": password})
    return seen


def test_no_planted_secret_appears_in_any_backend_or_nginx_output(canary_stack):
    stack = canary_stack
    seen = _drive_every_error_path(stack["frontend"])
    seen_direct = _drive_every_error_path_direct(stack)
    logs = {name: stack["containers"].logs(stack["names"][name]) for name in ("backend", "frontend")}
    assert "DEBUG" in logs["backend"] and "POST /api/auth/login" in logs["frontend"]
    assert seen_direct[500] == 1 and seen_direct[503] >= 1 and seen[429] == 1
    for name, output in logs.items():
        for what, value in CANARIES.items():
            for form in _forms(value):
                assert form not in output, f"the {what} appears in the {name} output"


def _drive_every_error_path_direct(stack) -> dict[int, int]:
    """Straight at the backend: a 500 (the schema broken under it) and 503s (the database stopped)."""
    seen: dict[int, int] = {}
    base = stack["backend"]
    password = CANARIES["user password"]
    docker("exec", stack["names"]["db"], "psql", "-U", "todo", "-d", "todo", "-c",
           "ALTER TABLE users RENAME COLUMN password_hash TO broken")
    answer = httpx.post(base + "/api/auth/register", json={"email": "c500@example.com", "password": password}, timeout=20)
    assert answer.status_code == 500 and set(answer.json()) == {"detail", "request_id"}
    seen[500] = 1
    docker("exec", stack["names"]["db"], "psql", "-U", "todo", "-d", "todo", "-c",
           "ALTER TABLE users RENAME COLUMN broken TO password_hash")
    docker("stop", stack["names"]["db"])
    for path in ("/api/auth/login", "/health/ready"):
        method = "POST" if path.startswith("/api") else "GET"
        answer = httpx.request(method, base + path, timeout=20,
                               json={"email": "fresh@example.com", "password": password} if method == "POST" else None)
        assert answer.status_code == 503, (path, answer.text)
        seen[503] = seen.get(503, 0) + 1
    return seen
