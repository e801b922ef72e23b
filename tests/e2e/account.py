"""The account the README is for: todo-ops, in the docker group with passwordless sudo, its own checkout, its own
Python 3.13 (pyenv's, as the README asks), caches under ~/.cache/todo-k8s, tools under ~/.local/bin and a Minikube
profile of its own. Root's cache lends what root built (the Kubernetes build, minikube), read only.

The suite runs as root (it makes the account, and removes it afterwards) after the targets of `make test` that build
images and clusters: on a machine where nothing needs root any more, the deploy asks for no privilege at all."""
import json
import os
import pathlib
import pwd
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
ACCOUNT = "todo-ops"
# The account's Minikube profile (TODO_K8S_TEST_PROFILE): never the profile a person on this machine uses.
PROFILE = os.environ.get("TODO_K8S_TEST_PROFILE", "todo-ops")
NAMESPACE = RELEASE = "todo-list"
SUDOERS = pathlib.Path(f"/etc/sudoers.d/{ACCOUNT}")
LOGS = ROOT / "build" / "e2e"
# What a login keeps of this machine's network settings (package indexes, proxies), nothing of root's own state.
PASSED_ON = [k for k in os.environ if k.startswith("PIP_") or k.lower() in ("http_proxy", "https_proxy", "no_proxy")
             or k in ("GOPROXY", "GOSUMDB", "GONOSUMDB", "GOFLAGS")]
# The cache this run of `make test` built into (root's, or `make test-cold`'s): the account borrows from it.
CACHE = os.environ.get("TODO_K8S_CACHE_DIR", "/var/cache/todo-k8s")


def sh(*command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def as_account(command, timeout=3600):
    """A login shell of the account, as `su - todo-ops` gives it, keeping only this machine's network settings and
    where root's builds are (TODO_K8S_PREBUILT_DIR: this run's cache)."""
    return sh("su", "-", ACCOUNT, "-w", ",".join(PASSED_ON + ["TODO_K8S_PREBUILT_DIR"]), "-c", command, timeout=timeout,
              env=dict(os.environ, TODO_K8S_PREBUILT_DIR=CACHE))


def site(name, *extra_vars, playbook="site.yml"):
    """The account runs a playbook of its checkout with the local inventory on its profile (its own virtualenv, made
    by its first `make deploy`); returns (completed process, seconds), the output kept in build/e2e/NAME.log."""
    variables = [{"minikube_profile": PROFILE}, *extra_vars]
    command = "cd ~/todo-k8s && ANSIBLE_NOCOLOR=1 .venv/bin/ansible-playbook -i inventories/local " + " ".join(
        f"-e '{json.dumps(v)}'" for v in variables) + f" {playbook}"
    started = time.monotonic()
    result = as_account(command)
    seconds = time.monotonic() - started
    log(name, result)
    print(f"\n{playbook} ({name}) as {ACCOUNT}: rc={result.returncode} in {seconds:.0f} s, log {LOGS / (name + '.log')}")
    return result, seconds


def helm_revision(kubeconfig):
    """The release's newest Helm revision."""
    history = sh("helm", "--kubeconfig", str(kubeconfig), "history", RELEASE, "-n", NAMESPACE, "-o", "json")
    assert history.returncode == 0, history.stderr
    return max(r["revision"] for r in json.loads(history.stdout))


def log(name, result):
    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / f"{name}.log").write_text(result.stdout + result.stderr)


def sudo_rule(rule):
    """The account's sudoers line: None removes it, "" asks a password, "NOPASSWD: " does not."""
    if rule is None:
        SUDOERS.unlink(missing_ok=True)
    else:
        SUDOERS.write_text(f"{ACCOUNT} ALL=(ALL:ALL) {rule}ALL\n")
        SUDOERS.chmod(0o440)


def remove_account():
    if sh("id", ACCOUNT).returncode == 0:
        minikube = pathlib.Path(pwd.getpwnam(ACCOUNT).pw_dir) / ".local" / "bin" / "minikube"
        if minikube.exists():
            as_account(f"{minikube} delete --profile {PROFILE}", timeout=300)
        sh("pkill", "-KILL", "-u", ACCOUNT)
        # What it left in /tmp (Minikube's logs and locks), which userdel does not remove.
        sh("find", "/tmp", "-xdev", "-user", ACCOUNT, "-delete")
        sh("userdel", "--remove", ACCOUNT)
    sh("docker", "rm", "--force", PROFILE)
    sh("docker", "network", "rm", PROFILE)
    sh("docker", "volume", "rm", PROFILE)
    SUDOERS.unlink(missing_ok=True)


def make_account():
    """The account, in the docker group with passwordless sudo, with its copy of the checkout (the files git tracks
    or would add, as a clone gives them) and pyenv's Python 3.13 (this interpreter's, its library found next to it)."""
    for package, command in (("sudo", "sudo"), ("patchelf", "patchelf")):
        if not shutil.which(command):
            installed = sh("apt-get", "install", "-y", "-qq", package, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            assert installed.returncode == 0, installed.stderr
    remove_account()
    made = sh("useradd", "--create-home", "--shell", "/bin/bash", "--groups", "docker", ACCOUNT)
    assert made.returncode == 0, made.stderr
    sudo_rule("NOPASSWD: ")
    home = pathlib.Path(pwd.getpwnam(ACCOUNT).pw_dir)
    listed = sh("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout
    for rel in filter(None, listed.split("\0")):
        if (ROOT / rel).is_file():
            (home / "todo-k8s" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, home / "todo-k8s" / rel)
    python = home / ".pyenv" / "versions" / f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    shutil.copytree(sys.base_prefix, python, symlinks=True)
    patched = sh("patchelf", "--set-rpath", "$ORIGIN/../lib", str(python / "bin" / f"python3.{sys.version_info.minor}"))
    assert patched.returncode == 0, patched.stderr
    sh("chown", "-R", f"{ACCOUNT}:{ACCOUNT}", str(home))
    return home
