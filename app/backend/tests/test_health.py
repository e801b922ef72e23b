"""/health (liveness, startup) and /health/ready (readiness: the database answers)."""
import os
import signal
import subprocess
import time

import httpx
import psycopg

from conftest import PostgresCluster, free_port


def test_health_answers_ok(client):
    answer = client.get("/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_ready_answers_200_when_the_database_answers(client):
    answer = client.get("/health/ready")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_process_serves_health_but_is_not_ready_while_the_database_is_down(backend_env, start_backend):
    env = dict(backend_env, DATABASE_URL=f"postgresql://todo:pw@127.0.0.1:{free_port()}/todo")
    backend = start_backend(env)
    backend.wait_ready("/health")
    import httpx

    ready = httpx.get(backend.base + "/health/ready", timeout=5)
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable" and "database" in ready.json()["reason"]
    assert "pw" not in backend.output()


def test_ready_turns_503_when_the_database_goes_away_and_back_to_200(client, postgres):
    dbname = client.app.state.settings.database_url.database
    with postgres.admin() as admin:
        admin.execute(f'ALTER DATABASE "{dbname}" WITH ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))
        try:
            answer = client.get("/health/ready")
            assert answer.status_code == 503 and "database" in answer.json()["reason"]
            assert client.get("/health").status_code == 200
        finally:
            admin.execute(f'ALTER DATABASE "{dbname}" WITH ALLOW_CONNECTIONS true')
    assert client.get("/health/ready").status_code == 200


def _cluster_pids(cluster: PostgresCluster) -> list[int]:
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    return [postmaster, *map(int, children)]


def test_ready_answers_503_within_the_probe_timeout_while_the_database_is_frozen(backend_env, start_backend):
    """A database that accepts connections and never answers (every PostgreSQL process stopped, as a hung host or
    a storage stall looks): /health/ready must still answer inside the probe's 3 s timeout, each time."""
    cluster = PostgresCluster()
    cluster.start()
    try:
        with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres",
                             autocommit=True) as admin:
            admin.execute("CREATE DATABASE frozen")
        backend = start_backend(dict(backend_env, DATABASE_URL=cluster.url("frozen")))
        backend.wait_ready()
        pids = _cluster_pids(cluster)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            for _ in range(3):  # later probes find the first check still stuck: they must not wait longer
                answer = httpx.get(backend.base + "/health/ready", timeout=3)  # the probe's timeoutSeconds
                assert answer.status_code == 503, answer.text
                assert "database" in answer.json()["reason"]
            assert httpx.get(backend.base + "/health", timeout=3).status_code == 200
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 15
        while httpx.get(backend.base + "/health/ready", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "not ready again after the database thawed"
            time.sleep(0.2)
    finally:
        cluster.stop()
