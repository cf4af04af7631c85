"""Qualification types with a test and an answer key (the qualifier task), read from files.

The test is MTurk `QuestionForm` XML and the answer key `AnswerKey` XML. Both are checked
before anything is sent: well-formed (parsed with `defusedxml`), the right root element, and
every question of the key present in the test, so that a typo shows up as an error naming the
file and the question rather than as a qualification nobody can pass.

A test asks for consent (question `consent` by default): the key must score a worker who does
not consent 0 whatever else they answer, checked by scoring every combination of answers with
the local service's scorer, so no worker holds the qualification without having consented.
Campaign parameters name qualifications by id or name (`campaign_requirements`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iglu_lib.errors import IgluError
from iglu_lib.mturk.manager import HitManager, MTurkError

#: The question identifier of the consent question a qualifier test must ask.
CONSENT_QUESTION = "consent"
#: At most this many answer combinations are scored when checking the consent rule.
MAX_COMBINATIONS = 100_000


class QualificationFileError(IgluError, ValueError):
    """A qualification test or answer key file is unusable; the message names the file."""



class QualificationNotFound(IgluError):
    """A campaign requires a qualification the account does not have; the message names it."""


@dataclass(frozen=True)
class QualificationTest:
    """A qualification type to create: its test, answer key and how it is offered."""

    name: str
    description: str
    test_xml: str
    answer_key_xml: str
    keywords: str = ""
    test_duration_seconds: int = 600
    retry_delay_seconds: int | None = None

    @classmethod
    def from_files(cls, name: str, description: str, test_file: str | Path, answer_key_file: str | Path,
                   *, consent_question: str | None = CONSENT_QUESTION, **options: Any) -> QualificationTest:
        """Read and check a test and its answer key (and its consent rule, unless
        `consent_question` is None)."""
        test_xml = _read(test_file)
        key_xml = _read(answer_key_file)
        questions = _identifiers(test_file, test_xml, root="QuestionForm", container="Question")
        answered = _identifiers(answer_key_file, key_xml, root="AnswerKey", container="Question")
        unknown = sorted(set(answered) - set(questions))
        if unknown:
            raise QualificationFileError(
                f"{answer_key_file}: answers question(s) {', '.join(unknown)} that {test_file} does not ask"
            )
        unanswered = sorted(set(questions) - set(answered))
        if unanswered:
            raise QualificationFileError(
                f"{answer_key_file}: has no answer for question(s) {', '.join(unanswered)} of {test_file}"
            )
        if consent_question is not None:
            check_consent(answer_key_file, key_xml, questions, consent_question)
        return cls(name, description, test_xml, key_xml, **options)

    def create_arguments(self) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "Name": self.name,
            "Description": self.description,
            "Keywords": self.keywords,
            "QualificationTypeStatus": "Active",
            "Test": self.test_xml,
            "AnswerKey": self.answer_key_xml,
            "TestDurationInSeconds": self.test_duration_seconds,
        }
        if self.retry_delay_seconds is not None:
            arguments["RetryDelayInSeconds"] = self.retry_delay_seconds
        return arguments


def create_qualification_type(manager: HitManager, test: QualificationTest) -> str:
    """Create the qualification type; returns its id (workers then take the test on MTurk)."""
    response = manager.call("create_qualification_type", **test.create_arguments())
    return response["QualificationType"]["QualificationTypeId"]


def requirement(qualification_type_id: str, minimum_score: int, *, guard: str = "Accept") -> dict[str, Any]:
    """A `QualificationRequirement` for HITs: at least `minimum_score` on the qualification."""
    return {
        "QualificationTypeId": qualification_type_id,
        "Comparator": "GreaterThanOrEqualTo",
        "IntegerValues": [int(minimum_score)],
        "ActionsGuarded": guard,
    }


def grant(manager: HitManager, qualification_type_id: str, worker_id: str, value: int = 1,
          *, notify: bool = False) -> None:
    """Give a worker the qualification by hand (e.g. a worker who passed an onboarding task)."""
    manager.call("associate_qualification_with_worker", QualificationTypeId=qualification_type_id,
                 WorkerId=worker_id, IntegerValue=int(value), SendNotification=notify)


def score(manager: HitManager, qualification_type_id: str, worker_id: str) -> int | None:
    """A worker's score on the qualification, or None when the worker does not hold it."""
    try:
        response = manager.call("get_qualification_score", QualificationTypeId=qualification_type_id,
                                WorkerId=worker_id)
    except MTurkError as err:
        if err.code == "RequestError":
            return None
        raise
    return response["Qualification"].get("IntegerValue")


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QualificationFileError(f"{path}: file not found") from None


def _identifiers(path: str | Path, xml: str, *, root: str, container: str) -> list[str]:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        element = fromstring(xml.encode("utf-8"), forbid_dtd=True)
    except DefusedXmlException as err:
        raise QualificationFileError(f"{path}: uses a forbidden XML construct ({type(err).__name__})") from None
    except ParseError as err:
        raise QualificationFileError(f"{path}: malformed XML ({err})") from None
    if _local(element.tag) != root:
        raise QualificationFileError(f"{path}: root element is <{_local(element.tag)}>, expected <{root}>")
    identifiers = []
    for index, question in enumerate((e for e in element if _local(e.tag) == container), start=1):
        found = [c.text.strip() for c in question if _local(c.tag) == "QuestionIdentifier" and c.text]
        if not found:
            raise QualificationFileError(f"{path}: {container} {index} has no QuestionIdentifier")
        identifiers.append(found[0])
    if not identifiers:
        raise QualificationFileError(f"{path}: has no <{container}> element")
    return identifiers


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else str(tag)


def check_consent(path: str | Path, key_xml: str, questions: list[str], consent_question: str) -> None:
    """Refuse a key under which a worker who does not consent can score above 0, or a consenting
    worker can never score above 0. The consenting answer is the consent question's best-scored
    option; not consenting is any other answer or none."""
    from itertools import product

    from iglu_lib.mturk.answer_key import parse_answer_key

    if consent_question not in questions:
        raise QualificationFileError(
            f"{path}: the test asks no consent question '{consent_question}' (a worker must agree "
            "before taking part; pass --no-consent only for a test given after consent elsewhere)")
    key = parse_answer_key(key_xml)
    choices = {q.identifier: [sel for sel, _ in q.options] + [frozenset()] for q in key.questions}
    consent = next(q for q in key.questions if q.identifier == consent_question)
    if not consent.options:
        raise QualificationFileError(f"{path}: the consent question '{consent_question}' scores no answer")
    agree = max(consent.options, key=lambda option: option[1])[0]
    names = list(choices)
    if _count(choices) > MAX_COMBINATIONS:
        raise QualificationFileError(f"{path}: too many answer combinations to check the consent rule")
    best = {True: 0, False: 0}
    for combination in product(*(choices[n] for n in names)):
        answers = {n: sorted(sel) for n, sel in zip(names, combination, strict=True)}
        agreed = combination[names.index(consent_question)] == agree
        best[agreed] = max(best[agreed], key.value(answers))
    if best[False] > 0:
        raise QualificationFileError(
            f"{path}: a worker who does not consent ('{consent_question}' not answered "
            f"{'/'.join(sorted(agree))}) can still score {best[False]}; map such totals to 0 "
            "(e.g. a RangeMapping, see params/examples/qualifier)")
    if best[True] <= 0:
        raise QualificationFileError(f"{path}: no worker who consents can score above 0")


def _count(choices: dict[str, list[Any]]) -> int:
    total = 1
    for options in choices.values():
        total *= len(options)
    return total


def campaign_requirements(manager: HitManager, specs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`QualificationRequirement`s for a campaign's `qualification_requirements`
    (`[{type: <QualificationTypeId or name>, min_score: N}]`): a name is looked up among the
    requester's own types (exact match), anything else must be a type the service knows."""
    return [requirement(resolve_type(manager, str(spec["type"])), int(spec["min_score"])) for spec in specs]


def find_type_by_name(manager: HitManager, name: str) -> str | None:
    """The QualificationTypeId of the requester's own type with exactly this name, or None."""
    for found in manager.paginate("list_qualification_types", "QualificationTypes", Query=name,
                                  MustBeRequestable=False, MustBeOwnedByCaller=True):
        if found.get("Name") == name:
            return str(found["QualificationTypeId"])
    return None


def resolve_type(manager: HitManager, name_or_id: str) -> str:
    """The QualificationTypeId of a type named by id or by its exact name."""
    found = find_type_by_name(manager, name_or_id)
    if found is not None:
        return found
    try:
        return manager.call("get_qualification_type", QualificationTypeId=name_or_id)[
            "QualificationType"]["QualificationTypeId"]
    except MTurkError as err:
        from iglu_lib.mturk.retry import SERVER_FAULT_CODES, THROTTLING_CODES

        if err.code is None or err.code in SERVER_FAULT_CODES | THROTTLING_CODES:
            raise  # the service did not answer: a later turn asks again
        raise QualificationNotFound(
            f"qualification_requirements: no qualification type named or with id '{name_or_id}' on "
            f"profile '{manager.profile_name}' ({err.code or err}); create it with `iglu mturk qualify`"
        ) from None


def required_type_problems(manager: HitManager) -> tuple[list[str], list[str], list[str]]:
    """The qualification types the profile's HIT settings require, those of them that are not
    MTurk's system types, and each custom type that is missing or inactive (with why)."""
    from iglu_lib.mturk.system_qualifications import SYSTEM_TYPES

    wanted = [str(q.get("QualificationTypeId")) for q in manager.settings.qualification_requirements]
    custom = [type_id for type_id in wanted if type_id not in SYSTEM_TYPES]
    problems = []
    for type_id in custom:
        try:
            found = manager.call("get_qualification_type", QualificationTypeId=type_id)["QualificationType"]
        except MTurkError as err:
            problems.append(f"{type_id} ({str(err)[:120]})")
            continue
        if found.get("QualificationTypeStatus", "Active") != "Active":
            problems.append(f"{type_id} is {found.get('QualificationTypeStatus')}")
    return wanted, custom, problems


class CampaignCapabilities:
    """A campaign's capabilities on MTurk: its own qualification types (see `HitManager.capabilities`)."""

    def __init__(self, manager: HitManager) -> None:
        self.manager = manager

    def soft_block(self, campaign: str) -> CampaignQualification:
        return CampaignQualification.soft_block(self.manager, campaign)

    def cap(self, campaign: str) -> CampaignQualification:
        return CampaignQualification.cap(self.manager, campaign)

    def allowed(self, campaign: str) -> CampaignQualification:
        return CampaignQualification.allowed(self.manager, campaign)

    def judged_task(self, campaign: str, task_id: str) -> CampaignQualification:
        return CampaignQualification.judged_task(self.manager, campaign, task_id)

    def cap_holders(self, campaign: str) -> int:
        """Workers kept out of the campaign at their cap (its cap qualification's holders); 0 when
        the campaign never made one. Creates nothing."""
        qualification = self.cap(campaign)
        type_id = find_type_by_name(self.manager, qualification.name)
        if not type_id:
            return 0
        qualification._type_id = type_id
        return len(qualification.workers())


class CampaignQualification:
    """One of the campaign's own qualification types on the service, found or made on first use.
    A worker who has it is kept out of the HITs that require its absence (see `requirement`)."""

    def __init__(self, manager: HitManager, name: str, description: str = "") -> None:
        self.manager = manager
        self.name = name[:200]
        self.description = description or "Workers kept out of this study's HITs"
        self._type_id: str | None = None

    @classmethod
    def soft_block(cls, manager: HitManager, campaign: str) -> CampaignQualification:
        return cls(manager, f"iglu-blocked-{campaign}",
                   "Workers kept out of this study's HITs (their work did not meet its requirements)")

    @classmethod
    def cap(cls, manager: HitManager, campaign: str) -> CampaignQualification:
        return cls(manager, f"iglu-capped-{campaign}", "Workers who did as many of this study's HITs as it allows")

    @classmethod
    def allowed(cls, manager: HitManager, campaign: str) -> CampaignQualification:
        return cls(manager, f"iglu-allowed-{campaign}", "Workers invited to this study's pilot")

    @classmethod
    def judged_task(cls, manager: HitManager, campaign: str, task_id: str) -> CampaignQualification:
        return cls(manager, f"iglu-judged-{campaign}-{task_id}", "Workers who already judged this task of the study")

    @property
    def type_id(self) -> str:
        if self._type_id is None:
            self._type_id = self._find() or self._create()
        return self._type_id

    def requirement(self) -> dict[str, Any]:
        """What every HIT of the campaign requires: not soft-blocked, not even shown otherwise."""
        return {"QualificationTypeId": self.type_id, "Comparator": "DoesNotExist",
                "ActionsGuarded": "DiscoverPreviewAndAccept"}

    def required(self) -> dict[str, Any]:
        """What every HIT of a pilot requires: the worker is on the allow-list."""
        return {"QualificationTypeId": self.type_id, "Comparator": "Exists",
                "ActionsGuarded": "DiscoverPreviewAndAccept"}

    def grant(self, worker_id: str) -> None:
        self.manager.call("associate_qualification_with_worker", QualificationTypeId=self.type_id,
                          WorkerId=worker_id, IntegerValue=1, SendNotification=False)

    def workers(self) -> set[str]:
        """Workers soft-blocked from this campaign."""
        pages = self.manager.paginate("list_workers_with_qualification_type", "Qualifications",
                                       QualificationTypeId=self.type_id, Status="Granted")
        return {q["WorkerId"] for q in pages}

    def _find(self) -> str | None:
        return find_type_by_name(self.manager, self.name)

    def _create(self) -> str:
        response = self.manager.call("create_qualification_type", Name=self.name,
                                     QualificationTypeStatus="Active", Description=self.description)
        return str(response["QualificationType"]["QualificationTypeId"])
