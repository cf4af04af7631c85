"""Worker operations: blocks and messages."""

from __future__ import annotations

from typing import Any

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


@operation("NotifyWorkers")
def notify_workers(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Messages reach workers who have worked for this requester; others are a HardFailure."""
    failures = []
    for worker_id in params["WorkerIds"]:
        known = ctx.db.execute("SELECT 1 FROM assignments WHERE worker_id = ?", (worker_id,)).fetchone()
        if not known:
            failures.append({
                "NotifyWorkersFailureCode": "HardFailure",
                "NotifyWorkersFailureMessage": f"Worker {worker_id} has not worked for you",
                "WorkerId": worker_id,
            })
            continue
        ctx.db.execute(
            "INSERT INTO messages (worker_id, subject, text, time) VALUES (?, ?, ?, ?)",
            (worker_id, params["Subject"], params["MessageText"], ctx.now),
        )
    return {"NotifyWorkersFailureStatuses": failures}
