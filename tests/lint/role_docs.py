"""Each role's README ends with a variables table made from its meta/argument_specs.yml, so the README and the
spec never disagree. `python tests/lint/role_docs.py --write` rewrites the tables; without it, exits 1 and names the
READMEs whose table is not what the spec makes (tests/lint/test_role_docs.py runs that check)."""
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BEGIN = "<!-- variables: made by tests/lint/role_docs.py from meta/argument_specs.yml; do not edit -->"
END = "<!-- /variables -->"


def cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def table(specs: dict) -> str:
    lines = [BEGIN, "## Variables", ""]
    for entry, spec in specs["argument_specs"].items():
        title = "the role" if entry == "main" else f"`tasks_from: {entry}`"
        lines += [f"Entry point {title}: {cell(spec.get('short_description', ''))}", "",
                  "| variable | type | default | description |", "| --- | --- | --- | --- |"]
        for name, option in sorted((spec.get("options") or {}).items()):
            kind = option.get("type", "str") + (f" of {option['elements']}" if option.get("elements") else "")
            if option.get("choices"):
                kind += " (" + ", ".join(f"`{c}`" for c in option["choices"]) + ")"
            value = option.get("default")
            shown = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True, width=10**6)
            shown = shown.strip().removesuffix("...").strip()
            default = "*required*" if option.get("required") else f"`{cell(shown)}`" if shown else ""
            description = option.get("description", "")
            if isinstance(description, list):
                description = " ".join(description)
            lines.append(f"| `{name}` | {kind} | {default} | {cell(description)} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n" + END + "\n"


def expected(readme: pathlib.Path, specs: pathlib.Path) -> str:
    text = readme.read_text() if readme.exists() else f"# {readme.parent.name}\n"
    head = text.split(BEGIN)[0].rstrip() + "\n\n"
    tail = text.split(END, 1)[1].lstrip("\n") if END in text else ""
    return head + table(yaml.safe_load(specs.read_text())) + (("\n" + tail) if tail else "")


def main() -> int:
    stale = []
    for specs in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        readme = specs.parent.parent / "README.md"
        want = expected(readme, specs)
        if not readme.exists() or readme.read_text() != want:
            if "--write" in sys.argv:
                readme.write_text(want)
            else:
                stale.append(str(readme.relative_to(ROOT)))
    if stale:
        print("role READMEs out of date with their argument specs (run python tests/lint/role_docs.py --write): "
              + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
