"""The crowd records speak the workbench's own states; a file written when they held MTurk's
capitalised statuses is read in the new words, so a run started before still reviews and
frees its units as before."""

from __future__ import annotations

import sqlite3

from iglu_lib.crowd.db import APPROVED, OPENED, SUBMITTED, CrowdDB


def test_a_file_with_the_old_capitalised_statuses_is_read_in_our_words(tmp_path):
    db = CrowdDB(tmp_path / "old.sqlite")
    run = db.create_task_run("t", "conf/t.yaml", [{"unit_id": 0, "row_number": 0, "values": {}}])
    for assignment, status in (("A1", "Opened"), ("A2", "Submitted"), ("A3", "Approved")):
        db.open_assignment(assignment, run, 0, "H", f"W{assignment}")
        with sqlite3.connect(db.path) as conn:
            conn.execute("UPDATE assignments SET status = ? WHERE assignment_id = ?", (status, assignment))

    reopened = CrowdDB(db.path)
    assert [reopened.assignment(a)["status"] for a in ("A1", "A2", "A3")] == [OPENED, SUBMITTED, APPROVED]
    assert reopened.open_claims("H") == 1  # the opened one still holds its slot
