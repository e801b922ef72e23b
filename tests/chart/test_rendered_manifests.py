"""The rendered manifests carry every number and rule of shared/spec/data-model.md §2–§8."""
import base64
import hashlib
import json
import subprocess

import pytest

from conftest import CHART, ENVIRONMENTS, helm_template, kubernetes_validate, refusal, render

COMPONENTS = {"frontend": 80, "backend": 8000}

# data-model.md §6: (path, period, timeout, failureThreshold); backend readiness asks the database.
PROBES = {
    "frontend": {"livenessProbe": ("/", 10, 5, 3), "readinessProbe": ("/", 5, 3, 2), "startupProbe": ("/", 5, 3, 12)},
    "backend": {
        "livenessProbe": ("/health", 10, 5, 3),
        "readinessProbe": ("/health/ready", 5, 3, 2),
        "startupProbe": ("/health", 5, 3, 12),
    },
}


def container(manifests, component):
    deployment = manifests.get("Deployment", f"todo-list-{component}")
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def test_local_renders_exactly_the_spec_objects_and_the_embedded_database(local):
    assert sorted((d["kind"], d["metadata"]["name"]) for d in local) == sorted([
        ("ConfigMap", "todo-list-backend-config"),
        ("ConfigMap", "todo-list-frontend-config"),
        ("Deployment", "todo-list-backend"),
        ("Deployment", "todo-list-frontend"),
        ("Pod", "todo-list-test"),
        ("Secret", "todo-list-backend-secret"),
        ("Secret", "todo-list-postgresql"),
        ("Service", "todo-list-backend"),
        ("Service", "todo-list-frontend"),
        ("Service", "todo-list-postgresql"),
        ("Service", "todo-list-postgresql-headless"),
        ("ServiceAccount", "todo-list-backend"),
        ("ServiceAccount", "todo-list-frontend"),
        ("ServiceAccount", "todo-list-postgresql"),
        ("StatefulSet", "todo-list-postgresql"),
    ])


def test_production_renders_hpas_budgets_and_policies_and_no_database_nor_secret_of_its_own(production):
    assert sorted((d["kind"], d["metadata"]["name"]) for d in production) == sorted([
        ("ConfigMap", "todo-list-backend-config"),
        ("ConfigMap", "todo-list-frontend-config"),
        ("Deployment", "todo-list-backend"),
        ("Deployment", "todo-list-frontend"),
        ("HorizontalPodAutoscaler", "todo-list-backend"),
        ("HorizontalPodAutoscaler", "todo-list-frontend"),
        *(("NetworkPolicy", f"todo-list-{allows}") for allows in (
            "deny-all", "to-dns", "frontend-from-anywhere", "frontend-to-backend", "backend-from-frontend",
            "backend-to-database", "backend-to-https", "test-to-frontend")),
        ("PodDisruptionBudget", "todo-list-backend"),
        ("PodDisruptionBudget", "todo-list-frontend"),
        ("Pod", "todo-list-test"),
        ("Service", "todo-list-backend"),
        ("Service", "todo-list-frontend"),
        ("ServiceAccount", "todo-list-backend"),
        ("ServiceAccount", "todo-list-frontend"),
    ])


@pytest.mark.parametrize("component", COMPONENTS)
def test_deployment_rolls_one_pod_at_a_time_without_downtime(environment, component):
    spec = render(ENVIRONMENTS[environment]).get("Deployment", f"todo-list-{component}")["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["restartPolicy"] == "Always"
    assert pod["dnsPolicy"] == "ClusterFirst"
    assert len(pod["containers"]) == 1
    assert spec["selector"]["matchLabels"]["app"] == component
    assert spec["template"]["metadata"]["labels"]["app"] == component


@pytest.mark.parametrize("component", COMPONENTS)
def test_replicas_are_one_locally_and_two_or_more_in_production(local, production, component):
    assert local.get("Deployment", f"todo-list-{component}")["spec"]["replicas"] == 1
    assert "replicas" not in production.get("Deployment", f"todo-list-{component}")["spec"], "the HPA owns replicas"
    hpa = production.get("HorizontalPodAutoscaler", f"todo-list-{component}")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"todo-list-{component}"}
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] >= hpa["minReplicas"]


@pytest.mark.parametrize("component", COMPONENTS)
@pytest.mark.parametrize("probe", ["livenessProbe", "readinessProbe", "startupProbe"])
def test_probes_have_the_spec_paths_ports_and_timings(environment, component, probe):
    got = container(render(ENVIRONMENTS[environment]), component)[probe]
    path, period, timeout, threshold = PROBES[component][probe]
    assert got["httpGet"] == {"path": path, "port": COMPONENTS[component]}
    assert (got["periodSeconds"], got["timeoutSeconds"], got["failureThreshold"]) == (period, timeout, threshold)
    assert got["initialDelaySeconds"] == 0


@pytest.mark.parametrize("component", COMPONENTS)
def test_services_are_clusterip_on_the_spec_ports(environment, component):
    port = COMPONENTS[component]
    manifests = render(ENVIRONMENTS[environment])
    service = manifests.get("Service", f"todo-list-{component}")["spec"]
    assert service["type"] == "ClusterIP"
    assert service["ports"] == [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}]
    assert service["selector"]["app"] == component
    pod_labels = manifests.get("Deployment", f"todo-list-{component}")["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= pod_labels.items()
    assert container(manifests, component)["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]


def test_configmaps_and_secret_have_the_spec_keys_and_reach_the_containers(local):
    frontend = local.get("ConfigMap", "todo-list-frontend-config")["data"]
    assert frontend == {"API_URL": "http://todo-list-backend:8000", "APP_ENV": "development", "FEATURE_FLAGS": '{"chat":false}'}
    backend = local.get("ConfigMap", "todo-list-backend-config")["data"]
    assert set(backend) == {"DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "OPENAI_MODEL", "LOG_LEVEL", "APP_ENV",
                           "FORWARDED_ALLOW_IPS"}
    assert backend["DATABASE_HOST"] == "todo-list-postgresql" and backend["DATABASE_PORT"] == "5432"
    secret = local.get("Secret", "todo-list-backend-secret")
    assert secret["type"] == "Opaque"
    assert set(secret["data"]) == {"DATABASE_USER", "DATABASE_PASSWORD", "JWT_SECRET", "OPENAI_API_KEY"}
    assert container(local, "frontend")["envFrom"] == [{"configMapRef": {"name": "todo-list-frontend-config"}}]
    assert container(local, "backend")["envFrom"] == [
        {"configMapRef": {"name": "todo-list-backend-config"}},
        {"secretRef": {"name": "todo-list-backend-secret"}},
    ]


def test_the_backend_logs_in_to_the_embedded_database_with_its_generated_password(local):
    def decoded(name, key):
        return base64.b64decode(local.get("Secret", name)["data"][key]).decode()

    password = decoded("todo-list-postgresql", "POSTGRES_PASSWORD")
    assert len(password) >= 32
    assert decoded("todo-list-backend-secret", "DATABASE_PASSWORD") == password
    assert decoded("todo-list-backend-secret", "DATABASE_USER") == decoded("todo-list-postgresql", "POSTGRES_USER")
    config = local.get("ConfigMap", "todo-list-backend-config")["data"]
    assert (config["DATABASE_HOST"], config["DATABASE_PORT"], config["DATABASE_NAME"]) == ("todo-list-postgresql", "5432", "todo")


def test_the_generated_secrets_outlive_an_uninstall_so_a_reinstall_reuses_password_and_jwt_secret(local):
    for name in ("todo-list-postgresql", "todo-list-backend-secret"):
        assert local.get("Secret", name)["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}


def test_production_reads_the_existing_secret_and_the_external_database(production):
    assert container(production, "backend")["envFrom"][1] == {"secretRef": {"name": "todo-list-backend-secret"}}
    assert production.get("ConfigMap", "todo-list-backend-config")["data"]["DATABASE_HOST"] != "todo-list-postgresql"
    assert production.get("ConfigMap", "todo-list-frontend-config")["data"]["APP_ENV"] == "production"


@pytest.mark.parametrize("component", COMPONENTS)
def test_resources_are_the_spec_defaults_and_local_overrides(component):
    storage = {"requests": {"ephemeral-storage": "64Mi"}, "limits": {"ephemeral-storage": "256Mi"}}
    default = {"requests": {"cpu": "100m", "memory": "128Mi", **storage["requests"]},
               "limits": {"cpu": "500m", "memory": "512Mi", **storage["limits"]}}
    local = {"requests": {"cpu": "50m", "memory": "64Mi", **storage["requests"]},
             "limits": {"cpu": "1000m", "memory": "1Gi", **storage["limits"]}}
    assert container(render(), component)["resources"] == default
    assert container(render(["values-production.yaml"]), component)["resources"] == default
    assert container(render(["values-local.yaml"]), component)["resources"] == local


def test_images_default_to_the_chart_app_version_and_take_a_given_tag():
    assert container(render(), "backend")["image"] == "todo-list-backend:v1.0.0"
    tagged = render(sets=["frontend.image.tag=v1.2.3"])
    assert container(tagged, "frontend")["image"] == "todo-list-frontend:v1.2.3"
    assert container(render(["values-local.yaml"]), "frontend")["imagePullPolicy"] == "IfNotPresent"


DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_digest_runs_the_image_by_digest_and_keeps_the_tag_for_people(component):
    template = render(sets=[f"{component}.image.digest={DIGEST}", f"{component}.image.tag=v1.2.3"]).get(
        "Deployment", f"todo-list-{component}")["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == f"todo-list-{component}@{DIGEST}"
    assert template["metadata"]["labels"]["app.kubernetes.io/version"] == "v1.2.3"
    assert template["metadata"]["annotations"]["todo-k8s/image-tag"] == f"todo-list-{component}:v1.2.3"
    untouched = render().get("Deployment", f"todo-list-{component}")["spec"]["template"]["metadata"]["annotations"]
    assert "todo-k8s/image-tag" not in untouched, "no digest: the image already says its tag"


def test_the_helm_test_pod_runs_the_backend_image_by_its_digest_too():
    pod = render(sets=[f"backend.image.digest={DIGEST}"]).get("Pod", "todo-list-test")
    assert pod["spec"]["containers"][0]["image"] == f"todo-list-backend@{DIGEST}"
    assert pod["metadata"]["annotations"]["todo-k8s/image-tag"] == "todo-list-backend:v1.0.0"


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_config_change_rolls_the_pods_through_the_checksum(component):
    annotations = lambda m: m.get("Deployment", f"todo-list-{component}")["spec"]["template"]["metadata"]["annotations"]
    # Secrets given: without a cluster to look the kept ones up, each render generates new ones (and says so).
    given = ["postgresql.auth.password=given-password", "backend.secret.jwtSecret=a-jwt-secret-of-at-least-32-bytes!!"]
    before = annotations(render(sets=given))
    assert before == annotations(render(sets=given)), "the same values must give the same checksums"
    changed = {"frontend": "frontend.config.featureFlags.chat=true", "backend": "backend.config.logLevel=DEBUG"}
    assert annotations(render(sets=[*given, changed[component]]))["checksum/config"] != before["checksum/config"]
    if component == "backend":
        for secret in ("backend.secret.jwtSecret=another-secret-of-at-least-32-bytes", "postgresql.auth.password=rotated"):
            assert annotations(render(sets=[*given, secret]))["checksum/secret"] != before["checksum/secret"], secret


def test_the_secret_checksums_are_of_the_secrets_as_rendered_generated_values_included(local):
    def checksum_of(secret_name):
        data = {k: base64.b64decode(v).decode() for k, v in local.get("Secret", secret_name)["data"].items()}
        return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    backend = local.get("Deployment", "todo-list-backend")["spec"]["template"]["metadata"]["annotations"]
    database = local.get("StatefulSet", "todo-list-postgresql")["spec"]["template"]["metadata"]["annotations"]
    assert backend["checksum/secret"] == checksum_of("todo-list-backend-secret")
    assert database["checksum/secret"] == checksum_of("todo-list-postgresql")


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_rebuild_under_the_same_tag_rolls_the_pods_through_the_image_id(component):
    annotations = lambda m: m.get("Deployment", f"todo-list-{component}")["spec"]["template"]["metadata"]["annotations"]
    assert "todo-k8s/image-id" not in annotations(render()), "no ID given: no annotation"
    first, second = (f"sha256:{digit * 64}" for digit in "ab")
    assert annotations(render(sets=[f"{component}.image.id={first}"]))["todo-k8s/image-id"] == first
    assert annotations(render(sets=[f"{component}.image.id={second}"]))["todo-k8s/image-id"] == second


def test_pods_pass_the_restricted_pod_security_standard(environment):
    manifests = render(ENVIRONMENTS[environment])
    pods = [d["spec"]["template"]["spec"] for d in manifests.of_kind("Deployment") + manifests.of_kind("StatefulSet")]
    pods += [d["spec"] for d in manifests.of_kind("Pod")]
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for sysctl in pod["securityContext"].get("sysctls", []):
            assert sysctl["name"] == "net.ipv4.ip_unprivileged_port_start", "only safe sysctls are allowed"
        for c in pod["containers"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_embedded_database_keeps_its_data_on_a_volume_claim(local):
    statefulset = local.get("StatefulSet", "todo-list-postgresql")["spec"]
    (claim,) = statefulset["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data" and claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    mounts = statefulset["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "data", "mountPath": "/var/lib/postgresql/data"} in mounts


def test_the_database_statefulset_is_governed_by_a_headless_service_that_lists_pods_not_yet_ready(local):
    statefulset = local.get("StatefulSet", "todo-list-postgresql")["spec"]
    governing = local.get("Service", statefulset["serviceName"])["spec"]
    assert governing["clusterIP"] == "None" and governing["publishNotReadyAddresses"] is True
    assert governing["selector"] == statefulset["selector"]["matchLabels"]
    assert local.get("Service", "todo-list-postgresql")["spec"]["type"] == "ClusterIP", "clients keep a stable address"


def test_helm_test_pod_checks_the_frontend_and_the_backend_behind_it_and_can_run_again(local):
    pod = local.get("Pod", "todo-list-test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    script = pod["spec"]["containers"][0]["command"][-1]
    assert "http://todo-list-frontend:80/" in script and "/api/todos" in script and "401" in script


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_manifests_are_valid_for_the_pinned_kubernetes_version(env, tmp_path):
    result = helm_template(ENVIRONMENTS[env])
    assert result.returncode == 0, result.stderr
    assert kubernetes_validate(result.stdout, tmp_path) == ""


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_helm_lint_passes(env):
    cmd = ["helm", "lint", "--strict", str(CHART)] + [a for f in ENVIRONMENTS[env] for a in ("--values", str(CHART / f))]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("component", COMPONENTS)
def test_terminating_pods_keep_serving_while_their_endpoint_is_dropped(environment, component):
    pod = render(ENVIRONMENTS[environment]).get("Deployment", f"todo-list-{component}")["spec"]["template"]["spec"]
    sleep = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert 0 < sleep < pod["terminationGracePeriodSeconds"] - 15, "the app still needs time for its own shutdown"


def pod_specs(manifests):
    return {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in manifests if d["kind"] in ("Deployment", "StatefulSet")}


def test_every_pod_runs_as_its_own_service_account_and_mounts_no_token(environment):
    manifests = render(ENVIRONMENTS[environment])
    accounts = {d["metadata"]["name"]: d for d in manifests.of_kind("ServiceAccount")}
    for name, spec in pod_specs(manifests).items():
        assert spec["serviceAccountName"] == name and spec["automountServiceAccountToken"] is False
        assert accounts[name]["automountServiceAccountToken"] is False


def test_the_extension_points_reach_the_pods():
    backend = render(sets=["backend.podLabels.team=todo", "backend.podAnnotations.owner=ops", "backend.priorityClassName=high",
                           "backend.extraEnv[0].name=EXTRA", "backend.extraEnv[0].value=one",
                           "backend.nodeSelector.disk=ssd", "backend.topologySpreadConstraints[0].maxSkew=1",
                           "backend.topologySpreadConstraints[0].topologyKey=kubernetes.io/hostname",
                           "backend.topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway"]).get("Deployment", "todo-list-backend")
    template = backend["spec"]["template"]
    assert template["metadata"]["labels"]["team"] == "todo" and template["metadata"]["annotations"]["owner"] == "ops"
    assert "checksum/config" in template["metadata"]["annotations"]
    spec = template["spec"]
    assert spec["priorityClassName"] == "high" and spec["nodeSelector"] == {"disk": "ssd"}
    assert spec["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    assert {"name": "EXTRA", "value": "one"} in spec["containers"][0]["env"]


@pytest.mark.parametrize("sets, message", [
    (["backend.podLabels.app=other"], "invalid propertyName 'app'"),
    (["frontend.podAnnotations.checksum/config=x"], "invalid propertyName 'checksum/config'"),
    (["backend.podAnnotations.todo-k8s/image-tag=x"], "invalid propertyName 'todo-k8s/image-tag'"),
    (["backend.extraEnv[0].name=NOT-A-NAME"], "/backend/extraEnv/0/name"),
])
def test_the_extension_points_cannot_break_the_selector_or_the_checksums(sets, message):
    assert message in refusal(sets=sets)


def test_a_release_name_too_long_for_the_statefulset_is_refused_in_one_line():
    result = helm_template(release="r" * 42)
    assert result.returncode != 0 and f'name prefix "{"r" * 42}"' in result.stderr and "at most 41" in result.stderr
    assert helm_template(release="r" * 41).returncode == 0


def test_postgresql_waits_for_its_start_and_restarts_only_a_server_that_does_not_answer(local):
    (container_,) = pod_specs(local)["todo-list-postgresql"]["containers"]
    assert container_["startupProbe"]["failureThreshold"] * container_["startupProbe"]["periodSeconds"] >= 300
    liveness, readiness = container_["livenessProbe"]["exec"]["command"][-1], container_["readinessProbe"]["exec"]["command"][-1]
    assert liveness != readiness and liveness.endswith("[ $? -ne 2 ]") and "initialDelaySeconds" not in container_["livenessProbe"]


def test_every_scratch_volume_has_a_size_limit(environment):
    for name, spec in pod_specs(render(ENVIRONMENTS[environment])).items():
        for volume in spec.get("volumes", []):
            if "emptyDir" in volume:
                assert volume["emptyDir"].get("sizeLimit"), f"{name}: volume {volume['name']}"
