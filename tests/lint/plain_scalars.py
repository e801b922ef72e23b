#!/usr/bin/env python3
"""Fail when a command in a YAML file is cut short by a ` #` that YAML reads as a comment.

In a plain (unquoted) scalar, ` #` starts a comment, so in

    ansible.builtin.command: apt-get  # noqa: command-instead-of-module {{ opts }} update

Ansible runs bare `apt-get`: the rest of the line, meant as part of the command, is gone, and neither yamllint
nor ansible-lint says so. This check reads every YAML file's nodes with their positions and, for each plain
scalar under a command key (command, shell, cmd, raw, argv, script, and their FQCN forms), looks at what follows
it on its line. A comment there may only be an ansible-lint `noqa` naming known rules; anything else is
reported with the command as YAML loads it.

Usage: plain_scalars.py [PATH ...]   (folders are searched for *.yml and *.yaml; default: the checkout)
"""
from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import sys

import yaml

COMMAND_KEYS = {"command", "shell", "cmd", "raw", "argv", "script"}
SKIP_DIRS = {".git", ".venv", "node_modules", "build", "artifacts", ".ansible", "charts"}
NOQA = re.compile(r"noqa(?::?\s+(?P<ids>.*))?")


def known_rule_ids() -> set[str]:
    """The rule ids of the installed ansible-lint, read from its rule sources (importing it takes seconds)."""
    rules = pathlib.Path(importlib.util.find_spec("ansiblelint").submodule_search_locations[0], "rules")
    return {m for f in rules.glob("*.py") for m in re.findall(r'^\s+id = "([a-z0-9-]+)"', f.read_text(), flags=re.M)}


def is_command_key(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in COMMAND_KEYS


def noqa_only(comment: str, rule_ids: set[str]) -> bool:
    """True when the comment is `noqa` alone or `noqa: id[, id]` with ids ansible-lint knows."""
    match = NOQA.fullmatch(comment.strip())
    if not match:
        return False
    ids = [i for i in re.split(r"[\s,]+", match.group("ids") or "") if i]
    return all(re.sub(r"\[.*\]$", "", i) in rule_ids for i in ids)


def scalars_under_command_keys(node: yaml.Node, under: bool = False):
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from scalars_under_command_keys(
                value, isinstance(key, yaml.ScalarNode) and is_command_key(str(key.value)))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from scalars_under_command_keys(item, under)
    elif isinstance(node, yaml.ScalarNode) and under and node.style is None:
        yield node


def check_file(path: pathlib.Path, rule_ids: set[str]) -> list[str]:
    text = path.read_text()
    lines = text.splitlines()
    problems = []
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return []  # yamllint reports files that do not parse
    for document in documents:
        if document is None:
            continue
        for node in scalars_under_command_keys(document):
            rest = lines[node.end_mark.line][node.end_mark.column:] if node.end_mark.line < len(lines) else ""
            comment = rest.strip()
            if comment.startswith("#") and not noqa_only(comment[1:], rule_ids):
                problems.append(
                    f"{path}:{node.end_mark.line + 1}: the command is cut at ' #': YAML reads it as "
                    f"{node.value!r} and drops {comment!r}; quote the command or end the line with the noqa")
    return problems


def yaml_files(paths: list[pathlib.Path]):
    for path in paths:
        if path.is_file():
            yield path
            continue
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            yield from (pathlib.Path(folder, f) for f in sorted(files) if f.endswith((".yml", ".yaml")))


def main(argv: list[str]) -> int:
    paths = [pathlib.Path(a) for a in argv] or [pathlib.Path(".")]
    rule_ids = known_rule_ids()
    problems = [p for f in yaml_files(paths) for p in check_file(f, rule_ids)]
    print("\n".join(problems) or "plain_scalars: no command is cut by a comment", file=sys.stderr if problems else sys.stdout)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
