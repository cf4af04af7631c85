"""Was the work real? A verdict per game and per assignment, with reasons a person can read.

Each game is checked for its completion code (`codes.check_code`: what was pasted, whether
it matches the game's join code, whether it was used before or twice in the HIT), for its
data (`game_data_missing`), and for the architect's effort: enough turns ended with
`PLAYER_COMMAND`, instructions long enough, written in English (detected with `py3langid`).
Reasons are either rejecting or warnings (`Thresholds.warn_only`); the assignment is
`approve`, `approve_with_warning`, `reject` (no good game) or `partial` (some good games).
The worker's message is made from the same reasons that are stored.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, with_config
from typing_extensions import TypedDict

from iglu_lib.errors import ParameterError
from iglu_lib.platform.client import Game
from iglu_lib.platform.codes import check_code
from iglu_lib.platform.evidence import DEFAULT_CLOCK_SKEW_SECONDS, Expectation, GameEvidence
from iglu_lib.platform.reasons import REASONS, worker_message
from iglu_lib.schema import ALLOWED, Number, Whole, suggestion

APPROVE = "approve"
APPROVE_WITH_WARNING = "approve_with_warning"
REJECT = "reject"
PARTIAL = "partial"


@dataclass(frozen=True)
class Thresholds:
    """What counts as real work; read from the stage's parameters (`validation:` section)."""

    min_architect_turns: int = 3
    min_instruction_chars: int = 40
    min_chars_for_language: int = 20
    min_english_probability: float = 0.5
    warn_only: tuple[str, ...] = ("instruction_too_short",)
    clock_skew_seconds: float = DEFAULT_CLOCK_SKEW_SECONDS

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> Thresholds:
        """Thresholds from a parameter mapping; unknown keys are an error naming them."""
        params = dict(params or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ParameterError(
                f"unknown validation parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        if "warn_only" in params:
            params["warn_only"] = tuple(params["warn_only"])
        return cls(**params)


def _known_reason(value: str) -> str:
    if value not in REASONS:
        raise ValueError(f"unknown reason {value!r}{suggestion(value, sorted(REASONS))}")
    return value


#: A reason word of `iglu_lib.platform.reasons` (code_reused, too_few_turns, ...).
Reason = Annotated[str, AfterValidator(_known_reason),
                   Field(json_schema_extra={ALLOWED: "a reason of iglu_lib.platform.reasons (e.g. code_reused)"})]


@with_config(ConfigDict(extra="forbid"))
class Validation(TypedDict, total=False):
    """The `validation:` section of campaign and notebook parameters: the keys of `Thresholds`."""

    min_architect_turns: Annotated[Whole, Field(ge=0, le=1000, description="turns the architect must end (default 3)")]
    min_instruction_chars: Annotated[Whole, Field(ge=0, le=100_000, description="characters of instructions (default 40)")]
    min_chars_for_language: Annotated[Whole, Field(ge=0, le=100_000, description="text needed to judge the language (default 20)")]
    min_english_probability: Annotated[Number, Field(ge=0, le=1, description="(default 0.5)")]
    warn_only: Annotated[tuple[Reason, ...], Field(description="reasons that only warn (default [instruction_too_short])")]
    clock_skew_seconds: Annotated[Number, Field(ge=0, le=86_400, description="tolerated clock difference")]


@dataclass(frozen=True)
class GameVerdict:
    """The verdict on one game of an assignment."""

    game_id: str | None
    verdict: str
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    summary: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def accepted(self) -> bool:
        return self.verdict != REJECT


@dataclass(frozen=True)
class AssignmentVerdict:
    """The verdict on an assignment, its reasons, each game's verdict and the worker's message."""

    verdict: str
    reasons: tuple[str, ...]
    games: tuple[GameVerdict, ...]
    worker_message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "worker_message": self.worker_message,
            "games": [
                {
                    "game_id": g.game_id,
                    "verdict": g.verdict,
                    "reasons": list(g.reasons),
                    "warnings": list(g.warnings),
                }
                for g in self.games
            ],
        }


def validate_assignment(
    games: Sequence[Game],
    thresholds: Thresholds | Mapping[str, Any] | None = None,
    *,
    seen: Mapping[str, str] | Collection[str] = (),
    owner: str | None = None,
    expected: Sequence[Expectation | None] | None = None,
) -> AssignmentVerdict:
    """Judge the games of one assignment (each with its join code, as fetched by the client).

    `seen` holds codes (or game ids) already stored for other assignments, `owner` names
    this one (see `codes.check_code`). `expected` gives, per game, what its slot expects of
    the game data (see `evidence`); without it only the code and the effort are judged.
    """
    limits = (
        thresholds if isinstance(thresholds, Thresholds) else Thresholds.from_params(thresholds)
    )
    expectations = list(expected) if expected is not None else [None] * len(games)
    verdicts = [
        validate_game(
            game,
            limits,
            seen=seen,
            owner=owner,
            # the HIT's other games by position: the same game object given twice is a code twice
            hit_codes=[g.code for other, g in enumerate(games) if other != number],
            expected=expectation,
        )
        for number, (game, expectation) in enumerate(zip(games, expectations, strict=True))
    ]
    return combine_game_verdicts(verdicts)


def combine_game_verdicts(verdicts: Sequence[GameVerdict]) -> AssignmentVerdict:
    """The assignment's verdict, reasons and worker message from its games' verdicts (also
    from verdicts stored earlier, so that a restart acts on exactly what was recorded)."""
    games = tuple(
        GameVerdict(v.game_id, v.verdict, tuple(v.reasons), tuple(v.warnings), v.summary)
        for v in verdicts
    )
    verdict = _assignment_verdict(games)
    reasons = tuple(dict.fromkeys(r for v in games for r in (*v.reasons, *v.warnings)))
    return AssignmentVerdict(verdict, reasons, games, _message(verdict, games))


def validate_game(
    game: Game,
    limits: Thresholds,
    *,
    seen: Mapping[str, str] | Collection[str] = (),
    owner: str | None = None,
    hit_codes: Sequence[str] = (),
    expected: Expectation | None = None,
) -> GameVerdict:
    """The verdict on one game: its code first, then its data (the evidence, against what the
    slot expects), then the architect's effort."""
    check = check_code(game.code, game.join_code, seen, owner=owner, hit_codes=hit_codes)
    if not check.ok:
        return GameVerdict(game.game_id, REJECT, (str(check.reason),))
    if not game.ok:
        return GameVerdict(game.game_id, REJECT, (str(game.reason),))
    evidence_warnings: tuple[str, ...] = ()
    if expected is not None:
        expected = replace(expected, clock_skew_seconds=limits.clock_skew_seconds)
        evidence = GameEvidence.of(game.document, game.events, game.parsed.role_id if game.parsed else None)
        rejected, evidence_warnings = evidence.check(str(game.game_id), expected)
        if rejected:
            return GameVerdict(game.game_id, REJECT, rejected)
    summary = game.summary()
    found = _effort_reasons(summary.architect_turns, summary.architect_messages, limits)
    rejecting = tuple(r for r in found if r not in limits.warn_only)
    warnings = (*evidence_warnings, *(r for r in found if r in limits.warn_only))
    verdict = REJECT if rejecting else APPROVE_WITH_WARNING if warnings else APPROVE
    return GameVerdict(game.game_id, verdict, rejecting, warnings, summary.as_dict())


def _effort_reasons(turns: int, messages: Sequence[str], limits: Thresholds) -> list[str]:
    reasons = []
    if turns < limits.min_architect_turns:
        reasons.append("too_few_turns")
    text = "\n".join(m.strip() for m in messages if m and m.strip())
    if len(text) >= limits.min_chars_for_language and not is_english(
        text, limits.min_english_probability
    ):
        reasons.append("not_english")
    if len(text) < limits.min_instruction_chars:
        reasons.append("instruction_too_short")
    return reasons


def is_english(text: str, min_probability: float = 0.5) -> bool:  # pragma: no mutate: English at 0.5 or more of normalised probabilities is ranked first anyway
    """Whether `text` reads as English: English is the most likely language, or likely enough."""
    ranked = _identifier().rank(text)
    english = dict(ranked).get("en", 0.0)  # pragma: no mutate: rank() lists every language, English too
    return ranked[0][0] == "en" or english >= min_probability


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    """The language identifier with normalised probabilities (its model loads once)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _assignment_verdict(verdicts: Sequence[GameVerdict]) -> str:
    if not verdicts or all(v.verdict == REJECT for v in verdicts):
        return REJECT
    if any(v.verdict == REJECT for v in verdicts):
        return PARTIAL
    if any(v.verdict == APPROVE_WITH_WARNING for v in verdicts):
        return APPROVE_WITH_WARNING
    return APPROVE


def _message(verdict: str, verdicts: Sequence[GameVerdict]) -> str:
    """What the worker reads: thanks, or for each game with problems, what was wrong."""
    if verdict == APPROVE:
        return "Thank you: your games were accepted."
    lines = []
    for number, game in enumerate(verdicts, start=1):
        problems = (*game.reasons, *game.warnings)
        if problems:
            label = f"Game {number}" if len(verdicts) > 1 else "Your game"
            lines.append(f"{label}: " + " ".join(worker_message(r) for r in problems))
    opening = {
        APPROVE_WITH_WARNING: "Thank you: your work was accepted, but please note:",
        PARTIAL: "Part of your work was accepted. Problems we found:",
        REJECT: "We could not accept your work:",
    }[verdict]
    if not verdicts:
        lines.append("No game was submitted.")
    return "\n".join([opening, *lines])
