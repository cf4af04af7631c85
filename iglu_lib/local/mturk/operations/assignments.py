"""Assignment operations: list and read submitted work, approve, reject, pay a bonus."""

from __future__ import annotations

import json
from typing import Any

from iglu_lib.local.mturk import lifecycle, records
from iglu_lib.local.mturk.errors import RequestError
from iglu_lib.local.mturk.money import parse_amount
from iglu_lib.local.mturk.operations.registry import Context, claim_request_token, operation, page

#: How long after a rejection the service still lets the requester approve it (`OverrideRejection`).
OVERRIDE_REJECTION_SECONDS = 30 * 24 * 3600


def _invalid_state(row: Any, allowed: str) -> RequestError:
    return RequestError(
        f"This operation can be called with a status of: {allowed} "
        f"(assignment {row['id']} is {row['status']})",
        "AWS.MechanicalTurk.InvalidAssignmentState",
    )


@operation("ListAssignmentsForHIT")
def list_assignments_for_hit(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    records.hit_row(ctx.db, params["HITId"])
    statuses = params.get("AssignmentStatuses") or list(records.VISIBLE_STATUSES)
    marks = ", ".join("?" for _ in statuses)
    rows, token = page(
        ctx, params,
        f"SELECT * FROM assignments WHERE hit_id = ? AND status IN ({marks})",
        (params["HITId"], *statuses),
    )
    assignments = [records.assignment_view(row) for row in rows]
    return {"Assignments": assignments, "NumResults": len(assignments), "NextToken": token}


@operation("GetAssignment")
def get_assignment(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    row = records.assignment_row(ctx.db, params["AssignmentId"])
    hit = records.hit_view(ctx.db, records.hit_row(ctx.db, row["hit_id"]))
    return {"Assignment": records.assignment_view(row), "HIT": hit}


@operation("ApproveAssignment")
def approve_assignment(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Submitted work, or rejected work with `OverrideRejection`, becomes Approved and is paid."""
    row = records.assignment_row(ctx.db, params["AssignmentId"])
    allowed = ("Submitted", "Rejected") if params.get("OverrideRejection") else ("Submitted",)
    if row["status"] not in allowed:
        raise _invalid_state(row, " or ".join(allowed))
    rejected_at = json.loads(row["data"]).get("RejectionTime")
    if row["status"] == "Rejected" and rejected_at is not None and ctx.now - rejected_at > OVERRIDE_REJECTION_SECONDS:
        raise RequestError(
            f"Assignment {row['id']} was rejected more than 30 days ago; a rejection can be overridden "
            "only within 30 days of it", "AWS.MechanicalTurk.InvalidAssignmentState",
        )
    fields = {"ApprovalTime": ctx.now}
    if "RequesterFeedback" in params:
        fields["RequesterFeedback"] = params["RequesterFeedback"]
    records.update_assignment(ctx.db, row["id"], "Approved", **fields)
    hit = json.loads(records.hit_row(ctx.db, row["hit_id"])["data"])
    records.debit(ctx.db, hit["Reward"])
    lifecycle.refresh_hit(ctx.db, row["hit_id"], ctx.now)
    return {}


@operation("RejectAssignment")
def reject_assignment(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    row = records.assignment_row(ctx.db, params["AssignmentId"])
    if row["status"] != "Submitted":
        raise _invalid_state(row, "Submitted")
    records.update_assignment(
        ctx.db, row["id"], "Rejected", RejectionTime=ctx.now, RequesterFeedback=params["RequesterFeedback"]
    )
    lifecycle.refresh_hit(ctx.db, row["hit_id"], ctx.now)
    return {}


@operation("SendBonus")
def send_bonus(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Pay a worker for an assignment of one of this requester's HITs that they submitted.

    The amount is a positive amount of dollars and cents the balance covers; a
    `UniqueRequestToken` seen within 24 hours is refused (nothing is paid twice); a token is
    spent only by a bonus that was paid.
    """
    row = records.assignment_row(ctx.db, params["AssignmentId"])
    if row["worker_id"] != params["WorkerId"]:
        raise RequestError(
            f"Worker {params['WorkerId']} did not work on assignment {row['id']}",
            "AWS.MechanicalTurk.InvalidParameterValue",
        )
    # A repeat is recognised first, whatever else changed since; a refused call rolls back
    # with its transaction, so its token stays unspent.
    claim_request_token(ctx, params.get("UniqueRequestToken"), "SendBonus")
    amount = parse_amount(params["BonusAmount"], "BonusAmount", positive=True)
    if not params["Reason"].strip():
        raise RequestError("Give the worker a Reason for the bonus", "AWS.MechanicalTurk.InvalidParameterValue")
    if records.balance(ctx.db) < amount:
        raise RequestError(
            f"Your account balance {records.balance(ctx.db):.2f} does not cover the bonus of {amount:.2f}",
            "AWS.MechanicalTurk.InsufficientFunds",
        )
    ctx.db.execute(
        "INSERT INTO bonuses (worker_id, assignment_id, amount, reason, time) VALUES (?, ?, ?, ?, ?)",
        (params["WorkerId"], row["id"], f"{amount:.2f}", params["Reason"], ctx.now),
    )
    records.debit(ctx.db, str(amount))
    return {}


@operation("ListBonusPayments")
def list_bonus_payments(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Bonuses of one HIT's assignments or of one assignment (exactly one of the two)."""
    if ("HITId" in params) == ("AssignmentId" in params):
        raise RequestError("Give exactly one of HITId and AssignmentId", "AWS.MechanicalTurk.InvalidParameterValue")
    if "HITId" in params:
        records.hit_row(ctx.db, params["HITId"])
        where = "assignment_id IN (SELECT id FROM assignments WHERE hit_id = ?)"
        args: tuple[Any, ...] = (params["HITId"],)
    else:
        records.assignment_row(ctx.db, params["AssignmentId"])
        where, args = "assignment_id = ?", (params["AssignmentId"],)
    rows, token = page(ctx, params, f"SELECT * FROM bonuses WHERE {where}", args)
    payments = [
        {"WorkerId": row["worker_id"], "BonusAmount": row["amount"], "AssignmentId": row["assignment_id"],
         "Reason": row["reason"], "GrantTime": row["time"]}
        for row in rows
    ]
    return {"BonusPayments": payments, "NumResults": len(payments), "NextToken": token}
