"""The chart's README.md is what helm-docs makes of README.md.gotmpl and values.yaml's "# --" comments, so its
values table never disagrees with the values (`make chart-docs` writes it)."""
import os
import pathlib
import subprocess

import yaml

CHARTS = pathlib.Path(__file__).resolve().parents[2] / "charts"


def test_the_chart_readme_is_what_helm_docs_makes_of_the_values():
    made = subprocess.run([os.environ["HELM_DOCS"], "--chart-search-root", str(CHARTS), "--dry-run",
                           "--log-level", "warning"], capture_output=True, text=True, check=True).stdout
    assert made == (CHARTS / "todo-list-hackathon" / "README.md").read_text(), "run make chart-docs"


def test_every_top_level_value_of_the_chart_is_in_its_readme_table():
    readme = (CHARTS / "todo-list-hackathon" / "README.md").read_text()
    values = yaml.safe_load((CHARTS / "todo-list-hackathon" / "values.yaml").read_text())
    for key in values:
        assert f"| {key}" in readme, f"{key} is not in the chart README's values table"
