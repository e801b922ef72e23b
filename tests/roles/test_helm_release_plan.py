"""helm_release_plan, the module that decides whether the release is upgraded and shows what would change.

The comparison on release JSON of the shape `helm status --output=json` and `helm upgrade --dry-run=server
--output=json` write; then the module through ansible-playbook with the real helm and no cluster (it renders client
side), so the output is what a user sees at -vvvv and --diff."""
import copy
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "plugins" / "modules"
CHART = ROOT / "charts" / "todo-list-hackathon"
CANARY = "canary-c2VjcmV0LW5ldmVyLXNob3du"

spec = importlib.util.spec_from_file_location("helm_release_plan", LIBRARY / "helm_release_plan.py")
plan = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plan)


def release(status="deployed", *objects, hooks=()):
    return {"name": "todo-list", "info": {"status": status},
            "manifest": "".join(f"---\n# Source: x\n{yaml.safe_dump(o)}" for o in objects),
            "hooks": [{"name": h["metadata"]["name"], "manifest": yaml.safe_dump(h)} for h in hooks]}


def service(annotation=None):
    meta = {"name": "todo-list-backend", **({"annotations": {"a": annotation}} if annotation else {})}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {"ports": [{"port": 8000}]}}


def secret(value):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "todo-list-backend-secret"},
            "data": {"JWT_SECRET": value, "DATABASE_URL": "kept"}}


def test_the_same_manifests_are_no_change():
    same = release("deployed", service(), secret("c2FtZQ=="))
    assert plan.compare(same, same) == ([], [], [])


def test_a_template_edit_is_a_change_and_the_diff_shows_it():
    changes, diff, _ = plan.compare(release("deployed", service()), release("pending-upgrade", service("new")))
    assert changes == ["changed Service/todo-list-backend"]
    assert "annotations:\n    a: new" in diff[0]["after"] and "annotations" not in diff[0]["before"]


def test_a_new_hook_and_a_removed_object_are_changes():
    test_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "todo-list-test"}}
    changes, _, _ = plan.compare(release("deployed", service(), secret("YQ==")), release("x", service(), hooks=[test_pod]))
    assert changes == ["added Pod/todo-list-test", "removed Secret/todo-list-backend-secret"]


@pytest.mark.parametrize("status", ["failed", "pending-install", "pending-upgrade"])
def test_a_release_that_is_not_deployed_is_upgraded_even_with_the_same_manifests(status):
    assert plan.compare(release(status, service()), release("x", service()))[0] == ["added Service/todo-list-backend"]


def test_no_release_is_an_install():
    assert plan.compare({}, release("x", service()))[0] == ["added Service/todo-list-backend"]


def test_a_secret_value_never_shows_only_that_it_changed():
    _, diff, _ = plan.compare(release("deployed", secret(CANARY)), release("x", secret(CANARY + "x")))
    assert CANARY not in json.dumps(diff)
    assert "JWT_SECRET: <redacted, changed>" in diff[0]["after"] and "DATABASE_URL: <redacted>" in diff[0]["after"]


def statefulset(service_name="todo-list-postgresql-headless", image="todo-k8s/postgres:17"):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "todo-list-postgresql"},
            "spec": {"serviceName": service_name, "selector": {"matchLabels": {"app": "postgresql"}},
                     "template": {"spec": {"containers": [{"name": "postgresql", "image": image}]}}}}


def test_a_statefulset_whose_service_name_changes_is_replaced_and_its_change_line_says_why():
    changes, _, replace = plan.compare(release("deployed", statefulset("todo-list-postgresql")),
                                       release("x", statefulset()))
    assert replace == ["todo-list-postgresql"]
    assert changes[0].startswith("replaced StatefulSet/todo-list-postgresql (serviceName cannot change in place")


def test_a_statefulset_whose_pod_template_changes_is_updated_in_place():
    changes, _, replace = plan.compare(release("deployed", statefulset()), release("x", statefulset(image="other")))
    assert replace == [] and changes == ["changed StatefulSet/todo-list-postgresql"]


def test_the_database_pod_is_the_ready_first_pod_of_the_release_database_statefulset():
    ready = {"todo-list-postgresql-0", "todo-list-backend-abc"}
    assert plan.database_pod(release("deployed", service(), statefulset()), ready) == "todo-list-postgresql-0"
    assert plan.database_pod(release("failed", statefulset()), ready) == "todo-list-postgresql-0", "a failed upgrade keeps data"
    assert plan.database_pod(release("deployed", service()), ready) == ""
    assert plan.database_pod(release("deployed", statefulset()), {"todo-list-backend-abc"}) == "", "not Ready: nothing to dump"


def test_ready_pods_are_those_with_the_ready_condition_and_not_terminating():
    def pod(name, ready, deleting=False):
        meta = {"name": name, **({"deletionTimestamp": "now"} if deleting else {})}
        return {"metadata": meta, "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
    listed = json.dumps({"items": [pod("a", True), pod("b", False), pod("c", True, deleting=True)]})
    assert plan.ready_pod_names(listed) == {"a"}


def test_values_merge_as_helm_merges_values_files():
    assert plan.merged({"a": {"b": 1, "c": [1, 2]}, "d": 1}, {"a": {"c": [3]}, "e": 2}) == {
        "a": {"b": 1, "c": [3]}, "d": 1, "e": 2}


PLAY = [{"hosts": "localhost", "gather_facts": False, "tasks": [{"helm_release_plan": {
    "release": "todo-list", "namespace": "todo-list", "chart_path": "{{ chart }}", "values_files": ["{{ files }}"],
    "values_json": "{{ values | to_json }}", "kubeconfig": "{{ kubeconfig }}", "work_dir": "{{ work_dir }}",
    "image_tag": "{{ tag | default('') }}"}}]}]


def run(tmp_path, values, *flags, files="values-local.yaml", tag="", chart=CHART, path=None, play=PLAY):
    """The module through ansible-playbook against no cluster (an empty kubeconfig): client-side render."""
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    (tmp_path / "vars.json").write_text(json.dumps({"values": values, "files": files, "tag": tag, "chart": str(chart), "work_dir": str(tmp_path / "work"),
                                                    "kubeconfig": str(tmp_path / "kubeconfig")}))
    return subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", f"@{tmp_path / 'vars.json'}",
         str(tmp_path / "play.yml"), *flags],
        capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_LIBRARY": str(LIBRARY), "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
             "ANSIBLE_LOCALHOST_WARNING": "false", "KUBECONFIG": str(tmp_path / "kubeconfig"),
             **({"PATH": path} if path else {})})


def test_without_a_cluster_the_chart_is_rendered_client_side_and_everything_is_to_be_added(tmp_path):
    done = run(tmp_path, {}, "-v")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cluster_answers: false" in done.stdout and "added StatefulSet/todo-list-postgresql" in done.stdout


def test_an_inventory_secret_never_shows_at_any_verbosity_nor_in_the_diff(tmp_path):
    done = run(tmp_path, {"backend": {"secret": {"jwtSecret": CANARY * 2}}}, "--diff", "-vvvv")
    assert done.returncode == 0, done.stdout + done.stderr
    assert CANARY not in done.stdout + done.stderr
    assert "JWT_SECRET: <redacted>" in done.stdout


def test_a_value_the_schema_refuses_stops_the_run_with_the_chart_message(tmp_path):
    done = run(tmp_path, {"backend": {"replicaCount": "two"}})
    assert done.returncode != 0 and "replicaCount" in done.stdout


def test_a_values_file_that_is_not_a_mapping_is_refused_without_showing_its_text(tmp_path):
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    (chart / "values-broken.yaml").write_text(f"- {CANARY}\n")
    done = run(tmp_path, {}, "-vvvv", files="values-broken.yaml", chart=chart)
    assert done.returncode != 0 and "is not a YAML mapping" in done.stdout
    assert CANARY not in done.stdout + done.stderr


def test_a_tag_other_than_the_chart_appversion_packages_the_chart_with_it(tmp_path):
    done = run(tmp_path, {}, "-v", tag="v9.8.7")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "app_version: v9.8.7" in done.stdout
    assert list((tmp_path / "work" / "v9.8.7").glob("todo-list-hackathon-*.tgz"))


@pytest.mark.parametrize("path_has_helm", [True, False], ids=["no cluster", "helm not installed (check mode)"])
def test_every_documented_return_value_is_returned_on_every_path(tmp_path, path_has_helm):
    """The role reads these keys whatever the path (a missing one failed check mode on a fresh machine)."""
    play = copy.deepcopy(PLAY)
    play[0]["tasks"][0]["register"] = "planned"
    play[0]["tasks"].append({"ansible.builtin.copy": {"content": "{{ planned | to_json }}", "dest": str(tmp_path / "out.json")},
                             "check_mode": False})
    path = os.environ["PATH"] if path_has_helm else "/usr/bin:/bin"
    done = run(tmp_path, {}, *([] if path_has_helm else ["--check"]), path=path, play=play)
    assert done.returncode == 0, done.stdout + done.stderr
    returned = json.loads((tmp_path / "out.json").read_text())
    assert returned["helm_missing"] is not path_has_helm
    assert set(yaml.safe_load(plan.RETURN)) - set(returned) == set()


def test_a_pushed_app_image_is_deployed_from_its_registry_by_digest_and_a_local_one_by_tag():
    digest = "sha256:" + "a" * 64
    report = {"images": [
        {"component": "backend", "name": "todo-list-backend", "tag": "v1.2.3", "id": "sha256:1",
         "repository": "registry.example.com:5443/todo/todo-list-backend", "digest": digest},
        {"component": "frontend", "name": "todo-list-frontend", "tag": "v1.2.3", "id": "sha256:2",
         "repository": None, "digest": None},
        {"component": "postgresql", "name": "todo-k8s/postgres", "tag": "17", "id": "sha256:3"}]}
    values = plan.report_values(report, ["frontend", "backend"])
    assert values["backend"]["image"] == {"repository": "registry.example.com:5443/todo/todo-list-backend",
                                          "tag": "v1.2.3", "id": "sha256:1", "digest": digest}
    assert values["frontend"]["image"] == {"repository": "todo-list-frontend", "tag": "v1.2.3", "id": "sha256:2"}
    assert values["postgresql"]["image"] == {"repository": "todo-k8s/postgres", "tag": "17"}
