"""Every input that reaches the cluster deploys on the next run, and `--check --diff` shows it first without
touching anything: a template edit, a values edit and a source edit, each on copies of the chart and the app (the
tree is never edited), each asserted on the live objects. Runs after test_default.py: it changes the release."""
import base64
import json
import os
import pathlib
import re
import shutil
import subprocess
import uuid

import pytest

from layer_sizes import layer_sizes
from live import NAMESPACE, RELEASE, helm, pods, pod_host, recap, run_playbook

ROOT = pathlib.Path(__file__).resolve().parents[3]
ANNOTATION = "todo-k8s.test/edited"
# Where site.yml writes the build report (inventories/local/group_vars/all.yml).
REPORT = pathlib.Path(os.environ.get("TODO_K8S_CACHE_DIR", "/var/cache/todo-k8s")) / "reports" / "images.json"


def run(playbook, *flags, **variables):
    """A playbook that must succeed; returns its output and PLAY RECAP counters."""
    result = run_playbook(playbook, *flags, **variables)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout, recap(result.stdout)


def revision():
    return json.loads(helm("status", RELEASE, "--output=json").stdout)["version"]


@pytest.fixture(scope="module")
def chart(tmp_path_factory):
    """A copy of the chart, to edit."""
    copy = tmp_path_factory.mktemp("chart") / "todo-list-hackathon"
    shutil.copytree(ROOT / "charts" / "todo-list-hackathon", copy)
    return copy


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{path.name} no longer has {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))


def service_annotations(core):
    return core.read_namespaced_service(f"{RELEASE}-backend", NAMESPACE).metadata.annotations or {}


def image_id(ref):
    return subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", ref],
                          capture_output=True, text=True, check=True).stdout.strip()


def live_state(core):
    """What a run could touch: the release's revisions, the namespace's objects and their versions, the build
    report, the images Docker holds and the kind nodes' containers."""
    objects = {(kind, o.metadata.name, o.metadata.resource_version)
               for kind, listed in (("pod", core.list_namespaced_pod), ("service", core.list_namespaced_service),
                                    ("secret", core.list_namespaced_secret), ("configmap", core.list_namespaced_config_map),
                                    ("pvc", core.list_namespaced_persistent_volume_claim))
               for o in listed(NAMESPACE).items}
    docker = lambda *a: subprocess.run(["docker", *a], capture_output=True, text=True, check=True).stdout.split()
    return (json.loads(helm("history", RELEASE, "--output=json").stdout), objects, REPORT.stat().st_mtime_ns,
            sorted(docker("images", "-q", "--no-trunc")), sorted(docker("ps", "-q", "--no-trunc")))


# Every playbook of the collection, and every action of release.yml, in check mode on the deployed release.
CHECKED = [("site.yml", {}), ("playbooks/images.yml", {}), ("playbooks/cluster.yml", {}), ("playbooks/tools.yml", {}),
           ("playbooks/prebuild.yml", {})] + [
          ("playbooks/release.yml", {"helm_release_action": a}) for a in ("deploy", "rollback", "test", "uninstall")]


@pytest.mark.parametrize(("playbook", "variables"), CHECKED, ids=[f"{p}-{v.get('helm_release_action', '')}".rstrip("-")
                                                                 for p, v in CHECKED])
def test_check_mode_of_every_playbook_runs_to_the_end_and_touches_nothing(core, playbook, variables):
    before = live_state(core)
    out, counts = run(playbook, "--check", "--diff", **variables)
    assert counts["failed"] == 0
    assert live_state(core) == before


def test_check_diff_of_site_yml_on_the_deployed_release_reports_nothing_and_touches_nothing():
    before, report, backend = revision(), REPORT.stat().st_mtime_ns, image_id("todo-list-backend:v1.0.0")
    out, counts = run("site.yml", "--check", "--diff")
    assert counts["changed"] == 0, re.findall(r"^(?:changed|TASK).*", out, re.MULTILINE)
    assert (revision(), REPORT.stat().st_mtime_ns, image_id("todo-list-backend:v1.0.0")) == (before, report, backend)


def test_check_diff_of_a_template_edit_shows_the_manifest_change_and_touches_nothing(core, chart):
    edit(chart / "templates" / "services.yaml", "metadata:\n  name:", f"metadata:\n  annotations:\n    {ANNOTATION}: edited\n  name:")
    before = revision()
    out, counts = run("playbooks/release.yml", "--check", "--diff", "-vvv", helm_release_chart_path=str(chart))
    assert f"+    {ANNOTATION}: edited" in out and f"changed Service/{RELEASE}-backend" in out
    assert counts["changed"] == 1
    assert revision() == before and ANNOTATION not in service_annotations(core)
    # The dry run and the release hold every Secret: none of their values shows, even at -vvv (the short ones,
    # an empty API key or the user name "todo", would match anything).
    values = [(s.metadata.name, v) for s in core.list_namespaced_secret(NAMESPACE).items for v in (s.data or {}).values()]
    assert any(name.endswith("-secret") for name, _ in values)
    for name, encoded in values:
        plain = base64.b64decode(encoded).decode(errors="replace")
        assert len(plain) < 16 or (encoded not in out and plain not in out), f"a value of the Secret {name} is in the output"


def test_a_template_edit_deploys_and_a_rerun_changes_nothing(core, chart):
    before = revision()
    _, counts = run("playbooks/release.yml", helm_release_chart_path=str(chart))
    assert counts["changed"] >= 1 and revision() == before + 1
    assert service_annotations(core)[ANNOTATION] == "edited"
    _, counts = run("playbooks/release.yml", helm_release_chart_path=str(chart))
    assert counts["changed"] == 0 and revision() == before + 1


def test_a_values_file_edit_shows_in_check_diff_then_deploys(core, chart):
    edit(chart / "values-local.yaml", "config: {logLevel: DEBUG}", "config: {logLevel: WARNING}")
    before = revision()
    out, _ = run("playbooks/release.yml", "--check", "--diff", helm_release_chart_path=str(chart))
    assert "-  LOG_LEVEL: DEBUG\n+  LOG_LEVEL: WARNING" in out and revision() == before
    run("playbooks/release.yml", helm_release_chart_path=str(chart))
    assert revision() == before + 1
    assert core.read_namespaced_config_map(f"{RELEASE}-backend-config", NAMESPACE).data["LOG_LEVEL"] == "WARNING"


def test_a_source_edit_shows_in_check_diff_then_rebuilds_the_image_and_rolls_pods_that_serve_it(apps, core, tmp_path):
    app = tmp_path / "app"
    shutil.copytree(ROOT / "app", app, ignore=shutil.ignore_patterns(".venv", "node_modules", "__pycache__", "wheels"))
    # A title of its own each run: the layer it makes is new to the layer-size cache, so the run measures it.
    title = f"todo-api, edited {uuid.uuid4().hex[:8]}"
    edit(app / "backend" / "todo_api" / "main.py", 'FastAPI(title="todo-api"', f'FastAPI(title="{title}"')
    deployed_id = lambda: apps.read_namespaced_deployment(f"{RELEASE}-backend", NAMESPACE).spec.template.metadata.annotations["todo-k8s/image-id"]
    before, old_id, built_id = revision(), deployed_id(), image_id("todo-list-backend:v1.0.0")
    out, counts = run("site.yml", "--check", "--diff", image_build_source_dir=str(app))
    assert counts["changed"] >= 1 and re.search(r"TASK \[image_build : Say which images a run would build\][^\n]*\nchanged", out)
    assert re.search(r"image_build: would build todo-list-backend:v1\.0\.0 \(their build contexts changed\)", out), out[-4000:]
    # The release too: the pods the build would roll, with a stand-in for the ID only the build gives.
    assert f"changed Deployment/{RELEASE}-backend" in out and f"changed Deployment/{RELEASE}-frontend" not in out
    assert "+        todo-k8s/image-id: <the ID of the image this run builds>" in out
    assert (revision(), image_id("todo-list-backend:v1.0.0")) == (before, built_id), "check mode built or deployed"
    out, _counts = run("site.yml", "-v", image_build_source_dir=str(app))
    assert revision() == before + 1
    built = {i["component"]: i for i in json.loads(REPORT.read_text())["images"]}
    assert deployed_id() == built["backend"]["id"] == image_id("todo-list-backend:v1.0.0") != old_id
    # Measured once the cluster held it: its new layers read from the cluster's registry, to the byte docker save gives.
    measured = re.search(r"TASK \[image_build : Measure the images, check their limits.*?measured_layers: (\d+).*?"
                         r"registry_layers: (\d+)", out, re.DOTALL)
    assert measured and int(measured[1]) == int(measured[2]) >= 1, out[-4000:]
    assert built["backend"]["compressed_bytes"] == sum(size for size, _tar in layer_sizes("todo-list-backend:v1.0.0").values())
    served = pod_host(pods(core, "backend")[0], "backend").run(
        "python3 -c %s", "import json, urllib.request; "
        "print(json.load(urllib.request.urlopen('http://127.0.0.1:8000/openapi.json'))['info']['title'])")
    assert served.stdout.strip() == title, served.stderr
