"""Planted secrets never show: values given as an inventory gives them (an ansible-vault encrypted vars file holding
helm_release_values: JWT secret, database password; a values file holding an OpenAI key) go through site.yml in
check mode, and a vault-encrypted OpenAI key through playbooks/release.yml for real, both at -vvv: they appear in no
output and no file the run leaves in the caches. The real run deploys the planted key (the Secret holds it), and a
last run puts the inventory's value back."""
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import time

from live import NAMESPACE, RELEASE, run_playbook, secret_digest

ROOT = pathlib.Path(__file__).resolve().parents[3]
CACHE = pathlib.Path(os.environ.get("TODO_K8S_CACHE_DIR", "/var/cache/todo-k8s"))
CANARIES = {
    "jwt": "canary-jwt-5f1d2c9e8b7a6f4e3d2c1b0a9f8e7d6c",
    "database": "canary-db-0b1c2d3e4f5a6b7c8d9e",
    "openai": "canary-openai-9e8d7c6b5a4f3e2d1c0b",
    "values_file": "canary-values-file-4b3a2f1e0d9c8b7a",
}
PLANTED = {"backend": {"secret": {"jwtSecret": CANARIES["jwt"], "openaiApiKey": CANARIES["openai"]}},
           "postgresql": {"auth": {"password": CANARIES["database"]}}}


def run(playbook, *flags, **variables):
    result = run_playbook(playbook, *flags, **variables)
    return result.stdout + result.stderr, result.returncode


def leaked_in_files():
    folders = [CACHE / "helm-release", CACHE / "reports", pathlib.Path.home() / ".cache" / "todo-k8s",
               pathlib.Path.home() / ".local" / "share" / "todo-k8s"]
    return [str(p) for folder in folders if folder.exists() for p in folder.rglob("*")
            if p.is_file() and any(c.encode() in p.read_bytes() for c in CANARIES.values())]


def vault(tmp_path, name, variables):
    """A vars file encrypted with ansible-vault, and the flags that give it to a run."""
    password, path = tmp_path / "vault-password", tmp_path / name
    password.write_text("canary-vault-password\n")
    path.write_text(json.dumps(variables))
    encrypted = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-vault"), "encrypt",
                                "--vault-password-file", str(password), str(path)], capture_output=True, text=True)
    assert encrypted.returncode == 0, encrypted.stderr
    assert CANARIES["jwt"] not in path.read_text() and CANARIES["openai"] not in path.read_text()
    return ["-e", f"@{path}", "--vault-password-file", str(password)]


def test_planted_secrets_show_in_no_output_at_vvv_nor_in_any_file_left_behind(core, tmp_path):
    values_file = tmp_path / "values-secret.yaml"
    values_file.write_text(json.dumps({"backend": {"secret": {"openaiApiKey": CANARIES["values_file"]}}}))
    preview, rc = run("site.yml", "--check", "--diff", "-vvv",
                      *vault(tmp_path, "preview-vault.yml", {"helm_release_values": PLANTED}),
                      helm_release_values_files=["values-local.yaml", str(values_file)])
    assert rc == 0, preview[-4000:]
    assert "Secret/todo-list-backend-secret" in preview, "the check run saw the change it would make"

    planted_key = {"backend": {"secret": {"openaiApiKey": CANARIES["openai"]}}}
    deployed, rc = run("playbooks/release.yml", "-vvv",
                       *vault(tmp_path, "release-vault.yml", {"helm_release_values": planted_key}))
    assert rc == 0, deployed[-4000:]
    assert secret_digest(core, f"{RELEASE}-backend-secret", "OPENAI_API_KEY") == hashlib.sha256(
        CANARIES["openai"].encode()).hexdigest(), "the planted key was deployed"

    for name, output in (("site.yml --check --diff -vvv", preview), ("release.yml -vvv", deployed)):
        shown = [what for what, value in CANARIES.items() if value in output]
        assert shown == [], f"{name} printed the {', '.join(shown)} secret"
    assert leaked_in_files() == []

    restored, rc = run("playbooks/release.yml")
    assert rc == 0, restored[-4000:]
    assert secret_digest(core, f"{RELEASE}-backend-secret", "OPENAI_API_KEY") == hashlib.sha256(b"").hexdigest()
    # The pods the two rollouts replaced finish terminating (preStop sleep, grace period) before the next tests,
    # which compare the namespace's objects before and after a check run.
    deadline = time.monotonic() + 120
    while any(p.metadata.deletion_timestamp for p in core.list_namespaced_pod(NAMESPACE).items):
        assert time.monotonic() < deadline, "replaced pods still terminating after 120 s"
        time.sleep(2)
