"""Notebook 04's review of submitted work, for a campaign on either crowd service.

On MTurk the work is the campaign's HITs of one type and their assignments (`HitManager`); on
Prolific it is the campaign study's slots and the sessions that answered on the study page
(`StudyCampaign`, which speaks the same nouns). `open_manager` picks the one the campaign's
parameters name (`provider`), and the listing and the decisions given as parameters then go
through the same functions: every decision booked once in the campaign's ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from iglu_lib import paths

if TYPE_CHECKING:
    import pandas as pd

    from iglu_lib.config import Profile
    from iglu_lib.crowd.study_campaign import StudyCampaign
    from iglu_lib.ledger.book import Ledger
    from iglu_lib.providers import CampaignSubmission, ReviewedCrowd

#: The columns of `work_frame`, one row per HIT or slot (as `mturk.review.HIT_COLUMNS`).
SLOT_COLUMNS = ("hit_id", "status", "session", "participant", "claimed_at", "submitted_at")


def open_manager(profile: Profile, *, hit_type: str, campaign: str, campaign_params: str | Path | None = None,
                 allow_spending: bool = False) -> ReviewedCrowd:
    """The manager of the campaign's work: its study's slots when `campaign_params` (relative to
    the project) say `provider: prolific`, else its MTurk HITs of `hit_type`."""
    from iglu_lib.collection.params import CampaignParams
    from iglu_lib.providers import DEFAULT_PROVIDER, CrowdOptions, open_reviewed_crowd

    if campaign_params:
        params = CampaignParams.from_file(_project_path(campaign_params))
        if params.provider != DEFAULT_PROVIDER:
            return open_reviewed_crowd(params.provider, profile, CrowdOptions(
                params.campaign, kind=params.hit_type, page_url=params.study_url,
                estimated_minutes=params.study_minutes, allow_spending=allow_spending))
    return open_reviewed_crowd(DEFAULT_PROVIDER, profile, CrowdOptions(campaign, kind=hit_type,
                                                                       allow_spending=allow_spending))


def _project_path(path: str | Path) -> Path:
    given = Path(path)
    return given if given.is_absolute() else paths.project_root() / given


def _is_study(manager: ReviewedCrowd) -> TypeGuard[StudyCampaign]:
    from iglu_lib.crowd.study_campaign import StudyCampaign

    return isinstance(manager, StudyCampaign)


def work_frame(manager: ReviewedCrowd) -> pd.DataFrame:
    """The campaign's HITs (MTurk) or its study's slots with the session holding each (Prolific),
    one row each, with a `status` column either way."""
    import pandas as pd

    from iglu_lib.mturk import review

    if not _is_study(manager):
        return review.hits_frame(manager)
    rows = [{"hit_id": slot.slot_key, "status": slot.state, "session": slot.session_id,
             "participant": slot.participant_id, "claimed_at": slot.claimed_at, "submitted_at": slot.submitted_at}
            for slot in manager.store.slots(manager.campaign)]
    return pd.DataFrame(rows, columns=list(SLOT_COLUMNS))


def on_service(manager: ReviewedCrowd) -> dict[str, Any]:
    """The campaign's work as the crowd service shows it (`iglu campaign status` shows the same):
    its HITs by status on MTurk; its study's status, places, sessions and slots by state on Prolific."""
    if _is_study(manager):
        return dict(manager.service_status())
    from iglu_lib.collection.winddown import service_status

    return {"hits": service_status(manager)}


def by_status(work: pd.DataFrame) -> pd.DataFrame:
    """How many HITs or slots of a `work_frame` are in each status."""
    from iglu_lib.mturk import review

    return review.hits_by_status(work)


def waiting_for_review(manager: ReviewedCrowd, agents: int = 2) -> list[CampaignSubmission]:
    """Submitted work no decision was taken on yet: assignments of the campaign's HITs, or the
    sessions awaiting review whose answers the study page kept."""
    from iglu_lib.crowd.study_slots import ANSWERED, REVIEWING
    from iglu_lib.mturk import review

    if not _is_study(manager):
        return [*review.submitted_assignments(manager, agents=agents)]
    found: list[CampaignSubmission] = []
    for slot in manager.store.slots(manager.campaign, ANSWERED, REVIEWING):
        found.extend(manager.submitted_assignments(slot.slot_key, agents=agents))
    return found


def assignments_frame(assignments: Iterable[CampaignSubmission]) -> pd.DataFrame:
    """One row per submission: ids, status, answers and the state of each completion code."""
    from iglu_lib.mturk import review
    from iglu_lib.platform.codes import code_status

    return review.assignments_frame(assignments, code_status)


def record_decisions(manager: ReviewedCrowd, decisions: Iterable[Mapping[str, Any]], output_dir: str | Path, act: bool, *,
                     agents: int = 2, ledger: Ledger | None = None) -> tuple[list[dict[str, Any]], Path]:
    """Decisions about single submissions (`assignment_id`: a session on Prolific), carried out
    through the ledger only when `act` is true, and written to `output_dir` either way."""
    from iglu_lib.mturk import review

    return review.record_decisions(manager, decisions, review.output_folder(output_dir), act, agents=agents,
                                   ledger=ledger)
