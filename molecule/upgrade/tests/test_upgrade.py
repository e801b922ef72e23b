"""v1.0.0 → v1.0.1 → rollback, each under steady load through the frontend Service: no request fails, no data is lost."""
import json

import pytest

from live import NAMESPACE, RELEASE, in_cluster_python, pods, release_playbook
from load_client import SteadyLoad, delete_client_pod, start_client_pod


TODOS = r"""
call("POST", "/api/auth/register", {"email": "keeper@example.com", "password": "keeper-password"})
token = call("POST", "/api/auth/login", {"email": "keeper@example.com", "password": "keeper-password"})[1]["access_token"]
if ACTION == "create":
    for title in ["written before the upgrade", "and kept through it"]:
        call("POST", "/api/todos", {"title": title}, token)
print(json.dumps(sorted(t["title"] for t in call("GET", "/api/todos", token=token)[1])))
"""
KEPT = ["and kept through it", "written before the upgrade"]


def todos(core, action):
    return in_cluster_python(core, f"ACTION = {action!r}\n" + TODOS)


def release(**variables):
    """The day-2 playbook users run, against the scenario's inventory."""
    result = release_playbook(**variables)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def running_tags(core):
    return {c: sorted({p.spec.containers[0].image.rsplit(":", 1)[1] for p in pods(core, c)}) for c in ("frontend", "backend")}


@pytest.fixture(scope="module")
def load_client(core):
    start_client_pod(core, "todo-list-backend:v1.0.0")
    yield
    delete_client_pod(core)


def test_upgrade_to_the_next_version_fails_no_request_and_keeps_the_data(core, load_client):
    assert running_tags(core) == {"frontend": ["v1.0.0"], "backend": ["v1.0.0"]}
    assert todos(core, "create") == KEPT
    load = SteadyLoad("upgrade@example.com").start()
    release(helm_release_image_tag="v1.0.1")
    summary = load.stop()
    print(json.dumps(summary))
    assert summary["sent"] > 100, summary
    assert summary["failed"] == 0, summary
    assert running_tags(core) == {"frontend": ["v1.0.1"], "backend": ["v1.0.1"]}
    assert todos(core, "read") == KEPT


def test_rollback_serves_the_previous_version_without_failures_or_data_loss(core, load_client):
    load = SteadyLoad("rollback@example.com").start()
    release(helm_release_action="rollback")
    summary = load.stop()
    print(json.dumps(summary))
    assert summary["sent"] > 100 and summary["failed"] == 0, summary
    assert running_tags(core) == {"frontend": ["v1.0.0"], "backend": ["v1.0.0"]}
    assert todos(core, "read") == KEPT
