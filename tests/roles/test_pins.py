"""Each role pins its versions literally in its own defaults (a role from the collection works on its own); the
pins two roles share must agree, and each argument spec documents the same default as the defaults file."""
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def defaults(role: str) -> dict:
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())


SHARED = {
    "the Kubernetes version of the clusters and of the node build": [
        ("kind_cluster", "kind_cluster_kubernetes_version"), ("kind_node_image", "kind_node_image_kubernetes_version"),
        ("minikube", "minikube_kubernetes_version")],
    "the Debian suite of the node and base images": [
        ("kind_node_image", "kind_node_image_suite"), ("minikube", "minikube_node_suite"), ("image_build", "image_build_suite")],
}


@pytest.mark.parametrize("what", SHARED)
def test_a_pin_two_roles_share_is_the_same_in_each(what):
    values = {f"{role}.{name}": defaults(role)[name] for role, name in SHARED[what]}
    assert len(set(values.values())) == 1, f"{what} differs: {values}"


def test_the_images_are_built_with_the_version_the_chart_deploys_by_default():
    chart = yaml.safe_load((ROOT / "charts" / "todo-list-hackathon" / "Chart.yaml").read_text())
    assert defaults("image_build")["image_build_tag"] == chart["appVersion"]


@pytest.mark.parametrize("role", sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "defaults" / "main.yml").exists()))
def test_no_role_default_reads_a_variable_only_a_checkout_defines(role):
    text = (ROOT / "roles" / role / "defaults" / "main.yml").read_text()
    assert "todo_k8s_" not in text and not (ROOT / "versions.yml").exists()


# Where each role caches and installs: the same folders for every role ($TODO_K8S_CACHE_DIR / $TODO_K8S_BIN_DIR, else
# root's system-wide ones, else the account's own), so that a run's roles share one cache and one bin folder.
CACHE_DIRS = [("cli_tools", "cli_tools_cache_dir", "/cli-tools"), ("helm_release", "helm_release_work_dir", "/helm-release"),
              ("image_build", "image_build_cache_dir", "/image-build"),
              ("image_build", "image_build_report_path", "/reports/images.json"), ("kind_cluster", "kind_cluster_cache_dir", ""),
              ("kind_node_image", "kind_node_image_cache_dir", ""), ("minikube", "minikube_cache_dir", "")]
BIN_DIRS = [("cli_tools", "cli_tools_bin_dir"), ("kind_cluster", "kind_cluster_bin_dir"), ("minikube", "minikube_bin_dir")]


def test_every_role_caches_in_the_same_folder_and_installs_into_the_same_bin_folder():
    caches = {f"{role}.{name}": defaults(role)[name].removesuffix(suffix) for role, name, suffix in CACHE_DIRS}
    assert len(set(caches.values())) == 1, caches
    assert "'/var/cache' if lookup('ansible.builtin.pipe', 'id -u') == '0'" in next(iter(caches.values()))
    bins = {f"{role}.{name}": defaults(role)[name] for role, name in BIN_DIRS}
    assert len(set(bins.values())) == 1, bins
    prebuilt = {defaults("kind_node_image")["kind_node_image_prebuilt_dir"], defaults("minikube")["minikube_prebuilt_dir"]}
    assert len(prebuilt) == 1 and "default='/var/cache/todo-k8s'" in prebuilt.pop(), "accounts borrow from root's cache"
