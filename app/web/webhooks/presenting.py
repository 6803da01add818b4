"""Turn JSON Schemas and JSON bodies into something a person reads easily.

The event types page shows each payload schema as a table of fields (name,
type, required, description) beside the raw schema, and bodies as indented
JSON in the order they were sent.
"""
from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class SchemaField:
    name: str
    type: str
    required: bool
    description: str
    default: str | None


def _type_of(spec: dict) -> str:
    if "anyOf" in spec:
        return " or ".join(_type_of(option) for option in spec["anyOf"])
    if "enum" in spec:
        return "one of " + ", ".join(json.dumps(value) for value in spec["enum"])
    if "const" in spec:
        return json.dumps(spec["const"])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"array of {_type_of(spec.get('items', {}))}"
    if spec.get("format"):
        return f"{kind} ({spec['format']})"
    return kind


def schema_fields(schema: dict) -> list[SchemaField]:
    """The top-level properties of an object schema, in declaration order."""
    required = set(schema.get("required", ()))
    return [SchemaField(name=name, type=_type_of(spec), required=name in required,
                        description=spec.get("description", ""),
                        default=json.dumps(spec["default"]) if "default" in spec else None)
            for name, spec in schema.get("properties", {}).items()]


def pretty_json(value) -> str:
    """Indented JSON; a string is parsed first (keys keep the order they were sent in)."""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return json.dumps(value, indent=2, ensure_ascii=False)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%".replace(".0%", "%")
