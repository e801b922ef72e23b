"""A kind cluster made by the kind_cluster role runs real workloads: DNS, Services, probes, storage.

Tests run in file order; the last one deletes the cluster.
"""
import subprocess
import time

import pytest
from kubernetes import client

from conftest import CLUSTER, HELPER_IMAGE, NAMESPACE, run_cluster_playbook
from layer_sizes import layer_sizes, measure
from playbook_output import recap

TIMEOUT = 180


def wait_for(what, check, timeout=TIMEOUT, interval=2):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def run_pod(api, name, command, timeout=TIMEOUT, **container):
    """Run a one-shot pod of the helper image; return (phase, logs)."""
    core = client.CoreV1Api(api)
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(restart_policy="Never", containers=[client.V1Container(
            name=name, image=HELPER_IMAGE, image_pull_policy="Never", command=["sh", "-c", command], **container)]))
    core.create_namespaced_pod(NAMESPACE, pod)
    try:
        phase = wait_for(f"pod {name} to finish", lambda: (
            p := core.read_namespaced_pod(name, NAMESPACE).status.phase) in ("Succeeded", "Failed") and p, timeout)
        return phase, core.read_namespaced_pod_log(name, NAMESPACE)
    finally:
        core.delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=0)


def test_creating_the_cluster_again_changes_nothing(cluster, kubeconfig, app_image):
    result, seconds = run_cluster_playbook("present", kubeconfig, [app_image])
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap(result)["changed"] == 0, result.stdout[-3000:]
    assert seconds < 120, f"a second run took {seconds:.0f} s"


def test_asking_a_running_cluster_for_workers_is_refused_in_one_line_without_a_change(cluster, kubeconfig, app_image):
    result, _ = run_cluster_playbook("present", kubeconfig, [app_image], kind_cluster_workers=2)
    assert result.returncode != 0 and recap(result)["changed"] == 0, result.stdout[-3000:]
    assert (f"kind cluster {CLUSTER} runs 1 node(s) ({CLUSTER}-control-plane) and kind_cluster_workers asks for 3: "
            "kind cannot add or remove nodes") in " ".join(result.stdout.split()), result.stdout[-3000:]


def test_the_node_is_ready(api):
    nodes = client.CoreV1Api(api).list_node().items
    assert [n.metadata.name for n in nodes] == [f"{CLUSTER}-control-plane"]
    ready = {c.type: c.status for c in nodes[0].status.conditions}["Ready"]
    assert ready == "True"


def test_coredns_resolves_the_api_service_and_a_service_name_from_a_pod(api):
    phase, logs = run_pod(api, "dns-probe", (
        "nslookup kubernetes.default.svc.cluster.local && nslookup kube-dns.kube-system.svc.cluster.local"))
    assert phase == "Succeeded", logs
    api_ip = client.CoreV1Api(api).read_namespaced_service("kubernetes", "default").spec.cluster_ip
    dns_ip = client.CoreV1Api(api).read_namespaced_service("kube-dns", "kube-system").spec.cluster_ip
    assert f"Address: {api_ip}" in logs
    assert f"Address: {dns_ip}" in logs


def web_deployment(image):
    """Our frontend (nginx on 8080) when built, else busybox httpd serving a page, both on port 8080."""
    probe = client.V1Probe(http_get=client.V1HTTPGetAction(path="/", port=8080), period_seconds=2)
    if image == HELPER_IMAGE:
        container = client.V1Container(
            name="web", image=image, image_pull_policy="Never", readiness_probe=probe,
            command=["sh", "-c", "mkdir -p /www && echo todo-k8s > /www/index.html && exec httpd -f -p 8080 -h /www"])
    else:
        container = client.V1Container(
            name="web", image=image, image_pull_policy="Never", readiness_probe=probe,
            env=[client.V1EnvVar(name="LISTEN_PORT", value="8080")])
    labels = {"app": "web"}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=1, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels), spec=client.V1PodSpec(containers=[container]))))


def test_a_deployment_of_our_image_is_reachable_through_its_service_by_name(api, app_image):
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(NAMESPACE, web_deployment(app_image))
    core.create_namespaced_service(NAMESPACE, client.V1Service(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1ServiceSpec(type="ClusterIP", selector={"app": "web"},
                                  ports=[client.V1ServicePort(port=80, target_port=8080)])))
    wait_for("deployment web to be available", lambda: (
        apps.read_namespaced_deployment("web", NAMESPACE).status.available_replicas or 0) >= 1)
    phase, logs = run_pod(api, "web-client", (
        # busybox 1.35's wget crashes with -T: bound it with timeout instead.
        f"timeout 10 wget -q -O - http://web/ && timeout 10 wget -q -O - http://web.{NAMESPACE}.svc.cluster.local/ "
        "&& echo REACHED"))
    assert phase == "Succeeded", logs
    assert "REACHED" in logs


def test_a_claim_of_the_default_storage_class_is_writable_by_a_non_root_user(api):
    core = client.CoreV1Api(api)
    core.create_namespaced_persistent_volume_claim(NAMESPACE, client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="data"),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"], resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}))))
    name = "writer"
    core.create_namespaced_pod(NAMESPACE, client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            restart_policy="Never",
            security_context=client.V1PodSecurityContext(run_as_user=999, run_as_group=999, fs_group=999),
            volumes=[client.V1Volume(name="data", persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                claim_name="data"))],
            containers=[client.V1Container(
                name=name, image=HELPER_IMAGE, image_pull_policy="Never",
                command=["sh", "-c", "echo ok > /data/probe && cat /data/probe"],
                volume_mounts=[client.V1VolumeMount(name="data", mount_path="/data")])])))
    phase = wait_for("the writer pod to finish", lambda: (
        p := core.read_namespaced_pod(name, NAMESPACE).status.phase) in ("Succeeded", "Failed") and p)
    assert phase == "Succeeded", core.read_namespaced_pod_log(name, NAMESPACE)
    assert core.read_namespaced_persistent_volume_claim("data", NAMESPACE).status.phase == "Bound"


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def test_an_image_it_loaded_is_measured_from_its_registry_to_the_byte_docker_save_gives(cluster, app_image, tmp_path):
    """site.yml measures the images kind_cluster loaded from the cluster's registry (image_build_report's registry):
    the new layers only, each checked against its diff ID, where docker save reads the whole image."""
    if app_image == HELPER_IMAGE:
        pytest.skip("no app image is built (make images): the cluster loaded nothing through its registry")
    registry = "127.0.0.1:" + docker("port", f"{CLUSTER}-registry", "5000/tcp").splitlines()[0].rsplit(":", 1)[1]
    expected = layer_sizes(app_image)

    result = measure(app_image, tmp_path / "registry", registry=registry)
    assert result["measured_layers"] == result["registry_layers"] == len(expected), result
    assert result["report"]["images"][0]["compressed_bytes"] == sum(size for size, _tar in expected.values())
    for diff_id, sizes in expected.items():
        assert (tmp_path / "registry" / "layers" / diff_id.removeprefix("sha256:")).read_text() == "%d %d" % sizes


def test_an_image_its_registry_holds_in_another_version_is_measured_from_docker_save(cluster, app_image, tmp_path):
    if app_image == HELPER_IMAGE:
        pytest.skip("no app image is built (make images): the cluster loaded nothing through its registry")
    registry = "127.0.0.1:" + docker("port", f"{CLUSTER}-registry", "5000/tcp").splitlines()[0].rsplit(":", 1)[1]
    # The registry holds a one-file image under the name; Docker holds the app image under it.
    ref = "todo-k8s-test/measure-probe:v1.0.0"
    (tmp_path / "context").mkdir()
    (tmp_path / "context" / "a").write_text("a")
    (tmp_path / "context" / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    docker("build", "--quiet", "--tag", f"{registry}/{ref}", str(tmp_path / "context"))
    docker("push", f"{registry}/{ref}")
    docker("rmi", f"{registry}/{ref}")
    docker("tag", app_image, ref)
    try:
        result = measure(ref, tmp_path / "save", registry=registry)
    finally:
        docker("rmi", ref)
    expected = layer_sizes(app_image)
    assert (result["measured_layers"], result["registry_layers"]) == (len(expected), 0), result
    assert result["report"]["images"][0]["compressed_bytes"] == sum(size for size, _tar in expected.values())


def test_deleting_the_cluster_leaves_no_containers_behind(cluster, kubeconfig):
    result, _ = run_cluster_playbook("absent", kubeconfig)
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap(result)["changed"] >= 1
    leftovers = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=io.x-k8s.kind.cluster={CLUSTER}"],
        capture_output=True, text=True, check=True).stdout.split()
    assert leftovers == []
    clusters = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, check=True).stdout.split()
    assert CLUSTER not in clusters
    again, _ = run_cluster_playbook("absent", kubeconfig)
    assert recap(again)["changed"] == 0
