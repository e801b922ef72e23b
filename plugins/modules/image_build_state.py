#!/usr/bin/python
"""What the last build left and what this one would make: the digest of each Docker build context (what the build
would be sent, plus the inputs that shape it), the images Docker holds under the given names, the last report."""
from __future__ import annotations

DOCUMENTATION = r"""
module: image_build_state
short_description: Digest of Docker build contexts, the images Docker holds, and the last build report, in one read
description:
  - One read for the whole decision of the image_build role (a no-op run costs this module and nothing else).
  - The files are the ones C(docker build) sends to the daemon (the context less what its C(.dockerignore) excludes,
    read with community.docker's implementation of Docker's rules), so a file the build never sees does not change
    the digest and every file it sees does.
  - Each file counts by path, executable bit and content (not by time), so a fresh checkout of the same sources
    has the same digest.
  - Reads only; runs the same in check mode.
options:
  path:
    description: The build context folder (its C(Dockerfile) and C(.dockerignore)). Required without O(contexts).
    type: path
  inputs:
    description: Everything else that shapes the image (build arguments, the base image's ID, the target stage).
    type: dict
    default: {}
  contexts:
    description:
      - Several contexts at once, each a dict with O(path) and O(inputs); their digests come in RV(digests).
      - A context's C(base_image) (a name among O(inspect)) adds that image's ID to its inputs as C(base_image_id)
        (empty when Docker does not hold it), so a rebuilt base changes the digest. Other keys are ignored.
    type: list
    elements: dict
  inspect:
    description:
      - Image names (C(name:tag)) to look up with C(docker image inspect); those Docker holds come in RV(images).
      - A Docker engine that does not answer is not a failure here; RV(docker_error) says why.
    type: list
    elements: str
    default: []
  report:
    description: A JSON build report to read; its content comes in RV(report) ({} when there is no such file).
    type: path
requirements:
  - the docker CLI on the PATH (an engine that does not answer is reported, not a failure)
author:
  - todo-k8s team (@todo-k8s)
"""

EXAMPLES = r"""
- name: Digests of both build contexts, the images Docker holds under their names, the last report
  todo.k8s.image_build_state:
    contexts:
      - path: "{{ playbook_dir }}/app/backend"
        inputs: {build_args: {BASE_IMAGE: "python:3.13-slim"}}
        base_image: python:3.13-slim
      - path: "{{ playbook_dir }}/app/frontend"
        inputs: {build_args: {BASE_IMAGE: "nginx:alpine"}}
    inspect: [todo-list-backend:v1.0.0, todo-list-frontend:v1.0.0, python:3.13-slim]
    report: /var/cache/todo-k8s/reports/images.json
  register: state
"""

RETURN = r"""
digest:
  description: C(sha256:) and 64 hex digits.
  type: str
  returned: with O(path)
files:
  description: How many files the context holds.
  type: int
  returned: with O(path)
digests:
  description: The digest of each of O(contexts), in their order.
  type: list
  elements: str
  returned: with O(contexts)
images:
  description: What C(docker image inspect) says of each of O(inspect) that Docker holds (as C(docker_image_info) returns it).
  type: list
  elements: dict
  returned: when the engine answers
docker_error:
  description: Why the Docker engine could not be asked; empty when it answered.
  type: str
  returned: always
report:
  description: The report O(report) names, parsed.
  type: dict
  returned: always
"""

import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.validation import check_type_path
from ansible_collections.community.docker.plugins.module_utils._api.utils.build import exclude_paths


def ignore_patterns(root: str) -> list[str]:
    """.dockerignore's patterns (blank lines and comments dropped)."""
    try:
        with open(os.path.join(root, ".dockerignore"), encoding="utf-8") as f:
            return [line.strip() for line in f.read().splitlines() if line.strip() and not line.strip().startswith("#")]
    except FileNotFoundError:
        return []


def context_digest(module: AnsibleModule, path: str, inputs: dict) -> tuple[str, int]:
    root = os.path.abspath(path)
    if not os.path.isfile(os.path.join(root, "Dockerfile")):
        module.fail_json(msg=f"image_build: no Dockerfile in {root}; nothing was built (check image_build_source_dir).")
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode())
    files = 0
    for name in sorted(exclude_paths(root, ignore_patterns(root))):
        full = os.path.join(root, name)
        if os.path.islink(full):
            entry = f"link {name} {os.readlink(full)}"
        elif os.path.isdir(full):
            entry = f"dir {name}"
        else:
            files += 1
            with open(full, "rb") as f:
                content = hashlib.file_digest(f, "sha256").hexdigest()
            entry = f"file {name} {os.access(full, os.X_OK)} {content}"
        digest.update(entry.encode("utf-8", "surrogateescape") + b"\0")
    return "sha256:" + digest.hexdigest(), files


def images(module: AnsibleModule, refs: list[str]) -> tuple[list[dict], str]:
    """docker image inspect of each ref Docker holds; an engine that does not answer gives its error."""
    if not refs:
        return [], ""
    rc, out, err = module.run_command(["docker", "image", "inspect", *refs])
    found = json.loads(out) if out.strip().startswith("[") else []
    if rc != 0 and not found and "No such image" not in err:
        return [], " ".join(err.split())[:300] or f"docker image inspect exited {rc}"
    return found, ""


def report(module: AnsibleModule, path: str | None) -> dict:
    if not path or not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"image_build: the build report {path} cannot be read ({exc}); delete it and run again.")


def main() -> None:
    module = AnsibleModule(
        argument_spec={"path": {"type": "path"}, "inputs": {"type": "dict", "default": {}},
                       "contexts": {"type": "list", "elements": "dict"},
                       "inspect": {"type": "list", "elements": "str", "default": []}, "report": {"type": "path"}},
        mutually_exclusive=[("path", "contexts")],
        supports_check_mode=True,
    )
    result = {"changed": False, "report": report(module, module.params["report"])}
    result["images"], result["docker_error"] = images(module, module.params["inspect"])
    ids = {tag: image["Id"] for image in result["images"] for tag in image.get("RepoTags") or []}
    if module.params["contexts"] is not None:
        result["digests"] = [
            context_digest(module, check_type_path(c["path"]),
                           dict(c.get("inputs") or {}, **({"base_image_id": ids.get(c["base_image"], "")} if c.get("base_image") else {})))[0]
            for c in module.params["contexts"]]
    if module.params["path"] is not None:
        result["digest"], result["files"] = context_digest(module, module.params["path"], module.params["inputs"])
    if result["docker_error"]:
        del result["images"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
