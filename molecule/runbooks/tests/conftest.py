import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

from live import api, apps, core  # noqa: E402,F401  (fixtures)
