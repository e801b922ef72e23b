"""playbooks/diagnose.yml on the live release: healthy, it exits 0 with changed=0; broken on purpose, it names the
cause and the runbook section, and that section's own **Repair** commands, run as written (with this scenario's
inventory and kubeconfig in place of the local ones), bring the release back to healthy."""
import json
import os
import pathlib
import re
import subprocess
import sys
import time

import pytest
from live import KUBECONFIG, NAMESPACE, RELEASE, helm, recap, release_playbook, run_playbook

ROOT = pathlib.Path(__file__).resolve().parents[3]
RUNBOOKS = ROOT / "docs" / "runbooks"
pytestmark = pytest.mark.skipif(NAMESPACE != "todo-list", reason="the runbooks name the namespace todo-list")


def diagnose(*flags):
    result = run_playbook("playbooks/diagnose.yml", *flags)
    assert recap(result.stdout)["changed"] == 0, result.stdout[-3000:]
    return result


def problems(result):
    """The one-line summary diagnose fails with: '[check] problem -> docs/runbooks/<file> § <heading>' each."""
    match = re.search(r"msg: '?diagnose: \d+ problem\(s\): (.*?)'?\n\nPLAY RECAP", result.stdout, re.S)
    return " ".join(match.group(1).split()) if match else ""


def diagnosed(runbook, seconds=120):
    """Diagnose until it names the runbook section (a broken state takes some seconds to show, a crash loop a restart)."""
    deadline = time.monotonic() + seconds
    while True:
        started = time.monotonic()
        result = diagnose()
        took = time.monotonic() - started
        if result.returncode != 0 and f"docs/runbooks/{runbook}" in problems(result):
            print(f"diagnose named {runbook} in {took:.1f} s: {problems(result)}")
            return problems(result)
        assert time.monotonic() < deadline, f"diagnose did not name {runbook}:\n{result.stdout[-3000:]}"
        time.sleep(3)


def repair_commands(runbook):
    """The commands of the section's **Repair** block, with this scenario's inventory and kubeconfig."""
    page, heading = runbook.split(" § ")
    text = (RUNBOOKS / page).read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"\*\*Repair\*\*[^\n]*\n```sh\n(.*?)```", section, re.S)
    assert block, f"{runbook} has no **Repair** block"
    return [line.replace("-i inventories/local", "-i molecule/inventory/hosts.yml")
                .replace("~/.kube/todo-k8s-local.yaml", KUBECONFIG)
            for line in block.group(1).splitlines() if line.strip()]


def repair(*runbooks):
    """Each section's Repair commands in turn (a command two sections share runs once), then diagnose until healthy."""
    commands = [c for runbook in runbooks for c in repair_commands(runbook)]
    for command in dict.fromkeys(commands):
        result = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=ROOT, capture_output=True, text=True,
                                env={**os.environ, "PATH": f"{pathlib.Path(sys.executable).parent}:{os.environ['PATH']}",
                                     "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"})
        assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    deadline = time.monotonic() + 90  # Confirm: pods the repair started may take some seconds to be Ready
    while (healthy := diagnose()).returncode != 0 and time.monotonic() < deadline:
        time.sleep(3)
    assert healthy.returncode == 0, f"after the repair of {runbooks}:\n{healthy.stdout[-3000:]}"


def broken_upgrade(**values):
    """An upgrade that does not become Ready and is not rolled back (atomic off), as a bad change by hand would."""
    result = release_playbook(helm_release_atomic=False, helm_release_wait_timeout="5s", **values)
    # Deployed and then not Ready in time (a value the schema refuses would stop before anything is touched).
    assert result.returncode != 0 and "helm upgrade --install failed" in result.stdout, result.stdout[-2000:]


def test_diagnose_on_a_healthy_release_exits_0_with_changed_0_also_in_check_mode():
    for flags in ((), ("--check",)):
        result = diagnose(*flags)
        assert result.returncode == 0 and "healthy: true" in result.stdout, result.stdout[-3000:]


def test_a_database_scaled_to_zero_is_named_and_its_runbook_brings_it_back(apps):
    apps.patch_namespaced_stateful_set_scale(f"{RELEASE}-postgresql", NAMESPACE, {"spec": {"replicas": 0}})
    found = diagnosed("app.md § The database does not answer")
    assert f"StatefulSet {RELEASE}-postgresql is scaled to 0" in found
    repair("app.md § The database does not answer")


def test_a_service_whose_selector_matches_nothing_is_named_and_its_runbook_puts_the_release_back(core):
    core.patch_namespaced_service(f"{RELEASE}-frontend", NAMESPACE, {"spec": {"selector": {"app": "nothing"}}})
    found = diagnosed("app.md § A Service selects no pod")
    assert f"Service {RELEASE}-frontend selects no pod" in found
    repair("app.md § A Service selects no pod")
    assert core.read_namespaced_service(f"{RELEASE}-frontend", NAMESPACE).spec.selector.get("app") == "frontend"


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


def test_a_release_left_pending_upgrade_is_named_and_its_runbook_brings_it_back(core):
    """An upgrade killed while it waits (a closed laptop, a lost SSH session) leaves the release pending-upgrade:
    Helm then refuses every other operation until it is rolled back."""
    values = json.loads(helm("get", "values", RELEASE, "--all", "-o", "json").stdout)
    chart = ROOT / "charts" / "todo-list-hackathon"
    upgrade = subprocess.Popen(["helm", "upgrade", RELEASE, str(chart), "--namespace", NAMESPACE, "--kubeconfig",
                                KUBECONFIG, "--values=-", "--set", "frontend.podAnnotations.broken=now", "--wait"],
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    upgrade.stdin.write(json.dumps(values))
    upgrade.stdin.close()
    deadline = time.monotonic() + 30
    while "pending-upgrade" not in helm("status", RELEASE, "-o", "json").stdout:
        assert time.monotonic() < deadline and upgrade.poll() is None, "the upgrade never showed pending-upgrade"
        time.sleep(0.2)
    upgrade.kill()
    upgrade.wait()
    found = diagnosed("release.md § The release is stuck (pending-upgrade, failed)")
    assert "is pending-upgrade" in found, found
    repair("release.md § The release is stuck (pending-upgrade, failed)")
