#!/usr/bin/python
"""The build report: each image's compressed size as a registry would store it (its layers, each gzip-compressed,
summed), checked against its limit, written as JSON."""
from __future__ import annotations

DOCUMENTATION = r"""
module: image_build_report
short_description: Measure the built images, refuse those over their limit, write the build report
description:
  - The compressed size of an image is the sum of its layers, each compressed with gzip at its default level (6),
    as a registry stores them (base layers included; the small config blob is not counted).
  - A layer is known by its diff ID (the sha256 of its uncompressed tar, from C(docker image inspect)), and its
    compressed size (and tar size) is cached under O(cache_dir) by that ID, so a layer is compressed once, ever; a
    one-line change in the app compresses only the layers it changed. Only images with a layer not yet measured are
    read, with one C(docker save) for all of them, in which layers of a size measured before are passed over, or
    from O(registry) when it holds them.
  - An image over its C(limit_mb) fails the module in one line, and the report is not written.
  - The report is written only when its content changes; C(build_seconds) of an image ID the previous report
    already had is carried over, so an unchanged build leaves the report unchanged.
  - In check mode the sizes are measured, but neither the cache nor the report is written.
options:
  images:
    description:
      - The images of this build, each a dict with C(component), C(name), C(tag), C(ref), C(id) (null for an image
        check mode would build), C(created), C(uncompressed_bytes), C(limit_mb) (null for none), C(changed),
        C(build_seconds), C(base_image), C(context_digest), and for an image pushed to a registry C(repository)
        (C(<registry>/<name>)) and C(digest) (the registry's manifest digest, C(sha256:...)).
    type: list
    elements: dict
    required: true
  previous:
    description: The previous report (its build times of unchanged images are kept).
    type: dict
    default: {}
  header:
    description: The report's other fields (C(offline), C(suite), C(size_method)).
    type: dict
    default: {}
  path:
    description: Where the report is written (its folder is created when missing).
    type: path
    required: true
  cache_dir:
    description: Folder of the per-layer cache (one file per diff ID, holding the compressed and the tar size in bytes).
    type: path
    required: true
  registry:
    description:
      - A registry on this host (C(host:port), plain HTTP) that holds the images under their names and tags, as
        kind_cluster pushes them to the cluster's registry. A layer not measured before is read from it (only that
        layer, decompressed, checked against its diff ID and compressed again at level 6, so the size is the one
        C(docker save) gives) instead of from C(docker save) of the whole image; an image the registry holds in
        another version, or a registry that does not answer, falls back to C(docker save).
      - Empty reads every layer from C(docker save).
    type: str
    default: ""
requirements:
  - the docker CLI on the PATH
author:
  - todo-k8s team (@todo-k8s)
"""

EXAMPLES = r"""
- name: Measure the images just built and write the report
  todo.k8s.image_build_report:
    images: "{{ built_images }}"
    previous: "{{ last_report | default({}) }}"
    header: {offline: true, suite: todo-list, size_method: gzip level 6 per layer}
    path: /var/cache/todo-k8s/reports/images.json
    cache_dir: /var/cache/todo-k8s/layer-sizes
"""

RETURN = r"""
report:
  description: The report as written (C(schema), the O(header) fields, C(images) each with C(compressed_bytes) and C(compressed_mb)).
  type: dict
  returned: success
measured_layers:
  description: How many layers this run compressed (the others came from the cache).
  type: int
  returned: success
registry_layers:
  description: How many of those it read from O(registry) (the others from C(docker save)).
  type: int
  returned: success
"""

import hashlib
import json
import os
import subprocess
import tarfile
import tempfile
import zlib

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

CHUNK = 1 << 20


def gzip_size(stream) -> int:
    """Bytes of the gzip stream (level 6) of what `stream` yields."""
    compressor, size = zlib.compressobj(6, zlib.DEFLATED, 31), 0
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        size += len(compressor.compress(chunk))
    return size + len(compressor.flush())


def measure(module: AnsibleModule, refs: list[str], wanted: set[str], skip: set[int]) -> tuple[dict[str, int], dict[str, int]]:
    """From one `docker save` stream of the refs: the compressed size of each wanted layer, and the tar size of each
    layer read, by diff ID. A layer whose tar size is in `skip` (the sizes of layers measured before) is passed over
    unread: hashing and holding the base layers took 0.5 of the 1.65 s a rebuilt backend's save costs. A wanted layer
    of such a size is then missing from the answer, and sizes() reads the save again, skipping none."""
    compressed, tars = {}, {}
    # A stream, layer by layer, never the whole save in memory or on disk: run_command cannot stream its stdout.
    with subprocess.Popen(["docker", "save", *refs],  # pylint: disable=ansible-bad-function
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as save:
        with tarfile.open(fileobj=save.stdout, mode="r|") as archive:
            for member in archive:
                # docker 20.10 writes <v1 id>/layer.tar, docker 25+ blobs/sha256/<digest>: both uncompressed tars.
                if not member.isfile() or not (member.name.endswith("/layer.tar") or member.name.startswith("blobs/")):
                    continue
                if member.size in skip:
                    continue
                with tempfile.SpooledTemporaryFile(max_size=64 << 20) as spool:  # small layers stay in memory
                    digest = hashlib.sha256()
                    source = archive.extractfile(member)
                    for chunk in iter(lambda: source.read(CHUNK), b""):
                        digest.update(chunk)
                        spool.write(chunk)
                    diff_id = "sha256:" + digest.hexdigest()
                    tars[diff_id] = member.size
                    if diff_id in wanted and diff_id not in compressed:
                        spool.seek(0)
                        compressed[diff_id] = gzip_size(spool)
        error = save.stderr.read().decode(errors="replace")
    if save.returncode != 0:
        module.fail_json(msg=f"image_build: docker save {' '.join(refs)} failed: {' '.join(error.split())[:300]}")
    return compressed, tars


def repository_path(ref: str) -> tuple[str, str]:
    """The path and tag of a local image in a registry, as Docker names it: todo-list-backend:v1.0.0 is
    library/todo-list-backend, v1.0.0 (a leading host, such as registry.example.com:5000/, is not part of it)."""
    name, tag = ref.rsplit(":", 1)
    first, rest = name.split("/", 1) if "/" in name else (name, "")
    if not rest:
        return "library/" + name, tag
    return (rest if "." in first or ":" in first or first == "localhost" else name), tag


def from_registry(registry: str, ref: str, image_id: str, wanted: set[str]) -> tuple[dict[str, int], dict[str, int]]:
    """The compressed size (gzip level 6) and the tar size of each wanted layer of `ref`, from the registry's copy
    of the image: its manifest, its config (the diff IDs, in the order of the manifest's layers) and only the
    wanted layers' blobs. Nothing when the registry holds another image under that tag (its config digest is the
    image ID), does not answer, or a blob does not decompress to its diff ID."""
    path, tag = repository_path(ref)
    base = f"http://{registry}/v2/{path}"

    def get(url: str, accept: str = ""):
        return open_url(url, headers={"Accept": accept} if accept else None, use_proxy=False, timeout=30)

    compressed, tars = {}, {}
    try:
        manifest = json.load(get(f"{base}/manifests/{tag}", "application/vnd.docker.distribution.manifest.v2+json, "
                                                            "application/vnd.oci.image.manifest.v1+json"))
        if manifest["config"]["digest"] != image_id:
            return {}, {}
        diff_ids = json.load(get(f"{base}/blobs/{image_id}"))["rootfs"]["diff_ids"]
        for layer, diff_id in zip(manifest["layers"], diff_ids):
            if diff_id not in wanted or diff_id in compressed:
                continue
            gzipped = layer["mediaType"].endswith("gzip")
            if not gzipped and not layer["mediaType"].endswith(".tar"):
                return {}, {}
            unzip = zlib.decompressobj(31) if gzipped else None
            packer, digest, size, tar = zlib.compressobj(6, zlib.DEFLATED, 31), hashlib.sha256(), 0, 0
            blob = get(f"{base}/blobs/{layer['digest']}")
            for chunk in iter(lambda: blob.read(CHUNK), b""):
                chunk = unzip.decompress(chunk) if unzip else chunk
                digest.update(chunk)
                tar += len(chunk)
                size += len(packer.compress(chunk))
            if "sha256:" + digest.hexdigest() != diff_id:
                return {}, {}
            compressed[diff_id], tars[diff_id] = size + len(packer.flush()), tar
    except (OSError, ValueError, KeyError, TypeError, zlib.error):
        return {}, {}
    return compressed, tars


def sizes(module: AnsibleModule, refs: list[str], cache_dir: str, registry: str) -> tuple[dict[str, int], int, int]:
    """Compressed bytes of each ref, how many layers were compressed for them and how many of those the registry gave."""
    if not refs:
        return {}, 0, 0
    rc, out, err = module.run_command(["docker", "image", "inspect", "--format", "{{.Id}} {{json .RootFS.Layers}}", *refs])
    if rc != 0:
        module.fail_json(msg=f"image_build: docker image inspect failed: {' '.join(err.split())[:300]}")
    ids = dict(zip(refs, (line.split(" ", 1)[0] for line in out.splitlines())))
    layers = dict(zip(refs, (json.loads(line.split(" ", 1)[1]) for line in out.splitlines())))

    def cached(diff_id: str) -> tuple[int, int | None] | None:
        """(compressed bytes, tar bytes) from the cache; its older entries hold the compressed bytes only."""
        try:
            with open(os.path.join(cache_dir, diff_id.removeprefix("sha256:")), encoding="ascii") as f:
                fields = [int(field) for field in f.read().split()]
            return fields[0], (fields[1] if len(fields) > 1 else None)
        except (OSError, ValueError, IndexError):
            return None

    known = {d: cached(d) for ids in layers.values() for d in ids}
    missing = {d for d, entry in known.items() if entry is None}
    from_the_registry = 0
    if missing:
        compressed, tars = {}, {}
        for ref in refs if registry else []:
            if missing & set(layers[ref]) - set(compressed):
                read, read_tars = from_registry(registry, ref, ids[ref], missing - set(compressed))
                compressed.update(read)
                tars.update(read_tars)
        from_the_registry = len(compressed)
        left = missing - set(compressed)  # for docker save
        saved = [r for r in refs if left & set(layers[r])]
        if saved:
            skip = {entry[1] for entry in known.values() if entry and entry[1] is not None}
            saved_sizes, saved_tars = measure(module, saved, left, skip)
            if left - set(saved_sizes):  # a new layer as long as a measured one
                saved_sizes, saved_tars = measure(module, saved, left, set())
            compressed.update(saved_sizes)
            tars.update(saved_tars)
        unmeasured = missing - set(compressed)
        if unmeasured:
            module.fail_json(msg=f"image_build: docker save did not hold the layers {', '.join(sorted(unmeasured))}")
        # The new layers, and the tar sizes of layers cached without one (entries of an earlier version).
        learnt = {d: (compressed[d], tars[d]) for d in missing}
        learnt.update({d: (known[d][0], tars[d]) for d in tars if known.get(d) and known[d][1] is None})
        known.update(learnt)
        if not module.check_mode:
            os.makedirs(cache_dir, exist_ok=True)
            for diff_id in learnt:
                path = os.path.join(cache_dir, diff_id.removeprefix("sha256:"))
                with open(path + ".tmp", "w", encoding="ascii") as f:
                    f.write("%d %d" % known[diff_id])
                os.replace(path + ".tmp", path)
    return {r: sum(known[d][0] for d in ids) for r, ids in layers.items()}, len(missing), from_the_registry


def main() -> None:
    module = AnsibleModule(
        argument_spec={"images": {"type": "list", "elements": "dict", "required": True},
                       "previous": {"type": "dict", "default": {}}, "header": {"type": "dict", "default": {}},
                       "path": {"type": "path", "required": True}, "cache_dir": {"type": "path", "required": True},
                       "registry": {"type": "str", "default": ""}},
        supports_check_mode=True,
    )
    p = module.params
    measured, count, from_the_registry = sizes(module, [i["ref"] for i in p["images"] if i.get("id")], p["cache_dir"], p["registry"])
    previous_times = {i.get("id"): i.get("build_seconds") for i in p["previous"].get("images", [])}
    images = []
    for image in p["images"]:
        size = measured.get(image["ref"], 0) if image.get("id") else 0
        limit = image.get("limit_mb")
        if limit is not None and size > int(limit) * 1_000_000:
            module.fail_json(msg=f"image_build: {image['ref']} is {round(size / 1e6, 1)} MB compressed ({size} bytes, "
                                 f"{p['header'].get('size_method', '')}), over its limit of {limit} MB.")
        carried = not image.get("changed") and image.get("id") in previous_times
        images.append({
            "component": image["component"], "name": image["name"], "tag": image["tag"], "ref": image["ref"],
            "id": image.get("id"), "repository": image.get("repository"), "digest": image.get("digest"),
            "created": image.get("created"),
            "compressed_bytes": size, "compressed_mb": round(size / 1e6, 1), "limit_mb": limit,
            "uncompressed_bytes": image.get("uncompressed_bytes"),
            "build_seconds": previous_times[image.get("id")] if carried else image.get("build_seconds"),
            "base_image": image.get("base_image"), "context_digest": image.get("context_digest")})
    report = {"schema": 1, **p["header"], "images": images}
    try:
        with open(p["path"], encoding="utf-8") as f:
            changed = json.load(f) != report
    except (OSError, ValueError):
        changed = True
    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    if changed and not module.check_mode:
        os.makedirs(os.path.dirname(p["path"]) or ".", mode=0o755, exist_ok=True)
        with open(p["path"] + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(p["path"] + ".tmp", 0o644)
        os.replace(p["path"] + ".tmp", p["path"])
    module.exit_json(changed=changed, report=report, measured_layers=count, registry_layers=from_the_registry)


if __name__ == "__main__":
    main()
