"""The slots of Prolific campaign studies, shared by `iglu collect` and `iglu crowd serve`.

A Prolific campaign has one study whose places grow as the loop plans slots; the loop cannot
say in advance which participant works which slot. So each slot the scheduler hands out is a
row here (its template kind and variables, its request token, a stable id the records use where
an MTurk slot has its HIT id), and the study page (`iglu_lib.crowd.study_pages`) *claims* the
oldest open slot for a participant's session the moment the session opens the page. A claim is
one SQL transaction, so two sessions never get one slot; a session that opens the page again
gets the slot it claimed. The answers it posts are kept with the claim; the loop reads them as
the slot's submission.

A session Prolific shows returned or timed out gives its slot back (`release`): the slot is
open again for the next participant and the session is remembered as given back, so it never
claims again. The bonuses the loop pays are kept here too (set-up id, then paid), because
Prolific pays a set-up bonus again every time it is asked: a crash between the two steps must
be recognisable.

The file sits beside the external HIT pages' file (`hit.external_store`, default
`outputs/hit_pages.sqlite`): run both commands on one host, or point that setting of both at
one shared path.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iglu_lib.sqlite_file import SqliteFile

if TYPE_CHECKING:
    from iglu_lib.settings import HitSettings

SCHEMA = """
CREATE TABLE IF NOT EXISTS study_slots (
    slot_key TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    variables TEXT NOT NULL,
    created_at REAL NOT NULL,
    state TEXT NOT NULL,
    session_id TEXT,
    participant_id TEXT,
    claimed_at REAL,
    answers TEXT,
    submitted_at REAL,
    excluded TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS study_slots_campaign ON study_slots(campaign, state);
CREATE UNIQUE INDEX IF NOT EXISTS study_slots_session ON study_slots(session_id);
CREATE TABLE IF NOT EXISTS given_back (
    session_id TEXT PRIMARY KEY,
    slot_key TEXT NOT NULL,
    campaign TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS waiting (
    session_id TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS study_bonuses (
    token TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    reason TEXT NOT NULL,
    setup_id TEXT,
    paying_at REAL,
    paid_at REAL
);
"""

#: A slot's states: waiting for a participant, claimed by a session, answers received, settled.
OPEN, CLAIMED, ANSWERED, REVIEWING, CLOSED = "open", "claimed", "answered", "reviewing", "closed"


def store_path(hit: HitSettings) -> Path:
    """`study_slots.sqlite` beside the profile's external HIT-page file."""
    from iglu_lib.pages.store import store_path as pages_path

    return pages_path(hit).with_name("study_slots.sqlite")


def slot_key_for(campaign: str, token: str) -> str:
    """The slot's stable id (where an MTurk slot has its HIT id): the same token, the same key."""
    return "SL" + hashlib.sha256(f"{campaign}\x00{token}".encode()).hexdigest()[:28].upper()


@dataclass(frozen=True)
class StudySlot:
    """One slot of a campaign study, and the session that claimed it (if any)."""

    slot_key: str
    campaign: str
    token: str
    kind: str
    variables: dict[str, Any]
    created_at: float
    state: str
    session_id: str | None
    participant_id: str | None
    claimed_at: float | None
    answers: str | None
    submitted_at: float | None
    excluded: tuple[str, ...]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StudySlot:
        columns = dict(zip(row.keys(), row, strict=True))  # the table's columns are the fields
        return cls(**{**columns, "variables": json.loads(row["variables"]), "created_at": float(row["created_at"]),
                      "excluded": tuple(json.loads(row["excluded"]))})


@dataclass(frozen=True)
class StudyBonus:
    token: str
    session_id: str
    amount: str
    reason: str
    setup_id: str | None
    paying_at: float | None
    paid_at: float | None


class StudySlotStore(SqliteFile):
    """Slots, claims, answers and bonuses of Prolific campaign studies (one connection per call)."""

    SCHEMA = SCHEMA

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        super().__init__(path)
        self.clock = clock

    # -- the loop ----------------------------------------------------------------------------
    def put(self, campaign: str, token: str, kind: str, variables: Mapping[str, Any],
            excluded: tuple[str, ...] = ()) -> StudySlot:
        """The slot of `token` (made once: a repeat after a crash returns the first)."""
        key = slot_key_for(campaign, token)
        with self._connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO study_slots (slot_key, campaign, token, kind, variables, created_at, state,"
                " excluded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, campaign, token, kind, json.dumps(dict(variables)), self.clock(), OPEN, json.dumps(excluded)))
        found = self.get(key)
        assert found is not None  # noqa: S101 - written just above
        return found

    def get(self, slot_key: str) -> StudySlot | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM study_slots WHERE slot_key = ?", (slot_key,)).fetchone()
        return StudySlot.from_row(row) if row else None

    def with_token(self, campaign: str, token: str) -> StudySlot | None:
        return self.get(slot_key_for(campaign, token))

    def slots(self, campaign: str, *states: str) -> list[StudySlot]:
        """The campaign's slots (in the given states), oldest first."""
        query, params = "SELECT * FROM study_slots WHERE campaign = ?", [campaign]
        if states:
            query += f" AND state IN ({', '.join('?' * len(states))})"
            params.extend(states)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY created_at, slot_key", params).fetchall()
        return [StudySlot.from_row(row) for row in rows]

    def of_session(self, session_id: str) -> StudySlot | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM study_slots WHERE session_id = ?", (session_id,)).fetchone()
        return StudySlot.from_row(row) if row else None

    def set_state(self, slot_key: str, state: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE study_slots SET state = ? WHERE slot_key = ?", (state, slot_key))

    def release(self, session_id: str) -> StudySlot | None:
        """The session was returned or timed out: its slot is open again, the session never claims again."""
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM study_slots WHERE session_id = ?", (session_id,)).fetchone()
            if row is None:
                return None
            conn.execute("INSERT OR IGNORE INTO given_back (session_id, slot_key, campaign, at) VALUES (?, ?, ?, ?)",
                         (session_id, row["slot_key"], row["campaign"], self.clock()))
            conn.execute("UPDATE study_slots SET state = ?, session_id = NULL, participant_id = NULL,"
                         " claimed_at = NULL, answers = NULL, submitted_at = NULL WHERE slot_key = ?",
                         (OPEN, row["slot_key"]))
        return StudySlot.from_row(row)

    def given_back_slots(self, campaign: str) -> dict[str, str]:
        """Sessions of the campaign that gave their slot back: session id -> slot key."""
        with self._connect() as conn:
            rows = conn.execute("SELECT session_id, slot_key FROM given_back WHERE campaign = ?", (campaign,))
            return {row["session_id"]: row["slot_key"] for row in rows}

    def given_back(self, session_id: str) -> bool:
        with self._connect() as conn:
            return conn.execute("SELECT 1 FROM given_back WHERE session_id = ?", (session_id,)).fetchone() is not None

    def forget(self, campaign: str) -> int:
        """Drop every slot, given-back session and bonus of `campaign`: for a rehearsal that starts
        again on a fresh stack under the same campaign name (its study is gone with the old stack,
        and its slots' tokens would be met again). Returns the slots dropped."""
        with self._connect() as conn:
            conn.execute("DELETE FROM study_bonuses WHERE session_id IN (SELECT session_id FROM given_back WHERE "
                         "campaign = ?) OR session_id IN (SELECT session_id FROM study_slots WHERE campaign = ?)",
                         (campaign, campaign))
            conn.execute("DELETE FROM given_back WHERE campaign = ?", (campaign,))
            return int(conn.execute("DELETE FROM study_slots WHERE campaign = ?", (campaign,)).rowcount)

    # -- the study page ----------------------------------------------------------------------
    def claim(self, campaign: str, session_id: str, participant_id: str) -> StudySlot | None:
        """The slot this session claimed before, or the oldest open slot, claimed now (one
        transaction: two sessions never share a slot); None when no slot is open, and the
        session is then noted as waiting (`waiting`), which tells the loop that a place is
        free without a slot: a session it holds was returned or timed out."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT * FROM study_slots WHERE session_id = ?", (session_id,)).fetchone()
            if row is None:
                free = conn.execute("SELECT slot_key FROM study_slots WHERE campaign = ? AND state = ?"
                                    " ORDER BY created_at, slot_key LIMIT 1", (campaign, OPEN)).fetchone()
                if free is None:
                    conn.execute("INSERT OR IGNORE INTO waiting (session_id, campaign, at) VALUES (?, ?, ?)",
                                 (session_id, campaign, self.clock()))
                    return None
                conn.execute("DELETE FROM waiting WHERE session_id = ?", (session_id,))
                conn.execute("UPDATE study_slots SET state = ?, session_id = ?, participant_id = ?, claimed_at = ?"
                             " WHERE slot_key = ?", (CLAIMED, session_id, participant_id, self.clock(), free[0]))
                row = conn.execute("SELECT * FROM study_slots WHERE slot_key = ?", (free[0],)).fetchone()
        return StudySlot.from_row(row)

    def waiting(self, campaign: str) -> set[str]:
        """Sessions of the campaign that found no open slot on the page and have not claimed one since."""
        with self._connect() as conn:
            rows = conn.execute("SELECT session_id FROM waiting WHERE campaign = ?", (campaign,)).fetchall()
        return {row[0] for row in rows}

    def answer(self, session_id: str, answers: str) -> bool:
        """Keep a claimed session's answers, once (False when it has none to take or answered before)."""
        with self._connect() as conn:
            changed = conn.execute("UPDATE study_slots SET answers = ?, submitted_at = ?, state = ?"
                                   " WHERE session_id = ? AND state = ?",
                                   (answers, self.clock(), ANSWERED, session_id, CLAIMED)).rowcount
        return bool(changed)

    # -- bonuses -----------------------------------------------------------------------------
    def bonus(self, token: str) -> StudyBonus | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM study_bonuses WHERE token = ?", (token,)).fetchone()
        return StudyBonus(*row) if row else None

    def bonuses_of(self, session_id: str) -> list[StudyBonus]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM study_bonuses WHERE session_id = ?", (session_id,)).fetchall()
        return [StudyBonus(*row) for row in rows]

    def bonus_set_up(self, token: str, session_id: str, amount: str, reason: str, setup_id: str) -> None:
        with self._connect() as conn:
            conn.execute("INSERT OR IGNORE INTO study_bonuses (token, session_id, amount, reason, setup_id)"
                         " VALUES (?, ?, ?, ?, ?)", (token, session_id, amount, reason, setup_id))

    def bonus_paying(self, token: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE study_bonuses SET paying_at = ? WHERE token = ?", (self.clock(), token))

    def bonus_paid(self, token: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE study_bonuses SET paid_at = ? WHERE token = ?", (self.clock(), token))
