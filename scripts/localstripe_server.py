"""localstripe, the stateful fake Stripe from PyPI, plus the dispute and file
endpoints it lacks, for tests and `make run`.

    python scripts/localstripe_server.py --port 8420

Everything localstripe serves is untouched: PaymentIntents, refunds, its own
webhook sender (`POST /_config/webhooks/{id}`). Added here, following Stripe's
documented API, so the official SDK's dispute calls have a server to talk to:

- `GET /v1/disputes`, `GET /v1/disputes/{id}`, `POST /v1/disputes/{id}`
  (`evidence[...]`, `submit`, `metadata`), `POST /v1/disputes/{id}/close`;
- `POST /v1/files` (multipart, `purpose=dispute_evidence`), `GET /v1/files/{id}`;
- `POST /_config/disputes` {charge, reason, amount?, warning?}: the card issuer
  opens a dispute (sends `charge.dispute.created`);
- `POST /_config/disputes/{id}/resolve` {status: won|lost}: the issuer decides
  (sends `charge.dispute.closed`).

State lives in memory only: localstripe's pickle in /tmp is shared by every
instance on the machine and rewritten on each object, so it is switched off.
"""
from __future__ import annotations

import argparse
import logging
import socket
import time
from email.parser import BytesParser
from email.policy import HTTP

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError
from localstripe.resources import Charge, Event, StripeObject
from localstripe.webhooks import schedule_webhook

resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None

EVIDENCE_DAYS = 7
_SUBMITTED = {"needs_response": "under_review", "warning_needs_response": "warning_under_review"}


class Dispute(StripeObject):
    object = "dispute"
    _id_prefix = "dp_"

    def __init__(self, charge: str, reason: str = "general", amount: int | None = None, warning: bool = False):
        charge_obj = Charge._api_retrieve(charge)
        super().__init__()
        self.charge = charge_obj.id
        self.payment_intent = charge_obj.payment_intent
        self.amount = int(amount) if amount else charge_obj.amount
        self.currency = charge_obj.currency
        self.reason = reason
        self.status = "warning_needs_response" if warning else "needs_response"
        self.is_charge_refundable = False
        self.evidence = {}
        self.evidence_details = {"due_by": int(time.time()) + EVIDENCE_DAYS * 86400, "has_evidence": False,
                                 "past_due": False, "submission_count": 0}
        self.metadata = {}


class File(StripeObject):
    object = "file"
    _id_prefix = "file_"

    def __init__(self, purpose: str, filename: str, size: int, type: str):
        super().__init__()
        self.purpose, self.filename, self.size, self.type = purpose, filename, size, type


def _truthy(value) -> bool:
    return str(value).lower() in ("true", "1")


def _send(event_type: str, dispute: Dispute) -> None:
    schedule_webhook(Event(event_type, dispute))


def _json(obj) -> web.Response:
    return server.json_response(obj._export())


async def update_dispute(request):
    dispute = Dispute._api_retrieve(request.match_info["id"])
    data = await server.get_post_data(request) or {}
    if dispute.status in ("won", "lost", "warning_closed"):
        raise UserError(400, "This dispute is closed.")
    dispute.evidence.update(data.get("evidence") or {})
    dispute.metadata.update(data.get("metadata") or {})
    dispute.evidence_details["has_evidence"] = bool(dispute.evidence)
    if _truthy(data.get("submit", "false")):
        dispute.status = _SUBMITTED.get(dispute.status, dispute.status)
        dispute.evidence_details["submission_count"] += 1
    _send("charge.dispute.updated", dispute)
    return _json(dispute)


async def close_dispute(request):
    dispute = Dispute._api_retrieve(request.match_info["id"])
    if dispute.status in ("won", "lost", "warning_closed"):
        raise UserError(400, "This dispute is already closed.")
    dispute.status = "warning_closed" if dispute.status.startswith("warning") else "lost"
    _send("charge.dispute.closed", dispute)
    return _json(dispute)


def _multipart_parts(content_type: str, body: bytes) -> dict:
    """name → (filename, content type, bytes) of a multipart/form-data body."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    return {part.get_param("name", header="content-disposition"):
            (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
            for part in message.iter_parts()}


@web.middleware
async def file_upload_middleware(request, handler):
    """`POST /v1/files` is multipart, which localstripe's own middlewares cannot read."""
    if not (request.method == "POST" and request.path == "/v1/files"):
        return await handler(request)
    if server.get_api_key(request) is None:
        return web.json_response({"error": {"message": "Unauthorized"}}, status=401)
    parts = _multipart_parts(request.headers.get("Content-Type", ""), await request.read())
    if "file" not in parts:
        return web.json_response({"error": {"message": "Missing file", "param": "file"}}, status=400)
    filename, file_type, content = parts["file"]
    purpose = (parts.get("purpose") or (None, None, b"dispute_evidence"))[2].decode()
    return _json(File(purpose, filename, len(content), file_type))


async def open_dispute(request):
    data = await server.get_post_data(request) or {}
    dispute = Dispute(data["charge"], data.get("reason", "general"), data.get("amount"),
                      _truthy(data.get("warning", "false")))
    _send("charge.dispute.created", dispute)
    return _json(dispute)


async def resolve_dispute(request):
    dispute = Dispute._api_retrieve(request.match_info["id"])
    status = (await server.get_post_data(request) or {}).get("status")
    if status not in ("won", "lost") or dispute.status in ("won", "lost", "warning_closed"):
        raise UserError(400, "Bad request")
    dispute.status = status
    _send("charge.dispute.closed", dispute)
    return _json(dispute)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_config/disputes", open_dispute)
    app.router.add_post("/_config/disputes/{id}/resolve", resolve_dispute)
    app.router.add_post("/v1/disputes/{id}/close", close_dispute)
    app.router.add_get("/v1/disputes/{id}", server.api_retrieve(Dispute, "/v1/disputes"))
    app.router.add_post("/v1/disputes/{id}", update_dispute)
    app.router.add_get("/v1/disputes", server.api_list_all(Dispute, "/v1/disputes"))
    app.middlewares.insert(0, file_upload_middleware)
    app.router.add_get("/v1/files/{id}", server.api_retrieve(File, "/v1/files"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    add_routes(server.app)
    logging.basicConfig(level=logging.INFO, format="localstripe: %(message)s")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    web.run_app(server.app, sock=sock, print=None)


if __name__ == "__main__":
    main()
