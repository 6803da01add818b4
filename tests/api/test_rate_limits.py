"""API rate limits: counted per key in Redis, set by the organization's tier;
a refusal is 429 in the API's error shape with Retry-After and X-RateLimit-*."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.security import api_keys, ip_allowlist
from tests.webhooks.fixtures import org_id

LIMITS = {"free": "3 per minute", "pro": "3 per minute", "enterprise": "5 per minute", "partner": "3 per minute"}


@dataclass
class Limited:
    app: object
    session: object

    def issue(self, slug: str) -> str:
        """The secret of a new read+write key of the organization `slug`."""
        created = api_keys.create(self.session, org_id(self.session, slug), f"{slug} key", ["read", "write"],
                                  actor_label="test")
        self.session.commit()
        return created.secret

    def test_client(self):
        return self.app.test_client()


@pytest.fixture
def limited(make_app) -> Limited:
    """An app with small limits (LIMITS) and the demo data."""
    return Limited(*make_app(API_RATE_LIMITS=LIMITS))


def get(limited: Limited, secret: str, path: str = "/api/v1/me"):
    return limited.test_client().get(path, headers={"Authorization": f"Bearer {secret}"},
                                     environ_base={"REMOTE_ADDR": "203.0.113.10"})


def test_the_fourth_request_of_a_pro_key_is_refused_in_the_api_shape(limited):
    secret = limited.issue("acme")  # Pro: 3 per minute here
    remaining = []
    for _ in range(3):
        response = get(limited, secret)
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "3"
        remaining.append(response.headers["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]

    refused = get(limited, secret)
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["type"] == "rate_limit_error" and "3 per 1 minute" in error["message"]
    retry_after = refused.headers["Retry-After"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
    assert f"Retry in {retry_after} s." in error["message"]
    assert refused.headers["X-RateLimit-Remaining"] == "0" and int(refused.headers["X-RateLimit-Reset"]) > 0


def test_limits_are_per_key_and_by_tier(limited):
    acme_first, acme_second, globex = limited.issue("acme"), limited.issue("acme"), limited.issue("globex")
    for _ in range(3):
        assert get(limited, acme_first).status_code == 200
    assert get(limited, acme_first).status_code == 429
    # Another key of the same organization has its own count.
    assert get(limited, acme_second).status_code == 200
    # Enterprise: 5 per minute.
    statuses = [get(limited, globex).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert get(limited, globex).headers["X-RateLimit-Limit"] == "5"


def test_a_refused_request_changes_nothing(limited):
    secret = limited.issue("acme")
    for _ in range(3):
        get(limited, secret, "/api/v1/ip_allowlist")
    response = limited.test_client().post(
        "/api/v1/ip_allowlist", json={"entries": [{"cidr": "203.0.113.0/24"}]},
        headers={"Authorization": f"Bearer {secret}"}, environ_base={"REMOTE_ADDR": "203.0.113.10"})
    assert response.status_code == 429
    assert ip_allowlist.entries(limited.session, org_id(limited.session, "acme")) == []
