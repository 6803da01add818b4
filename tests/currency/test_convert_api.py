"""POST /api/v1/currency/convert: integer minor units in, the converted amount
and the exact rate out; bad input is refused naming the field."""
from __future__ import annotations

import pytest
from sqlalchemy import delete

from app.currency import service
from app.currency.models import ExchangeRate

CONVERT = "/api/v1/currency/convert"


@pytest.fixture
def convert(api, rates):
    def call(body):
        return api("POST", CONVERT, json=body)
    return call


def test_usd_to_eur(convert):
    response = convert({"amount": 1000, "from": "usd", "to": "EUR"})

    assert response.status_code == 200
    assert response.get_json() == {"amount": 920, "currency": "eur", "from": {"amount": 1000, "currency": "usd"},
                                   "rate": "0.92", "rate_source": "file:rates.json",
                                   "rate_as_of": "2026-11-30T16:00:00Z"}


def test_cross_rates_zero_decimals_and_crypto(convert, rates):
    service.set_rate(rates, "GBP", "0.8", actor_label="ada@matrix.test")
    rates.commit()

    eur_gbp = convert({"amount": 100_00, "from": "eur", "to": "gbp"}).get_json()
    assert (eur_gbp["amount"], eur_gbp["rate"]) == (86_96, "0.869565217391304347826087")
    assert eur_gbp["rate_source"] == "file:rates.json + admin:ada@matrix.test"
    assert eur_gbp["rate_as_of"] == "2026-11-30T16:00:00Z"  # the older of the two rates
    assert convert({"amount": 1234, "from": "usd", "to": "jpy"}).get_json()["amount"] == 1851  # ¥1,851
    btc = convert({"amount": 100_000_00, "from": "usd", "to": "btc"}).get_json()
    assert (btc["amount"], btc["rate"]) == (105_000_000, "0.0000105")
    assert convert({"amount": 0, "from": "usd", "to": "usdt"}).get_json()["amount"] == 0


@pytest.mark.parametrize("body, field, message", [
    ({"amount": 10.5, "from": "usd", "to": "eur"}, "amount", "valid integer"),
    ({"amount": "100", "from": "usd", "to": "eur"}, "amount", "valid integer"),
    ({"amount": 1000.0, "from": "usd", "to": "eur"}, "amount", "valid integer"),
    ({"amount": -1, "from": "usd", "to": "eur"}, "amount", "greater than or equal to 0"),
    ({"amount": 2**63, "from": "usd", "to": "eur"}, "amount", "less than or equal to"),
    ({"from": "usd", "to": "eur"}, "amount", "Field required"),
    ({"amount": 1000, "from": "xyz", "to": "eur"}, "from", "Unsupported currency 'xyz'"),
    ({"amount": 1000, "from": "usd", "to": "kwd"}, "to", "Unsupported currency 'kwd'"),
    ({"amount": 1000, "from": "usd", "to": 978}, "to", "valid string"),
    ({"amount": 1000, "from": "usd"}, "to", "Field required"),
    ({"amount": 1000, "from": "usd", "to": "eur", "rate": "1"}, "rate", "Extra inputs"),
    ({"amount": 2**62, "from": "btc", "to": "usdt"}, "amount", "too large to convert to USDT"),
])
def test_bad_input_is_refused_naming_the_field(convert, body, field, message):
    response = convert(body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["type"], error["field"]) == ("invalid_request_error", field)
    assert message in error["message"]


def test_a_currency_without_a_rate_yet_names_the_field(api, demo):
    demo.execute(delete(ExchangeRate).where(ExchangeRate.currency == "EUR"))  # whatever the demo seeded
    demo.commit()
    error = api("POST", CONVERT, json={"amount": 1000, "from": "usd", "to": "eur"}).get_json()["error"]
    assert error["field"] == "to" and error["message"].startswith("No exchange rate for EUR yet")


def test_a_read_key_suffices_and_no_key_is_refused(client, issue_key, rates):
    _, secret = issue_key(scopes=("read",))
    ok = client.http.post(CONVERT, json={"amount": 1000, "from": "usd", "to": "eur"},
                          headers={"Authorization": f"Bearer {secret}"})
    assert ok.status_code == 200
    assert client.http.post(CONVERT, json={"amount": 1000, "from": "usd", "to": "eur"}).status_code == 401
    _, hooks_only = issue_key(scopes=("webhooks",))
    refused = client.http.post(CONVERT, json={"amount": 1000, "from": "usd", "to": "eur"},
                               headers={"Authorization": f"Bearer {hooks_only}"})
    assert refused.status_code == 403


def test_openapi_lists_the_operation_with_its_shapes(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/currency/convert"]["post"]
    assert operation["x-required-scope"] == "read"
    schemas = document["components"]["schemas"]
    assert set(schemas["ConvertRequest"]["properties"]) == {"amount", "from", "to"}
    assert {"amount", "currency", "from", "rate", "rate_source", "rate_as_of"} <= \
        set(schemas["ConversionOut"]["properties"])
