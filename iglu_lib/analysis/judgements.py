"""What one game's annotation says: was this game's agent chosen best, what did the annotator
write about it, and at which position was it shown.

Two annotation layouts exist, each handled by one schema in `SCHEMAS`:

* the published export stores, per game, `{"was_chosen_best": bool, "agent_performance": str}`;
  the order in which the two games were shown is not recorded (the free text sometimes
  says "the first one" about the game listed second, so file order is not shown order);
* a pairwise HIT answer (the workbench's own HITs) is one object for the whole HIT, with
  `joinCode1/2`, `completionCode1/2`, `agent1_performance`, `agent2_performance` and
  `best_agent: {agent1_option, agent2_option}`, stored on each game of the HIT. Which game
  is "agent 1" is derived from the data: the game whose join code (or completion code)
  is `joinCode1` (`completionCode1`), else the record's `ShownPosition` (0-based); a game
  matching neither cannot be judged. Records give the shown position of per-game
  annotations too.

A schema that recognises an annotation but finds it unusable returns a `problem`, which the
analysis counts and reports; nothing is guessed.

Ties: a workbench record of a two-game HIT also carries the HIT's `outcome` (`decisive`,
`tie_good`, `tie_bad`, `no_decision`, see `iglu_lib.pages.answers.OUTCOMES`), and a stored
answer may have chosen `both_good_option` / `both_bad_option`; `Judgement.outcome` keeps it.
Annotations without it (the published export) have no ties and read as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Judgement:
    """The annotator's verdict on one game; `problem` says why it cannot be used."""

    chosen: bool | None = None
    text: str = ""
    position: int | None = None
    problem: str | None = None
    outcome: str | None = None  # the HIT's outcome when the annotation records it (ties)


class AnnotationSchema(Protocol):
    name: str

    def matches(self, annotation: Mapping[str, Any]) -> bool: ...

    def judge(self, annotation: Mapping[str, Any], game: Mapping[str, Any]) -> Judgement: ...


class PerGameSchema:
    """`{"was_chosen_best": bool, "agent_performance": str}` on each game (published export)."""

    name = "per_game"

    def matches(self, annotation: Mapping[str, Any]) -> bool:
        return "was_chosen_best" in annotation

    def judge(self, annotation: Mapping[str, Any], game: Mapping[str, Any]) -> Judgement:
        from iglu_lib.pages.answers import OUTCOMES

        chosen = annotation["was_chosen_best"]
        text = _text(annotation.get("agent_performance"))
        outcome = annotation.get("outcome")
        if outcome is not None and outcome not in OUTCOMES:
            return Judgement(text=text, problem=f"outcome is {str(outcome)[:40]!r}, not one of {', '.join(OUTCOMES)}")
        if not isinstance(chosen, bool) and outcome not in ("tie_good", "tie_bad"):
            return Judgement(text=text, problem=f"was_chosen_best is {chosen!r}, not true/false")
        return Judgement(chosen=chosen is True, text=text, position=record_position(game), outcome=outcome)


class PairwiseAnswerSchema:
    """The pairwise HIT answer (`best_agent`, `agentN_performance`, `joinCodeN`)."""

    name = "pairwise_answer"

    def matches(self, annotation: Mapping[str, Any]) -> bool:
        return "best_agent" in annotation

    def judge(self, annotation: Mapping[str, Any], game: Mapping[str, Any]) -> Judgement:
        position = self._position(annotation, game)
        if position is None:
            return Judgement(problem="neither joinCode1/2 nor completionCode1/2 of the answer is this game's")
        from iglu_lib.pages.answers import TIE_OPTIONS, read_choice

        best = annotation.get("best_agent")
        chosen = best.get(f"agent{position}_option") if isinstance(best, Mapping) else None
        text = _text(annotation.get(f"agent{position}_performance"))
        choice = read_choice(dict(best) if isinstance(best, Mapping) else best, 2, TIE_OPTIONS)  # pragma: no mutate: TIE_OPTIONS is also the default
        if choice.outcome in ("tie_good", "tie_bad"):
            return Judgement(chosen=False, text=text, position=position, outcome=choice.outcome)
        if not isinstance(chosen, bool):
            return Judgement(text=text, position=position,
                             problem=f"best_agent.agent{position}_option is {chosen!r}, not true/false")
        return Judgement(chosen=chosen, text=text, position=position)

    @staticmethod
    def _position(annotation: Mapping[str, Any], game: Mapping[str, Any]) -> int | None:
        """The position whose codes in the answer are this game's; the record's shown
        position when the answer names neither code."""
        join_code, completion_code = _text(game.get("JoinCode")), _text(game.get("CompletionCode"))
        for position in (1, 2):
            shown = _text(annotation.get(f"joinCode{position}"))
            # the page may append the expiry to the join code: `<join code>:<epoch ms>`
            if join_code and (shown == join_code or shown.startswith(join_code + ":")):
                return position
            if completion_code and _text(annotation.get(f"completionCode{position}")) == completion_code:
                return position
        return record_position(game)


SCHEMAS: tuple[AnnotationSchema, ...] = (PerGameSchema(), PairwiseAnswerSchema())


def judge(annotation: Mapping[str, Any] | None, game: Mapping[str, Any]) -> Judgement:
    """The judgement of one game from its parsed annotation (None or {} when not annotated)."""
    if not annotation:
        return Judgement()
    for schema in SCHEMAS:
        if schema.matches(annotation):
            return schema.judge(annotation, game)
    return Judgement(problem=f"annotation has no known verdict field (fields: {', '.join(sorted(map(str, annotation)))})")


def record_position(game: Mapping[str, Any]) -> int | None:
    """1-based shown position from a game record's `ShownPosition` (stored 0-based)."""
    text = str(game.get("ShownPosition")).strip()  # None reads "None": no position
    return int(text) + 1 if text.isdigit() else None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
