"""A real, throwaway PostgreSQL for the whole test session (initdb + pg_ctl in a temp dir on a loopback port),
a fresh database per test, and helpers that start the backend as a real process."""
from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import httpx
import psycopg
import pytest

BACKEND = pathlib.Path(__file__).resolve().parents[1]
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bindir() -> pathlib.Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        pytest.exit("PostgreSQL server binaries are missing: apt-get install postgresql (make test-app does it)", 2)
    return pathlib.Path(found[-1]).parent


class PostgresCluster:
    """initdb/pg_ctl as the `postgres` user when run as root (initdb refuses root), else as the caller."""

    def __init__(self):
        self.bindir = _pg_bindir()
        self.as_postgres = os.geteuid() == 0
        # As root, the cluster lives in the postgres user's home: every folder above it must be traversable by
        # that user, which a /tmp with unusual permissions would not guarantee.
        parent = "/var/lib/postgresql" if self.as_postgres and os.path.isdir("/var/lib/postgresql") else None
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="todo-api-pg-", dir=parent))
        self.data = self.root / "data"
        self.port = free_port()
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self.root.chmod(0o755)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def server_file(self, name: str, content: bytes, mode: int = 0o644) -> pathlib.Path:
        """A file the server reads (certificate, key, pg_hba.conf), owned by the user it runs as."""
        path = self.root / name
        path.write_bytes(content)
        path.chmod(mode)
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)
        return path

    def start(self, *settings: str) -> None:
        """`settings`: more server settings as name=value, e.g. ssl=on."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        opts = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} -c fsync=off"
        opts += "".join(f" -c {setting}" for setting in settings)
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True)

    def create_database(self) -> str:
        name = "todo_" + uuid.uuid4().hex[:12]
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"


@pytest.fixture(scope="session")
def postgres():
    cluster = PostgresCluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def database_url(postgres) -> str:
    """A fresh, empty database for one test."""
    return postgres.url(postgres.create_database())


@pytest.fixture
def backend_env(database_url) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "OPENAI_", "JWT_"))}
    env.update(DATABASE_URL=database_url, JWT_SECRET=JWT_SECRET, LOG_LEVEL="INFO", APP_ENV="test",
               PYTHONPATH=str(BACKEND))
    return env


class BackendProcess:
    """`python -m todo_api` as the container runs it, on a loopback port."""

    def __init__(self, env: dict[str, str]):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "todo_api"], env=dict(env, PORT=str(self.port)),
                                     cwd=BACKEND, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, path: str = "/health/ready", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"backend exited {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(self.base + path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"backend not answering 200 on {path} after {timeout}s: {self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def start_backend():
    started = []

    def start(env: dict[str, str]) -> BackendProcess:
        proc = BackendProcess(env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@contextlib.contextmanager
def app_client(database_url: str, **overrides):
    """The app in-process (FastAPI TestClient) on `database_url`, schema migrated; `overrides` replace settings."""
    from fastapi.testclient import TestClient

    sys.path.insert(0, str(BACKEND))
    from todo_api.config import load_settings
    from todo_api.main import create_app

    settings = dataclasses.replace(load_settings({"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET}), **overrides)
    with TestClient(create_app(settings)) as test_client:
        deadline = time.monotonic() + 20
        while test_client.get("/health/ready").status_code != 200:
            assert time.monotonic() < deadline, test_client.get("/health/ready").json()
            time.sleep(0.05)
        yield test_client


@pytest.fixture
def client(database_url):
    """The app in-process against its own fresh database."""
    with app_client(database_url) as test_client:
        yield test_client


def register_and_login(client, email: str, password: str = "correct-horse") -> dict[str, str]:
    assert client.post("/api/auth/register", json={"email": email, "password": password}).status_code == 201
    token = client.post("/api/auth/login", json={"email": email, "password": password}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}
