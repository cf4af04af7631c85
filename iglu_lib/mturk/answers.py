"""Read the `QuestionFormAnswers` XML of an MTurk assignment, safely, into our pages' answers.

The XML is parsed with `defusedxml` (no entity expansion, no DTD, no external references), and
whatever is wrong (malformed XML, forbidden constructs, a missing field) is named in
`ParsedAnswers.problems` instead of raised.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from iglu_lib.pages.answers import (
    CROWD_FORM_QUESTION,
    MAX_ANSWER_BYTES,
    ParsedAnswers,
    crowd_form_fields,
)


def parse_answers(xml: str | bytes | None, required: Iterable[str] = ()) -> ParsedAnswers:
    """Read `QuestionFormAnswers` XML into fields; crowd-form `taskAnswers` JSON is merged in.

    Free-text answers are kept exactly as given; a selection answer becomes its identifier (or
    a list when several were selected). `required` names fields the page must have submitted.
    """
    answers, problems = _read_xml(xml)
    fields: dict[str, Any] = {}
    for identifier, value in answers:
        if identifier == CROWD_FORM_QUESTION:
            task_fields, task_problems = crowd_form_fields(value)
            fields.update(task_fields)
            problems.extend(task_problems)
        else:
            fields[identifier] = value
    if not problems:
        problems.extend(f"answer is missing field '{name}'" for name in required if name not in fields)
    return ParsedAnswers(fields, tuple(problems))


def _read_xml(xml: str | bytes | None) -> tuple[list[tuple[str, Any]], list[str]]:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if not xml:
        return [], ["the assignment has no answer XML"]
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    if len(data) > MAX_ANSWER_BYTES:
        return [], [f"answer XML is {len(data)} bytes, over the limit of {MAX_ANSWER_BYTES}; not parsed"]
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as err:
        return [], [f"answer XML uses a forbidden construct ({type(err).__name__}); not parsed"]
    except ParseError as err:
        return [], [f"answer XML is malformed ({err}); not parsed"]
    if _local_name(root.tag) != "QuestionFormAnswers":
        return [], [f"answer XML has root <{_local_name(root.tag)}>, expected <QuestionFormAnswers>"]
    answers, problems = [], []
    for index, answer in enumerate(_children(root, "Answer"), start=1):
        identifier = _child_text(answer, "QuestionIdentifier")
        if not identifier:
            problems.append(f"answer {index} has no QuestionIdentifier; skipped")
            continue
        answers.append((identifier, _answer_value(answer)))
    return answers, problems


def _answer_value(answer: Any) -> Any:
    free_text = [c for c in answer if _local_name(c.tag) == "FreeText"]
    if free_text:
        return free_text[0].text or ""
    selections = [c.text or "" for c in answer if _local_name(c.tag) == "SelectionIdentifier"]
    other = _child_text(answer, "OtherSelectionText")
    if other is not None:
        selections.append(other)
    if len(selections) == 1:
        return selections[0]
    return selections or None


def _local_name(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else str(tag)


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local_name(child.tag) == name]


def _child_text(element: Any, name: str) -> str | None:
    found = _children(element, name)
    return (found[0].text or "").strip() if found else None
