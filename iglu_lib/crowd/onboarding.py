"""The onboarding check: does a worker's free-form answer show they can give real commands?

The answer is split into commands on any line ending (`\\n`, `\\r\\n`, `\\r`), blank lines
dropped, and judged by four rules, each with a reason a person can read:

- `too_few_commands`: fewer than `min_commands` commands;
- `too_short`: fewer than `min_average_words` words per command on average;
- `not_diverse`: every command starts with the same word (with at least two commands);
- `duplicate_commands`: the same command twice (case and spacing ignored).

A worker passes when no rule fires. Rules are a registry of small functions, so adding one
never touches the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from iglu_lib.crowd.db import CrowdDB


@dataclass(frozen=True)
class OnboardingRules:
    """Thresholds of the check (defaults: 3 commands, 2 words on average)."""

    min_commands: int = 3
    min_average_words: float = 2.0


@dataclass(frozen=True)
class OnboardingResult:
    """Pass or fail, why, and how many commands the answer held."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    commands: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


REASON_TEXT: dict[str, str] = {
    "too_few_commands": "the answer has too few commands",
    "too_short": "the commands are too short on average",
    "not_diverse": "every command starts with the same word",
    "duplicate_commands": "the same command appears more than once",
}


def split_commands(answer: str) -> list[str]:
    """One command per line, whatever the line ending; blank lines dropped, spaces trimmed."""
    return [" ".join(line.split()) for line in answer.splitlines() if line.strip()]


def _too_few(commands: list[str], rules: OnboardingRules) -> bool:
    return len(commands) < rules.min_commands


def _too_short(commands: list[str], rules: OnboardingRules) -> bool:
    words = sum(len(command.split()) for command in commands)
    return not commands or words / len(commands) < rules.min_average_words


def _not_diverse(commands: list[str], rules: OnboardingRules) -> bool:
    first_words = {command.split()[0].lower() for command in commands}
    return len(commands) > 1 and len(first_words) == 1


def _duplicates(commands: list[str], rules: OnboardingRules) -> bool:
    normalised = [command.lower() for command in commands]
    return len(set(normalised)) < len(normalised)


#: Each rule: its reason code and the test that fires it.
RULES: dict[str, Callable[[list[str], OnboardingRules], bool]] = {
    "too_few_commands": _too_few,
    "too_short": _too_short,
    "not_diverse": _not_diverse,
    "duplicate_commands": _duplicates,
}


def check_onboarding(answer: str, rules: OnboardingRules | None = None) -> OnboardingResult:
    """Judge one onboarding answer."""
    rules = rules or OnboardingRules()
    commands = split_commands(answer)
    reasons = [reason for reason, fires in RULES.items() if fires(commands, rules)]
    return OnboardingResult(passed=not reasons, reasons=reasons, commands=len(commands))


class OnboardingGate(Protocol):
    """The onboarding result kept on a crowd service: MTurk's two qualification types
    (`iglu_lib.mturk.onboarding.OnboardingQualification`), Prolific's two participant groups
    (`iglu_lib.crowd.prolific_provider.OnboardingGroups`). `name` records passing,
    `failed_name` failing; work is hidden from holders of `failed_name`."""

    name: str
    failed_name: str

    def ensure(self) -> str:
        """The id of the `name` capability on the service, made when missing."""

    def ensure_failed(self) -> str:
        """The id of the `failed_name` capability on the service, made when missing."""

    def record(self, worker_id: str, passed: bool) -> None:
        """Mirror one worker's result."""

    def has_failed(self, worker_id: str) -> bool:
        """True when the service holds the worker as failed."""


def mirror_onboarding(db: CrowdDB, qualification: OnboardingGate, refused: tuple[type[Exception], ...]) -> int:
    """Mirror every onboarding result the task server recorded but the crowd service does not
    hold yet (a qualification score on MTurk, a participant group on Prolific); returns how many
    were. A worker the service refuses is logged and left for the next review, so one odd record
    never stops the others."""
    mirrored = 0
    for record in db.unsynced_onboarding(qualification.name):
        try:
            qualification.record(record.worker_id, record.passed)
        except refused as err:
            logging.getLogger(__name__).warning("onboarding result of %s not mirrored to the crowd service: %s",
                                                record.worker_id, err)
            continue
        db.mark_onboarding_synced(record.worker_id, record.qualification)
        mirrored += 1
    return mirrored
