"""The collection as its users get it: `ansible-galaxy collection build` of this checkout, installed into an empty
collections path. Shared by tests/collection and the Molecule consumer test (molecule/default/tests/conftest.py puts
this folder on sys.path)."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def install_collection(tmp_path):
    """Build the tarball into tmp_path and install it into tmp_path/collections. Returns that collections path and
    an environment without ANSIBLE_* variables (no ansible.cfg, roles path or library of this checkout)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    built = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path)],
                           cwd=ROOT, capture_output=True, text=True, env=clean)
    assert built.returncode == 0, built.stderr
    (tarball,) = tmp_path.glob("todo-k8s-*.tar.gz")
    collections = tmp_path / "collections"
    installed = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "--force",
                                "-p", str(collections), str(tarball)], capture_output=True, text=True, env=clean,
                               cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    return collections, clean
