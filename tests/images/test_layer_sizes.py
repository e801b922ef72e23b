"""image_build_report measures each layer once, and passes over the layers of a size it measured before: a new layer
of exactly that size must still be measured. Two images FROM scratch on the real Docker engine."""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import uuid
import zlib

import pytest

from conftest import ROOT, docker

ANSIBLE = pathlib.Path(shutil.which("ansible") or ROOT / ".venv" / "bin" / "ansible")


def layer_sizes(ref: str) -> dict[str, tuple[int, int]]:
    """(gzip level 6 size, tar size) of each layer of ref, by diff ID, read apart from the module."""
    sizes = {}
    with subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE) as save:
        with tarfile.open(fileobj=save.stdout, mode="r|") as archive:
            for member in archive:
                if member.isfile() and (member.name.endswith("/layer.tar") or member.name.startswith("blobs/")):
                    data = archive.extractfile(member).read()
                    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
                    sizes["sha256:" + hashlib.sha256(data).hexdigest()] = (
                        len(compressor.compress(data) + compressor.flush()), len(data))
    return sizes


def report(ref: str, tmp_path: pathlib.Path) -> dict:
    image = {"component": "probe", "name": ref.split(":")[0], "tag": ref.split(":")[1], "ref": ref,
             "id": docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip(), "limit_mb": 1}
    args = {"images": [image], "path": str(tmp_path / "report.json"), "cache_dir": str(tmp_path / "layers")}
    done = subprocess.run([str(ANSIBLE), "localhost", "-m", "image_build_report", "-a", json.dumps(args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


@pytest.fixture()
def two_images(tmp_path):
    """lower: one file /a; upper: lower plus one file /b of the same length, so its one new layer is a tar exactly as
    long as lower's layer."""
    tag = uuid.uuid4().hex[:8]
    refs = [f"todo-k8s-test/layers-lower:{tag}", f"todo-k8s-test/layers-upper:{tag}"]
    for name, ref, dockerfile in [("a", refs[0], "FROM scratch\nCOPY a /a\n"),
                                  ("b", refs[1], f"FROM {refs[0]}\nCOPY b /b\n")]:
        context = tmp_path / f"context-{name}"
        context.mkdir()
        (context / name).write_text(name)
        os.utime(context / name, (0, 0))
        (context / "Dockerfile").write_text(dockerfile)
        docker("build", "--quiet", "--tag", ref, str(context))
    yield refs
    docker("rmi", *reversed(refs), check=False)


def test_a_new_layer_as_long_as_a_measured_one_is_still_measured(two_images, tmp_path):
    lower, upper = two_images
    lower_layers, upper_layers = layer_sizes(lower), layer_sizes(upper)
    [new_layer] = set(upper_layers) - set(lower_layers)
    [old_layer] = lower_layers
    assert upper_layers[new_layer][1] == lower_layers[old_layer][1], "the test needs two tars of one length"

    first = report(lower, tmp_path)
    assert first["measured_layers"] == 1
    assert (tmp_path / "layers" / old_layer.removeprefix("sha256:")).read_text() == "%d %d" % lower_layers[old_layer]

    second = report(upper, tmp_path)
    assert second["measured_layers"] == 1
    assert second["report"]["images"][0]["compressed_bytes"] == sum(size for size, _tar in upper_layers.values())
    assert (tmp_path / "layers" / new_layer.removeprefix("sha256:")).read_text() == "%d %d" % upper_layers[new_layer]


def test_a_layer_cached_by_an_earlier_version_gains_its_tar_size(two_images, tmp_path):
    """An earlier version cached the compressed size alone: the next save that reads the layer adds its tar size."""
    lower, upper = two_images
    lower_layers = layer_sizes(lower)
    [old_layer] = lower_layers
    (tmp_path / "layers").mkdir()
    (tmp_path / "layers" / old_layer.removeprefix("sha256:")).write_text(str(lower_layers[old_layer][0]))

    assert report(upper, tmp_path)["measured_layers"] == 1
    assert (tmp_path / "layers" / old_layer.removeprefix("sha256:")).read_text() == "%d %d" % lower_layers[old_layer]
