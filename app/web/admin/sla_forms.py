"""The admin form for a new SLA definition of a tier, and the translation of its fields to and from the service.

Only the shape is checked here (a date, strings); `app.sla.definitions.add_definition` decides what is
acceptable and names the field at fault (`credit_steps[1].uptime_below` counts the rungs it was given, i.e. the
filled rows, so `step_field` maps it back to the row the admin typed in).
"""
from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, FieldList, Form, FormField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app.sla.definitions import MAX_STEPS, DefinitionInput
from app.sla.models import TIERS, SlaDefinition

TIER_LABELS = {tier: tier.capitalize() for tier in TIERS}
OBJECTIVE_FIELDS = ("uptime_percent", "latency_p95_ms", "throughput_rps", "error_rate_percent")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CreditStepForm(Form):
    """One rung: a month below `uptime_below` % earns `credit_percent` % of its plan fee (no CSRF of its own)."""

    uptime_below = StringField("Uptime below (%)", filters=[_strip], render_kw={"inputmode": "decimal"})
    credit_percent = StringField("Credit (% of the plan fee)", filters=[_strip], render_kw={"inputmode": "numeric"})


class SlaDefinitionForm(FlaskForm):
    tier = SelectField("Tier", choices=[SelectChoice(tier, label) for tier, label in TIER_LABELS.items()],
                       validate_choice=False)
    effective_from = DateField("Takes effect on",
                               validators=[InputRequired(message="Enter the date it takes effect, e.g. 2027-01-01.")])
    uptime_percent = StringField("Uptime (%)", filters=[_strip], render_kw={"inputmode": "decimal"})
    latency_p95_ms = StringField("Latency p95 (ms)", filters=[_strip], render_kw={"inputmode": "numeric"})
    throughput_rps = StringField("Throughput (req/s)", filters=[_strip], render_kw={"inputmode": "numeric"})
    error_rate_percent = StringField("Error rate (%)", filters=[_strip], render_kw={"inputmode": "decimal"})
    credit_steps = FieldList(FormField(CreditStepForm), min_entries=MAX_STEPS, max_entries=MAX_STEPS)

    def filled_rows(self) -> list[int]:
        """Indexes of the ladder rows with anything typed in (blank rows are ignored)."""
        return [index for index, row in enumerate(self.credit_steps)
                if row.uptime_below.data or row.credit_percent.data]

    def to_input(self) -> DefinitionInput:
        steps = [(self.credit_steps[index].uptime_below.data, self.credit_steps[index].credit_percent.data)
                 for index in self.filled_rows()]
        return DefinitionInput(tier=self.tier.data, effective_from=self.effective_from.data,
                               uptime_percent=self.uptime_percent.data, latency_p95_ms=self.latency_p95_ms.data,
                               throughput_rps=self.throughput_rps.data,
                               error_rate_percent=self.error_rate_percent.data, credit_steps=steps)

    def field_for(self, name: str | None):
        """The input a service error's field name points at (None: the error belongs above the form)."""
        if name in ("tier", "effective_from", *OBJECTIVE_FIELDS):
            return self[name]
        if name and name.startswith("credit_steps[") and "]." in name:
            position, _, part = name[len("credit_steps["):].partition("].")
            rows = self.filled_rows()
            if position.isdigit() and int(position) < len(rows) and part in ("uptime_below", "credit_percent"):
                return self.credit_steps[rows[int(position)]][part]
        return None


def prefilled(definition: SlaDefinition | None, tier: str, effective_from: date) -> SlaDefinitionForm:
    """A blank form carrying `definition`'s values (the tier's current one) to start from."""
    form = SlaDefinitionForm(formdata=None, tier=tier, effective_from=effective_from)
    if definition is not None:
        form.uptime_percent.data = str(definition.uptime_percent)
        form.latency_p95_ms.data = str(definition.latency_p95_ms)
        form.throughput_rps.data = str(definition.throughput_rps)
        form.error_rate_percent.data = str(definition.error_rate_percent)
        for row, step in zip(form.credit_steps, definition.credit_steps):
            row.uptime_below.data, row.credit_percent.data = str(step.uptime_below), str(step.credit_percent)
    return form
