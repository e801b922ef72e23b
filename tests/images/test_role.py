"""The image_build role refuses bad input before building anything."""
import pathlib
import shutil
import subprocess

import pytest

from conftest import ROOT

# The tool virtualenv's (first on the PATH `make` sets; VENV may be elsewhere, e.g. under `make test-cold`).
ANSIBLE_PLAYBOOK = pathlib.Path(shutil.which("ansible-playbook") or ROOT / ".venv" / "bin" / "ansible-playbook")


@pytest.mark.parametrize("tag", ["latest", "1.0.0", "v1.0", "v1.0.0-rc1"])
def test_a_tag_that_is_not_vx_y_z_is_refused_before_building(tag):
    done = subprocess.run([str(ANSIBLE_PLAYBOOK), "playbooks/images.yml", "-e", f"image_build_tag={tag}",
                           "-e", "image_build_report_path=/nonexistent/report.json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin",
                          "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"})
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"image_build_tag '{tag}' is not of the form vX.Y.Z" in output, output
    assert "changed=0" in output
    assert "TASK [image_build : Build todo-list" not in output
