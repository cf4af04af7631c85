"""Pages of `external`-mode HITs: what the task server needs to show a HIT, kept off the URL.

An ExternalQuestion HIT carries only `<external_url>/hit?page=<page id>`: the page id names a
row of a small SQLite file (`hit.external_store`, default `outputs/hit_pages.sqlite`) holding the
template kind and its variables (task name, task join code, agent instance ids, join code
suffix) and, once the service answered, the HIT id. The page id is derived from the HIT's
request token, so a create repeated after a crash finds the same row. It is not a secret: a
previewer sees it; what keeps the codes from a previewer is the task server's check of the
assignment with the service (`iglu_lib.crowd.server.CampaignPages`), never the id.

`iglu collect` and `iglu crowd serve` therefore share this file: run both on the host behind
the public HTTPS address (or point `hit.external_store` of both at one shared path).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iglu_lib import paths
from iglu_lib.sqlite_file import SqliteFile

if TYPE_CHECKING:
    from iglu_lib.settings import HitSettings

SCHEMA = """
CREATE TABLE IF NOT EXISTS hit_pages (
    page_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    variables TEXT NOT NULL,
    hit_id TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS hit_pages_hit ON hit_pages(hit_id);
CREATE TABLE IF NOT EXISTS hit_page_claims (
    assignment_id TEXT PRIMARY KEY,
    page_id TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    claimed_at REAL NOT NULL
);
"""

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

    def put(self, page_id: str, kind: str, variables: Mapping[str, Any]) -> None:
        """Store (or refresh, before a HIT id is known) the page a HIT will show."""
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO hit_pages (page_id, kind, variables, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(page_id) DO UPDATE SET kind = excluded.kind, variables = excluded.variables"
                " WHERE hit_pages.hit_id IS NULL",
                (page_id, kind, json.dumps(dict(variables)), stamp),
            )

    def set_hit(self, page_id: str, hit_id: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE hit_pages SET hit_id = ? WHERE page_id = ?", (hit_id, page_id))

    def claim(self, page_id: str, assignment_id: str, worker_id: str, pending: int, duration_seconds: int) -> str | None:
        """Bind an accepted slot of the page's HIT to its first claimant; the refusal, or None.

        The service confirmed only that the HIT holds `pending` accepted assignments, so at most
        that many assignment ids may hold this page at once (each for its duration), and an id
        keeps the worker it was first shown with. Rows are made only for such confirmed slots.
        """
        now = time.time()
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT * FROM hit_page_claims WHERE assignment_id = ?", (assignment_id,)).fetchone()
            if row is not None:
                if row["page_id"] != page_id or row["worker_id"] != worker_id:
                    return "This assignment was opened by another worker or for another HIT."
                return None
            held = conn.execute(
                "SELECT COUNT(*) FROM hit_page_claims WHERE page_id = ? AND claimed_at > ?",
                (page_id, now - max(duration_seconds, 60)),
            ).fetchone()[0]
            if held >= pending:
                return "The accepted assignment of this HIT is already open for another assignment id."
            conn.execute("INSERT INTO hit_page_claims VALUES (?, ?, ?, ?)", (assignment_id, page_id, worker_id, now))
            return None

    def claims(self, page_id: str | None = None) -> int:
        with self._connect() as conn:
            if page_id is None:
                return int(conn.execute("SELECT COUNT(*) FROM hit_page_claims").fetchone()[0])
            return int(conn.execute("SELECT COUNT(*) FROM hit_page_claims WHERE page_id = ?", (page_id,)).fetchone()[0])

    def release(self, page_id: str) -> None:
        """The HIT's accepted assignments were returned (the service shows none): free its slots."""
        with self._connect() as conn:
            conn.execute("DELETE FROM hit_page_claims WHERE page_id = ?", (page_id,))

    def get(self, page_id: str) -> HitPage | None:
        if not page_id or len(page_id) > PAGE_ID_LENGTH:
            return None
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM hit_pages WHERE page_id = ?", (page_id,)).fetchone()
        if row is None:
            return None
        return HitPage(row["page_id"], row["kind"], json.loads(row["variables"]), row["hit_id"])
