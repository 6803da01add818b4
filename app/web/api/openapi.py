"""Build the OpenAPI 3.1 document from Flask's URL map and the API registry."""
from __future__ import annotations

import re

from flask import Flask
from pydantic import BaseModel

from app.web.api.registry import OPERATIONS
from app.web.api.schemas import ErrorResponse

_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
# Views wrapped by app.web.api.idempotency.idempotent carry `idempotent = True`.
_IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                    "description": "a retry with the same key gets the first answer (header Idempotent-Replayed: "
                                   "true); the same key with another body is refused",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255}}


def _schema_ref(model: type[BaseModel], components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _query_parameters(model: type[BaseModel]) -> list[dict]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required,
         "description": prop.get("description", ""), "schema": {k: v for k, v in prop.items() if k != "description"}}
        for name, prop in schema.get("properties", {}).items()
    ]


def _error_responses(operation) -> dict:
    errors = {"400": "Invalid request", "404": "Not found"}
    if not operation.public:
        errors.update({"401": "Missing, invalid or revoked API key", "403": "The key lacks the scope"})
    return {code: {"description": text, "content": {"application/json": {"schema": _ERROR_REF}}}
            for code, text in errors.items()}


def build_document(app: Flask) -> dict:
    """Every /api/v1 route with its schemas. Routes missing from the registry are
    listed as undocumented so a test can catch them."""
    components: dict = {}
    _schema_ref(ErrorResponse, components)
    paths: dict = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = OPERATIONS.get(rule.endpoint)
            if operation is None:
                paths.setdefault(path, {})[method.lower()] = {"summary": "UNDOCUMENTED", "x-undocumented": True}
                continue
            entry: dict = {"operationId": rule.endpoint.split(".", 1)[1], "summary": operation.summary,
                           "responses": _error_responses(operation)}
            parameters = [{"name": arg, "in": "path", "required": True, "schema": {"type": "string"}}
                          for arg in sorted(rule.arguments)]
            if operation.query is not None:
                parameters += _query_parameters(operation.query)
            if getattr(app.view_functions.get(rule.endpoint), "idempotent", False):
                parameters.append(_IDEMPOTENCY_KEY)
                entry["responses"]["409"] = {"description": "A request with this Idempotency-Key is still running",
                                             "content": {"application/json": {"schema": _ERROR_REF}}}
            if parameters:
                entry["parameters"] = parameters
            if operation.body is not None:
                # An empty body is accepted when no field is required (e.g. POST …/test).
                required = any(f.is_required() for f in operation.body.model_fields.values())
                entry["requestBody"] = {"required": required, "content": {
                    "application/json": {"schema": _schema_ref(operation.body, components)}}}
            success: dict = {"description": "Success"}
            if operation.response is not None:
                success["content"] = {"application/json": {"schema": _schema_ref(operation.response, components)}}
            entry["responses"][str(operation.status)] = success
            if operation.public:
                entry["security"] = []
            else:
                entry["x-required-scope"] = operation.scope
            paths.setdefault(path, {})[method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Matrix Portal API", "version": "v1",
                 "description": "Amounts are integers in minor units; ids are prefixed strings."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key: mtx_sk_…"}}},
    }
