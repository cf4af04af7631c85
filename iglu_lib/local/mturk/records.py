"""HITs, HIT types and assignments in the database, and their views as the API returns them.

A row keeps its status (and the times the lifecycle queries) in columns and the rest of the
entity, named as in the API, in a JSON `data` column.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from typing import Any

from iglu_lib.local.mturk.errors import does_not_exist
from iglu_lib.local.mturk.store import get_meta, set_meta

#: Statuses an assignment has before it reaches the API's Submitted, Approved or Rejected.
ACCEPTED = "Accepted"
#: Statuses of an assignment that holds one of the HIT's slots.
HOLDING_STATUSES = (ACCEPTED, "Submitted", "Approved", "Rejected")
VISIBLE_STATUSES = ("Submitted", "Approved", "Rejected")
STARTING_BALANCE = "10000.00"


# -- HIT types ----------------------------------------------------------------------------
def find_or_create_hit_type(db: sqlite3.Connection, hit_type: dict[str, Any], new_id: str) -> str:
    """The id of the HIT type with exactly these properties, created when new (as the service
    reuses one HITTypeId for identical properties)."""
    signature = json.dumps(hit_type, sort_keys=True)
    row = db.execute("SELECT id FROM hit_types WHERE signature = ?", (signature,)).fetchone()
    if row:
        return row["id"]
    db.execute(
        "INSERT INTO hit_types (id, signature, data) VALUES (?, ?, ?)",
        (new_id, signature, json.dumps(hit_type)),
    )
    return new_id


def load_hit_type(db: sqlite3.Connection, hit_type_id: str) -> dict[str, Any]:
    row = db.execute("SELECT data FROM hit_types WHERE id = ?", (hit_type_id,)).fetchone()
    if row is None:
        raise does_not_exist("HIT type", hit_type_id)
    return json.loads(row["data"])


# -- HITs ----------------------------------------------------------------------------------
def insert_hit(db: sqlite3.Connection, hit: dict[str, Any], expiration: float) -> None:
    db.execute(
        "INSERT INTO hits (id, hit_type_id, status, expiration, data) VALUES (?, ?, ?, ?, ?)",
        (hit["HITId"], hit["HITTypeId"], "Assignable", expiration, json.dumps(hit)),
    )


def hit_row(db: sqlite3.Connection, hit_id: str) -> sqlite3.Row:
    row = db.execute("SELECT * FROM hits WHERE id = ?", (hit_id,)).fetchone()
    if row is None:
        raise does_not_exist("HIT", hit_id)
    return row


def set_hit_status(db: sqlite3.Connection, hit_id: str, status: str) -> None:
    db.execute("UPDATE hits SET status = ? WHERE id = ?", (status, hit_id))


def set_hit_expiration(db: sqlite3.Connection, hit_id: str, expiration: float) -> None:
    db.execute("UPDATE hits SET expiration = ? WHERE id = ?", (expiration, hit_id))


def update_hit_data(db: sqlite3.Connection, hit_id: str, **fields: Any) -> None:
    data = json.loads(hit_row(db, hit_id)["data"])
    data.update(fields)
    db.execute("UPDATE hits SET data = ? WHERE id = ?", (json.dumps(data), hit_id))


def assignment_counts(db: sqlite3.Connection, hit_id: str) -> dict[str, int]:
    rows = db.execute(
        "SELECT status, COUNT(*) AS n FROM assignments WHERE hit_id = ? GROUP BY status", (hit_id,)
    )
    return {row["status"]: row["n"] for row in rows}


def hit_view(db: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    """The HIT as GetHIT returns it, with its assignment counts."""
    hit = json.loads(row["data"])
    counts = assignment_counts(db, row["id"])
    pending = counts.get(ACCEPTED, 0)
    taken = sum(counts.get(status, 0) for status in HOLDING_STATUSES)
    hit.update(
        HITStatus=row["status"],
        Expiration=row["expiration"],
        NumberOfAssignmentsPending=pending,
        NumberOfAssignmentsAvailable=max(hit["MaxAssignments"] - taken, 0),
        NumberOfAssignmentsCompleted=counts.get("Approved", 0) + counts.get("Rejected", 0),
    )
    return hit


# -- assignments -------------------------------------------------------------------------
def insert_assignment(db: sqlite3.Connection, assignment: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO assignments (id, hit_id, worker_id, status, deadline, data) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            assignment["AssignmentId"],
            assignment["HITId"],
            assignment["WorkerId"],
            ACCEPTED,
            assignment["Deadline"],
            json.dumps(assignment),
        ),
    )


def assignment_row(db: sqlite3.Connection, assignment_id: str, visible_only: bool = True) -> sqlite3.Row:
    """The assignment; one not yet submitted does not exist for the requester API."""
    row = db.execute("SELECT * FROM assignments WHERE id = ?", (assignment_id,)).fetchone()
    if row is None or (visible_only and row["status"] not in VISIBLE_STATUSES):
        raise does_not_exist("Assignment", assignment_id)
    return row


def update_assignment(
    db: sqlite3.Connection, assignment_id: str, status: str, auto_approval_time: float | None = None,
    **fields: Any,
) -> None:
    row = assignment_row(db, assignment_id, visible_only=False)
    data = json.loads(row["data"])
    data.update(fields)
    db.execute(
        "UPDATE assignments SET status = ?, auto_approval_time = COALESCE(?, auto_approval_time), "
        "data = ? WHERE id = ?",
        (status, auto_approval_time, json.dumps(data), assignment_id),
    )


def assignment_view(row: sqlite3.Row) -> dict[str, Any]:
    return {**json.loads(row["data"]), "AssignmentStatus": row["status"]}


# -- the requester's balance ---------------------------------------------------------------
def balance(db: sqlite3.Connection) -> Decimal:
    return Decimal(get_meta(db, "balance", STARTING_BALANCE))


def debit(db: sqlite3.Connection, amount: str) -> None:
    set_meta(db, "balance", str(balance(db) - Decimal(amount)))
