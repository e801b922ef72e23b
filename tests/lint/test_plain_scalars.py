"""The guard of `make lint` against commands that YAML cuts at ' #' (issue 11: kind's install ran bare apt-get)."""
import pathlib
import subprocess
import sys
import textwrap

import pytest

GUARD = pathlib.Path(__file__).with_name("plain_scalars.py")

# roles/kind_cluster/tasks/install.yml as it was before the fix: both commands were cut by the noqa comment.
CUT_BY_NOQA = textwrap.dedent("""\
    - name: Read sid's package lists
      ansible.builtin.command: apt-get  # noqa: command-instead-of-module {{ _kind_cluster_apt_options }} update
      changed_when: false

    - name: Download the kind package
      ansible.builtin.command:
        cmd: apt-get {{ _kind_cluster_apt_options }} download  # noqa: command-instead-of-module kind={{ v }}
        chdir: /tmp
    """)


def guard(*paths):
    return subprocess.run([sys.executable, GUARD, *map(str, paths)], capture_output=True, text=True)


def test_the_two_kind_install_lines_as_they_were_are_refused(tmp_path):
    (tmp_path / "install.yml").write_text(CUT_BY_NOQA)
    result = guard(tmp_path)
    assert result.returncode == 1
    assert "install.yml:2: the command is cut at ' #': YAML reads it as 'apt-get' and drops" in result.stderr
    assert "install.yml:7: the command is cut at ' #': YAML reads it as " \
           "'apt-get {{ _kind_cluster_apt_options }} download' and drops" in result.stderr


@pytest.mark.parametrize("line", [
    "ansible.builtin.shell: dpkg -x a.deb root  # unpack into root",
    "shell: echo {{ x }} # noqa: no-changed-when {{ y }}",
    "cmd: run # noqa: not-a-rule",
    "ansible.builtin.raw: uptime  # noqa: command-instead-of-module because",
])
def test_a_comment_after_a_plain_command_is_refused_unless_it_is_a_bare_noqa(tmp_path, line):
    (tmp_path / "task.yml").write_text(f"- {line}\n")
    assert guard(tmp_path).returncode == 1


@pytest.mark.parametrize("line", [
    "ansible.builtin.command: apt-get {{ opts }} update  # noqa: command-instead-of-module",
    "ansible.builtin.command: apt-get update  # noqa: command-instead-of-module no-changed-when",
    "ansible.builtin.command: apt-get update  # noqa",
    "ansible.builtin.shell: 'grep -v \"#\" file  # a hash inside quotes is part of the command'",
    "ansible.builtin.shell: grep -v '#x' file",
    "name: a name # with a comment is not a command",
])
def test_whole_commands_and_bare_noqa_comments_pass(tmp_path, line):
    (tmp_path / "task.yml").write_text(f"- {line}\n")
    result = guard(tmp_path)
    assert result.returncode == 0, result.stderr


def test_no_command_in_the_checkout_is_cut():
    result = guard(pathlib.Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
