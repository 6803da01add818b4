"""Errors: a 404 in the portal's own style, a 500 that says so, never a stack trace."""
import pytest


def test_unknown_portal_page_is_a_404_in_the_portal_style(demo, client):
    client.login("alice@acme.test")
    response = client.get("/client/no-such-page")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Page not found" in body and "portal-client" in body and "Instances" in body


def test_unknown_page_for_anonymous_user_is_a_plain_404(client):
    response = client.get("/definitely/not/here")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_method_not_allowed_gets_a_page(client):
    response = client.http.put("/login")
    assert response.status_code == 405
    assert "Method not allowed" in response.get_data(as_text=True)


@pytest.fixture
def exploding_app(app):
    @app.route("/client/explode")
    def explode():
        raise RuntimeError("secret internals: password=hunter2")

    @app.route("/api/v1/explode")
    def api_explode():
        raise RuntimeError("secret internals")

    return app


def test_unexpected_error_shows_a_500_page_with_a_reference_not_a_trace(exploding_app, client, caplog):
    response = client.get("/client/explode")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in body and response.headers["X-Request-ID"] in body
    assert "Traceback" not in body and "hunter2" not in body
    assert any(response.headers["X-Request-ID"] in rec.getMessage() for rec in caplog.records)


def test_unexpected_api_error_is_json(exploding_app, client):
    response = client.get("/api/v1/explode")
    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["type"] == "api_error" and error["request_id"] == response.headers["X-Request-ID"]
    assert "secret" not in response.get_data(as_text=True)
