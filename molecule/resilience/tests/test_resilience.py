"""What the release does when parts of it fail, observed on the live cluster."""
import hashlib
import os
import pathlib
import shutil
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


CACHE = pathlib.Path(os.environ.get("TODO_K8S_CACHE_DIR", "/var/cache/todo-k8s"))


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
    result = release_playbook(helm_release_image_tag="v9.9.9", helm_release_wait_timeout="20s")
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
call("POST", "/api/auth/register", {"email": EMAIL, "password": PASSWORD})
token = call("POST", "/api/auth/login", {"email": EMAIL, "password": PASSWORD})[1]["access_token"]
call("POST", "/api/todos", {"title": TITLE}, token)
print(json.dumps(token))
"""


def write_todo(core, account, title):
    """Register account@example.com, log in and write one todo through the frontend; returns the token."""
    return in_cluster_python(core, f"EMAIL = {account + '@example.com'!r}\nPASSWORD = {account + '-password'!r}\n"
                                   f"TITLE = {title!r}\n" + WRITE)


READ = r"""
with_old_token = call("GET", "/api/todos", token=TOKEN)
login = call("POST", "/api/auth/login", {"email": "reinstall@example.com", "password": "reinstall-password"})
print(json.dumps([with_old_token[0], sorted(t["title"] for t in with_old_token[1]), login[0]]))
"""


def test_uninstall_then_reinstall_keeps_the_todos_the_accounts_and_the_tokens(core):
    token = write_todo(core, "reinstall", "written before the uninstall")
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


LISTED = r"""
listed = call("GET", "/api/todos", token=TOKEN)
print(json.dumps([listed[0], sorted(t["title"] for t in listed[1]) if listed[0] == 200 else None]))
"""


def psql(core, sql):
    (database,) = pods(core, "postgresql")
    return pod_host(database, "postgresql").run(
        "sh -c %s", f'psql -h /var/run/postgresql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 -c "{sql}"')


def test_an_upgrade_backs_up_the_database_first_and_restore_brings_a_dropped_table_back(core, tmp_path):
    token = write_todo(core, "backup", "in the backup")
    backups = tmp_path / "backups"
    result = release_playbook(helm_release_backup_dir=str(backups), helm_release_backup_keep=2,
                              helm_release_values={"backend": {"podAnnotations": {"todo-k8s.test/backup": "1"}}})
    assert result.returncode == 0, result.stdout[-3000:]
    (dump,) = backups.iterdir()
    assert dump.name.startswith(f"{NAMESPACE}-{RELEASE}-") and dump.name.endswith(".dump") and dump.read_bytes()[:5] == b"PGDMP"
    assert (dump.stat().st_mode & 0o777, backups.stat().st_mode & 0o777) == (0o600, 0o700)

    assert psql(core, "DROP TABLE todos").rc == 0
    assert in_cluster_python(core, f"TOKEN = {token!r}\n" + LISTED)[0] >= 500, "the table is gone"
    result = release_playbook("restore.yml", helm_release_backup_dir=str(backups))
    assert result.returncode == 0, result.stdout[-3000:]
    assert in_cluster_python(core, f"TOKEN = {token!r}\n" + LISTED) == [200, ["in the backup"]]

    second = release_playbook(helm_release_backup_dir=str(backups), helm_release_backup_keep=2,
                              helm_release_values={"backend": {"podAnnotations": {"todo-k8s.test/backup": "2"}}})
    third = release_playbook(helm_release_backup_dir=str(backups), helm_release_backup_keep=2)
    assert second.returncode == third.returncode == 0, (second.stdout + third.stdout)[-3000:]
    assert len(list(backups.iterdir())) == 2, "only the newest helm_release_backup_keep are kept"


def test_restore_without_a_backup_stops_in_one_line_before_the_database_is_touched(tmp_path):
    result = release_playbook("restore.yml", helm_release_backup_dir=str(tmp_path))
    assert result.returncode != 0 and f"no {NAMESPACE}-{RELEASE}-*.dump in {tmp_path}" in result.stdout, result.stdout[-2000:]


def test_a_new_database_password_in_the_inventory_takes_effect_and_keeps_the_data(core, tmp_path):
    token = write_todo(core, "rotate", "before the rotation")
    before = secret_digest(core, f"{RELEASE}-postgresql", "POSTGRES_PASSWORD")
    new_password = "rotated-" + hashlib.sha256(before.encode()).hexdigest()[:24]  # also a canary: shown nowhere
    rotate = {"helm_release_backup_dir": str(tmp_path), "helm_release_values": {"postgresql": {"auth": {"password": new_password}}}}
    preview = release_playbook("release.yml", "--check", "--diff", "-vvv", **rotate)
    assert preview.returncode == 0 and "Secret/todo-list-postgresql" in preview.stdout, preview.stdout[-3000:]
    result = release_playbook("release.yml", "-vvv", **rotate)
    assert result.returncode == 0, result.stdout[-3000:]
    for output in (preview, result):
        assert new_password not in output.stdout + output.stderr, "the new password was printed"
    written = [p for folder in (CACHE / "helm-release", pathlib.Path.home() / ".cache" / "todo-k8s", tmp_path)
               if folder.exists() for p in folder.rglob("*") if p.is_file() and new_password.encode() in p.read_bytes()]
    assert written == [], "the new password was written to a file"
    assert secret_digest(core, f"{RELEASE}-postgresql", "POSTGRES_PASSWORD") == hashlib.sha256(new_password.encode()).hexdigest()
    assert in_cluster_python(core, HEALTH) == [200, 401]
    assert in_cluster_python(core, f"TOKEN = {token!r}\n" + LISTED) == [200, ["before the rotation"]]
    # The inventory no longer names it: the Secret keeps the rotated password, and the next run changes nothing.
    again = release_playbook(helm_release_backup_dir=str(tmp_path))
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]


def test_a_release_whose_database_predates_the_headless_service_is_moved_over_keeping_its_data(core, apps, tmp_path):
    token = write_todo(core, "headless", "before the move")
    # The release as the chart before the headless Service made it: serviceName is the ClusterIP Service. (serviceName
    # cannot change in place, so the StatefulSet is deleted first, its pod and claim kept, as the role does.)
    old_chart = tmp_path / "todo-list-hackathon"
    shutil.copytree(pathlib.Path(__file__).resolve().parents[3] / "charts" / "todo-list-hackathon", old_chart)
    template = old_chart / "templates" / "postgresql.yaml"
    template.write_text(template.read_text().replace("serviceName: {{ $name }}-headless", "serviceName: {{ $name }}"))
    statefulset = f"{RELEASE}-postgresql"
    apps.delete_namespaced_stateful_set(statefulset, NAMESPACE, propagation_policy="Orphan")
    wait_for("the StatefulSet to be gone", lambda: statefulset not in [
        s.metadata.name for s in apps.list_namespaced_stateful_set(NAMESPACE).items])
    old = helm("upgrade", RELEASE, str(old_chart), "--reuse-values", "--wait", "--timeout", "3m")
    assert old.returncode == 0, old.stderr
    assert apps.read_namespaced_stateful_set(statefulset, NAMESPACE).spec.service_name == statefulset

    result = release_playbook()
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"replaced StatefulSet/{statefulset} (serviceName cannot change in place" in result.stdout
    assert apps.read_namespaced_stateful_set(statefulset, NAMESPACE).spec.service_name == f"{statefulset}-headless"
    wait_for("the database to be Ready", lambda: [p for p in pods(core, "postgresql") if ready(p)])
    assert in_cluster_python(core, f"TOKEN = {token!r}\n" + LISTED) == [200, ["before the move"]]
