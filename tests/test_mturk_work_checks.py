"""What MTurk confirms to the task server and our pages is told in our words (`mturk.work_checks`):
an assignment MTurk does not show is None (in progress or made up), a HIT it does not know is
`known=False`, and MTurk's statuses are the crowd records' states."""

from __future__ import annotations

from iglu_lib.crowd.db import APPROVED, REJECTED, SUBMITTED
from iglu_lib.mturk.manager import HitManager
from iglu_lib.mturk.provider import MTurkProvider
from iglu_lib.mturk.work_checks import REVIEWED, WorkHolding, state


def test_unknown_work_and_assignments_are_answered_without_mturk_words(local_profile, unique_name):
    provider = MTurkProvider(HitManager.open(local_profile, hit_type="work-checks", campaign=unique_name("checks")))
    assert provider.holding("NOSUCHHIT00000000000000000000") == WorkHolding(False, 0, 0)
    assert provider.seen("NOSUCHASSIGNMENT0000000000000") is None


def test_mturk_statuses_become_the_records_states():
    assert [state(status) for status in REVIEWED] == [SUBMITTED, APPROVED, REJECTED]
