"""Running the README's first command for real, `ansible-playbook site.yml -i inventories/local`, on a Minikube
profile of its own (TODO_K8S_TEST_PROFILE, default todo-e2e), so the user's profile is never touched."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The tool virtualenv's (first on the PATH `make` sets; VENV may be elsewhere, e.g. under `make test-cold`).
ANSIBLE_PLAYBOOK = pathlib.Path(shutil.which("ansible-playbook") or ROOT / ".venv" / "bin" / "ansible-playbook")
PROFILE = os.environ.get("TODO_K8S_TEST_PROFILE", "todo-e2e")
LOGS = ROOT / "build" / "e2e"
NAMESPACE = RELEASE = "todo-list"


def site(kubeconfig, name, *extra_vars, playbook="site.yml"):
    """Run a playbook with the local inventory on the test profile; returns (completed process, seconds)."""
    variables = {"minikube_profile": PROFILE, "todo_k8s_kubeconfig": str(kubeconfig)}
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=f"{ANSIBLE_PLAYBOOK.parent}:{os.environ['PATH']}")
    command = [str(ANSIBLE_PLAYBOOK), "-i", str(ROOT / "inventories/local"), "-e", json.dumps(variables)]
    for extra in extra_vars:
        command += ["-e", json.dumps(extra)]
    started = time.monotonic()
    result = subprocess.run(command + [str(ROOT / playbook)], capture_output=True, text=True, env=env, cwd=ROOT)
    seconds = time.monotonic() - started
    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / f"{name}.log").write_text(result.stdout + result.stderr)
    print(f"\n{playbook} ({name}): rc={result.returncode} in {seconds:.0f} s, log {LOGS / (name + '.log')}")
    return result, seconds


def failure_message(result):
    """The msg of the task that failed (the one line an operator reads), unfolded from the YAML result format."""
    # The last failure: an earlier one may have been rescued into the clear message.
    failed = list(re.finditer(r"^(fatal: \[localhost\]: FAILED!|failed: \[localhost\] \(item=)", result.stdout, re.MULTILINE))
    assert failed, result.stdout[-3000:]
    lines = result.stdout[failed[-1].start():].splitlines()
    for number, line in enumerate(lines):
        if line.lstrip().startswith("msg: "):
            indent = len(line) - len(line.lstrip())
            text = [line.strip()[len("msg: "):]]
            for following in lines[number + 1:]:
                if not following.strip() or len(following) - len(following.lstrip()) <= indent:
                    break
                text.append(following.strip())
            return " ".join(text).strip("'\"")
    raise AssertionError(result.stdout[-3000:])


def kubectl(kubeconfig, *args, **kwargs):
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, **kwargs)
