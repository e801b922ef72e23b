"""What users install: `ansible-galaxy collection build` of a copy of this tree (the files git tracks or would add)
with dev-only files and local state planted in it, listed with tarfile. Everything a user runs ships; nothing of the
development side, no local state (virtualenvs, downloaded wheels, caches, build output) and never the vault."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
from ansible_collections.community.docker.plugins.module_utils._api.utils.build import exclude_paths

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
VAULT = "inventories/production/group_vars/all/vault.yml"

# Files a machine collects that git does not track: each must stay out of the tarball.
PLANTED = [
    VAULT,
    ".venv/bin/python",
    "app/backend/.venv/bin/python",
    "app/frontend/node_modules/left-pad/index.js",
    "node_modules/left-pad/index.js",
    "wheels/fastapi-0.0.0-py3-none-any.whl",
    "app/backend/wheels/fastapi-0.0.0-py3-none-any.whl",
    "app/backend/wheels/.complete-0123456789abcdef",
    ".pytest_cache/v/cache/lastfailed",
    "app/backend/.pytest_cache/v/cache/lastfailed",
    "app/backend/todo_api/__pycache__/main.cpython-313.pyc",
    "plugins/modules/__pycache__/helm_release_plan.cpython-313.pyc",
    "build/collection/todo-k8s-1.0.0.tar.gz",
    "artifacts/report.json",
    "todo-k8s-0.9.0.tar.gz",
    "charts/todo-list-hackathon-1.0.0.tar.gz",
    "tests/output/junit/sanity.xml",
    ".ansible/collections/x",
    "roles/image_build/.ansible/x",
    "app/backend/.schemathesis/examples.db",
    "changelogs/.plugin-cache.yaml",
]
# Development only, whole folders or files at the top.
DEV_ONLY = ["molecule/", "tests/", "bench/", "mk/", "Makefile", ".ci/", "requirements.txt", "collections/",
            "ansible.cfg", ".ansible-lint", ".yamllint", ".gitignore", "app/backend/tests/",
            "app/backend/requirements-dev.txt", "app/backend/pytest.ini", "app/backend/schemathesis.toml"]
LOCAL_STATE_PARTS = {".venv", "node_modules", "wheels", ".pytest_cache", "__pycache__", ".ansible", "build",
                     "artifacts", "output"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tree = tmp_path_factory.mktemp("tree")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        if (ROOT / rel).is_file():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, tree / rel)
    for rel in PLANTED:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text("planted by tests/collection/test_build.py\n")
    dist = tmp_path_factory.mktemp("dist")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    result = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist)], cwd=tree,
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    (tarball,) = dist.glob("todo-k8s-*.tar.gz")
    with tarfile.open(tarball) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    return tree, files


def test_what_a_user_runs_ships(built):
    tree, files = built
    required = ["MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.md", "changelogs/changelog.yaml",
                "changelogs/config.yaml", "meta/runtime.yml", "site.yml", "playbooks/site.yml",
                "inventories/local/hosts.yml", "inventories/local/group_vars/all.yml",
                "inventories/production/hosts.yml", "inventories/production/group_vars/all/main.yml"]
    for folder in ("roles", "plugins", "playbooks", "charts", "docs"):
        required += [p.relative_to(tree).as_posix() for p in (tree / folder).rglob("*")
                     if p.is_file() and not LOCAL_STATE_PARTS & set(p.relative_to(tree).parts)]
    assert [p for p in required if p not in files and p not in PLANTED] == []
    assert {f.split("/")[1] for f in files if re.fullmatch(r"roles/[^/]+/meta/main\.yml", f)} >= {
        "cli_tools", "common", "docker_engine", "helm_release", "image_build", "kind_cluster", "kind_node_image",
        "minikube"}


def test_every_file_an_image_build_sends_ships_but_the_wheels_it_downloads(built):
    """image_build builds app/<component> of the installed collection: what its .dockerignore lets through ships."""
    tree, files = built
    for component in ("backend", "frontend"):
        root = tree / "app" / component
        dockerignore = [line.strip() for line in (root / ".dockerignore").read_text().splitlines()
                        if line.strip() and not line.startswith("#")]
        sent = {f"app/{component}/{p}" for p in exclude_paths(str(root), dockerignore)
                if (root / p).is_file() and not p.startswith("wheels/")}
        assert f"app/{component}/Dockerfile" in sent
        assert sorted(sent - set(files)) == []
        assert f"app/{component}/.dockerignore" in files


def test_nothing_dev_only_local_or_secret_ships(built):
    _tree, files = built
    assert [p for p in PLANTED if p in files] == []
    assert [p for p in files if any(p == d or p.startswith(d) for d in DEV_ONLY)] == []
    assert [p for p in files if LOCAL_STATE_PARTS & set(pathlib.PurePosixPath(p).parts)] == []
    assert [p for p in files if p.endswith((".tar.gz", ".pyc", ".whl")) or "vault" in pathlib.PurePosixPath(p).name] == []


def test_manifest_license_links_and_dependencies(built):
    _tree, files = built
    info = json.loads(files["MANIFEST.json"])["collection_info"]
    assert info["license"] == ["MIT"]
    assert "MIT License" in files["LICENSE"].decode() and "2026 todo-k8s team" in files["LICENSE"].decode()
    for key in ("repository", "issues", "documentation"):
        assert info[key].startswith("https://github.com/todo-k8s/todo-k8s"), key
    assert set(info["dependencies"]) == {"kubernetes.core", "community.docker", "community.crypto", "community.general"}


def test_every_collection_the_content_uses_is_a_declared_dependency(built):
    """A module named by FQCN in a shipped task file comes from ansible.builtin, this collection or a dependency."""
    _tree, files = built
    declared = set(json.loads(files["MANIFEST.json"])["collection_info"]["dependencies"]) | {"ansible.builtin", "todo.k8s"}
    used = {}
    for path, content in files.items():
        if path.endswith((".yml", ".yaml")) and path.startswith(("roles/", "playbooks/", "site.yml")):
            for name in re.findall(r"^\s*-?\s*([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+:", content.decode(), re.M):
                used.setdefault(name, path)
    assert {name: path for name, path in used.items() if name not in declared} == {}


def test_the_vault_is_git_ignored():
    assert subprocess.run(["git", "check-ignore", "-q", VAULT], cwd=ROOT, check=False).returncode == 0
