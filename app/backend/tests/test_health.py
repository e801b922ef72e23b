"""/health (liveness, startup) and /health/ready (readiness: the database answers)."""
from conftest import free_port


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
