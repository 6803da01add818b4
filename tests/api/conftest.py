import pytest
from sqlalchemy import select

from app.accounts.models import Organization
from app.security import api_keys


@pytest.fixture
def issue_key(demo):
    """Create an API key for an organization slug; returns (ApiKey, secret)."""
    def issue(slug="acme", scopes=("read", "write")):
        org = demo.scalars(select(Organization).where(Organization.slug == slug)).one()
        created = api_keys.create(demo, org.id, f"{slug} test key", scopes, actor_label="test")
        demo.commit()
        return created.key, created.secret
    return issue


@pytest.fixture
def api(client, issue_key):
    """A caller with acme's read+write key: api("GET", path, json=...)."""
    _, secret = issue_key()

    def call(method, path, **kwargs):
        headers = {"Authorization": f"Bearer {secret}", **kwargs.pop("headers", {})}
        return client.http.open(path, method=method, headers=headers, **kwargs)
    return call
