"""`ansible-playbook site.yml --check --diff` where nothing of ours is installed yet (empty bin and cache folders,
no helm, kind or kubectl on the PATH, no cluster): it runs to the end, says what a run would do, and touches nothing:
no file, no image, no container, no cluster. (Docker itself is installed here; the roles' check mode for a
machine without it is the same "would" path, see docker_engine/tasks/start.yml.)"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = shutil.which("ansible-playbook") or str(ROOT / ".venv/bin/ansible-playbook")
CLUSTER = "todo-check-from-zero"
KIND = yaml.safe_load((ROOT / "roles/kind_cluster/defaults/main.yml").read_text())["kind_cluster_kind_version"]


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout.split()


def check_from_zero(tmp_path, playbook):
    """`playbook --check --diff` with empty bin and cache folders and a PATH without our tools; asserts that it ran
    to the end and touched nothing, and returns its output and PLAY RECAP counters."""
    bin_dir, cache, kubeconfig = tmp_path / "bin", tmp_path / "cache", tmp_path / "kube" / "config"
    images, containers = sorted(docker("images", "-q", "--no-trunc")), sorted(docker("ps", "-aq", "--no-trunc"))
    # The PATH a new user has: the tool virtualenv and the system, none of the tools our roles install.
    path = os.pathsep.join([str(bin_dir), str(pathlib.Path(sys.executable).parent), "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", PATH=path,
               TODO_K8S_BIN_DIR=str(bin_dir), TODO_K8S_CACHE_DIR=str(cache))
    variables = {"todo_k8s_cluster_provider": "kind", "kind_cluster_name": CLUSTER, "todo_k8s_kubeconfig": str(kubeconfig)}
    result = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(ROOT / "inventories/local"), "-e", json.dumps(variables),
                             "--check", "--diff", str(ROOT / playbook)], capture_output=True, text=True, env=env, cwd=ROOT)
    (tmp_path / "check.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    out = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    recap = dict(re.findall(r"(\w+)=(\d+)", re.search(r"^localhost\s*:\s*(.*)$", out, re.MULTILINE).group(1)))
    assert int(recap["failed"]) == 0
    assert not bin_dir.exists() and not cache.exists() and not kubeconfig.parent.exists()
    assert sorted(docker("images", "-q", "--no-trunc")) == images
    assert sorted(docker("ps", "-aq", "--no-trunc")) == containers
    return out, {k: int(v) for k, v in recap.items()}


def test_check_diff_of_site_yml_on_a_fresh_machine_runs_to_the_end_and_touches_nothing(tmp_path):
    out, recap = check_from_zero(tmp_path, "site.yml")
    for says in ["cli_tools: would install helm and kubectl", f"kind_cluster: kind {KIND} is not installed",
                 "helm_release: helm is not installed yet"]:
        assert says in out, says
    assert recap["changed"] >= 3


@pytest.mark.parametrize(("playbook", "says"), [
    ("playbooks/tools.yml", "cli_tools: would install helm and kubectl"),
    ("playbooks/cluster.yml", f"kind_cluster: kind {KIND} is not installed"),
    ("playbooks/images.yml", "image_build"),
    ("playbooks/prebuild.yml", "kind_node_image: Kubernetes"),
    ("playbooks/release.yml", "helm_release: helm is not installed yet"),
])
def test_check_diff_of_every_playbook_on_a_fresh_machine_runs_to_the_end_and_touches_nothing(tmp_path, playbook, says):
    out, recap = check_from_zero(tmp_path, playbook)
    assert says in out and recap["changed"] >= 1
