"""Qualification types and the qualifications workers hold."""

from __future__ import annotations

import json
from typing import Any

from iglu_lib.local.mturk.answer_key import check_against_test, read_answer_key
from iglu_lib.local.mturk.errors import RequestError, does_not_exist
from iglu_lib.local.mturk.ids import new_id
from iglu_lib.local.mturk.operations.registry import Context, operation, page
from iglu_lib.local.mturk.question_form import question_identifiers
from iglu_lib.local.mturk.system_qualifications import SYSTEM_TYPES

TYPE_FIELDS = (
    "Name", "Description", "Keywords", "QualificationTypeStatus", "RetryDelayInSeconds", "Test",
    "AnswerKey", "TestDurationInSeconds", "AutoGranted", "AutoGrantedValue",
)


def load_qualification_type(ctx: Context, type_id: str) -> dict[str, Any]:
    row = ctx.db.execute("SELECT data FROM qualification_types WHERE id = ?", (type_id,)).fetchone()
    if row is None:
        raise does_not_exist("QualificationType", type_id)
    return json.loads(row["data"])


def _check_test(params: dict[str, Any]) -> None:
    if "Test" in params:
        if params.get("AutoGranted"):
            raise RequestError("A QualificationType with a Test cannot be AutoGranted")
        if "TestDurationInSeconds" not in params:
            raise RequestError("A QualificationType with a Test needs TestDurationInSeconds")
        ids = question_identifiers(params["Test"])
        if "AnswerKey" in params:
            check_against_test(read_answer_key(params["AnswerKey"]), ids)
    elif "AnswerKey" in params:
        raise RequestError("An AnswerKey needs a Test")


@operation("CreateQualificationType")
def create_qualification_type(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _check_test(params)
    if ctx.db.execute("SELECT 1 FROM qualification_types WHERE name = ?", (params["Name"],)).fetchone():
        raise RequestError(
            f"You have already created a QualificationType with this name: {params['Name']}",
            "AWS.MechanicalTurk.QualificationTypeAlreadyExists",
        )
    qualification_type = {name: params[name] for name in TYPE_FIELDS if name in params}
    qualification_type.update(
        QualificationTypeId=new_id(),
        CreationTime=ctx.now,
        IsRequestable=bool(params.get("Test") or params.get("AutoGranted")),
    )
    ctx.db.execute(
        "INSERT INTO qualification_types (id, name, data) VALUES (?, ?, ?)",
        (qualification_type["QualificationTypeId"], params["Name"], json.dumps(qualification_type)),
    )
    return {"QualificationType": qualification_type}


@operation("GetQualificationType")
def get_qualification_type(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"QualificationType": load_qualification_type(ctx, params["QualificationTypeId"])}


@operation("ListQualificationTypes")
def list_qualification_types(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """The requester's own types (the local server has no other requesters' types to search)."""
    rows, token = page(ctx, params, "SELECT * FROM qualification_types WHERE 1 = 1", ())
    found = [json.loads(row["data"]) for row in rows]
    query = params.get("Query", "").lower()
    found = [
        t for t in found
        if (not params["MustBeRequestable"] or t["IsRequestable"])
        and query in f"{t['Name']} {t['Description']} {t.get('Keywords', '')}".lower()
    ]
    return {"QualificationTypes": found, "NumResults": len(found), "NextToken": token}


def grant(ctx: Context, type_id: str, worker_id: str, value: int) -> None:
    """Give (or update) a worker's qualification."""
    qualification = {
        "QualificationTypeId": type_id, "WorkerId": worker_id, "GrantTime": ctx.now,
        "IntegerValue": value, "Status": "Granted",
    }
    ctx.db.execute(
        "INSERT INTO qualifications (type_id, worker_id, status, data) VALUES (?, ?, 'Granted', ?) "
        "ON CONFLICT (type_id, worker_id) DO UPDATE SET status = 'Granted', data = excluded.data",
        (type_id, worker_id, json.dumps(qualification)),
    )


def _custom_type(ctx: Context, type_id: str) -> dict[str, Any]:
    if type_id in SYSTEM_TYPES:
        raise RequestError(
            f"QualificationType {type_id} is a system qualification; only your own types can be "
            "given, taken or read", "AWS.MechanicalTurk.PermissionDenied",
        )
    return load_qualification_type(ctx, type_id)


@operation("DeleteQualificationType")
def delete_qualification_type(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """The type is gone at once with the qualifications it granted (the service takes up to 48
    hours, keeping the name reserved meanwhile; tests should not reuse a deleted type's name)."""
    type_id = _custom_type(ctx, params["QualificationTypeId"])["QualificationTypeId"]
    ctx.db.execute("DELETE FROM qualifications WHERE type_id = ?", (type_id,))
    ctx.db.execute("DELETE FROM qualification_types WHERE id = ?", (type_id,))
    return {}


@operation("AssociateQualificationWithWorker")
def associate_qualification_with_worker(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _custom_type(ctx, params["QualificationTypeId"])
    grant(ctx, params["QualificationTypeId"], params["WorkerId"], params.get("IntegerValue", 1))
    return {}


def _qualification_row(ctx: Context, type_id: str, worker_id: str) -> Any:
    row = ctx.db.execute(
        "SELECT * FROM qualifications WHERE type_id = ? AND worker_id = ?", (type_id, worker_id)
    ).fetchone()
    if row is None:
        raise RequestError(
            f"Worker {worker_id} does not have QualificationType {type_id}",
            "AWS.MechanicalTurk.QualificationDoesNotExist",
        )
    return row


@operation("DisassociateQualificationFromWorker")
def disassociate_qualification_from_worker(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    type_id, worker_id = params["QualificationTypeId"], params["WorkerId"]
    _custom_type(ctx, type_id)
    row = _qualification_row(ctx, type_id, worker_id)
    data = {**json.loads(row["data"]), "Status": "Revoked"}
    ctx.db.execute(
        "UPDATE qualifications SET status = 'Revoked', data = ? WHERE seq = ?", (json.dumps(data), row["seq"])
    )
    return {}


@operation("GetQualificationScore")
def get_qualification_score(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _custom_type(ctx, params["QualificationTypeId"])
    row = _qualification_row(ctx, params["QualificationTypeId"], params["WorkerId"])
    return {"Qualification": json.loads(row["data"])}


@operation("ListWorkersWithQualificationType")
def list_workers_with_qualification_type(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _custom_type(ctx, params["QualificationTypeId"])
    args: tuple[Any, ...]
    where, args = "type_id = ?", (params["QualificationTypeId"],)
    if "Status" in params:
        where, args = where + " AND status = ?", (*args, params["Status"])
    rows, token = page(ctx, params, f"SELECT * FROM qualifications WHERE {where}", args)
    qualifications = [json.loads(row["data"]) for row in rows]
    return {"Qualifications": qualifications, "NumResults": len(qualifications), "NextToken": token}
