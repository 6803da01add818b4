"""Forms of the organization's security pages (IP allowlist, geo rules, API
keys).

Only the shape of the input is checked here. What makes a network, a country
or a scope acceptable is the services' business (app/security/*), whose
DomainError lands beside the field it names: so select boxes do not validate
their choices, and a tampered value gets the service's message naming it.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app.security import countries
from app.security.geo_rules import ACTION_LABELS
from app.security.models import API_SCOPES

SCOPE_LABELS = {
    "read": "see the organization's data",
    "write": "create and change data: payments, refunds, usage, settings",
    "webhooks": "manage webhook endpoints and their deliveries",
}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def action_choices() -> list[SelectChoice]:
    return [SelectChoice(action, label) for action, label in ACTION_LABELS.items()]


def country_choices() -> list[SelectChoice]:
    return [SelectChoice(code, f"{name} ({code})") for code, name in countries.names().items()]


class AllowlistEntryForm(FlaskForm):
    """One entry: a CIDR network or a single address, and a label."""

    cidr = StringField("Address or network", filters=[_strip],
                       validators=[InputRequired(message="Enter an address or a network in CIDR form.")])
    label = StringField("Label", filters=[_strip])


class GeoRulesForm(FlaskForm):
    """The whole policy, saved at once: default action, the existing rules
    (repeated `country`/`action` pairs, one per table row), the codes ticked
    for removal, and an optional new rule."""

    default = SelectField("Every other country", choices=action_choices(), validate_choice=False)
    country = SelectMultipleField("Country", validate_choice=False)
    action = SelectMultipleField("Action", validate_choice=False)
    remove = SelectMultipleField("Remove", validate_choice=False)
    new_country = SelectField("Country", validate_choice=False, filters=[_strip],
                              choices=[SelectChoice("", "Choose a country…"), *country_choices()])
    new_action = SelectField("Action", choices=action_choices(), default="block", validate_choice=False)

    def table_rows(self) -> list[tuple[str, str, bool]] | None:
        """(country, action, ticked for removal) per table row; None if the rows are garbled."""
        codes, actions = self.country.data or [], self.action.data or []
        if len(codes) != len(actions):
            return None
        removed = set(self.remove.data or [])
        return [(code, action, code in removed) for code, action in zip(codes, actions)]

    def new_rule(self) -> tuple[str, str] | None:
        return (self.new_country.data, self.new_action.data) if self.new_country.data else None


class ApiKeyForm(FlaskForm):
    name = StringField("Name", filters=[_strip],
                       validators=[InputRequired(message="Give the key a name, e.g. the system that will use it.")])
    scopes = SelectMultipleField("Scopes", validate_choice=False, default=["read"],
                                 choices=[SelectChoice(scope, SCOPE_LABELS.get(scope, scope)) for scope in API_SCOPES])
