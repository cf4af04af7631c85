"""The server's clock: wall time plus an offset that tests move forward.

The offset is stored in the database, so a restarted server keeps the time it was moved to;
every time-based transition (expiry, assignment timeouts, auto-approval) reads this clock.
"""

from __future__ import annotations

import sqlite3
import time

from iglu_lib.local.mturk.store import get_meta, set_meta

OFFSET_KEY = "clock_offset_seconds"


def now(db: sqlite3.Connection) -> float:
    return time.time() + float(get_meta(db, OFFSET_KEY, 0.0))


def advance(db: sqlite3.Connection, seconds: float) -> float:
    """Move the clock forward (never back) and return the new time."""
    if seconds < 0:
        raise ValueError("the clock only moves forward: seconds must be >= 0")
    set_meta(db, OFFSET_KEY, float(get_meta(db, OFFSET_KEY, 0.0)) + seconds)
    return now(db)
