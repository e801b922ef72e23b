"""What the Molecule verifiers share: clients of the live cluster and ways to run code inside its pods."""
import base64
import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import testinfra
from kubernetes import client, config

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests"))
from playbook_output import recap  # noqa: E402,F401  (the verifiers import it from here)

# The production scenario deploys into a namespace of its own (molecule/production/molecule.yml).
NAMESPACE = os.environ.get("TODO_K8S_TEST_NAMESPACE", "todo-list")
RELEASE = "todo-list"
KUBECONFIG = os.environ.get("KUBECONFIG") or str(pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "kubeconfig")


@pytest.fixture(scope="session")
def api():
    config.load_kube_config(config_file=KUBECONFIG)
    return client.ApiClient()


@pytest.fixture(scope="session")
def core(api):
    return client.CoreV1Api(api)


@pytest.fixture(scope="session")
def apps(api):
    return client.AppsV1Api(api)


def pods(core, component):
    selector = f"app.kubernetes.io/instance={RELEASE},app={component}"
    return [p for p in core.list_namespaced_pod(NAMESPACE, label_selector=selector).items
            if p.metadata.deletion_timestamp is None and p.status.phase == "Running"]


def pod_host(pod, container):
    """A testinfra host inside a running container (testinfra's kubectl backend)."""
    return testinfra.get_host(
        f"kubectl://{pod.metadata.name}?container={container}&namespace={NAMESPACE}&kubeconfig={KUBECONFIG}")


# Prepended to the scripts run in the cluster: JSON calls through the frontend Service, errors as (status, body).
HTTP_CALL = r"""
import json, urllib.error, urllib.request, uuid
BASE = "http://todo-list-frontend:80"
def call(method, path, body=None, token=None):
    req = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token: req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read(); return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
"""


def in_cluster_python(core, script):
    """Run a Python script inside a backend pod (its image has python3), with `call` (HTTP_CALL) defined: requests
    made there cross the cluster's Services and DNS exactly as the pods' own traffic does."""
    pod = pods(core, "backend")[0]
    result = pod_host(pod, "backend").run("python3 -c %s", HTTP_CALL + script)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def secret_digest(core, name, key):
    """sha256 of a Secret value, so tests compare secrets without ever printing them."""
    data = core.read_namespaced_secret(name, NAMESPACE).data[key]
    return hashlib.sha256(base64.b64decode(data)).hexdigest()


def helm(*args):
    return subprocess.run(["helm", *args, "--namespace", NAMESPACE, "--kubeconfig", KUBECONFIG],
                          capture_output=True, text=True, check=False)


def run_playbook(playbook, *flags, **variables):
    """A playbook of the checkout (its path from the root), against the scenarios' inventory, with flags such as -vvv
    or --check; the variables go as one JSON -e, so maps and numbers keep their types. Output without colour."""
    extra = [*flags] + (["-e", json.dumps(variables)] if variables else [])
    root = pathlib.Path(__file__).resolve().parents[2]
    return subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(root / "molecule/inventory/hosts.yml"),
         str(root / playbook), *extra],
        capture_output=True, text=True, cwd=root,
        env=dict(os.environ, ANSIBLE_CONFIG=str(root / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))


def release_playbook(playbook="release.yml", *flags, **variables):
    """A day-2 playbook users run: playbooks/release.yml by default."""
    return run_playbook(f"playbooks/{playbook}", *flags, **variables)
