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

#: Storage statuses that mean credentials or names are wrong.
PERMANENT_STORAGE_STATUSES = frozenset({401, 403, 404})


class Fault(str, enum.Enum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNEXPECTED = "unexpected"


def classify(error: BaseException) -> Fault:
    """Whether `error` is transient, permanent or unexpected (see the module's docstring)."""
    from iglu_lib.platform.client import GameDataError
    from iglu_lib.providers import CrowdError
    from iglu_lib.storage import RecordConflict

    if isinstance(error, RecordConflict):
        return Fault.TRANSIENT
    if isinstance(error, GameDataError):
        return Fault.TRANSIENT if error.transient else Fault.PERMANENT
    if isinstance(error, CrowdError):  # the crowd's own error says which it is
        return Fault.PERMANENT if error.permanent else Fault.TRANSIENT if error.transient else Fault.UNEXPECTED
    return _storage_fault(error)


def is_account_problem(error: BaseException) -> bool:
    """A permanent crowd error about the account as a whole (credentials, funds), as opposed to
    one about a single HIT or assignment: only these stop the loop while settling one HIT."""
    from iglu_lib.providers import CrowdError

    if not isinstance(error, CrowdError):
        return classify(error) is Fault.PERMANENT
    return error.about_account


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
