"""The worker side of the site, for a browser: list HITs, preview, accept, work and submit.

A HIT's question is shown in `<iframe id="hit-frame">` with the parameters the real site
passes (`assignmentId`, `hitId`, `workerId`, `turkSubmitTo`; `ASSIGNMENT_ID_NOT_AVAILABLE`
while previewing). Every value from requesters or workers is escaped by the templates.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response  # what redirect returns

from iglu_lib.local.mturk import records, worker_actions
from iglu_lib.local.mturk.errors import RequestError, WorkerActionError
from iglu_lib.local.mturk.question_form import parse_question_form
from iglu_lib.local.mturk.questions import (
    PREVIEW_ASSIGNMENT_ID,
    external_url,
    local_crowd_html,
    worker_parameters,
)
from iglu_lib.local.mturk.server_state import state

blueprint = Blueprint("pages", __name__, template_folder="templates")
DEFAULT_FRAME_HEIGHT = 800


def _submit_to() -> str:
    return request.host_url.rstrip("/")


def _worker_id() -> str:
    return (request.values.get("workerId") or "").strip()


def _frame_src(hit_id: str, hit: dict[str, Any], assignment_id: str, worker_id: str) -> str:
    parameters = worker_parameters(assignment_id, hit_id, worker_id, _submit_to())
    question = worker_actions.question_of(hit)
    if question.kind == "ExternalQuestion":
        return external_url(question.url or "", parameters)
    return url_for("pages.frame", hit_id=hit_id) + "?" + parameters


def _hit_page(hit_id: str, worker_id: str, assignment_id: str | None, error: str | None, status: int) -> tuple[str, int]:
    def gather(ctx: Any) -> dict[str, Any]:
        hit = records.hit_view(ctx.db, records.hit_row(ctx.db, hit_id))
        refusal = None if assignment_id else worker_actions.preview_refusal(ctx.db, hit_id, worker_id)
        tests = [] if assignment_id else worker_actions.requestable_unmet(ctx.db, hit_id, worker_id)
        return {"hit": hit, "refusal": refusal, "tests": tests}

    try:
        found = state().run(gather)
    except (RequestError, WorkerActionError):  # an unknown or disposed HIT
        return render_template("message.html", title="No such HIT", message=f"There is no HIT {hit_id}."), 404
    hit, refusal = found["hit"], found["refusal"]
    src = None
    if not refusal and worker_id:
        src = _frame_src(hit_id, hit, assignment_id or PREVIEW_ASSIGNMENT_ID, worker_id)
    page = render_template(
        "hit.html", hit=hit, worker_id=worker_id, assignment_id=assignment_id, frame_src=src,
        frame_height=worker_actions.question_of(hit).frame_height or DEFAULT_FRAME_HEIGHT,
        refusal=refusal, error=error, tests=found["tests"],
    )
    return page, status


@blueprint.get("/worker")
def hit_list() -> str:
    worker_id = _worker_id()
    hits = state().run(lambda ctx: worker_actions.hits_for_worker(ctx.db, worker_id)) if worker_id else []
    return render_template("list.html", worker_id=worker_id, hits=hits)


@blueprint.get("/worker/hits/<hit_id>")
def preview(hit_id: str) -> tuple[str, int]:
    return _hit_page(hit_id, _worker_id(), None, None, 200)


@blueprint.post("/worker/hits/<hit_id>/accept")
def accept(hit_id: str) -> Response | tuple[str, int]:
    worker_id = _worker_id()
    if not worker_id:
        return _hit_page(hit_id, worker_id, None, "Give a worker id to accept this HIT.", 400)
    try:
        assignment_id, _ = state().run(lambda ctx: worker_actions.accept(ctx, hit_id, worker_id))
    except WorkerActionError as error:
        return _hit_page(hit_id, worker_id, None, error.message, error.status)
    return redirect(url_for("pages.work", assignment_id=assignment_id, workerId=worker_id), code=303)


@blueprint.get("/worker/assignments/<assignment_id>")
def work(assignment_id: str) -> tuple[str, int]:
    try:
        found = state().run(lambda ctx: worker_actions.assignment_context(ctx.db, assignment_id))
    except WorkerActionError as error:
        return render_template("message.html", title="No such assignment", message=error.message), 404
    if found["status"] != records.ACCEPTED:
        message = f"This assignment is {found['status']}."
        return render_template("message.html", title="Assignment closed", message=message), 200
    return _hit_page(found["hit_id"], found["worker_id"], assignment_id, None, 200)


@blueprint.post("/worker/assignments/<assignment_id>/return")
def return_assignment(assignment_id: str) -> Response | tuple[str, int]:
    try:
        state().run(lambda ctx: worker_actions.return_assignment(ctx, assignment_id))
    except WorkerActionError as error:
        return render_template("message.html", title="Cannot return", message=error.message), error.status
    return redirect(url_for("pages.hit_list", workerId=_worker_id()), code=303)


@blueprint.route("/worker/qualifications/<type_id>", methods=["GET", "POST"])
def qualification(type_id: str) -> tuple[str, int]:
    """A qualification's test as a form (or a request button), scored on submit."""
    worker_id = _worker_id()
    try:
        found = state().run(lambda ctx: worker_actions.requestable_type(ctx.db, type_id))
    except WorkerActionError as missing:
        return render_template("message.html", title="No such qualification", message=missing.message), missing.status
    questions = parse_question_form(found["Test"]) if "Test" in found else []
    result, error, status = None, None, 200
    if request.method == "POST":
        answers = {
            q.identifier: request.form.getlist(q.identifier) if q.multiple else request.form.get(q.identifier, "")
            for q in questions
        }
        try:
            if not worker_id:
                raise WorkerActionError("BadRequest", "Give a worker id to request a qualification.", 400)
            result = state().run(lambda ctx: worker_actions.request_qualification(ctx, type_id, worker_id, answers))
        except WorkerActionError as refused:
            error, status = refused.message, refused.status
    page = render_template(
        "qualification.html", qualification=found, questions=questions, worker_id=worker_id,
        result=result, error=error,
    )
    return page, status


@blueprint.get("/worker/hits/<hit_id>/frame")
def frame(hit_id: str) -> tuple[str, int]:
    """An HTMLQuestion's content, with the crowd-form script served locally, or a QuestionForm
    rendered as a form that posts to `/mturk/externalSubmit`."""
    try:
        hit = state().run(lambda ctx: records.hit_view(ctx.db, records.hit_row(ctx.db, hit_id)))
    except RequestError:
        return render_template("message.html", title="No such HIT", message=f"There is no HIT {hit_id}."), 404
    question = worker_actions.question_of(hit)
    if question.kind == "QuestionForm":
        assignment_id = request.args.get("assignmentId", PREVIEW_ASSIGNMENT_ID)
        page = render_template(
            "question_form.html", questions=parse_question_form(question.xml or ""),
            assignment_id=assignment_id, preview=assignment_id == PREVIEW_ASSIGNMENT_ID,
        )
        return page, 200
    if question.kind != "HTMLQuestion":
        message = f"This HIT is an {question.kind}: its frame is the external URL."
        return render_template("message.html", title="Not shown here", message=message), 404
    return local_crowd_html(question.html or ""), 200


@blueprint.route("/mturk/externalSubmit", methods=["GET", "POST"])
def external_submit() -> tuple[str, int]:
    """Store every field but `assignmentId` as one Answer, as the real site does."""
    assignment_id = request.values.get("assignmentId", "")
    answers = [(name, value) for name, value in request.values.items(multi=True) if name != "assignmentId"]
    if not assignment_id or assignment_id == PREVIEW_ASSIGNMENT_ID:
        message = "Accept the HIT before submitting: this is a preview."
        return render_template("message.html", title="Not accepted", message=message), 400
    try:
        # werkzeug annotates items(multi=True) as (key, list) pairs; it yields (key, value) pairs.
        state().run(lambda ctx: worker_actions.submit(ctx, assignment_id, answers))  # type: ignore[arg-type]
    except WorkerActionError as error:
        return render_template("message.html", title="Not submitted", message=error.message), error.status
    return render_template("message.html", title="Submitted", message="Your work was submitted. Thank you!"), 200
