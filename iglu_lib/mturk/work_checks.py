"""What MTurk can confirm about an assignment, told to the task server and our pages in our words.

The task server and the external campaign pages (`iglu_lib.crowd`) must not trust the ids in a
URL, so they ask the service; these functions ask it and answer with neutral values, so the
crowd side holds none of MTurk's operation, field or status names:

- `seen_assignment`: MTurk's `GetAssignment` answers only once an assignment is submitted
  ("can be called with a status of Reviewable, Approved, Rejected"; the local server does the
  same), so None means "accepted and still in progress, or made up".
- `work_holding`: while a worker works, the strongest check MTurk offers is `GetHIT`: whether
  the HIT holds accepted assignments (`NumberOfAssignmentsPending`) and for how long each may
  be held (`AssignmentDurationInSeconds`).

A service that cannot be asked now (an outage, throttling) raises `Unreachable`, so callers can
ask the person to reload instead of refusing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iglu_lib.mturk.manager import HitManager, MTurkError

#: Error codes (None: no answer at all) that mean "ask again later", not "no such thing".
TRANSIENT = (None, "ServiceFault", "ServiceUnavailable", "Throttling", "ThrottlingException")
#: Assignment statuses in the workbench's own words (the crowd records and reports use these).
STATES = {"Submitted": "submitted", "Approved": "approved", "Rejected": "rejected"}
#: The statuses of assignments the requester sees (submitted, then reviewed).
REVIEWED = tuple(STATES)


class Unreachable(MTurkError):
    """MTurk could not be asked now; the same question may be answered in a minute."""


@dataclass(frozen=True)
class SeenAssignment:
    """A submitted assignment as MTurk shows it: its HIT, its worker and its state (ours)."""

    work_id: str
    worker_id: str
    state: str


@dataclass(frozen=True)
class WorkHolding:
    """Whether MTurk knows a HIT, how many accepted assignments it holds now, and for how long
    each may be held (seconds)."""

    known: bool
    pending: int
    duration_seconds: int


def state(status: str) -> str:
    """An MTurk assignment status in our words (an unknown one lower-cased)."""
    return STATES.get(status, status.lower())


def _answer(manager: HitManager, operation: str, key: str, **request: str) -> dict[str, Any] | None:
    """MTurk's `key` in its answer to `operation`; None when it does not know what was asked of
    it, `Unreachable` when it could not be asked now."""
    try:
        return dict(manager.call(operation, **request)[key])
    except MTurkError as err:
        if err.code in TRANSIENT:
            raise Unreachable(str(err), err.code) from None
        return None


def seen_assignment(manager: HitManager, assignment_id: str) -> SeenAssignment | None:
    """The assignment once submitted, None while MTurk does not show it (in progress or made up)."""
    found = _answer(manager, "get_assignment", "Assignment", AssignmentId=assignment_id)
    if found is None:
        return None
    return SeenAssignment(str(found.get("HITId", "")), str(found.get("WorkerId", "")),
                          state(str(found.get("AssignmentStatus", ""))))


def work_holding(manager: HitManager, hit_id: str) -> WorkHolding:
    """What `GetHIT` says of the HIT's accepted assignments (`known` False when MTurk has no such HIT)."""
    hit = _answer(manager, "get_hit", "HIT", HITId=hit_id)
    if hit is None:
        return WorkHolding(False, 0, 0)
    return WorkHolding(True, int(hit.get("NumberOfAssignmentsPending", 0) or 0),
                       int(hit.get("AssignmentDurationInSeconds", 0) or 0))
