import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

from live import api, apps, core  # noqa: E402,F401  (fixtures)
from production_site import at_the_hpa_minimum, report, secrets  # noqa: E402,F401  (fixtures)
