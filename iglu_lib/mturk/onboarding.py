"""The onboarding gate of a droidlet crowd task on MTurk: two qualification types, as Mephisto keeps it.

The `onboarding_qualification` type records 1 (passed) or 0 (failed), and a worker who failed
is granted `<name>-failed`, which every HIT of the task requires not to exist on
DiscoverPreviewAndAccept, so a failed worker is not even shown the task's HITs. The type ids a
records file created are remembered in it (`QualificationMemory`), per service endpoint, so a
fresh local stack or another account never gets an id meant for another.
"""

from __future__ import annotations

from typing import Any, Protocol

from iglu_lib.mturk.manager import HitManager, MTurkError
from iglu_lib.mturk.qualifications import grant
from iglu_lib.mturk.qualifications import score as qualification_score

PASSED_SCORE = 1
FAILED_SCORE = 0


class ProviderError(MTurkError):
    """The crowd platform cannot do what the task needs; the message says what to do."""


class QualificationMemory(Protocol):
    """Where the ids of the types a task made are remembered (the crowd records, `CrowdDB`)."""

    def qualification_type_id(self, name: str, endpoint: str) -> str | None:
        """The id remembered for `name` on the service at `endpoint`, or None."""

    def remember_qualification_type(self, name: str, endpoint: str, type_id: str) -> None:
        """Remember `type_id` for `name` on the service at `endpoint`."""


def failed_qualification_name(name: str) -> str:
    """Mephisto's name for the qualification of workers who failed an onboarding."""
    return f"{name}-failed"


class OnboardingQualification:
    """The onboarding result on the platform, as Mephisto keeps it.

    `name` records the result (1 passed, 0 failed); `<name>-failed` is granted to a worker who
    failed, and every HIT of the task requires it not to exist on DiscoverPreviewAndAccept, so
    the task's HITs are not even listed for them, nor can they preview or accept one.
    """

    def __init__(self, manager: HitManager, name: str, db: QualificationMemory | None = None) -> None:
        self.manager = manager
        self.name = name
        self.failed_name = failed_qualification_name(name)
        self.db = db
        self.type_id: str | None = None
        self.failed_type_id: str | None = None

    @property
    def endpoint(self) -> str:
        """The platform's address: a type id remembered for one platform is not asked of another."""
        return str(getattr(getattr(self.manager.client, "meta", None), "endpoint_url", ""))

    def ensure(self) -> str:
        """The result type's id: remembered, created, or found by name (in that order)."""
        if not self.type_id:
            self.type_id = self._ensure(self.name, f"Onboarding result of the task using '{self.name}': 1 passed, 0 failed.")
        return self.type_id

    def ensure_failed(self) -> str:
        """The `-failed` type's id (granted only to workers who failed the onboarding)."""
        if not self.failed_type_id:
            self.failed_type_id = self._ensure(
                self.failed_name, f"Failed the onboarding of the task using '{self.name}'; its HITs are not shown.")
        return self.failed_type_id

    def _ensure(self, name: str, description: str) -> str:
        type_id = self._remembered(name) or self._create(name, description) or self._find(name)
        if type_id is None:
            raise ProviderError(
                f"qualification type '{name}' exists on the platform but could not be listed; "
                "rename mephisto.blueprint.onboarding_qualification or give the records file that created it (--db)"
            )
        if self.db is not None:
            self.db.remember_qualification_type(name, self.endpoint, type_id)
        return type_id

    def _remembered(self, name: str) -> str | None:
        type_id = self.db.qualification_type_id(name, self.endpoint) if self.db is not None else None
        if type_id is None:
            return None
        try:
            self.manager.call("get_qualification_type", QualificationTypeId=type_id)
        except MTurkError:
            return None  # the platform forgot it (a fresh local stack): make it again
        return type_id

    def _create(self, name: str, description: str) -> str | None:
        try:
            created = self.manager.call(
                "create_qualification_type", Name=name, Description=description, QualificationTypeStatus="Active",
            )
        except MTurkError as err:
            if "already" in str(err).lower():
                return None
            raise
        return created["QualificationType"]["QualificationTypeId"]

    def _find(self, name: str) -> str | None:
        token: str | None = None
        while True:
            try:
                page = self.manager.call(
                    "list_qualification_types",
                    Query=name, MustBeRequestable=False, MustBeOwnedByCaller=True, MaxResults=100,
                    **({"NextToken": token} if token else {}),
                )
            except MTurkError:
                return None
            for qualification in page.get("QualificationTypes", []):
                if qualification.get("Name") == name:
                    return qualification["QualificationTypeId"]
            token = page.get("NextToken")
            if not token:
                return None

    def requirement(self) -> dict[str, Any]:
        """What every HIT of the task requires: no failed onboarding, to be listed, previewed or accepted."""
        return {
            "QualificationTypeId": self.ensure_failed(),
            "Comparator": "DoesNotExist",
            "ActionsGuarded": "DiscoverPreviewAndAccept",
        }

    def record(self, worker_id: str, passed: bool) -> None:
        """Mirror one worker's result (the task server's `on_onboarding` hook)."""
        if not passed:
            grant(self.manager, self.ensure_failed(), worker_id, 1)
        grant(self.manager, self.ensure(), worker_id, PASSED_SCORE if passed else FAILED_SCORE)

    def score(self, worker_id: str) -> int | None:
        """The worker's result on the platform, or None when they have none."""
        return qualification_score(self.manager, self.ensure(), worker_id)

    def has_failed(self, worker_id: str) -> bool:
        return qualification_score(self.manager, self.ensure_failed(), worker_id) is not None


