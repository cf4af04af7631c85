"""Qualification types with a test and an answer key (the qualifier task), read from files.

The test is MTurk `QuestionForm` XML and the answer key `AnswerKey` XML. Both are checked
before anything is sent: well-formed (parsed with `defusedxml`), the right root element, and
every question of the key present in the test, so that a typo shows up as an error naming the
file and the question rather than as a qualification nobody can pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iglu_lib.mturk.manager import HitManager, MTurkError


class QualificationFileError(ValueError):
    """A qualification test or answer key file is unusable; the message names the file."""

    user_error = True


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
                   **options: Any) -> QualificationTest:
        """Read and check a test and its answer key."""
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
