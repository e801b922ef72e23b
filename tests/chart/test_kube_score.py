"""kube-score (zegl/kube-score, built from its Go module by `make test-chart`) on the rendered production chart: every
critical finding is one the README's "kube-score" table justifies, and the table lists no finding that is gone."""
import json
import os
import pathlib
import re
import subprocess

from conftest import ENVIRONMENTS, helm_template

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
KUBE_SCORE = os.environ.get("KUBE_SCORE", "")


def justified() -> set[tuple[str, str]]:
    """(object, check ID) pairs from the README table rows `| todo-list-x | check-id | why |`."""
    section = README.read_text().split("<!-- kube-score -->")[1]
    return {(obj, check) for obj, check in re.findall(r"^\| `([a-z-]+)` \| `([a-z-]+)` \|", section, re.M)}


def critical(manifests: pathlib.Path) -> set[tuple[str, str]]:
    done = subprocess.run([KUBE_SCORE, "score", str(manifests), "--output-format", "json"],
                          capture_output=True, text=True, check=False)
    assert done.returncode in (0, 1), done.stderr  # 1: there are critical findings
    return {(obj["object_name"].rsplit("/", 1)[1], check["check"]["id"]) for obj in json.loads(done.stdout)
            for check in obj["checks"] if check["grade"] == 1 and not check["skipped"]}


def test_every_critical_kube_score_finding_on_the_production_chart_is_justified_in_the_readme(tmp_path):
    assert KUBE_SCORE and os.access(KUBE_SCORE, os.X_OK), "no kube-score: run `make test-chart`, which builds it"
    rendered = helm_template(ENVIRONMENTS["production"])
    assert rendered.returncode == 0, rendered.stderr
    (tmp_path / "production.yaml").write_text(rendered.stdout)
    found = critical(tmp_path / "production.yaml")
    assert found, "kube-score found nothing at all: it did not read the manifests"
    assert found - justified() == set(), "critical findings the README does not justify"
    assert justified() - found == set(), "the README justifies findings kube-score no longer reports"
