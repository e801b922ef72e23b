"""The process as the container runs it: configuration at start, concurrent migrations, SIGTERM."""
import signal
import subprocess
import sys
import threading
import time

import httpx
import psycopg
import pytest

from conftest import BACKEND, register_and_login
from test_chat import FakeOpenAI

# uvicorn drains, shuts the app down, then re-raises the SIGTERM it caught (exit status 143 in a container).
CLEAN_EXIT = (0, -signal.SIGTERM)


def run_to_exit(env, timeout=20):
    return subprocess.run([sys.executable, "-m", "todo_api"], env=env, cwd=BACKEND,
                          capture_output=True, text=True, timeout=timeout)


def test_missing_jwt_secret_exits_at_start_with_one_clear_line(backend_env):
    env = {k: v for k, v in backend_env.items() if k != "JWT_SECRET"}
    done = run_to_exit(env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == ["todo-api: cannot start: missing JWT_SECRET"]


def test_missing_database_settings_exit_at_start_with_one_clear_line(backend_env):
    env = {k: v for k, v in backend_env.items() if k != "DATABASE_URL"}
    env.update(DATABASE_HOST="db", DATABASE_PORT="5432")
    done = run_to_exit(env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "todo-api: cannot start: missing DATABASE_NAME, DATABASE_USER, DATABASE_PASSWORD (or DATABASE_URL)"]


def test_missing_everything_names_every_missing_setting_in_one_line(backend_env):
    env = {k: v for k, v in backend_env.items() if k not in ("DATABASE_URL", "JWT_SECRET")}
    [line] = run_to_exit(env).stderr.strip().splitlines()
    assert "JWT_SECRET" in line and "DATABASE_URL" in line and "DATABASE_HOST" in line


@pytest.mark.parametrize(("name", "value", "line"), [
    ("JWT_SECRET", "x", "JWT_SECRET must be at least 32 bytes"),
    ("JWT_SECRET", "a" * 31, "JWT_SECRET must be at least 32 bytes"),
    ("PORT", "abc", "PORT must be an integer from 1 to 65535"),
    ("PORT", "70000", "PORT must be an integer from 1 to 65535"),
    ("PORT", "-1", "PORT must be an integer from 1 to 65535"),
    ("DATABASE_SSLMODE", "on", "DATABASE_SSLMODE must be one of disable, allow, prefer, require, verify-ca, verify-full (got 'on')"),
    ("DATABASE_SSLROOTCERT", "/missing/ca.crt", "DATABASE_SSLROOTCERT '/missing/ca.crt' is not a readable file"),
])
def test_an_invalid_setting_exits_at_start_with_one_clear_line(backend_env, name, value, line):
    done = run_to_exit(dict(backend_env, **{name: value}))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"todo-api: cannot start: {line}"]


def test_the_chat_upstream_timeout_ends_inside_the_shutdown_drain():
    from todo_api.__main__ import GRACEFUL_SHUTDOWN_SECONDS
    from todo_api.main import CHAT_TIMEOUT

    assert CHAT_TIMEOUT.connect + CHAT_TIMEOUT.read < GRACEFUL_SHUTDOWN_SECONDS


def test_database_settings_from_parts_work_like_a_url(backend_env, postgres, start_backend):
    env = {k: v for k, v in backend_env.items() if k != "DATABASE_URL"}
    dbname = backend_env["DATABASE_URL"].rsplit("/", 1)[1]
    env.update(DATABASE_HOST="127.0.0.1", DATABASE_PORT=str(postgres.port), DATABASE_NAME=dbname,
               DATABASE_USER="postgres", DATABASE_PASSWORD="unused-with-trust-auth")
    backend = start_backend(env)
    backend.wait_ready()
    assert "unused-with-trust-auth" not in backend.output()


def test_secrets_are_never_logged(backend_env, start_backend):
    env = dict(backend_env, LOG_LEVEL="DEBUG", OPENAI_API_KEY="sk-never-log-me", JWT_SECRET="jwt-never-log-me-jwt-never-log-me-0123")
    backend = start_backend(env)
    backend.wait_ready()
    with httpx.Client(base_url=backend.base, timeout=10) as http:
        register_and_login(http, "quiet@example.com", password="pw-never-log-me")
    backend.stop()
    out = backend.output()
    assert "todo-api 1.0.0 starting" in out
    for secret in ("sk-never-log-me", "jwt-never-log-me", "pw-never-log-me"):
        assert secret not in out


def test_two_processes_migrating_the_same_empty_database_at_once_both_succeed(backend_env, start_backend):
    first, second = start_backend(backend_env), start_backend(backend_env)
    first.wait_ready()
    second.wait_ready()
    with psycopg.connect(backend_env["DATABASE_URL"]) as conn:
        tables = sorted(r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    assert tables == ["todos", "users"]
    for backend in (first, second):
        assert "Traceback" not in backend.output()
        assert "schema is up to date" in backend.output()


@pytest.mark.parametrize("attempt", range(3))
def test_migrations_started_in_the_same_instant_are_serialised_by_the_advisory_lock(backend_env, attempt):
    script = ("import sys; from todo_api.config import load_settings; from todo_api.db import make_engine, migrate; "
              "sys.stdin.readline(); migrate(make_engine(load_settings().database_url)); print('migrated')")
    procs = [subprocess.Popen([sys.executable, "-c", script], env=backend_env, cwd=BACKEND, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    time.sleep(1.5)  # both imported and waiting: release them together
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert out.strip() == "migrated"


def test_sigterm_lets_an_in_flight_request_finish_then_exits_cleanly(backend_env, start_backend):
    slow = FakeOpenAI(delay=3.0)
    try:
        backend = start_backend(dict(backend_env, OPENAI_API_KEY="sk-x", OPENAI_BASE_URL=slow.base_url))
        backend.wait_ready()
        with httpx.Client(base_url=backend.base, timeout=30) as http:
            headers = register_and_login(http, "slow@example.com")
        result = {}

        def in_flight():
            result["answer"] = httpx.post(backend.base + "/api/chat", json={"message": "take your time"},
                                          headers=headers, timeout=30)

        request = threading.Thread(target=in_flight)
        request.start()
        deadline = time.monotonic() + 10
        while not slow.requests:  # the request is inside the backend, waiting on the upstream
            assert time.monotonic() < deadline
            time.sleep(0.05)
        sent = time.monotonic()
        backend.proc.send_signal(signal.SIGTERM)
        request.join(30)
        backend.proc.wait(30)
        took = time.monotonic() - sent
        assert result["answer"].status_code == 200
        assert result["answer"].json()["reply"] == "echo: take your time"
        assert backend.proc.returncode in CLEAN_EXIT
        assert took < 25, f"shutdown took {took:.1f}s"
        with pytest.raises(httpx.ConnectError):
            httpx.get(backend.base + "/health", timeout=2)
    finally:
        slow.close()


def test_sigterm_on_an_idle_process_exits_within_seconds(backend_env, start_backend):
    backend = start_backend(backend_env)
    backend.wait_ready()
    sent = time.monotonic()
    backend.proc.send_signal(signal.SIGTERM)
    backend.proc.wait(10)
    assert backend.proc.returncode in CLEAN_EXIT
    assert time.monotonic() - sent < 5
