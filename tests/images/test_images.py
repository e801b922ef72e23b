"""The built images run under `docker run` as the chart runs them, and keep the build report's promises."""
import json
import time

import httpx
import pytest

from conftest import JWT_SECRET, docker, wait_http

HARD_LIMIT_MB = {"backend": 150, "frontend": 200}
TARGET_MB = {"backend": 60, "frontend": 25}


def test_report_names_both_app_images_with_the_same_vx_y_z_tag(report):
    app = {i["component"]: i for i in report["images"] if i["component"] in ("backend", "frontend")}
    assert set(app) == {"backend", "frontend"}
    assert app["backend"]["name"] == "todo-list-backend" and app["frontend"]["name"] == "todo-list-frontend"
    assert app["backend"]["tag"] == app["frontend"]["tag"]
    assert app["backend"]["tag"][0] == "v" and len(app["backend"]["tag"][1:].split(".")) == 3
    for image in app.values():
        assert image["ref"] == f"{image['name']}:{image['tag']}"
        assert docker("image", "inspect", "--format", "{{.Id}}", image["ref"]).stdout.strip() == image["id"]
        assert image["build_seconds"] is not None and image["base_image"]


@pytest.mark.parametrize("component", ["backend", "frontend"])
def test_compressed_size_is_under_the_hard_limit(report, component):
    [image] = [i for i in report["images"] if i["component"] == component]
    assert image["compressed_bytes"] <= HARD_LIMIT_MB[component] * 1_000_000
    if report["offline"]:  # the Debian-made bases are the ones trimmed to the targets
        assert image["compressed_bytes"] <= TARGET_MB[component] * 1_000_000, image["compressed_mb"]


@pytest.mark.parametrize(("component", "uid"), [("backend", "10001"), ("frontend", "101")])
def test_app_images_run_as_a_numeric_non_root_user(images, component, uid):
    user = docker("image", "inspect", "--format", "{{.Config.User}}", images[component]).stdout.strip()
    assert user == f"{uid}:{uid}"
    assert docker("run", "--rm", "--entrypoint", "/bin/sh", images[component], "-c", "id -u").stdout.strip() == uid


@pytest.mark.parametrize("component", ["backend", "frontend", "postgresql"])
def test_images_have_bin_sh_for_kubectl_exec(images, component):
    done = docker("run", "--rm", "--entrypoint", "/bin/sh", images[component], "-c", "echo shell-ok")
    assert done.stdout.strip() == "shell-ok"


def test_backend_image_has_no_pip_compilers_or_caches(images):
    done = docker("run", "--rm", "--entrypoint", "/bin/sh", images["backend"], "-c",
                  "ls /opt/venv/bin; echo ---; command -v gcc cc make apt-get; ls -A /root/.cache 2>/dev/null; ls -A /tmp",
                  check=False)
    venv_bin, found = done.stdout.split("---")
    assert not [name for name in venv_bin.split() if name.startswith("pip")]
    assert found.split() == []


def test_backend_answers_health_and_ready_against_postgresql(stack):
    assert httpx.get(stack["backend"] + "/health").json() == {"status": "ok"}
    assert httpx.get(stack["backend"] + "/health/ready").json() == {"status": "ok"}


def test_frontend_serves_the_page_and_its_config(stack):
    page = httpx.get(stack["frontend"] + "/")
    assert page.status_code == 200 and "<title>Todo list</title>" in page.text
    assert httpx.get(stack["frontend"] + "/app.js").status_code == 200
    config = httpx.get(stack["frontend"] + "/config.json")
    assert config.status_code == 200
    assert config.json() == {"appEnv": "image-test", "featureFlags": {"chat": True}}


def test_frontend_proxies_api_to_the_backend_container(stack):
    base = stack["frontend"]
    assert httpx.post(base + "/api/auth/register", json={"email": "img@example.com", "password": "image-pass"}).status_code == 201
    token = httpx.post(base + "/api/auth/login", json={"email": "img@example.com", "password": "image-pass"}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    created = httpx.post(base + "/api/todos", json={"title": "through nginx"}, headers=headers)
    assert created.status_code == 201
    assert [t["title"] for t in httpx.get(base + "/api/todos", headers=headers).json()] == ["through nginx"]
    unauthenticated = httpx.get(base + "/api/todos")
    assert unauthenticated.status_code == 401 and "detail" in unauthenticated.json()


def test_chat_without_a_key_is_503_through_the_frontend(stack):
    base = stack["frontend"]
    httpx.post(base + "/api/auth/register", json={"email": "chat-img@example.com", "password": "image-pass"})
    answer = httpx.post(base + "/api/chat", json={"message": "hi"})
    assert answer.status_code == 503 and "OPENAI_API_KEY" in answer.json()["detail"]


def test_frontend_starts_and_serves_while_the_backend_does_not_exist(images, containers):
    name = containers.run(images["frontend"], "lonely-frontend", publish=80,
                          env={"API_URL": "http://todo-list-backend:8000"})
    base = containers.url(name, 80)
    assert wait_http(base + "/").status_code == 200
    assert httpx.get(base + "/api/todos", timeout=10).status_code in (502, 504)
    assert httpx.get(base + "/").status_code == 200  # still serving after the failed proxy


def test_frontend_reaches_a_backend_that_appears_after_it_started(images, containers, stack):
    """The backend name is resolved per request: a backend created later is found without a restart."""
    frontend = containers.run(images["frontend"], "early-frontend", publish=80,
                              env={"API_URL": "http://late-backend:8000"})
    base = containers.url(frontend, 80)
    wait_http(base + "/")
    assert httpx.get(base + "/api/todos", timeout=10).status_code in (502, 504)
    docker("network", "connect", "--alias", "late-backend", containers.network, stack["names"]["backend"])
    deadline = time.monotonic() + 30
    while httpx.get(base + "/api/todos", timeout=10).status_code != 401:
        assert time.monotonic() < deadline, "the frontend never reached the late backend"
        time.sleep(1)


def test_backend_container_without_jwt_secret_exits_with_one_clear_line(images):
    done = docker("run", "--rm", "-e", "DATABASE_URL=postgresql://u:p@db/todo", images["backend"], check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == "todo-api: cannot start: missing JWT_SECRET"


def test_backend_container_stops_gracefully_on_docker_stop(images, containers, stack):
    name = containers.run(images["backend"], "stopping-backend", publish=8000, env={
        "DATABASE_URL": "postgresql://todo:x@db:5432/todo", "JWT_SECRET": JWT_SECRET})
    wait_http(containers.url(name, 8000) + "/health")
    started = time.monotonic()
    docker("stop", "-t", "30", name)
    assert time.monotonic() - started < 10
    state = json.loads(docker("inspect", "--format", "{{json .State}}", name).stdout)
    assert state["ExitCode"] in (0, 143) and not state["OOMKilled"]
    assert "Finished server process" in containers.logs(name)


def test_postgres_image_keeps_the_official_contract(images, report):
    if not report["offline"]:
        pytest.skip("online builds use the official postgres:17")
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", images["postgresql"]).stdout)
    assert config["User"] in ("999", "999:999")
    assert "PGDATA=/var/lib/postgresql/data" in config["Env"]
    assert docker("run", "--rm", images["postgresql"], "sh", "-c", "id -u; command -v pg_isready psql initdb").stdout.split()[0] == "999"


def test_postgres_image_initialises_once_and_keeps_its_data_across_restarts(images, containers):
    env = {"POSTGRES_USER": "keeper", "POSTGRES_PASSWORD": "keeper-pw", "POSTGRES_DB": "kept"}
    name = containers.run(images["postgresql"], "pg-restart", restricted=False, env=env)
    sql = ["exec", name, "psql", "-U", "keeper", "-d", "kept", "-tAc"]  # Unix socket: local trust
    deadline = time.monotonic() + 60
    while docker("exec", name, "pg_isready", "-h", "127.0.0.1", check=False).returncode != 0:
        assert time.monotonic() < deadline, containers.logs(name)
        time.sleep(0.5)
    docker(*sql, "CREATE TABLE t (v text); INSERT INTO t VALUES ('survives')")
    docker("restart", name)
    while docker("exec", name, "pg_isready", "-h", "127.0.0.1", check=False).returncode != 0:
        assert time.monotonic() < deadline, containers.logs(name)
        time.sleep(0.5)
    assert docker(*sql, "SELECT v FROM t").stdout.strip() == "survives"
