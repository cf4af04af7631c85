"""MTurk's `AnswerKey` format: how the service scores a qualification test.

The requester side reads it to check a test's consent rule before creating it; the local
MTurk server scores simulated workers' answers with it, as the service does.

Each question scores the `AnswerScore` of the option whose selections equal the worker's (or
its `DefaultScore`, else 0); the summed score becomes the qualification value directly or
through a percentage, scale or range mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from iglu_lib.errors import IgluError


class AnswerKeyError(IgluError):
    """An AnswerKey or its test is not valid; `code` is the service's error code for it."""

    code = "AWS.MechanicalTurk.XMLParseError"


@dataclass(frozen=True)
class KeyQuestion:
    identifier: str
    options: list[tuple[frozenset[str], int]] = field(default_factory=list)
    default_score: int = 0

    def score(self, selections: frozenset[str]) -> int:
        for wanted, score in self.options:
            if wanted == selections:
                return score
        return self.default_score


@dataclass(frozen=True)
class AnswerKey:
    questions: list[KeyQuestion]
    mapping: dict[str, Any]

    def value(self, answers: Mapping[str, str | list[str]]) -> int:
        """The qualification value the worker's answers earn."""
        total = sum(q.score(_selections(answers.get(q.identifier))) for q in self.questions)
        kind = self.mapping.get("kind")
        if kind == "percentage":
            return round(total * 100 / self.mapping["maximum"]) if self.mapping["maximum"] else 0
        if kind == "scale":
            return round(total * self.mapping["multiplier"])
        if kind == "range":
            for low, high, value in self.mapping["ranges"]:
                if low <= total <= high:
                    return value
            return self.mapping["out_of_range"]
        return total


def _selections(answer: str | list[str] | None) -> frozenset[str]:
    if answer is None:
        return frozenset()
    return frozenset([answer] if isinstance(answer, str) else answer)


def _name(element: Any) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _name(child) == name]


def _text(element: Any, name: str, default: str | None = None) -> str:
    found = _children(element, name)
    if not found:
        if default is None:
            raise ValueError(f"<{_name(element)}> needs a <{name}>")
        return default
    return (found[0].text or "").strip()


def _number(element: Any, name: str, default: str | None = None) -> int:
    text = _text(element, name, default)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"<{name}> must be an integer, not {text!r}") from None


def _mapping(root: Any) -> dict[str, Any]:
    found = _children(root, "QualificationValueMapping")
    if not found:
        return {}
    (kind,) = list(found[0])[:1] or [None]
    if kind is None:
        return {}
    if _name(kind) == "PercentageMapping":
        return {"kind": "percentage", "maximum": _number(kind, "MaximumSummedScore")}
    if _name(kind) == "ScaleMapping":
        return {"kind": "scale", "multiplier": float(_text(kind, "SummedScoreMultiplier"))}
    if _name(kind) == "RangeMapping":
        ranges = [
            (_number(r, "InclusiveLowerBound"), _number(r, "InclusiveUpperBound"), _number(r, "QualificationValue"))
            for r in _children(kind, "SummedScoreRange")
        ]
        return {"kind": "range", "ranges": ranges, "out_of_range": _number(kind, "OutOfRangeQualificationValue", "0")}
    raise ValueError(f"unknown QualificationValueMapping <{_name(kind)}>")


def parse_answer_key(xml: str) -> AnswerKey:
    """Read an AnswerKey document safely; a bad one is an `AnswerKeyError`."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(xml)
        if _name(root) != "AnswerKey":
            raise ValueError(f"the root element must be <AnswerKey>, not <{_name(root)}>")
        questions = [
            KeyQuestion(
                identifier=_text(q, "QuestionIdentifier"),
                options=[
                    (frozenset(s.text.strip() for s in _children(o, "SelectionIdentifier") if s.text),
                     _number(o, "AnswerScore"))
                    for o in _children(q, "AnswerOption")
                ],
                default_score=_number(q, "DefaultScore", "0"),
            )
            for q in _children(root, "Question")
        ]
        return AnswerKey(questions, _mapping(root))
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise AnswerKeyError(f"The AnswerKey is not valid: {error}") from None


def test_question_ids(test_xml: str) -> list[str]:
    """The QuestionIdentifiers of a QuestionForm test; a bad form is an `AnswerKeyError`."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(test_xml)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise AnswerKeyError(f"The Test is not valid XML: {error}") from None
    return [(e.text or "").strip() for e in root.iter() if _name(e) == "QuestionIdentifier"]


def check_key_matches_test(key: AnswerKey, test_ids: Iterable[str]) -> None:
    unknown = {q.identifier for q in key.questions} - set(test_ids)
    if unknown:
        raise AnswerKeyError(f"The AnswerKey scores questions the Test does not ask: {', '.join(sorted(unknown))}")
