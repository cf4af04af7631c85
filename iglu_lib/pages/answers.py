"""The answers our task pages submit, whichever crowd carried them: the fields, the crowd-form
`taskAnswers` JSON within bounds, completion code fields, and which game was best (a decision, a
tie, or none).

Answers come from workers and are hostile input: whatever is wrong (invalid `taskAnswers` JSON,
a missing field) is named in `ParsedAnswers.problems` instead of raised, so that one bad
submission never stops a review loop and the reason can be stored and shown. Each crowd's own
envelope (MTurk's `QuestionFormAnswers` XML) is read in that crowd's package.
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


def crowd_form_fields(text: Any) -> tuple[dict[str, Any], list[str]]:
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
