"""The collection as its users get it: built into a tarball, installed into an empty collections path, and driven
by a consumer's own playbook that names the roles by FQCN only, outside the checkout (no ansible.cfg, no roles path,
no inventory of ours), against the release the scenario deployed. Changes nothing: it runs before test_default.py."""
import json
import os
import pathlib
import re
import subprocess

from installed import BIN, install_collection
from live import KUBECONFIG, RELEASE, helm

ROOT = pathlib.Path(__file__).resolve().parents[3]
REPORT = pathlib.Path(os.environ.get("TODO_K8S_CACHE_DIR", "/var/cache/todo-k8s")) / "reports" / "images.json"

CONSUMER = """
- name: A consumer's playbook deploys and tests the todo-list release with the installed collection
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    helm_release_kubeconfig: "{kubeconfig}"
    helm_release_build_report: "{report}"
  tasks:
    - name: Deploy (the release runs this already, so nothing changes)
      ansible.builtin.include_role:
        name: todo.k8s.helm_release

    - name: Run helm test
      ansible.builtin.include_role:
        name: todo.k8s.helm_release
      vars:
        helm_release_action: test
"""


def test_a_consumer_playbook_drives_the_installed_collection_by_fqcn_and_changes_nothing(tmp_path):
    collections, clean = install_collection(tmp_path)

    consumer = tmp_path / "consumer"
    consumer.mkdir()
    (consumer / "deploy.yml").write_text(CONSUMER.format(kubeconfig=KUBECONFIG, report=REPORT))
    revision = json.loads(helm("status", RELEASE, "-o", "json").stdout)["version"]
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "deploy.yml", "-vv"], cwd=consumer,
                            capture_output=True, text=True,
                            env=dict(clean, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    role = collections / "ansible_collections" / "todo" / "k8s" / "roles" / "helm_release"
    assert f"task path: {role}/tasks/deploy.yml" in output, "the role ran from the installed collection"
    assert f"task path: {role}/tasks/test.yml" in output, "helm test ran"
    assert str(ROOT / "roles") not in output and str(ROOT / "charts") not in output, "nothing of the checkout was used"
    assert re.search(r"localhost +: ok=\d+ +changed=0 +unreachable=0 +failed=0", output), output[-3000:]
    assert json.loads(helm("status", RELEASE, "-o", "json").stdout)["version"] == revision, "the run made a revision"
