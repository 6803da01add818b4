"""Error pages in the portal's own style, JSON errors for the API, never a stack trace."""
from __future__ import annotations

import json
import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.errors import DomainError
from app.web.request_context import is_htmx_partial, request_id
from app.web.templating import portal_of_path

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Sign-in required", "Please sign in to continue."),
    403: ("Not allowed", "Your account does not have access to this page."),
    404: ("Page not found", "There is nothing at this address, or it belongs to another organization."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    413: ("Too large", "The request is larger than this page accepts."),
    429: ("Too many requests", "Slow down and try again in a little while."),
    500: ("Something went wrong", "An unexpected error happened on our side. It has been logged."),
}
API_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                   404: "not_found", 405: "invalid_request_error", 413: "invalid_request_error",
                   429: "rate_limit_error"}


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, message: str, error_type: str | None = None, field: str | None = None):
    body = {"type": error_type or API_ERROR_TYPES.get(status, "api_error"), "message": message}
    if field:
        body["field"] = field
    if status >= 500:
        body["request_id"] = request_id()
    return jsonify({"error": body}), status


def htmx_error(status: int, message: str):
    """For htmx: swap nothing, and let the page show `message` in its toast.

    A full error page swapped into a table row would nest a second layout in it.
    """
    response = make_response("", status)
    response.headers["HX-Reswap"] = "none"
    response.headers["HX-Trigger"] = json.dumps({"portal:error": {"message": message}})
    return response


def error_page(status: int, message: str | None = None):
    title, default_message = MESSAGES.get(status, (f"Error {status}", "The request could not be completed."))
    if is_htmx_partial():
        return htmx_error(status, message or default_message)
    portal = portal_of_path(request.path)
    user_portal = current_user.portal if current_user.is_authenticated else None
    # Use the portal's own layout only for its own users; a stranger gets the plain one.
    layout = f"{portal}/layout.html" if portal and portal == user_portal else "base.html"
    return render_template("errors/error.html", layout=layout, status=status, title=title,
                           message=message or default_message, request_id=request_id()), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        message = "This form has expired or did not come from this site. Reload the page and try again."
        if is_api_request():
            return api_error(400, message)
        return error_page(400, message)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        if is_api_request():
            response = api_error(error.status_code, error.message, error.error_type, error.field)
        else:
            response = error_page(error.status_code, error.message if error.status_code != 404 else None)
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            response = make_response(response)
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.response is not None:  # a handler already built the answer (e.g. login throttling)
            return error.response
        if isinstance(error, InternalServerError):
            return unexpected_error(error.original_exception or error)
        if is_api_request():
            return api_error(error.code or 500, error.description or MESSAGES.get(error.code, ("", ""))[1])
        return error_page(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        log.exception("Unhandled error (request %s) on %s %s", request_id(), request.method, request.path)
        if is_api_request():
            return api_error(500, "An unexpected error happened. It has been logged.", "api_error")
        return error_page(500)
