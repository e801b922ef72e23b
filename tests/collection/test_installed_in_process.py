"""From the installed collection, a module a play names by its short name (as the collection's roles do) runs in
Ansible's worker too (plugins/action/in_process.py finds the module's file as Ansible does), and returns its result."""
import json
import subprocess
import sys

from installed import BIN, ROOT, install_collection

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  collections: [todo.k8s]
  tasks:
    - image_build_state: {{path: "{frontend}", inputs: {{tag: v1.0.0}}}}
      register: state
    - ansible.builtin.copy: {{dest: "{out}", content: "{{{{ state | to_json }}}}"}}
"""


def test_a_module_named_short_from_the_installed_collection_runs_in_the_worker(tmp_path):
    collections, clean = install_collection(tmp_path)
    (tmp_path / "play.yml").write_text(PLAY.format(frontend=ROOT / "app" / "frontend", out=tmp_path / "state.json"))
    run = subprocess.run([str(BIN / "ansible-playbook"), "-vvv", "-i", "localhost,", "-e",
                          f"ansible_python_interpreter={sys.executable}", str(tmp_path / "play.yml")],
                         capture_output=True, text=True, cwd=tmp_path,
                         env={**clean, "ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_NOCOLOR": "1"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert json.loads((tmp_path / "state.json").read_text())["digest"].startswith("sha256:")
    assert "image_build_state.py" not in run.stdout, "the module was shipped to a Python of its own"
