"""Stand-in for ansible-test's pip bootstrap script where ci-files.testing.ansible.com cannot be reached.

ansible-test makes each sanity test's virtualenv without pip, then runs ~/.ansible/test/cache/get_pip_<version>.py
in it as `python get_pip.py --disable-pip-version-check pip==<version> --no-setuptools --no-wheel`, downloading that
script first when it is absent. mk/collection.mk puts this file there only when the download fails: it installs the
pip bundled with Python (ensurepip), then the exact pip ansible-test asked for from the package index.
"""

import ensurepip
import subprocess
import sys

ensurepip.bootstrap()
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], check=True)
