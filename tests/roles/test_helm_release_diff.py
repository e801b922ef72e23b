"""helm_release_diff, the module that decides whether the release is upgraded: run as Ansible runs it, on release
JSON of the shape `helm status --output=json` and `helm upgrade --dry-run=server --output=json` write."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CANARY = "canary-c2VjcmV0LW5ldmVyLXNob3du"


def release(status="deployed", *objects, hooks=()):
    return json.dumps({"name": "todo-list", "info": {"status": status},
                       "manifest": "".join(f"---\n# Source: x\n{yaml.safe_dump(o)}" for o in objects),
                       "hooks": [{"name": h["metadata"]["name"], "manifest": yaml.safe_dump(h)} for h in hooks]})


def service(annotation=None):
    meta = {"name": "todo-list-backend", **({"annotations": {"a": annotation}} if annotation else {})}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {"ports": [{"port": 8000}]}}


def secret(value):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "todo-list-backend-secret"},
            "data": {"JWT_SECRET": value, "DATABASE_URL": "kept"}}


PLAY = [{"hosts": "localhost", "gather_facts": False,
         "tasks": [{"helm_release_diff": {"deployed": "{{ deployed }}", "desired": "{{ desired }}"}}]}]


def run(tmp_path, deployed, desired, *flags):
    """The module through ansible-playbook, so the output is what a user sees (with -v, --diff)."""
    (tmp_path / "play.yml").write_text(yaml.safe_dump(PLAY))
    (tmp_path / "vars.json").write_text(json.dumps({"deployed": deployed, "desired": desired}))
    result = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", f"@{tmp_path / 'vars.json'}",
         str(tmp_path / "play.yml"), *flags],
        capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_LIBRARY": str(ROOT / "roles" / "helm_release" / "library"),
             "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_LOCALHOST_WARNING": "false"})
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def changed(out):
    return int(out.split("changed=")[1].split()[0])


def test_the_same_manifests_are_no_change(tmp_path):
    same = release("deployed", service(), secret("c2FtZQ=="))
    assert changed(run(tmp_path, same, same, "--diff")) == 0


def test_a_template_edit_is_a_change_and_the_diff_shows_it(tmp_path):
    out = run(tmp_path, release("deployed", service()), release("pending-upgrade", service("new")), "--diff", "-v")
    assert changed(out) == 1 and "changed Service/todo-list-backend" in out
    assert "+  annotations:\n+    a: new" in out


def test_a_new_hook_and_a_removed_object_are_changes(tmp_path):
    test_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "todo-list-test"}}
    out = run(tmp_path, release("deployed", service(), secret("YQ==")), release("x", service(), hooks=[test_pod]), "-v")
    assert "added Pod/todo-list-test" in out and "removed Secret/todo-list-backend-secret" in out


@pytest.mark.parametrize("status", ["failed", "pending-install", "pending-upgrade"])
def test_a_release_that_is_not_deployed_is_upgraded_even_with_the_same_manifests(tmp_path, status):
    assert changed(run(tmp_path, release(status, service()), release("x", service()))) == 1


def test_no_release_is_an_install(tmp_path):
    assert "added Service/todo-list-backend" in run(tmp_path, "", release("x", service()), "-v")


def test_a_secret_value_never_shows_only_that_it_changed(tmp_path):
    out = run(tmp_path, release("deployed", secret(CANARY)), release("x", secret(CANARY + "x")), "--diff", "-vvvv")
    assert CANARY not in out
    assert "JWT_SECRET: <redacted, changed>" in out and "DATABASE_URL: <redacted>" in out
