import pathlib
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "lint"))

import role_docs  # noqa: E402


def test_every_role_readme_lists_exactly_the_variables_of_its_argument_spec():
    done = subprocess.run([sys.executable, str(ROOT / "tests/lint/role_docs.py")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_a_variable_added_to_a_spec_makes_the_readme_stale(tmp_path):
    specs = yaml.safe_load((ROOT / "roles/cli_tools/meta/argument_specs.yml").read_text())
    specs["argument_specs"]["main"]["options"]["cli_tools_new_input"] = {"type": "str", "default": "x", "description": "New."}
    (tmp_path / "argument_specs.yml").write_text(yaml.safe_dump(specs))
    readme = ROOT / "roles/cli_tools/README.md"
    assert role_docs.expected(readme, tmp_path / "argument_specs.yml") != readme.read_text()
    assert "| `cli_tools_new_input` | str | `x` | New. |" in role_docs.expected(readme, tmp_path / "argument_specs.yml")
