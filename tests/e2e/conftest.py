"""Session fixtures: the account (made for the session, removed after it with its profile unless
TODO_K8S_TEST_KEEP=1), and its first `make deploy`, the README's first command, on a fresh Minikube profile."""
import os
import time

import pytest

from account import ACCOUNT, PROFILE, as_account, log, make_account, remove_account

# The README's first command as the account types it (-v: the log shows each task's result; profile_tasks: each
# task's time and the slowest ones at the end, build/e2e/make-deploy-first.log).
DEPLOY = (f"cd ~/todo-k8s && ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks "
          f"make deploy DEPLOY_ARGS='-v -e minikube_profile={PROFILE}'")



@pytest.fixture(scope="session")
def home():
    assert os.geteuid() == 0, "tests/e2e makes an account: run it as root (make test does)"
    home = make_account()
    yield home
    if not os.environ.get("TODO_K8S_TEST_KEEP"):
        remove_account()


@pytest.fixture(scope="session")
def kubeconfig(home):
    return home / ".kube" / "todo-k8s-local.yaml"


@pytest.fixture(scope="session")
def deployed(home):
    """`make deploy` from the account's fresh checkout, on a profile that does not exist yet."""
    started = time.monotonic()
    result = as_account(DEPLOY)
    print(f"\nmake deploy as {ACCOUNT}: rc={result.returncode} in {time.monotonic() - started:.0f} s")
    log("make-deploy-first", result)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return result
