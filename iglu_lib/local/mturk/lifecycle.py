"""The service's time-based and count-based transitions of HITs and assignments.

They are applied lazily, from the server's clock, at the start of every request: accepted
work past its deadline is abandoned, submitted work past its auto-approval time is approved,
and HITs move between Assignable, Unassignable and Reviewable as slots fill and time runs out.
Reviewing and Disposed change only on the requester's call.
"""

from __future__ import annotations

import json
import sqlite3

from iglu_lib.local.mturk import records

REFRESHED_STATUSES = ("Assignable", "Unassignable", "Reviewable")


def hit_status(max_assignments: int, counts: dict[str, int], expired: bool) -> str:
    """Assignable while open with a free slot; Unassignable while work is pending; else Reviewable."""
    taken = sum(counts.get(status, 0) for status in records.HOLDING_STATUSES)
    if not expired and taken < max_assignments:
        return "Assignable"
    if counts.get(records.ACCEPTED, 0):
        return "Unassignable"
    return "Reviewable"


def refresh_hit(db: sqlite3.Connection, hit_id: str, now: float) -> None:
    row = records.hit_row(db, hit_id)
    if row["status"] not in REFRESHED_STATUSES:
        return
    max_assignments = json.loads(row["data"])["MaxAssignments"]
    status = hit_status(max_assignments, records.assignment_counts(db, hit_id), row["expiration"] <= now)
    if status != row["status"]:
        records.set_hit_status(db, hit_id, status)


def sweep(db: sqlite3.Connection, now: float) -> None:
    """Apply every transition that the clock has made due."""
    touched = {row["hit_id"] for row in db.execute(
        "SELECT hit_id FROM assignments WHERE status = ? AND deadline <= ?", (records.ACCEPTED, now)
    )}
    db.execute(
        "UPDATE assignments SET status = 'Abandoned' WHERE status = ? AND deadline <= ?",
        (records.ACCEPTED, now),
    )
    _auto_approve(db, now)
    touched |= {row["id"] for row in db.execute(
        "SELECT id FROM hits WHERE status IN ('Assignable', 'Unassignable') AND expiration <= ?",
        (now,),
    )}
    for hit_id in touched:
        refresh_hit(db, hit_id, now)


def _auto_approve(db: sqlite3.Connection, now: float) -> None:
    due = db.execute(
        "SELECT a.id, a.auto_approval_time, h.data AS hit FROM assignments a "
        "JOIN hits h ON h.id = a.hit_id WHERE a.status = 'Submitted' AND a.auto_approval_time <= ?",
        (now,),
    ).fetchall()
    for row in due:
        records.update_assignment(db, row["id"], "Approved", ApprovalTime=row["auto_approval_time"])
        records.debit(db, json.loads(row["hit"])["Reward"])
