"""release_diagnosis, the module behind playbooks/diagnose.yml: each broken state, as the cluster reports it (objects
of the shape `kubectl get -o json` returns), gives the problem and the runbook section that repairs it; every
section it can name exists in docs/runbooks. The same states live: molecule/resilience/tests/test_diagnose.py."""
import importlib.util
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("release_diagnosis", ROOT / "plugins" / "modules" / "release_diagnosis.py")
diagnosis = importlib.util.module_from_spec(spec)
spec.loader.exec_module(diagnosis)

LABELS = {"app.kubernetes.io/instance": "todo-list", "app.kubernetes.io/component": "backend", "app": "backend"}


def pod(name="todo-list-backend-1", phase="Running", ready=True, statuses=(), conditions=(), limits=None):
    return {"metadata": {"name": name, "labels": LABELS},
            "spec": {"containers": [{"name": "backend", "resources": {"limits": limits or {"memory": "512Mi"},
                                                                      "requests": {"cpu": "100m"}}}]},
            "status": {"phase": phase, "containerStatuses": list(statuses),
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}, *conditions]}}


def container(waiting=None, terminated=None, restarts=0, ready=False):
    return {"name": "backend", "image": "todo-list-backend:v9.9.9", "ready": ready, "restartCount": restarts,
            "state": {"waiting": waiting} if waiting else {"running": {}},
            "lastState": {"terminated": terminated} if terminated else {}}


def healthy(**changes):
    state = {"ns": "todo-list", "release": "todo-list", "tools_missing": [],
             "namespace": {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
             "nodes": [{"metadata": {"name": "n1"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}],
             "history": [{"revision": 3, "status": "deployed"}], "pods": [pod()], "other_pods": [],
             "workloads": [{"kind": "Deployment", "metadata": {"name": "todo-list-backend", "labels": LABELS},
                            "spec": {"replicas": 1}, "status": {"availableReplicas": 1}}],
             "services": [{"metadata": {"name": "todo-list-backend", "labels": LABELS},
                           "spec": {"selector": {"app": "backend"}}}],
             "ready_endpoints": {"todo-list-backend": 1}, "events": [], "hpas": [], "backend_ready": {"status": "ok"},
             "last_lines": {}}
    state.update(changes)
    return state


def named(state):
    return [(p["kind"], p["problem"], p["runbook"]) for p in diagnosis.diagnose(state)]


def test_a_healthy_release_has_no_problem():
    assert named(healthy()) == []


def test_an_image_the_node_cannot_pull_names_the_image_and_the_image_runbook():
    broken = pod(ready=False, statuses=[container(waiting={"reason": "ImagePullBackOff", "message": "not found"})])
    (problem,) = named(healthy(pods=[broken], ready_endpoints={}))
    assert problem[0] == "image" and "todo-list-backend:v9.9.9 (ImagePullBackOff)" in problem[1]
    assert problem[2].startswith("app.md § ImagePullBackOff")


def test_a_crash_loop_shows_the_exit_code_and_the_last_line_the_container_wrote():
    broken = pod(ready=False, statuses=[container(waiting={"reason": "CrashLoopBackOff"}, restarts=4,
                                                  terminated={"reason": "Error", "exitCode": 1})])
    result = diagnosis.diagnose(healthy(pods=[broken], last_lines={("todo-list-backend-1", "backend"): "DATABASE_URL x"},
                                        ready_endpoints={}))
    assert [p["kind"] for p in result] == ["crash"]
    assert "exit code 1" in result[0]["problem"] and "last log line: DATABASE_URL x" in result[0]["evidence"]


def test_an_oom_kill_names_the_memory_limit():
    broken = pod(ready=False, limits={"memory": "24Mi"}, statuses=[
        container(waiting={"reason": "CrashLoopBackOff"}, restarts=2, terminated={"reason": "OOMKilled", "exitCode": 137})])
    (problem,) = named(healthy(pods=[broken], ready_endpoints={}))
    assert problem[0] == "oom" and "memory limit 24Mi" in problem[1]


def test_an_unschedulable_pod_is_pending_with_the_schedulers_message():
    broken = pod(phase="Pending", ready=False, conditions=[
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes: Insufficient cpu"}])
    result = diagnosis.diagnose(healthy(pods=[broken], ready_endpoints={}))
    assert [p["kind"] for p in result] == ["pending"] and "Insufficient cpu" in result[0]["evidence"][0]


def test_a_database_scaled_to_zero_is_the_database_problem_not_a_rollout():
    database = {"kind": "StatefulSet", "metadata": {"name": "todo-list-postgresql", "labels": {}},
                "spec": {"replicas": 0, "template": {"metadata": {"labels": {"app": "postgresql"}}}}, "status": {}}
    service = {"metadata": {"name": "todo-list-postgresql", "labels": {}}, "spec": {"selector": {"app": "postgresql"}}}
    kinds = [p[0] for p in named(healthy(workloads=[database], services=[service], backend_ready=None))]
    assert kinds == ["database"]


def test_the_backends_readiness_reason_is_the_database_problem():
    (problem,) = named(healthy(backend_ready={"status": "unavailable", "reason": "OperationalError"}))
    assert problem[0] == "database" and "OperationalError" in problem[1]


def test_a_service_selecting_no_pod_is_named_with_its_selector():
    service = {"metadata": {"name": "todo-list-frontend", "labels": {}}, "spec": {"selector": {"app": "nothing"}}}
    (problem,) = named(healthy(services=[service]))
    assert problem[:2] == ("selector", "Service todo-list-frontend selects no pod")


def test_a_release_left_pending_or_failed_is_stuck():
    for status in ("pending-upgrade", "failed"):
        (problem,) = named(healthy(history=[{"revision": 3, "status": "deployed"}, {"revision": 4, "status": status}]))
        assert problem[0] == "release_stuck" and f"revision 4 is {status}" in problem[1]


def test_no_cluster_or_no_docker_stops_the_walk_there():
    assert [p[0] for p in named({"ns": "x", "release": "x", "docker_error": "Cannot connect"})] == ["docker"]
    assert [p[0] for p in named({"ns": "x", "release": "x", "cluster_error": "refused"})] == ["cluster"]


def test_an_autoscaler_without_metrics_is_named():
    hpa = {"metadata": {"name": "todo-list-backend"}, "status": {"conditions": [
        {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric", "message": "no metrics"}]}}
    (problem,) = named(healthy(hpas=[hpa], metrics_api="the server could not find the requested resource"))
    assert problem[0] == "hpa" and problem[2].startswith("production.md")


def test_every_runbook_section_diagnose_names_exists_with_a_way_to_recognise_it():
    for kind, (_layer, runbook) in diagnosis.KINDS.items():
        page, heading = runbook.split(" § ")
        text = (ROOT / "docs" / "runbooks" / page).read_text()
        assert f"\n## {heading}\n" in text, f"{kind}: no heading '{heading}' in docs/runbooks/{page}"
        section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
        assert "**Recognise**" in section, f"{runbook} does not say how diagnose recognises it"


def test_every_repair_block_uses_the_local_inventory_and_kubeconfig_the_live_test_replaces():
    for page in (ROOT / "docs" / "runbooks").glob("*.md"):
        for block in re.findall(r"\*\*Repair\*\*[^\n]*\n```sh\n(.*?)```", page.read_text(), re.S):
            for line in block.splitlines():
                if "ansible-playbook" in line:
                    assert "-i inventories/local" in line, f"{page.name}: {line}"
                if line.startswith(("kubectl", "helm")):
                    assert "--kubeconfig ~/.kube/todo-k8s-local.yaml" in line, f"{page.name}: {line}"


def test_an_evicted_pod_is_named_with_the_kubelets_reason():
    gone = pod(name="todo-list-backend-2", phase="Succeeded", ready=False)
    events = [{"involvedObject": {"name": "todo-list-backend-2"}, "reason": "Evicted",
               "message": 'Usage of EmptyDir volume "tmp" exceeds the limit "64Mi".'}]
    result = diagnosis.diagnose(healthy(pods=[pod(), gone], events=events))
    assert [p["kind"] for p in result] == ["evicted"] and "exceeds the limit" in result[0]["evidence"][0]


def test_a_node_under_disk_pressure_points_at_the_disk_section():
    nodes = [{"metadata": {"name": "n1"}, "status": {"conditions": [
        {"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "True", "message": "low on disk"}]}}]
    (problem,) = named(healthy(nodes=nodes))
    assert problem[0] == "disk" and problem[2].startswith("kind-cluster.md § Disk full")


def test_a_namespace_without_the_restricted_pod_security_label_is_named():
    (problem,) = named(healthy(namespace={"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}))
    assert problem[0] == "namespace" and "enforce: baseline" in problem[1]
