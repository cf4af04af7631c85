"""The local control API under `/_local`: simulated workers, the clock, faults and counts.

JSON in, JSON out. These requests are never counted and never faulted: they drive the
rehearsal, they are not part of the service.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, Response, jsonify, request

from iglu_lib.local.mturk import clock, strict_json, worker_actions
from iglu_lib.local.mturk.errors import WorkerActionError
from iglu_lib.local.mturk.qualification_rules import DEFAULT_PROFILE
from iglu_lib.local.mturk.server_state import state

blueprint = Blueprint("control", __name__, url_prefix="/_local")


#: Bodies of the control API are small JSON objects.
MAX_BODY_BYTES = 1024 * 1024


class BadRequest(WorkerActionError):
    """A malformed control request: a 400 whose body also carries the service's
    `__type`/`Message` pair, so an AWS-style client reads it as a validation error and does
    not retry it."""

    def __init__(self, message: str, error_type: str = "ValidationException") -> None:
        super().__init__("BadRequest", message, 400)
        self.error_type = error_type


@blueprint.errorhandler(WorkerActionError)
def _refused(error: WorkerActionError) -> tuple[Response, int]:
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    if isinstance(error, BadRequest):
        body.update({"__type": error.error_type, "Message": error.message})
    return jsonify(body), error.status


def _json() -> dict[str, Any]:
    """The body as a JSON object; non-finite or overflowing numbers are refused here."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise BadRequest(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        body = strict_json.loads(raw)
    except strict_json.BadNumber as error:
        raise BadRequest(str(error), "ParameterValidationError") from None
    except strict_json.BadJson:
        raise BadRequest("the request body must be a JSON object", "SerializationException") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object", "SerializationException")
    return body


def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if name not in body:
        if default is ...:
            raise BadRequest(f"field {name!r} is required")
        return default
    value = body[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise BadRequest(f"field {name!r} has the wrong type ({type(value).__name__})")
    return value


def _is_locale(value: dict[str, Any]) -> bool:
    return (
        "Country" in value
        and set(value) <= {"Country", "Subdivision"}
        and all(isinstance(part, str) for part in value.values())
    )


def _worker_id(body: dict[str, Any]) -> str:
    worker_id = _field(body, "worker_id", str)
    if not worker_id.strip() or len(worker_id) > 64:
        raise BadRequest("worker_id must be a non-empty string of at most 64 characters")
    return worker_id


@blueprint.get("/health")
def health() -> Response:
    return jsonify({"ok": True})


@blueprint.post("/workers")
def upsert_worker() -> Response:
    body = _json()
    worker_id = _worker_id(body)
    rate = _field(body, "approval_rate", (int, float), DEFAULT_PROFILE["approval_rate"])
    approved = _field(body, "approved_hits", int, DEFAULT_PROFILE["approved_hits"])
    locale = _field(body, "locale", dict, DEFAULT_PROFILE["locale"])
    if not 0 <= rate <= 100 or approved < 0:
        raise BadRequest("approval_rate must be within 0..100 and approved_hits >= 0")
    if not _is_locale(locale):
        raise BadRequest('locale must look like {"Country": "US", "Subdivision": "WA"}')
    profile = {"approval_rate": int(rate), "approved_hits": approved, "locale": locale}

    def save(ctx: Any) -> None:
        ctx.db.execute(
            "INSERT INTO workers (id, data) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (worker_id, json.dumps(profile)),
        )

    state().run(save)
    return jsonify({"worker_id": worker_id})


@blueprint.get("/workers/<worker_id>/hits")
def worker_hits(worker_id: str) -> Response:
    """The HITs the worker can accept now, or (`?view=discover`) the HITs the site shows them."""
    view = request.args.get("view", "accept")
    if view not in ("accept", "discover"):
        raise BadRequest("view must be 'accept' or 'discover'")
    return jsonify({"hits": state().run(lambda ctx: worker_actions.hits_for_worker(ctx.db, worker_id, view))})


@blueprint.get("/hits/<hit_id>/preview")
def preview(hit_id: str) -> Response:
    """The HIT as a worker previews it (`?worker_id=W`); 403 when its requirements forbid it."""
    worker_id = _worker_id({"worker_id": request.args.get("worker_id", "")})
    return jsonify(state().run(lambda ctx: worker_actions.preview(ctx.db, hit_id, worker_id)))


@blueprint.get("/messages")
def messages() -> Response:
    """Every message NotifyWorkers delivered, oldest first (`?worker_id=W` for one worker's)."""
    worker_id = request.args.get("worker_id")

    def read(ctx: Any) -> list[dict[str, Any]]:
        where, args = ("WHERE worker_id = ?", (worker_id,)) if worker_id else ("", ())
        rows = ctx.db.execute(f"SELECT worker_id, subject, text, time FROM messages {where} ORDER BY seq", args)
        return [dict(row) for row in rows]

    return jsonify({"messages": state().run(read)})


@blueprint.get("/workers/<worker_id>/messages")
def worker_messages(worker_id: str) -> Response:
    def read(ctx: Any) -> list[dict[str, Any]]:
        rows = ctx.db.execute(
            "SELECT subject, text, time FROM messages WHERE worker_id = ? ORDER BY seq", (worker_id,)
        )
        return [dict(row) for row in rows]

    return jsonify({"messages": state().run(read)})


@blueprint.post("/hits/<hit_id>/accept")
def accept(hit_id: str) -> Response:
    worker_id = _worker_id(_json())
    assignment_id, question = state().run(lambda ctx: worker_actions.accept(ctx, hit_id, worker_id))
    return jsonify({"assignment_id": assignment_id, "question": question.for_worker()})


@blueprint.post("/assignments/<assignment_id>/submit")
def submit(assignment_id: str) -> Response:
    answers = _field(_json(), "answers", dict)
    if not all(_is_selection(value) for value in answers.values()):
        raise BadRequest(
            "answers must map each QuestionIdentifier to a FreeText string "
            "(or, for a QuestionForm's selection question, a list of SelectionIdentifiers)"
        )
    pairs = [
        (name, value) for name, values in answers.items()
        for value in (values if isinstance(values, list) else [values])
    ]
    state().run(lambda ctx: worker_actions.submit(ctx, assignment_id, pairs))
    return jsonify({"status": "Submitted"})


@blueprint.post("/assignments/<assignment_id>/return")
def return_assignment(assignment_id: str) -> Response:
    state().run(lambda ctx: worker_actions.return_assignment(ctx, assignment_id))
    return jsonify({"status": "Returned"})


@blueprint.get("/qualifications/<type_id>")
def qualification_type(type_id: str) -> Response:
    """What a worker sees before requesting: name, description, and the test if there is one."""
    found = state().run(lambda ctx: worker_actions.requestable_type(ctx.db, type_id))
    return jsonify({
        "qualification_type_id": type_id, "name": found["Name"], "description": found["Description"],
        "test": found.get("Test"), "auto_granted": bool(found.get("AutoGranted")),
    })


@blueprint.post("/qualifications/<type_id>/request")
def request_qualification(type_id: str) -> Response:
    body = _json()
    worker_id = _worker_id(body)
    answers = _field(body, "answers", dict, {})
    if not all(_is_selection(value) for value in answers.values()):
        raise BadRequest("answers must map each QuestionIdentifier to a SelectionIdentifier or a list of them")
    result = state().run(lambda ctx: worker_actions.request_qualification(ctx, type_id, worker_id, answers))
    return jsonify(result)


def _is_selection(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


@blueprint.get("/clock")
def get_clock() -> Response:
    return jsonify({"now": state().run(lambda ctx: ctx.now)})


@blueprint.post("/clock/advance")
def advance_clock() -> Response:
    """Move the clock forward by a finite number of seconds, at most `clock.MAX_STEP_SECONDS`."""
    seconds = _field(_json(), "seconds", (int, float))
    if not math.isfinite(seconds) or not 0 <= seconds <= clock.MAX_STEP_SECONDS:
        raise BadRequest(
            f"The value {seconds!r} is not valid for seconds: give a finite number from 0 "
            f"(the clock only moves forward) to {clock.MAX_STEP_SECONDS:.0f} (ten years)",
            "ParameterValidationError",
        )
    try:
        with state().store.transaction() as db:
            now = clock.advance(db, seconds)
    except ValueError as error:
        raise BadRequest(str(error), "ParameterValidationError") from None
    return jsonify({"now": now})


@blueprint.post("/faults")
def set_faults() -> Response:
    body = _json()
    fraction = _field(body, "fraction", (int, float))
    seed = _field(body, "seed", (int, type(None)), None)
    kinds = _field(body, "kinds", list, ["throttle", "server_error"])
    try:
        state().faults.configure(float(fraction), seed, kinds)
    except (ValueError, TypeError) as error:
        raise BadRequest(str(error)) from None
    return jsonify({"fraction": fraction, "seed": seed, "kinds": kinds})


@blueprint.get("/stats")
def stats() -> Response:
    return jsonify(state().stats.snapshot())


@blueprint.post("/stats/reset")
def reset_stats() -> Response:
    state().stats.reset()
    return jsonify(state().stats.snapshot())
