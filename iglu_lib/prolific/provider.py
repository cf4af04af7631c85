"""The Prolific provider: studies, submissions, bonuses, groups and messages, in dollars and words.

Over `ProlificClient` it adds what Prolific's rules ask of every caller, checked before any
call so that a mistake is a sentence and not a refused request half-way through a campaign:

- a study is made as a draft (found again by its `internal_name`, so a repeated create after
  a crash finds the first), with one completion code whose action is `MANUALLY_REVIEW` and an
  external URL carrying `{{%PROLIFIC_PID%}}`, `{{%STUDY_ID%}}` and `{{%SESSION_ID%}}`; its
  reward must reach `MIN_HOURLY_REWARD`;
- after publishing, places only grow (Prolific refuses to lower them; so does `grow_places`);
- a rejection needs one of `REJECTION_CATEGORIES` and a message of at least 100 characters;
- a bonus is set up, then paid: two calls, because Prolific pays again every time the second
  is repeated. The ledger records the set-up id before `pay_bonus` and marks it paid after, so
  a crash never pays twice; `pay_bonus` itself is one request and never retried after a 5xx;
- blocks and capabilities are participant groups: every study excludes the workspace's
  `BLOCKED_GROUP` (a `participant_group_blocklist` filter), and membership changes reach
  published studies at once, which their filters cannot.

Calls that pay (publish, growing places, approve, pay a bonus) are refused on a profile with
`spend_money: false` unless `allow_spending` is given, as on MTurk.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from iglu_lib.prolific.client import ProlificClient, ProlificError
from iglu_lib.providers import Bonus, Check, CrowdProvider, PostedWork, Submitted, WorkSpec
from iglu_lib.settings import ProlificSettings

if TYPE_CHECKING:
    from iglu_lib.config import Profile

LOG = logging.getLogger(__name__)

#: The lowest reward per hour a study may offer, in the workspace's currency (the emulator
#: assumes $8.00; Prolific publishes its minimum on its pricing pages and may change it).
MIN_HOURLY_REWARD = Decimal("8.00")
#: Prolific's rejection categories (public OpenAPI `SubmissionTransition`).
REJECTION_CATEGORIES = ("TOO_QUICKLY", "TOO_SLOWLY", "FAILED_INSTRUCTIONS", "INCOMP_LONGITUDINAL", "FAILED_CHECK",
                        "LOW_EFFORT", "MALINGERING", "NO_CODE", "BAD_CODE", "NO_DATA", "UNSUPP_DEVICE", "OTHER")
MIN_REJECTION_MESSAGE = 100
#: Where a participant's browser goes when done; Prolific records the code it carries.
COMPLETION_URL = "https://app.prolific.com/submissions/complete?cc={code}"
#: The three values Prolific fills into a study's URL, by the query names it uses by default.
PLACEHOLDERS = {"PROLIFIC_PID": "{{%PROLIFIC_PID%}}", "STUDY_ID": "{{%STUDY_ID%}}", "SESSION_ID": "{{%SESSION_ID%}}"}
#: The workspace's participant group of blocked participants, excluded from every study.
BLOCKED_GROUP = "iglu-blocked"
#: Submission statuses as Prolific spells them (the list spells time-out `TIME-OUT`).
AWAITING_REVIEW = "AWAITING REVIEW"
IN_PROGRESS = ("RESERVED", "ACTIVE")
GIVEN_BACK = ("RETURNED", "TIMED-OUT", "TIME-OUT")
OPEN_STUDY = ("ACTIVE", "SCHEDULED", "PUBLISHING")
#: Submission statuses in the providers' own words, so callers hold none of Prolific's.
STATES = {"RESERVED": "working", "ACTIVE": "working", "AWAITING REVIEW": "submitted", "APPROVED": "approved",
          "PARTIALLY APPROVED": "approved", "REJECTED": "rejected", "RETURNED": "returned", "TIMED-OUT": "returned",
          "TIME-OUT": "returned"}
#: The rejection categories callers name most.
NO_DATA, OTHER = "NO_DATA", "OTHER"
CENT = Decimal("0.01")


class SpendingRefused(ProlificError):
    """A call that pays was refused: the profile does not spend money unless asked explicitly."""


# -- what the provider reports --------------------------------------------------------------


def dollars(cents: Any) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Study:
    """A study as Prolific reports it; money in dollars."""

    id: str
    internal_name: str
    status: str
    places: int
    places_taken: int
    reward: Decimal
    estimated_minutes: int
    completion_code: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    #: Every session ever started (returned and timed out included): a new one raises it.
    number_of_submissions: int = 0

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Study:
        codes = [c for c in data.get("completion_codes") or [] if c.get("code_type") == "COMPLETED"]
        return cls(id=str(data["id"]), internal_name=str(data.get("internal_name") or data.get("name") or ""),
                   status=str(data.get("status", "")), places=int(data.get("total_available_places") or 0),
                   places_taken=int(data.get("places_taken") or 0), reward=dollars(data.get("reward")),
                   estimated_minutes=int(data.get("estimated_completion_time") or 0),
                   completion_code=str(codes[0]["code"]) if codes else None, raw=data,
                   number_of_submissions=int(data.get("number_of_submissions") or 0))

    @property
    def published(self) -> bool:
        return self.status != "UNPUBLISHED"

    def work(self) -> PostedWork:
        return PostedWork(self.id, self.internal_name, self.status, self.places, self.status in OPEN_STUDY, self.raw)


@dataclass(frozen=True)
class Submission:
    """A submission; the list (short) and the detail answer carry different fields."""

    id: str
    study_id: str
    participant_id: str
    status: str
    started_at: str | None
    completed_at: str | None
    entered_code: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], study_id: str = "") -> Submission:
        return cls(id=str(data["id"]), study_id=str(data.get("study_id") or study_id),
                   participant_id=str(data.get("participant_id") or data.get("participant") or ""),
                   status=str(data.get("status", "")), started_at=data.get("started_at"),
                   completed_at=data.get("completed_at"), entered_code=data.get("entered_code"), raw=data)

    @property
    def needs_review(self) -> bool:
        return self.status == AWAITING_REVIEW

    @property
    def state(self) -> str:
        """working, submitted, approved, rejected or returned (`STATES`)."""
        return STATES.get(self.status, self.status.lower())

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS

    @property
    def given_back(self) -> bool:
        """Returned or timed out: the place is free again."""
        return self.status in GIVEN_BACK

    def submitted(self) -> Submitted:
        return Submitted(self.id, self.study_id, self.participant_id, self.status, self.needs_review, self.raw)


@dataclass(frozen=True)
class BonusSetup:
    """A set-up bulk bonus (not paid yet): its id is what `pay_bonus` pays."""

    id: str
    study_id: str
    amount: Decimal
    fees: Decimal
    total: Decimal


# -- checks made before any call ------------------------------------------------------------


def check_reward(reward: Decimal, estimated_minutes: int) -> None:
    """Refuse a reward below `MIN_HOURLY_REWARD` for the estimated time, with the numbers."""
    if estimated_minutes < 1:
        raise ProlificError(f"estimated_minutes must be at least 1, not {estimated_minutes}")
    if not reward.is_finite() or reward <= 0:
        raise ProlificError(f"reward must be a positive amount of dollars, not {reward}")
    hourly = (reward * 60 / estimated_minutes).quantize(CENT)
    if hourly < MIN_HOURLY_REWARD:
        lowest = (MIN_HOURLY_REWARD * estimated_minutes / 60).quantize(CENT, rounding=ROUND_HALF_UP)
        raise ProlificError(
            f"reward ${reward} for {estimated_minutes} minutes is ${hourly} an hour, below Prolific's minimum of "
            f"${MIN_HOURLY_REWARD} an hour; pay at least ${lowest} or estimate fewer minutes"
        )


def check_rejection(category: str, message: str) -> None:
    """Prolific's rules for a rejection, checked before the call."""
    if category not in REJECTION_CATEGORIES:
        raise ProlificError(f"rejection category '{category}' is not one of Prolific's: {', '.join(REJECTION_CATEGORIES)}")
    if len(message.strip()) < MIN_REJECTION_MESSAGE:
        raise ProlificError(f"a Prolific rejection message must be at least {MIN_REJECTION_MESSAGE} characters "
                            f"(this one has {len(message.strip())}); tell the participant what was wrong in full")


def external_url(base: str, names: Mapping[str, str] | None = None) -> str:
    """`base` with Prolific's three placeholders appended as query parameters; `names` maps
    PROLIFIC_PID, STUDY_ID and SESSION_ID to the parameter names our page reads."""
    names = names or {key: key for key in PLACEHOLDERS}
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ProlificError(f"the study's page must be an http(s) address, not {base!r}")
    query = "&".join(f"{urlencode({names[key]: ''})}{value}" for key, value in PLACEHOLDERS.items())
    return f"{base}{'&' if parts.query else '?'}{query}"


def completion_url(code: str) -> str:
    """Where our page sends a participant who finished (Prolific records the code)."""
    return COMPLETION_URL.format(code=code)


def _amount(amount: Decimal | str, what: str) -> Decimal:
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0 or value != value.quantize(CENT):
        raise ProlificError(f"{what} {str(amount)[:40]!r} is not a positive amount of dollars and cents")
    return value


# -- the provider ---------------------------------------------------------------------------


class ProlificProvider:
    """Studies of one workspace and project (by title, from the profile's `prolific:` section)."""

    name = "prolific"

    def __init__(self, client: ProlificClient, settings: ProlificSettings, *, profile_name: str = "this profile",
                 spend_money: bool = False, allow_spending: bool = False) -> None:
        self.client = client
        self.settings = settings
        self.profile_name = profile_name
        self.spend_money = spend_money
        self.allow_spending = allow_spending
        self._workspace: dict[str, Any] | None = None
        self._project_id: str | None = None
        self._groups: dict[str, str] = {}

    @classmethod
    def open(cls, profile: Profile, **options: Any) -> ProlificProvider:
        """The provider of a profile: its backend's client (token and address) and `prolific:` settings."""
        backend = profile.backend
        return cls(ProlificClient.open(backend), backend.prolific_settings(), profile_name=profile.name,
                   spend_money=profile.spend_money, **options)

    def _require_spending(self, what: str, allow: bool) -> None:
        if self.spend_money or self.allow_spending or allow:
            return
        raise SpendingRefused(f"{what} spends real money and profile '{self.profile_name}' has spend_money: false; "
                              "pass allow_spending=True (CLI: --spend-money) to do it on purpose")

    # -- workspace and project -------------------------------------------------------------
    def workspace(self, *, create: bool = False) -> dict[str, Any]:
        """The profile's workspace, found by title (created only when `create`: a real one needs funds)."""
        if self._workspace is None:
            title = self.settings.workspace
            found = [ws for ws in self.client.workspaces() if ws.get("title") == title]
            if not found and create:
                found = [self.client.create_workspace(title)]
            if not found:
                known = ", ".join(sorted(str(ws.get("title")) for ws in self.client.workspaces())) or "none"
                raise ProlificError(f"Prolific workspace '{title}' (prolific.workspace of profile '{self.profile_name}') "
                                    f"does not exist (known: {known}); create it on Prolific or fix the profile")
            self._workspace = found[0]
        return self._workspace

    @property
    def workspace_id(self) -> str:
        return str(self.workspace()["id"])

    def project_id(self, *, create: bool = True) -> str:
        """The profile's project in the workspace, found by title (made when missing, unless not `create`)."""
        if self._project_id is None:
            title = self.settings.project
            found = [p for p in self.client.projects(self.workspace_id) if p.get("title") == title]
            if not found and not create:
                raise ProlificError(f"Prolific project '{title}' (prolific.project of profile '{self.profile_name}') "
                                    f"does not exist in workspace '{self.settings.workspace}'")
            self._project_id = str((found[0] if found else self.client.create_project(self.workspace_id, title))["id"])
        return self._project_id

    def balance(self) -> Decimal:
        """The workspace's available balance in dollars (what a new study or bonus may still use)."""
        return dollars(self.client.balance(self.workspace_id).get("available_balance"))

    # -- studies ---------------------------------------------------------------------------
    def studies(self, prefix: str = "") -> list[Study]:
        """The project's studies whose internal name starts with `prefix`."""
        found = (Study.from_api(s) for s in self.client.project_studies(self.project_id()))
        return [study for study in found if study.internal_name.startswith(prefix)]

    def study(self, study_id: str) -> Study:
        return Study.from_api(self.client.study(study_id))

    def create_draft(self, internal_name: str, *, title: str, description: str, url: str, reward: Decimal,
                     places: int, estimated_minutes: int, url_names: Mapping[str, str] | None = None,
                     required_groups: Sequence[str] = (), excluded_groups: Sequence[str] = ()) -> Study:
        """A draft study (or the one made before under `internal_name`); nothing is spent yet.

        `url` is our page; Prolific's placeholders are appended (`url_names` renames them).
        Every study excludes `BLOCKED_GROUP`; `required_groups`/`excluded_groups` are group names."""
        check_reward(reward, estimated_minutes)
        if places < 1:
            raise ProlificError(f"a study needs at least one place, not {places}")
        existing = self.studies(internal_name)
        same = [s for s in existing if s.internal_name == internal_name]
        if same:
            return same[0]
        body = {
            "name": title, "internal_name": internal_name, "description": description,
            "external_study_url": external_url(url, url_names), "prolific_id_option": "url_parameters",
            "completion_codes": [{"code": secrets.token_hex(4).upper(), "code_type": "COMPLETED",
                                  "actions": [{"action": "MANUALLY_REVIEW"}]}],
            "estimated_completion_time": estimated_minutes, "reward": to_cents(reward),
            "total_available_places": places, "project": self.project_id(),
            "filters": self._filters(required_groups, excluded_groups),
            "submissions_config": {"max_submissions_per_participant": 1},
        }
        return Study.from_api(self.client.create_study(body))

    def _filters(self, required: Sequence[str], excluded: Sequence[str]) -> list[dict[str, Any]]:
        blocked = [self.group_id(BLOCKED_GROUP), *(self.group_id(name) for name in excluded)]
        filters = [{"filter_id": "participant_group_blocklist", "selected_values": blocked}]
        if required:
            filters.append({"filter_id": "participant_group_allowlist",
                            "selected_values": [self.group_id(name) for name in required]})
        return filters

    def publish(self, study_id: str, *, allow_spending: bool = False, known: Study | None = None) -> Study:
        """Publish a draft (Prolific locks the money for its places); a published one is left as is.
        `known`: the study as just read, so it is not read again."""
        study = known or self.study(study_id)
        if study.published:
            return study
        self._require_spending(f"publishing study {study_id}", allow_spending)
        return Study.from_api(self.client.transition_study(study_id, "PUBLISH"))

    def grow_places(self, study_id: str, places: int, *, allow_spending: bool = False,
                    known: Study | None = None) -> Study:
        """Raise a study's places to `places` (reopening a finished study); never lower them.
        `known`: the study as just read, so it is not read again."""
        study = known or self.study(study_id)
        if places < study.places:
            raise ProlificError(f"study {study_id} has {study.places} places and Prolific never lowers them; "
                                f"{places} would shrink it (pause or stop the study instead)")
        if places == study.places:
            return study
        self._require_spending(f"adding places to study {study_id}", allow_spending)
        return Study.from_api(self.client.update_study(study_id, {"total_available_places": places}))

    def pause(self, study_id: str) -> Study:
        return self._transition(study_id, "PAUSE", ("PAUSED", "AWAITING REVIEW", "COMPLETED"))

    def resume(self, study_id: str) -> Study:
        return self._transition(study_id, "START", ("ACTIVE",))

    def stop(self, study_id: str) -> Study:
        """Stop a study for good (Prolific shows it AWAITING REVIEW, then COMPLETED once reviewed)."""
        return self._transition(study_id, "STOP", ("AWAITING REVIEW", "COMPLETED"))

    def _transition(self, study_id: str, action: str, already: tuple[str, ...]) -> Study:
        study = self.study(study_id)
        if study.status in already:
            return study
        return Study.from_api(self.client.transition_study(study_id, action))

    # -- submissions -----------------------------------------------------------------------
    def submissions(self, study_id: str) -> list[Submission]:
        """Every submission of a study (the short form)."""
        return [Submission.from_api(s, study_id) for s in self.client.submissions(study_id)]

    def submission(self, submission_id: str) -> Submission:
        """One submission in detail (its study, entered code and bonuses)."""
        return Submission.from_api(self.client.submission(submission_id))

    def approve(self, submission_id: str, *, allow_spending: bool = False) -> None:
        """Approve and pay the reward (Prolific ignores a repeated approval)."""
        self._require_spending(f"approving submission {submission_id}", allow_spending)
        self.client.transition_submission(submission_id, {"action": "APPROVE"})

    def reject(self, submission_id: str, reason: str, category: str = "OTHER") -> None:
        """Reject with one of `REJECTION_CATEGORIES` and a message of at least 100 characters."""
        check_rejection(category, reason)
        self.client.transition_submission(submission_id, {"action": "REJECT", "message": reason.strip(),
                                                          "rejection_category": category})

    # -- bonuses (two steps; the ledger guards repeats) ------------------------------------
    def set_up_bonus(self, study_id: str, payments: Sequence[tuple[str, Decimal | str]]) -> BonusSetup:
        """Set up bonuses of a study (`(participant or submission id, dollars)`); nothing is paid."""
        if not payments:
            raise ProlificError(f"a bonus set-up for study {study_id} needs at least one payment")
        lines = [f"{who},{_amount(amount, 'bonus amount'):.2f}" for who, amount in payments]
        made = self.client.set_up_bonuses(study_id, "\n".join(lines))
        return BonusSetup(str(made["id"]), study_id, dollars(made.get("amount")), dollars(made.get("fees")),
                          dollars(made.get("total_amount")))

    def pay_bonus(self, setup_id: str, *, allow_spending: bool = False) -> None:
        """Pay a set-up bonus. Prolific pays AGAIN every time this is called with the same id:
        call it once per set-up, recorded in the ledger before and after."""
        self._require_spending(f"paying bonus {setup_id}", allow_spending)
        self.client.pay_bonuses(setup_id)

    # -- participant groups, blocks, messages ----------------------------------------------
    def group_id(self, name: str) -> str:
        """The workspace's participant group called `name`, made when missing."""
        if name not in self._groups:
            found = [g for g in self.client.groups(self.workspace_id) if g.get("name") == name and not g.get("is_deleted")]
            made = found[0] if found else self.client.create_group(self.workspace_id, name, f"{name} (iglu workbench)")
            self._groups[name] = str(made["id"])
        return self._groups[name]

    def add_to_group(self, name: str, participant_ids: Sequence[str]) -> None:
        self.client.change_group_members(self.group_id(name), list(participant_ids), add=True)

    def remove_from_group(self, name: str, participant_ids: Sequence[str]) -> None:
        self.client.change_group_members(self.group_id(name), list(participant_ids), add=False)

    def group_members(self, name: str) -> list[str]:
        return self.client.group_members(self.group_id(name))

    def message(self, worker_id: str, text: str, *, work_id: str, subject: str = "About your work") -> None:
        """A message to a participant about a study (Prolific has no subject line; it leads the text)."""
        if not text.strip():
            raise ProlificError(f"a message to {worker_id} needs a text")
        self.client.send_message(worker_id, f"{subject}\n\n{text}" if subject else text, work_id)

    # -- CrowdProvider ---------------------------------------------------------------------
    def post_work(self, spec: WorkSpec, *, allow_spending: bool = False) -> PostedWork:
        """A published study for `spec` (its draft found again by `spec.key`); places grow to `spec.places`."""
        study = self.create_draft(spec.key, title=spec.title, description=spec.description, url=spec.url,
                                  reward=spec.reward, places=spec.places, estimated_minutes=spec.estimated_minutes,
                                  required_groups=spec.required, excluded_groups=spec.excluded)
        study = self.publish(study.id, allow_spending=allow_spending)
        if spec.places > study.places:
            study = self.grow_places(study.id, spec.places, allow_spending=allow_spending)
        return study.work()

    def submitted(self, work_id: str) -> list[Submitted]:
        return [s.submitted() for s in self.submissions(work_id)]

    def send_bonus(self, bonus: Bonus, *, allow_spending: bool = False) -> str:
        """Set up and pay one bonus; returns the set-up id. Not safe to repeat: see `pay_bonus`."""
        self._require_spending(f"a bonus to {bonus.worker_id}", allow_spending)
        setup = self.set_up_bonus(bonus.work_id, [(bonus.submission_id or bonus.worker_id, bonus.amount)])
        self.pay_bonus(setup.id, allow_spending=allow_spending)
        return setup.id

    def block(self, worker_id: str, reason: str) -> None:
        LOG.info("blocking participant %s: %s", worker_id, reason)
        self.add_to_group(BLOCKED_GROUP, [worker_id])

    def unblock(self, worker_id: str, reason: str) -> None:
        LOG.info("unblocking participant %s: %s", worker_id, reason)
        self.remove_from_group(BLOCKED_GROUP, [worker_id])

    def grant(self, capability: str, worker_id: str) -> None:
        self.add_to_group(capability, [worker_id])

    def revoke(self, capability: str, worker_id: str) -> None:
        self.remove_from_group(capability, [worker_id])

    def preflight(self, spec: WorkSpec | None = None) -> list[Check]:
        """Token, workspace, project, balance for `spec`, and its reward; nothing is created or spent."""
        checks: list[Check] = []
        try:
            me = self.client.me()
            checks.append(Check("token", True, f"the token works (researcher {me.get('id')})"))
            self.workspace()
            checks.append(Check("workspace", True, f"workspace '{self.settings.workspace}' exists"))
        except ProlificError as err:
            return [*checks, Check(("token", "workspace")[len(checks)], False, str(err))]
        checks.append(self._project_check())
        available = self.balance()
        if spec is None:
            return [*checks, Check("balance", available > 0, f"${available} available")]
        return [*checks, self._balance_check(spec, available), self._reward_check(spec)]

    def _project_check(self) -> Check:
        """The project exists, or the first study makes it (a missing one is only noted, as the
        records table is: a typo shows in the name)."""
        try:
            self.project_id(create=False)
        except ProlificError:
            return Check("project", True, f"project '{self.settings.project}' does not exist yet in workspace "
                                          f"'{self.settings.workspace}' (the first study creates it: check the name)")
        return Check("project", True, f"project '{self.settings.project}' exists")

    def _balance_check(self, spec: WorkSpec, available: Decimal) -> Check:
        cost = dollars(self.client.call("price a study", "POST", "study-cost-calculator/", repeatable=True,
                                        json={"reward": to_cents(spec.reward),
                                              "total_available_places": spec.places}).get("total_cost"))
        if cost > available:
            return Check("balance", False, f"${available} available, the study needs ${cost}; add funds to the workspace")
        return Check("balance", True, f"${available} available covers the study's ${cost}")

    @staticmethod
    def _reward_check(spec: WorkSpec) -> Check:
        try:
            check_reward(spec.reward, spec.estimated_minutes)
        except ProlificError as err:
            return Check("reward", False, str(err))
        return Check("reward", True, f"${spec.reward} for {spec.estimated_minutes} minutes reaches ${MIN_HOURLY_REWARD} an hour")

    def reconcile(self, prefix: str) -> list[PostedWork]:
        """The studies of a campaign (internal names starting with `prefix`), as Prolific shows them."""
        return [study.work() for study in self.studies(prefix)]


def _conforms(provider: ProlificProvider) -> CrowdProvider:
    """mypy checks here that the provider implements the whole `CrowdProvider` interface."""
    return provider
