"""Pages of `external`-mode HITs: what the task server needs to show a HIT, kept off the URL.

An ExternalQuestion HIT carries only `<external_url>/hit?page=<page id>`: the page id names a
row of a small SQLite file (`hit.external_store`, default `outputs/hit_pages.sqlite`) holding the
template kind and its variables (task name, task join code, agent instance ids, join code
suffix) and, once the service answered, the HIT id. The page id is derived from the HIT's
request token, so a create repeated after a crash finds the same row. It is not a secret: a
previewer sees it.

The same file holds the *claims*: an assignment id and worker id that were shown the codes
while the service showed the HIT accepted (`iglu_lib.crowd.server.CampaignPages`). MTurk names
an assignment to its requester only once it is submitted (`GetAssignment` and
`ListAssignmentsForHIT` know only `Submitted`, `Approved`, `Rejected`), so a claim stays
unproven until then: several may be open on one HIT, each with join codes expiring at its own
millisecond, and `settle` marks the one whose assignment was submitted and flags the others,
whose workers get no more pages.

`iglu collect` and `iglu crowd serve` therefore share this file: run both on the host behind
the public HTTPS address (or point `hit.external_store` of both at one shared path).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iglu_lib import paths
from iglu_lib.sqlite_file import SqliteFile

if TYPE_CHECKING:
    from iglu_lib.settings import HitSettings

LOG = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS hit_pages (
    page_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    variables TEXT NOT NULL,
    hit_id TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS hit_pages_hit ON hit_pages(hit_id);
CREATE TABLE IF NOT EXISTS page_claims (
    assignment_id TEXT PRIMARY KEY,
    page_id TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    client TEXT NOT NULL,
    claimed_at REAL NOT NULL,
    due_at REAL NOT NULL,
    expires_ms INTEGER,
    outcome TEXT,
    kept_off INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS page_claims_page ON page_claims(page_id);
CREATE INDEX IF NOT EXISTS page_claims_worker ON page_claims(worker_id);
"""

#: Outcomes of a claim once settled (an open claim has none).
SUBMITTED, UNSUBMITTED = "submitted", "unsubmitted"
#: A join-code suffix that is an expiry (epoch milliseconds), which a claim may shorten.
EXPIRY_SUFFIX = re.compile(r":([0-9]{10,16})")
#: Seconds after a claim's due time before it is judged unsubmitted (clock skew, slow lists).
DUE_GRACE_SECONDS = 300

#: Longest page id accepted from a request (ids made here are 32 hex digits).
PAGE_ID_LENGTH = 32


def default_store_path() -> Path:
    return paths.outputs_dir() / "hit_pages.sqlite"


def store_path(hit: HitSettings) -> Path:
    """`hit.external_store` of the profile (relative paths under the project), or the default."""
    configured = hit.external_store
    if not configured:
        return default_store_path()
    path = Path(str(configured))
    return path if path.is_absolute() else paths.project_root() / path


def page_id_for(hit_type: str, campaign: str, token: str) -> str:
    """The page id of a HIT: the same request token gives the same page."""
    return hashlib.sha256(f"{hit_type}\x00{campaign}\x00{token}".encode()).hexdigest()[:PAGE_ID_LENGTH]


@dataclass(frozen=True)
class HitPage:
    page_id: str
    kind: str
    variables: dict[str, Any]
    hit_id: str | None


class HitPageStore(SqliteFile):
    """The rows of external-mode HIT pages in one SQLite file (one connection per call)."""

    SCHEMA = SCHEMA

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        super().__init__(path)
        self.clock = clock  # claims' times (tests move it past a claim's due time)
        with self._connect() as conn:  # files made before pages named their campaign
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(hit_pages)")}
            if "campaign" not in columns:
                conn.execute("ALTER TABLE hit_pages ADD COLUMN campaign TEXT")

    def put(self, page_id: str, kind: str, variables: Mapping[str, Any], campaign: str = "") -> None:
        """Store (or refresh, before a HIT id is known) the page a HIT of `campaign` will show."""
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO hit_pages (page_id, kind, variables, created_at, campaign) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(page_id) DO UPDATE SET kind = excluded.kind, variables = excluded.variables"
                " WHERE hit_pages.hit_id IS NULL",
                (page_id, kind, json.dumps(dict(variables)), stamp, campaign),
            )

    def set_hit(self, page_id: str, hit_id: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE hit_pages SET hit_id = ? WHERE page_id = ?", (hit_id, page_id))

    def get(self, page_id: str) -> HitPage | None:
        if not page_id or len(page_id) > PAGE_ID_LENGTH:
            return None
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM hit_pages WHERE page_id = ?", (page_id,)).fetchone()
        if row is None:
            return None
        return HitPage(row["page_id"], row["kind"], json.loads(row["variables"]), row["hit_id"])

    # -- claims ------------------------------------------------------------------------
    def claim_of(self, assignment_id: str) -> Claim | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM page_claims WHERE assignment_id = ?", (assignment_id,)).fetchone()
        return Claim.from_row(row) if row is not None else None

    def add_claim(self, page: HitPage, assignment_id: str, worker_id: str, client: str,
                  duration_seconds: int, now: float | None = None) -> Claim:
        """A new claim on the page, with join codes of its own when the page's codes expire.

        Claims never exclude each other: the service cannot tell which accepted assignment id
        is real before one is submitted, so every claimant gets a claim, and only the one whose
        assignment is submitted counts (`settle`). Each claim's expiry is the page's, cut to
        the claim's due time, and differs from every other claim's on the page by at least a
        millisecond, so the join codes in a submission tell which claim they were shown to (codes
        of another claim in a submission show that codes were passed on).
        """
        now = self.clock() if now is None else now
        due = now + max(int(duration_seconds), 60)
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT * FROM page_claims WHERE assignment_id = ?", (assignment_id,)).fetchone()
            if row is not None:
                return Claim.from_row(row)
            expires = _claim_expiry(conn, page, due)
            conn.execute(
                "INSERT INTO page_claims (assignment_id, page_id, worker_id, client, claimed_at, due_at, expires_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (assignment_id, page.page_id, worker_id, client[:64], now, due, expires),
            )
            row = conn.execute("SELECT * FROM page_claims WHERE assignment_id = ?", (assignment_id,)).fetchone()
        return Claim.from_row(row)

    def claims(self, page_id: str | None = None) -> int:
        with self._connect() as conn:
            if page_id is None:
                return int(conn.execute("SELECT COUNT(*) FROM page_claims").fetchone()[0])
            return int(conn.execute("SELECT COUNT(*) FROM page_claims WHERE page_id = ?", (page_id,)).fetchone()[0])

    def claims_of_hit(self, hit_id: str) -> list[Claim]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT c.* FROM page_claims c JOIN hit_pages p ON p.page_id = c.page_id WHERE p.hit_id = ?"
                " ORDER BY c.claimed_at", (hit_id,),
            ).fetchall()
        return [Claim.from_row(row) for row in rows]

    def mark_submitted(self, hit_id: str, assignment_ids: Collection[str]) -> int:
        """The service listed these assignments of the HIT as submitted: their claims won."""
        if not assignment_ids:
            return 0
        marks = ", ".join("?" * len(assignment_ids))
        with self._connect() as conn:
            changed = conn.execute(
                f"UPDATE page_claims SET outcome = ? WHERE assignment_id IN ({marks}) AND page_id IN"  # noqa: S608 - marks only
                " (SELECT page_id FROM hit_pages WHERE hit_id = ?)",
                (SUBMITTED, *assignment_ids, hit_id),
            ).rowcount
        return int(changed)

    def settle(self, hit_id: str, submitted: Collection[str], now: float | None = None) -> list[Claim]:
        """Judge the HIT's due claims against every assignment the service shows as submitted
        (`Submitted`, `Approved` or `Rejected`): those ids win, and a due claim whose id is not
        among them never was an assignment that got worked (made up, returned or abandoned) and
        is flagged. Returns the claims flagged now."""
        now = self.clock() if now is None else now
        self.mark_submitted(hit_id, submitted)
        flagged = [c for c in self.claims_of_hit(hit_id)
                   if c.outcome is None and c.due_at + DUE_GRACE_SECONDS <= now and c.assignment_id not in submitted]
        with self._connect() as conn:
            for found in flagged:
                conn.execute("UPDATE page_claims SET outcome = ? WHERE assignment_id = ? AND outcome IS NULL",
                             (UNSUBMITTED, found.assignment_id))
        for found in flagged:
            LOG.warning("HIT %s: the page was opened as assignment %s by worker %s, which was never submitted; "
                        "the worker gets no more HIT pages", hit_id, found.assignment_id, found.worker_id)
        return flagged

    def due_hits(self, worker_id: str | None = None, now: float | None = None, *, campaign: str | None = None) -> list[str]:
        """HITs holding open claims past their due time (of one worker, or anyone's; of one
        campaign, or all): to settle."""
        now = self.clock() if now is None else now
        query = ("SELECT DISTINCT p.hit_id FROM page_claims c JOIN hit_pages p ON p.page_id = c.page_id"
                 " WHERE c.outcome IS NULL AND c.due_at + ? <= ? AND p.hit_id IS NOT NULL")
        args: list[Any] = [DUE_GRACE_SECONDS, now]
        if worker_id is not None:
            query, args = query + " AND c.worker_id = ?", [*args, worker_id]
        if campaign is not None:
            query, args = query + " AND p.campaign = ?", [*args, campaign]
        with self._connect() as conn:
            rows = conn.execute(query, args).fetchall()
        return [str(row[0]) for row in rows]

    def flagged(self, worker_id: str | None = None, *, campaign: str | None = None,
                not_kept_off: bool = False) -> list[Claim]:
        """Claims that never became a submission (of one worker, or all; on one campaign's pages,
        or all; with `not_kept_off`, only those whose worker was not yet kept off)."""
        query = ("SELECT c.* FROM page_claims c JOIN hit_pages p ON p.page_id = c.page_id WHERE c.outcome = ?")
        args: list[Any] = [UNSUBMITTED]
        if worker_id is not None:
            query, args = query + " AND c.worker_id = ?", [*args, worker_id]
        if campaign is not None:
            query, args = query + " AND p.campaign = ?", [*args, campaign]
        if not_kept_off:
            query += " AND c.kept_off = 0"
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY c.claimed_at", args).fetchall()
        return [Claim.from_row(row) for row in rows]

    def mark_kept_off(self, claims: Collection[Claim]) -> None:
        with self._connect() as conn:
            conn.executemany("UPDATE page_claims SET kept_off = 1 WHERE assignment_id = ?",
                             [(claim.assignment_id,) for claim in claims])


@dataclass(frozen=True)
class Claim:
    """An assignment id and worker id that opened a HIT page while the service showed the HIT
    accepted: unproven until the service lists that assignment as submitted."""

    assignment_id: str
    page_id: str
    worker_id: str
    claimed_at: float
    due_at: float
    expires_ms: int | None
    outcome: str | None

    @classmethod
    def from_row(cls, row: Any) -> Claim:
        return cls(row["assignment_id"], row["page_id"], row["worker_id"], float(row["claimed_at"]),
                   float(row["due_at"]), row["expires_ms"], row["outcome"])

    def variables(self, page: HitPage) -> dict[str, Any]:
        """The page's variables as this claim sees them: its own join-code expiry when it has one."""
        if self.expires_ms is None:
            return dict(page.variables)
        return {**page.variables, "join_code_suffix": f":{self.expires_ms}"}


def page_expiry_ms(page: HitPage) -> int | None:
    """The expiry (epoch ms) the page's join codes carry, or None when they carry none."""
    found = EXPIRY_SUFFIX.fullmatch(str(page.variables.get("join_code_suffix") or ""))
    return int(found.group(1)) if found else None


def _claim_expiry(conn: Any, page: HitPage, due: float) -> int | None:
    """The claim's expiry: the page's, cut to the claim's due time, unique on the page."""
    page_ms = page_expiry_ms(page)
    if page_ms is None:
        return None
    expires = min(page_ms, int(due * 1000))
    taken = {row[0] for row in conn.execute(
        "SELECT expires_ms FROM page_claims WHERE page_id = ? AND expires_ms IS NOT NULL", (page.page_id,))}
    while expires in taken:
        expires -= 1
    return expires
