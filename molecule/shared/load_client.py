"""A client pod inside the cluster that sends steady traffic through the frontend Service while the release
changes under it (tests/load/steady_load.py), and reports what failed."""
import json
import pathlib
import subprocess
import threading
import time

from kubernetes import client

from live import KUBECONFIG, NAMESPACE

SCRIPT = (pathlib.Path(__file__).resolve().parents[2] / "tests" / "load" / "steady_load.py").read_text()
POD = "steady-load-client"


def start_client_pod(core, image, pull_secret=None, node=None):
    """A pod that idles until the test execs the load script in it (restricted security context); pull_secret
    names the Secret it pulls a registry's image with; node pins it to a node (one that a drain leaves alone)."""
    security = client.V1SecurityContext(allow_privilege_escalation=False, run_as_non_root=True,
                                        capabilities=client.V1Capabilities(drop=["ALL"]),
                                        seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"))
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=POD, labels={"app": "steady-load-client"}),
        spec=client.V1PodSpec(
            restart_policy="Never", automount_service_account_token=False, termination_grace_period_seconds=1,
            node_name=node, tolerations=[client.V1Toleration(operator="Exists")] if node else None,
            image_pull_secrets=[client.V1LocalObjectReference(name=pull_secret)] if pull_secret else None,
            containers=[client.V1Container(name="client", image=image, image_pull_policy="IfNotPresent",
                                           command=["python3", "-c", "import time; time.sleep(3600)"],
                                           security_context=security)]))
    core.create_namespaced_pod(NAMESPACE, pod)
    for _ in range(120):
        status = core.read_namespaced_pod(POD, NAMESPACE).status
        if status.phase == "Running":
            return
        time.sleep(1)
    raise AssertionError(f"the load client pod did not start: {status}")


def delete_client_pod(core):
    core.delete_namespaced_pod(POD, NAMESPACE, grace_period_seconds=0)


class SteadyLoad:
    """Steady load from the client pod, from start() until stop(); stop() returns the client's JSON summary."""

    def __init__(self, email, concurrency=4):
        self.env = [f"EMAIL={email}", "PASSWORD=steady-load-pw", f"CONCURRENCY={concurrency}",
                    "DURATION=900", "STOP_FILE=/tmp/stop"]
        self.result = None

    def _run(self):
        self.result = subprocess.run(
            ["kubectl", "--kubeconfig", KUBECONFIG, "-n", NAMESPACE, "exec", "-i", POD, "--",
             "env", *self.env, "python3", "-"], input=SCRIPT, capture_output=True, text=True, timeout=1000)

    def start(self):
        self._exec("rm -f /tmp/stop")
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        time.sleep(5)  # some traffic before the change
        return self

    def stop(self):
        time.sleep(5)  # some traffic after the change
        self._exec("touch /tmp/stop")
        self.thread.join()
        assert self.result.returncode == 0, self.result.stderr
        return json.loads(self.result.stdout)

    def _exec(self, command):
        subprocess.run(["kubectl", "--kubeconfig", KUBECONFIG, "-n", NAMESPACE, "exec", POD, "--", "sh", "-c", command],
                       check=True, capture_output=True)
