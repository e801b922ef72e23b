import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
# The collection built and installed as users get it (tests/collection/installed.py), for the consumer test.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "tests" / "collection"))

from live import api, apps, core  # noqa: E402,F401  (fixtures)
