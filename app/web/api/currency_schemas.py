"""Request and response shapes of `POST /api/v1/currency/convert`.

Amounts are `StrictInt` minor units, 0 or more: 10.5, 1000.0 and "1000" are
refused naming `amount`, as everywhere in the API. Codes are checked by the
currency service (supported, with a rate), whose refusals name `from` / `to`.
The rate is a string so that it stays exact.
"""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from app.money import MAX_MINOR_UNITS, SUPPORTED_CURRENCIES

_CURRENCIES = ", ".join(code.lower() for code in SUPPORTED_CURRENCIES)


class ConvertRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    amount: StrictInt = Field(ge=0, le=MAX_MINOR_UNITS, description="minor units of `from` (1000 = 10.00 USD)")
    from_: StrictStr = Field(alias="from", description=f"ISO 4217, any case: {_CURRENCIES}")
    to: StrictStr = Field(description="the currency to convert to, same codes")


class AmountOut(BaseModel):
    amount: int = Field(description="minor units")
    currency: str = Field(description="ISO 4217, lower case")


class ConversionOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    amount: int = Field(description="the result in minor units of `currency`, rounded half up once")
    currency: str = Field(description="the target currency, lower case")
    from_: AmountOut = Field(alias="from", description="what was converted")
    rate: str = Field(description="units of `currency` per 1 unit of `from`, exact as applied (a decimal string)")
    rate_source: str = Field(description="where the rate came from, e.g. file:rates.json or admin:<email>")
    rate_as_of: datetime = Field(description="when the source quoted it (the older part of a cross rate)")
