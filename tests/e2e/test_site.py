"""The README's first command end to end on Minikube, run by the normal account it is for (account.py): it deploys
and says where the app is, a person uses the app in a browser and finds their todo after a reload, an image rebuilt
under its tag reaches the node, and each bad input stops the run with one clear line before anything is touched."""
import json
import re
import socket
import subprocess
import time
import uuid

import pytest
import yaml
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from account import NAMESPACE, PROFILE, RELEASE, ROOT, as_account, helm_revision, site
from playbook_output import failure_message, recap

ARTIFACTS = ROOT / "artifacts"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kubectl(kubeconfig, *args, **kwargs):
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, **kwargs)


def test_first_run_deploys_on_minikube_and_says_where_the_app_is(deployed, kubeconfig):
    out = deployed.stdout
    assert recap(deployed)["failed"] == 0
    assert "Open the app at http://127.0.0.1:8080/" in out and "port-forward service/todo-list-frontend 8080:80" in out
    assert "todo-list-backend:v1.0.0 sha256:" in out and "todo-list-frontend:v1.0.0 sha256:" in out
    ready, total = map(int, re.search(r"Pods ready: (\d+)\s+of (\d+) containers", out).groups())
    assert ready == total >= 3
    nodes = json.loads(kubectl(kubeconfig, "get", "nodes", "-o", "json", check=True).stdout)["items"]
    assert [n["metadata"]["name"] for n in nodes] == [PROFILE]
    # The pin, from the one place it lives (the minikube role's defaults; tests/roles/test_pins.py keeps the others equal).
    pinned = yaml.safe_load((ROOT / "roles" / "minikube" / "defaults" / "main.yml").read_text())["minikube_kubernetes_version"]
    assert nodes[0]["status"]["nodeInfo"]["kubeletVersion"] == pinned


@pytest.fixture
def app_url(deployed, kubeconfig):
    port = free_port()
    forward = subprocess.Popen(["kubectl", "--kubeconfig", str(kubeconfig), "-n", NAMESPACE, "port-forward",
                                f"service/{RELEASE}-frontend", f"{port}:80"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        forward.terminate()
        forward.wait(10)


def test_a_person_adds_and_completes_a_todo_in_a_browser_and_finds_it_after_a_reload(app_url, browser, log_in_as_new_user):
    email, title = f"e2e-{uuid.uuid4().hex[:6]}@example.com", "Check the Minikube deployment"
    # APP_ENV "development": values-local.yaml reached the page.
    wait = log_in_as_new_user(app_url, "development", email, "e2e-password", timeout=20)

    browser.find_element(By.ID, "title").send_keys(title)
    browser.find_element(By.ID, "add").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "list"), title))
    browser.find_element(By.CSS_SELECTOR, "#list li .complete").click()
    wait.until(lambda d: "done" in d.find_element(By.CSS_SELECTOR, "#list li").get_attribute("class"))

    browser.refresh()  # persisted in PostgreSQL behind the backend, not in the page
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#list li")) == 1)
    [item] = browser.find_elements(By.CSS_SELECTOR, "#list li")
    assert item.find_element(By.CLASS_NAME, "title").text == title
    assert "done" in item.get_attribute("class")
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "site-minikube.png"))


def test_an_image_rebuilt_under_the_same_tag_replaces_the_one_in_the_node(deployed):
    probe = "todo-e2e-probe:v1"

    def image_id(ref):
        return subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", ref],
                              capture_output=True, text=True, check=True).stdout.strip()

    def node_id():
        listing = as_account(f"~/.local/bin/minikube image ls --format json -p {PROFILE}")
        assert listing.returncode == 0, listing.stderr
        listing = listing.stdout
        return {tag: image["id"] for image in json.loads(listing) for tag in image["repoTags"]}.get(f"docker.io/library/{probe}")

    try:
        for number, source in enumerate(["todo-k8s/postgres:17", "todo-list-frontend:v1.0.0"]):
            subprocess.run(["docker", "tag", source, probe], check=True)  # "rebuilt": other content, same tag
            result, _ = site(f"image-reload-{number}", {"minikube_images": [probe]}, playbook="playbooks/cluster.yml")
            assert result.returncode == 0, result.stdout[-3000:]
            assert recap(result)["changed"] >= 1
            assert node_id() == image_id(source)
        result, _ = site("image-reload-unchanged", {"minikube_images": [probe]}, playbook="playbooks/cluster.yml")
        assert recap(result)["changed"] == 0
    finally:
        as_account(f"~/.local/bin/minikube image rm {probe} -p {PROFILE}")
        subprocess.run(["docker", "rmi", probe], capture_output=True)


def test_metrics_server_asked_for_by_the_inventory_answers_kubectl_top_on_minikube(deployed, kubeconfig):
    """todo_k8s_metrics_server: metrics-server (root's build, borrowed read only) loaded into the account's profile:
    the Metrics API answers for the app's pods and the release is not touched (no Helm revision); that a second run
    changes nothing is proven on kind (molecule/production: test_metrics_server_a_second_time_changes_nothing)."""
    revision = helm_revision(kubeconfig)
    result, _ = site("metrics-server", {"todo_k8s_metrics_server": True})
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap(result)["changed"] >= 1  # the image loaded, the objects applied: nothing of it could be pulled
    deadline = time.monotonic() + 120  # the pods' first usage comes with metrics-server's second scrape
    while True:
        top = kubectl(kubeconfig, "top", "pods", "-n", NAMESPACE, "--no-headers")
        pods = [line.split()[0] for line in top.stdout.splitlines()]
        if any(p.startswith(f"{RELEASE}-backend-") for p in pods) or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert any(p.startswith(f"{RELEASE}-backend-") for p in pods), top.stdout + top.stderr
    assert helm_revision(kubeconfig) == revision


def refused(name, variables, nothing_changed=True):
    """Run site.yml with a bad input: it fails and, unless said otherwise, has changed nothing before the refusal."""
    result, _ = site(name, variables)
    assert result.returncode != 0, result.stdout[-3000:]
    if nothing_changed:
        assert recap(result)["changed"] == 0, [l for l in result.stdout.splitlines() if l.startswith("changed:")]
    return failure_message(result)


def test_a_profile_bigger_than_the_free_memory_is_refused(deployed):
    message = refused("refused-memory", {"minikube_profile": "todo-e2e-huge", "minikube_memory_mb": 10_000_000})
    assert message.startswith("Not enough memory for the Minikube profile todo-e2e-huge: it asks for 10000000 MB")
    assert "todo-e2e-huge" not in subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"],
                                                 capture_output=True, text=True, check=True).stdout


def test_a_taken_local_port_is_refused_before_anything_changes(deployed):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        message = refused("refused-port", {"todo_k8s_app_port": port})
    assert message.startswith(f"Port {port} on this machine is already taken")


def test_an_image_over_its_size_limit_is_refused_before_the_release_changes(deployed, kubeconfig, home):
    revision = helm_revision(kubeconfig)
    message = refused("refused-size", {"image_build_frontend_max_mb": 1,
                                                   "todo_k8s_build_report": str(home / "refused-size-images.json")},
                      nothing_changed=False)  # the build report of the refused build is written, for the operator
    assert "todo-list-frontend:v1.0.0" in message and "over its limit of 1 MB" in message
    assert helm_revision(kubeconfig) == revision


def test_docker_that_is_missing_and_not_installable_is_refused(deployed):
    message = refused("refused-docker", {"docker_engine_packages": ["todo-k8s-no-such-docker-package"]})
    assert message.startswith("Docker is missing and could not be installed")
