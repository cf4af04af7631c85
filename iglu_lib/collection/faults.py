"""Which failures a campaign loop waits out and which stop it.

- *transient*: throttling, a service's 5xx, a connection that failed, a record that changed
  under us. The services' clients have already retried with backoff (the HIT manager's policy,
  the Azure SDK's retry policy); the loop tries again next turn, and the records make that safe.
- *permanent*: the account or the configuration is wrong (credentials refused, no funds, access
  denied, a missing table or container, a parameter the service calls invalid). Waiting does not
  heal these, so the loop stops with a sentence saying what to do.
- anything else is *unexpected*: a bug or an input nobody foresaw. While judging one submission
  it parks that submission for a person; it never stops the loop.
"""

from __future__ import annotations

import enum

#: MTurk error codes about the account as a whole: its credentials or its rights.
ACCOUNT_MTURK_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId",
    "SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken",
})
#: MTurk error codes that waiting will not heal: the account's, and a parameter it calls invalid.
PERMANENT_MTURK_CODES = ACCOUNT_MTURK_CODES | {"ParameterValidationError", "ValidationException",
                                               "InvalidParameterValue"}
#: Words of MTurk's generic `RequestError` that name an account problem, not one request's.
PERMANENT_MTURK_PHRASES = ("insufficient funds", "not authorized", "access denied")
#: Storage statuses that mean credentials or names are wrong.
PERMANENT_STORAGE_STATUSES = frozenset({401, 403, 404})


class Fault(str, enum.Enum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNEXPECTED = "unexpected"


def classify(error: BaseException) -> Fault:
    """Whether `error` is transient, permanent or unexpected (see the module's docstring)."""
    from iglu_lib.mturk import MTurkError
    from iglu_lib.platform.client import GameDataError
    from iglu_lib.storage import RecordConflict

    if isinstance(error, RecordConflict):
        return Fault.TRANSIENT
    if isinstance(error, GameDataError):
        return Fault.TRANSIENT if error.transient else Fault.PERMANENT
    if isinstance(error, MTurkError):
        return _mturk_fault(error)
    return _storage_fault(error)


def is_account_problem(error: BaseException) -> bool:
    """A permanent MTurk error about the account as a whole (credentials, funds), as opposed to
    one about a single HIT or assignment: only these stop the loop while settling one HIT."""
    from iglu_lib.mturk import MTurkError

    if not isinstance(error, MTurkError):
        return classify(error) is Fault.PERMANENT
    text = str(error).lower()
    return error.code in ACCOUNT_MTURK_CODES or any(phrase in text for phrase in PERMANENT_MTURK_PHRASES)


def _mturk_fault(error: BaseException) -> Fault:
    from iglu_lib.mturk.retry import SERVER_FAULT_CODES, THROTTLING_CODES

    code = getattr(error, "code", None)
    text = str(error).lower()
    if code in PERMANENT_MTURK_CODES or any(phrase in text for phrase in PERMANENT_MTURK_PHRASES):
        return Fault.PERMANENT
    if code is None or code in THROTTLING_CODES or code in SERVER_FAULT_CODES:
        return Fault.TRANSIENT  # no code: the endpoint could not be reached at all
    return Fault.UNEXPECTED


def _storage_fault(error: BaseException) -> Fault:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return Fault.TRANSIENT
    if isinstance(error, HttpResponseError):
        status = error.status_code or 0
        if status in PERMANENT_STORAGE_STATUSES:
            return Fault.PERMANENT
        return Fault.TRANSIENT if status >= 500 or status in (408, 429) else Fault.UNEXPECTED
    if isinstance(error, ConnectionError | TimeoutError):
        return Fault.TRANSIENT
    return Fault.UNEXPECTED
