"""image_build run from the installed collection, as a consumer's playbook runs it: it builds the app images from
the `app/` the tarball ships and writes nothing into the collection (the backend's wheels and its staged build
context go to the cache). Needs Docker and the base images (`make test-images` makes them); a tag of its own,
removed at the end, so the release's images are untouched."""
import hashlib
import json
import subprocess

import pytest

from installed import BIN, install_collection

TAG = "v0.0.99"
IMAGES = [f"todo-list-backend:{TAG}", f"todo-list-frontend:{TAG}"]

CONSUMER = """
- name: A consumer's playbook builds the app images with the installed collection
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: todo.k8s.image_build
      vars:
        image_build_tag: "{tag}"
        image_build_report_path: "{report}"
"""


def tree_state(root):
    """Every path under root with its mode and, for files, the sha256 of its content."""
    return {str(p.relative_to(root)): (p.lstat().st_mode, p.is_file() and hashlib.sha256(p.read_bytes()).hexdigest())
            for p in root.rglob("*")}


@pytest.fixture
def untag():
    yield
    subprocess.run(["docker", "image", "rm", *IMAGES], capture_output=True, check=False)


def test_image_build_from_the_installed_collection_builds_and_writes_nothing_into_it(tmp_path, untag):
    collections, clean = install_collection(tmp_path)
    collection = collections / "ansible_collections" / "todo" / "k8s"
    before = tree_state(collection)

    consumer = tmp_path / "consumer"
    consumer.mkdir()
    report = tmp_path / "images.json"
    (consumer / "build.yml").write_text(CONSUMER.format(tag=TAG, report=report))
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "build.yml"], cwd=consumer,
                            capture_output=True, text=True,
                            env=dict(clean, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Stage the backend's build context" in output, "the backend was built from a staged context"

    assert tree_state(collection) == before, "the run wrote into the installed collection"
    assert set(IMAGES) <= {i["ref"] for i in json.loads(report.read_text())["images"]}
    labels = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", IMAGES[0]],
                            capture_output=True, text=True, check=True).stdout
    assert "todo-k8s.context-digest" in json.loads(labels)
