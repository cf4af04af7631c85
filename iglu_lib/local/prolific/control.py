"""The control API (`/_local/...`): what simulated participants and tests do that Prolific's
researcher API cannot, i.e. a participant finding a study, starting, returning, timing out or
finishing with a completion code, the clock, the money actually paid, and funding."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from iglu_lib.local.prolific.api import emulator
from iglu_lib.local.prolific.model import RETURNED, TIMED_OUT, ApiError, Prolific

blueprint = Blueprint("prolific_control", __name__, url_prefix="/_local")


def _run(action: Any) -> Any:
    prolific: Prolific = emulator()
    try:
        with prolific.store.lock:
            prolific.expire_overdue()
            return jsonify(action(prolific))
    except ApiError as err:
        return jsonify(err.body()), err.status


def _data() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


@blueprint.get("/health")
def health() -> Any:
    return jsonify({"ok": True})


@blueprint.get("/studies")
def open_studies() -> Any:
    participant = request.args.get("participant_id", "")
    return _run(lambda p: {"results": [p.study_view(s) for s in p.open_studies(participant)]})


@blueprint.post("/studies/<study_id>/start")
def start(study_id: str) -> Any:
    return _run(lambda p: p.start(study_id, str(_data().get("participant_id", ""))))


@blueprint.post("/submissions/<sub_id>/return")
def give_back(sub_id: str) -> Any:
    return _run(lambda p: p.submission_detail(p.leave(sub_id, RETURNED)))


@blueprint.post("/submissions/<sub_id>/time-out")
def time_out(sub_id: str) -> Any:
    return _run(lambda p: p.submission_detail(p.leave(sub_id, TIMED_OUT)))


@blueprint.post("/submissions/<sub_id>/complete")
def complete(sub_id: str) -> Any:
    """The participant's browser reaching `https://app.prolific.com/submissions/complete?cc=CODE`."""
    code = _data().get("code")
    return _run(lambda p: p.submission_detail(p.complete(p.get("submission", sub_id), code)))


@blueprint.get("/bonus-payments")
def payments() -> Any:
    """Every bonus actually paid (a bulk bonus paid twice shows twice)."""
    study = request.args.get("study_id")
    return _run(lambda p: {"results": [x for x in p.store.all("payment") if not study or x["study_id"] == study]})


@blueprint.get("/messages")
def messages() -> Any:
    participant = request.args.get("participant_id")
    return _run(lambda p: {"results": [m for m in p.store.all("message")
                                       if not participant or m["recipient_id"] == participant]})


@blueprint.post("/workspaces/<ws_id>/fund")
def fund(ws_id: str) -> Any:
    return _run(lambda p: p.fund(ws_id, int(_data().get("amount_cents", 0))))


@blueprint.route("/clock", methods=["GET", "POST"])
def clock() -> Any:
    seconds = float(_data().get("advance_seconds", 0)) if request.method == "POST" else 0.0
    return _run(lambda p: {"now": p.store.advance(seconds) if seconds else p.store.now()})
