"""The researcher API under `/api/v1/`, token-authenticated, answering Prolific's shapes."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from iglu_lib.local.prolific.model import ApiError, Prolific, bad_request

blueprint = Blueprint("prolific_api", __name__, url_prefix="/api/v1")


def emulator() -> Prolific:
    prolific: Prolific = current_app.extensions["prolific"]
    return prolific


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None and request.content_length:
        raise bad_request("The body is not JSON")
    if data is not None and not isinstance(data, dict):
        raise bad_request("The body must be a JSON object")
    return data or {}


def endpoint(view: Callable[..., Any]) -> Callable[..., Any]:
    """Token check, one lock around the change, and errors as Prolific's `{"error": {...}}`."""

    @wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        expected = current_app.config["PROLIFIC_TOKEN"]
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Token {expected}".encode()):
            error = ApiError(401, "Unauthorized", "No valid token was provided")
            return jsonify(error.body()), 401
        prolific = emulator()
        try:
            with prolific.store.lock:
                prolific.expire_overdue()
                return view(prolific, **kwargs)
        except ApiError as err:
            return jsonify(err.body()), err.status

    return wrapped


def results(items: list[dict[str, Any]]) -> Response:
    return jsonify({"results": items})


@blueprint.get("/users/me/")
@endpoint
def me(p: Prolific) -> Any:
    return jsonify(p.me())


@blueprint.route("/workspaces/", methods=["GET", "POST"])
@endpoint
def workspaces(p: Prolific) -> Any:
    p.me()
    if request.method == "POST":
        return jsonify(p.workspace_view(p.create_workspace(body()))), 201
    return results([p.workspace_view(ws) for ws in p.store.all("workspace")])


@blueprint.get("/workspaces/<ws_id>/")
@endpoint
def workspace(p: Prolific, ws_id: str) -> Any:
    return jsonify(p.workspace_view(p.get("workspace", ws_id)))


@blueprint.get("/workspaces/<ws_id>/balance/")
@endpoint
def balance(p: Prolific, ws_id: str) -> Any:
    return jsonify(p.balance(ws_id))


@blueprint.route("/workspaces/<ws_id>/projects/", methods=["GET", "POST"])
@endpoint
def projects(p: Prolific, ws_id: str) -> Any:
    if request.method == "POST":
        return jsonify(p.create_project(ws_id, body())), 201
    p.get("workspace", ws_id)
    return results(list(p.store.where("project", workspace=ws_id)))


@blueprint.get("/projects/<project_id>/")
@endpoint
def project(p: Prolific, project_id: str) -> Any:
    return jsonify(p.get("project", project_id))


@blueprint.get("/projects/<project_id>/studies/")
@endpoint
def project_studies(p: Prolific, project_id: str) -> Any:
    p.get("project", project_id)
    return results([p.study_view(s) for s in p.store.where("study", project=project_id)])


@blueprint.route("/studies/", methods=["GET", "POST"])
@endpoint
def studies(p: Prolific) -> Any:
    if request.method == "POST":
        return jsonify(p.study_view(p.create_study(body()))), 201
    wanted = request.args.getlist("state")
    return results([p.study_view(s) for s in p.store.all("study") if not wanted or s["status"] in wanted])


@blueprint.route("/studies/<study_id>/", methods=["GET", "PATCH", "DELETE"])
@endpoint
def study(p: Prolific, study_id: str) -> Any:
    if request.method == "PATCH":
        return jsonify(p.study_view(p.update_study(study_id, body())))
    if request.method == "DELETE":
        p.delete_study(study_id)
        return jsonify("Deleted")
    return jsonify(p.study_view(p.get("study", study_id)))


@blueprint.post("/studies/<study_id>/transition/")
@endpoint
def study_transition(p: Prolific, study_id: str) -> Any:
    return jsonify(p.study_view(p.transition_study(study_id, body().get("action"))))


@blueprint.get("/studies/<study_id>/submissions/")
@endpoint
def study_submissions(p: Prolific, study_id: str) -> Any:
    p.get("study", study_id)
    return results([p.submission_short(s) for s in p.store.where("submission", study_id=study_id)])


@blueprint.post("/study-cost-calculator/")
@endpoint
def cost(p: Prolific) -> Any:
    from iglu_lib.local.prolific.model import fee_of

    data = body()
    reward, places = data.get("reward"), data.get("total_available_places")
    if not (isinstance(reward, int) and isinstance(places, int)) or min(reward, places) < 1:
        raise bad_request("reward and total_available_places: positive whole numbers")
    return jsonify({"total_cost": places * (reward + fee_of(reward))})


@blueprint.get("/submissions/")
@endpoint
def submissions(p: Prolific) -> Any:
    study_id = request.args.get("study")
    found = p.store.where("submission", study_id=study_id) if study_id else p.store.all("submission")
    return results([p.submission_short(s) for s in found])


@blueprint.get("/submissions/<sub_id>/")
@endpoint
def submission(p: Prolific, sub_id: str) -> Any:
    return jsonify(p.submission_detail(p.get("submission", sub_id)))


@blueprint.post("/submissions/<sub_id>/transition/")
@endpoint
def submission_transition(p: Prolific, sub_id: str) -> Any:
    return jsonify(p.submission_detail(p.transition_submission(sub_id, body())))


@blueprint.post("/submissions/bulk-approve/")
@endpoint
def bulk_approve(p: Prolific) -> Any:
    return jsonify(p.bulk_approve(body()))


@blueprint.post("/submissions/bonus-payments/")
@endpoint
def bonus_setup(p: Prolific) -> Any:
    return jsonify(p.set_up_bonuses(body())), 201


@blueprint.post("/bulk-bonus-payments/<bulk_id>/pay/")
@endpoint
def bonus_pay(p: Prolific, bulk_id: str) -> Any:
    return jsonify(p.pay_bonuses(bulk_id)), 202


@blueprint.route("/participant-groups/", methods=["GET", "POST"])
@endpoint
def groups(p: Prolific) -> Any:
    if request.method == "POST":
        return jsonify(p.group_view(p.create_group(body()))), 201
    workspace, project = request.args.get("workspace_id"), request.args.get("project_id")
    found = [g for g in p.store.all("group") if not g["is_deleted"]
             and (workspace is None or g["workspace_id"] == workspace)
             and (project is None or g["project_id"] == project)]
    return results([p.group_view(g) for g in found])


@blueprint.route("/participant-groups/<group_id>/", methods=["GET", "PATCH", "DELETE"])
@endpoint
def group(p: Prolific, group_id: str) -> Any:
    found = p.get("group", group_id)
    if request.method == "DELETE":
        found["is_deleted"] = True  # deletion is soft, and the answer does not say so
        p.store.put("group", found)
        return "", 204
    if request.method == "PATCH":
        data = body()
        if "name" in data:
            found["name"] = str(data["name"])
        if "participant_ids" in data:  # PATCH overwrites the membership
            found["members"] = []
            p.store.put("group", found)
            p.change_members(group_id, data["participant_ids"], add=True)
            found = p.get("group", group_id)
        p.store.put("group", found)
    return jsonify(p.group_view(found))


@blueprint.route("/participant-groups/<group_id>/participants/", methods=["GET", "POST", "DELETE"])
@endpoint
def group_members(p: Prolific, group_id: str) -> Any:
    if request.method == "GET":
        return jsonify(p.members(p.get("group", group_id)))
    return jsonify(p.change_members(group_id, body().get("participant_ids"), add=request.method == "POST"))


@blueprint.route("/messages/", methods=["GET", "POST"])
@endpoint
def messages(p: Prolific) -> Any:
    if request.method == "POST":
        p.send_message(body())
        return "", 204
    user, after = request.args.get("user_id"), request.args.get("created_after")
    if not user and not after:
        raise bad_request("user_id or created_after is required")
    found = [m for m in p.store.all("message") if (not user or user in (m["recipient_id"], m["sender_id"]))
             and (not after or m["sent_at"] >= after)]
    return results(found)
