"""API v1: currency conversion at the rates in force (read scope; nothing is written)."""
from __future__ import annotations

from app.currency import service
from app.money import Money
from app.payments.amounts import currency_code
from app.web.api.currency_schemas import AmountOut, ConversionOut, ConvertRequest
from app.web.api.registry import api_route, respond
from app.web.request_context import db_session


@api_route("/currency/convert", "POST", summary="Convert an amount between currencies at the rates in force",
           scope="read", body=ConvertRequest, response=ConversionOut)
def convert_currency(body: ConvertRequest):
    source = Money(body.amount, currency_code(body.from_, "from"))
    conversion = service.convert(db_session(), source, body.to, from_field="from", to_field="to")
    return respond(ConversionOut(
        amount=conversion.amount.amount, currency=conversion.amount.currency.lower(),
        from_=AmountOut(amount=source.amount, currency=source.currency.lower()),
        rate=service.rate_text(conversion.rate), rate_source=conversion.source, rate_as_of=conversion.as_of))
