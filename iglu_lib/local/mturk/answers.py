"""Submissions stored as the `QuestionFormAnswers` XML that the requester API returns."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from xml.sax.saxutils import escape

NAMESPACE = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/"
    "QuestionFormAnswers.xsd"
)
# Characters XML 1.0 cannot carry at all (not even escaped): dropped from answers.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


AnswerValue = str | tuple[str, ...]  # FreeText, or the SelectionIdentifiers chosen


def question_form_answers(answers: Mapping[str, AnswerValue] | Iterable[tuple[str, AnswerValue]]) -> str:
    """One `Answer` per field (a repeated form field gives one per value): `FreeText` for text,
    `SelectionIdentifier`s for a QuestionForm's selection question; every value escaped."""
    pairs = answers.items() if isinstance(answers, Mapping) else answers
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><QuestionFormAnswers xmlns="{NAMESPACE}">']
    for identifier, value in pairs:
        if isinstance(value, tuple):
            body = "".join(f"<SelectionIdentifier>{_text(item)}</SelectionIdentifier>" for item in value)
        else:
            body = f"<FreeText>{_text(value)}</FreeText>"
        parts.append(f"<Answer><QuestionIdentifier>{_text(identifier)}</QuestionIdentifier>{body}</Answer>")
    parts.append("</QuestionFormAnswers>")
    return "".join(parts)


def _text(value: object) -> str:
    return escape(_NOT_XML.sub("", str(value)))
