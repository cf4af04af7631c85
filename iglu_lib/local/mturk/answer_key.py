"""The local server's own reading of MTurk's `AnswerKey`: how the service scores a test.

The emulator reads the key with code of its own, never the client's (`iglu_lib.mturk.answer_key`):
a misreading shared by both sides would pass every local test and fail on the real service.
Tests feed the samples of the MTurk API reference to both readers and require the same scores.

What the reference says, and what this module does:
- each `Question` of the key scores the `AnswerScore` of the `AnswerOption` whose selections are
  exactly the worker's, or the question's `DefaultScore` (0 when absent);
- the summed score is the qualification value, unless a `QualificationValueMapping` maps it:
  `PercentageMapping` (sum / `MaximumSummedScore` * 100, rounded to the nearest integer),
  `ScaleMapping` (sum * `SummedScoreMultiplier`) or `RangeMapping` (the `QualificationValue`
  of the range the sum falls in, else `OutOfRangeQualificationValue`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from iglu_lib.local.mturk.errors import RequestError

XML_ERROR = "AWS.MechanicalTurk.XMLParseError"


def _tag(element: Any) -> str:
    return str(element.tag).rsplit("}", 1)[-1]


def _all(element: Any, tag: str) -> list[Any]:
    return [child for child in element if _tag(child) == tag]


def _one_text(element: Any, tag: str) -> str | None:
    found = _all(element, tag)
    return (found[0].text or "").strip() if found else None


def _whole(text: str | None, where: str) -> int:
    if text is None or not text.lstrip("-").isdigit():
        raise RequestError(f"The AnswerKey is not valid: {where} must be a whole number, not {text!r}", XML_ERROR)
    return int(text)


def _nearest(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Scoring:
    """One question's scores: selections that earn a score, and the score of anything else."""

    question: str
    scores: tuple[tuple[frozenset[str], int], ...]
    otherwise: int

    def earned(self, chosen: frozenset[str]) -> int:
        return next((score for wanted, score in self.scores if wanted == chosen), self.otherwise)


@dataclass(frozen=True)
class ValueMapping:
    """How a summed score becomes the qualification value (kind `sum` keeps it as it is)."""

    kind: str = "sum"
    maximum: int = 0
    multiplier: Decimal = Decimal(1)
    ranges: tuple[tuple[int, int, int], ...] = ()
    out_of_range: int = 0

    def value(self, total: int) -> int:
        if self.kind == "percentage":
            return _nearest(Decimal(total) * 100 / self.maximum) if self.maximum else 0
        if self.kind == "scale":
            return _nearest(Decimal(total) * self.multiplier)
        if self.kind == "range":
            return next((v for low, high, v in self.ranges if low <= total <= high), self.out_of_range)
        return total


@dataclass(frozen=True)
class ScoringKey:
    """A parsed AnswerKey: what the local server grants for a worker's test answers."""

    questions: tuple[Scoring, ...]
    mapping: ValueMapping

    @property
    def question_ids(self) -> list[str]:
        return [q.question for q in self.questions]

    def total(self, answers: Mapping[str, str | Iterable[str]]) -> int:
        return sum(q.earned(_chosen(answers.get(q.question))) for q in self.questions)

    def qualification_value(self, answers: Mapping[str, str | Iterable[str]]) -> int:
        return self.mapping.value(self.total(answers))


def _chosen(answer: str | Iterable[str] | None) -> frozenset[str]:
    if answer is None:
        return frozenset()
    return frozenset([answer]) if isinstance(answer, str) else frozenset(answer)


def _scoring(element: Any) -> Scoring:
    question = _one_text(element, "QuestionIdentifier")
    if not question:
        raise RequestError("The AnswerKey is not valid: a Question has no QuestionIdentifier", XML_ERROR)
    scores = tuple(
        (frozenset((s.text or "").strip() for s in _all(option, "SelectionIdentifier") if (s.text or "").strip()),
         _whole(_one_text(option, "AnswerScore"), f"the AnswerScore of question {question}"))
        for option in _all(element, "AnswerOption")
    )
    default = _one_text(element, "DefaultScore")
    otherwise = 0 if default is None else _whole(default, f"the DefaultScore of question {question}")
    return Scoring(question, scores, otherwise)


def _mapping(root: Any) -> ValueMapping:
    found = _all(root, "QualificationValueMapping")
    kinds = list(found[0]) if found else []
    if not kinds:
        return ValueMapping()
    kind = kinds[0]
    if _tag(kind) == "PercentageMapping":
        return ValueMapping("percentage", maximum=_whole(_one_text(kind, "MaximumSummedScore"), "MaximumSummedScore"))
    if _tag(kind) == "ScaleMapping":
        text = _one_text(kind, "SummedScoreMultiplier") or ""
        try:
            return ValueMapping("scale", multiplier=Decimal(text))
        except InvalidOperation:
            raise RequestError(f"The AnswerKey is not valid: SummedScoreMultiplier {text!r}", XML_ERROR) from None
    if _tag(kind) == "RangeMapping":
        ranges = tuple(
            (_whole(_one_text(r, "InclusiveLowerBound"), "InclusiveLowerBound"),
             _whole(_one_text(r, "InclusiveUpperBound"), "InclusiveUpperBound"),
             _whole(_one_text(r, "QualificationValue"), "QualificationValue"))
            for r in _all(kind, "SummedScoreRange")
        )
        out = _one_text(kind, "OutOfRangeQualificationValue")
        return ValueMapping("range", ranges=ranges, out_of_range=0 if out is None else _whole(out, "OutOfRangeQualificationValue"))
    raise RequestError(f"The AnswerKey is not valid: unknown mapping <{_tag(kind)}>", XML_ERROR)


def read_answer_key(xml: str) -> ScoringKey:
    """Parse an AnswerKey (safely: no entities, no DTD); an invalid one is the service's XML error."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(xml, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise RequestError(f"The AnswerKey is not valid XML: {error}", XML_ERROR) from None
    if _tag(root) != "AnswerKey":
        raise RequestError(f"The AnswerKey's root must be <AnswerKey>, not <{_tag(root)}>", XML_ERROR)
    return ScoringKey(tuple(_scoring(q) for q in _all(root, "Question")), _mapping(root))


def check_against_test(key: ScoringKey, test_question_ids: Iterable[str]) -> None:
    """The service refuses a key that scores questions its test does not ask."""
    unknown = sorted(set(key.question_ids) - set(test_question_ids))
    if unknown:
        raise RequestError(
            f"The AnswerKey scores questions the Test does not ask: {', '.join(unknown)}", XML_ERROR
        )
