"""Production from the installed collection (converge ran todo.k8s.site with inventories/production, this site's
overrides and the vault): images by digest from our registry over TLS, the external database over TLS, the
production values, a second run that changes nothing, bad inputs refused before the cluster is touched, a vault
rotation that rolls the backend without a failed request, and no secret in any output."""
import base64
import json
import os
import pathlib
import re
import shutil
import subprocess
import time

import pytest
import requests
from kubernetes.client import AppsV1Api

from live import KUBECONFIG, NAMESPACE, RELEASE, helm, in_cluster_python, pods, recap, run_playbook
from load_client import SteadyLoad, delete_client_pod, start_client_pod
from production_site import COMPONENTS, WORK, cpu_utilization, hpas, run

ROOT = pathlib.Path(__file__).resolve().parents[3]
INSTALLED = WORK / "collections" / "ansible_collections" / "todo" / "k8s"
DB = "todo-external-db"


def site_vars():
    """The overrides inventory's own values (prepare.yml wrote them as plain YAML)."""
    import yaml
    return yaml.safe_load((WORK / "site-inventory" / "group_vars" / "all" / "site.yml").read_text())


def revision():
    return json.loads(helm("status", RELEASE, "-o", "json").stdout)["version"]


def registry_digest(repository, reference, secrets):
    host, path = repository.split("/", 1)
    answer = requests.head(
        f"https://{host}/v2/{path}/manifests/{reference}", auth=("todo", secrets["registry_password"]), timeout=10,
        verify=site_vars()["todo_k8s_registry_ca_path"],
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
    return answer.status_code, answer.headers.get("Docker-Content-Digest")


def test_the_first_run_deployed_with_the_installed_collection_only():
    log = (WORK / "first-run.log").read_text()
    assert recap(log)["failed"] == 0
    for role in ("image_build", "helm_release"):
        assert f"task path: {INSTALLED}/roles/{role}/tasks/" in log, f"{role} ran from the installed collection"
    assert f"task path: {ROOT}/" not in log, "nothing of the checkout ran"


def test_the_build_report_has_the_registry_digests_of_both_images(report, secrets):
    pushed = {i["component"]: i for i in report["images"] if i["component"] in COMPONENTS}
    assert report["registry"] == site_vars()["todo_k8s_registry"]
    for component, image in pushed.items():
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", image["digest"] or ""), image
        assert image["repository"] == f"{report['registry']}/{image['name']}"
        assert registry_digest(image["repository"], image["tag"], secrets) == (200, image["digest"]), component


def test_pods_run_the_images_by_digest_pulled_from_the_registry(core, report, at_the_hpa_minimum):
    digests = {i["component"]: f"{i['repository']}@{i['digest']}" for i in report["images"] if i["component"] in COMPONENTS}
    for component in COMPONENTS:
        running = pods(core, component)
        assert len(running) >= 2, component
        for pod in running:
            assert pod.spec.containers[0].image == digests[component]
            status = pod.status.container_statuses[0]
            assert status.ready and status.image_id.endswith(digests[component].split("@")[1]), status
            assert status.image_id.startswith(digests[component].split("@")[0]), "pulled from the registry, not loaded"
            assert pod.spec.image_pull_secrets[0].name == f"{RELEASE}-registry"
            assert pod.metadata.annotations["todo-k8s/image-tag"].endswith(":" + report["images"][0]["tag"])


def test_the_release_runs_the_production_values_with_hpas_of_two_replicas(api, apps, at_the_hpa_minimum):
    values = json.loads(helm("get", "values", RELEASE, "--all", "-o", "json").stdout)
    assert values["appEnv"] == "production" and values["postgresql"]["enabled"] is False
    assert values["backend"]["config"]["database"]["sslMode"] == "verify-full"
    assert json.loads(helm("status", RELEASE, "-o", "json").stdout)["info"]["status"] == "deployed"
    for component in COMPONENTS:
        hpa = hpas(api)[f"{RELEASE}-{component}"]
        assert hpa.spec.min_replicas == 2 and hpa.spec.max_replicas >= 2
        assert apps.read_namespaced_deployment(f"{RELEASE}-{component}", NAMESPACE).status.ready_replicas >= 2


def psql(sql):
    """SQL as the database's owner on its Unix socket (trusted inside the container)."""
    result = subprocess.run(["docker", "exec", DB, "psql", "-U", "todo_prod", "-d", "todo", "-Atc", sql],
                            capture_output=True, text=True)
    return result.returncode, result.stdout.strip(), result.stderr


def test_the_backend_reaches_the_external_database_over_tls_only(core):
    # Readiness is /health/ready, which answers 200 only while the database answers the backend.
    backend = pods(core, "backend")
    assert backend and all(c.type != "Ready" or c.status == "True" for p in backend for c in p.status.conditions)
    code, out, _ = psql("SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) "
                        "WHERE usename = 'todo_prod' AND ssl AND client_addr IS NOT NULL AND pid <> pg_backend_pid()")
    assert code == 0 and int(out) >= 1, "the backend's connections use TLS"
    code, out, _ = psql("SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) "
                        "WHERE usename = 'todo_prod' AND NOT ssl AND client_addr IS NOT NULL")
    assert code == 0 and int(out) == 0, "no plaintext connection"
    env = subprocess.run(["docker", "exec", "-e", "PGSSLMODE=disable", DB, "psql", "-h", "127.0.0.1", "-U", "todo_prod",
                          "-d", "todo", "-c", "SELECT 1"], capture_output=True, text=True)
    assert env.returncode != 0 and "no encryption" in env.stderr, env.stderr


TODOS = r"""
call("POST", "/api/auth/register", {"email": "prod@example.com", "password": "prod-keeper-pw"})
token = call("POST", "/api/auth/login", {"email": "prod@example.com", "password": "prod-keeper-pw"})[1]["access_token"]
if ACTION == "create":
    call("POST", "/api/todos", {"title": "kept in the external database"}, token)
print(json.dumps(sorted(t["title"] for t in call("GET", "/api/todos", token=token)[1])))
"""


def test_a_todo_written_survives_a_restart_of_every_backend_pod(core, apps):
    assert "kept in the external database" in in_cluster_python(core, 'ACTION = "create"\n' + TODOS)
    for pod in pods(core, "backend"):
        core.delete_namespaced_pod(pod.metadata.name, NAMESPACE)
    deadline = time.time() + 180
    while time.time() < deadline:
        deployment = apps.read_namespaced_deployment(f"{RELEASE}-backend", NAMESPACE).status
        if (deployment.ready_replicas or 0) >= 2 and (deployment.updated_replicas or 0) >= 2 and len(pods(core, "backend")) >= 2:
            break
        time.sleep(2)
    assert "kept in the external database" in in_cluster_python(core, 'ACTION = "read"\n' + TODOS)


def test_a_second_run_changes_nothing():
    before = revision()
    code, output = run("site")
    assert code == 0, output[-3000:]
    assert recap(output)["changed"] == 0, [line for line in output.splitlines() if line.startswith("changed:")]
    assert revision() == before


def _no_vault(tmp_path):
    overrides = tmp_path / "site-inventory"
    shutil.copytree(WORK / "site-inventory", overrides)
    (overrides / "group_vars" / "all" / "vault.yml").unlink()
    return {"overrides": overrides}


def _fake_digest(tmp_path):
    report = json.loads((WORK / "images-production.json").read_text())
    for image in report["images"]:
        if image["component"] == "backend":
            image["digest"] = "sha256:" + "0" * 64
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    return {"playbook": "release", "args": ["-e", f"todo_k8s_build_report={path}"]}


BAD_INPUTS = {
    "vault missing": (_no_vault, r"needs its secrets .* encrypted with ansible-vault"),
    "registry unreachable": (lambda tmp: {"args": ["-e", "todo_k8s_registry=" + site_vars()["todo_k8s_registry"].replace(
        ":5443", ":5999")]}, r"image_build: the registry \S+:5999 cannot be reached over TLS"),
    "registry refuses the account": (lambda tmp: {"args": ["-e", "vault_todo_registry_password=not-the-password-0"]},
                                     r"image_build: the registry \S+ refused the account 'todo' \(HTTP 401\)"),
    "digest not in the registry": (_fake_digest, r"helm_release: \S+todo-list-backend@sha256:0{64} is not in the registry"),
    "database unreachable": (lambda tmp: {"args": ["-e", json.dumps({"todo_k8s_database": dict(
        site_vars()["todo_k8s_database"], port=1)})]}, r"The database \S+:1 does not answer from this host"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_a_bad_production_input_stops_in_one_line_before_the_cluster_is_touched(case, tmp_path, core):
    make, message = BAD_INPUTS[case]
    given = make(tmp_path)
    before, pods_before = revision(), sorted(p.metadata.name for p in pods(core, "backend"))
    code, output = run(given.get("playbook", "site"), *given.get("args", []), overrides=given.get("overrides"))
    assert code != 0
    failures = [line for line in output.splitlines() if re.search(message, line)]
    assert failures, output[-3000:]
    assert revision() == before and sorted(p.metadata.name for p in pods(core, "backend")) == pods_before


def test_the_hpas_read_the_pods_cpu_from_metrics_server_and_diagnose_finds_production_healthy(api, at_the_hpa_minimum):
    deadline = time.time() + 120
    while any(cpu_utilization(h) is None for h in hpas(api).values()):
        assert time.time() < deadline, {n: h.status.conditions for n, h in hpas(api).items()}
        time.sleep(5)
    for name, hpa in hpas(api).items():
        active = next(c for c in hpa.status.conditions if c.type == "ScalingActive")
        assert active.status == "True", (name, active.reason, active.message)
    code, output = run("diagnose")
    # The installed collection's run prints results as JSON (no ansible.cfg of the checkout), the checkout's as YAML.
    assert code == 0 and re.search(r'"?healthy"?: true', output) and recap(output)["changed"] == 0, output[-3000:]


def test_metrics_server_a_second_time_changes_nothing():
    again = run_playbook("tests/roles/apply_role.yml", role_under_test="metrics_server", metrics_server_kubeconfig=KUBECONFIG,
                         metrics_server_kind_cluster=os.environ.get("TODO_K8S_MOLECULE_CLUSTER", "todo-molecule"))
    assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout[-3000:]


def test_load_through_the_frontend_scales_the_backend_up_without_a_failed_request(api, core, report, at_the_hpa_minimum):
    """Before any other test under load: the HPA's scale-down waits 5 minutes (values-production.yaml), so the backend
    keeps the pods it scaled to for the rest of the scenario (this machine's site values cap them at 3)."""
    assert hpas(api)[f"{RELEASE}-backend"].status.desired_replicas == 2, "the backend must start at its minimum"
    backend = next(i for i in report["images"] if i["component"] == "backend")
    start_client_pod(core, f"{backend['repository']}@{backend['digest']}", pull_secret=f"{RELEASE}-registry")
    try:
        load = SteadyLoad("autoscale@example.com", concurrency=6).start()
        started, seen = time.time(), []
        while (replicas := hpas(api)[f"{RELEASE}-backend"].status.desired_replicas or 0) <= 2:
            seen.append(cpu_utilization(hpas(api)[f"{RELEASE}-backend"]))
            if time.time() - started > 180:
                break
            time.sleep(5)
        took = time.time() - started
        summary = load.stop()
        figures = {"desired_replicas": replicas, "seconds_to_scale_up": round(took, 1), "cpu_percent_seen": seen, **summary}
        (WORK / "autoscale.json").write_text(json.dumps(figures))  # for the notes: the scenario's folder keeps it
        print(json.dumps(figures))
        assert replicas > 2, f"the backend's HPA did not scale up in 180 s under load (CPU % read: {seen})"
        deadline = time.time() + 120  # and the new pod joins: the scale-up is on the live Deployment, not only asked
        while (apps_ready := AppsV1Api(api).read_namespaced_deployment(f"{RELEASE}-backend", NAMESPACE)
               .status.ready_replicas or 0) <= 2:
            assert time.time() < deadline, f"the backend has {apps_ready} ready pods 120 s after the HPA asked for {replicas}"
            time.sleep(2)
        assert summary["sent"] > 50 and summary["failed"] == 0, summary
    finally:
        delete_client_pod(core)


def _vault_with(key, value):
    """Re-encrypt the site's vault with one value changed (ansible-vault, as an operator would)."""
    vault = WORK / "site-inventory" / "group_vars" / "all" / "vault.yml"
    clear = subprocess.run(["ansible-vault", "decrypt", "--output", "-", "--vault-password-file", str(WORK / "vault-pass"),
                            str(vault)], capture_output=True, text=True, check=True).stdout
    clear = re.sub(rf"^{key}: .*$", f"{key}: {value}", clear, flags=re.MULTILINE)
    subprocess.run(["ansible-vault", "encrypt", "--output", str(vault), "--vault-password-file", str(WORK / "vault-pass"), "-"],
                   input=clear, text=True, check=True, capture_output=True)


def test_a_key_rotated_in_the_vault_rolls_the_backend_without_a_failed_request(core, report, secrets):
    backend = next(i for i in report["images"] if i["component"] == "backend")
    start_client_pod(core, f"{backend['repository']}@{backend['digest']}", pull_secret=f"{RELEASE}-registry")
    try:
        old_pods = {p.metadata.name for p in pods(core, "backend")}
        # A new value each time (the vault keeps it, as an operator's would), remembered for the canary below.
        rotated = f"{secrets['openai_api_key']}-rotated-{int(time.time())}"
        (WORK / "rotated-key").write_text(rotated)
        _vault_with("vault_todo_openai_api_key", rotated)
        load = SteadyLoad("rotation@example.com").start()
        code, output = run("site", "-vvv")
        summary = load.stop()
        print(json.dumps(summary))
        assert code == 0, output[-3000:]
        assert summary["sent"] > 50 and summary["failed"] == 0, summary
        assert not old_pods & {p.metadata.name for p in pods(core, "backend")}, "every backend pod was replaced"
        data = core.read_namespaced_secret("todo-list-backend-secret", NAMESPACE).data["OPENAI_API_KEY"]
        assert base64.b64decode(data).decode() == rotated
        for name, value in dict(secrets, rotated=rotated).items():
            assert value not in output, f"the {name} appeared in the -vvv output"
    finally:
        delete_client_pod(core)


def test_no_secret_appears_in_the_runs_output_or_in_any_file_they_wrote(secrets):
    secrets = dict(secrets, rotated=(WORK / "rotated-key").read_text())
    outputs = [(WORK / "first-run.log").read_text()]
    code, output = run("site", "--check", "--diff", "-vvv")
    outputs.append(output)
    assert code == 0, output[-3000:]
    # Every file the runs and this scenario wrote (the scenario's own record of the secrets and the vault's password
    # file aside), and what the roles keep in the cache.
    cache = pathlib.Path(os.environ.get("TODO_K8S_CACHE_DIR", "/var/cache/todo-k8s"))
    kept = {WORK / "secrets.json", WORK / "vault-pass", WORK / "rotated-key"}
    written = [p for folder in (WORK, cache / "helm-release", cache / "reports", cache / "registry" / "auth")
               for p in folder.rglob("*") if p.is_file() and p not in kept]
    assert WORK / "images-production.json" in written
    for name, value in secrets.items():
        for text in outputs:
            assert value not in text, f"the {name} appeared in a run's output"
        for path in written:
            assert value.encode() not in path.read_bytes(), f"the {name} appeared in {path}"

