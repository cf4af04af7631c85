"""The task server: serves a static task's pages to workers and records what they send.

The crowd platform shows the task in an iframe at the ExternalQuestion URL
`<server>/task?unit_id=N` with `assignmentId`, `hitId`, `workerId` and `turkSubmitTo`
appended. The server then

- shows the preview page while the HIT is only previewed
  (`assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE`);
- gates on onboarding: a worker who passed before goes straight to the task, one who failed
  is refused, a new one gets the onboarding page, whose answer is checked, recorded and
  mirrored to the platform through `on_onboarding` (the provider's qualification);
- fills the task page's placeholders from the unit's row and the runtime values;
- stores the submitted form, then forwards it to the platform (`turkSubmitTo`, whose origin
  must be one the server was told to trust, so the page can never post a worker elsewhere).

`TaskServer` runs the app on a loopback port in a background thread for tests and notebooks;
`iglu crowd serve` runs it in the foreground.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from iglu_lib.crowd.db import CrowdDB
from iglu_lib.crowd.onboarding import REASON_TEXT, OnboardingRules, check_onboarding
from iglu_lib.crowd.pages import fill, task_values
from iglu_lib.crowd.task import CrowdTask

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


class RequestProblem(Exception):
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
    """The request handlers, bound to one task, one run and one database."""

    def __init__(
        self,
        task: CrowdTask,
        db: CrowdDB,
        task_run_id: str,
        *,
        rules: OnboardingRules | None = None,
        submit_origins: Iterable[str] = (),
        on_onboarding: OnboardingHook | None = None,
    ) -> None:
        self.task = task
        self.db = db
        self.task_run_id = task_run_id
        self.rules = rules or OnboardingRules()
        self.submit_origins = {origin(url) for url in submit_origins}
        self.on_onboarding = on_onboarding

    # -- request parsing ---------------------------------------------------------
    def context(self, params: Mapping[str, str]) -> WorkContext:
        worker_id = params.get("workerId", "").strip()
        assignment_id = params.get("assignmentId", "").strip()
        if not worker_id or not assignment_id:
            raise RequestProblem("This page needs the assignmentId and workerId the crowd platform adds; open it from the HIT.")
        hit_id = params.get("hitId", "").strip()
        run_id, unit_id = self._unit_of(hit_id, params.get("unit_id", ""))
        turk_submit_to = params.get("turkSubmitTo", "").strip()
        if turk_submit_to and origin(turk_submit_to) not in self.submit_origins:
            raise RequestProblem("turkSubmitTo is not an address of the crowd platform this server works for.")
        return WorkContext(run_id, unit_id, assignment_id, hit_id, worker_id, turk_submit_to)

    def _unit_of(self, hit_id: str, unit_param: str) -> tuple[str, int]:
        """The HIT's unit as launched (authoritative), else the `unit_id` parameter."""
        launched = self.db.unit_for_hit(hit_id) if hit_id else None
        if launched is not None:
            return launched["task_run_id"], int(launched["unit_id"])
        try:
            unit_id = int(unit_param)
            self.task.unit(unit_id)
        except (ValueError, KeyError):
            raise RequestProblem(f"Unknown unit '{unit_param}' for this task.", 404) from None
        return self.task_run_id, unit_id

    # -- pages ---------------------------------------------------------------------
    def task_entry(self, params: Mapping[str, str]) -> Page:
        """GET /task: preview, refusal, onboarding or the task page."""
        if params.get("assignmentId", PREVIEW_ASSIGNMENT) == PREVIEW_ASSIGNMENT:
            return self.preview_entry(params)
        ctx = self.context(params)
        self.db.open_assignment(ctx.assignment_id, ctx.task_run_id, ctx.unit_id, ctx.hit_id or None, ctx.worker_id)
        return self._gated(ctx, self.task_page)

    def preview_entry(self, params: Mapping[str, str]) -> Page:
        """The preview; with a worker id (as the local platform passes) onboarding comes first,
        so that a new worker earns the qualification the HIT requires before accepting."""
        if not params.get("workerId", "").strip() or not self.task.config.has_onboarding:
            return Page("preview", self.preview_page())
        return self._gated(self.context(params), lambda ctx: Page("preview", self.preview_page()))

    def _gated(self, ctx: WorkContext, page: Callable[[WorkContext], Page]) -> Page:
        gate = self._gate(ctx.worker_id)
        if gate == "failed":
            return self.refusal(ctx.worker_id)
        if gate == "new":
            return Page("onboarding", self._fill("onboarding", ctx.runtime_values()))
        return page(ctx)

    def preview_page(self) -> str:
        values = task_values(self.task.config)
        if self.task.pages.preview is None:
            return simple_page(values["task_title"], f"<p>{html.escape(values['task_description'])}</p>")
        return fill(self.task.pages.preview, values, "preview page")

    def task_page(self, ctx: WorkContext) -> Page:
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
        """POST /onboarding: check, record, mirror; refused, or sent back to the task."""
        ctx = self.context(form)
        if self._gate(ctx.worker_id) == "new":
            result = check_onboarding(form.get("answer", ""), self.rules)
            qualification = self.task.config.onboarding_qualification or ""
            if self.db.record_onboarding(ctx.worker_id, qualification, result.passed, result.reasons, result.commands, form.get("answer", "")):
                self._mirror(ctx.worker_id, result.passed)
        if self._gate(ctx.worker_id) == "failed":
            return self.refusal(ctx.worker_id)
        return Page("redirect", status=303, location=f"/task?{ctx.query()}")

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
        """POST /submit: store the form, then forward it to the platform."""
        ctx = self.context(form)
        opened = self.db.assignment(ctx.assignment_id)
        if opened is None or opened["worker_id"] != ctx.worker_id:
            raise RequestProblem("This assignment was not opened by this worker; open the task from the HIT.", 403)
        if self._gate(ctx.worker_id) != "passed":
            raise RequestProblem("Only workers who passed the qualification question can submit.", 403)
        data = {key: value for key, value in form.items() if key not in ID_FIELDS}
        self.db.record_submission(ctx.assignment_id, ctx.task_run_id, ctx.unit_id, ctx.worker_id, data)
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


def create_app(task_app: TaskApp) -> Any:
    """The Flask application around `task_app`'s handlers."""
    from flask import Flask, Response, jsonify, redirect, request, send_from_directory
    from werkzeug.exceptions import NotFound

    app = Flask(f"crowd-{task_app.task.name}")
    html_type = "text/html; charset=utf-8"

    def respond(page: Page) -> Any:
        if page.location:
            response = redirect(page.location, page.status)
        else:
            response = Response(page.html, page.status, content_type=html_type)
        response.headers["X-Crowd-Page"] = page.kind
        return response

    @app.errorhandler(RequestProblem)
    def problem(err: RequestProblem) -> Response:
        return respond(Page("error", simple_page("This page cannot be shown", f"<p>{html.escape(str(err))}</p>"), err.status))

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(task_name=task_app.task.name, task_run_id=task_app.task_run_id, units=len(task_app.task.units))

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


class TaskServer:
    """The task server on a loopback port, in a background thread: `start()`, `url`, `stop()`."""

    def __init__(
        self,
        task: CrowdTask,
        db: CrowdDB,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        task_run_id: str | None = None,
        rules: OnboardingRules | None = None,
        submit_origins: Iterable[str] = (),
        on_onboarding: OnboardingHook | None = None,
    ) -> None:
        self.task = task
        self.db = db
        self.host = host
        self.port = port
        self.task_run_id = task_run_id or db.create_task_run(
            task.name, str(task.config.conf_path), [
                {"unit_id": u.unit_id, "row_number": u.row_number, "values": u.values} for u in task.units
            ],
        )
        self.app = TaskApp(task, db, self.task_run_id, rules=rules, submit_origins=submit_origins, on_onboarding=on_onboarding)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the task server is not running; call start() first")
        return f"http://{self.host}:{self._server.server_port}"

    def make_server(self) -> Any:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
                LOG.debug(message, *args)

        server = make_server(self.host, self.port, create_app(self.app), threaded=True, request_handler=QuietHandler)
        self._server = server
        self.db.set_server_url(self.task_run_id, self.url)
        return server

    def start(self) -> TaskServer:
        if self._thread is not None:
            return self
        server = self.make_server()
        self._thread = threading.Thread(target=server.serve_forever, name=f"task-server-{self.task.name}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self, announce: Callable[[str], None] | None = None) -> None:
        """Run in the foreground until interrupted (`iglu crowd serve`); `announce` gets the URL."""
        server = self.make_server()
        if announce is not None:
            announce(self.url)
        try:
            server.serve_forever()
        finally:
            server.server_close()

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
