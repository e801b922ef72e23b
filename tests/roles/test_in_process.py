"""The collection's modules run inside Ansible's worker on a local connection (plugins/action/in_process.py): the
same result, the same failure and the same no_log masking as the module run in a Python of its own, which a task
environment forces; only the second shows at -vvvv as a module file Ansible ships and runs."""
import json
import os
import pathlib
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CANARY = "canary-in-process-5f1c2e"


def test_a_module_run_in_the_worker_returns_fails_and_hides_what_its_own_process_does(tmp_path):
    state = {"image_build_state": {"path": str(ROOT / "app" / "frontend"), "inputs": {"tag": "v1.0.0"}}}
    refused = {"image_build_state": {"path": str(tmp_path)}, "ignore_errors": True}  # no Dockerfile there
    plan = {"helm_release_plan": {"release": "todo", "namespace": "todo", "chart_path": str(tmp_path / "no-chart"),
                                  "kubeconfig": str(tmp_path / "kubeconfig"), "work_dir": str(tmp_path),
                                  "values_json": json.dumps({"backend": {"secret": {"password": CANARY}}})},
            "ignore_errors": True}
    own_process = {"environment": {"TODO_K8S_TEST": "1"}}
    tasks = []
    for name, task in (("state", state), ("refused", refused), ("plan", plan)):
        tasks += [dict(task, name=f"{name} in the worker", register=f"{name}_worker"),
                  dict(task, **own_process, name=f"{name} in its own process", register=f"{name}_process")]
    results = "{{ {" + ", ".join(f"'{t['register']}': {t['register']}" for t in tasks) + "} | to_json }}"
    tasks.append({"ansible.builtin.copy": {"dest": str(tmp_path / "results.json"), "content": results}})
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    run = subprocess.run(
        ["ansible-playbook", "-vvvv", "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml")],
        capture_output=True, text=True,
        env={**os.environ, "ANSIBLE_LIBRARY": str(ROOT / "plugins" / "modules"),
             "ANSIBLE_ACTION_PLUGINS": str(ROOT / "plugins" / "action"), "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
             "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_NOCOLOR": "1"})
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]

    r = json.loads((tmp_path / "results.json").read_text())
    assert r["state_worker"]["digest"].startswith("sha256:") and r["state_worker"]["files"] > 0
    assert r["refused_worker"]["failed"] and "no Dockerfile" in r["refused_worker"]["msg"]
    assert r["plan_worker"]["failed"] and "chart metadata" in r["plan_worker"]["msg"]
    for name in ("state", "refused", "plan"):
        assert r[f"{name}_worker"] == r[f"{name}_process"], name
    assert CANARY not in output, "a no_log value reached the output"
    shipped = [line for line in output.splitlines() if line.startswith(f"Using module file {ROOT / 'plugins'}")]
    assert len(shipped) == 3, "only the tasks with an environment run the module in a Python of its own"
