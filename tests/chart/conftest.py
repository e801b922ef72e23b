"""Render the chart with the real `helm` binary; tests assert on what it produces."""
import pathlib
import subprocess

import pytest
import yaml

CHART = pathlib.Path(__file__).resolve().parents[2] / "charts" / "todo-list-hackathon"
ENVIRONMENTS = {"default": [], "local": ["values-local.yaml"], "production": ["values-production.yaml"]}


def helm_template(values_files=(), sets=(), release="todo-list", chart=CHART, flags=()):
    cmd = ["helm", "template", release, str(chart), "--namespace", "todo-list", *flags]
    for name in values_files:
        cmd += ["--values", str(CHART / name)]
    for item in sets:
        cmd += ["--set", item]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


class Manifests(list):
    def get(self, kind, name):
        found = [d for d in self if d["kind"] == kind and d["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: found {len(found)}"
        return found[0]

    def of_kind(self, kind):
        return [d for d in self if d["kind"] == kind]


def render(values_files=(), sets=(), flags=(), release="todo-list"):
    result = helm_template(values_files, sets, release=release, flags=flags)
    assert result.returncode == 0, result.stderr
    return Manifests(d for d in yaml.safe_load_all(result.stdout) if d)


def kubernetes_validate(manifests: str, tmp_path: pathlib.Path) -> str:
    """kubernetes-validate's complaints about rendered manifests at the pinned Kubernetes version, '' when valid."""
    path = tmp_path / "manifests.yaml"
    path.write_text(manifests)
    check = subprocess.run(["kubernetes-validate", "--strict", "--quiet", "-k", "1.34.0", str(path)],
                           capture_output=True, text=True, check=False)
    return "" if check.returncode == 0 else check.stdout + check.stderr


def refusal(values_files=(), sets=(), **options):
    """The chart must refuse these values: return helm's message."""
    result = helm_template(values_files, sets, **options)
    assert result.returncode != 0, f"helm template accepted {sets}"
    return result.stderr


@pytest.fixture(scope="session", params=sorted(ENVIRONMENTS))
def environment(request):
    return request.param


@pytest.fixture(scope="session")
def local():
    return render(ENVIRONMENTS["local"])


@pytest.fixture(scope="session")
def production():
    return render(ENVIRONMENTS["production"])
