"""The release that site.yml installed on kind, checked on the live objects (not on templates)."""
import json
import pathlib

import pytest
import yaml
from kubernetes.utils import parse_quantity

from live import NAMESPACE, RELEASE, helm, in_cluster_python, pod_host, pods, secret_digest

CHART = pathlib.Path(__file__).resolve().parents[3] / "charts" / "todo-list-hackathon"
LOCAL = yaml.safe_load((CHART / "values-local.yaml").read_text())
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())
PORTS = {"frontend": 80, "backend": 8000}
PROBES = {  # data-model.md §6: path, period, timeout, failureThreshold
    "frontend": {"liveness_probe": ("/", 10, 5, 3), "readiness_probe": ("/", 5, 3, 2), "startup_probe": ("/", 5, 3, 12)},
    "backend": {"liveness_probe": ("/health", 10, 5, 3), "readiness_probe": ("/health/ready", 5, 3, 2),
                "startup_probe": ("/health", 5, 3, 12)},
}


@pytest.mark.parametrize("component", PORTS)
def test_deployment_has_its_ready_replicas_and_rolls_without_downtime(apps, component):
    deployment = apps.read_namespaced_deployment(f"{RELEASE}-{component}", NAMESPACE)
    assert deployment.status.ready_replicas == deployment.spec.replicas == 1
    strategy = deployment.spec.strategy
    assert strategy.type == "RollingUpdate"
    assert (strategy.rolling_update.max_surge, strategy.rolling_update.max_unavailable) == (1, 0)
    assert deployment.spec.template.spec.termination_grace_period_seconds == 30


@pytest.mark.parametrize("component", PORTS)
def test_every_probe_of_every_running_container_has_the_spec_values(core, component):
    running = pods(core, component)
    assert running, f"no running {component} pod"
    for pod in running:
        (container,) = pod.spec.containers
        for probe_name, (path, period, timeout, threshold) in PROBES[component].items():
            probe = getattr(container, probe_name)
            assert (probe.http_get.path, probe.http_get.port) == (path, PORTS[component]), probe_name
            assert (probe.period_seconds, probe.timeout_seconds, probe.failure_threshold) == (period, timeout, threshold)


@pytest.mark.parametrize("component", PORTS)
def test_service_is_clusterip_and_its_endpoints_are_exactly_the_ready_pods(core, component):
    service = core.read_namespaced_service(f"{RELEASE}-{component}", NAMESPACE)
    assert service.spec.type == "ClusterIP"
    assert [(p.port, p.target_port) for p in service.spec.ports] == [(PORTS[component], PORTS[component])]
    endpoints = core.read_namespaced_endpoints(f"{RELEASE}-{component}", NAMESPACE)
    addresses = sorted(a.ip for s in endpoints.subsets or [] for a in s.addresses or [])
    ready = sorted(p.status.pod_ip for p in pods(core, component)
                   if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions))
    assert addresses == ready and ready


def test_frontend_pod_resolves_the_backend_by_service_dns_and_gets_its_health(core):
    frontend = pod_host(pods(core, "frontend")[0], "frontend")
    service_ip = core.read_namespaced_service(f"{RELEASE}-backend", NAMESPACE).spec.cluster_ip
    resolved = frontend.run("getent hosts %s", f"{RELEASE}-backend.{NAMESPACE}.svc.cluster.local")
    assert resolved.rc == 0 and resolved.stdout.split()[0] == service_ip
    # The frontend image has no HTTP client; bash's /dev/tcp resolves the Service name like any client would.
    health = frontend.run(
        "bash -c 'exec 3<>/dev/tcp/$0/8000 && printf \"GET /health HTTP/1.0\\r\\nHost: backend\\r\\n\\r\\n\" >&3"
        " && timeout 5 cat <&3' %s", f"{RELEASE}-backend")
    assert health.rc == 0, health.stderr
    assert health.stdout.startswith("HTTP/1.") and " 200 " in health.stdout.splitlines()[0]
    assert json.loads(health.stdout.split("\r\n\r\n", 1)[1]) == {"status": "ok"}


USER_JOURNEY = r"""
steps = {}
email = f"molecule-{uuid.uuid4().hex[:8]}@example.com"
steps["register"] = call("POST", "/api/auth/register", {"email": email, "password": "correct-horse"})[0]
status, body = call("POST", "/api/auth/login", {"email": email, "password": "correct-horse"})
steps["login"] = status; token = body["access_token"]
status, todo = call("POST", "/api/todos", {"title": "verify the live release"}, token); steps["create"] = status
status, listed = call("GET", "/api/todos", token=token); steps["list"] = [status, [t["title"] for t in listed]]
status, done = call("PATCH", f"/api/todos/{todo['id']}", {"completed": True}, token); steps["complete"] = [status, done["completed"]]
steps["delete"] = call("DELETE", f"/api/todos/{todo['id']}", token=token)[0]
steps["gone"] = call("GET", f"/api/todos/{todo['id']}", token=token)[0]
print(json.dumps(steps))
"""


def test_a_user_registers_logs_in_and_manages_a_todo_through_the_frontend_service(core):
    steps = in_cluster_python(core, USER_JOURNEY)
    assert steps == {"register": 201, "login": 200, "create": 201, "list": [200, ["verify the live release"]],
                     "complete": [200, True], "delete": 204, "gone": 404}


@pytest.mark.parametrize("component, config_keys", [
    ("frontend", ["API_URL", "APP_ENV", "FEATURE_FLAGS"]),
    ("backend", ["DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "OPENAI_MODEL", "LOG_LEVEL", "APP_ENV"]),
])
def test_configmap_keys_reach_the_container_environment(core, component, config_keys):
    config_map = core.read_namespaced_config_map(f"{RELEASE}-{component}-config", NAMESPACE).data
    host = pod_host(pods(core, component)[0], component)
    for key in config_keys:
        assert host.run("printenv %s", key).stdout.rstrip("\n") == config_map[key], key


def test_secret_keys_reach_the_backend_without_being_printed(core):
    host = pod_host(pods(core, "backend")[0], "backend")
    for key in ["DATABASE_USER", "DATABASE_PASSWORD", "JWT_SECRET"]:
        in_pod = host.run("printenv %s | tr -d '\\n' | sha256sum", key).stdout.split()[0]
        assert in_pod == secret_digest(core, f"{RELEASE}-backend-secret", key), f"{key} differs (values not shown)"
    # The database's address is the ConfigMap's (host, port, name): no URL in the Secret overrides it.
    assert "DATABASE_URL" not in core.read_namespaced_secret(f"{RELEASE}-backend-secret", NAMESPACE).data


@pytest.mark.parametrize("component", PORTS)
def test_requests_and_limits_are_the_local_values(core, component):
    for pod in pods(core, component):
        resources = pod.spec.containers[0].resources
        for kind in ("requests", "limits"):
            # Helm merges the files: values-local.yaml's cpu and memory over values.yaml's (ephemeral-storage stays).
            wanted = {**DEFAULTS[component]["resources"][kind], **LOCAL[component]["resources"][kind]}
            got = getattr(resources, kind)
            assert {k: parse_quantity(v) for k, v in got.items()} == {k: parse_quantity(v) for k, v in wanted.items()}


def test_helm_test_passes(core):
    result = helm("test", RELEASE, "--logs", "--timeout", "3m")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "frontend serves / and proxies /api/ to the backend" in result.stdout
