"""`GET /study` and its answer form: the page a Prolific campaign study sends participants to.

Prolific opens the study's external URL with the participant, study and session filled in
(`workerId`, `hitId`, `assignmentId`, the names the HIT pages read). Anyone can type them, so
every request is checked with Prolific first: the session exists, belongs to that study and that
participant, is in progress, and the study is the campaign's (`<campaign>:study`). Only then
does the page claim a slot for the session (`StudySlotStore.claim`: the oldest slot the loop's
scheduler planned, so balanced or adaptive scheduling and free instances hold as on MTurk) and
show its join codes, in the same HIT page as an MTurk worker sees. The crowd-form script posts
the answers to `turkSubmitTo + "/mturk/externalSubmit"`, i.e. `/study/mturk/externalSubmit`,
where they are kept once with the claim and the browser goes on to Prolific's completion URL
with the study's completion code. The loop judges them as it judges a HIT's answers.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from iglu_lib.crowd.server import (
    CROWD_SCRIPT_URL,
    RETRY_SECONDS,
    Page,
    RequestProblem,
    checked,
    simple_page,
)
from iglu_lib.crowd.study_campaign import STUDY_SUFFIX
from iglu_lib.crowd.study_slots import CLAIMED, StudySlot, StudySlotStore
from iglu_lib.prolific.client import ProlificError
from iglu_lib.prolific.provider import ProlificProvider, Study, Submission, completion_url

if TYPE_CHECKING:
    from iglu_lib.config import Profile

LOG = logging.getLogger(__name__)

NO_SLOT = ("Every game of this study is taken right now; one comes free when the researcher's system plans the "
           "next (a few seconds). This page reloads by itself. If nothing comes after a few minutes, return the "
           "study on Prolific (nothing is lost).")


class StudyPages:
    """The study page of Prolific campaigns and its answer form."""

    def __init__(self, store: StudySlotStore, provider: ProlificProvider, *, crowd_script: str | None = None) -> None:
        self.store = store
        self.provider = provider
        self.crowd_script = crowd_script
        self._studies: dict[str, Study] = {}

    def page(self, params: Mapping[str, str]) -> Page:
        campaign = checked(params.get("campaign", ""), "campaign")
        session = self._session(params.get("assignmentId", ""), params.get("hitId", ""), params.get("workerId", ""))
        study = self._study(session.study_id, campaign)
        if self.store.given_back(session.id):
            raise RequestProblem("This session was returned or timed out; start the study again on Prolific.", 409)
        slot = self.store.claim(campaign, session.id, session.participant_id)
        if slot is None:  # the session keeps its place and waits: the loop plans a slot for every free place
            refresh = f'<meta http-equiv="refresh" content="{RETRY_SECONDS}">'
            page = simple_page("No game free yet", f"<p>{html.escape(NO_SLOT)}</p>").replace("</head>", refresh + "</head>", 1)
            return Page("no-slot", page, 503)
        if slot.state != CLAIMED:
            return self._done(study)
        return Page("hit", self._render(slot))

    def answer(self, form: Mapping[str, str]) -> Page:
        """The answers of a session's slot, kept once; then on to Prolific's completion URL."""
        session_id = checked(form.get("assignmentId", ""), "assignmentId")
        slot = self.store.of_session(session_id)
        if slot is None:
            raise RequestProblem("This session holds no game of this study; open the study from Prolific.", 403)
        session = self._session(session_id, "", slot.participant_id or "")
        study = self._study(session.study_id, slot.campaign)
        answers = form.get("taskAnswers", "")
        if not answers.strip():
            raise RequestProblem("The form sent no answers; fill it in and send it again.", 400)
        if not self.store.answer(session_id, answers):
            LOG.info("session %s sent answers again; the first are kept", session_id)
        return self._done(study)

    def _done(self, study: Study) -> Page:
        if not study.completion_code:
            raise RequestProblem("This study has no completion code; tell the researcher.", 500)
        return Page("redirect", status=302, location=completion_url(study.completion_code))

    def _session(self, session_id: str, study_id: str, participant_id: str) -> Submission:
        session = checked(session_id, "assignmentId")
        try:
            found = self.provider.submission(session)
        except ProlificError as err:
            if err.status is None or err.status == 429 or err.status >= 500:
                raise RequestProblem("Prolific could not be reached to check your session; reload in a minute.",
                                     503) from None
            raise RequestProblem("Prolific does not know this session; open the study from Prolific.", 403) from None
        if study_id and found.study_id != checked(study_id, "hitId"):
            raise RequestProblem("This session belongs to another study; open the study you started.", 403)
        if participant_id and found.participant_id != checked(participant_id, "workerId"):
            raise RequestProblem("This session belongs to another participant.", 403)
        if not found.in_progress:
            raise RequestProblem(f"This session is {found.state} on Prolific: it takes no more work here.", 409)
        return found

    def _study(self, study_id: str, campaign: str) -> Study:
        if study_id not in self._studies:
            self._studies[study_id] = self.provider.study(study_id)
        study = self._studies[study_id]
        if study.internal_name != f"{campaign}:{STUDY_SUFFIX}":
            raise RequestProblem("This session belongs to another study than this page's.", 403)
        return study

    def _render(self, slot: StudySlot) -> str:
        from iglu_lib.pages.templates import render_hit

        page = render_hit(slot.kind, slot.variables)
        return page.replace(CROWD_SCRIPT_URL, html.escape(self.crowd_script)) if self.crowd_script else page


def study_pages(profile: Profile) -> StudyPages:
    """The study pages of a profile's Prolific campaigns (its slot file, its Prolific workspace)."""
    from iglu_lib.crowd.study_slots import store_path

    return StudyPages(StudySlotStore(store_path(profile.hit)), ProlificProvider.open(profile),
                      crowd_script=profile.backend.crowd_script_url())
