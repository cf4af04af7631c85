"""Errors as the real service returns them, so that botocore raises the same `ClientError`s.

The MTurk JSON protocol answers a bad request with HTTP 400 and a body
`{"__type": "...#RequestError", "Message": ..., "TurkErrorCode": ...}`; an internal failure is a
`ServiceFault`; throttling is `ThrottlingException` with HTTP 400, which botocore's retry
handlers (legacy and standard) treat as throttling and retry.
"""

from __future__ import annotations

import time
from typing import Any

from iglu_lib.errors import IgluError

TYPE_PREFIX = "com.amazonaws.mechanicalturk.requester#"


class ServiceError(IgluError):
    """An error the requester API returns; `body()` is what the client receives."""

    error_type = "RequestError"
    status = 400

    def __init__(self, message: str, turk_code: str = "AWS.MechanicalTurk.RequestError") -> None:
        super().__init__(message)
        self.message = message
        self.turk_code = turk_code

    def body(self) -> dict[str, Any]:
        return {
            "__type": TYPE_PREFIX + self.error_type,
            "Message": self.message,
            "TurkErrorCode": self.turk_code,
        }


class RequestError(ServiceError):
    """The request is invalid or not allowed in the entity's current state.

    The service ends its messages with the request's time in epoch milliseconds, e.g.
    `... has already been processed. (1626172412406)`; clients that match messages see the same.
    """

    def body(self) -> dict[str, Any]:
        return {**super().body(), "Message": f"{self.message} ({int(time.time() * 1000)})"}


class ServiceFault(ServiceError):
    """The service failed (or fault injection says it did)."""

    error_type = "ServiceFault"
    status = 500

    def __init__(self, message: str = "Internal service error; please retry.") -> None:
        super().__init__(message, "AWS.ServiceUnavailable")


class Throttled(ServiceError):
    """Too many requests (or fault injection says so)."""

    error_type = "ThrottlingException"

    def __init__(self) -> None:
        super().__init__("Rate exceeded", "AWS.MechanicalTurk.Throttled")

    def body(self) -> dict[str, Any]:
        return {"__type": self.error_type, "message": self.message, "Message": self.message}


class ParameterValidationError(ServiceError):
    """A parameter's value is not valid (not finite, out of range): what the service answers
    with `{"__type": "ParameterValidationError", "Message": "The value ... (epoch ms s)"}`.
    A 400 whose code botocore never retries."""

    error_type = "ParameterValidationError"

    def __init__(self, message: str) -> None:
        super().__init__(message, "AWS.ParameterOutOfRange")

    def body(self) -> dict[str, Any]:
        return {
            "__type": self.error_type,
            "Message": f"{self.message} ({int(time.time() * 1000)} s)",
            "TurkErrorCode": self.turk_code,
        }


class ProtocolError(ServiceError):
    """The request is not a JSON-protocol call of a known operation."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type

    def body(self) -> dict[str, Any]:
        return {"__type": self.error_type, "Message": self.message}


def does_not_exist(kind: str, entity_id: str) -> RequestError:
    return RequestError(
        f"{kind} {entity_id} does not exist.",
        f"AWS.MechanicalTurk.{kind.replace(' ', '')}DoesNotExist",
    )


class WorkerActionError(IgluError):
    """A simulated worker's action is refused; `code` is the contract's error name."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
