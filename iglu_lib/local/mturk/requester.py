"""The requester API: `POST /` with `X-Amz-Target: MTurkRequesterServiceV20170117.<Operation>`."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from flask import Blueprint, Response, request

from iglu_lib.local.mturk import strict_json
from iglu_lib.local.mturk.errors import (
    ParameterValidationError,
    ProtocolError,
    RequestError,
    ServiceError,
    ServiceFault,
)
from iglu_lib.local.mturk.operations import OPERATIONS
from iglu_lib.local.mturk.server_state import ServerState, state

CONTENT_TYPE = "application/x-amz-json-1.1"
#: Far above the largest legal request (a 64 KB question or test, a 64 KB answer key).
MAX_BODY_BYTES = 1024 * 1024
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
    """The request's JSON; a body that is too large, not JSON, or holds a number the service
    cannot take (NaN, infinity, an overflowing value) is a 400 that clients do not retry."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ProtocolError("SerializationException", f"The request body is larger than {MAX_BODY_BYTES} bytes")
    raw = request.stream.read(MAX_BODY_BYTES + 1) or b"{}"
    if len(raw) > MAX_BODY_BYTES:
        raise ProtocolError("SerializationException", f"The request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return strict_json.loads(raw)
    except strict_json.BadNumber as error:
        raise ParameterValidationError(str(error)) from None
    except strict_json.BadJson as error:
        raise ProtocolError("SerializationException", str(error)) from None


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
