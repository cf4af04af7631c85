"""Exports of a static task's records that can leave the machine.

Worker ids become keyed pseudonyms (the workbench's HMAC under the profile's salt, so one
worker keeps one name across exports), onboarding answers stay in the SQLite file only, and
the free text workers submitted is scrubbed of links, addresses, phone numbers and worker ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from iglu_lib.crowd.db import CrowdDB

SUBMISSION_COLUMNS = ("assignment_id", "task_run_id", "unit_id", "worker_id", "submitted_at")


def private_frames(db: CrowdDB, salt: str) -> dict[str, pd.DataFrame]:
    """`onboarding` and `submissions` as DataFrames fit to export."""
    from iglu_lib.platform.privacy import pseudonym, scrub

    onboarding = db.frame("onboarding").drop(columns=["answer"])
    submissions = db.frame("submissions")
    for frame in (onboarding, submissions):
        frame["worker_id"] = frame["worker_id"].map(lambda worker: pseudonym(str(worker), salt))
    for column in submissions.columns:
        if column not in SUBMISSION_COLUMNS:
            submissions[column] = submissions[column].map(lambda text: scrub(text, salt=salt))
    return {"onboarding": onboarding, "submissions": submissions}


def export_records(db: CrowdDB, folder: str | Path, salt: str) -> dict[str, Path]:
    """Write `onboarding.csv` and `submissions.csv` to `folder` (formula-leading cells escaped
    for spreadsheets); returns their paths."""
    from iglu_lib.spreadsheet import escape_frame

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, frame in private_frames(db, salt).items():
        path = target / f"{name}.csv"
        escape_frame(frame).to_csv(path, index=False)  # people open these in spreadsheets
        written[name] = path
    return written


def onboarding_verdicts(onboarding: pd.DataFrame) -> pd.Series:
    """How many workers `passed` and `failed` the onboarding, from an `onboarding` frame (its
    `passed` column holds 1 or 0); a verdict nobody got is left out."""
    return onboarding["passed"].map({1: "passed", 0: "failed"}).value_counts().rename("workers")
