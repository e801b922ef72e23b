"""Role inputs are documented once and validated before anything changes."""
import base64
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


def options(role):
    """The inputs of every entry point of the role (main, or tasks_from entry points such as common's offline)."""
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return {name: spec for entry in specs.values() for name, spec in entry.get("options", {}).items()}


def test_every_role_documents_its_inputs():
    assert ROLES == sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_name_the_same_inputs(role):
    """Every optional input has a default, and only inputs have one (a required input has none)."""
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    assert sorted(defaults) == sorted(name for name, spec in options(role).items() if not spec.get("required"))


@pytest.mark.parametrize("role", ROLES)
def test_every_input_is_role_prefixed_and_described(role):
    for name, spec in options(role).items():
        assert name.startswith(role + "_"), name
        assert spec.get("description"), f"{name} has no description"
        assert spec.get("type"), f"{name} has no type"


@pytest.mark.parametrize("role", ROLES)
def test_documented_defaults_equal_the_real_ones(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    for name, spec in options(role).items():
        if "default" in spec:
            assert spec["default"] == defaults[name], name


def run_role(role, tmp_path, *flags, **variables):
    """Apply a role with these inputs against a kubeconfig that points nowhere: nothing can be touched."""
    variables.setdefault("helm_release_kubeconfig", str(tmp_path / "no-cluster.yaml"))
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({"role_under_test": role, **variables}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
         "-e", f"ansible_python_interpreter={sys.executable}", "-e", f"@{extra}", *flags, str(ROOT / "tests/roles/apply_role.yml")],
        capture_output=True, text=True, env=env, cwd=ROOT)


REFUSED = [
    ("helm_release", {"helm_release_action": "redeploy"}, "helm_release_action must be one of"),
    ("helm_release", {"helm_release_image_tag": "latest"}, "helm_release_image_tag 'latest' is not of the form vX.Y.Z"),
    ("helm_release", {"helm_release_rollback_revision": "previous"}, "helm_release_rollback_revision"),
    ("helm_release", {"helm_release_backup_keep": "many"}, "helm_release_backup_keep"),
    ("helm_release", {"helm_release_building": {"backend": True}}, "helm_release_building"),
    ("helm_release", {"helm_release_backup_keep": -1}, "helm_release_backup_keep is -1: a count of backups"),
    ("helm_release", {"helm_release_action": "backup"}, "helm_release_action must be one of"),
    ("helm_release", {"helm_release_values_files": ["values-staging.yaml"]}, "values-staging.yaml"),
    ("helm_release", {"helm_release_values": {"backend": {"strategy": {"maxUnavailable": 1}}}},
     "/backend/strategy/maxUnavailable"),
    ("helm_release", {"helm_release_values": {"frontend": {"terminationGracePeriodSeconds": 5}}},
     "/frontend/terminationGracePeriodSeconds"),
    ("helm_release", {"helm_release_values": {"backend": {"resources": {"limits": {"cpu": "10m"}}}}},
     "todo-list-backend: resources.limits.cpu (10m) is below resources.requests.cpu"),
    ("helm_release", {"helm_release_image_tag": "v1.0.0", "helm_release_values": {"frontend": {"image": {"tag": "v2.0.0"}}}},
     "frontend and backend must run the same version"),
    ("image_build", {"image_build_tag": "v1.0"}, "image_build_tag 'v1.0' is not of the form vX.Y.Z"),
    ("image_build", {"image_build_backend_max_mb": 0}, "must be positive numbers of MB"),
    ("image_build", {"image_build_report_later": "sometimes"}, "image_build_report_later"),
    ("cli_tools", {"cli_tools_helm_version": "4.1.4"}, "versions must be of the form vX.Y.Z (helm '4.1.4'"),
    ("cli_tools", {"cli_tools_offline": "sometimes"}, "cli_tools_offline must be one of"),
    ("kind_cluster", {"kind_cluster_workers": 12}, "kind_cluster_workers 0 to 9"),
    ("kind_cluster", {"kind_cluster_workers": "two"}, "kind_cluster_workers"),
    ("minikube", {"minikube_state": "running"}, "minikube_state must be one of"),
    ("minikube", {"minikube_container_runtime": "rkt"}, "minikube_container_runtime must be one of"),
    ("minikube", {"minikube_cpus": 1}, "the node needs at least 2 CPUs and 1800 MB"),
    ("registry", {"registry_password": ""}, "registry_password must be set (at least 12 characters"),
    ("registry", {"registry_password": "short"}, "registry_password must be set (at least 12 characters"),
    ("registry", {"registry_password": "long-enough-pw", "registry_version": "3.1.2"}, "registry_version must be vX.Y.Z; nothing was made"),
    ("registry", {"registry_state": "running"}, "registry_state must be one of"),
    # The entry point kind_cluster builds its load registry with checks the version on its own.
    ("registry", {"tasks_from_under_test": "image", "registry_version": "3.1.2"},
     "registry: registry_version must be vX.Y.Z (is '3.1.2'); nothing was made."),
    ("metrics_server", {"metrics_server_version": "0.8.0"}, "metrics_server_version must be vX.Y.Z (is '0.8.0')"),
    ("metrics_server", {"metrics_server_resolution_seconds": 2}, "metrics_server_resolution_seconds at least 10 (is 2)"),
    ("metrics_server", {"metrics_server_state": "running"}, "metrics_server_state must be one of"),
    ("metrics_server", {"metrics_server_kind_cluster": "todo-local", "metrics_server_minikube_profile": "todo-local"},
     "one cluster at a time (metrics_server_kind_cluster 'todo-local' or metrics_server_minikube_profile 'todo-local')"),
]


@pytest.mark.parametrize("role, variables, message", REFUSED, ids=[f"{r}-{next(iter(v))}" for r, v, _ in REFUSED])
def test_bad_input_is_refused_with_a_clear_message_before_anything_changes(role, variables, message, tmp_path):
    result = run_role(role, tmp_path, **variables)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert message in output, output
    assert "changed=0" in output, "nothing may change before the refusal"


# The production inventory leaves the optional inputs unset (todo_k8s_metrics_server): its run without the vault
# must get past every check before the vault's, to the vault's own line.
@pytest.mark.parametrize("inventory, variables, message", [
    ("local", {"todo_k8s_cluster_provider": "docker"}, "todo_k8s_cluster_provider is 'docker': use kind, minikube or existing."),
    ("local", {"todo_k8s_metrics_server": "maybe"}, "todo_k8s_metrics_server is 'maybe': use true or false."),
    ("production", {}, "The production inventory needs its secrets"),
], ids=["cluster_provider", "metrics_server", "production-without-vault"])
def test_site_yml_refuses_a_bad_inventory_value_in_one_line_before_anything_changes(inventory, variables, message, tmp_path):
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(variables))
    result = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", f"inventories/{inventory}",
                             "-e", f"@{extra}", "site.yml"], capture_output=True, text=True, cwd=ROOT,
                            env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1"))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert message in output, output
    assert "changed=0" in output, "nothing may change before the refusal"


def test_helm_release_without_a_cluster_stops_after_rendering_with_one_clear_line(tmp_path):
    result = run_role("helm_release", tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Compare what the release runs with what an install or upgrade would deploy" in output
    assert "no Kubernetes cluster answers through" in output and "the chart rendered fine" in output, output


def test_helm_release_never_shows_a_secret_from_a_values_file_or_the_inventory_at_any_verbosity(tmp_path):
    chart = tmp_path / "chart"
    shutil.copytree(ROOT / "charts" / "todo-list-hackathon", chart)
    in_file, in_inventory = "canary-in-a-values-file-0123456789abcdef", "canary-in-the-inventory-0123456789abcdef"
    (chart / "values-secret.yaml").write_text(f"backend:\n  secret:\n    jwtSecret: {in_file}\n")
    result = run_role("helm_release", tmp_path, "-vvv", helm_release_chart_path=str(chart),
                      helm_release_values_files=["values-local.yaml", "values-secret.yaml"],
                      helm_release_values={"postgresql": {"auth": {"password": in_inventory}}})
    output = result.stdout + result.stderr
    assert "no Kubernetes cluster answers through" in output, output[-3000:]
    for canary in (in_file, in_inventory):
        assert canary not in output
        assert base64.b64encode(canary.encode()).decode()[:24] not in output, "base64 of a secret is the secret"


def test_a_values_file_that_is_not_yaml_is_refused_in_one_line_without_its_text(tmp_path):
    chart = tmp_path / "chart"
    shutil.copytree(ROOT / "charts" / "todo-list-hackathon", chart)
    (chart / "values-broken.yaml").write_text("backend: [jwtSecret: canary-broken-0123456789\n")
    result = run_role("helm_release", tmp_path, helm_release_chart_path=str(chart),
                      helm_release_values_files=["values-local.yaml", "values-broken.yaml"])
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "values-broken.yaml is not valid YAML (line 2)" in output, output[-3000:]
    assert "canary-broken" not in output
