"""A user of one organization cannot see or change another's rows: 404, not 403."""
from sqlalchemy import select

from app.rental.models import Instance
from app.tenancy import get_owned, owned
from app.errors import NotFound
import pytest


def _globex_instance(db):
    return db.scalars(select(Instance).where(Instance.name == "llm-h100-1")).one()


def test_acme_user_asking_for_a_globex_instance_gets_404(demo, client, db):
    client.login("alice@acme.test")
    theirs = _globex_instance(db)
    for path in (f"/client/instances/{theirs.public_id}", f"/client/instances/{theirs.public_id}/edit",
                 f"/client/instances/{theirs.public_id}/row"):
        assert client.get(path).status_code == 404, path


def test_acme_user_cannot_rename_a_globex_instance(demo, client, db):
    client.login("alice@acme.test")
    theirs = _globex_instance(db)
    response = client.post_form(f"/client/instances/{theirs.public_id}", {"name": "pwned"},
                                token_from="/client/instances")
    assert response.status_code == 404
    db.refresh(theirs)
    assert theirs.name == "llm-h100-1"


def test_instance_list_shows_only_own_instances(demo, client):
    client.login("gina@globex.test")
    body = client.get("/client/instances").get_data(as_text=True)
    assert "llm-h100-1" in body and "training-a100-1" not in body


def test_scoping_helper_filters_by_organization(demo, db):
    acme_id = db.scalars(select(Instance.org_id).where(Instance.name == "training-a100-1")).one()
    names = {i.name for i in db.scalars(owned(Instance, acme_id))}
    assert names == {"training-a100-1", "inference-l4-1", "notebook-t4"}
    with pytest.raises(NotFound):
        get_owned(db, Instance, acme_id, _globex_instance(db).public_id)
    with pytest.raises(ValueError):
        owned(Instance, None)
