#!/usr/bin/python
"""What is wrong with the todo-list release, read from the cluster without changing anything, each finding with its
evidence and the runbook section that fixes it."""
from __future__ import annotations

DOCUMENTATION = r"""
module: release_diagnosis
short_description: Find what is wrong with the todo-list release and name the runbook section that fixes it
description:
  - Reads, and never changes, in the order a fault propagates (control host, Docker, cluster and nodes, namespace,
    Helm release, workloads and pods, Services and their endpoints, the database, autoscaling), and returns one
    finding per problem with its evidence and the runbook section (file and heading) that repairs it.
  - Reads run side by side (C(kubectl get), C(helm history), the backend's C(/health/ready) through the API server's
    Service proxy, C(kubectl logs --previous --tail) of a crashed container); nothing is written. Safe in check mode
    and on production.
  - Never fails on what it finds; the caller decides (C(playbooks/diagnose.yml) exits non-zero when RV(problems) is
    not empty).
options:
  release:
    description: Release name.
    type: str
    required: true
  namespace:
    description: The release's namespace.
    type: str
    required: true
  kubeconfig:
    description: Kubeconfig for kubectl and helm.
    type: path
    required: true
  context:
    description: Context in O(kubeconfig); empty for its current one.
    type: str
    default: ""
  docker:
    description: The cluster runs on this host's Docker (kind, Minikube), so Docker is checked first.
    type: bool
    default: false
  tools_missing:
    description: Tools not installed at their pinned versions (read by the cli_tools role), one finding for all.
    type: list
    elements: str
    default: []
  events_minutes:
    description: How far back Warning events of the namespace are listed.
    type: int
    default: 15
requirements:
  - kubectl and helm on the PATH
author:
  - todo-k8s team (@todo-k8s)
"""

EXAMPLES = r"""
- name: Diagnose the release
  todo.k8s.release_diagnosis:
    release: todo-list
    namespace: todo-list
    kubeconfig: ~/.kube/todo-k8s-local.yaml
    docker: true
  register: diagnosis
"""

RETURN = r"""
problems:
  description:
    - One entry per problem, in the order of the stack; each has C(check) (the layer), C(problem) (one line),
      C(evidence) (lines read from the cluster) and C(runbook) (C(<file> § <heading>) under C(docs/runbooks)).
  type: list
  elements: dict
  returned: always
checked:
  description: The layers read, each with C(ok) or the number of problems found there.
  type: dict
  returned: always
warnings_recent:
  description: Warning events of the namespace from the last O(events_minutes) minutes, newest first (at most 10).
  type: list
  elements: str
  returned: always
"""

import concurrent.futures
import datetime
import json

from ansible.module_utils.basic import AnsibleModule

# Each kind of problem: the layer it is reported under, and the section of docs/runbooks/<file> that repairs it
# (tests check each heading exists).
KINDS = {
    "tools": ("tools", "release.md § A tool is missing or not at its pinned version"),
    "docker": ("docker", "kind-cluster.md § Docker does not answer (after a host reboot)"),
    "cluster": ("cluster", "release.md § No cluster answers (kubeconfig, context)"),
    "node": ("node", "kind-cluster.md § A node is not Ready"),
    "disk": ("node", "kind-cluster.md § Disk full (the host, a node, the build cache)"),
    "evicted": ("pods", "app.md § Evicted: a pod used more disk or memory than it may"),
    "namespace": ("namespace", "release.md § The namespace or the release is missing"),
    "release": ("release", "release.md § The namespace or the release is missing"),
    "release_stuck": ("release", "release.md § The release is stuck (pending-upgrade, failed)"),
    "image": ("pods", "app.md § ImagePullBackOff: a node cannot get an image"),
    "crash": ("pods", "app.md § CrashLoopBackOff: a container exits"),
    "oom": ("pods", "app.md § OOMKilled: a container ran out of memory"),
    "pending": ("pods", "app.md § Pending: no node can take a pod"),
    "not_ready": ("pods", "app.md § Backend pods Running but not Ready"),
    "database": ("database", "app.md § The database does not answer"),
    "selector": ("services", "app.md § A Service selects no pod"),
    "endpoints": ("services", "app.md § Backend pods Running but not Ready"),
    "rollout": ("rollout", "release.md § An upgrade failed or timed out"),
    "hpa": ("hpa", "production.md § An autoscaler shows <unknown> (no metrics)"),
}
IMAGE_REASONS = ("ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName")


def finding(kind: str, problem: str, evidence=()) -> dict:
    check, runbook = KINDS[kind]
    return {"check": check, "kind": kind, "problem": problem, "evidence": [e for e in evidence if e], "runbook": runbook}


def condition(obj: dict, kind: str) -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), {})


def name(obj: dict) -> str:
    return obj["metadata"]["name"]


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_problems(pod: dict, events: list[dict], last_lines: dict) -> list[dict]:
    """What keeps one pod from serving: image, crash, memory, scheduling or readiness, with what the cluster says."""
    pname, status = name(pod), pod.get("status") or {}
    if pod["metadata"].get("deletionTimestamp"):
        return []
    if status.get("phase") in ("Succeeded", "Failed"):  # a Deployment's or StatefulSet's pod never ends by itself
        evicted = event_lines(events, pname, ("Evicted",))
        if evicted or status.get("reason") == "Evicted":
            return [finding("evicted", f"pod {pname} was evicted", evicted or [status.get("message", "")])]
        return [finding("crash", f"pod {pname} stopped ({status.get('phase')})", [status.get("message", "")])]
    scheduled = condition(pod, "PodScheduled")
    if scheduled.get("status") == "False":
        return [finding("pending", f"pod {pname} is Pending: no node can take it ({scheduled.get('reason', '?')})",
                        [scheduled.get("message", "")] + requests_of(pod))]
    found = []
    limits = {c["name"]: ((c.get("resources") or {}).get("limits") or {}).get("memory", "none")
              for c in (pod.get("spec") or {}).get("containers") or []}
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        last = (cs.get("lastState") or {}).get("terminated") or {}
        where = f"pod {pname}, container {cs['name']}"
        if waiting.get("reason") in IMAGE_REASONS:
            found.append(finding("image", f"{where} cannot get its image {cs.get('image')} ({waiting['reason']})",
                                 [waiting.get("message", "")] + event_lines(events, pname, ("Failed",))))
        elif last.get("reason") == "OOMKilled":
            found.append(finding("oom", f"{where} was OOMKilled (memory limit {limits.get(cs['name'], '?')}), "
                                        f"restarted {cs.get('restartCount', 0)} times",
                                 [f"last exit: {last.get('reason')} code {last.get('exitCode')} at {last.get('finishedAt')}"]))
        elif waiting.get("reason") == "CrashLoopBackOff" or (last and cs.get("restartCount", 0) > 0 and not cs.get("ready")):
            found.append(finding("crash", f"{where} keeps exiting (exit code {last.get('exitCode', '?')}, "
                                          f"{last.get('reason', waiting.get('reason', '?'))}), restarted "
                                          f"{cs.get('restartCount', 0)} times",
                                 [f"last log line: {last_lines[(pname, cs['name'])]}"
                                  if last_lines.get((pname, cs["name"])) else "",
                                  waiting.get("message", "")]))
        elif waiting.get("reason") and waiting["reason"] not in ("ContainerCreating", "PodInitializing"):
            found.append(finding("crash", f"{where} is waiting: {waiting['reason']}", [waiting.get("message", "")]))
    if not found and status.get("phase") == "Running" and condition(pod, "Ready").get("status") != "True":
        probe = event_lines(events, pname, ("Unhealthy",))
        found.append(finding("not_ready", f"pod {pname} runs but is not Ready", probe or [condition(pod, "Ready").get("message", "")]))
    return found


def requests_of(pod: dict) -> list[str]:
    return [f"container {c['name']} requests {((c.get('resources') or {}).get('requests') or {})}"
            for c in (pod.get("spec") or {}).get("containers") or []]


def event_lines(events: list[dict], obj_name: str, reasons=()) -> list[str]:
    lines = []
    for e in events:
        if (e.get("involvedObject") or {}).get("name") == obj_name and (not reasons or e.get("reason") in reasons):
            line = f"{e.get('reason')}: {(e.get('message') or '').strip()}"
            if line not in lines:
                lines.append(line)
    return lines[:3]


def diagnose(state: dict) -> list[dict]:
    """The problems in a state read from the cluster (the dict read() returns), in the order of the stack."""
    problems = []
    if state.get("tools_missing"):
        problems.append(finding("tools", "not installed at their pinned versions: " + ", ".join(state["tools_missing"])))
    if state.get("docker_error") is not None:
        problems.append(finding("docker", "Docker does not answer on this host", [state["docker_error"]]))
        return problems
    if state.get("cluster_error") is not None:
        problems.append(finding("cluster", "no Kubernetes API server answers with this kubeconfig and context",
                                [state["cluster_error"]]))
        return problems
    for node in state.get("nodes", []):
        for pressure in ("DiskPressure", "MemoryPressure", "PIDPressure"):
            if condition(node, pressure).get("status") == "True":
                problems.append(finding("disk" if pressure == "DiskPressure" else "node",
                                        f"node {name(node)} reports {pressure}: the kubelet evicts pods",
                                        [condition(node, pressure).get("message", "")]))
        ready = condition(node, "Ready")
        if ready.get("status") != "True":
            problems.append(finding("node", f"node {name(node)} is not Ready ({ready.get('reason', 'no status')})",
                                    [ready.get("message", "")]))
    if state.get("namespace") is None:
        problems.append(finding("namespace", f"namespace {state['ns']} does not exist: nothing is deployed"))
        return problems
    enforced = ((state["namespace"].get("metadata") or {}).get("labels") or {}).get("pod-security.kubernetes.io/enforce")
    if enforced != "restricted":
        problems.append(finding("namespace", f"namespace {state['ns']} does not enforce the restricted Pod Security "
                                             f"Standard (pod-security.kubernetes.io/enforce: {enforced or 'unset'})"))
    history = state.get("history") or []
    if not history:
        problems.append(finding("release", f"no release {state['release']} in namespace {state['ns']}"))
    elif history[-1].get("status") != "deployed":
        last = history[-1]
        problems.append(finding("release_stuck", f"release {state['release']} revision {last.get('revision')} is "
                                                 f"{last.get('status')}",
                                [f"revision {h.get('revision')}: {h.get('status')}, {h.get('description', '')}"
                                 for h in history[-3:]]))
    events = state.get("events", [])
    pods = state.get("pods", [])
    pods_with_problems = set()
    for pod in pods:
        found = pod_problems(pod, events, state.get("last_lines", {}))
        if found:
            pods_with_problems.add(pod["metadata"].get("labels", {}).get("app.kubernetes.io/component"))
        problems += found
    for workload in state.get("workloads", []):
        spec, status = workload.get("spec") or {}, workload.get("status") or {}
        component = (workload["metadata"].get("labels") or {}).get("app.kubernetes.io/component")
        wanted = spec.get("replicas", 1)
        if workload["kind"] == "StatefulSet" and wanted == 0:
            problems.append(finding("database", f"StatefulSet {name(workload)} is scaled to 0: no database runs"))
            continue
        available = status.get("availableReplicas", 0) if workload["kind"] == "Deployment" else status.get("readyReplicas", 0)
        if available < wanted and component not in pods_with_problems:
            progressing = condition(workload, "Progressing")
            problems.append(finding("rollout", f"{workload['kind']} {name(workload)}: {available} of {wanted} replicas "
                                               "available", [progressing.get("message", "")]))
    # A selector is wrong when it matches neither a pod nor the pod template of a workload (a database scaled to 0
    # has no pod, and its Service's selector is right).
    labels_of = [p["metadata"].get("labels") or {} for p in pods + state.get("other_pods", [])] + [
        ((w.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
        for w in state.get("workloads", [])]
    for service in state.get("services", []):
        selector = (service.get("spec") or {}).get("selector") or {}
        if selector and not any(selects(selector, labels) for labels in labels_of):
            problems.append(finding("selector", f"Service {name(service)} selects no pod",
                                    [f"selector {json.dumps(selector, sort_keys=True)}"]))
            continue
        ready = state.get("ready_endpoints", {}).get(name(service), 0)
        component = (service["metadata"].get("labels") or {}).get("app.kubernetes.io/component")
        if selector and ready == 0 and component not in pods_with_problems and not any(
                p["kind"] in ("database", "rollout") for p in problems):
            problems.append(finding("endpoints", f"Service {name(service)} has no ready endpoint"))
    health = state.get("backend_ready")
    if health is not None and health.get("status") != "ok" and not any(p["kind"] == "database" for p in problems):
        problems.append(finding("database", "the backend says the database is not usable: "
                                            f"{health.get('reason') or health.get('error') or health}"))
    for hpa in state.get("hpas", []):
        active = condition(hpa, "ScalingActive")
        if active.get("status") == "False":
            problems.append(finding("hpa", f"HorizontalPodAutoscaler {name(hpa)} cannot scale ({active.get('reason')})",
                                    [active.get("message", ""), "metrics API: " + state.get("metrics_api", "?")]))
    return problems


class Reader:
    def __init__(self, module: AnsibleModule):
        self.module, self.p = module, module.params
        self.kubectl = ["kubectl", f"--kubeconfig={self.p['kubeconfig']}", "--request-timeout=10s"] + (
            [f"--context={self.p['context']}"] if self.p["context"] else [])
        self.helm = ["helm", f"--kubeconfig={self.p['kubeconfig']}", f"--namespace={self.p['namespace']}"] + (
            [f"--kube-context={self.p['context']}"] if self.p["context"] else [])

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        return self.module.run_command(argv)

    def items(self, result) -> list[dict]:
        rc, out, _err = result
        return json.loads(out).get("items", []) if rc == 0 and out.strip() else []

    def read(self) -> dict:
        p, ns = self.p, self.p["namespace"]
        state = {"ns": ns, "release": p["release"], "tools_missing": p["tools_missing"]}
        if p["docker"]:
            rc, out, err = self.run(["docker", "info", "--format", "{{.ServerVersion}}"])
            if rc != 0:
                state["docker_error"] = first_line(err or out)
                return state
        rc, out, err = self.run(self.kubectl + ["get", "nodes", "--output=json"])
        if rc != 0:
            state["cluster_error"] = first_line(err)
            return state
        state["nodes"] = json.loads(out).get("items", [])
        instance = f"--selector=app.kubernetes.io/instance={p['release']}"
        get = self.kubectl + [f"--namespace={ns}", "get", "--output=json"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            namespace = pool.submit(self.run, self.kubectl + ["get", "namespace", ns, "--output=json"])
            history = pool.submit(self.run, self.helm + ["history", p["release"], "--max=5", "--output=json"])
            pods = pool.submit(self.run, get + ["pods"])
            workloads = pool.submit(self.run, get + ["deployments,statefulsets", instance])
            services = pool.submit(self.run, get + ["services", instance])
            slices = pool.submit(self.run, get + ["endpointslices", instance])
            events = pool.submit(self.run, get + ["events", "--field-selector=type=Warning"])
            hpas = pool.submit(self.run, get + ["horizontalpodautoscalers", instance])
            health = pool.submit(self.run, self.kubectl + ["get", "--raw",
                                                           f"/api/v1/namespaces/{ns}/services/{p['release']}-backend:http"
                                                           "/proxy/health/ready"])
        if namespace.result()[0] != 0:
            state["namespace"] = None
            return state
        state["namespace"] = json.loads(namespace.result()[1])
        rc, out, _err = history.result()
        state["history"] = json.loads(out) if rc == 0 and out.strip() else []
        all_pods = self.items(pods.result())
        state["pods"] = [x for x in all_pods if (x["metadata"].get("labels") or {}).get("app.kubernetes.io/instance") == p["release"]
                         and "helm.sh/hook" not in (x["metadata"].get("annotations") or {})]
        state["other_pods"] = [x for x in all_pods if x not in state["pods"]]
        state["workloads"] = self.items(workloads.result())
        state["services"] = self.items(services.result())
        state["ready_endpoints"] = {}
        for s in self.items(slices.result()):
            service = (s["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
            state["ready_endpoints"][service] = state["ready_endpoints"].get(service, 0) + sum(
                1 for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready"))
        since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=p["events_minutes"])
        state["events"] = sorted((e for e in self.items(events.result()) if when(e) >= since), key=when, reverse=True)
        state["hpas"] = self.items(hpas.result())
        if state["hpas"]:
            rc, _out, err = self.run(self.kubectl + ["get", "--raw", "/apis/metrics.k8s.io/v1beta1"])
            state["metrics_api"] = "served" if rc == 0 else first_line(err)
        rc, out, err = health.result()
        if state["ready_endpoints"].get(f"{p['release']}-backend"):  # else the proxy answers for no backend
            try:  # a 503 comes back as an error whose text is the backend's JSON answer
                body = out if rc == 0 else err[err.find("{"):err.rfind("}") + 1]
                state["backend_ready"] = json.loads(body)
            except ValueError:  # no answer of the backend's (a NetworkPolicy may keep the API server out): unknown
                state["backend_ready"] = None
        state["last_lines"] = self.last_lines(state["pods"])
        return state

    def last_lines(self, pods: list[dict]) -> dict:
        """The last line a crashed container wrote (the app prints the setting it misses), for crash findings."""
        crashed = [(name(pod), cs["name"]) for pod in pods
                   for cs in (pod.get("status") or {}).get("containerStatuses") or []
                   if ((cs.get("lastState") or {}).get("terminated") or {}).get("reason") not in (None, "OOMKilled")
                   and not cs.get("ready")]
        lines = {}
        for pod_name, container in crashed[:3]:
            rc, out, _err = self.run(self.kubectl + [f"--namespace={self.p['namespace']}", "logs", pod_name,
                                                     f"--container={container}", "--previous", "--tail=1"])
            if rc == 0 and out.strip():
                lines[(pod_name, container)] = out.strip().splitlines()[-1][:300]
        return lines


def when(event: dict) -> datetime.datetime:
    stamp = event.get("lastTimestamp") or event.get("eventTime") or (event.get("metadata") or {}).get("creationTimestamp")
    try:
        return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)


def first_line(text: str) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")[:300]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "release": {"type": "str", "required": True},
            "namespace": {"type": "str", "required": True},
            "kubeconfig": {"type": "path", "required": True},
            "context": {"type": "str", "default": ""},
            "docker": {"type": "bool", "default": False},
            "tools_missing": {"type": "list", "elements": "str", "default": []},
            "events_minutes": {"type": "int", "default": 15},
        },
        supports_check_mode=True,
    )
    state = Reader(module).read()
    problems = diagnose(state)
    layers = dict.fromkeys(layer for layer, _runbook in KINDS.values())
    checked = {layer: sum(1 for p in problems if p["check"] == layer) or "ok" for layer in layers}
    warnings = [f"{(e.get('involvedObject') or {}).get('kind')}/{(e.get('involvedObject') or {}).get('name')}: "
                f"{e.get('reason')}: {first_line(e.get('message'))}" for e in state.get("events", [])][:10]
    module.exit_json(changed=False, problems=problems, checked=checked, warnings_recent=warnings)


if __name__ == "__main__":
    main()
