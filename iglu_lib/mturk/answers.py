"""Parse the `QuestionFormAnswers` XML of an assignment, safely.

Answers come from workers and are hostile input: the XML is parsed with `defusedxml` (no
entity expansion, no DTD, no external references), and whatever is wrong (malformed XML,
forbidden constructs, invalid `taskAnswers` JSON, a missing field) is named in
`ParsedAnswers.problems` instead of raised, so that one bad submission never stops a review
loop and the reason can be stored and shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from iglu_lib.errors import IgluError

#: The question identifier under which crowd-form HITs submit their JSON answers.
CROWD_FORM_QUESTION = "taskAnswers"

#: Larger answers are refused unparsed (MTurk itself caps an answer far below this).
MAX_ANSWER_BYTES = 1_000_000
#: Deepest nesting of `taskAnswers` JSON (a real form nests two levels); deeper is refused
#: before parsing, so a worker's brackets can never exhaust the parser's recursion.
MAX_JSON_DEPTH = 16
#: Longest number in `taskAnswers` (digits); a longer one is refused, not converted.
MAX_NUMBER_CHARS = 32


def code_field(position: int, k: int) -> str:
    """The answer field holding the completion code of the game shown at `position` of `k`."""
    return "completionCode" if k == 1 else f"completionCode{position + 1}"


@dataclass(frozen=True)
class ParsedAnswers:
    """An assignment's answers: `fields` by name, and `problems` found while reading them."""

    fields: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


def parse_answers(xml: str | bytes | None, required: Iterable[str] = ()) -> ParsedAnswers:
    """Read `QuestionFormAnswers` XML into fields; crowd-form `taskAnswers` JSON is merged in.

    Free-text answers are kept exactly as given; a selection answer becomes its identifier (or
    a list when several were selected). `required` names fields the page must have submitted.
    """
    answers, problems = _read_xml(xml)
    fields: dict[str, Any] = {}
    for identifier, value in answers:
        if identifier == CROWD_FORM_QUESTION:
            task_fields, task_problems = _crowd_form_fields(value)
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


class _Refused(IgluError, ValueError):
    """A JSON value outside the bounds of an answer."""


def _bounded_number(text: str) -> Any:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")
    return float(text) if any(c in text for c in ".eE") else int(text)


def _no_constant(name: str) -> Any:
    raise _Refused(f"the non-number {name}")


def json_depth(text: str) -> int:
    """The deepest bracket nesting of JSON text, strings skipped (one pass, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads_bounded(text: str) -> Any:
    """`json.loads` within an answer's bounds: nesting depth, number length, no NaN/Infinity.
    Raises `ValueError` saying which bound was crossed."""
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise _Refused(f"nesting {depth} levels deep (at most {MAX_JSON_DEPTH})")
    return json.loads(text, parse_int=_bounded_number, parse_float=_bounded_number,
                      parse_constant=_no_constant)


def _crowd_form_fields(text: Any) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(text, str):
        return {}, [f"{CROWD_FORM_QUESTION} is not free text"]
    try:
        value = loads_bounded(text)
    except json.JSONDecodeError as err:
        return {}, [f"{CROWD_FORM_QUESTION} is not valid JSON ({err.msg} at character {err.pos})"]
    except (ValueError, RecursionError) as err:
        return {}, [f"{CROWD_FORM_QUESTION} is refused: {err}"]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        return {}, [f"{CROWD_FORM_QUESTION} should be a JSON list of one object"]
    return dict(value[0]), []


def _local_name(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else str(tag)


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local_name(child.tag) == name]


def _child_text(element: Any, name: str) -> str | None:
    found = _children(element, name)
    return (found[0].text or "").strip() if found else None
