"""The README's deploy as the people it is for (account.py): `make deploy` as a normal account serves the app, the
second changes nothing, nothing under the account's home is root's, and the account wrote nothing outside its home.
Then what a normal account is told in one line: no sudo rights for a step that needs root, not in the docker group."""
import pathlib
import uuid

import pytest
from account import ACCOUNT, PROFILE, as_account, helm_revision, sh, sudo_rule
from conftest import DEPLOY
from playbook_output import recap

# Absent from this machine, small, with no dependency: what the become test installs and removes.
PROBE_PACKAGE = "hello"


def test_make_deploy_as_the_account_asks_for_no_root_and_starts_minikube_without_force(deployed):
    """(test_site.py: the app it deployed serves a person in a browser.)"""
    output = deployed.stdout + deployed.stderr
    assert "TASK [common : Become root for a no-op]" not in output, "a step asked for root on a machine that needs none"
    start = output.split(f"TASK [minikube : Run minikube start for {PROFILE}]", 1)[-1].split("TASK [", 1)[0]
    assert "- start" in start and "--force" not in start, f"Minikube's start, as run: {start[-2000:]}"


def test_the_second_make_deploy_as_the_account_changes_nothing_and_adds_no_helm_revision(deployed, kubeconfig):
    before = helm_revision(kubeconfig)
    result = as_account(DEPLOY)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    assert recap(result.stdout)["changed"] == 0, [l for l in result.stdout.splitlines() if l.startswith("changed:")]
    assert helm_revision(kubeconfig) == before


def test_nothing_under_the_accounts_home_belongs_to_root(deployed, home):
    others = sh("find", str(home), "-xdev", "!", "-user", ACCOUNT).stdout.split()
    assert others == []


def test_the_account_wrote_nothing_outside_its_home(deployed, home):
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


def test_a_step_that_needs_root_is_refused_in_one_line_without_sudo_rights_and_runs_with_them(deployed):
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


def test_an_account_outside_the_docker_group_is_told_how_to_join_it(deployed):
    assert sh("gpasswd", "--delete", ACCOUNT, "docker").returncode == 0
    try:
        result = as_account(DOCKER_ENGINE, timeout=300)
    finally:
        sh("gpasswd", "--add", ACCOUNT, "docker")
    assert result.returncode != 0
    assert (f"{ACCOUNT} is not in the docker group, so Docker's socket /var/run/docker.sock refuses it: run "
            f"`sudo usermod -aG docker {ACCOUNT}`") in " ".join(result.stdout.split()), result.stdout[-3000:]


def test_an_account_in_the_docker_group_that_the_socket_refuses_is_told_what_to_check(deployed):
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
