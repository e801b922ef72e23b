"""Session fixtures: site.yml once on a fresh Minikube profile of its own, deleted after the session
(TODO_K8S_TEST_KEEP=1 keeps it)."""
import os

import pytest

from site_run import site


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e") / "kubeconfig"


@pytest.fixture(scope="session")
def first_run(kubeconfig):
    """site.yml on a fresh profile; the profile is deleted after the session."""
    result, seconds = site(kubeconfig, "site-first")
    yield result, seconds
    if not os.environ.get("TODO_K8S_TEST_KEEP"):
        site(kubeconfig, "profile-delete", {"minikube_state": "absent"}, playbook="playbooks/cluster.yml")


@pytest.fixture(scope="session")
def deployed(first_run):
    result, _ = first_run
    assert result.returncode == 0, result.stdout[-4000:]
    return result
