"""What a static task produced, in one SQLite file under `outputs/`.

Tables: `task_runs`, `units` (with the HIT each was launched as), `workers`,
`assignments`, `onboarding` (one result per worker and qualification: pass or fail is
final) and `submissions` (the form a worker sent, as JSON). Every call opens its own
connection, so the task server's request threads, the CLI and a notebook can share the file;
values always travel as query parameters, never inside SQL text.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iglu_lib import paths
from iglu_lib.errors import IgluError
from iglu_lib.sqlite_file import SqliteFile

if TYPE_CHECKING:
    import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS task_runs (
    task_run_id TEXT PRIMARY KEY,
    task_name TEXT NOT NULL,
    conf_path TEXT NOT NULL,
    server_url TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS units (
    task_run_id TEXT NOT NULL REFERENCES task_runs(task_run_id),
    unit_id INTEGER NOT NULL,
    row_number INTEGER NOT NULL,
    data TEXT NOT NULL,
    hit_id TEXT,
    hit_type_id TEXT,
    launched_at TEXT,
    PRIMARY KEY (task_run_id, unit_id)
);
CREATE TABLE IF NOT EXISTS workers (
    worker_id TEXT PRIMARY KEY,
    first_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS assignments (
    assignment_id TEXT PRIMARY KEY,
    task_run_id TEXT NOT NULL,
    unit_id INTEGER NOT NULL,
    hit_id TEXT,
    worker_id TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    submitted_at TEXT,
    reviewed_at TEXT,
    review_reason TEXT
);
CREATE TABLE IF NOT EXISTS onboarding (
    worker_id TEXT NOT NULL,
    qualification TEXT NOT NULL,
    passed INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    commands INTEGER NOT NULL,
    answer TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    synced_to_platform INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (worker_id, qualification)
);
CREATE TABLE IF NOT EXISTS qualification_types (
    name TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    type_id TEXT NOT NULL,
    PRIMARY KEY (name, endpoint)
);
CREATE TABLE IF NOT EXISTS submissions (
    assignment_id TEXT PRIMARY KEY,
    task_run_id TEXT NOT NULL,
    unit_id INTEGER NOT NULL,
    worker_id TEXT NOT NULL,
    data TEXT NOT NULL,
    submitted_at TEXT NOT NULL
);
-- files written before the records spoke their own words held MTurk's capitalised statuses
UPDATE assignments SET status = lower(status) WHERE status GLOB '[A-Z]*';
"""

#: An assignment's states in the records, in the workbench's own words (each crowd service's
#: words stay in its provider package): opened here, working (accepted, not yet submitted, as
#: a service confirms it), submitted, approved, rejected, returned (given back), refused (at
#: onboarding).
OPENED, WORKING, SUBMITTED, APPROVED, REJECTED = "opened", "working", "submitted", "approved", "rejected"
RETURNED, REFUSED = "returned", "refused"
REVIEWED = (APPROVED, REJECTED)

TABLES = ("task_runs", "units", "workers", "assignments", "onboarding", "submissions", "qualification_types")


def default_db_path(task_name: str) -> Path:
    """`outputs/crowd/<task name>.sqlite`."""
    return paths.outputs_dir() / "crowd" / f"{task_name}.sqlite"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class TaskRunError(IgluError):
    """A task run is missing or cannot be launched as asked; the message says what to do."""


@dataclass(frozen=True)
class OnboardingRecord:
    worker_id: str
    qualification: str
    passed: bool
    reasons: list[str]
    commands: int
    synced_to_platform: bool


class CrowdDB(SqliteFile):
    """The records of static-task runs in one SQLite file."""

    SCHEMA = SCHEMA

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._connect() as conn:
            return [dict(row) for row in conn.execute(sql, params)]

    # -- task runs and units -------------------------------------------------------
    def create_task_run(self, task_name: str, conf_path: str, units: list[Mapping[str, Any]], server_url: str | None = None) -> str:
        """A new run with its units (each `{"unit_id", "row_number", "values"}`); returns its id."""
        run_id = f"{task_name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO task_runs VALUES (?, ?, ?, ?, ?)", (run_id, task_name, conf_path, server_url, now())
            )
            conn.executemany(
                "INSERT INTO units (task_run_id, unit_id, row_number, data) VALUES (?, ?, ?, ?)",
                [(run_id, u["unit_id"], u["row_number"], json.dumps(dict(u["values"]))) for u in units],
            )
        return run_id

    def set_server_url(self, task_run_id: str, server_url: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE task_runs SET server_url = ? WHERE task_run_id = ?", (server_url, task_run_id))

    def task_run(self, task_run_id: str | None = None, task_name: str | None = None) -> dict[str, Any]:
        """One run by id, or the newest run (of `task_name` when given)."""
        if task_run_id:
            rows = self._rows("SELECT * FROM task_runs WHERE task_run_id = ?", (task_run_id,))
        elif task_name:
            rows = self._rows("SELECT * FROM task_runs WHERE task_name = ? ORDER BY created_at DESC, rowid DESC LIMIT 1", (task_name,))
        else:
            rows = self._rows("SELECT * FROM task_runs ORDER BY created_at DESC, rowid DESC LIMIT 1")
        if not rows:
            which = f"task run '{task_run_id}'" if task_run_id else "task run" + (f" of '{task_name}'" if task_name else "")
            raise TaskRunError(f"{self.path}: no {which}; start the task server first (`iglu crowd serve`)")
        return rows[0]

    def units(self, task_run_id: str) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM units WHERE task_run_id = ? ORDER BY unit_id", (task_run_id,))

    def record_hit(self, task_run_id: str, unit_id: int, hit_id: str, hit_type_id: str | None) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE units SET hit_id = ?, hit_type_id = ?, launched_at = ? WHERE task_run_id = ? AND unit_id = ?",
                (hit_id, hit_type_id, now(), task_run_id, unit_id),
            )

    def unit_for_hit(self, hit_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM units WHERE hit_id = ?", (hit_id,))
        return rows[0] if rows else None

    # -- workers and assignments ----------------------------------------------------
    def open_assignment(self, assignment_id: str, task_run_id: str, unit_id: int, hit_id: str | None, worker_id: str) -> None:
        """Remember that a worker opened an assignment (idempotent: reopening changes nothing)."""
        stamp = now()
        with self._connect() as conn:
            conn.execute("INSERT OR IGNORE INTO workers VALUES (?, ?)", (worker_id, stamp))
            conn.execute(
                "INSERT OR IGNORE INTO assignments (assignment_id, task_run_id, unit_id, hit_id, worker_id, status, opened_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (assignment_id, task_run_id, unit_id, hit_id, worker_id, OPENED, stamp),
            )

    def claim_assignment(self, assignment_id: str, task_run_id: str, unit_id: int, hit_id: str, worker_id: str,
                         *, pending: int | None = None, duration_seconds: int = 0) -> str | None:
        """Open a verified assignment; the reason it is refused, or None.

        `pending` (the HIT's accepted assignments the service reports) is given when the service
        could not show the assignment itself: then at most that many assignments of the HIT may
        be open here at once (an open one counts until its duration has run out), so made-up ids
        for an accepted slot find it taken. An assignment opened before keeps its worker.
        """
        stamp = now()
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT * FROM assignments WHERE assignment_id = ?", (assignment_id,)).fetchone()
            if row is not None:
                if row["worker_id"] != worker_id or row["hit_id"] != hit_id:
                    return "This assignment was opened by another worker; open the task from your own HIT page."
                return None
            if pending is not None:
                cutoff = datetime.fromtimestamp(datetime.now(timezone.utc).timestamp() - max(duration_seconds, 60), timezone.utc)
                open_here = conn.execute(
                    "SELECT COUNT(*) FROM assignments WHERE hit_id = ? AND status = ? AND opened_at > ?",
                    (hit_id, OPENED, cutoff.isoformat(timespec="seconds")),
                ).fetchone()[0]
                if open_here >= pending:
                    return "The accepted assignment of this HIT is already open for another assignment id."
            conn.execute("INSERT OR IGNORE INTO workers VALUES (?, ?)", (worker_id, stamp))
            conn.execute(
                "INSERT INTO assignments (assignment_id, task_run_id, unit_id, hit_id, worker_id, status, opened_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (assignment_id, task_run_id, unit_id, hit_id, worker_id, OPENED, stamp),
            )
            return None

    def open_claims(self, hit_id: str) -> int:
        rows = self._rows("SELECT COUNT(*) AS n FROM assignments WHERE hit_id = ? AND status = ?", (hit_id, OPENED))
        return int(rows[0]["n"])

    def release_claims(self, hit_id: str) -> None:
        """The HIT's open assignments were returned (the service shows none): free the slot."""
        with self._connect() as conn:
            conn.execute("UPDATE assignments SET status = ? WHERE hit_id = ? AND status = ?", (RETURNED, hit_id, OPENED))

    def assignments_of_hit(self, hit_id: str) -> list[dict[str, Any]]:
        """Every assignment opened on a HIT (on Prolific: every session of a run's study)."""
        return self._rows("SELECT * FROM assignments WHERE hit_id = ? ORDER BY opened_at", (hit_id,))

    def assignment(self, assignment_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM assignments WHERE assignment_id = ?", (assignment_id,))
        return rows[0] if rows else None

    def set_assignment_status(self, assignment_id: str, status: str, reason: str | None = None) -> None:
        reviewed = now() if status in REVIEWED else None
        with self._connect() as conn:
            conn.execute(
                "UPDATE assignments SET status = ?, review_reason = COALESCE(?, review_reason),"
                " reviewed_at = COALESCE(?, reviewed_at) WHERE assignment_id = ?",
                (status, reason, reviewed, assignment_id),
            )

    # -- onboarding ----------------------------------------------------------------
    def onboarding(self, worker_id: str, qualification: str) -> OnboardingRecord | None:
        rows = self._rows(
            "SELECT * FROM onboarding WHERE worker_id = ? AND qualification = ?", (worker_id, qualification)
        )
        if not rows:
            return None
        row = rows[0]
        return OnboardingRecord(
            row["worker_id"], row["qualification"], bool(row["passed"]), json.loads(row["reasons"]),
            row["commands"], bool(row["synced_to_platform"]),
        )

    def record_onboarding(self, worker_id: str, qualification: str, passed: bool, reasons: list[str], commands: int, answer: str) -> bool:
        """Store a worker's first onboarding result; False when one was already stored (results are final)."""
        with self._connect() as conn:
            conn.execute("INSERT OR IGNORE INTO workers VALUES (?, ?)", (worker_id, now()))
            cursor = conn.execute(
                "INSERT OR IGNORE INTO onboarding (worker_id, qualification, passed, reasons, commands, answer, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (worker_id, qualification, int(passed), json.dumps(reasons), commands, answer, now()),
            )
            return cursor.rowcount == 1

    def mark_onboarding_synced(self, worker_id: str, qualification: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE onboarding SET synced_to_platform = 1 WHERE worker_id = ? AND qualification = ?",
                (worker_id, qualification),
            )

    def unsynced_onboarding(self, qualification: str) -> list[OnboardingRecord]:
        rows = self._rows("SELECT worker_id FROM onboarding WHERE qualification = ? AND synced_to_platform = 0", (qualification,))
        return [record for row in rows if (record := self.onboarding(row["worker_id"], qualification))]

    def qualification_type_id(self, name: str, endpoint: str) -> str | None:
        """The platform's id of a qualification type this file created or found before."""
        rows = self._rows("SELECT type_id FROM qualification_types WHERE name = ? AND endpoint = ?", (name, endpoint))
        return rows[0]["type_id"] if rows else None

    def remember_qualification_type(self, name: str, endpoint: str, type_id: str) -> None:
        with self._connect() as conn:
            conn.execute("INSERT OR REPLACE INTO qualification_types VALUES (?, ?, ?)", (name, endpoint, type_id))

    # -- submissions ------------------------------------------------------------------
    def record_submission(self, assignment_id: str, task_run_id: str, unit_id: int, worker_id: str, data: Mapping[str, Any]) -> bool:
        """Store a worker's form; False when this assignment had already submitted."""
        stamp = now()
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO submissions VALUES (?, ?, ?, ?, ?, ?)",
                (assignment_id, task_run_id, unit_id, worker_id, json.dumps(dict(data)), stamp),
            )
            conn.execute(
                "UPDATE assignments SET status = ?, submitted_at = ? WHERE assignment_id = ? AND status = ?",
                (SUBMITTED, stamp, assignment_id, OPENED),
            )
            return cursor.rowcount == 1

    def submission(self, assignment_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM submissions WHERE assignment_id = ?", (assignment_id,))
        if not rows:
            return None
        return {**rows[0], "data": json.loads(rows[0]["data"])}

    # -- views ----------------------------------------------------------------------
    def frame(self, table: str) -> pd.DataFrame:
        """A table as a pandas DataFrame; JSON columns of submissions are spread into columns."""
        import pandas as pd

        if table not in TABLES:
            raise ValueError(f"unknown table '{table}'; known: {', '.join(TABLES)}")
        rows = self._rows(f"SELECT * FROM {table}")  # noqa: S608 - table name checked against TABLES
        if table == "submissions":
            rows = [{**{k: v for k, v in row.items() if k != "data"}, **json.loads(row["data"])} for row in rows]
        frame = pd.DataFrame(rows)
        return frame if len(frame.columns) else pd.DataFrame(columns=self._columns(table))

    def _columns(self, table: str) -> list[str]:
        return [row["name"] for row in self._rows(f"PRAGMA table_info({table})")]

    def counts(self) -> dict[str, int]:
        return {table: self._rows(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"] for table in TABLES}
