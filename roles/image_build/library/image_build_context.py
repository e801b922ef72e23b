#!/usr/bin/python
"""The digest of a Docker build context: what the build would be sent, plus the inputs that shape it."""
from __future__ import annotations

DOCUMENTATION = r"""
module: image_build_context
short_description: Digest of a Docker build context and the inputs of the build
description:
  - The files are the ones community.docker.docker_image sends to the daemon (its own .dockerignore reading), so a
    file the build never sees does not change the digest and every file it sees does.
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
    description: Several contexts at once, each a dict with O(path) and O(inputs) (other keys are ignored); their digests come in RV(digests).
    type: list
    elements: dict
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
"""

import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.community.docker.plugins.module_utils._api.utils.build import exclude_paths


def ignore_patterns(root: str) -> list[str]:
    """.dockerignore as docker_image reads it (blank lines and comments dropped)."""
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


def main() -> None:
    module = AnsibleModule(
        argument_spec={"path": {"type": "path"}, "inputs": {"type": "dict", "default": {}},
                       "contexts": {"type": "list", "elements": "dict"}},
        required_one_of=[("path", "contexts")], mutually_exclusive=[("path", "contexts")],
        supports_check_mode=True,
    )
    if module.params["contexts"] is not None:
        digests = [context_digest(module, os.path.expanduser(c["path"]), c.get("inputs") or {})[0]
                   for c in module.params["contexts"]]
        module.exit_json(changed=False, digests=digests)
    digest, files = context_digest(module, module.params["path"], module.params["inputs"])
    module.exit_json(changed=False, digest=digest, files=files)


if __name__ == "__main__":
    main()
