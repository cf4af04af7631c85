"""The requester API: `POST /` with `X-Amz-Target: MTurkRequesterServiceV20170117.<Operation>`."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from flask import Blueprint, Response, request

from iglu_lib.local.mturk.errors import ProtocolError, RequestError, ServiceError, ServiceFault
from iglu_lib.local.mturk.operations import OPERATIONS
from iglu_lib.local.mturk.server_state import ServerState, state

CONTENT_TYPE = "application/x-amz-json-1.1"
log = logging.getLogger(__name__)
blueprint = Blueprint("requester", __name__)


def _respond(body: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(body), status=status, content_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": str(uuid.uuid4())},
    )


def _operation_name(server: ServerState) -> str:
    prefix, _, name = request.headers.get("X-Amz-Target", "").partition(".")
    if prefix != server.model.target_prefix or not name:
        raise ProtocolError(
            "UnknownOperationException",
            f"X-Amz-Target must be {server.model.target_prefix}.<Operation>",
        )
    return name


def _body() -> Any:
    raw = request.get_data(cache=False) or b"{}"
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError("SerializationException", f"The request body is not JSON: {error}") from None


def _call(server: ServerState) -> dict[str, Any]:
    name = _operation_name(server)
    operation = server.model.operation(name)
    server.stats.count(name)
    fault = server.faults.draw()
    if fault is not None:
        raise fault
    params = server.model.parse_input(operation, _body())
    handler = OPERATIONS.get(name)
    if handler is None:
        raise RequestError(f"{name} is not available on the local MTurk server", "AWS.NotImplemented")
    result = server.run(lambda ctx: handler(ctx, params))
    return server.model.serialise_output(operation, result)


@blueprint.post("/")
def call() -> Response:
    server = state()
    try:
        return _respond(_call(server))
    except ServiceError as error:
        return _respond(error.body(), error.status)
    except Exception:  # the service answers its own failures with a ServiceFault
        log.exception("requester operation failed")
        fault = ServiceFault()
        return _respond(fault.body(), fault.status)
