"""The task server: serves a static task's pages to workers and records what they send.

The crowd platform shows the task in an iframe at the ExternalQuestion URL
`<server>/task?unit_id=N` with `assignmentId`, `hitId`, `workerId` and `turkSubmitTo`
appended. Those values are typed by whoever opens the URL, so the server

- shows only the preview while the HIT is previewed (`assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE`)
  and writes nothing;
- checks every other request's assignment with the crowd platform (`iglu_lib.crowd.verify`):
  the worker id, HIT and unit are the ones the service confirms and the HIT was launched for,
  and a database row is made only for such an assignment;
- gates on onboarding keyed by that worker: a worker who passed before goes straight to the
  task, one who failed is refused, a new one gets the onboarding page, whose answer is
  checked, recorded and mirrored to the platform through `on_onboarding` (the provider's
  `-failed` qualification hides the task's HITs from a failed worker);
- fills the task page's placeholders from the unit's row and the runtime values;
- stores the submitted form once (a second post gets 409 and is not forwarded; the form must
  be for the unit the assignment opened; bodies over 64 KiB get 413), then forwards it to the
  platform (`turkSubmitTo`, whose origin must be one the server was told to trust).

The same server serves `/hit?page=...`, the pages of `external`-mode campaign HITs
(`CampaignPages`): join codes only to a claim on a HIT the service shows accepted, each claim
with codes of its own, none shutting another out.

`TaskServer` runs the app on a loopback port in a background thread for tests and notebooks;
`iglu crowd serve` runs it in the foreground until SIGTERM or SIGINT.
"""

from __future__ import annotations

import html
import logging
import re
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode, urlsplit

from iglu_lib.crowd.db import REFUSED, WORKING, CrowdDB
from iglu_lib.crowd.onboarding import REASON_TEXT, OnboardingRules, check_onboarding
from iglu_lib.crowd.page_guard import Busy, ClientLimiter, HitStates, Throttle
from iglu_lib.crowd.pages import fill, task_values
from iglu_lib.crowd.task import CrowdTask
from iglu_lib.crowd.verify import NotVerified, Verifier, checked_id
from iglu_lib.errors import IgluError

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.serving import BaseWSGIServer

    from iglu_lib.crowd.page_guard import HitState
    from iglu_lib.crowd.study_pages import StudyPages
    from iglu_lib.mturk.work_checks import WorkHolding
    from iglu_lib.pages.store import Claim, HitPage, HitPageStore

LOG = logging.getLogger(__name__)

PREVIEW_ASSIGNMENT = "ASSIGNMENT_ID_NOT_AVAILABLE"
ID_FIELDS = ("assignmentId", "hitId", "workerId", "turkSubmitTo", "unit_id")

#: Called with (worker id, passed) after a worker's onboarding result is recorded.
OnboardingHook = Callable[[str, bool], None]


@dataclass(frozen=True)
class Page:
    """A response of the task server; `kind` is sent as `X-Crowd-Page` for scripts and tests."""

    kind: str  # preview, onboarding, task, refused, forward, thanks, redirect
    html: str = ""
    status: int = 200
    location: str | None = None


class RequestProblem(IgluError):
    """A request the server cannot serve; the message is shown to the worker."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class WorkContext:
    """Who is working on what, from the platform's query parameters or form fields."""

    task_run_id: str
    unit_id: int
    assignment_id: str
    hit_id: str
    worker_id: str
    turk_submit_to: str

    def query(self) -> str:
        return urlencode({
            "unit_id": self.unit_id, "assignmentId": self.assignment_id, "hitId": self.hit_id,
            "workerId": self.worker_id, "turkSubmitTo": self.turk_submit_to,
        })

    def runtime_values(self) -> dict[str, Any]:
        return {
            "mephisto_agent_id": self.assignment_id,
            "provider_worker_id": self.worker_id,
            "assignment_id": self.assignment_id,
            "hit_id": self.hit_id,
            "turk_submit_to": self.turk_submit_to,
            "unit_id": self.unit_id,
            "task_run_id": self.task_run_id,
            "submit_url": "/submit",
            "onboarding_submit_url": "/onboarding",
        }


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class TaskApp:
    """The request handlers, bound to one task, one run and one database.

    Every request that names an assignment is checked with the crowd platform (`verifier`): the
    worker id, HIT and unit come from what the service confirmed and from the HIT as launched,
    never from the request alone. Without a verifier only the preview is served.
    """

    def __init__(
        self,
        task: CrowdTask,
        db: CrowdDB,
        task_run_id: str,
        *,
        rules: OnboardingRules | None = None,
        submit_origins: Iterable[str] = (),
        on_onboarding: OnboardingHook | None = None,
        verifier: Verifier | None = None,
    ) -> None:
        self.task = task
        self.db = db
        self.task_run_id = task_run_id
        self.rules = rules or OnboardingRules()
        self.submit_origins = {origin(url) for url in submit_origins}
        self.on_onboarding = on_onboarding
        self.verifier = verifier

    # -- request parsing ---------------------------------------------------------
    def context(self, params: Mapping[str, str], statuses: tuple[str, ...] = (WORKING,)) -> WorkContext:
        """The verified work context of a request, opening (binding) its assignment here."""
        hit_id = params.get("hitId", "").strip()
        turk_submit_to = params.get("turkSubmitTo", "").strip()
        if turk_submit_to and origin(turk_submit_to) not in self.submit_origins:
            raise RequestProblem("turkSubmitTo is not an address of the crowd platform this server works for.")
        launched = self.db.unit_for_hit(hit_id) if hit_id and len(hit_id) <= 64 else None
        if launched is None:
            raise RequestProblem("This page belongs to a HIT of this task; open it from the HIT on the crowd platform.", 404)
        if self.verifier is None:
            raise RequestProblem("This task server has no crowd platform to check assignments with.", 503)
        try:
            verdict = self.verifier.verify(params.get("assignmentId", ""), hit_id, params.get("workerId", ""), statuses)
        except NotVerified as err:
            raise RequestProblem(str(err), err.status) from None
        run_id, unit_id = launched["task_run_id"], int(launched["unit_id"])
        refusal = self.db.claim_assignment(
            verdict.assignment_id, run_id, unit_id, hit_id, verdict.worker_id,
            pending=verdict.pending if verdict.is_pending else None, duration_seconds=verdict.duration_seconds,
        )
        if refusal:
            raise RequestProblem(refusal, 403)
        return WorkContext(run_id, unit_id, verdict.assignment_id, hit_id, verdict.worker_id, turk_submit_to)

    # -- pages ---------------------------------------------------------------------
    def task_entry(self, params: Mapping[str, str]) -> Page:
        """GET /task: the preview, or (for a verified assignment) refusal, onboarding or the task."""
        if params.get("assignmentId", PREVIEW_ASSIGNMENT).strip() in ("", PREVIEW_ASSIGNMENT):
            self._release_if_returned(params.get("hitId", "").strip())
            return Page("preview", self.preview_page())
        ctx = self.context(params)
        return self._gated(ctx, self.task_page)

    def _release_if_returned(self, hit_id: str) -> None:
        """A previewed HIT whose open assignment the service no longer shows was returned."""
        if hit_id and self.verifier is not None and self.db.open_claims(hit_id) and self.verifier.nobody_holds(hit_id):
            self.db.release_claims(hit_id)

    def _gated(self, ctx: WorkContext, page: Callable[[WorkContext], Page]) -> Page:
        gate = self._gate(ctx.worker_id)
        if gate == "failed":
            return self._refused(ctx)
        if gate == "new":
            return Page("onboarding", self._fill("onboarding", ctx.runtime_values()))
        return page(ctx)

    def preview_page(self) -> str:
        values = task_values(self.task.config)
        if self.task.pages.preview is None:
            return simple_page(values["task_title"], f"<p>{html.escape(values['task_description'])}</p>")
        return fill(self.task.pages.preview, values, "preview page")

    def task_page(self, ctx: WorkContext) -> Page:
        if self.db.submission(ctx.assignment_id) is not None:
            return Page("thanks", simple_page("Thank you", '<p id="submitted">Your work was recorded.</p>'))
        return Page("task", self._fill("task", {**ctx.runtime_values(), **self.task.unit(ctx.unit_id).values}))

    def refusal(self, worker_id: str) -> Page:
        items = "".join(f"<li>{html.escape(REASON_TEXT.get(r, r))}</li>" for r in self._reasons(worker_id))
        return Page("refused", simple_page(
            "You cannot work on this task",
            '<p id="onboarding-refused">Your answer to the qualification question did not meet the '
            f"requirements, so this task is not available to you. Please return the HIT.</p><ul>{items}</ul>",
        ), 403)

    def _fill(self, kind: str, runtime: Mapping[str, Any]) -> str:
        source = self.task.pages.source(kind) or ""
        return fill(source, {**task_values(self.task.config), **runtime}, f"{kind} page")

    # -- onboarding -----------------------------------------------------------------
    def _gate(self, worker_id: str) -> str:
        """'passed', 'failed' or 'new' ('passed' when the task has no onboarding)."""
        qualification = self.task.config.onboarding_qualification
        if not self.task.config.has_onboarding or qualification is None:
            return "passed"
        record = self.db.onboarding(worker_id, qualification)
        if record is None:
            return "new"
        return "passed" if record.passed else "failed"

    def _reasons(self, worker_id: str) -> list[str]:
        record = self.db.onboarding(worker_id, self.task.config.onboarding_qualification or "")
        return record.reasons if record else []

    def onboarding_answer(self, form: Mapping[str, str]) -> Page:
        """POST /onboarding: check, record and mirror the verified worker's answer."""
        ctx = self.context(form)
        if self._gate(ctx.worker_id) == "new":
            answer = form.get("answer", "")
            result = check_onboarding(answer, self.rules)
            qualification = self.task.config.onboarding_qualification or ""
            if self.db.record_onboarding(ctx.worker_id, qualification, result.passed, result.reasons, result.commands, answer):
                self._mirror(ctx.worker_id, result.passed)
        if self._gate(ctx.worker_id) == "failed":
            return self._refused(ctx)
        return Page("redirect", status=303, location=f"/task?{ctx.query()}")

    def _refused(self, ctx: WorkContext) -> Page:
        """The refusal; the assignment no longer holds its HIT's slot here (the worker returns it)."""
        self.db.set_assignment_status(ctx.assignment_id, REFUSED)
        return self.refusal(ctx.worker_id)

    def _mirror(self, worker_id: str, passed: bool) -> None:
        if self.on_onboarding is None:
            return
        qualification = self.task.config.onboarding_qualification or ""
        try:
            self.on_onboarding(worker_id, passed)
        except Exception:  # noqa: BLE001 - the platform may be down; `iglu crowd review` syncs later
            LOG.exception("could not mirror the onboarding result of %s to the platform", worker_id)
            return
        self.db.mark_onboarding_synced(worker_id, qualification)

    # -- submissions -----------------------------------------------------------------
    def submission(self, form: Mapping[str, str]) -> Page:
        """POST /submit: store the form once, then forward it to the platform.

        The unit is the one the assignment opened (a form naming another is refused), and a
        second post for the assignment gets 409 and is never forwarded.
        """
        if self.db.submission(form.get("assignmentId", "").strip()) is not None:
            raise RequestProblem("This assignment was already submitted; nothing more is sent.", 409)
        ctx = self.context(form)
        opened = self.db.assignment(ctx.assignment_id)
        unit_param = form.get("unit_id", "").strip()
        if opened is None or (unit_param and unit_param != str(opened["unit_id"])):
            raise RequestProblem(f"This form is not for the unit this assignment opened (unit {ctx.unit_id}); reload the task.", 409)
        if self._gate(ctx.worker_id) != "passed":
            raise RequestProblem("Only workers who passed the qualification question can submit.", 403)
        data = {key: value for key, value in form.items() if key not in ID_FIELDS}
        if not self.db.record_submission(ctx.assignment_id, ctx.task_run_id, int(opened["unit_id"]), ctx.worker_id, data):
            raise RequestProblem("This assignment was already submitted; nothing more is sent.", 409)
        if not ctx.turk_submit_to:
            return Page("thanks", simple_page("Thank you", '<p id="submitted">Your work was recorded.</p>'))
        action = ctx.turk_submit_to.rstrip("/") + "/mturk/externalSubmit"
        return Page("forward", forward_page(action, {"assignmentId": ctx.assignment_id, **data}))


def simple_page(title: str, body: str) -> str:
    """A bare page of the server's own (`body` is trusted markup, `title` is escaped)."""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def forward_page(action: str, fields: Mapping[str, Any]) -> str:
    """A page that posts `fields` to the platform at once (and offers a button without script)."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(str(k))}" value="{html.escape(str(v))}">' for k, v in fields.items()
    )
    return simple_page(
        "Sending your work",
        f'<form id="platform-submit" method="post" action="{html.escape(action)}">{inputs}'
        '<button type="submit">Send to the crowd platform</button></form>'
        "<script>document.getElementById('platform-submit').submit();</script>",
    )


class PageChecks(Protocol):
    """What the campaign pages ask the crowd (`iglu_lib.mturk.provider.MTurkProvider`)."""

    def holding(self, work_id: str) -> WorkHolding:
        """The HIT's accepted assignments now, and for how long each may be held."""

    def settle_claims(self, store: HitPageStore, work_id: str) -> list[Claim]:
        """Settle the HIT's page claims with what the crowd lists as submitted."""


class CampaignPages:
    """`GET /hit?page=...`: the page of an `external`-mode campaign HIT (see `iglu_lib.pages.store`).

    MTurk proves an assignment id and its worker only once the work is submitted; while a
    worker works, all it can say is that the HIT holds an accepted assignment. So a request with
    an assignment id gets the join codes as a *claim* (`HitPageStore.add_claim`) when the service
    shows the HIT accepted, and a claim never shuts another out: the worker who accepted always
    gets codes, even if a stranger claimed first or another worker returned the HIT. Each claim's
    codes carry its own expiry (the page's, cut to the assignment's duration), the claim whose
    assignment is submitted wins, and a claim that never becomes a submission is flagged and its
    worker id gets no more pages (`PageChecks.settle_claims`). A previewer, a flagged worker, a client over its
    limit and a HIT the service shows nobody working on get the page with every code left out.
    Reloading a claim costs no requester call; a new claim costs at most one `GetHIT` per HIT per
    few seconds (`page_guard`).
    """

    def __init__(self, store: HitPageStore, crowd: PageChecks | None, *, submit_origins: Iterable[str] = (),
                 crowd_script: str | None = None, states: HitStates | None = None,
                 limiter: ClientLimiter | None = None, settling: Throttle | None = None) -> None:
        self.store = store
        self.crowd = crowd
        self.submit_origins = {origin(url) for url in submit_origins}
        self.crowd_script = crowd_script
        self.states = states or (HitStates(crowd.holding) if crowd is not None else None)
        self.limiter = limiter or ClientLimiter()
        self.settling = settling or Throttle()

    def page(self, params: Mapping[str, str], client: str = "unknown") -> Page:
        hit_page = self.store.get(params.get("page", "").strip())
        if hit_page is None:
            raise RequestProblem("There is no such HIT page; open it from the HIT on the crowd platform.", 404)
        assignment_id = params.get("assignmentId", PREVIEW_ASSIGNMENT).strip()
        if assignment_id in ("", PREVIEW_ASSIGNMENT):
            return Page("preview", self._preview(hit_page))
        try:
            claim = self._claim(hit_page, params, client)
        except RequestProblem as err:
            LOG.info("HIT page %s: codes withheld from assignment %r: %s", hit_page.page_id, assignment_id[:64], err)
            return Page("preview", self._preview(hit_page, str(err), retry=err.status in RETRY_STATUSES), err.status)
        return Page("hit", self._local(self._render(hit_page, claim)))

    def _claim(self, hit_page: HitPage, params: Mapping[str, str], client: str) -> Claim:
        """The request's claim: the one it made before, or a new one the service allows."""
        self._check_request(hit_page, params)
        assignment_id = checked(params.get("assignmentId", ""), "assignmentId")
        worker_id = checked(params.get("workerId", ""), "workerId")
        claim = self.store.claim_of(assignment_id)
        if claim is not None:
            return self._reopened(claim, hit_page, worker_id)
        if not self.limiter.allow(client, assignment_id):  # first: the steps below may call the service
            raise RequestProblem("Too many HIT pages were opened from this address; wait a few minutes.", 429)
        if self.store.flagged(worker_id) or self._settled_flagged(worker_id):
            raise RequestProblem("This worker opened HIT pages whose work was never submitted; "
                                 "this campaign shows no more HITs to this worker.", 403)
        state = self._hit_state(hit_page.hit_id or "")  # never empty: `_check_request` refused it
        claim = self.store.add_claim(hit_page, assignment_id, worker_id, client, state.duration_seconds)
        return self._reopened(claim, hit_page, worker_id)  # another request may have made it meanwhile

    def _check_request(self, hit_page: HitPage, params: Mapping[str, str]) -> None:
        turk_submit_to = params.get("turkSubmitTo", "").strip()
        if not turk_submit_to or origin(turk_submit_to) not in self.submit_origins:
            raise RequestProblem("turkSubmitTo is not an address of the crowd platform this server works for.", 400)
        if hit_page.hit_id is None or params.get("hitId", "").strip() != hit_page.hit_id:
            raise RequestProblem("This page belongs to another HIT.", 403)
        if self.states is None:
            raise RequestProblem("This server has no crowd platform to check assignments with.", 503)

    def _reopened(self, claim: Claim, hit_page: HitPage, worker_id: str) -> Claim:
        from iglu_lib.pages.store import UNSUBMITTED

        if claim.page_id != hit_page.page_id or claim.worker_id != worker_id:
            raise RequestProblem("This assignment was opened by another worker or for another HIT.", 403)
        if claim.outcome == UNSUBMITTED:
            raise RequestProblem("This assignment's work was never submitted; its page is closed.", 403)
        if claim.due_at < self.store.clock() and claim.outcome is None:
            raise RequestProblem("This assignment's time ran out; accept the HIT again if it is still offered.", 403)
        return claim

    def _hit_state(self, hit_id: str) -> HitState:
        assert self.states is not None  # noqa: S101 - _check_request refused the request otherwise
        try:
            state = self.states.state(hit_id)
        except Busy:
            raise RequestProblem("The crowd platform could not be reached to check this HIT; this page reloads shortly.", 503) from None
        if not state.known:
            raise RequestProblem("The crowd platform does not know this HIT.", 403)
        if state.pending < 1:
            raise RequestProblem("The crowd platform shows nobody working on this HIT; accept it first "
                                 "(this page reloads shortly).", 409)
        return state

    def _settled_flagged(self, worker_id: str) -> bool:
        """Settle the HITs where this worker holds claims past their time; True if any was never
        submitted (one listing per such HIT, once: a settled claim is not listed again)."""
        from iglu_lib.mturk.manager import MTurkError

        if self.crowd is None:
            return False
        flagged = False
        for hit_id in self.store.due_hits(worker_id):
            if not self.settling.attempt(hit_id):
                continue
            try:
                flagged |= any(c.worker_id == worker_id for c in self.crowd.settle_claims(self.store, hit_id))
            except MTurkError as err:
                LOG.warning("could not settle the page claims of HIT %s: %s", hit_id, err)
        return flagged

    def _render(self, hit_page: HitPage, claim: Claim) -> str:
        from iglu_lib.pages.templates import render_hit

        return render_hit(hit_page.kind, claim.variables(hit_page))

    def _preview(self, hit_page: HitPage, reason: str | None = None, retry: bool = False) -> str:
        from iglu_lib.pages.templates import render_hit_preview

        page = render_hit_preview(hit_page.kind, hit_page.variables)
        page = WORK_SECTION.sub("", page, count=1).replace('<p id="preview-note" hidden>', '<p id="preview-note">')
        if reason:
            page = page.replace("<body>", f'<body><p id="not-verified" role="alert">{html.escape(reason)}</p>', 1)
        if retry:  # the worker's frame asks again by itself (a researcher's page may lack a head)
            refresh = f'<meta http-equiv="refresh" content="{RETRY_SECONDS}">'
            page = page.replace("</head>", refresh + "</head>", 1) if "</head>" in page else refresh + page
        return self._local(page)

    def _local(self, page: str) -> str:
        """The crowd-form script from `crowd_script` (the local MTurk server's copy) when set."""
        if not self.crowd_script:
            return page
        return page.replace(CROWD_SCRIPT_URL, html.escape(self.crowd_script))


def checked(value: str, name: str) -> str:
    """A well-formed id from a request, or the 400 naming the parameter."""
    try:
        return checked_id(value, name)
    except NotVerified as err:
        raise RequestProblem(str(err), err.status) from None


#: Refusals a worker's page retries by itself (the HIT not yet shown accepted, a busy platform,
#: a client over its limit), and after how many seconds.
RETRY_STATUSES = (409, 429, 503)
RETRY_SECONDS = 3


#: The CDN script of crowd-HTML pages, and the work section a preview leaves out.
CROWD_SCRIPT_URL = "https://assets.crowd.aws/crowd-html-elements.js"
WORK_SECTION = re.compile(r'<section id="work">.*?</section>', re.DOTALL)
#: Largest request body the server reads (a task form or an onboarding answer is far smaller).
MAX_BODY_BYTES = 64 * 1024


def create_app(task_app: TaskApp | None, campaign: CampaignPages | None = None,
               study: StudyPages | None = None) -> Flask:
    """The Flask application around `task_app`'s handlers, the campaign HIT pages and the
    Prolific campaign study pages (`study`: a `study_pages.StudyPages`)."""
    from flask import Flask, Response, jsonify, redirect, request, send_from_directory
    from werkzeug.exceptions import NotFound, RequestEntityTooLarge

    app = Flask(f"crowd-{task_app.task.name}" if task_app else "crowd-hit-pages")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    app.config["MAX_FORM_PARTS"] = 200
    html_type = "text/html; charset=utf-8"

    def respond(page: Page) -> Any:
        if page.location:
            response = redirect(page.location, page.status)
        else:
            response = Response(page.html, page.status, content_type=html_type)
        response.headers["X-Crowd-Page"] = page.kind
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(RequestProblem)
    def problem(err: RequestProblem) -> Response:
        return respond(Page("error", simple_page("This page cannot be shown", f"<p>{html.escape(str(err))}</p>"), err.status))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(err: Exception) -> Response:
        text = f"<p>What was sent is larger than {MAX_BODY_BYTES // 1024} KiB; shorten your answers and send again.</p>"
        return respond(Page("error", simple_page("Too much data", text), 413))

    @app.get("/healthz")
    def healthz() -> Response:
        if task_app is None:
            return jsonify(task_name=None, task_run_id=None, units=0, hit_pages=campaign is not None)
        return jsonify(task_name=task_app.task.name, task_run_id=task_app.task_run_id, units=len(task_app.task.units),
                       hit_pages=campaign is not None)

    @app.get("/hit")
    def hit_page() -> Response:
        if campaign is None:
            raise NotFound()
        return respond(campaign.page(request.args, request.remote_addr or "unknown"))

    @app.get("/study")
    def study_page() -> Response:
        if study is None:
            raise NotFound()
        return respond(study.page(request.args))

    @app.post("/study/mturk/externalSubmit")
    def study_answer() -> Response:
        if study is None:
            raise NotFound()
        return respond(study.answer(request.form))

    if task_app is None:
        return app

    @app.get("/task")
    def task() -> Response:
        return respond(task_app.task_entry(request.args))

    @app.post("/onboarding")
    def onboarding() -> Any:
        return respond(task_app.onboarding_answer(request.form))

    @app.post("/submit")
    def submit() -> Response:
        return respond(task_app.submission(request.form))

    @app.get("/<path:filename>")
    def extra(filename: str) -> Response:
        folder = task_app.task.config.extra_source_dir
        if folder is None:
            raise NotFound()
        return send_from_directory(folder, filename)

    return app


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGINT stop a foreground server (KeyboardInterrupt, which werkzeug ends on).

    Both handlers are set explicitly, because a parent (a service manager, a test runner, a
    shell running it in the background) may have left SIGINT ignored, and SIGTERM's default
    would kill the process without closing the server. The old handlers come back afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class TaskServer:
    """The task server on a loopback port, in a background thread: `start()`, `url`, `stop()`.

    `task=None` serves only the campaign HIT pages (`campaign_pages`).
    """

    def __init__(
        self,
        task: CrowdTask | None,
        db: CrowdDB | None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        task_run_id: str | None = None,
        rules: OnboardingRules | None = None,
        submit_origins: Iterable[str] = (),
        on_onboarding: OnboardingHook | None = None,
        verifier: Verifier | None = None,
        campaign_pages: CampaignPages | None = None,
        study_pages: StudyPages | None = None,
    ) -> None:
        self.task = task
        self.db = db
        self.host = host
        self.port = port
        self.app: TaskApp | None = None
        self.task_run_id = task_run_id
        if task is not None and db is not None:
            self.task_run_id = task_run_id or db.create_task_run(
                task.name, str(task.config.conf_path), [
                    {"unit_id": u.unit_id, "row_number": u.row_number, "values": u.values} for u in task.units
                ],
            )
            self.app = TaskApp(task, db, self.task_run_id, rules=rules, submit_origins=submit_origins,
                               on_onboarding=on_onboarding, verifier=verifier)
        self.campaign_pages = campaign_pages
        self.study_pages = study_pages
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the task server is not running; call start() first")
        return f"http://{self.host}:{self._server.server_port}"

    def make_server(self) -> BaseWSGIServer:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
                LOG.debug(message, *args)

        server = make_server(self.host, self.port, create_app(self.app, self.campaign_pages, self.study_pages),
                             threaded=True,
                             request_handler=QuietHandler)
        self._server = server
        if self.db is not None and self.task_run_id:
            self.db.set_server_url(self.task_run_id, self.url)
        return server

    def start(self) -> TaskServer:
        if self._thread is not None:
            return self
        server = self.make_server()
        name = self.task.name if self.task else "hit-pages"
        self._thread = threading.Thread(target=server.serve_forever, name=f"task-server-{name}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self, announce: Callable[[str], None] | None = None) -> None:
        """Run in the foreground until SIGTERM or SIGINT (`iglu crowd serve`); `announce` gets the URL."""
        with stop_on_signals():
            server = self.make_server()
            if announce is not None:
                announce(self.url)
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
            finally:
                server.server_close()
                self._server = None

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> TaskServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
