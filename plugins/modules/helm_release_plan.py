#!/usr/bin/python
"""What an install or upgrade of the release would change, and the upgrade itself, with the values read here."""
from __future__ import annotations

DOCUMENTATION = r"""
module: helm_release_plan
short_description: Decide, show and make the change between what a Helm release runs and what an upgrade would deploy
description:
  - Reads the values files, the image_build report and the inventory values on the host that runs helm and merges
    them (maps deep, the rest replaced, as Helm merges C(-f) files); the merged values go to helm on stdin and are
    never returned, so no value, secret or not, reaches Ansible's output.
  - With O(upgrade=false), runs at once C(helm status), C(helm upgrade --install --dry-run=server) (rendered by the
    cluster, so lookups of the Secrets the release keeps give the values they will keep) and C(kubectl get namespace),
    and compares the release's manifests and hooks with the dry run's, object by object. Changed when an object is
    added, removed or differs; a release that is not C(deployed) counts as running nothing. With C(--diff) each such
    object is shown before and after; the values under C(data) and C(stringData) of a Secret never are, only
    C(<redacted>) or C(<redacted, changed>). Where the namespace is missing or no cluster answers, the chart is
    rendered client side (C(--dry-run=client)), so a bad value still stops the run before anything changes.
  - A StatefulSet whose C(serviceName), C(selector), C(volumeClaimTemplates) or C(podManagementPolicy) would change
    (fields the API refuses to update) is listed in RV(replace) and its change line says so.
  - With O(upgrade=true), first deletes each StatefulSet in O(replace) with C(--cascade=orphan) (its pods and volume
    claims stay; the upgrade creates it anew and it adopts them), then runs C(helm upgrade --install --wait
    --force-conflicts) (and C(--rollback-on-failure) with O(atomic)); in check mode it only says it would. Hand edits
    of fields the chart sets are overwritten, not refused as a conflict.
  - When the images' tag differs from the chart's appVersion, the chart is packaged with that appVersion into
    O(work_dir) first, so the release's app version is the version that runs.
options:
  release:
    description: Release name.
    type: str
    required: true
  namespace:
    description: Namespace of the release.
    type: str
    required: true
  chart_path:
    description: Chart folder.
    type: path
    required: true
  values_files:
    description: Values files inside O(chart_path), applied in order.
    type: list
    elements: str
    default: []
  report:
    description:
      - The image_build report (JSON) whose images give repositories, tags and app image IDs; empty for none.
      - An app image the report says was pushed (C(repository), C(digest)) is deployed from that repository by digest.
    type: path
    default: ""
  report_optional:
    description: A missing report is not an error (check mode on a fresh machine).
    type: bool
    default: false
  building:
    description:
      - Check mode only (ignored otherwise) - the app components whose image this run would build anew, so their
        image ID is not known yet. The comparison deploys a stand-in ID for each, and the diff names it, so that
        the Deployments the build rolls show as changed, as the run would change them.
    type: list
    elements: str
    default: []
  image_tag:
    description: Tag of both app images; empty keeps the files' or the report's.
    type: str
    default: ""
  values_json:
    description:
      - Values applied last (the inventory's), as a JSON object; empty for none. A string, so that no_log hides
        exactly it, since the inventory's values may hold secrets and they appear in no output.
    type: str
    default: ""
  app_components:
    description: Components whose image ID goes on the pod template (value C(image.id)).
    type: list
    elements: str
    default: [frontend, backend]
  kubeconfig:
    description: Kubeconfig file.
    type: path
    required: true
  context:
    description: Kubeconfig context; empty for the current one.
    type: str
    default: ""
  work_dir:
    description: Where a chart with another appVersion is packaged.
    type: path
    required: true
  upgrade:
    description: Run the upgrade instead of comparing.
    type: bool
    default: false
  atomic:
    description: Roll back an upgrade that does not become Ready (O(upgrade) only).
    type: bool
    default: true
  timeout:
    description: How long the upgrade waits for readiness (Go duration).
    type: str
    default: 5m
  replace:
    description: StatefulSets to delete (orphaning their pods) before the upgrade (O(upgrade) only).
    type: list
    elements: str
    default: []
requirements:
  - helm and kubectl on the PATH
  - PyYAML
author:
  - todo-k8s team (@todo-k8s)
"""

EXAMPLES = r"""
- name: What an upgrade would change (with --diff, each object before and after, Secret values redacted)
  todo.k8s.helm_release_plan:
    release: todo-list
    namespace: todo
    chart_path: "{{ playbook_dir }}/charts/todo-list-hackathon"
    values_files: [values.yaml, values-local.yaml]
    report: /var/cache/todo-k8s/reports/images.json
    kubeconfig: ~/.kube/config
    work_dir: /tmp/todo-k8s-charts
  register: plan

- name: Upgrade when it would change something
  todo.k8s.helm_release_plan:
    release: todo-list
    namespace: todo
    chart_path: "{{ playbook_dir }}/charts/todo-list-hackathon"
    values_files: [values.yaml, values-local.yaml]
    kubeconfig: ~/.kube/config
    work_dir: /tmp/todo-k8s-charts
    replace: "{{ plan.replace }}"
    upgrade: true
  when: plan is changed
"""

RETURN = r"""
changes:
  description: One line per object that differs, such as C(changed Deployment/todo-list-backend).
  type: list
  elements: str
  returned: always
release:
  description:
    - The deployed release's C(name), C(namespace), C(revision), C(updated), C(status) (as C(helm list) shows them; no
      manifest, no values); empty when none. With O(upgrade), the release the upgrade made.
  type: dict
  returned: always
cluster_answers:
  description: A Kubernetes API server answered.
  type: bool
  returned: always
namespace_labels:
  description: Labels of the release's namespace; null when it does not exist.
  type: dict
  returned: always
app_version:
  description: The version both app images run (the release's appVersion).
  type: str
  returned: always
chart:
  description: C(name-version) of the chart.
  type: str
  returned: always
existing_secret:
  description: The chart value C(backend.secret.existingSecret), a name and not a secret.
  type: str
  returned: always
helm_missing:
  description: helm is not on the PATH (check mode only; a real run fails).
  type: bool
  returned: always
replace:
  description: Names of the StatefulSets the upgrade must create anew (an immutable field changes).
  type: list
  elements: str
  returned: always
database_pod:
  description:
    - The first pod of the release's embedded database StatefulSet (its container C(postgresql)), where a backup
      is taken before an upgrade; empty when the release has none or that pod is not Ready.
  type: str
  returned: always
pods:
  description:
    - The release's pods that are not terminating, as C(containers) (how many they run) and C(ready) (how many of
      those are Ready); read beside the comparison, and again after an upgrade.
  type: dict
  returned: always
"""

import concurrent.futures
import copy
import json
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import yaml
except ImportError:  # PyYAML comes with ansible-core on a controller; a bare target host may lack it
    yaml = None

REDACTED = "<redacted>"
CHANGED = "<redacted, changed>"
# Check mode's image ID of an image the run would build (building): valid for the chart's schema, named in the diff.
UNBUILT_ID = "sha256:" + "0" * 64
UNBUILT_SHOWN = "<the ID of the image this run builds>"
# The fields of a StatefulSet's spec the API server refuses to change (all but replicas, ordinals, template,
# updateStrategy, persistentVolumeClaimRetentionPolicy and minReadySeconds), among those the chart sets.
STATEFULSET_IMMUTABLE = ("serviceName", "selector", "volumeClaimTemplates", "podManagementPolicy")


def merged(base: dict, top: dict) -> dict:
    """Helm's merge of values files: maps merge key by key, anything else on top replaces what is below."""
    out = dict(base)
    for key, value in top.items():
        out[key] = merged(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def report_values(report: dict, app_components: list[str]) -> dict:
    values = {}
    for image in report.get("images", []):
        entry = {"repository": image["name"], "tag": image["tag"]}
        if image["component"] in app_components and image.get("id"):
            entry["id"] = image["id"]
        # Pushed to a registry: deployed by its manifest digest, so a re-pushed tag cannot change what runs.
        if image["component"] in app_components and image.get("repository") and image.get("digest"):
            entry.update(repository=image["repository"], digest=image["digest"])
        values[image["component"]] = {"image": entry}
    return values


def objects(release: dict, need_deployed: bool = False) -> dict[str, dict]:
    if need_deployed and release.get("info", {}).get("status") != "deployed":
        return {}
    manifests = [release.get("manifest") or ""] + [hook.get("manifest") or "" for hook in release.get("hooks") or []]
    found = {}
    # libyaml's loader where PyYAML has it: the release's manifests and the dry run's parse in 0.05 s, not 0.4 s.
    for doc in yaml.load_all("\n---\n".join(manifests), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(doc, dict) and doc.get("kind"):
            found[f"{doc['kind']}/{doc.get('metadata', {}).get('name', '')}"] = doc
    return found


def listed(release: dict) -> dict:
    """The fields of a `helm list --output=json` row that `helm status` carries."""
    if not release:
        return {}
    info = release.get("info") or {}
    return {"name": release.get("name"), "namespace": release.get("namespace"), "revision": str(release.get("version")),
            "updated": info.get("last_deployed"), "status": info.get("status")}


def shown(doc: dict | None, other: dict | None) -> str:
    """The object as YAML, each Secret value replaced by a marker that says only whether it changed."""
    if doc is None:
        return ""
    if doc.get("kind") == "Secret":
        doc = copy.deepcopy(doc)
        for field in ("data", "stringData"):
            theirs = (other or {}).get(field) or {}
            if isinstance(doc.get(field), dict):
                doc[field] = {key: REDACTED if other is None or theirs.get(key) == value else CHANGED
                              for key, value in doc[field].items()}
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)


def immutable_changes(old: dict | None, new: dict | None) -> list[str]:
    if not old or not new or new.get("kind") != "StatefulSet":
        return []
    return [field for field in STATEFULSET_IMMUTABLE if (old.get("spec") or {}).get(field) != (new.get("spec") or {}).get(field)]


def database_pod(release: dict, ready_pods: set[str]) -> str:
    """Any status: a failed upgrade leaves a database that holds data. Only a Ready pod can be dumped."""
    for doc in objects(release).values():
        containers = ((((doc.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []
        if doc["kind"] == "StatefulSet" and any(c.get("name") == "postgresql" for c in containers):
            pod = f"{doc['metadata']['name']}-0"
            return pod if pod in ready_pods else ""
    return ""


def compare(deployed: dict, desired: dict) -> tuple[list[str], list[dict], list[str]]:
    before, after = objects(deployed, need_deployed=True), objects(desired)
    changes, diff, replace = [], [], []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        fields = immutable_changes(old, new)
        if fields:
            replace.append(new["metadata"]["name"])
            changes.append(f"replaced {key} ({', '.join(fields)} cannot change in place: deleted with its pods and "
                           "volume claims kept, then created anew)")
        else:
            changes.append(f"{'added' if old is None else 'removed' if new is None else 'changed'} {key}")
        # The "after" side marks a Secret value changed relative to "before"; "before" only ever shows the marker.
        diff.append({"before_header": key, "after_header": key, "before": shown(old, old), "after": shown(new, old).replace(UNBUILT_ID, UNBUILT_SHOWN)})
    return changes, diff, replace


def ready_pod_names(kubectl_json: str) -> set[str]:
    return {p["metadata"]["name"] for p in json.loads(kubectl_json or "{}").get("items", [])
            if not p["metadata"].get("deletionTimestamp")
            and any(c.get("type") == "Ready" and c.get("status") == "True" for c in (p.get("status") or {}).get("conditions") or [])}


def pod_counts(kubectl_json: str) -> dict:
    pods = [p for p in json.loads(kubectl_json or "{}").get("items", []) if not p["metadata"].get("deletionTimestamp")]
    statuses = [c for p in pods for c in (p.get("status") or {}).get("containerStatuses") or []]
    return {"containers": sum(len(p["spec"]["containers"]) for p in pods), "ready": sum(1 for c in statuses if c.get("ready"))}


def one_line(text: str) -> str:
    return " ".join(text.split())[:1500]


class Plan:
    def __init__(self, module: AnsibleModule):
        self.module = module
        self.p = module.params

    def fail(self, msg: str) -> None:
        self.module.fail_json(msg=f"helm_release: {msg}")

    def load_yaml(self, path: str, what: str):
        try:
            with open(path, encoding="utf-8") as f:
                return yaml.safe_load(f)
        except OSError as exc:
            self.fail(f"cannot read {what} {path}: {exc.strerror}.")
        except yaml.YAMLError as exc:  # the message quotes the text, which may hold secrets: only the position
            mark = getattr(exc, "problem_mark", None)
            self.fail(f"{what} {path} is not valid YAML" + (f" (line {mark.line + 1})" if mark else "") + ".")

    def values(self) -> dict:
        values = {}
        for name in self.p["values_files"]:
            doc = self.load_yaml(os.path.join(self.p["chart_path"], name), "values file")
            if doc is None:
                doc = {}
            if not isinstance(doc, dict):
                self.fail(f"values file {name} in {self.p['chart_path']} is not a YAML mapping; its text is not shown "
                          f"(it may hold secrets): check it with `helm lint {self.p['chart_path']} -f {name}`.")
            values = merged(values, doc)
        if self.p["report"]:
            if os.path.exists(self.p["report"]):
                values = merged(values, report_values(self.load_yaml(self.p["report"], "build report") or {},
                                                      self.p["app_components"]))
            elif not self.p["report_optional"]:
                self.fail(f"the build report {self.p['report']} does not exist: build the images first (image_build).")
        if self.module.check_mode and self.p["building"]:
            values = merged(values, {c: {"image": {"id": UNBUILT_ID}} for c in self.p["building"]
                                     if c in self.p["app_components"]})
        if self.p["image_tag"]:
            values = merged(values, {c: {"image": {"tag": self.p["image_tag"]}} for c in ("frontend", "backend")})
        try:
            top = json.loads(self.p["values_json"] or "{}")
        except ValueError:
            top = None
        if not isinstance(top, dict):
            self.fail("values_json is not a JSON object; its text is not shown (it may hold secrets).")
        return merged(values, top)

    def chart_ref(self, values: dict, chart: dict) -> str:
        """The chart folder, or a package of it whose appVersion is the images' version."""
        tags = sorted({str((values.get(c) or {}).get("image", {}).get("tag") or chart.get("appVersion"))
                       for c in ("frontend", "backend")})
        if len(tags) != 1:
            self.fail(f"frontend and backend must run the same version (the release's appVersion), got {' and '.join(tags)}.")
        self.app_version = tags[0]
        if self.app_version == str(chart.get("appVersion")):
            return self.p["chart_path"]
        destination = os.path.join(self.p["work_dir"], self.app_version)
        os.makedirs(destination, exist_ok=True)
        rc, _out, err = self.module.run_command(["helm", "package", self.p["chart_path"], "--app-version", self.app_version,
                                                 "--destination", destination])
        if rc != 0:
            self.fail(f"helm package failed: {one_line(err)}")
        return os.path.join(destination, f"{chart['name']}-{chart['version']}.tgz")

    def connection(self) -> list[str]:
        args = [f"--namespace={self.p['namespace']}", f"--kubeconfig={self.p['kubeconfig']}"]
        return args + ([f"--kube-context={self.p['context']}"] if self.p["context"] else [])

    def run(self) -> None:
        if not self.module.get_bin_path("helm"):
            if not self.module.check_mode:
                self.fail("helm is not installed (cli_tools role), or not on the PATH.")
            # Check mode on a fresh machine: cli_tools only said it would install it.
            self.module.exit_json(changed=False, helm_missing=True, changes=[], release={}, cluster_answers=False,
                                  namespace_labels=None, app_version="", chart="", existing_secret="", replace=[],
                                  database_pod="", pods={"containers": 0, "ready": 0})
        chart = self.load_yaml(os.path.join(self.p["chart_path"], "Chart.yaml"), "chart metadata") or {}
        values = self.values()
        stdin = json.dumps(values)
        chart_ref = self.chart_ref(values, chart)
        upgrade = ["helm", "upgrade", self.p["release"], chart_ref, "--install", "--values=-"] + self.connection()
        kubectl = ["kubectl", f"--kubeconfig={self.p['kubeconfig']}"] + (
            [f"--context={self.p['context']}"] if self.p["context"] else [])
        read_pods = kubectl + ["get", "pods", f"--namespace={self.p['namespace']}", "--output=json",
                               f"--selector=app.kubernetes.io/instance={self.p['release']}", "--request-timeout=10s"]
        common = {"helm_missing": False, "pods": {"containers": 0, "ready": 0}, "release": {}, "replace": [],
                  "database_pod": "", "app_version": self.app_version, "chart": f"{chart.get('name')}-{chart.get('version')}",
                  "existing_secret": ((values.get("backend") or {}).get("secret") or {}).get("existingSecret") or ""}

        if self.p["upgrade"]:
            if self.module.check_mode:
                self.module.exit_json(changed=True, changes=[], cluster_answers=True, namespace_labels=None, **common)
            for name in self.p["replace"]:
                rc, _out, err = self.module.run_command(kubectl + ["delete", "statefulset", name, f"--namespace={self.p['namespace']}",
                                                                   "--cascade=orphan", "--wait=true", "--ignore-not-found"])
                if rc != 0:
                    self.fail(f"could not delete StatefulSet {name} (its pods kept) before the upgrade: {one_line(err)}")
            # --force-conflicts: the chart wins over hand edits (kubectl edit, patch, scale, set) of the fields it
            # sets; without it server-side apply refuses the whole upgrade ("conflict with kubectl-edit").
            command = upgrade + ["--wait", "--force-conflicts", f"--timeout={self.p['timeout']}", "--output=json"] + (
                ["--rollback-on-failure"] if self.p["atomic"] else [])
            rc, out, err = self.module.run_command(command, data=stdin, binary_data=True)
            if rc != 0:
                self.fail(f"helm upgrade --install failed: {one_line(err)}")
            try:  # the release as installed: only its listed fields are kept (its manifest holds the Secrets)
                common["release"] = listed(json.loads(out))
            except ValueError:
                pass
            rc, out, _err = self.module.run_command(read_pods)
            common["pods"] = pod_counts(out) if rc == 0 else common["pods"]
            self.module.exit_json(changed=True, changes=[], cluster_answers=True, namespace_labels=None, **common)

        # The reads at once: each waits on the API server, none on the others.
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            pods = pool.submit(self.module.run_command, read_pods)
            status = pool.submit(self.module.run_command, ["helm", "status", self.p["release"], "--output=json"] + self.connection())
            namespace = pool.submit(self.module.run_command, kubectl + ["get", "namespace", self.p["namespace"], "--output=json",
                                                                        "--request-timeout=10s"])
            # Without Helm's OpenAPI validation: it costs 0.7 s of every run, and the upgrade itself validates every
            # manifest before it changes anything (make test-chart validates them against Kubernetes' schema too).
            desired = pool.submit(self.module.run_command, upgrade + ["--dry-run=server", "--disable-openapi-validation",
                                                                      "--output=json"], data=stdin, binary_data=True)
            (status_rc, status_out, status_err), (ns_rc, ns_out, ns_err), (dry_rc, dry_out, dry_err) = (
                status.result(), namespace.result(), desired.result())
            pods_rc, pods_out, _err = pods.result()
        ready = set()
        if pods_rc == 0:
            common["pods"], ready = pod_counts(pods_out), ready_pod_names(pods_out)

        cluster_answers = ns_rc == 0 or "NotFound" in ns_err
        labels = None
        if ns_rc == 0:
            labels = (json.loads(ns_out).get("metadata") or {}).get("labels") or {}
        else:
            # No namespace yet, or no cluster: render client side, so that the schema and the templates still judge
            # the values before anything is touched. Everything is then to be added.
            dry_rc, manifest, dry_err = self.module.run_command(
                ["helm", "template", self.p["release"], chart_ref, "--values=-", f"--namespace={self.p['namespace']}"],
                data=stdin, binary_data=True)
            dry_out = json.dumps({"manifest": manifest})
        if dry_rc != 0:
            self.fail(f"the chart does not render with these values: {one_line(dry_err)}")
        if status_rc != 0 and "not found" not in status_err and cluster_answers:
            self.fail(f"helm status {self.p['release']} failed: {one_line(status_err)}")
        deployed = json.loads(status_out) if status_rc == 0 and status_out.strip() else {}
        try:
            changes, diff, common["replace"] = compare(deployed, json.loads(dry_out))
            common["database_pod"] = database_pod(deployed, ready)
        except (ValueError, yaml.YAMLError) as exc:  # never the text: it holds Secrets
            self.fail(f"a release is not the JSON helm writes: {type(exc).__name__}")
        self.module.exit_json(changed=bool(changes), changes=changes, diff=diff, cluster_answers=cluster_answers,
                              namespace_labels=labels, **dict(common, release=listed(deployed)))


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "release": {"type": "str", "required": True},
            "namespace": {"type": "str", "required": True},
            "chart_path": {"type": "path", "required": True},
            "values_files": {"type": "list", "elements": "str", "default": []},
            "report": {"type": "path", "default": ""},
            "report_optional": {"type": "bool", "default": False},
            "building": {"type": "list", "elements": "str", "default": []},
            "image_tag": {"type": "str", "default": ""},
            "values_json": {"type": "str", "default": "", "no_log": True},
            "app_components": {"type": "list", "elements": "str", "default": ["frontend", "backend"]},
            "kubeconfig": {"type": "path", "required": True},
            "context": {"type": "str", "default": ""},
            "work_dir": {"type": "path", "required": True},
            "upgrade": {"type": "bool", "default": False},
            "atomic": {"type": "bool", "default": True},
            "timeout": {"type": "str", "default": "5m"},
            "replace": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    if yaml is None:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    Plan(module).run()


if __name__ == "__main__":
    main()
