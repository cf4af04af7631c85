"""What a worker does on the site: find HITs, accept, submit, return, take a qualification test.

The JSON control API (simulated workers) and the worker pages (a browser) both call these, so
the service's rules at accept time (blocks, qualification requirements, free slots) hold the
same for both.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from iglu_lib.local.mturk import lifecycle, records
from iglu_lib.local.mturk.answer_key import read_answer_key
from iglu_lib.local.mturk.answers import AnswerValue, question_form_answers
from iglu_lib.local.mturk.errors import WorkerActionError
from iglu_lib.local.mturk.ids import new_id
from iglu_lib.local.mturk.operations.qualifications import grant
from iglu_lib.local.mturk.operations.registry import Context
from iglu_lib.local.mturk.qualification_rules import unmet
from iglu_lib.local.mturk.question_form import form_answers, parse_question_form
from iglu_lib.local.mturk.questions import Question, parse_question


def _hit(db: sqlite3.Connection, hit_id: str) -> tuple[sqlite3.Row, dict[str, Any]]:
    row = db.execute("SELECT * FROM hits WHERE id = ?", (hit_id,)).fetchone()
    if row is None or row["status"] == "Disposed":
        raise WorkerActionError("HITNotFound", f"There is no HIT {hit_id}", 404)
    return row, json.loads(row["data"])


def is_blocked(db: sqlite3.Connection, worker_id: str) -> bool:
    return db.execute("SELECT 1 FROM blocks WHERE worker_id = ?", (worker_id,)).fetchone() is not None


def _holds(db: sqlite3.Connection, hit_id: str, worker_id: str) -> bool:
    marks = ", ".join("?" for _ in records.HOLDING_STATUSES)
    return db.execute(
        f"SELECT 1 FROM assignments WHERE hit_id = ? AND worker_id = ? AND status IN ({marks})",
        (hit_id, worker_id, *records.HOLDING_STATUSES),
    ).fetchone() is not None


def question_of(hit: Mapping[str, Any]) -> Question:
    return parse_question(hit["Question"])


def hits_for_worker(db: sqlite3.Connection, worker_id: str, view: str = "accept") -> list[dict[str, Any]]:
    """The open HITs this worker finds, oldest first.

    `view="accept"`: those they could accept now. `view="discover"`: those the site shows
    them (every requirement guarding discovery met), with whether they may preview and
    accept each; a HIT whose requirements guard only Accept is shown, as on the site.
    """
    if is_blocked(db, worker_id):
        return []
    found = []
    for row in db.execute("SELECT * FROM hits WHERE status = 'Assignable' ORDER BY seq").fetchall():
        hit = json.loads(row["data"])
        requirements = hit["QualificationRequirements"]
        held = _holds(db, row["id"], worker_id)
        can_accept = not held and not unmet(db, worker_id, requirements, "accept")
        if view == "accept" and not can_accept:
            continue
        if view == "discover" and unmet(db, worker_id, requirements, "discover"):
            continue
        entry = {
            "hit_id": row["id"],
            "hit_type_id": row["hit_type_id"],
            "title": hit["Title"],
            "reward": hit["Reward"],
            "requester_annotation": hit.get("RequesterAnnotation"),
            "question_type": question_of(hit).kind,
        }
        if view == "discover":
            entry.update(
                can_preview=not unmet(db, worker_id, requirements, "preview"),
                can_accept=can_accept,
                accepted=held,
            )
        found.append(entry)
    return found


def preview(db: sqlite3.Connection, hit_id: str, worker_id: str) -> dict[str, Any]:
    """What a worker sees before accepting, if the HIT's requirements let them preview it."""
    row, hit = _hit(db, hit_id)
    refusal = preview_refusal(db, hit_id, worker_id)
    if refusal is not None:
        code = "WorkerBlocked" if is_blocked(db, worker_id) else "QualificationRequirementNotMet"
        raise WorkerActionError(code, refusal, 403)
    return {
        "hit_id": hit_id, "title": hit["Title"], "description": hit["Description"], "reward": hit["Reward"],
        "status": row["status"], "question": question_of(hit).for_worker(),
    }


def preview_refusal(db: sqlite3.Connection, hit_id: str, worker_id: str) -> str | None:
    """Why the worker may not preview the HIT, or None when they may."""
    _, hit = _hit(db, hit_id)
    if is_blocked(db, worker_id):
        return "You are blocked from this requester's HITs."
    if unmet(db, worker_id, hit["QualificationRequirements"], "preview"):
        return "You do not meet the qualification requirements to preview this HIT."
    return None


def accept(ctx: Context, hit_id: str, worker_id: str) -> tuple[str, Question]:
    """Give the worker an assignment of the HIT, if the service's rules allow it."""
    row, hit = _hit(ctx.db, hit_id)
    if is_blocked(ctx.db, worker_id):
        raise WorkerActionError("WorkerBlocked", "The requester has blocked you from their HITs.", 403)
    if _holds(ctx.db, hit_id, worker_id):
        raise WorkerActionError("AlreadyAccepted", "You already accepted this HIT.")
    if row["status"] != "Assignable" or row["expiration"] <= ctx.now:
        raise WorkerActionError("HITNotAssignable", f"This HIT is {row['status']}: no assignment is available.")
    missing = unmet(ctx.db, worker_id, hit["QualificationRequirements"], "accept")
    if missing:
        names = ", ".join(r["QualificationTypeId"] for r in missing)
        raise WorkerActionError(
            "QualificationRequirementNotMet", f"You do not meet the qualification requirements: {names}.", 403
        )
    assignment_id = new_id()
    records.insert_assignment(ctx.db, {
        "AssignmentId": assignment_id, "WorkerId": worker_id, "HITId": hit_id,
        "AcceptTime": ctx.now, "Deadline": ctx.now + hit["AssignmentDurationInSeconds"],
    })
    lifecycle.refresh_hit(ctx.db, hit_id, ctx.now)
    return assignment_id, question_of(hit)


def _accepted(ctx: Context, assignment_id: str) -> sqlite3.Row:
    row = ctx.db.execute("SELECT * FROM assignments WHERE id = ?", (assignment_id,)).fetchone()
    if row is None:
        raise WorkerActionError("AssignmentNotFound", f"There is no assignment {assignment_id}", 404)
    if row["status"] != records.ACCEPTED:
        raise WorkerActionError(
            "AssignmentNotActive", f"Assignment {assignment_id} is {row['status']}: it takes no more work."
        )
    return row


def submit(
    ctx: Context, assignment_id: str, answers: Mapping[str, str] | Iterable[tuple[str, str]]
) -> None:
    """Store the answers as QuestionFormAnswers; auto-approval is due after the HIT's delay.
    A QuestionForm HIT's selection questions are stored as SelectionIdentifiers."""
    row = _accepted(ctx, assignment_id)
    hit = json.loads(records.hit_row(ctx.db, row["hit_id"])["data"])
    question = question_of(hit)
    stored: Mapping[str, AnswerValue] | Iterable[tuple[str, AnswerValue]] = answers
    if question.kind == "QuestionForm":
        pairs = answers.items() if isinstance(answers, Mapping) else answers
        stored = form_answers(parse_question_form(question.xml or ""), pairs)
    records.update_assignment(
        ctx.db, assignment_id, "Submitted",
        auto_approval_time=ctx.now + hit["AutoApprovalDelayInSeconds"],
        SubmitTime=ctx.now,
        AutoApprovalTime=ctx.now + hit["AutoApprovalDelayInSeconds"],
        Answer=question_form_answers(stored),
    )
    lifecycle.refresh_hit(ctx.db, row["hit_id"], ctx.now)


def return_assignment(ctx: Context, assignment_id: str) -> None:
    row = _accepted(ctx, assignment_id)
    records.update_assignment(ctx.db, assignment_id, "Returned")
    lifecycle.refresh_hit(ctx.db, row["hit_id"], ctx.now)


def assignment_context(db: sqlite3.Connection, assignment_id: str) -> dict[str, Any]:
    """What the work page needs: the assignment's HIT and worker."""
    row = db.execute("SELECT * FROM assignments WHERE id = ?", (assignment_id,)).fetchone()
    if row is None:
        raise WorkerActionError("AssignmentNotFound", f"There is no assignment {assignment_id}", 404)
    return {"hit_id": row["hit_id"], "worker_id": row["worker_id"], "status": row["status"]}


def requestable_type(db: sqlite3.Connection, type_id: str) -> dict[str, Any]:
    """A qualification type a worker may request (by test or auto-grant)."""
    row = db.execute("SELECT data FROM qualification_types WHERE id = ?", (type_id,)).fetchone()
    if row is None:
        raise WorkerActionError("QualificationTypeNotFound", f"There is no qualification type {type_id}", 404)
    qualification_type = json.loads(row["data"])
    if qualification_type["QualificationTypeStatus"] != "Active" or not qualification_type["IsRequestable"]:
        raise WorkerActionError("QualificationNotRequestable", "This qualification cannot be requested.")
    return qualification_type


def requestable_unmet(db: sqlite3.Connection, hit_id: str, worker_id: str) -> list[dict[str, Any]]:
    """The requestable qualification types the worker lacks for this HIT: what to take first."""
    _, hit = _hit(db, hit_id)
    found = []
    for requirement in unmet(db, worker_id, hit["QualificationRequirements"], "accept"):
        row = db.execute(
            "SELECT data FROM qualification_types WHERE id = ?", (requirement["QualificationTypeId"],)
        ).fetchone()
        if row and json.loads(row["data"])["IsRequestable"]:
            found.append(json.loads(row["data"]))
    return found


def request_qualification(
    ctx: Context, type_id: str, worker_id: str, answers: Mapping[str, Any]
) -> dict[str, Any]:
    """Grant an auto-granted type, or score the worker's test answers against the AnswerKey."""
    qualification_type = requestable_type(ctx.db, type_id)
    _check_retry(ctx, qualification_type, worker_id)
    if qualification_type.get("AutoGranted"):
        value = qualification_type.get("AutoGrantedValue", 1)
    elif "AnswerKey" in qualification_type:
        value = read_answer_key(qualification_type["AnswerKey"]).qualification_value(answers)
    else:
        raise WorkerActionError(
            "QualificationNeedsReview", "This test has no AnswerKey: the local server cannot review it."
        )
    grant(ctx, type_id, worker_id, value)
    return {"status": "Granted", "value": value}


def _check_retry(ctx: Context, qualification_type: Mapping[str, Any], worker_id: str) -> None:
    row = ctx.db.execute(
        "SELECT data FROM qualifications WHERE type_id = ? AND worker_id = ?",
        (qualification_type["QualificationTypeId"], worker_id),
    ).fetchone()
    if row is None:
        return
    delay = qualification_type.get("RetryDelayInSeconds")
    if delay is None or json.loads(row["data"])["GrantTime"] + delay > ctx.now:
        raise WorkerActionError("RetryNotAllowed", "You cannot request this qualification again yet.")
