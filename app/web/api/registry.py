"""Declare API operations once: the route, its scope, its request and response
schemas. The same declaration validates requests and generates OpenAPI, so the
document cannot drift from the code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import wraps
from typing import Callable

from flask import g, jsonify, request
from pydantic import BaseModel, ValidationError

from app.errors import DomainError, PermissionDenied
from app.web.api import bp


@dataclass(frozen=True)
class Operation:
    summary: str
    scope: str | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    public: bool


OPERATIONS: dict[str, Operation] = {}


def _validation_error(error: ValidationError) -> DomainError:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    message = first["msg"]
    if field:
        message = f"{field}: {message}"
    return DomainError(message, field=field)


def _parse_body(model: type[BaseModel]) -> BaseModel:
    raw = request.get_data(cache=True)
    if not raw.strip():
        data = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DomainError(f"Malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise DomainError("The JSON body must be an object.")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _validation_error(error) from None


def _parse_query(model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise _validation_error(error) from None


def require_scope(scope: str) -> None:
    if scope not in g.api_key.scope_set:
        raise PermissionDenied(f"This API key lacks the '{scope}' scope.")


def api_route(rule: str, method: str, *, summary: str, scope: str | None = "read",
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              response: type[BaseModel] | None = None, status: int = 200, public: bool = False):
    """Register `view` on the API blueprint with validation and OpenAPI metadata.

    The view receives `body=` and `query=` as validated models when declared.
    """

    def decorator(view: Callable):
        endpoint = view.__name__

        @wraps(view)
        def wrapped(**kwargs):
            if scope:
                require_scope(scope)
            if body is not None:
                kwargs["body"] = _parse_body(body)
            if query is not None:
                kwargs["query"] = _parse_query(query)
            return view(**kwargs)

        OPERATIONS[f"{bp.name}.{endpoint}"] = Operation(summary, scope, body, query, response, status, public)
        bp.add_url_rule(rule, endpoint, wrapped, methods=[method])
        return wrapped

    return decorator


def respond(model: BaseModel, status: int = 200):
    """A response model as JSON (by alias: a field may be named like a Python keyword)."""
    return jsonify(model.model_dump(mode="json", by_alias=True)), status
