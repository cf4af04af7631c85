"""Worker operations: blocks and messages."""

from __future__ import annotations

from typing import Any

from iglu_lib.local.mturk.errors import RequestError
from iglu_lib.local.mturk.operations.registry import Context, operation, page


@operation("CreateWorkerBlock")
def create_worker_block(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ctx.db.execute(
        "INSERT INTO blocks (worker_id, reason) VALUES (?, ?) "
        "ON CONFLICT (worker_id) DO UPDATE SET reason = excluded.reason",
        (params["WorkerId"], params["Reason"]),
    )
    return {}


@operation("DeleteWorkerBlock")
def delete_worker_block(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ctx.db.execute("DELETE FROM blocks WHERE worker_id = ?", (params["WorkerId"],))
    return {}


@operation("ListWorkerBlocks")
def list_worker_blocks(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rows, token = page(ctx, params, "SELECT * FROM blocks WHERE 1 = 1", ())
    blocks = [{"WorkerId": row["worker_id"], "Reason": row["reason"]} for row in rows]
    return {"WorkerBlocks": blocks, "NumResults": len(blocks), "NextToken": token}


#: The service's limits of one NotifyWorkers call.
NOTIFY_LIMITS = {"WorkerIds": 100, "Subject": 200, "MessageText": 4096}


def _check_notify_limits(params: dict[str, Any]) -> None:
    for name, most in NOTIFY_LIMITS.items():
        size = len(params[name])
        if not 1 <= size <= most:
            unit = "worker ids" if name == "WorkerIds" else "characters"
            raise RequestError(
                f"{name} has {size} {unit}; the service takes 1 to {most}",
                "AWS.MechanicalTurk.InvalidParameterValue",
            )


@operation("NotifyWorkers")
def notify_workers(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Messages reach workers who have worked for this requester; others are a HardFailure.

    Each delivered message is recorded; the control API (`/_local/messages`) shows them.
    """
    _check_notify_limits(params)
    failures = []
    for worker_id in dict.fromkeys(params["WorkerIds"]):
        known = ctx.db.execute("SELECT 1 FROM assignments WHERE worker_id = ?", (worker_id,)).fetchone()
        if not known:
            failures.append({
                "NotifyWorkersFailureCode": "HardFailure",
                "NotifyWorkersFailureMessage": f"Cannot send a notification to worker {worker_id}, "
                                               "who has not done any work for you",
                "WorkerId": worker_id,
            })
            continue
        ctx.db.execute(
            "INSERT INTO messages (worker_id, subject, text, time) VALUES (?, ?, ?, ?)",
            (worker_id, params["Subject"], params["MessageText"], ctx.now),
        )
    return {"NotifyWorkersFailureStatuses": failures}
