"""A real kind cluster, created with the kind_cluster role (playbooks/cluster.yml) for this test session.

The cluster has its own name and kubeconfig, so it never touches the user's clusters. Offline mode follows
the role's "auto" unless TODO_K8S_TEST_OFFLINE says true/false. Set TODO_K8S_TEST_KEEP=1 to keep the
cluster after the session (the deletion test still deletes it).
"""
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest
import yaml
from kubernetes import client, config

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLUSTER = os.environ.get("TODO_K8S_TEST_CLUSTER", "todo-k8s-test")
NAMESPACE = "cluster-test"
SUITE = yaml.safe_load((ROOT / "roles/kind_node_image/defaults/main.yml").read_text())["kind_node_image_suite"]
# Built from Debian's busybox-static by kind_node_image and preloaded into our node image.
HELPER_IMAGE = f"todo-k8s/local-path-helper:{SUITE}"


def docker_images(repository_suffix):
    out = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
                         capture_output=True, text=True, check=True).stdout.split()
    return sorted(ref for ref in out if ref.split(":")[0].endswith(repository_suffix) and not ref.endswith(":<none>"))


def run_cluster_playbook(state, kubeconfig, images=(), log=None, **more):
    """Apply playbooks/cluster.yml (MORE: other kind_cluster inputs); returns (completed process, seconds)."""
    variables = {"todo_k8s_cluster_provider": "kind", "kind_cluster_state": state, "kind_cluster_name": CLUSTER,
                 "kind_cluster_kubeconfig": str(kubeconfig), "kind_cluster_images": list(images), **more}
    if os.environ.get("TODO_K8S_TEST_OFFLINE"):
        variables["kind_cluster_offline"] = os.environ["TODO_K8S_TEST_OFFLINE"]
    extra = kubeconfig.parent / f"vars-{state}.json"
    extra.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    result = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(ROOT / "inventories/local"),
         "-e", f"@{extra}", str(ROOT / "playbooks/cluster.yml")],
        capture_output=True, text=True, env=env, cwd=ROOT)
    seconds = time.monotonic() - started
    if log:
        log.write_text(result.stdout + result.stderr)
    return result, seconds


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cluster")


@pytest.fixture(scope="session")
def kubeconfig(workdir):
    return workdir / "kubeconfig"


@pytest.fixture(scope="session")
def app_image():
    """One of our own app images when the image_build role has built it, else the busybox helper image."""
    frontends = docker_images("todo-list-frontend")
    return frontends[-1] if frontends else HELPER_IMAGE


@pytest.fixture(scope="session")
def cluster(workdir, kubeconfig, app_image):
    result, seconds = run_cluster_playbook("present", kubeconfig, [app_image], workdir / "create.log")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    print(f"\ncluster {CLUSTER} ready in {seconds:.0f} s (log: {workdir / 'create.log'})")
    yield {"first_run": result, "seconds": seconds}
    if not os.environ.get("TODO_K8S_TEST_KEEP"):
        run_cluster_playbook("absent", kubeconfig)


@pytest.fixture(scope="session")
def api(cluster, kubeconfig):
    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    core = client.CoreV1Api(api_client)
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    except client.ApiException as error:
        if error.status != 409:
            raise
    return api_client
