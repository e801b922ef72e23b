#!/usr/bin/python
"""Compare what a release runs with what an upgrade would deploy, object by object, hiding Secret values."""
from __future__ import annotations

DOCUMENTATION = r"""
module: helm_release_diff
short_description: Compare a release's deployed manifests with the ones an upgrade would deploy
description:
  - Both sides are Helm releases as JSON; their manifests and hooks are compared object by object (by kind and name).
  - A release whose status is not C(deployed) (a failed or interrupted install) counts as running nothing.
  - Changed when an object is added, removed or differs. With C(--diff), each such object is shown before and after.
  - The values under C(data) and C(stringData) of a Secret are never shown, at any verbosity; one that differs
    reads C(<redacted, changed>).
  - Changes nothing, so it runs the same in check mode.
options:
  deployed:
    description: The release as it runs (C(helm status --output=json)); empty when there is none.
    type: str
    default: ""
  desired:
    description: The release an upgrade would make (C(helm upgrade --dry-run=server --output=json)).
    type: str
    required: true
"""

RETURN = r"""
changes:
  description: One line per object that differs, as C(changed Deployment/todo-list-backend).
  type: list
  elements: str
  returned: always
release:
  description:
    - The deployed release's C(name), C(namespace), C(revision), C(updated) and C(status), as in
      C(helm list --output=json) (C(helm status) has no chart metadata); empty when there is none. No manifest or
      values, so no Secret.
  type: dict
  returned: always
"""

import copy
import json

import yaml
from ansible.module_utils.basic import AnsibleModule

REDACTED, CHANGED = "<redacted>", "<redacted, changed>"


def objects(release_json: str, need_deployed: bool = False) -> dict[str, dict]:
    release = json.loads(release_json) if release_json.strip() else {}
    if need_deployed and release.get("info", {}).get("status") != "deployed":
        return {}
    manifests = [release.get("manifest") or ""] + [hook.get("manifest") or "" for hook in release.get("hooks") or []]
    found = {}
    for doc in yaml.safe_load_all("\n---\n".join(manifests)):
        if isinstance(doc, dict) and doc.get("kind"):
            found[f"{doc['kind']}/{doc.get('metadata', {}).get('name', '')}"] = doc
    return found


def listed(release_json: str) -> dict:
    """The release's fields of a `helm list --output=json` row that `helm status` carries."""
    release = json.loads(release_json) if release_json.strip() else {}
    if not release:
        return {}
    info = release.get("info") or {}
    return {"name": release.get("name"), "namespace": release.get("namespace"), "revision": str(release.get("version")),
            "updated": info.get("last_deployed"), "status": info.get("status")}


def shown(doc: dict | None, other: dict | None) -> str:
    """The object as YAML, with each Secret value replaced by a marker that says only whether it changed."""
    if doc is None:
        return ""
    if doc.get("kind") == "Secret":
        doc = copy.deepcopy(doc)
        for field in ("data", "stringData"):
            theirs = ((other or {}).get(field) or {})
            if isinstance(doc.get(field), dict):
                doc[field] = {key: REDACTED if other is None or theirs.get(key) == value else CHANGED
                              for key, value in doc[field].items()}
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)


def main() -> None:
    module = AnsibleModule(
        argument_spec={"deployed": {"type": "str", "default": "", "no_log": True},
                       "desired": {"type": "str", "required": True, "no_log": True}},
        supports_check_mode=True,
    )
    try:
        before, after = objects(module.params["deployed"], need_deployed=True), objects(module.params["desired"])
        release = listed(module.params["deployed"])
    except (ValueError, yaml.YAMLError) as exc:  # never the text: it holds Secrets
        module.fail_json(msg=f"helm_release_diff: a release is not the JSON helm writes: {type(exc).__name__}")
    changes, diff = [], []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        changes.append(f"{'added' if old is None else 'removed' if new is None else 'changed'} {key}")
        # The "after" side marks a Secret value changed relative to "before"; "before" only ever shows the marker.
        diff.append({"before_header": key, "after_header": key,
                     "before": shown(old, old), "after": shown(new, old)})
    module.exit_json(changed=bool(changes), changes=changes, diff=diff, release=release)


if __name__ == "__main__":
    main()
