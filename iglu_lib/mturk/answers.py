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


# -- which game was best: a decision, a tie, or none ---------------------------------------------

#: Tie answers a pairwise page may offer beside `agent1_option` and `agent2_option`, in the same
#: `best_agent` radio group (crowd-form submits the group as `{value: checked}`).
BOTH_GOOD = "both_good_option"
BOTH_BAD = "both_bad_option"
TIE_OPTIONS = (BOTH_GOOD, BOTH_BAD)

#: What a HIT's `best_agent` answer says. A tie is one judgement, not two wins.
DECISIVE = "decisive"
TIE_GOOD = "tie_good"
TIE_BAD = "tie_bad"
NO_DECISION = "no_decision"
OUTCOMES = (DECISIVE, TIE_GOOD, TIE_BAD, NO_DECISION)
_TIE_OUTCOME = {BOTH_GOOD: TIE_GOOD, BOTH_BAD: TIE_BAD}

#: At most this many option names are quoted in a problem, each cut to `_MAX_NAME_CHARS`.
_MAX_NAMES = 3
_MAX_NAME_CHARS = 40


@dataclass(frozen=True)
class BestChoice:
    """The choice of a `best_agent` answer: `outcome` (one of `OUTCOMES`), the 1-based `winner`
    of a decisive one, and the `problem` (a sentence) that made an answer no decision."""

    outcome: str
    winner: int | None = None
    problem: str | None = None


def offered_options(agents: int, ties: Iterable[str] = TIE_OPTIONS) -> tuple[str, ...]:
    """The `best_agent` values a page with `agents` games offers (ties only beside two games)."""
    own = tuple(f"agent{n}_option" for n in range(1, agents + 1))
    return (*own, *(t for t in TIE_OPTIONS if t in set(ties))) if agents == 2 else own


def read_choice(best_agent: Any, agents: int, ties: Iterable[str] = TIE_OPTIONS) -> BestChoice:
    """What a `best_agent` answer chose among the options the page offered (`ties`: the tie
    options it showed). Exactly one option must be true; anything else is no decision with a
    bounded sentence saying why (a worker's keys are quoted cut, never whole). An answer written
    before ties existed (only `agentN_option`) reads as before."""
    if best_agent is None:
        return BestChoice(NO_DECISION, problem="no answer to which assistant was best (best_agent is missing)")
    if not isinstance(best_agent, dict):
        return BestChoice(NO_DECISION, problem=f"best_agent is {type(best_agent).__name__}, not a set of options")
    offered = offered_options(agents, ties)
    chosen = [str(name) for name, value in best_agent.items() if value is True]
    not_flags = [str(name) for name, value in best_agent.items() if not isinstance(value, bool)]
    if not_flags:
        return BestChoice(NO_DECISION, problem=f"best_agent option(s) {_names(not_flags)} are not true/false")
    unknown = [name for name in chosen if name not in offered]
    if unknown:
        what = "a tie this HIT's page did not offer" if set(unknown) <= set(TIE_OPTIONS) else "an unknown option"
        return BestChoice(NO_DECISION, problem=f"best_agent chose {_names(unknown)}: {what}")
    if len(chosen) > 1:
        return BestChoice(NO_DECISION, problem=f"best_agent chose several options ({_names(chosen)}); one is needed")
    if not chosen:
        return BestChoice(NO_DECISION, problem="best_agent chose no option")
    if chosen[0] in _TIE_OUTCOME:
        return BestChoice(_TIE_OUTCOME[chosen[0]])
    return BestChoice(DECISIVE, winner=offered.index(chosen[0]) + 1)


def _names(names: list[str]) -> str:
    shown = [name[:_MAX_NAME_CHARS] + ("…" if len(name) > _MAX_NAME_CHARS else "") for name in names[:_MAX_NAMES]]
    more = f" and {len(names) - _MAX_NAMES} more" if len(names) > _MAX_NAMES else ""
    return ", ".join(repr(name) for name in shown) + more
