"""Qualification requirements: checked when a HIT is created, enforced when a worker acts.

A worker's value for a requirement comes from a granted qualification, or, for the system
qualifications (approval rate, approved HIT count, locale), from the simulated worker's
profile. A worker without the qualification satisfies only `DoesNotExist`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from iglu_lib.local.mturk.errors import RequestError
from iglu_lib.local.mturk.system_qualifications import (
    APPROVAL_RATE,
    APPROVED_HITS,
    LOCALE,
    SYSTEM_TYPES,
)

DEFAULT_PROFILE: dict[str, Any] = {
    "approval_rate": 100,
    "approved_hits": 1000,
    "locale": {"Country": "US"},
}

#: Which worker actions each `ActionsGuarded` value guards.
GUARDED_ACTIONS = {
    "Accept": {"accept"},
    "PreviewAndAccept": {"preview", "accept"},
    "DiscoverPreviewAndAccept": {"discover", "preview", "accept"},
}

Value = dict[str, Any]  # {"IntegerValue": int} or {"LocaleValue": {"Country": ..}}


def _locale_matches(have: Mapping[str, str], want: Mapping[str, str]) -> bool:
    if have.get("Country") != want.get("Country"):
        return False
    return "Subdivision" not in want or have.get("Subdivision") == want["Subdivision"]


def _matches_any(value: Value, requirement: Mapping[str, Any]) -> bool:
    if requirement.get("LocaleValues"):
        locale = value.get("LocaleValue") or {}
        return any(_locale_matches(locale, want) for want in requirement["LocaleValues"])
    return value.get("IntegerValue") in requirement.get("IntegerValues", [])


def _compare(test: Callable[[int, int], bool]) -> Callable[[Value, Mapping[str, Any]], bool]:
    def check(value: Value, requirement: Mapping[str, Any]) -> bool:
        have = value.get("IntegerValue")
        return have is not None and test(have, requirement["IntegerValues"][0])

    return check


COMPARATORS: dict[str, Callable[[Value, Mapping[str, Any]], bool]] = {
    "LessThan": _compare(lambda have, want: have < want),
    "LessThanOrEqualTo": _compare(lambda have, want: have <= want),
    "GreaterThan": _compare(lambda have, want: have > want),
    "GreaterThanOrEqualTo": _compare(lambda have, want: have >= want),
    "EqualTo": _matches_any,
    "NotEqualTo": lambda value, requirement: not _matches_any(value, requirement),
    "In": _matches_any,
    "NotIn": lambda value, requirement: not _matches_any(value, requirement),
    "Exists": lambda value, requirement: True,
}
#: How many values each comparator takes: (minimum, maximum).
VALUE_COUNTS = {
    "LessThan": (1, 1), "LessThanOrEqualTo": (1, 1), "GreaterThan": (1, 1),
    "GreaterThanOrEqualTo": (1, 1), "EqualTo": (1, 1), "NotEqualTo": (1, 1),
    "In": (1, 15), "NotIn": (1, 15), "Exists": (0, 0), "DoesNotExist": (0, 0),
}


def check_requirements(db: sqlite3.Connection, requirements: list[dict[str, Any]]) -> None:
    """Refuse requirements the service refuses: unknown types, wrong value counts, both guards."""
    for i, requirement in enumerate(requirements):
        where = f"QualificationRequirements[{i}]"
        comparator = requirement["Comparator"]
        count = len(requirement.get("IntegerValues", [])) + len(requirement.get("LocaleValues", []))
        low, high = VALUE_COUNTS[comparator]
        if not low <= count <= high:
            raise RequestError(
                f"{where}: comparator {comparator} takes {low} to {high} values, not {count}",
                "AWS.MechanicalTurk.InvalidQualificationRequirement",
            )
        if requirement.get("IntegerValues") and requirement.get("LocaleValues"):
            raise RequestError(f"{where}: give IntegerValues or LocaleValues, not both")
        if "ActionsGuarded" in requirement and "RequiredToPreview" in requirement:
            raise RequestError(f"{where}: give ActionsGuarded or RequiredToPreview, not both")
        type_id = requirement["QualificationTypeId"]
        if type_id not in SYSTEM_TYPES and not db.execute(
            "SELECT 1 FROM qualification_types WHERE id = ?", (type_id,)
        ).fetchone():
            raise RequestError(
                f"{where}: QualificationType {type_id} does not exist",
                "AWS.MechanicalTurk.QualificationTypeDoesNotExist",
            )


def guarded_actions(requirement: Mapping[str, Any]) -> set[str]:
    if "ActionsGuarded" in requirement:
        return GUARDED_ACTIONS[requirement["ActionsGuarded"]]
    return GUARDED_ACTIONS["PreviewAndAccept" if requirement.get("RequiredToPreview") else "Accept"]


def worker_profile(db: sqlite3.Connection, worker_id: str) -> dict[str, Any]:
    row = db.execute("SELECT data FROM workers WHERE id = ?", (worker_id,)).fetchone()
    return {**DEFAULT_PROFILE, **(json.loads(row["data"]) if row else {})}


def worker_value(db: sqlite3.Connection, worker_id: str, type_id: str) -> Value | None:
    """The worker's value for a qualification type, or None when the worker has none."""
    profile = worker_profile(db, worker_id)
    system = {
        APPROVAL_RATE: {"IntegerValue": profile["approval_rate"]},
        APPROVED_HITS: {"IntegerValue": profile["approved_hits"]},
        LOCALE: {"LocaleValue": profile["locale"]},
    }
    if type_id in system:
        return system[type_id]
    row = db.execute(
        "SELECT data FROM qualifications WHERE type_id = ? AND worker_id = ? AND status = 'Granted'",
        (type_id, worker_id),
    ).fetchone()
    return json.loads(row["data"]) if row else None


def is_met(db: sqlite3.Connection, worker_id: str, requirement: Mapping[str, Any]) -> bool:
    value = worker_value(db, worker_id, requirement["QualificationTypeId"])
    if requirement["Comparator"] == "DoesNotExist":
        return value is None
    return value is not None and COMPARATORS[requirement["Comparator"]](value, requirement)


def unmet(
    db: sqlite3.Connection, worker_id: str, requirements: list[dict[str, Any]], action: str
) -> list[dict[str, Any]]:
    """The requirements guarding `action` (discover, preview, accept) that the worker fails."""
    return [
        requirement
        for requirement in requirements
        if action in guarded_actions(requirement) and not is_met(db, worker_id, requirement)
    ]
