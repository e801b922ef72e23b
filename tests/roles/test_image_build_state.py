"""image_build_state, the digest that decides whether an image is built again: it follows what the build sees
(the files .dockerignore lets through, their content and executable bit, the build inputs) and nothing else."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def play(tmp_path, tasks):
    """Run these tasks on localhost with the role's modules."""
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    return subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml")], capture_output=True, text=True,
        env={**os.environ, "ANSIBLE_LIBRARY": str(ROOT / "plugins" / "modules"),
             "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_NOCOLOR": "1"})


def test_the_digest_changes_with_what_the_build_sees_and_only_with_that(tmp_path):
    context = tmp_path / "backend"
    shutil.copytree(ROOT / "app" / "backend", context, ignore=shutil.ignore_patterns(".venv", "__pycache__", "wheels"))
    main, ignored = context / "todo_api" / "main.py", context / "tests" / "conftest.py"
    digest = lambda name, **inputs: {"name": f"digest {name}", "image_build_state": {"path": str(context), "inputs": inputs},
                                     "register": name}
    shell = lambda cmd: {"name": cmd, "ansible.builtin.command": cmd}
    steps = [
        digest("first"), shell(f"touch {main} {context / 'Dockerfile'}"), digest("touched"),
        shell(f"sh -c 'echo \"# not in the image\" >> {ignored}'"), digest("ignored_edit"),
        digest("other_base", base_image_id="sha256:" + "b" * 64),
        shell(f"chmod +x {main}"), digest("executable"),
        shell(f"sh -c 'echo \"# edited\" >> {main}'"), digest("source_edit"),
    ]
    names = [s["register"] for s in steps if "register" in s]
    steps.append({"ansible.builtin.copy": {"dest": str(tmp_path / "digests.json"),
                                           "content": "{{ {" + ", ".join(f"'{n}': {n}.digest" for n in names) + "} | to_json }}"}})
    result = play(tmp_path, steps)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    d = json.loads((tmp_path / "digests.json").read_text())
    assert d["first"].startswith("sha256:") and len(d["first"]) == 71
    assert d["touched"] == d["first"], "a new mtime is not a new image"
    assert d["ignored_edit"] == d["first"], "a file .dockerignore leaves out is not in the image"
    assert len({d["first"], d["other_base"], d["executable"], d["source_edit"]}) == 4


def test_a_source_folder_without_a_dockerfile_is_refused_in_one_line(tmp_path):
    (tmp_path / "backend").mkdir()
    result = play(tmp_path, [{"image_build_state": {"path": str(tmp_path / "backend")}}])
    assert result.returncode != 0
    assert f"image_build: no Dockerfile in {tmp_path / 'backend'}; nothing was built" in result.stdout, result.stdout
