"""What a game's own data shows, checked against what its HIT expected.

A completion code is a worker's claim: it is only gzip and base64, so every field of it can be
rewritten. The game data the platform stored is the evidence. A game counts for a HIT's slot
only when the data agrees with the slot:

- the data is the game the code names (the document's and the events' game id);
- the data's own task id is the slot's task (`game_task_mismatch`);
- the game was played while the worker held the assignment: it started after the assignment
  was accepted and ended before it was submitted, give or take `clock_skew_seconds` for the
  clocks of the platform and of MTurk (`played_outside_assignment`);
- the agent the data shows is the slot's agent (`game_agent_mismatch`).

Which agent played, as the data shows it, from the strongest evidence down:
1. a `PlatformPlayerJoinsGameEvent` in a role other than the architect's (the human's), whose
   `playerId` is the agent service that joined: the platform simulator writes this, and so
   does the platform when an agent joins as a player;
2. `agentSubscriptionFilterValue`, the agent service an event was routed to;
3. the legacy group id `T:C:TASK:AGENT_SERVICE` of older games.
The real event files of the platform's own tests carry none of these (their only join event is
the architect's, the filter value is null and the group id is `T:TASK`). Such a game is not
rejected, but it gets the warning `agent_unverified`, which the analysis can leave out; a game
without timestamps gets `time_unverified` in the same way. Never a silent pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

#: How far the platform's clock and MTurk's may disagree (documented in the README).
DEFAULT_CLOCK_SKEW_SECONDS = 120.0
_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Expectation:
    """What a slot expects of one of its games: its task, its agent instance, and the window
    in which the worker held the assignment (epoch seconds; None when unknown)."""

    task_id: str
    agent_id: str | None
    accepted_at: float | None = None
    submitted_at: float | None = None
    clock_skew_seconds: float = DEFAULT_CLOCK_SKEW_SECONDS


@dataclass(frozen=True)
class GameEvidence:
    """The ids and times a game's stored data carries."""

    game_ids: frozenset[str]
    task_ids: frozenset[str]
    agent_ids: frozenset[str]
    started_at: float | None
    ended_at: float | None

    @classmethod
    def of(cls, document: Any, events: Iterable[Any], architect_role_id: str | None) -> GameEvidence:
        """Read the evidence of a game document and its events (hostile shapes ignored)."""
        game_ids: set[str] = set()
        if isinstance(document, Mapping) and isinstance(document.get("id"), str):
            game_ids.add(document["id"].lower())
        task_ids: set[str] = set()
        agents: set[str] = set()
        stamps: list[float] = []
        for event in events:
            if not isinstance(event, Mapping):
                continue
            _add_str(game_ids, event.get("gameId"))
            _add_str(task_ids, event.get("taskId"))
            agents.update(_agents_of(event, architect_role_id))
            stamp = _timestamp(event.get("producedAtDatetime"))
            if stamp is not None:
                stamps.append(stamp)
        return cls(frozenset(game_ids), frozenset(task_ids), frozenset(agents),
                   min(stamps, default=None), max(stamps, default=None))

    def check(self, game_id: str, expected: Expectation) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """`(rejecting reasons, warnings)` of this evidence against the slot's expectation."""
        if self.game_ids - {game_id.lower()}:
            return ("game_data_mismatch",), ()
        if not self.task_ids:
            return ("game_data_unreadable",), ()
        if self.task_ids != {expected.task_id.lower()}:
            return ("game_task_mismatch",), ()
        warnings: list[str] = []
        window = _window_reason(self, expected)
        if window == "played_outside_assignment":
            return (window,), ()
        if window:
            warnings.append(window)
        if expected.agent_id:
            if not self.agent_ids:
                warnings.append("agent_unverified")
            elif expected.agent_id.lower() not in self.agent_ids:
                return ("game_agent_mismatch",), ()
        return (), tuple(warnings)


def _add_str(found: set[str], value: Any) -> None:
    if isinstance(value, str) and value:
        found.add(value.lower()[:100])


def _agents_of(event: Mapping[str, Any], architect_role_id: str | None) -> set[str]:
    """The agent service ids one event names, by the three kinds of evidence above."""
    agents: set[str] = set()
    player = event.get("playerId")
    if (event.get("eventType") == "PlatformPlayerJoinsGameEvent" and isinstance(player, str)
            and event.get("roleId") != architect_role_id and _ID.fullmatch(player)):
        agents.add(player.lower())
    subscription = event.get("agentSubscriptionFilterValue")
    if isinstance(subscription, str) and _ID.fullmatch(subscription):
        agents.add(subscription.lower())
    group = event.get("groupId")
    if isinstance(group, str) and group.count(":") == 3:
        legacy_agent = group.rsplit(":", 1)[1]
        if _ID.fullmatch(legacy_agent):
            agents.add(legacy_agent.lower())
    return agents


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        # Python 3.10 reads no "Z" (3.11 does, so no test on 3.11 can tell this replace is needed)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))  # pragma: no mutate
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _window_reason(evidence: GameEvidence, expected: Expectation) -> str | None:
    """`played_outside_assignment`, `time_unverified` (no timestamps), or None when inside."""
    if expected.accepted_at is None and expected.submitted_at is None:
        return None
    if evidence.started_at is None or evidence.ended_at is None:
        return "time_unverified"
    skew = expected.clock_skew_seconds
    if expected.accepted_at is not None and evidence.started_at < expected.accepted_at - skew:
        return "played_outside_assignment"
    if expected.submitted_at is not None and evidence.ended_at > expected.submitted_at + skew:
        return "played_outside_assignment"
    return None
