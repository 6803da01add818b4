"""Flask-WTF forms of the webhooks pages (client and partner portals alike).

Only the shape of the input is checked here; what makes a URL or an event type
acceptable is the service's business (app/webhooks/endpoints.py), whose
DomainError lands beside the field it names.
"""
from __future__ import annotations

from datetime import timezone

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.models import MESSAGE_STATUSES


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def event_type_choices(names=None) -> list[SelectChoice]:
    return [SelectChoice(name) for name in (names or EVENT_TYPES)]


class EndpointForm(FlaskForm):
    """URL, description and which event types: all of them, or a chosen set."""

    url = StringField("URL", filters=[_strip],
                      validators=[InputRequired(message="Enter the URL that should receive the events.")])
    description = StringField("Description", filters=[_strip])
    subscribe = RadioField("Event types", default="all",
                           choices=[SelectChoice("all", "All event types, including ones added later"),
                                    SelectChoice("chosen", "Only the ones I choose")])
    # Choices are not enforced here: an unknown type gets the service's message,
    # which names it.
    event_types = SelectMultipleField("Event types", choices=event_type_choices(), validate_choice=False)

    def chosen_event_types(self) -> list[str] | None:
        """None for "all", else the ticked types (possibly none: the service refuses that)."""
        return None if self.subscribe.data == "all" else list(self.event_types.data or [])

    def load(self, endpoint) -> None:
        """Fill an edit form from the endpoint."""
        self.url.data, self.description.data = endpoint.url, endpoint.description
        self.subscribe.data = "all" if endpoint.event_types is None else "chosen"
        self.event_types.data = list(endpoint.event_types or [])


class CreateEndpointForm(EndpointForm):
    enabled = BooleanField("Enabled", default=True)


class TestEventForm(FlaskForm):
    event_type = SelectField("Event type", validate_choice=False,
                             validators=[InputRequired(message="Choose an event type.")])


class ReplayForm(FlaskForm):
    since = DateTimeLocalField("Failed since (UTC)", format=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"],
                               validators=[InputRequired(message="Give the date and time (UTC) to replay from.")])

    def since_utc(self):
        """The browser's datetime-local has no zone: the page says it is UTC."""
        return self.since.data.replace(tzinfo=timezone.utc)


class LogFilterForm(FlaskForm):
    """The delivery log's filters: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    status = SelectField("Status", validators=[Optional()],
                         choices=[SelectChoice("", "Any status")]
                         + [SelectChoice(s, s.capitalize()) for s in MESSAGE_STATUSES])
    event_type = SelectField("Event type", validators=[Optional()],
                             choices=[SelectChoice("", "Any event type"), *event_type_choices()])
