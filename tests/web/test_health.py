"""/healthz says the process is alive; /readyz checks the database and Redis for real."""
from tests.conftest import free_port, make_test_app


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_names_redis_when_it_is_down(database_url, tmp_path):
    app = make_test_app(database_url, f"redis://127.0.0.1:{free_port()}/0", tmp_path)
    response = app.test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["failed"] == ["redis"] and body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unreachable")


def test_readyz_names_the_database_when_it_is_down(redis_url, tmp_path):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    response = make_test_app(url, redis_url, tmp_path).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failed"] == ["database"]
