"""The server's clock: wall time plus an offset that tests move forward.

The offset is stored in the database, so a restarted server keeps the time it was moved to;
every time-based transition (expiry, assignment timeouts, auto-approval) reads this clock.
"""

from __future__ import annotations

import math
import sqlite3
import time

from iglu_lib.local.mturk.store import get_meta, set_meta

OFFSET_KEY = "clock_offset_seconds"
#: One move of the clock: ten years, far beyond any lifetime or delay of the service.
MAX_STEP_SECONDS = 10 * 365.25 * 24 * 3600
#: All moves together: a century, so every time the server shows stays a valid date.
MAX_OFFSET_SECONDS = 100 * 365.25 * 24 * 3600


def now(db: sqlite3.Connection) -> float:
    return time.time() + float(get_meta(db, OFFSET_KEY, 0.0))


def advance(db: sqlite3.Connection, seconds: float) -> float:
    """Move the clock forward (never back, never past a century in all) and return the new time."""
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_STEP_SECONDS:
        raise ValueError(f"seconds must be finite, >= 0 and at most {MAX_STEP_SECONDS:.0f}")
    offset = float(get_meta(db, OFFSET_KEY, 0.0)) + seconds
    if offset > MAX_OFFSET_SECONDS:
        raise ValueError(
            f"the clock is already {offset - seconds:.0f} s ahead; it moves at most "
            f"{MAX_OFFSET_SECONDS:.0f} s (a century) ahead of wall time in all"
        )
    set_meta(db, OFFSET_KEY, offset)
    return now(db)
