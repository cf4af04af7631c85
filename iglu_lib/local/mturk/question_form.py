"""A qualification test's `QuestionForm`, read safely so the worker pages can show it as a form.

Only what a test needs is kept: each question's identifier, its text, and either its
selections (one or several may be chosen) or a free-text box.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MULTIPLE_STYLES = {"checkbox", "multichooser"}


@dataclass(frozen=True)
class FormQuestion:
    identifier: str
    text: str
    selections: tuple[tuple[str, str], ...]  # (SelectionIdentifier, label); empty for free text
    multiple: bool


def _name(element: Any) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _child(element: Any, name: str) -> Any | None:
    return next((child for child in element if _name(child) == name), None)


def _content_text(element: Any | None) -> str:
    """The readable text of a QuestionContent or Selection (Text and FormattedContent)."""
    if element is None:
        return ""
    parts = [(child.text or "").strip() for child in element if _name(child) in ("Text", "FormattedContent")]
    return "\n".join(part for part in parts if part)


def _question(element: Any) -> FormQuestion:
    identifier = (_child(element, "QuestionIdentifier").text or "").strip()  # type: ignore[union-attr]
    answer = _child(element, "AnswerSpecification")
    selection = _child(answer, "SelectionAnswer") if answer is not None else None
    if selection is None:
        return FormQuestion(identifier, _content_text(_child(element, "QuestionContent")), (), False)
    suggestion = _child(selection, "StyleSuggestion")
    style = (suggestion.text or "") if suggestion is not None else ""
    most = _child(selection, "MaxSelectionCount")
    multiple = style.strip() in MULTIPLE_STYLES or (most is not None and (most.text or "1").strip() not in ("", "1"))
    selections = tuple(
        ((key.text or "").strip(), _content_text(item) or "")
        for item in (_child(selection, "Selections") or [])
        if _name(item) == "Selection" and (key := _child(item, "SelectionIdentifier")) is not None
    )
    return FormQuestion(identifier, _content_text(_child(element, "QuestionContent")), selections, multiple)


def parse_question_form(xml: str) -> list[FormQuestion]:
    """The questions of a QuestionForm (already checked well-formed when the type was created)."""
    from defusedxml import ElementTree

    root = ElementTree.fromstring(xml)
    return [
        _question(element)
        for element in root
        if _name(element) == "Question" and _child(element, "QuestionIdentifier") is not None
    ]


def question_identifiers(xml: str) -> list[str]:
    """The QuestionIdentifiers a QuestionForm test asks (checked when a type is created): a form
    that is not XML, or not a QuestionForm, is the service's XML error."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    from iglu_lib.local.mturk.errors import RequestError

    try:
        root = ElementTree.fromstring(xml, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise RequestError(f"The Test is not valid XML: {error}", "AWS.MechanicalTurk.XMLParseError") from None
    if _name(root) != "QuestionForm":
        raise RequestError(f"The Test must be a QuestionForm, not <{_name(root)}>", "AWS.MechanicalTurk.XMLParseError")
    return [question.identifier for question in parse_question_form(xml)]


def form_answers(
    questions: list[FormQuestion], pairs: Iterable[tuple[str, str]]
) -> list[tuple[str, str | tuple[str, ...]]]:
    """Submitted form fields as a QuestionForm's answers: a selection question's values become
    its SelectionIdentifiers (in the form's order), anything else stays free text."""
    pairs = list(pairs)
    selection_ids = {q.identifier for q in questions if q.selections}
    answers: list[tuple[str, str | tuple[str, ...]]] = []
    for question in questions:
        values = [value for name, value in pairs if name == question.identifier]
        if question.identifier in selection_ids:
            answers.append((question.identifier, tuple(values)))
        elif values:
            answers.append((question.identifier, values[0]))
    known = {q.identifier for q in questions}
    answers += [(name, value) for name, value in pairs if name not in known]
    return answers
