"""The offline PostgreSQL image on a kept data volume, as the chart's StatefulSet runs it across restarts."""
import uuid

import pytest

from conftest import docker, wait_postgres

ENV = {"POSTGRES_USER": "todo", "POSTGRES_DB": "todo"}


def can_log_in(name: str, password: str) -> bool:
    """A TCP login (scram-sha-256, as the backend logs in), not the trusted local socket."""
    done = docker("exec", "-e", f"PGPASSWORD={password}", name, "psql", "-h", "127.0.0.1", "-U", "todo", "-d", "todo",
                  "-tAc", "SELECT count(*) FROM kept", check=False)
    return done.returncode == 0 and done.stdout.strip() == "1"


@pytest.fixture
def volume():
    name = f"todo-images-pgdata-{uuid.uuid4().hex[:8]}"
    docker("volume", "create", name)
    yield name
    docker("volume", "rm", "-f", name, check=False)


def test_a_changed_password_opens_the_kept_data_after_a_restart_and_the_old_one_no_longer_does(images, containers,
                                                                                            volume):
    mount = f"{volume}:/var/lib/postgresql/data"
    first = containers.run(images["postgresql"], "db", restricted=False, volume=mount,
                           env={**ENV, "POSTGRES_PASSWORD": "old-password-1"})
    wait_postgres(containers, first)
    docker("exec", first, "psql", "-h", "/var/run/postgresql", "-U", "todo", "-d", "todo", "-c",
           "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('written before the rotation')")
    assert can_log_in(first, "old-password-1")
    docker("stop", first)

    second = containers.run(images["postgresql"], "db", restricted=False, volume=mount,
                            env={**ENV, "POSTGRES_PASSWORD": "new-password-2"})
    wait_postgres(containers, second)
    assert can_log_in(second, "new-password-2"), containers.logs(second)
    assert not can_log_in(second, "old-password-1")
    assert "new-password-2" not in containers.logs(second)
