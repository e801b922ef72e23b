import json
import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

from live import api, apps, core  # noqa: E402,F401  (fixtures)

WORK = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


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
