"""What the release does when parts of it fail, observed on the live cluster."""
import time

from live import NAMESPACE, RELEASE, helm, in_cluster_python, pod_host, pods, release_playbook, secret_digest

HEALTH = r"""
import json, urllib.request
with urllib.request.urlopen("http://todo-list-frontend:80/", timeout=5) as page: front = page.status
try:
    urllib.request.urlopen("http://todo-list-frontend:80/api/todos", timeout=5); api = 200
except urllib.error.HTTPError as e: api = e.code
print(json.dumps([front, api]))
"""


def wait_for(what, check, seconds=180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def ready(pod):
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def endpoint_ips(core, service):
    endpoints = core.read_namespaced_endpoints(service, NAMESPACE)
    return sorted(a.ip for s in endpoints.subsets or [] for a in s.addresses or [])


def scale_database(apps, replicas):
    apps.patch_namespaced_stateful_set_scale(f"{RELEASE}-postgresql", NAMESPACE, {"spec": {"replicas": replicas}})


def test_a_deleted_backend_pod_is_replaced_and_serves_again(core):
    (victim,) = pods(core, "backend")
    core.delete_namespaced_pod(victim.metadata.name, NAMESPACE)
    replacement = wait_for("a new Ready backend pod", lambda: [p for p in pods(core, "backend")
                                                              if p.metadata.name != victim.metadata.name and ready(p)])
    assert endpoint_ips(core, f"{RELEASE}-backend") == [replacement[0].status.pod_ip]
    assert wait_for("the app to answer", lambda: in_cluster_python(core, HEALTH) == [200, 401])


def test_backend_leaves_the_endpoints_while_the_database_is_down_and_returns_with_it(core, apps):
    (backend,) = pods(core, "backend")
    restarts = backend.status.container_statuses[0].restart_count
    scale_database(apps, 0)
    try:
        wait_for("the backend to leave the endpoints", lambda: endpoint_ips(core, f"{RELEASE}-backend") == [], 90)
        still = core.read_namespaced_pod(backend.metadata.name, NAMESPACE)
        assert still.status.phase == "Running" and not ready(still)
        assert still.status.container_statuses[0].restart_count == restarts, "liveness must not restart it"
    finally:
        scale_database(apps, 1)
    wait_for("the backend to return", lambda: endpoint_ips(core, f"{RELEASE}-backend") == [backend.status.pod_ip], 180)
    assert core.read_namespaced_pod(backend.metadata.name, NAMESPACE).status.container_statuses[0].restart_count == restarts


def test_an_upgrade_to_a_missing_image_rolls_back_and_the_app_keeps_serving(core):
    before = helm("history", RELEASE, "-o", "json").stdout
    result = release_playbook(helm_release_image_tag="v9.9.9", helm_release_wait_timeout="90s")
    assert result.returncode != 0, "an upgrade to an image that does not exist must fail"
    status = helm("status", RELEASE, "-o", "json")
    assert '"status":"deployed"' in status.stdout.replace(" ", "") and '"app_version":"v1.0.0"' in helm(
        "list", "-o", "json").stdout.replace(" ", ""), status.stdout
    assert len(helm("history", RELEASE, "-o", "json").stdout) > len(before)
    assert {p.spec.containers[0].image.rsplit(":", 1)[1] for p in pods(core, "backend") if ready(p)} == {"v1.0.0"}
    assert in_cluster_python(core, HEALTH) == [200, 401]


def test_a_liveness_failure_restarts_the_container(core):
    (frontend,) = pods(core, "frontend")
    restarts = frontend.status.container_statuses[0].restart_count
    # Freeze every nginx process (workers, then the master): liveness (/, 3 × 10 s) must restart the container.
    pod_host(frontend, "frontend").run("kill -STOP -1; kill -STOP 1")
    wait_for("the frontend container to restart", lambda: core.read_namespaced_pod(
        frontend.metadata.name, NAMESPACE).status.container_statuses[0].restart_count > restarts, 150)
    wait_for("the frontend to be Ready again", lambda: ready(core.read_namespaced_pod(frontend.metadata.name, NAMESPACE)))


WRITE = r"""
call("POST", "/api/auth/register", {"email": "reinstall@example.com", "password": "reinstall-password"})
token = call("POST", "/api/auth/login", {"email": "reinstall@example.com", "password": "reinstall-password"})[1]["access_token"]
call("POST", "/api/todos", {"title": "written before the uninstall"}, token)
print(json.dumps(token))
"""
READ = r"""
with_old_token = call("GET", "/api/todos", token=TOKEN)
login = call("POST", "/api/auth/login", {"email": "reinstall@example.com", "password": "reinstall-password"})
print(json.dumps([with_old_token[0], sorted(t["title"] for t in with_old_token[1]), login[0]]))
"""


def test_uninstall_then_reinstall_keeps_the_todos_the_accounts_and_the_tokens(core):
    token = in_cluster_python(core, WRITE)
    secrets = {(name, key): secret_digest(core, name, key) for name, key in
               [(f"{RELEASE}-postgresql", "POSTGRES_PASSWORD"), (f"{RELEASE}-backend-secret", "JWT_SECRET")]}
    result = release_playbook(helm_release_action="uninstall")
    assert result.returncode == 0, result.stdout[-3000:]
    assert helm("status", RELEASE).returncode != 0, "the release is gone"
    assert core.read_namespaced_persistent_volume_claim(f"data-{RELEASE}-postgresql-0", NAMESPACE).status.phase == "Bound"
    assert {k: secret_digest(core, *k) for k in secrets} == secrets, "uninstall keeps the generated Secrets"
    result = release_playbook()
    assert result.returncode == 0, result.stdout[-3000:]
    assert {k: secret_digest(core, *k) for k in secrets} == secrets, "the reinstall adopts them unchanged"
    assert in_cluster_python(core, f"TOKEN = {token!r}\n" + READ) == [200, ["written before the uninstall"], 200]
