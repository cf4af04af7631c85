"""Judging one submitted assignment: its answers are claims, its games are the evidence.

What a worker typed is bounded before it is stored (a table cell holds 32,767 characters; an
answer may hold a megabyte): long feedback is cut for the record, the whole answer is kept in
the private container with a pointer, and a code too long to be a code is stored cut (it is
refused anyway). Reuse is looked up by the normalised game id of each code (a UUID, checked
before any query), never by the code's text, so a trailing space or another spelling of the
same code is still the same game.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iglu_lib.collection.sanctions import FRAUD_REASONS
from iglu_lib.pages.answers import TIE_OPTIONS, code_field, read_choice
from iglu_lib.platform.codes import CodeError, parse_completion_code

if TYPE_CHECKING:
    from iglu_lib.mturk.manager import Assignment
    from iglu_lib.platform.client import Game
    from iglu_lib.platform.validation import AssignmentVerdict, Thresholds
    from iglu_lib.storage import GameRecord

APPROVE, APPROVE_WITH_WARNING = "approve", "approve_with_warning"  # as `platform.validation` names them
#: Verdicts whose HIT counts as a good one (a `partial` HIT is paid but its slot runs again).
GOOD_VERDICTS = (APPROVE, APPROVE_WITH_WARNING)
#: The verdict of a game whose judging failed unexpectedly: parked for a person or a later turn.
NEEDS_REVIEW = "needs_review"
#: Longest completion code kept in a record (real codes have about 300 characters).
MAX_STORED_CODE_CHARS = 600
#: Longest text of one answer field kept in a record's annotation.
MAX_ANNOTATION_CHARS = 2000
#: The warning of a HIT whose choice of the best game could not be used (the games still count).
CHOICE_UNUSABLE = "choice_unusable"
#: The reason of a game rejected because another game of its HIT was fraud (`FRAUD_REASONS`).
FRAUD_IN_HIT = "fraud_in_hit"


@dataclass(frozen=True)
class Judgement:
    """The verdict on an assignment and the record changes that write it down."""

    verdict: AssignmentVerdict
    changes: list[tuple[GameRecord, dict[str, Any]]]
    truncated: bool


def submitted_code(answers: Mapping[str, Any], position: int, k: int) -> str:
    """The code a worker submitted for a game, as text (any JSON value a form could send: a
    value that is not text never parses as a code, and its reason says so)."""
    value = answers.get(code_field(position, k))
    return value if isinstance(value, str) else "" if value is None else str(value)  # pragma: no mutate: str() of a str is itself


def annotation_of(answers: Mapping[str, Any], position: int, k: int,
                  ties: Collection[str] = TIE_OPTIONS) -> tuple[dict[str, Any], bool]:
    """A game's annotation as published (whether it was chosen best, what was said of it), cut to
    what a record holds; the flag says whether anything was cut.

    Beside several games it also keeps the HIT's `outcome` (`decisive`, `tie_good`, `tie_bad`,
    `no_decision`: what the worker chose among the options the page offered, `ties`) and, when
    the choice could not be used, `choice_problem` saying why. A tie leaves `was_chosen_best`
    false on both games, so a reader that knows only the published keys sees no winner."""
    if k == 1:
        keep = ("agent_performance", "build_rating", "understanding_rating")
        raw = {name: answers[name] for name in keep if name in answers}
    else:
        best = answers.get("best_agent")
        chosen = best.get(f"agent{position + 1}_option") if isinstance(best, Mapping) else None
        choice = read_choice(best, k, ties)
        raw = {"was_chosen_best": chosen if isinstance(chosen, bool) else None,
               "agent_performance": answers.get(f"agent{position + 1}_performance", ""),
               "outcome": choice.outcome}
        if choice.problem:
            raw["choice_problem"] = choice.problem
    bounded = {name: _bounded(value) for name, value in raw.items()}
    return bounded, bounded != raw


def _bounded(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text[:MAX_ANNOTATION_CHARS]


def game_id_of(code: str) -> str | None:
    """The normalised game id a code names (a UUID), or None if the code is not a code."""
    try:
        return parse_completion_code(code).game_id
    except CodeError:
        return None


def judge(
    assignment: Assignment,
    games: Sequence[GameRecord],
    *,
    k: int,
    fetch: Callable[[list[str], list[str]], list[Game]],
    stored_elsewhere: Callable[[list[str]], dict[str, str]],
    thresholds: Thresholds,
    ties: Collection[str] = TIE_OPTIONS,
    fraud_reasons: Collection[str] = FRAUD_REASONS,
    count_unusable_choices: bool = False,
) -> Judgement:
    """Fetch the games behind an assignment's codes, check them against what each slot expects,
    and return the record changes (status `submitted`, the verdict) to write before acting.

    `ties`: the tie answers the HIT's page offered. A choice that cannot be used (`best_agent`
    left out, none or several chosen, a tie not offered, an unknown value) makes the HIT no
    decision and warns (`choice_unusable`, the annotation's `choice_problem` says which): the
    games are paid, since the work was done, but the HIT does not qualify (`is_hit_qualified`
    false: it does not count toward the target and its slot runs again) unless
    `count_unusable_choices`.

    Fraud is not partial: a HIT with any game rejected for one of `fraud_reasons` is rejected as
    a whole (its other games get `fraud_in_hit`): no reward, no bonus, and every game counts
    toward the worker's block. `partial` stays for honest shortfalls."""
    from iglu_lib.platform.evidence import Expectation
    from iglu_lib.platform.validation import validate_assignment

    answers = assignment.answers.fields
    codes = [submitted_code(answers, g.shown_position, k) for g in games]
    fetched = fetch(codes, [g.join_code for g in games])
    game_ids = [gid for gid in map(game_id_of, codes) if gid]
    expected = [Expectation(g.task_minecraft_id, g.agent_minecraft_id or None,
                            _epoch(assignment.accept_time), _epoch(assignment.submit_time)) for g in games]
    verdict = validate_assignment(fetched, thresholds, seen=stored_elsewhere(game_ids),
                                  owner=assignment.assignment_id, expected=expected)
    unreadable = not assignment.answers.ok
    changes, truncated = [], False
    annotations = [annotation_of(answers, game.shown_position, k, ties) for game in games]
    qualified = hit_qualifies(verdict.verdict, [a for a, _ in annotations], count_unusable_choices)
    for game, code, data, judged, (annotation, cut) in zip(games, codes, fetched, verdict.games, annotations,
                                                           strict=True):  # pragma: no mutate: the lengths are equal (validate_assignment refuses others)
        truncated |= cut
        reasons = (*judged.reasons, *judged.warnings)
        game_verdict = judged.verdict
        if unreadable and not code.strip():
            reasons = ("answer_unreadable",)
        elif "choice_problem" in annotation:  # also when the missing field is best_agent itself
            reasons = (*reasons, CHOICE_UNUSABLE)
            game_verdict = APPROVE_WITH_WARNING if game_verdict == APPROVE else game_verdict
        changes.append((game, {
            "status": "submitted",
            "assignment_id": assignment.assignment_id,
            "worker_id": assignment.worker_id,
            "completion_code": code[:MAX_STORED_CODE_CHARS],
            "game_minecraft_id": data.game_id or "",
            "annotation": annotation,
            "verdict": game_verdict,
            "reasons": (*reasons, "answer_truncated") if cut else reasons,
            "is_hit_qualified": qualified,
        }))
    return Judgement(verdict, reject_whole_if_fraud(changes, fraud_reasons), truncated)


def is_fraud(reasons: Collection[str], fraud_reasons: Collection[str] = FRAUD_REASONS) -> bool:
    return any(reason in fraud_reasons for reason in reasons)


def reject_whole_if_fraud(changes: list[tuple[GameRecord, dict[str, Any]]],
                          fraud_reasons: Collection[str]) -> list[tuple[GameRecord, dict[str, Any]]]:
    """The changes with every game rejected if one game was rejected for fraud."""
    if not any(c["verdict"] == "reject" and is_fraud(c["reasons"], fraud_reasons) for _, c in changes):
        return changes
    whole = []
    for game, change in changes:
        if change["verdict"] != "reject":
            change = {**change, "verdict": "reject", "reasons": (FRAUD_IN_HIT, *change["reasons"])}
        whole.append((game, {**change, "is_hit_qualified": False}))
    return whole


def hit_qualifies(verdict: str, annotations: Sequence[Mapping[str, Any]], count_unusable_choices: bool) -> bool:
    """Whether a judged HIT counts as a good one: a good verdict and, unless
    `count_unusable_choices`, a choice that can be used (no game's annotation names a
    `choice_problem`)."""
    if verdict not in GOOD_VERDICTS:
        return False
    return count_unusable_choices or not any("choice_problem" in a for a in annotations)


def _epoch(moment: Any) -> float | None:
    """Epoch seconds of a service timestamp (boto3 gives aware datetimes)."""
    timestamp = getattr(moment, "timestamp", None)
    return float(timestamp()) if callable(timestamp) else None


def hit_outcome(annotations: Sequence[Mapping[str, Any]]) -> str | None:
    """What the games' annotations of one HIT say was chosen: `decisive`, `tie_good`, `tie_bad` or
    `no_decision` (see `answers.OUTCOMES`); records written before ties existed are read from
    `was_chosen_best` (one game chosen: decisive). None for a one-game HIT or games not annotated."""
    from iglu_lib.pages.answers import DECISIVE, NO_DECISION, OUTCOMES

    if len(annotations) < 2 or not all(isinstance(a, Mapping) and a for a in annotations):
        return None
    stored = {a.get("outcome") for a in annotations}
    if len(stored) == 1 and next(iter(stored)) in OUTCOMES:
        return str(next(iter(stored)))
    if stored != {None}:
        return NO_DECISION  # the games disagree, or name an outcome no page gives: nothing is guessed
    flags = [a.get("was_chosen_best") for a in annotations]
    return DECISIVE if flags.count(True) == 1 and all(isinstance(f, bool) for f in flags) else NO_DECISION
