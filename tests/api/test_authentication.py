"""API keys: missing, wrong, revoked and malformed keys are refused; scopes are enforced."""
import pytest

from app.security import api_keys


def _error(response):
    return response.get_json()["error"]


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "mtx_sk_plain"])
def test_missing_key(client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.http.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert _error(response)["type"] == "authentication_error"
    assert "Missing API key" in _error(response)["message"]


def test_wrong_key(client, issue_key):
    issue_key()
    response = client.http.get("/api/v1/me", headers={"Authorization": "Bearer mtx_sk_" + "x" * 40})
    assert response.status_code == 401 and _error(response)["message"] == "Invalid API key."


def test_revoked_key(client, issue_key, demo):
    key, secret = issue_key()
    assert client.http.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    api_keys.revoke(demo, key, actor_label="test")
    demo.commit()
    response = client.http.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401 and "revoked" in _error(response)["message"]


def test_me_describes_the_organization_and_key(api):
    body = api("GET", "/api/v1/me").get_json()
    assert body["organization"]["slug"] == "acme" and body["organization"]["tier"] == "pro"
    assert body["organization"]["preferred_currency"] == "usd"
    assert body["organization"]["id"].startswith("org_")
    assert body["api_key"]["id"].startswith("key_") and body["api_key"]["scopes"] == ["read", "write"]


def test_secret_is_stored_hashed_and_last_use_recorded(client, issue_key, demo):
    key, secret = issue_key()
    assert secret.startswith("mtx_sk_") and len(secret) == 47
    assert secret not in (key.secret_hash, key.display_prefix) and secret.startswith(key.display_prefix)
    client.http.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"},
                    environ_base={"REMOTE_ADDR": "198.51.100.20"})
    demo.refresh(key)
    assert key.last_used_at is not None and key.last_used_ip == "198.51.100.20"


def test_read_only_key_cannot_write(client, issue_key, demo):
    _, secret = issue_key(scopes=("read",))
    headers = {"Authorization": f"Bearer {secret}"}
    instance_id = client.http.get("/api/v1/instances", headers=headers).get_json()["data"][0]["id"]
    response = client.http.patch(f"/api/v1/instances/{instance_id}", json={"name": "x"}, headers=headers)
    assert response.status_code == 403
    assert _error(response) == {"type": "permission_error", "message": "This API key lacks the 'write' scope."}


def test_webhooks_only_key_cannot_read(client, issue_key):
    _, secret = issue_key(scopes=("webhooks",))
    response = client.http.get("/api/v1/instances", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403


def test_key_creation_refuses_bad_input(demo, issue_key):
    from app.errors import DomainError

    with pytest.raises(DomainError) as error:
        issue_key(scopes=("admin",))
    assert error.value.field == "scopes"
    with pytest.raises(DomainError) as error:
        issue_key(scopes=())
    assert error.value.field == "scopes"
