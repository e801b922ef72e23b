"""The release-level breaks, each named by playbooks/diagnose.yml with its runbook section and repaired by that
section's own commands (molecule/shared/runbooks.py): the database scaled to 0, a Service edited by hand, a release
left pending-upgrade. make test-runbooks, beside the pod-level breaks (test_pod_breaks.py)."""
import json
import subprocess
import time

from live import KUBECONFIG, NAMESPACE, RELEASE, helm
from runbooks import ROOT, diagnosed, repair


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
