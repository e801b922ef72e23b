"""The built images under `docker run`: PostgreSQL (the offline todo-k8s/postgres when the report has it),
backend and frontend on a user-defined Docker network, run as the restricted Pod Security Standard runs them
(read-only root, /tmp as tmpfs, every capability dropped, no privilege escalation). Ports are published on
127.0.0.1 only. The images come from the image_build report (IMAGE_BUILD_REPORT, default as the role's)."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import time
import uuid

import httpx
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
REPORT = pathlib.Path(os.environ.get("IMAGE_BUILD_REPORT", os.environ.get("TODO_K8S_CACHE_DIR", "/var/cache/todo-k8s")
                                     + "/reports/images.json"))
RESTRICTED = ["--read-only", "--tmpfs", "/tmp:rw,size=64m", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
DB_PASSWORD = "image-test-password"
JWT_SECRET = "image-test-jwt-secret-of-32-bytes-or-more"


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


@pytest.fixture(scope="session")
def report() -> dict:
    if not REPORT.exists():
        pytest.exit(f"no build report at {REPORT}: build the images first (make images)", 2)
    return json.loads(REPORT.read_text())


@pytest.fixture(scope="session")
def images(report) -> dict[str, str]:
    refs = {image["component"]: image["ref"] for image in report["images"]}
    refs.setdefault("postgresql", "postgres:17")
    return refs


class Containers:
    """Containers and one network made for a test session; everything is removed at the end."""

    def __init__(self):
        self.suffix = uuid.uuid4().hex[:8]
        self.network = f"todo-images-{self.suffix}"
        self.names: list[str] = []
        docker("network", "create", self.network)

    def run(self, image: str, alias: str, *args: str, env: dict[str, str] | None = None, publish: int | None = None,
            restricted: bool = True, volume: str | None = None) -> str:
        name = f"{alias}-{self.suffix}-{len(self.names)}"
        cmd = ["run", "-d", "--name", name, "--network", self.network, "--network-alias", alias]
        cmd += RESTRICTED if restricted else []
        cmd += ["--volume", volume] if volume else []
        for key, value in (env or {}).items():
            cmd += ["-e", f"{key}={value}"]
        if publish:
            cmd += ["-p", f"127.0.0.1::{publish}"]
        docker(*cmd, image, *args)
        self.names.append(name)
        return name

    def url(self, name: str, port: int) -> str:
        host_port = docker("port", name, str(port)).stdout.strip().splitlines()[0].rsplit(":", 1)[1]
        return f"http://127.0.0.1:{host_port}"

    def logs(self, name: str) -> str:
        done = docker("logs", name, check=False)
        return done.stdout + done.stderr

    def close(self):
        for name in self.names:
            docker("rm", "-f", "-v", name, check=False)
        docker("network", "rm", self.network, check=False)


def wait_http(url: str, timeout: float = 60, status: int = 200) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=2)
            if last.status_code == status:
                return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer {status} within {timeout}s (last: {last!r})")


def wait_postgres(containers: Containers, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if docker("exec", name, "pg_isready", "-h", "127.0.0.1", "-U", "todo", "-d", "todo", check=False).returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError(f"PostgreSQL not ready within {timeout}s: {containers.logs(name)}")


@pytest.fixture(scope="session")
def stack(images):
    """PostgreSQL, backend (alias todo-list-backend) and frontend, as the chart wires them."""
    containers = Containers()
    try:
        db = containers.run(images["postgresql"], "db", restricted=False, env={
            "POSTGRES_USER": "todo", "POSTGRES_PASSWORD": DB_PASSWORD, "POSTGRES_DB": "todo"})
        wait_postgres(containers, db)
        backend = containers.run(images["backend"], "todo-list-backend", publish=8000, env={
            "DATABASE_URL": f"postgresql://todo:{DB_PASSWORD}@db:5432/todo", "JWT_SECRET": JWT_SECRET,
            "APP_ENV": "test", "LOG_LEVEL": "INFO", "FORWARDED_ALLOW_IPS": "*"})
        frontend = containers.run(images["frontend"], "todo-list-frontend", publish=80, env={
            "API_URL": "http://todo-list-backend:8000", "APP_ENV": "image-test", "FEATURE_FLAGS": '{"chat": true}'})
        urls = {"backend": containers.url(backend, 8000), "frontend": containers.url(frontend, 80)}
        wait_http(urls["backend"] + "/health/ready")
        wait_http(urls["frontend"] + "/")
        yield {"containers": containers, "names": {"db": db, "backend": backend, "frontend": frontend}, **urls}
    finally:
        containers.close()


@pytest.fixture
def containers():
    made = Containers()
    yield made
    made.close()
