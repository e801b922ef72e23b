"""schemathesis (pinned in requirements-dev.txt) against the real process on its real database: every check, every
phase (examples, coverage, fuzzing, stateful), configured by schemathesis.toml. Zero server errors, zero schema
violations; the run's counts are printed for the record."""
import pathlib
import subprocess
import sys

import httpx

from conftest import BACKEND, register_and_login
from test_chat import FakeOpenAI

SCHEMATHESIS = pathlib.Path(sys.executable).with_name("schemathesis")


def test_schemathesis_finds_no_server_error_and_no_schema_violation(backend_env, start_backend, tmp_path):
    openai = FakeOpenAI()  # chat enabled, so /api/chat is fuzzed through to its upstream too
    backend = start_backend(dict(backend_env, OPENAI_API_KEY="sk-fuzz", OPENAI_BASE_URL=openai.base_url))
    backend.wait_ready()
    with httpx.Client(base_url=backend.base, timeout=10) as http:
        token = register_and_login(http, "fuzzer@example.com")["Authorization"]
    done = subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(BACKEND / "schemathesis.toml"), "run", f"{backend.base}/openapi.json",
         "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful", "-H", f"Authorization: {token}",
         "--report", "junit", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=900)  # its example database goes there too
    openai.close()
    print(done.stdout[-3000:])
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-2000:]
    assert "Traceback" not in backend.output()
