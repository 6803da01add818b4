"""API v1: what tax applies to the calling organization, and its exemption certificates.

Thin: validate → tax services → serialize. A calculation is for this moment
and writes nothing; exemptions are read only through the tenancy helpers.
"""
from __future__ import annotations

from flask import g

from app import clock
from app.errors import DomainError
from app.money import Money
from app.pagination import paginate
from app.payments.amounts import currency_code
from app.tax import exemptions, service as tax
from app.tax.models import TaxExemption
from app.tenancy import owned
from app.web.api.auth import api_actor_label
from app.web.api.registry import api_route, respond
from app.web.api.schemas import ListQuery
from app.web.api.tax_schemas import (TaxCalculateRequest, TaxCalculationOut, TaxExemptionCreate, TaxExemptionList,
                                     TaxExemptionOut, TaxLineOut, TaxTreatmentOut)
from app.web.portal import current_org_id
from app.web.request_context import db_session


def treatment_out(treatment: tax.TaxTreatment) -> TaxTreatmentOut:
    return TaxTreatmentOut(region=treatment.region, country=treatment.country, name=treatment.name,
                           rate=tax.format_rate(treatment.rate), reverse_charge=treatment.reverse_charge,
                           exempt=treatment.exemption_reference is not None, label=treatment.label,
                           note=treatment.note, tax_id=treatment.tax_id, exemption=treatment.exemption_reference)


def exemption_out(exemption: TaxExemption) -> TaxExemptionOut:
    return TaxExemptionOut(id=exemption.public_id, certificate_reference=exemption.certificate_reference,
                           expires_on=exemption.expires_on,
                           status=exemptions.status_of(exemption, clock.utcnow().date()),
                           decision_note=exemption.decision_note, decided_at=exemption.decided_at,
                           created_at=exemption.created_at)


def _lines(body: TaxCalculateRequest) -> list[tuple[int, str]]:
    """(amount, description) pairs from `lines`, or from a single `amount`; exactly one of them."""
    if body.lines is not None and body.amount is not None:
        raise DomainError("Send either `lines` or a single `amount`, not both.", field="amount")
    if body.lines is None and body.amount is None:
        raise DomainError("Send `lines` (a list of {\"amount\": …}) or a single `amount`.", field="lines")
    if body.lines is None:
        return [(body.amount, "")]
    return [(line.amount, line.description) for line in body.lines]


@api_route("/tax/calculate", "POST", summary="The tax on amounts for your organization now (writes nothing)",
           scope="read", body=TaxCalculateRequest, response=TaxCalculationOut)
def calculate_tax(body: TaxCalculateRequest):
    currency, lines, now = currency_code(body.currency), _lines(body), clock.utcnow()
    result = tax.calculate(db_session(), g.organization, [Money(amount, currency) for amount, _ in lines], now)
    return respond(TaxCalculationOut(
        currency=currency.lower(), treatment=treatment_out(result.treatment),
        lines=[TaxLineOut(amount=line.amount.amount, tax=line.tax.amount, description=description)
               for line, (_, description) in zip(result.lines, lines)],
        subtotal=result.subtotal.amount, tax=result.tax.amount, total=result.total.amount, calculated_at=now))


@api_route("/tax_exemptions", "POST", summary="Submit a tax exemption certificate; it applies once approved",
           scope="write", body=TaxExemptionCreate, response=TaxExemptionOut, status=201)
def create_tax_exemption(body: TaxExemptionCreate):
    db = db_session()
    exemption = exemptions.submit(db, g.organization, certificate_reference=body.certificate_reference,
                                  expires_on=body.expires_on, actor_label=api_actor_label())
    db.commit()
    return respond(exemption_out(exemption), 201)


@api_route("/tax_exemptions", "GET", summary="Your organization's exemption certificates, newest first",
           query=ListQuery, response=TaxExemptionList)
def list_tax_exemptions(query: ListQuery):
    page = paginate(db_session(), owned(TaxExemption, current_org_id()), TaxExemption, query.limit,
                    query.starting_after, newest_first=True)
    return respond(TaxExemptionList(data=[exemption_out(e) for e in page.rows], has_more=page.has_more))
