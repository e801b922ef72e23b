"""The built images run under `docker run` as the chart runs them, and keep the build report's promises."""
import hashlib
import json
import subprocess
import tarfile
import time
import zlib

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


def test_the_reported_size_is_the_sum_of_the_image_layers_each_gzip_compressed(report):
    """Measured here apart from the role: one `docker save`, each layer gzip-compressed at level 6, summed."""
    [image] = [i for i in report["images"] if i["component"] == "frontend"]
    diff_ids = json.loads(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", image["ref"]).stdout)
    sizes = {}
    with subprocess.Popen(["docker", "save", image["ref"]], stdout=subprocess.PIPE) as save:
        with tarfile.open(fileobj=save.stdout, mode="r|") as archive:
            for member in archive:
                if member.isfile() and member.name.endswith("/layer.tar"):
                    data = archive.extractfile(member).read()
                    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
                    sizes["sha256:" + hashlib.sha256(data).hexdigest()] = len(compressor.compress(data) + compressor.flush())
    assert set(diff_ids) <= set(sizes)
    assert image["compressed_bytes"] == sum(sizes[d] for d in diff_ids)


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


def test_chat_without_a_key_is_401_without_a_token_and_503_with_one_through_the_frontend(stack):
    base = stack["frontend"]
    httpx.post(base + "/api/auth/register", json={"email": "chat-img@example.com", "password": "image-pass"})
    assert httpx.post(base + "/api/chat", json={"message": "hi"}).status_code == 401
    token = httpx.post(base + "/api/auth/login", json={"email": "chat-img@example.com", "password": "image-pass"}
                       ).json()["access_token"]
    answer = httpx.post(base + "/api/chat", json={"message": "hi"}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 503 and "OPENAI_API_KEY" in answer.json()["detail"]


SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin",
                    "content-security-policy": "default-src 'self'"}


@pytest.mark.parametrize("path", ["/", "/app.js", "/config.json", "/no-such-page", "/api/todos"])
def test_every_frontend_answer_has_the_four_security_headers(stack, path):
    answer = httpx.get(stack["frontend"] + path)
    assert {name: answer.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
    if path == "/config.json":
        assert answer.headers["cache-control"] == "no-store"


def test_a_body_over_the_limit_is_a_json_413_from_nginx(stack):
    answer = httpx.post(stack["frontend"] + "/api/auth/register", content=b"x" * 200_000,
                        headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["detail"].startswith("request body over")
    assert {name: answer.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS


def test_api_calls_are_a_json_502_from_nginx_while_the_backend_does_not_answer(images, containers):
    """A frontend whose backend Service has no pod yet: the page is served, /api/ answers JSON, never nginx's HTML."""
    frontend = containers.run(images["frontend"], "todo-list-frontend", publish=80, env={
        "API_URL": "http://todo-list-backend:8000", "APP_ENV": "image-test", "FEATURE_FLAGS": "{}"})
    base = containers.url(frontend, 80)
    wait_http(base + "/")
    answer = httpx.get(base + "/api/todos", timeout=30)
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"detail": "the backend is unavailable"}
    assert {name: answer.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS


def test_the_request_id_of_nginx_reaches_the_backend(stack):
    answer = httpx.get(stack["frontend"] + "/api/todos")
    request_id = answer.headers["x-request-id"]
    assert len(request_id) == 32  # nginx's $request_id, passed on and returned by the backend
    assert f"id={request_id}" in stack["containers"].logs(stack["names"]["frontend"])


def test_a_throttled_login_is_a_429_with_retry_after_through_the_frontend(stack):
    base = stack["frontend"]
    httpx.post(base + "/api/auth/register", json={"email": "throttle-img@example.com", "password": "image-pass"})
    answers = [httpx.post(base + "/api/auth/login", json={"email": "throttle-img@example.com", "password": "wrong-pass"})
               for _ in range(11)]
    assert [answer.status_code for answer in answers] == [401] * 10 + [429]
    assert int(answers[-1].headers["retry-after"]) > 0 and "detail" in answers[-1].json()
