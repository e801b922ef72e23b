"""The production site that molecule/production/prepare.yml makes and converge.yml deploys (the production and
multinode scenarios): its folder, its run.sh (a playbook of the installed collection, as the user's CI runs it),
its secrets and build report, and the wait for the HPAs' minimum."""
import json
import os
import pathlib
import subprocess
import time

import pytest
from kubernetes.client import AutoscalingV2Api

from live import NAMESPACE, RELEASE

WORK = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
COMPONENTS = ("frontend", "backend")


def run(playbook, *args, overrides=None):
    """A playbook of the installed collection, as the user's CI runs it (run.sh, made by prepare.yml)."""
    env = dict(os.environ, OVERRIDES=str(overrides)) if overrides else dict(os.environ)
    result = subprocess.run([str(WORK / "run.sh"), playbook, *args], capture_output=True, text=True, env=env)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="session")
def secrets():
    """The site's secrets (prepare.yml), to plant and look for; never printed."""
    return json.loads((WORK / "secrets.json").read_text())


@pytest.fixture(scope="session")
def report():
    return json.loads((WORK / "images-production.json").read_text())


@pytest.fixture(scope="module")
def at_the_hpa_minimum(apps):
    """With an HPA the chart leaves replicas to it (a Deployment created without replicas starts at one, and an
    upgrade never resets what the HPA chose); the HPA raises each to minReplicas at its next sync (15 s)."""
    deadline = time.time() + 120
    while True:
        ready = {c: apps.read_namespaced_deployment(f"{RELEASE}-{c}", NAMESPACE).status.ready_replicas or 0
                 for c in COMPONENTS}
        if min(ready.values()) >= 2:
            return
        assert time.time() < deadline, f"the HPAs did not bring the Deployments to 2 ready replicas in 120 s: {ready}"
        time.sleep(2)


def hpas(api):
    return {h.metadata.name: h for h in AutoscalingV2Api(api).list_namespaced_horizontal_pod_autoscaler(NAMESPACE).items}


def cpu_utilization(hpa):
    """The pods' CPU the HPA last read (percent of their request), None while it has no metrics."""
    for metric in hpa.status.current_metrics or []:
        if metric.type == "Resource" and metric.resource.name == "cpu":
            return metric.resource.current.average_utilization
    return None
