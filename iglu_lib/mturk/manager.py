"""The HIT manager: a thin layer over `boto3.client("mturk")` and the profile's HIT settings.

It adds what every caller (the collection loop, the crowd-task provider, the review notebook,
the CLI) would otherwise repeat: the profile's `HitSettings`, pages from the package's
templates, a `RequesterAnnotation` tag (HIT type, campaign, request token) so HITs of one
kind can be listed and a repeated create finds the HIT it made before, pagination, safe
answer parsing, retries with backoff, and a guard that refuses to spend real money unless
asked to explicitly.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import TYPE_CHECKING, Any

from iglu_lib.mturk.answers import parse_answers
from iglu_lib.mturk.questions import external_question, html_question
from iglu_lib.mturk.retry import RetryPolicy
from iglu_lib.pages.answers import ParsedAnswers
from iglu_lib.pages.templates import TEMPLATES, check_question_mode, render_hit, shown_join_codes
from iglu_lib.providers import CrowdError, PaidBonus, SubmissionStatus, TokenRefused, WorkState
from iglu_lib.settings import CREATE_HIT_FIELDS, HitSettings

#: MTurk's largest page size.
PAGE_SIZE = 100

#: MTurk limits `RequesterAnnotation` to 255 characters.
ANNOTATION_LIMIT = 255

#: Statuses of HITs workers can still take or are working on.
OPEN_STATUSES = ("Assignable", "Unassignable")

#: MTurk's HIT statuses in our words (`providers.WorkState`): the loop decides on these only.
HIT_STATES = {"Assignable": WorkState.OPEN, "Unassignable": WorkState.HELD, "Reviewable": WorkState.REVIEWABLE,
              "Reviewing": WorkState.REVIEWING, "Disposed": WorkState.DISPOSED}
#: Our submission statuses as MTurk's `AssignmentStatus` names them.
ASSIGNMENT_STATUSES = {SubmissionStatus.SUBMITTED: "Submitted", SubmissionStatus.APPROVED: "Approved",
                       SubmissionStatus.REJECTED: "Rejected"}

#: Worker ids per `NotifyWorkers` call (the service's limit).
NOTIFY_BATCH = 100

#: A moment long past: `UpdateExpirationForHIT` with it expires a HIT at once.
EXPIRE_NOW = datetime(2015, 1, 1, tzinfo=timezone.utc)


#: MTurk error codes about the account as a whole: its credentials or its rights.
ACCOUNT_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId",
    "SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken",
})
#: MTurk error codes that waiting will not heal: the account's, and a parameter it calls invalid.
PERMANENT_CODES = ACCOUNT_CODES | {"ParameterValidationError", "ValidationException", "InvalidParameterValue"}
#: Words of MTurk's generic `RequestError` that name an account problem, not one request's.
PERMANENT_PHRASES = ("insufficient funds", "not authorized", "access denied")


class MTurkError(CrowdError):
    """An MTurk call failed; the message names the operation, its target and the service's error.
    Its code says how the loop takes it (`providers.CrowdError`)."""


    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code

    @property
    def about_account(self) -> bool:
        text = str(self).lower()
        return self.code in ACCOUNT_CODES or any(phrase in text for phrase in PERMANENT_PHRASES)

    @property
    def permanent(self) -> bool:
        return self.code in PERMANENT_CODES or any(phrase in str(self).lower() for phrase in PERMANENT_PHRASES)

    @property
    def transient(self) -> bool:
        """Throttled, the service's fault, or no code at all: the endpoint could not be reached."""
        from iglu_lib.mturk.retry import SERVER_FAULT_CODES, THROTTLING_CODES

        return not self.permanent and (self.code is None or self.code in THROTTLING_CODES
                                       or self.code in SERVER_FAULT_CODES)


class SpendingRefused(MTurkError):
    """A call that pays was refused because the profile does not spend money by default."""


class TokenSpent(MTurkError, TokenRefused):
    """`CreateHIT` refused a request token it saw within 24 hours, yet no HIT listed carries it
    (its HIT was deleted): the token cannot make a HIT before the service forgets it."""


if TYPE_CHECKING:
    from iglu_lib.config import Profile
    from iglu_lib.mturk.qualifications import CampaignCapabilities
    from iglu_lib.pages.store import HitPageStore
    from iglu_lib.providers import CampaignWork, CrowdOptions


# -- settings and records ----------------------------------------------------------------


@dataclass(frozen=True)
class Annotation:
    """What the manager writes in `RequesterAnnotation`: HIT type, campaign, request token."""

    hit_type: str | None
    campaign: str | None
    token: str | None = None

    def encode(self) -> str:
        text = json.dumps({"t": self.hit_type, "c": self.campaign, "k": self.token}, separators=(",", ":"))
        if len(text) > ANNOTATION_LIMIT:
            raise MTurkError(
                f"HIT annotation is {len(text)} characters, over MTurk's {ANNOTATION_LIMIT}; "
                "use a shorter campaign name or request token"
            )
        return text

    @classmethod
    def decode(cls, text: str | None) -> Annotation:
        """The tag of a HIT; HITs made by other tools decode to an empty annotation."""
        try:
            value = json.loads(text or "")
        except json.JSONDecodeError:
            return cls(None, None)
        if not isinstance(value, dict):
            return cls(None, None)
        return cls(value.get("t"), value.get("c"), value.get("k"))


@dataclass(frozen=True)
class Hit:
    """A HIT as the manager reports it; `raw` is the service's structure."""

    hit_id: str
    hit_type_id: str
    status: str
    review_status: str | None
    annotation: Annotation
    max_assignments: int
    available: int
    pending: int
    completed: int
    expiration: datetime | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_service(cls, hit: Mapping[str, Any]) -> Hit:
        return cls(
            hit_id=hit["HITId"],
            hit_type_id=hit.get("HITTypeId", ""),
            status=hit.get("HITStatus", ""),
            review_status=hit.get("HITReviewStatus"),
            annotation=Annotation.decode(hit.get("RequesterAnnotation")),
            max_assignments=int(hit.get("MaxAssignments", 0)),
            available=int(hit.get("NumberOfAssignmentsAvailable", 0)),
            pending=int(hit.get("NumberOfAssignmentsPending", 0)),
            completed=int(hit.get("NumberOfAssignmentsCompleted", 0)),
            expiration=hit.get("Expiration"),
            raw=hit,
        )

    @property
    def state(self) -> WorkState | None:
        """The HIT's status in our words (None for a status MTurk may add one day)."""
        return HIT_STATES.get(self.status)

    @property
    def created(self) -> datetime | float | None:
        """When the HIT was made (`CreationTime`: a datetime from boto3, or epoch seconds)."""
        value: datetime | float | None = self.raw.get("CreationTime")
        return value

    @property
    def assignment_seconds(self) -> int | None:
        """How long a worker may hold an assignment of this HIT (None when the HIT does not say)."""
        value = self.raw.get("AssignmentDurationInSeconds")
        return int(value) if value else None


@dataclass(frozen=True)
class Assignment:
    """A worker's assignment with its answers parsed (problems named, never raised)."""

    assignment_id: str
    hit_id: str
    worker_id: str
    status: str
    accept_time: datetime | None
    submit_time: datetime | None
    answers: ParsedAnswers
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: The answer as the worker's page sent it (MTurk's answer XML), kept whole when too long for records.
    document: str = field(default="", repr=False, compare=False)

    @property
    def state(self) -> SubmissionStatus:
        """The status in our words: ours are the lower case of MTurk's (and of older records')."""
        return SubmissionStatus(self.status.lower())

    @classmethod
    def from_service(cls, assignment: Mapping[str, Any], required: Iterable[str] = ()) -> Assignment:
        return cls(
            assignment_id=assignment["AssignmentId"],
            hit_id=assignment.get("HITId", ""),
            worker_id=assignment.get("WorkerId", ""),
            status=assignment.get("AssignmentStatus", ""),
            accept_time=assignment.get("AcceptTime"),
            submit_time=assignment.get("SubmitTime"),
            answers=parse_answers(assignment.get("Answer"), required),
            raw=assignment,
            document=str(assignment.get("Answer") or ""),
        )


# -- the manager ---------------------------------------------------------------------------


class HitManager:
    """Create, list, review and pay for HITs of one type and campaign.

    `hit_type` tags the HITs (and, when it names a template — `single`, `pairwise`, `multi` —
    picks the page `create_hit` renders); `campaign` separates runs that share an account.
    Calls that pay (`create_hit`, `approve`, `bonus`) are refused in a profile whose
    `spend_money` is false unless `allow_spending=True` is given here or to the call.
    """

    reverses_rejections = True  # `approve(..., override_rejection=True)` pays a rejected assignment

    def __init__(
        self,
        settings: HitSettings,
        connect: Callable[[], Any],
        *,
        profile_name: str = "this profile",
        spend_money: bool = False,
        requires_https: bool = True,
        hit_type: str = "pairwise",
        campaign: str = "default",
        allow_spending: bool = False,
        retry: RetryPolicy | None = None,
        question_mode: str | None = None,
        template_folder: str | None = None,
        template_variables: Mapping[str, Any] | None = None,
    ) -> None:
        #: The profile's `hit.*` settings; `connect()` makes the boto3 MTurk client, on first use
        #: (so refusals never need credentials). `profile_name` is for messages; `spend_money` and
        #: `requires_https` come from the profile and its backend.
        self.settings = settings
        self._connect = connect
        self.profile_name = profile_name
        self.spend_money = spend_money
        self.requires_https = requires_https
        self.hit_type = hit_type
        self.campaign = campaign
        self.allow_spending = allow_spending
        self.retry = retry or RetryPolicy()
        self._question_mode = question_mode
        #: A researcher's template folder (None: the package's pages) and its campaign variables.
        self.template_folder = template_folder
        self.template_variables = dict(template_variables or {})

    @classmethod
    def open(cls, profile: Profile, **options: Any) -> HitManager:
        """The manager of a profile: its HIT settings, and an MTurk client of its backend that
        makes one attempt per call (the manager's `RetryPolicy` does the retrying)."""
        backend = profile.backend

        def connect() -> Any:
            from botocore.config import Config

            no_retries = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=10, read_timeout=60)
            return backend.mturk_client(config=no_retries)

        return cls(profile.hit, connect, profile_name=profile.name, spend_money=profile.spend_money,
                   requires_https=backend.requires_https, **options)

    @classmethod
    def for_campaign(cls, profile: Profile, options: CrowdOptions) -> HitManager:
        """The manager of a campaign's HITs (`providers.open_campaign_crowd`)."""
        return cls.open(profile, hit_type=options.kind, campaign=options.campaign,
                        template_folder=options.template_folder, template_variables=options.template_variables,
                        allow_spending=options.allow_spending)

    @property
    def question_mode(self) -> str:
        """`html` or `external`: the constructor's choice, else the profile's `hit.question_mode`."""
        return check_question_mode(str(self._question_mode or self.settings.question_mode))

    # -- plumbing ------------------------------------------------------------------------
    @cached_property
    def client(self) -> Any:
        """The boto3 MTurk client, made on first use (so refusals never need credentials)."""
        return self._connect()

    @property
    def retries(self) -> int:
        """How many calls were retried after throttling or a server fault."""
        return self.retry.retries

    def call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        """One MTurk operation (boto3's snake_case name), retried; errors become `MTurkError`."""
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client, operation)
        target = _describe_target(arguments)
        try:
            return self.retry.call(method, **arguments)
        except ClientError as err:
            error = err.response.get("Error", {})
            raise MTurkError(
                f"MTurk {operation}{target} failed: {error.get('Code', '?')}: {error.get('Message', err)}",
                code=error.get("Code"),
            ) from err
        except BotoCoreError as err:
            raise MTurkError(f"MTurk {operation}{target} failed: {err}; is the endpoint reachable?") from err

    def paginate(self, operation: str, result_key: str, **arguments: Any) -> Iterator[dict[str, Any]]:
        """Every item of a listing operation (`result_key` of each page), page by page, retried."""
        token: str | None = None
        while True:
            page_arguments = {**arguments, "MaxResults": PAGE_SIZE}
            if token:
                page_arguments["NextToken"] = token
            page = self.call(operation, **page_arguments)
            yield from page.get(result_key, [])
            token = page.get("NextToken")
            if not token:
                return

    def _require_spending(self, operation: str, allow: bool) -> None:
        if self.spend_money or self.allow_spending or allow:
            return
        raise SpendingRefused(
            f"{operation} spends real money and profile '{self.profile_name}' has spend_money: false; "
            "pass allow_spending=True (CLI: --allow-spending) to do it on purpose"
        )

    def _mine(self, hit: Hit) -> bool:
        return hit.annotation.hit_type == self.hit_type and hit.annotation.campaign == self.campaign

    def answer_fields(self, agents: int = 2) -> tuple[str, ...]:
        """The answer fields a page of this manager's HIT type submits (none for custom pages)."""
        template = TEMPLATES.get(self.hit_type)
        return template.answer_fields(agents) if template else ()

    # -- HITs ----------------------------------------------------------------------------
    def create_hit(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        question: str | None = None,
        unique_request_token: str | None = None,
        allow_spending: bool = False,
        **overrides: Any,
    ) -> Hit:
        """Create a HIT from the template's `variables` (or a ready `question` XML).

        `unique_request_token` makes the call idempotent: repeating it returns the HIT the
        first call made. Without one, a fresh token still keeps this call's own retries from
        making a second HIT. `overrides` replace profile settings (`reward`, `max_assignments`,
        `lifetime_seconds`, ..., `qualification_requirements`) or add requirements
        (`extra_qualification_requirements`).
        """
        self._require_spending("CreateHIT", allow_spending)
        token = unique_request_token or uuid.uuid4().hex
        page_id = None
        if question is None and self.question_mode == "external":
            page_id, question = self._external_page(variables or {}, token)
        arguments = self._create_arguments(variables if question is None else None, question, token, overrides)
        try:
            response = self.call("create_hit", **arguments)
        except MTurkError as err:
            existing = self._hit_made_with(token) if _is_duplicate_token(err) else None
            if existing is None and _is_duplicate_token(err):
                raise TokenSpent(f"{err}; no HIT listed carries request token {token} (deleted?)", err.code) from err
            if existing is None:
                raise
            hit = existing
        else:
            hit = Hit.from_service(response["HIT"])
        if page_id is not None:
            self.page_store.set_hit(page_id, hit.hit_id)
        return hit

    @cached_property
    def page_store(self) -> HitPageStore:
        """Where external-mode HIT pages are kept for the task server (`hit.external_store`)."""
        from iglu_lib.pages.store import HitPageStore, store_path

        return HitPageStore(store_path(self.settings))

    def external_base_url(self) -> str:
        """`hit.external_url`: where workers reach `iglu crowd serve` (HTTPS outside the local profile)."""
        url = str(self.settings.external_url or "").strip().rstrip("/")
        if not url:
            raise MTurkError(
                f"profile '{self.profile_name}' has hit.question_mode: external but no hit.external_url; "
                "set it to the public address of `iglu crowd serve`"
            )
        if self.requires_https and not url.startswith("https://"):
            raise MTurkError(f"MTurk shows ExternalQuestion pages only over HTTPS, not {url}; set an https:// hit.external_url")
        return url

    def _external_page(self, variables: Mapping[str, Any], token: str) -> tuple[str, str]:
        """Store the page's variables for the task server; the question carries only the page id."""
        from iglu_lib.mturk.questions import FRAME_HEIGHT
        from iglu_lib.pages.store import page_id_for

        if self.hit_type not in TEMPLATES:
            raise MTurkError(f"HIT type '{self.hit_type}' has no template ({', '.join(TEMPLATES)}); pass question=")
        page_variables = {"title": self.settings.title, **self._folder_variables(), **variables}
        render_hit(self.hit_type, page_variables)  # refuse bad variables now, not on a worker's screen
        page_id = page_id_for(self.hit_type, self.campaign, token)
        self.page_store.put(page_id, self.hit_type, page_variables, self.campaign)
        return page_id, external_question(f"{self.external_base_url()}/hit?page={page_id}", FRAME_HEIGHT)

    def _folder_variables(self) -> dict[str, Any]:
        """What a page from the researcher's template folder needs beyond the HIT's variables
        (the folder, kept with external-mode pages so the task server renders the same page)."""
        if not self.template_folder:
            return {}
        from iglu_lib.pages.templates import FOLDER_KEY, template_folder

        return {**self.template_variables, FOLDER_KEY: str(template_folder(self.template_folder))}

    def _create_arguments(
        self,
        variables: Mapping[str, Any] | None,
        question: str | None,
        token: str,
        overrides: dict[str, Any],  # the caller's own keywords: extra requirements are popped
    ) -> dict[str, Any]:
        if (variables is None) == (question is None):
            raise MTurkError("create_hit needs either template variables or a question XML, not both")
        if question is None:
            if self.hit_type not in TEMPLATES:
                raise MTurkError(
                    f"HIT type '{self.hit_type}' has no template ({', '.join(TEMPLATES)}); pass question="
                )
            page_variables = {"title": self.settings.title, **self._folder_variables(), **(variables or {})}
            question = html_question(render_hit(self.hit_type, page_variables))
        extra = tuple(overrides.pop("extra_qualification_requirements", ()) or ())
        unknown = set(overrides) - set(CREATE_HIT_FIELDS)
        if unknown:
            raise MTurkError(f"create_hit got unknown settings: {', '.join(sorted(unknown))}")
        settings = replace(self.settings, **overrides)
        arguments = settings.create_hit_arguments()
        arguments["QualificationRequirements"] += [dict(q) for q in extra]
        arguments["Question"] = question
        arguments["RequesterAnnotation"] = Annotation(self.hit_type, self.campaign, token).encode()
        arguments["UniqueRequestToken"] = token
        return arguments

    def _hit_made_with(self, token: str) -> Hit | None:
        return next((hit for hit in self.hits() if hit.annotation.token == token), None)

    # -- finding HITs the caller lost track of (see `iglu_lib.collection.adoption`) ----------
    @property
    def capabilities(self) -> CampaignCapabilities:
        """The campaign's own qualification types (soft block, cap, allow-list, judged task)."""
        from iglu_lib.mturk.qualifications import CampaignCapabilities

        return CampaignCapabilities(self)

    def qualification_problems(self) -> tuple[list[str], list[str], list[str]]:
        """The profile's required qualification types, the custom ones, and each custom one that
        is missing or inactive (see `mturk.qualifications.required_type_problems`)."""
        from iglu_lib.mturk.qualifications import required_type_problems

        return required_type_problems(self)

    def keep_off_unsubmitted(self, campaign: str, keep_off: Callable[[str], None]) -> list[str]:
        """In `external` mode, settle the campaign's overdue HIT-page claims with what MTurk lists
        and `keep_off` each worker of a claim that never became a submission (see
        `mturk.hit_pages.keep_off_flagged`); nothing in `html` mode (no claims are kept)."""
        if self.question_mode != "external":
            return []
        from iglu_lib.mturk.hit_pages import keep_off_flagged

        return keep_off_flagged(self, self.page_store, campaign, keep_off)

    def requirements_for(self, specs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """A campaign's `qualification_requirements` as `QualificationRequirement`s (see
        `mturk.qualifications.campaign_requirements`)."""
        from iglu_lib.mturk.qualifications import campaign_requirements

        return campaign_requirements(self, specs)

    def hit_with_token(self, token: str) -> Hit | None:
        """This campaign's HIT created with request `token`, found by the token in its
        annotation: MTurk forgets a `UniqueRequestToken` after 24 hours, the annotation stays."""
        return self._hit_made_with(token)

    def page_text(self, hit: CampaignWork) -> str:
        """What a worker's page of `hit` shows, as text to search for join codes: the HTML of an
        `HTMLQuestion`, or, for an `ExternalQuestion`, the join codes of the variables stored for
        its page (empty when the page store does not know it)."""
        raw = hit.raw if isinstance(hit, Hit) else self.get_hit(hit.hit_id).raw
        question = str(raw.get("Question") or "")
        if "<ExternalQuestion" not in question:
            return question
        from urllib.parse import parse_qs, urlparse
        from xml.sax.saxutils import unescape

        start, end = question.find("<ExternalURL>"), question.find("</ExternalURL>")
        url = unescape(question[start + len("<ExternalURL>"):end]) if 0 <= start < end else ""
        page_id = (parse_qs(urlparse(url).query).get("page") or [""])[0]
        page = self.page_store.get(page_id)
        return shown_join_codes(page.variables) if page is not None else ""

    def stop_taking_work(self) -> None:
        """Nothing beyond expiring the open HITs, which `iglu campaign stop --expire` does next."""

    def get_hit(self, hit_id: str) -> Hit:
        return Hit.from_service(self.call("get_hit", HITId=hit_id)["HIT"])

    def hits(self, statuses: Sequence[str] | None = None) -> Iterator[Hit]:
        """Every HIT of this type and campaign (all pages of `ListHITs`), optionally by status."""
        for raw in self.paginate("list_hits", "HITs"):
            hit = Hit.from_service(raw)
            if self._mine(hit) and (statuses is None or hit.status in statuses or hit.state in statuses):
                yield hit

    def all_hits(self) -> list[Hit]:
        """Every HIT of the account, whatever its type or campaign tag (adoption and wind-down
        look for a campaign's HITs made under another type)."""
        return [Hit.from_service(raw) for raw in self.paginate("list_hits", "HITs")]

    def open_hits(self) -> list[Hit]:
        """HITs workers can still accept or are working on."""
        return list(self.hits(OPEN_STATUSES))

    def reviewable_hits(self, status: str = "Reviewable") -> list[Hit]:
        """HITs of this type in `Reviewable` (or `Reviewing`) state (`ListReviewableHITs`)."""
        raws = self.paginate("list_reviewable_hits", "HITs", Status=status)
        return [hit for hit in map(Hit.from_service, raws) if self._mine(hit)]

    def set_reviewing(self, hit_id: str, reviewing: bool = True) -> None:
        """Mark a HIT `Reviewing` (or back to `Reviewable`) so other reviewers skip it."""
        self.call("update_hit_review_status", HITId=hit_id, Revert=not reviewing)

    def expire(self, hit_id: str) -> None:
        """Stop a HIT from being accepted (work already accepted may still be submitted)."""
        self.call("update_expiration_for_hit", HITId=hit_id, ExpireAt=EXPIRE_NOW)

    def delete(self, hit_id: str) -> None:
        self.call("delete_hit", HITId=hit_id)

    # -- assignments ---------------------------------------------------------------------
    def assignments(
        self, hit_id: str, statuses: Sequence[str] = ("Submitted",), agents: int = 2
    ) -> list[Assignment]:
        """A HIT's assignments with the given statuses, answers parsed against the template.

        Every assignment the service lists was submitted; in `external` mode their page claims
        are marked won, so the task server never asks the service about them again."""
        required = self.answer_fields(agents)
        raws = list(self.paginate("list_assignments_for_hit", "Assignments", HITId=hit_id,
                                  AssignmentStatuses=_wire_statuses(statuses)))
        if raws and self.question_mode == "external":
            self.page_store.mark_submitted(hit_id, [raw["AssignmentId"] for raw in raws])
        return [Assignment.from_service(raw, required) for raw in raws]

    def account_assignments(
        self, statuses: Sequence[str] = ("Submitted", "Approved", "Rejected")
    ) -> Iterator[Assignment]:
        """Every assignment of every HIT of the account (whatever its type or campaign tag),
        answers left unchecked: what to search for a worker the requester has paid or may pay."""
        for hit in self.paginate("list_hits", "HITs"):
            raws = self.paginate("list_assignments_for_hit", "Assignments", HITId=hit["HITId"],
                                  AssignmentStatuses=_wire_statuses(statuses))
            for raw in raws:
                yield Assignment.from_service(raw)

    def submitted_assignments(self, hit_id: str, agents: int = 2) -> list[Assignment]:
        return self.assignments(hit_id, ("Submitted",), agents)

    def get_assignment(self, assignment_id: str, agents: int = 2) -> Assignment:
        response = self.call("get_assignment", AssignmentId=assignment_id)
        return Assignment.from_service(response["Assignment"], self.answer_fields(agents))

    def approve(
        self,
        assignment_id: str,
        feedback: str | None = None,
        *,
        override_rejection: bool = False,
        allow_spending: bool = False,
    ) -> None:
        """Approve (and pay) an assignment; `override_rejection` reverses an earlier rejection."""
        self._require_spending("ApproveAssignment", allow_spending)
        arguments: dict[str, Any] = {"AssignmentId": assignment_id, "OverrideRejection": override_rejection}
        if feedback:
            arguments["RequesterFeedback"] = feedback
        self.call("approve_assignment", **arguments)

    def reject(self, assignment_id: str, feedback: str, reasons: Sequence[str] = ()) -> None:
        """Reject an assignment; the feedback is the reason the worker reads (MTurk takes no
        category, so the verdict's `reasons` are not sent)."""
        if not feedback or not feedback.strip():
            raise MTurkError(f"rejecting {assignment_id} needs a reason the worker can read")
        self.call("reject_assignment", AssignmentId=assignment_id, RequesterFeedback=feedback)

    # -- workers -------------------------------------------------------------------------
    def bonus(
        self,
        worker_id: str,
        assignment_id: str,
        amount: str,
        reason: str,
        *,
        unique_request_token: str,
        allow_spending: bool = False,
    ) -> None:
        """Pay a bonus once per `unique_request_token` (a repeat is not paid twice)."""
        self._require_spending("SendBonus", allow_spending)
        try:
            self.call("send_bonus", WorkerId=worker_id, AssignmentId=assignment_id, BonusAmount=str(amount),
                      Reason=reason, UniqueRequestToken=unique_request_token)
        except MTurkError as err:
            if not _is_duplicate_token(err):
                raise

    def notify(self, worker_ids: Sequence[str], subject: str, message: str) -> list[dict[str, Any]]:
        """Message workers (in batches of 100); returns the service's per-worker failures."""
        failures: list[dict[str, Any]] = []
        for start in range(0, len(worker_ids), NOTIFY_BATCH):
            batch = list(worker_ids[start:start + NOTIFY_BATCH])
            response = self.call("notify_workers", Subject=subject, MessageText=message, WorkerIds=batch)
            failures.extend(response.get("NotifyWorkersFailureStatuses", []))
        return failures

    def send_bonus(
        self,
        worker_id: str,
        assignment_id: str,
        amount: str | Decimal,
        reason: str,
        token: str,
        *,
        allow_spending: bool = False,
    ) -> bool:
        """Pay `amount` dollars to the worker of an assignment, once per `token`.

        True when the service took this request as new; False when `token` was already spent
        (by an earlier call, or by a lost attempt of this one): the bonus is paid either way,
        never twice. The amount and reason are checked before anything is sent.
        """
        self._require_spending("SendBonus", allow_spending)
        value = _bonus_amount(amount)
        if not reason or not reason.strip():
            raise MTurkError(f"a bonus for {assignment_id} needs a reason the worker can read")
        if not token or not token.strip():
            raise MTurkError("a bonus needs a unique request token, so that a retry never pays twice")
        try:
            self.call("send_bonus", WorkerId=worker_id, AssignmentId=assignment_id, BonusAmount=value,
                      Reason=reason, UniqueRequestToken=token)
        except MTurkError as err:
            if _is_duplicate_token(err):
                return False
            raise
        return True

    def bonus_payments(self, hit_id: str | None = None, assignment_id: str | None = None) -> list[dict[str, Any]]:
        """Bonuses paid for one HIT's assignments or for one assignment (give exactly one)."""
        if (hit_id is None) == (assignment_id is None):
            raise MTurkError("bonus_payments needs exactly one of hit_id and assignment_id")
        target = {"HITId": hit_id} if hit_id is not None else {"AssignmentId": assignment_id}
        return list(self.paginate("list_bonus_payments", "BonusPayments", **target))

    def bonuses_paid(self, hit_id: str | None = None, assignment_id: str | None = None) -> list[PaidBonus]:
        """`bonus_payments` in our words: what the ledger and the campaign status read."""
        return [PaidBonus(Decimal(str(p.get("BonusAmount") or "0")), str(p.get("Reason") or ""))
                for p in self.bonus_payments(hit_id=hit_id, assignment_id=assignment_id)]

    def update_expiration(self, hit_id: str, when: datetime | float) -> None:
        """Set when a HIT stops taking workers: a past time expires it now, a later one extends
        it (reopening free slots). `when` is an aware datetime or epoch seconds."""
        if isinstance(when, datetime) and when.tzinfo is None:
            raise MTurkError(f"the new expiration of HIT {hit_id} needs a time zone (e.g. timezone.utc)")
        if not isinstance(when, datetime) and not (isinstance(when, int | float) and math.isfinite(when)):
            raise MTurkError(f"the new expiration of HIT {hit_id} must be a datetime or epoch seconds, not {when!r}")
        self.call("update_expiration_for_hit", HITId=hit_id, ExpireAt=when)

    def block(self, worker_id: str, reason: str) -> None:
        self.call("create_worker_block", WorkerId=worker_id, Reason=reason)

    def unblock(self, worker_id: str, reason: str = "unblocked by the requester") -> None:
        self.call("delete_worker_block", WorkerId=worker_id, Reason=reason)

    def blocked_workers(self) -> list[dict[str, Any]]:
        return list(self.paginate("list_worker_blocks", "WorkerBlocks"))

    def blocked_ids(self) -> set[str]:
        """The ids of the workers the account blocked."""
        return {str(block["WorkerId"]) for block in self.blocked_workers()}

    def balance(self) -> str:
        """The account's available balance, as the service reports it (a decimal string)."""
        return self.call("get_account_balance")["AvailableBalance"]


def _bonus_amount(amount: str | Decimal) -> str:
    """A bonus amount as the service takes it ("1.25"), or an `MTurkError` saying why not."""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        value = None
    if (
        value is None or not value.is_finite() or value <= 0 or value.adjusted() > 8
        or value != value.quantize(Decimal("0.01"))
    ):
        raise MTurkError(f"bonus amount {str(amount)[:40]!r} is not a positive amount of dollars and cents")
    return f"{value:.2f}"


def _wire_statuses(statuses: Sequence[str]) -> list[str]:
    """Assignment statuses as MTurk names them; ours (`SubmissionStatus`) are translated."""
    wire = {str(ours): theirs for ours, theirs in ASSIGNMENT_STATUSES.items()}
    return [wire.get(str(status), str(status)) for status in statuses]


def _is_duplicate_token(err: MTurkError) -> bool:
    text = str(err).lower()
    return "token" in text and ("already" in text or "duplicate" in text or "previously" in text)


def _describe_target(arguments: Mapping[str, Any]) -> str:
    for key in ("AssignmentId", "HITId", "WorkerId", "QualificationTypeId"):
        if key in arguments:
            return f" {key}={arguments[key]}"
    return ""


if TYPE_CHECKING:  # the type checker holds the HIT manager to the campaign loop's shape
    from iglu_lib.providers import CampaignCrowd

    _LOOP_CROWD: type[CampaignCrowd] = HitManager
