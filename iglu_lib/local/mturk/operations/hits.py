"""HIT operations: create (directly or through a HIT type), read, list, review, expire, delete."""

from __future__ import annotations

from typing import Any

from iglu_lib.local.mturk import lifecycle, records
from iglu_lib.local.mturk.errors import RequestError
from iglu_lib.local.mturk.ids import new_id
from iglu_lib.local.mturk.money import parse_amount
from iglu_lib.local.mturk.operations.registry import Context, claim_request_token, operation, page
from iglu_lib.local.mturk.qualification_rules import check_requirements
from iglu_lib.local.mturk.questions import parse_question

HIT_TYPE_FIELDS = (
    "Title", "Description", "Keywords", "Reward", "AssignmentDurationInSeconds",
    "AutoApprovalDelayInSeconds", "QualificationRequirements",
)
DEFAULT_AUTO_APPROVAL_SECONDS = 30 * 24 * 3600
LIMITS = {  # (min, max) of the service's durations and counts
    "AssignmentDurationInSeconds": (30, 365 * 24 * 3600),
    "AutoApprovalDelayInSeconds": (0, 30 * 24 * 3600),
    "LifetimeInSeconds": (30, 365 * 24 * 3600),
    "MaxAssignments": (1, 1_000_000),
}

TEXT_LIMITS = {"Title": 128, "Description": 2000, "Keywords": 1000, "RequesterAnnotation": 255}
QUESTION_MAX_BYTES = 65535


def _check_limits(params: dict[str, Any]) -> None:
    for name, (low, high) in LIMITS.items():
        if name in params and not low <= params[name] <= high:
            raise RequestError(
                f"The value {params[name]} of {name} must be between {low} and {high}",
                "AWS.ParameterOutOfRange",
            )
    for name, most in TEXT_LIMITS.items():
        if len(params.get(name, "")) > most:
            raise RequestError(
                f"{name} is {len(params[name])} characters long; the service allows at most {most}",
                "AWS.ParameterOutOfRange",
            )
    if len(params.get("Question", "").encode("utf-8")) > QUESTION_MAX_BYTES:
        raise RequestError(
            f"The XML question data must not be larger than {QUESTION_MAX_BYTES} bytes",
            "AWS.ParameterOutOfRange",
        )


def _check_reward(reward: str) -> None:
    parse_amount(reward, "Reward")


def _hit_type(ctx: Context, params: dict[str, Any]) -> str:
    _check_limits(params)
    _check_reward(params["Reward"])
    check_requirements(ctx.db, params.get("QualificationRequirements", []))
    properties = {name: params[name] for name in HIT_TYPE_FIELDS if name in params}
    properties.setdefault("AutoApprovalDelayInSeconds", DEFAULT_AUTO_APPROVAL_SECONDS)
    properties.setdefault("QualificationRequirements", [])
    return records.find_or_create_hit_type(ctx.db, properties, new_id())


def _create_hit(ctx: Context, hit_type_id: str, params: dict[str, Any]) -> dict[str, Any]:
    _check_limits(params)
    if "HITLayoutId" in params or "Question" not in params:
        raise RequestError(
            "Give a Question (HTMLQuestion, ExternalQuestion or QuestionForm); "
            "HIT layouts are not available on the local server",
            "AWS.MechanicalTurk.InvalidParameterValue",
        )
    parse_question(params["Question"])
    claim_request_token(ctx, params.get("UniqueRequestToken"), "CreateHIT")
    hit_type = records.load_hit_type(ctx.db, hit_type_id)
    hit = {
        **hit_type,
        "HITId": new_id(),
        "HITTypeId": hit_type_id,
        "HITGroupId": hit_type_id,
        "CreationTime": ctx.now,
        "Question": params["Question"],
        "MaxAssignments": params.get("MaxAssignments", 1),
        "RequesterAnnotation": params.get("RequesterAnnotation"),
        "HITReviewStatus": "NotReviewed",
    }
    records.insert_hit(ctx.db, hit, ctx.now + params["LifetimeInSeconds"])
    return {"HIT": records.hit_view(ctx.db, records.hit_row(ctx.db, hit["HITId"]))}


@operation("CreateHITType")
def create_hit_type(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"HITTypeId": _hit_type(ctx, params)}


@operation("CreateHIT")
def create_hit(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _create_hit(ctx, _hit_type(ctx, params), params)


@operation("CreateHITWithHITType")
def create_hit_with_hit_type(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _create_hit(ctx, params["HITTypeId"], params)


@operation("GetHIT")
def get_hit(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"HIT": records.hit_view(ctx.db, records.hit_row(ctx.db, params["HITId"]))}


def _hit_page(ctx: Context, params: dict[str, Any], where: str, args: tuple[Any, ...]) -> dict[str, Any]:
    rows, token = page(ctx, params, f"SELECT * FROM hits WHERE {where}", args)
    hits = [records.hit_view(ctx.db, row) for row in rows]
    return {"HITs": hits, "NumResults": len(hits), "NextToken": token}


@operation("ListHITs")
def list_hits(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _hit_page(ctx, params, "status != 'Disposed'", ())


@operation("ListReviewableHITs")
def list_reviewable_hits(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    args: tuple[Any, ...]
    where, args = "status = ?", (params.get("Status", "Reviewable"),)
    if "HITTypeId" in params:
        where, args = where + " AND hit_type_id = ?", (*args, params["HITTypeId"])
    return _hit_page(ctx, params, where, args)


@operation("UpdateHITReviewStatus")
def update_hit_review_status(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    row = records.hit_row(ctx.db, params["HITId"])
    before, after = ("Reviewing", "Reviewable") if params.get("Revert") else ("Reviewable", "Reviewing")
    if row["status"] != before:
        raise RequestError(
            f"This operation can be called with a status of: {before} (HIT {row['id']} is {row['status']})",
            "AWS.MechanicalTurk.InvalidHITState",
        )
    records.set_hit_status(ctx.db, row["id"], after)
    return {}


@operation("UpdateExpirationForHIT")
def update_expiration_for_hit(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """A time in the past expires the HIT now; a later time reopens a HIT with free slots."""
    row = records.hit_row(ctx.db, params["HITId"])
    if row["status"] in ("Disposed", "Reviewing"):
        raise RequestError(
            f"The expiration of HIT {row['id']} cannot change while it is {row['status']}",
            "AWS.MechanicalTurk.InvalidHITState",
        )
    records.set_hit_expiration(ctx.db, row["id"], max(params["ExpireAt"], ctx.now))
    lifecycle.refresh_hit(ctx.db, row["id"], ctx.now)
    return {}


@operation("DeleteHIT")
def delete_hit(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Only a Reviewable HIT whose submitted work is all approved or rejected can go."""
    row = records.hit_row(ctx.db, params["HITId"])
    counts = records.assignment_counts(ctx.db, row["id"])
    if row["status"] != "Reviewable" or counts.get("Submitted", 0):
        raise RequestError(
            f"This HIT ({row['id']}) is currently in the state '{row['status']}'. This operation can be "
            "called with a status of: Reviewable, once every submitted assignment is approved or rejected",
            "AWS.MechanicalTurk.InvalidHITState",
        )
    records.set_hit_status(ctx.db, row["id"], "Disposed")
    return {}


@operation("CreateAdditionalAssignmentsForHIT")
def create_additional_assignments_for_hit(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """More slots for a HIT; the service never takes a HIT from under 10 slots to 10 or more."""
    row = records.hit_row(ctx.db, params["HITId"])
    extra = params["NumberOfAdditionalAssignments"]
    current = records.hit_view(ctx.db, row)["MaxAssignments"]
    if extra < 1:
        raise RequestError("NumberOfAdditionalAssignments must be at least 1", "AWS.ParameterOutOfRange")
    if current < 10 <= current + extra:
        raise RequestError(
            "HITs created with fewer than 10 assignments cannot be extended to have 10 or more",
            "AWS.MechanicalTurk.InvalidParameterValue",
        )
    if row["status"] in ("Disposed", "Reviewing"):
        raise RequestError(
            f"HIT {row['id']} is {row['status']}: it takes no more assignments",
            "AWS.MechanicalTurk.InvalidHITState",
        )
    claim_request_token(ctx, params.get("UniqueRequestToken"), "CreateAdditionalAssignmentsForHIT")
    records.update_hit_data(ctx.db, row["id"], MaxAssignments=current + extra)
    lifecycle.refresh_hit(ctx.db, row["id"], ctx.now)
    return {}


@operation("ListHITsForQualificationType")
def list_hits_for_qualification_type(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    where = (
        "status != 'Disposed' AND EXISTS (SELECT 1 FROM json_each(data, '$.QualificationRequirements') "
        "WHERE json_extract(value, '$.QualificationTypeId') = ?)"
    )
    return _hit_page(ctx, params, where, (params["QualificationTypeId"],))
