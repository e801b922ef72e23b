"""The README's deploy run by the people it is for: a normal account (todo-ops: in the docker group, passwordless
sudo) with its own checkout, its own Python 3.13 (pyenv's, as the README asks), caches under ~/.cache/todo-k8s,
tools under ~/.local/bin and a Minikube profile of its own, started without --force. `make deploy` twice: the app
serves, the second run changes nothing, nothing under the account's home is root's, and the account wrote nothing
outside its home. Root's cache lends what root built (the Kubernetes build, minikube), read only.
Then what a normal account is told in one line: no sudo rights for a step that needs root, not in the docker group.

Runs as root (it makes the account, and removes it afterwards) after the targets of `make test` that build images
and clusters: on a machine where nothing needs root any more, the deploy asks for no privilege at all."""
import json
import os
import pathlib
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from playbook_output import recap

ROOT = pathlib.Path(__file__).resolve().parents[2]
ACCOUNT = "todo-ops"
PROFILE = "todo-ops"
SUDOERS = pathlib.Path(f"/etc/sudoers.d/{ACCOUNT}")
# What a login keeps of this machine's network settings (package indexes, proxies), nothing of root's own state.
PASSED_ON = [k for k in os.environ if k.startswith("PIP_") or k.lower() in ("http_proxy", "https_proxy", "no_proxy")
             or k in ("GOPROXY", "GOSUMDB", "GONOSUMDB", "GOFLAGS")]
DEPLOY = f"cd ~/todo-k8s && make deploy DEPLOY_ARGS='-v -e minikube_profile={PROFILE}'"
# Absent from this machine, small, with no dependency: what the become test installs and removes.
PROBE_PACKAGE = "hello"
# The cache this run of `make test` built into (root's, or `make test-cold`'s): the account borrows from it.
CACHE = os.environ.get("TODO_K8S_CACHE_DIR", "/var/cache/todo-k8s")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="makes an account: run as root (make test does)")


def sh(*command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def as_account(command, timeout=3600):
    """A login shell of the account, as `su - todo-ops` gives it, keeping only this machine's network settings and
    where root's builds are (TODO_K8S_PREBUILT_DIR: this run's cache)."""
    return sh("su", "-", ACCOUNT, "-w", ",".join(PASSED_ON + ["TODO_K8S_PREBUILT_DIR"]), "-c", command, timeout=timeout,
              env=dict(os.environ, TODO_K8S_PREBUILT_DIR=CACHE))


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


@pytest.fixture(scope="module")
def home():
    for package, command in (("sudo", "sudo"), ("patchelf", "patchelf")):
        if not shutil.which(command):
            installed = sh("apt-get", "install", "-y", "-qq", package, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            assert installed.returncode == 0, installed.stderr
    remove_account()
    made = sh("useradd", "--create-home", "--shell", "/bin/bash", "--groups", "docker", ACCOUNT)
    assert made.returncode == 0, made.stderr
    sudo_rule("NOPASSWD: ")
    home = pathlib.Path(pwd.getpwnam(ACCOUNT).pw_dir)

    # The account's own copy of the checkout (the files git tracks or would add), as a clone would give it.
    listed = sh("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout
    for rel in filter(None, listed.split("\0")):
        if (ROOT / rel).is_file():
            (home / "todo-k8s" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, home / "todo-k8s" / rel)
    # pyenv's Python 3.13, as the README asks for: this interpreter's, its library found next to it.
    python = home / ".pyenv" / "versions" / f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    shutil.copytree(sys.base_prefix, python, symlinks=True)
    patched = sh("patchelf", "--set-rpath", "$ORIGIN/../lib", str(python / "bin" / f"python3.{sys.version_info.minor}"))
    assert patched.returncode == 0, patched.stderr
    sh("chown", "-R", f"{ACCOUNT}:{ACCOUNT}", str(home))
    yield home
    if not os.environ.get("TODO_K8S_TEST_KEEP"):
        remove_account()


@pytest.fixture(scope="module")
def first_deploy(home):
    marker = home.parent / f".{ACCOUNT}-started"
    marker.touch()
    started = time.monotonic()
    result = as_account(DEPLOY)
    print(f"\nmake deploy as {ACCOUNT}: rc={result.returncode} in {time.monotonic() - started:.0f} s")
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "user-first-deploy.log").write_text(result.stdout + result.stderr)
    yield result, marker
    marker.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def kubeconfig(home):
    return home / ".kube" / "todo-k8s-local.yaml"


def test_a_normal_account_deploys_with_make_deploy_and_the_app_serves(first_deploy, kubeconfig):
    result, _ = first_deploy
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "TASK [common : Become root for a no-op]" not in output, "a step asked for root on a machine that needs none"
    start = output.split(f"TASK [minikube : Run minikube start for {PROFILE}]", 1)[-1].split("TASK [", 1)[0]
    assert "- start" in start and "--force" not in start, f"Minikube's start, as run: {start[-2000:]}"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    forward = subprocess.Popen(["kubectl", "--kubeconfig", str(kubeconfig), "-n", "todo-list", "port-forward",
                                "service/todo-list-frontend", f"{port}:80"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    account = json.dumps({"email": f"ops-{uuid.uuid4().hex[:8]}@example.com", "password": "correct-horse"}).encode()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "the app did not answer through port-forward within 60 s"
                time.sleep(1)
        registered = urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{port}/api/auth/register", data=account, headers={"Content-Type": "application/json"}),
            timeout=10)
    finally:
        forward.terminate()
    assert "<html" in page.lower()
    assert registered.status == 201, "the frontend reached the backend, which stored the account in its database"


def test_the_second_make_deploy_as_the_account_changes_nothing(first_deploy):
    assert first_deploy[0].returncode == 0
    result = as_account(DEPLOY)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    assert recap(result.stdout)["changed"] == 0, re.findall(r"^changed: .*", result.stdout, re.MULTILINE)


def test_nothing_under_the_accounts_home_belongs_to_root(first_deploy, home):
    assert first_deploy[0].returncode == 0
    others = sh("find", str(home), "-xdev", "!", "-user", ACCOUNT).stdout.split()
    assert others == []


def test_the_account_wrote_nothing_outside_its_home(first_deploy, home):
    assert first_deploy[0].returncode == 0
    _, marker = first_deploy
    # Docker's storage holds the containers' files, owned by whatever uids their images use: not the account's writes.
    pruned = ["/proc", "/sys", "/dev", "/run", "/var/lib/docker", "/var/lib/containerd", str(home)]
    prune = [a for p in pruned for a in ("-path", p, "-o")][:-1]
    found = sh("find", "/", "-xdev", "(", *prune, ")", "-prune", "-o", "-user", ACCOUNT, "-print").stdout.split()
    # /tmp holds what programs leave for the session: Minikube writes its logs and locks there, whoever runs it.
    assert [p for p in found if not p.startswith("/tmp/")] == []


# The refusal tests run the account's own Ansible (its virtualenv, made by its first make deploy) on one role.
DOCKER_ENGINE = "cd ~/todo-k8s && .venv/bin/ansible localhost -m include_role -a name=docker_engine"


def installed(package):
    return sh("dpkg-query", "--show", "--showformat=${db:Status-Status}", package).stdout == "installed"


def sudo_rule(rule):
    if rule is None:
        SUDOERS.unlink(missing_ok=True)
    else:
        SUDOERS.write_text(f"{ACCOUNT} ALL=(ALL:ALL) {rule}ALL\n")
        SUDOERS.chmod(0o440)


def test_a_step_that_needs_root_is_refused_in_one_line_without_sudo_rights_and_runs_with_them(first_deploy):
    """common's packages entry point, as every role's package step runs it: refused without sudo rights, run with
    a sudo that asks a password (the password given as -K gives it) and with a passwordless one."""
    if installed(PROBE_PACKAGE):
        pytest.skip(f"{PROBE_PACKAGE} is installed on this machine: nothing would need root")
    password = uuid.uuid4().hex
    assert sh("chpasswd", input=f"{ACCOUNT}:{password}\n").returncode == 0
    install = ("cd ~/todo-k8s && .venv/bin/ansible localhost -m include_role -a 'name=common tasks_from=packages' "
               f"-e '{{\"common_packages\": [\"{PROBE_PACKAGE}\"], \"common_become_for\": \"install {PROBE_PACKAGE}\"}}'")
    try:
        sudo_rule(None)
        refused = as_account(install, timeout=300)
        assert refused.returncode != 0 and not installed(PROBE_PACKAGE)
        message = " ".join(refused.stdout.split())
        assert f"To install {PROBE_PACKAGE}, this run must become root and cannot" in message, refused.stdout[-3000:]
        assert "run again with -K (--ask-become-pass" in message

        sudo_rule("")
        asked = as_account(f"{install} -e ansible_become_password={password}", timeout=600)
        assert asked.returncode == 0 and installed(PROBE_PACKAGE), asked.stdout[-3000:]
        assert sh("apt-get", "remove", "-y", "-qq", PROBE_PACKAGE).returncode == 0

        sudo_rule("NOPASSWD: ")
        done = as_account(install, timeout=600)
        assert done.returncode == 0 and installed(PROBE_PACKAGE), done.stdout[-3000:]
    finally:
        sudo_rule("NOPASSWD: ")
        sh("apt-get", "remove", "-y", "-qq", PROBE_PACKAGE)


def test_an_account_outside_the_docker_group_is_told_how_to_join_it(first_deploy):
    assert sh("gpasswd", "--delete", ACCOUNT, "docker").returncode == 0
    try:
        result = as_account(DOCKER_ENGINE, timeout=300)
    finally:
        sh("gpasswd", "--add", ACCOUNT, "docker")
    assert result.returncode != 0
    assert (f"{ACCOUNT} is not in the docker group, so Docker's socket /var/run/docker.sock refuses it: run "
            f"`sudo usermod -aG docker {ACCOUNT}`") in " ".join(result.stdout.split()), result.stdout[-3000:]


def test_an_account_in_the_docker_group_that_the_socket_refuses_is_told_what_to_check(first_deploy):
    socket_path = pathlib.Path("/var/run/docker.sock")
    mode = socket_path.stat().st_mode & 0o777
    socket_path.chmod(0o600)  # root's clients are unaffected; only the group loses the socket, for this one run
    try:
        result = as_account(DOCKER_ENGINE, timeout=300)
    finally:
        socket_path.chmod(mode)
    assert result.returncode != 0
    assert (f"dockerd runs but its socket /var/run/docker.sock does not answer to {ACCOUNT}, who is in the docker group: "
            "check `ls -l /var/run/docker.sock`") in " ".join(result.stdout.split()), result.stdout[-3000:]
