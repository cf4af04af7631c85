"""A campaign on Prolific: one study, its slots claimed by sessions, settled by the same loop.

The campaign loop (`iglu_lib.collection`) plans slots, judges submissions from the game data,
pays and sanctions through its ledger; it asks its *manager* for the work it posted, what was
submitted, and to approve, reject, pay, message and block. `StudyCampaign` is that manager for
`provider: prolific`, speaking the loop's nouns (a slot's work is a "HIT" with a stable id, a
session's submission an "assignment" with parsed answers) and Prolific's rules underneath:

- one study per campaign, internal name `<campaign>:study`, found again after a restart by the
  provider's `reconcile`; its places grow to the number of slots planned (Prolific never lowers
  them), and it is published with its first slot;
- a slot is a row of the shared `StudySlotStore`; the study page (`study_pages`) claims it for
  the session that opens the page and keeps the session's answers;
- the study's submissions are listed when there is something to learn, not on every turn
  (`make bench`: `prolific_calls_per_submission`): when our page kept answers Prolific has not
  yet been seen to complete, when a session found no open slot on our page (a place is free
  without a slot: a session holding one was returned or timed out), and otherwise every
  `watch_every_turns` turns (a session completing on Prolific without our page leaves no trace
  here, and neither does a return nobody is waiting behind); a restart lists at once. In a
  listing, a returned or timed-out session gives its slot back; a session awaiting review whose
  answers are kept makes its slot reviewable; one that reached Prolific's completion without our
  page holds no slot and is rejected (`NO_CODE`). Sessions settled for good are remembered and
  passed over. Places are counted from the turn's listing (one is made when a slot is
  planned in a turn without one) and the study's places as last answered (only we change them);
- a rejection carries the Prolific category that fits the verdict's reasons (`category_for`)
  and a message of at least 100 characters;
- a bonus is set up, recorded, then paid once (the ledger calls `send_bonus` once per intent;
  the set-up id and the moment of paying are kept here, so a retry after a crash recognises a
  payment that may have been made instead of making a second);
- the campaign's soft blocks, caps and allow-list are participant groups the study excludes
  (or requires); hard blocks go to the workspace's blocked group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from iglu_lib.crowd.study_slots import (
    ANSWERED,
    CLAIMED,
    CLOSED,
    OPEN,
    REVIEWING,
    StudySlot,
    StudySlotStore,
)
from iglu_lib.errors import IgluError
from iglu_lib.pages.answers import MAX_ANSWER_BYTES, ParsedAnswers, crowd_form_fields
from iglu_lib.pages.templates import shown_join_codes
from iglu_lib.prolific.provider import (
    AWAITING_REVIEW,
    BLOCKED_GROUP,
    MIN_REJECTION_MESSAGE,
    STATES,
    ProlificProvider,
    Study,
    Submission,
)
from iglu_lib.prolific.rejections import NO_CODE
from iglu_lib.prolific.rejections import category_for as category_for
from iglu_lib.providers import PaidBonus, SubmissionStatus, WorkState

if TYPE_CHECKING:
    from iglu_lib.config import Profile
    from iglu_lib.providers import CampaignWork, CrowdOptions

LOG = logging.getLogger(__name__)

#: The study of a campaign: `<campaign>:study`; `reconcile("<campaign>:")` finds it.
STUDY_SUFFIX = "study"
#: Where our page sends a session's answers: the crowd-form script posts to
#: `turkSubmitTo + "/mturk/externalSubmit"`, so the study URL names `<serve>/study` as turkSubmitTo.
SUBMIT_PATH = "/study/mturk/externalSubmit"
#: What a rejection message says after the verdict's sentences when they are shorter than Prolific allows.
REJECTION_TAIL = (" Our checks of the games behind your completion codes found the problems above, so this "
                  "submission cannot be approved. Please message us through Prolific if you think this is a mistake.")
NO_PAGE_REASON = ("This submission reached Prolific's completion page without any work recorded on our study page: "
                  "no games or answers were received for it, so it cannot be approved. Please message us through "
                  "Prolific if you think this is a mistake.")
#: A session's states that are a submission's (`Submission.state` speaks our lower-case words).
SUBMISSION_STATES = frozenset(str(status) for status in SubmissionStatus)
#: Our submission statuses in Prolific's words (its first word for each), to note what it accepted.
PROLIFIC_STATUS = {ours: theirs for theirs, ours in reversed(STATES.items())}
#: Turns between two listings of the study's submissions when nothing on our side calls for one.
WATCH_EVERY_TURNS = 10
#: Listings that may find a session Prolific has not shown completed although our page kept its
#: answers (its browser was on its way to Prolific's completion page), before it waits for the next watch.
CONFIRM_TRIES = 2
#: Session states that hold one of the study's places (Prolific's `places_taken`: started, not
#: returned, timed out or rejected).
HOLDING = ("working", "submitted", "approved")



def rejection_message(message: str) -> str:
    """The verdict's message, lengthened to Prolific's minimum when it is short."""
    text = " ".join(message.split())
    return text if len(text) >= MIN_REJECTION_MESSAGE else (text + REJECTION_TAIL).strip()


def session_answers(task_answers: str) -> ParsedAnswers:
    """A session's `taskAnswers` (the crowd form's JSON, as our study page kept it) read exactly as
    a HIT's are: the same fields, the same problems, the same size limit."""
    size = len(task_answers.encode("utf-8"))
    if size > MAX_ANSWER_BYTES:
        return ParsedAnswers({}, (f"the answer is {size} bytes, over the limit of {MAX_ANSWER_BYTES}; not parsed",))
    fields, problems = crowd_form_fields(task_answers)
    return ParsedAnswers(fields, tuple(problems))


@dataclass(frozen=True)
class SessionSubmission:
    """A session's submission as the loop judges it (`providers.CampaignSubmission`): the slot is
    its piece of work, the participant its worker, `document` the answers as our page kept them."""

    assignment_id: str
    hit_id: str
    worker_id: str
    state: SubmissionStatus
    accept_time: datetime | None
    submit_time: datetime | None
    answers: ParsedAnswers
    document: str = field(repr=False, compare=False)

    @property
    def status(self) -> str:
        """The state as people read it (a HIT's assignment shows MTurk's word here, a session ours)."""
        return str(self.state)


def _moment(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, timezone.utc) if epoch is not None else None


@dataclass(frozen=True)
class SlotToken:
    """What the loop's adoption reads of a piece of work's tag: its request token (and campaign)."""

    token: str | None
    campaign: str | None = None


#: A slot's state in the slot file as the loop's state of a piece of work.
SLOT_WORK_STATES = {OPEN: WorkState.OPEN, CLAIMED: WorkState.HELD, ANSWERED: WorkState.REVIEWABLE,
                    REVIEWING: WorkState.REVIEWING, CLOSED: WorkState.DISPOSED}


@dataclass(frozen=True)
class SlotWork:
    """A slot as the loop sees a piece of work: its id and its state in the loop's words."""

    hit_id: str
    state: WorkState
    annotation: SlotToken = field(default_factory=lambda: SlotToken(None))
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def status(self) -> str:
        """The state as people read it (a HIT shows MTurk's word here, a slot ours)."""
        return str(self.state)

    @property
    def pending(self) -> int:
        """Nothing held: the slot is listed once its session answered or ended."""
        return 0

    @property
    def expiration(self) -> datetime | None:
        return None

    @property
    def created(self) -> datetime | float | None:
        return None

    @property
    def assignment_seconds(self) -> int | None:
        return None


class StudyGroup:
    """A campaign capability as a participant group (the peer of `CampaignQualification`)."""

    def __init__(self, provider: ProlificProvider, name: str, excluded: bool = True) -> None:
        self.provider = provider
        self.name = name[:100]
        self.excluded = excluded

    def requirement(self) -> dict[str, Any]:
        return {"group": self.name, "excluded": True}

    def required(self) -> dict[str, Any]:
        return {"group": self.name, "excluded": False}

    def grant(self, worker_id: str) -> None:
        self.provider.add_to_group(self.name, [worker_id])

    def workers(self) -> set[str]:
        return set(self.provider.group_members(self.name))


class StudyCapabilities:
    """A campaign's capabilities made of participant groups (the peer of MTurk's qualifications)."""

    def __init__(self, provider: ProlificProvider) -> None:
        self.provider = provider

    def soft_block(self, campaign: str) -> StudyGroup:
        return StudyGroup(self.provider, f"iglu-blocked-{campaign}")

    def cap(self, campaign: str) -> StudyGroup:
        return StudyGroup(self.provider, f"iglu-capped-{campaign}")

    def allowed(self, campaign: str) -> StudyGroup:
        return StudyGroup(self.provider, f"iglu-allowed-{campaign}", excluded=False)

    def judged_task(self, campaign: str, task_id: str) -> StudyGroup:
        """Refused: a campaign's one study cannot keep a participant from one task's slots only."""
        raise IgluError(f"campaign {campaign} runs on Prolific, whose one study cannot keep participants from "
                        f"task {task_id} only: remove one_judgement_per_task")


@dataclass(frozen=True)
class StudySettings:
    """What the study shows and pays: title, description, our page, reward, minutes."""

    title: str
    description: str
    page_url: str
    reward: Decimal
    estimated_minutes: int


class StudyCampaign:
    """The loop's manager for a campaign on Prolific (see the module's docstring)."""

    question_mode = "external"  # codes only to a verified session (no preview shows them)
    reverses_rejections = False  # Prolific approves only a submission awaiting review

    def __init__(self, provider: ProlificProvider, store: StudySlotStore, campaign: str, settings: StudySettings,
                 *, kind: str = "pairwise", allow_spending: bool = False,
                 watch_every_turns: int = WATCH_EVERY_TURNS) -> None:
        self.provider = provider
        self.kind = kind
        self.store = store
        self.campaign = campaign
        self.settings = settings
        self.allow_spending = allow_spending
        self.capabilities = StudyCapabilities(provider)
        self._study: Study | None = None
        self._listed: dict[str, Submission] = {}
        self.stopped = False  # `stop_taking_work` was asked: no slot opens and no place is added
        self.watch_every_turns = watch_every_turns
        self._turn = 0  # `reviewable_hits` is asked once a turn
        self._filled = False  # a listing found every place taken since the study's status was last read
        self._freed = False  # a session gave its place back or was rejected since then
        self._status_turn: int | None = None  # the turn the study's status was last read for open slots
        self._watched_turn: int | None = None  # the turn of the last listing (None: not since the start)
        self._unconfirmed: dict[str, int] = {}  # answered sessions not seen completed: listings that missed them
        self._seen_waiting: set[str] = set()  # sessions waiting for a slot at the last listing
        self._settled: set[str] = set()  # sessions nothing more happens to (given back, rejected without page)

    @classmethod
    def open(cls, profile: Profile, campaign: str, *, page_url: str | None, estimated_minutes: int,
             kind: str = "pairwise", title: str | None = None, allow_spending: bool = False) -> StudyCampaign:
        """The campaign's study side; it spends (publishes, approves, pays bonuses) when the
        profile says `spend_money` or a person allows it for this run (`allow_spending`)."""
        from iglu_lib.crowd.study_slots import store_path

        url = (page_url or str(profile.hit.external_url or "")).rstrip("/")
        if not url:
            raise IgluError(f"campaign {campaign} runs on Prolific but names no study page: set study_url in the "
                            "campaign (the address of `iglu crowd serve`) or hit.external_url in the profile")
        settings = StudySettings(title or profile.hit.title or f"IGLU study {campaign}",
                                 profile.hit.description or "Play short building games and compare the builders.",
                                 url, Decimal(str(profile.hit.reward)), estimated_minutes)
        return cls(ProlificProvider.open(profile), StudySlotStore(store_path(profile.hit)), campaign, settings,
                   kind=kind, allow_spending=profile.spend_money or allow_spending)

    @classmethod
    def for_campaign(cls, profile: Profile, options: CrowdOptions) -> StudyCampaign:
        """The study side of a campaign (`providers.open_campaign_crowd`)."""
        return cls.open(profile, options.campaign, page_url=options.page_url,
                        estimated_minutes=options.estimated_minutes, kind=options.kind,
                        allow_spending=options.allow_spending)

    # -- the study ---------------------------------------------------------------------------
    @property
    def study_name(self) -> str:
        return f"{self.campaign}:{STUDY_SUFFIX}"

    def study(self) -> Study | None:
        """The campaign's study, found by its internal name (None before the first slot)."""
        if self._study is None:
            found = [w for w in self.provider.reconcile(f"{self.campaign}:") if w.key == self.study_name]
            self._study = self.provider.study(found[0].work_id) if found else None
        return self._study

    @property
    def known_study(self) -> Study | None:
        """The study as last read, without asking Prolific (None before it is found or made)."""
        return self._study

    def page_url(self) -> str:
        """Our study page for this campaign; Prolific appends the participant, study and session."""
        base = self.settings.page_url
        return f"{base}/study?campaign={self.campaign}&turkSubmitTo={base}/study"

    def _ensure_places(self, excluded: Sequence[str], required: Sequence[str]) -> Study:
        """The study with a free place for every open slot, beside the places sessions hold
        (a rejected or returned session frees its place, Prolific's rule, and a slot that runs
        again is a new open slot): drafted and published with the first slot.

        The places taken come from this turn's listing of the submissions (made now if the turn
        has none), the study's places from its last answer (only we change them); the study is
        read only when open slots wait and nobody is at work, since Prolific moves a study that
        filled up to awaiting review by itself and it then takes nobody until started again."""
        open_slots = len(self.store.slots(self.campaign, OPEN))
        study = self.study()
        if study is None:
            from iglu_lib.crowd.prolific_provider import URL_NAMES

            study = self.provider.create_draft(
                self.study_name, title=self.settings.title, description=self.settings.description,
                url=self.page_url(), reward=self.settings.reward, places=max(1, open_slots),
                estimated_minutes=self.settings.estimated_minutes, url_names=URL_NAMES,
                required_groups=required, excluded_groups=excluded)
        if not study.published:
            study = self.provider.publish(study.id, allow_spending=self.allow_spending, known=study)
        self._study = study
        if self._watched_turn != self._turn:
            self._submissions()
        working = [s for s in self._listed.values() if s.in_progress]
        unclaimed = sum(1 for s in working if self.store.of_session(s.id) is None)
        taken = sum(1 for s in self._listed.values() if s.state in HOLDING)
        if taken - unclaimed + open_slots > study.places:
            study = self.provider.grow_places(study.id, taken - unclaimed + open_slots,
                                              allow_spending=self.allow_spending, known=study)
        elif open_slots > unclaimed and not working and self._may_have_filled(taken, study):
            study = self.provider.study(study.id)
            if study.status == AWAITING_REVIEW:  # it filled up, then a rejection or a return freed a place
                study = self.provider.resume(study.id)
            self._filled, self._freed, self._status_turn = False, False, self._turn
        self._study = study
        return study

    def _may_have_filled(self, taken: int, study: Study) -> bool:
        """Whether the study may sit in awaiting review with a place free: a listing since the
        last look found every place taken (or the study said so) and a session then gave its
        place back or was rejected; or, for a fill between two listings, the open slots have
        waited `watch_every_turns` turns since that look."""
        self._filled = self._filled or taken >= study.places or study.status == AWAITING_REVIEW
        waited = self._status_turn is None or self._turn - self._status_turn >= self.watch_every_turns
        return (self._filled and self._freed) or waited

    # -- the loop's calls: work ----------------------------------------------------------------
    def create_hit(self, variables: Mapping[str, Any], *, unique_request_token: str, kind: str = "",
                   extra_qualification_requirements: Sequence[Mapping[str, Any]] = (), **_: Any) -> SlotWork:
        """A slot for the study page to hand out (made once per token), and a place for it."""
        groups = [r for r in extra_qualification_requirements if "group" in r]
        excluded = tuple(str(r["group"]) for r in groups if r.get("excluded"))
        required = [str(r["group"]) for r in groups if not r.get("excluded")]
        slot = self.store.put(self.campaign, unique_request_token, kind or self.kind, variables, excluded)
        if self.stopped:
            self.delete(slot.slot_key)
            return SlotWork(slot.slot_key, WorkState.DISPOSED, SlotToken(slot.token))
        self._ensure_places(excluded, required)
        return SlotWork(slot.slot_key, WorkState.OPEN, SlotToken(slot.token))

    def hit_with_token(self, token: str) -> SlotWork | None:
        slot = self.store.with_token(self.campaign, token)
        if slot is None:
            return None
        if not self.stopped:
            self._ensure_places(slot.excluded, ())  # a crash may have come before the place was added
        return SlotWork(slot.slot_key, WorkState.OPEN, SlotToken(slot.token))

    def hits(self, statuses: Sequence[str] | None = None) -> list[SlotWork]:
        """The campaign's slots not closed, in the loop's words and from the slot file alone (no
        request to Prolific), optionally by state: the adoption sweep takes in a slot whose
        records were lost, and `stop --expire` closes the open ones."""
        work = [SlotWork(slot.slot_key, SLOT_WORK_STATES[slot.state], SlotToken(slot.token, self.campaign))
                for slot in self.store.slots(self.campaign, OPEN, CLAIMED, ANSWERED, REVIEWING)]
        wanted = {str(status).lower() for status in statuses} if statuses is not None else None
        return [w for w in work if wanted is None or w.state in wanted]

    def reviewable_hits(self) -> list[SlotWork]:
        """Slots whose session's answers are kept and which Prolific shows completed (awaiting
        review, or approved or rejected by a turn a crash cut short): as a HIT stays reviewable
        until the loop marks it reviewing. The submissions are listed first when there is
        something to learn (see the module's docstring)."""
        self._turn += 1
        if not self.store.slots(self.campaign) or self.study() is None:
            return []
        if self._watch_due():
            self._watch()
        return [SlotWork(slot.slot_key, WorkState.REVIEWABLE, SlotToken(slot.token))
                for slot in self.store.slots(self.campaign, ANSWERED) if self._completed(slot)]

    def look_again(self) -> None:
        """Make the next turn list the submissions whatever the schedule says: before the last
        settling of a campaign winding down, which must see every session as Prolific does."""
        self._watched_turn = None

    def _completed(self, slot: StudySlot) -> bool:
        session = self._listed.get(slot.session_id or "")
        return session is not None and session.state in SUBMISSION_STATES

    def _watch_due(self) -> bool:
        """Whether this turn lists the submissions: at the start, every `watch_every_turns`
        turns, for answers Prolific was not yet seen to complete, and for a session waiting."""
        if self._watched_turn is None or self._turn - self._watched_turn >= self.watch_every_turns:
            return True
        answered = [s.session_id for s in self.store.slots(self.campaign, ANSWERED) if not self._completed(s)]
        if any(self._unconfirmed.get(session or "", 0) < CONFIRM_TRIES for session in answered):
            return True
        return bool(self.store.waiting(self.campaign) - self._seen_waiting)

    def _watch(self) -> None:
        """List the study's submissions once and act on what changed; then make sure the open
        slots have places (which this listing tells, with no other request unless one is short)."""
        self._seen_waiting = self.store.waiting(self.campaign)
        self._submissions()
        for slot in self.store.slots(self.campaign, ANSWERED):
            if slot.session_id and not self._completed(slot):
                self._unconfirmed[slot.session_id] = self._unconfirmed.get(slot.session_id, 0) + 1
        if not self.stopped and self.store.slots(self.campaign, OPEN):
            self._ensure_places(self.study_excluded(), ())

    def _submissions(self) -> dict[str, Submission]:
        """One listing of the study's submissions; each not settled before is acted on: a
        session given back frees its slot, one completed without our page is rejected."""
        study = self.study()
        self._listed = {s.id: s for s in self.provider.submissions(study.id)} if study else {}
        self._watched_turn = self._turn
        if study is not None and sum(1 for s in self._listed.values() if s.state in HOLDING) >= study.places:
            self._filled = True
        for submission in self._listed.values():
            if submission.id not in self._settled:
                self._take(submission)
        return self._listed

    def _take(self, submission: Submission) -> None:
        if submission.given_back:
            slot = self.store.of_session(submission.id)
            if slot is not None:
                LOG.info("study %s: session %s %s; its slot %s is open again", self.study_name, submission.id,
                         submission.status.lower(), slot.slot_key)
                self.store.release(submission.id)
            self._settled.add(submission.id)
            self._freed = True
        elif submission.needs_review:
            slot = self.store.of_session(submission.id)
            if slot is None or slot.answers is None:
                self._reject_pageless(submission, slot)
                self._settled.add(submission.id)

    def study_excluded(self) -> tuple[str, ...]:
        slots = self.store.slots(self.campaign)
        return slots[0].excluded if slots else ()

    def _reject_pageless(self, submission: Submission, slot: StudySlot | None) -> None:
        LOG.warning("study %s: session %s completed without answers on our page; rejected", self.study_name,
                    submission.id)
        self.provider.reject(submission.id, NO_PAGE_REASON, NO_CODE)
        self._now_is(submission.id, SubmissionStatus.REJECTED)
        if slot is not None:
            self.store.release(submission.id)

    def get_hit(self, hit_id: str) -> SlotWork:
        slot = self._slot(hit_id)
        if slot.state == OPEN:
            return SlotWork(hit_id, WorkState.OPEN)
        if slot.state == CLOSED:
            return SlotWork(hit_id, WorkState.DISPOSED)
        if slot.state in (CLAIMED, ANSWERED) and slot.session_id not in self._listed:
            return SlotWork(hit_id, WorkState.HELD)  # claimed since the last listing: our page saw it at work
        session = self._session(slot)
        if session is None or session.in_progress:
            return SlotWork(hit_id, WorkState.HELD)
        if session.given_back:
            self.store.release(session.id)
            return SlotWork(hit_id, WorkState.OPEN)
        return SlotWork(hit_id, WorkState.REVIEWING if slot.state == REVIEWING else WorkState.REVIEWABLE)

    def _slot(self, hit_id: str) -> StudySlot:
        slot = self.store.get(hit_id)
        if slot is None:
            raise IgluError(f"slot {hit_id} does not exist in the study's slot file")
        return slot

    def _session(self, slot: StudySlot) -> Submission | None:
        if not slot.session_id:
            return None
        if self._watched_turn is None:  # not listed since the start: one listing tells every session
            self._submissions()
        return self._listed.get(slot.session_id) or self.provider.submission(slot.session_id)

    def assignments(self, hit_id: str, statuses: Sequence[str] = (), agents: int = 2) -> list[SessionSubmission]:
        """The slot's session as an assignment, when it submitted answers (and its state is asked for:
        `statuses` are `SubmissionStatus`es, in any case)."""
        slot = self._slot(hit_id)
        session = self._session(slot)
        if session is None or slot.answers is None or session.state not in SUBMISSION_STATES:
            return []
        if statuses and session.state not in {str(status).lower() for status in statuses}:
            return []
        return [SessionSubmission(session.id, hit_id, session.participant_id, SubmissionStatus(session.state),
                                  _moment(slot.claimed_at), _moment(slot.submitted_at), session_answers(slot.answers),
                                  slot.answers)]

    def requirements_for(self, specs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """A study has no qualification types: a campaign that names some is refused, by name."""
        if specs:
            raise IgluError(f"campaign {self.campaign} runs on Prolific, which has no MTurk qualification types: "
                            "remove qualification_requirements (an allow_list keeps the study to named participants)")
        return []

    def keep_off_unsubmitted(self, campaign: str, keep_off: Callable[[str], None]) -> list[str]:
        """Nobody: Prolific ends a session that never submits itself (returned or timed out), and
        our page shows the codes only to the session that claimed the slot."""
        return []

    def expire(self, hit_id: str) -> None:
        """An open slot stops being handed out: closed (the study's places stay, Prolific never
        lowers them). A claimed slot keeps its session, as an expired HIT keeps its accepted
        assignment: the participant may still finish."""
        slot = self.store.get(hit_id)
        if slot is not None and slot.state == OPEN:
            self.store.set_state(hit_id, CLOSED)

    def submitted_assignments(self, hit_id: str, agents: int = 2) -> list[SessionSubmission]:
        """The slot's session waiting for a decision (as `HitManager.submitted_assignments`)."""
        return self.assignments(hit_id, (SubmissionStatus.SUBMITTED,), agents)

    def get_assignment(self, assignment_id: str, agents: int = 2) -> SessionSubmission:
        """A session that answered on our page, as an assignment (the review and its ledger read its state)."""
        slot = self.store.of_session(assignment_id)
        found = self.assignments(slot.slot_key, (), agents) if slot is not None else []
        if not found:
            raise IgluError(f"session {assignment_id[:40]} holds no answered slot of campaign {self.campaign}: check "
                            "the session id (notebook 04 lists the sessions awaiting review), or decide on a session "
                            "that completed without our page in Prolific's own pages")
        return found[0]

    def set_reviewing(self, hit_id: str, reviewing: bool = True) -> None:
        self.store.set_state(hit_id, REVIEWING if reviewing else ANSWERED)

    def delete(self, hit_id: str) -> None:
        """An expired slot no session may claim any more (an open place stays: Prolific never lowers them)."""
        slot = self.store.get(hit_id)
        if slot is not None and slot.state in (OPEN, CLAIMED):
            self.store.set_state(hit_id, CLOSED)

    # -- the loop's calls: pay and sanction ----------------------------------------------------
    def approve(self, assignment_id: str, message: str = "", *, override_rejection: bool = False) -> None:
        if override_rejection:
            raise IgluError(f"submission {assignment_id[:40]} was rejected, and Prolific approves only a submission "
                            "awaiting review; pay the participant a bonus instead")
        self.provider.approve(assignment_id, allow_spending=self.allow_spending)
        self._now_is(assignment_id, SubmissionStatus.APPROVED)

    def reject(self, assignment_id: str, message: str, reasons: Sequence[str] = ()) -> None:
        self.provider.reject(assignment_id, rejection_message(message), category_for(reasons))
        self._now_is(assignment_id, SubmissionStatus.REJECTED)

    def _now_is(self, session_id: str, status: SubmissionStatus) -> None:
        """What Prolific accepted, kept in the last listing (in its words) until the next one."""
        self._freed = self._freed or status is SubmissionStatus.REJECTED
        if session_id in self._listed:
            self._listed[session_id] = replace(self._listed[session_id], status=PROLIFIC_STATUS[status])

    def send_bonus(self, worker_id: str, assignment_id: str, amount: str, reason: str, token: str,
                   allow_spending: bool = False) -> bool:
        """Set up, record, then pay one bonus; False when this token's bonus was paid (or its
        payment begun) before: Prolific would pay a repeated set-up again."""
        known = self.store.bonus(token)
        if known is not None and known.paying_at is not None:
            return False
        study = self.study()
        if study is None:
            raise IgluError(f"campaign {self.campaign} has no study to pay a bonus in")
        if known is None or not known.setup_id:
            setup = self.provider.set_up_bonus(study.id, [(assignment_id, Decimal(amount))])
            self.store.bonus_set_up(token, assignment_id, amount, reason, setup.id)
            known = self.store.bonus(token)
        assert known is not None and known.setup_id  # noqa: S101 - recorded just above
        self.store.bonus_paying(token)
        self.provider.pay_bonus(known.setup_id, allow_spending=allow_spending or self.allow_spending)
        self.store.bonus_paid(token)
        return True

    def bonuses_paid(self, assignment_id: str | None = None, **_: Any) -> list[PaidBonus]:
        """Bonuses whose payment was begun for a session, for the ledger to hold its entries against."""
        if not assignment_id:
            return []
        return [PaidBonus(Decimal(b.amount), b.reason)
                for b in self.store.bonuses_of(assignment_id) if b.paying_at is not None]

    def notify(self, worker_ids: Sequence[str], subject: str, text: str) -> list[str]:
        """Message each participant about the study; returns those not reached."""
        study = self.study()
        failed = []
        for worker_id in worker_ids:
            try:
                self.provider.message(worker_id, text, work_id=study.id if study else "", subject=subject)
            except IgluError as err:
                LOG.warning("message to participant %s failed: %s", worker_id, err)
                failed.append(worker_id)
        return failed

    def block(self, worker_id: str, reason: str) -> None:
        self.provider.block(worker_id, reason)

    def blocked_ids(self) -> set[str]:
        """The participants in the workspace's blocked group."""
        return set(self.provider.group_members(BLOCKED_GROUP))

    def balance(self) -> Decimal:
        return self.provider.balance()

    # -- winding down ------------------------------------------------------------------------
    def page_text(self, hit: CampaignWork) -> str:
        """The join codes the slot's page shows (its variables are kept with the slot)."""
        slot = self.store.get(hit.hit_id)
        return shown_join_codes(slot.variables) if slot is not None else ""

    def stop_taking_work(self) -> None:
        self.pause_and_stop()

    def pause_and_stop(self) -> Study | None:
        """`iglu campaign stop --expire`: no new sessions (pause, then stop the study), and no
        open slot can be claimed any more (the loop then expires them and frees their instances)."""
        self.stopped = True
        self.look_again()
        for slot in self.store.slots(self.campaign, OPEN):
            self.delete(slot.slot_key)
        study = self.study()
        if study is None:
            return None
        self.provider.pause(study.id)
        self._study = self.provider.stop(study.id)
        return self._study

    def service_status(self) -> dict[str, Any]:
        """The study as Prolific shows it and its sessions by state, for `iglu campaign status`."""
        study = self.study()
        if study is None:
            return {"study": None}
        study = self.provider.study(study.id)  # as Prolific shows it now, not as last read
        states: dict[str, int] = {}
        for submission in self.provider.submissions(study.id):
            states[submission.state] = states.get(submission.state, 0) + 1
        slots: dict[str, int] = {}
        for slot in self.store.slots(self.campaign):
            slots[slot.state] = slots.get(slot.state, 0) + 1
        return {"study": study.id, "name": study.internal_name, "status": study.status, "places": study.places,
                "taken": study.places_taken, "sessions": states, "slots": slots}

    def open_slots(self) -> list[StudySlot]:
        return self.store.slots(self.campaign, OPEN, CLAIMED)


if TYPE_CHECKING:  # the type checker holds the study side to the loop's shape
    from iglu_lib.providers import CampaignCrowd

    _LOOP_CROWD: type[CampaignCrowd] = StudyCampaign
