"""The pod-level breaks, each named by playbooks/diagnose.yml with its runbook section and repaired by that section's
own commands (molecule/shared/runbooks.py): a pod evicted for filling its /tmp, a missing image beside a backend that
exits at start, an OOM-killed backend beside a frontend no node can take. make test-runbooks (too long for make
test), beside the release-level breaks (test_release_breaks.py)."""
import subprocess

from live import KUBECONFIG, NAMESPACE
from runbooks import broken_upgrade, diagnose, diagnosed, repair


def test_a_pod_evicted_for_filling_its_tmp_is_named_with_the_kubelets_reason_and_cleared(core):
    """/tmp is an emptyDir of 64 MiB: writing 80 MB there gets the pod evicted (the kubelet checks every 10 s)."""
    (backend,) = [p for p in core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/component=backend")
                  .items if p.status.phase == "Running"]
    subprocess.run(["kubectl", "--kubeconfig", KUBECONFIG, "-n", NAMESPACE, "exec", backend.metadata.name, "--",
                    "python3", "-c", "open('/tmp/fill', 'wb').write(b'0' * 80_000_000)"], check=True)
    found = diagnosed("app.md § Evicted: a pod used more disk or memory than it may")
    assert f"pod {backend.metadata.name} was evicted" in found, found
    repair("app.md § Evicted: a pod used more disk or memory than it may")


def test_a_missing_image_and_a_backend_that_exits_at_start_are_named_with_the_release_state_and_repaired():
    """One failed upgrade breaks both components: the frontend's image does not exist (a repository no node has: the
    role refuses components of different versions), the backend exits at start."""
    broken_upgrade(helm_release_values={"frontend": {"image": {"repository": "todo-list-frontend-gone"}},
                                        "backend": {"secret": {"databaseUrl": "postgresql://todo@nowhere:notaport/todo"}}})
    found = diagnosed("app.md § ImagePullBackOff: a node cannot get an image")
    assert "todo-list-frontend-gone" in found and "is failed" in found, found
    diagnosed("app.md § CrashLoopBackOff: a container exits")
    result = diagnose()
    assert "last log line: todo-api: cannot start: DATABASE_URL is not a valid database URL" in " ".join(
        result.stdout.split()), result.stdout[-3000:]
    repair("app.md § CrashLoopBackOff: a container exits", "app.md § ImagePullBackOff: a node cannot get an image")


def test_an_oom_killed_backend_and_a_frontend_no_node_can_take_are_named_with_their_limits_and_repaired():
    broken_upgrade(helm_release_values={"backend": {"resources": {"limits": {"memory": "24Mi"},
                                                                  "requests": {"memory": "24Mi"}}},
                                        "frontend": {"resources": {"limits": {"cpu": "64"}, "requests": {"cpu": "64"}}}})
    found = diagnosed("app.md § OOMKilled: a container ran out of memory")
    assert "memory limit 24Mi" in found, found
    found = diagnosed("app.md § Pending: no node can take a pod")
    assert "Unschedulable" in found, found
    repair("app.md § OOMKilled: a container ran out of memory", "app.md § Pending: no node can take a pod")
