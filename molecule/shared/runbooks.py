"""playbooks/diagnose.yml on the live release, and the runbooks' own commands: what the tests that break the release
on purpose share (molecule/runbooks: the release-level and the pod-level breaks; molecule/resilience: healthy). Each break
is named by diagnose with its runbook section, and that section's **Repair** commands, run as written (with the
scenarios' inventory and kubeconfig in place of the local ones), bring the release back to healthy."""
import os
import pathlib
import re
import subprocess
import sys
import time

from live import KUBECONFIG, recap, release_playbook, run_playbook

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "docs" / "runbooks"


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
