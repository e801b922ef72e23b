"""image_build_report measures each layer once, and passes over the layers of a size it measured before: a new layer
of exactly that size must still be measured. Two images FROM scratch on the real Docker engine."""
import os
import uuid

import pytest

from conftest import docker
from layer_sizes import layer_sizes, measure


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

    first = measure(lower, tmp_path)
    assert first["measured_layers"] == 1
    assert (tmp_path / "layers" / old_layer.removeprefix("sha256:")).read_text() == "%d %d" % lower_layers[old_layer]

    second = measure(upper, tmp_path)
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

    assert measure(upper, tmp_path)["measured_layers"] == 1
    assert (tmp_path / "layers" / old_layer.removeprefix("sha256:")).read_text() == "%d %d" % lower_layers[old_layer]
