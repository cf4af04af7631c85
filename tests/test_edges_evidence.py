"""The evidence rules at their edges: what a game's stored data must show for its slot to count.

Each rule that can reject a worker's game (and so withhold pay) is tried at, just inside and just
outside its limit, and each kind of agent evidence present, absent and contradicting; verdicts
are asserted by their reason. Pure functions: no local stack.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from iglu_lib.platform.evidence import DEFAULT_CLOCK_SKEW_SECONDS, Expectation, GameEvidence


def uid(n: int) -> str:
    """An id with letters in it, so that a change of case is seen."""
    return str(uuid.UUID(int=(0xABCDEF << 96) + (0xFACE << 64) + n))


GAME, OTHER_GAME = uid(11), uid(12)
TASK, OTHER_TASK = uid(21), uid(22)
AGENT, OTHER_AGENT = uid(31), uid(32)
ARCHITECT, BUILDER = uid(41), uid(42)
START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
T0 = START.timestamp()


def event(kind: str = "PlayerChatEvent", at: datetime | str | None = START, **fields: Any) -> dict[str, Any]:
    """An event in the platform's shape; `at` None leaves the timestamp out."""
    stamp = at.isoformat() if isinstance(at, datetime) else at
    return {"eventType": kind, "gameId": GAME, "taskId": TASK, "roleId": ARCHITECT,
            "producedAtDatetime": stamp, **fields}


def joins(player: str = AGENT, role: str = BUILDER, **fields: Any) -> dict[str, Any]:
    return event("PlatformPlayerJoinsGameEvent", roleId=role, playerId=player, **fields)


def judged(events: list[Any], expected: Expectation | None = None, document: Any = None,
           game_id: str = GAME) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(rejecting reasons, warnings) of these events against `expected` (by default the slot's
    task and agent, no assignment window)."""
    evidence = GameEvidence.of({"id": game_id} if document is None else document, events, ARCHITECT)
    return evidence.check(game_id, expected or Expectation(TASK, AGENT))


OK: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())


# -- the game the code names (the swapped-code attack) ----------------------------------------
def test_data_of_another_game_than_the_code_names_is_rejected():
    assert judged([joins()]) == OK
    assert judged([joins(gameId=OTHER_GAME)]) == (("game_data_mismatch",), ())
    assert judged([joins()], document={"id": OTHER_GAME}) == (("game_data_mismatch",), ()), (
        "the swapped-code attack: another game's document behind this code")
    assert judged([joins(), event(gameId=OTHER_GAME)]) == (("game_data_mismatch",), ()), "one event suffices"


def test_game_ids_compare_without_case_and_ignore_empty_or_hostile_values():
    assert judged([joins(gameId=GAME.upper())], document={"id": GAME.upper()}) == OK
    assert judged([joins()], game_id=GAME.upper()) == OK
    assert judged([joins(), event(gameId="")]) == OK, "an empty id names no game"
    assert judged([joins(), event(gameId=123)]) == OK, "a number is no id"
    assert judged([joins()], document={"id": 5}) == OK
    assert judged([joins()], document=["not", "a", "mapping"]) == OK
    assert judged([joins(), "not an event", None]) == OK
    assert judged(["not an event", joins(gameId=OTHER_GAME)]) == (("game_data_mismatch",), ()), (
        "a hostile event is skipped, not the end of the reading")


def test_ids_are_cut_at_100_characters():
    long_id = GAME + "x" * 80  # 116 characters: kept as its first 100
    assert judged([joins(gameId=long_id)], game_id=long_id[:100]) == OK
    assert judged([joins(gameId=long_id)], game_id=long_id[:101]) == (("game_data_mismatch",), ())


# -- the slot's task --------------------------------------------------------------------------
def test_the_task_in_the_data_must_be_the_slots():
    assert judged([joins(taskId=OTHER_TASK)]) == (("game_task_mismatch",), ())
    assert judged([joins(), event(taskId=OTHER_TASK)]) == (("game_task_mismatch",), ()), "two tasks in one game"
    assert judged([joins(taskId=TASK.upper())]) == OK
    assert judged([joins()], Expectation(TASK.upper(), AGENT)) == OK


def test_data_without_a_task_is_unreadable():
    assert judged([]) == (("game_data_unreadable",), ())
    assert judged([joins(taskId=None)]) == (("game_data_unreadable",), ())
    assert judged([joins(taskId="")]) == (("game_data_unreadable",), ())


# -- the three kinds of agent evidence --------------------------------------------------------
def test_an_agent_joining_as_a_player_is_the_strongest_evidence():
    assert judged([joins()]) == OK
    assert judged([joins(AGENT.upper())]) == OK, "ids compare without case"
    assert judged([joins()], Expectation(TASK, AGENT.upper())) == OK
    assert judged([joins(OTHER_AGENT)]) == (("game_agent_mismatch",), ())
    assert judged([joins(), joins(OTHER_AGENT)]) == OK, (
        "as the rule stands, the slot's agent among those the data names is enough")


@pytest.mark.parametrize("not_an_agent", [
    joins(OTHER_AGENT, role=ARCHITECT),                      # the architect (the human) joining
    event("PlayerChatEvent", roleId=BUILDER, playerId=OTHER_AGENT),  # not a join event
    joins("not-a-uuid"),                                       # not an agent service id
    joins(12345),                                              # not even text
    joins(OTHER_AGENT + "0"),                                  # an id with a tail
])
def test_what_is_not_an_agent_join_names_no_agent(not_an_agent):
    assert judged([not_an_agent]) == ((), ("agent_unverified",))


def test_a_join_without_a_role_is_not_the_architects():
    no_role = joins()
    del no_role["roleId"]
    assert judged([no_role]) == OK
    assert judged([joins(OTHER_AGENT, role=None)]) == (("game_agent_mismatch",), ())


def test_the_subscription_filter_names_the_agent():
    assert judged([event(agentSubscriptionFilterValue=AGENT)]) == OK
    assert judged([event(agentSubscriptionFilterValue=AGENT.upper())]) == OK
    assert judged([event(agentSubscriptionFilterValue=OTHER_AGENT)]) == (("game_agent_mismatch",), ())
    assert judged([joins(OTHER_AGENT), event(agentSubscriptionFilterValue=AGENT)]) == OK
    for empty in (None, "", "agent-7", 7, OTHER_AGENT + "0"):
        assert judged([event(agentSubscriptionFilterValue=empty)]) == ((), ("agent_unverified",)), empty


def test_the_legacy_group_id_names_the_agent():
    assert judged([event(groupId=f"T:C:{TASK}:{AGENT}")]) == OK
    assert judged([event(groupId=f"T:C:{TASK}:{AGENT.upper()}")]) == OK
    assert judged([event(groupId=f"T:C:{TASK}:{OTHER_AGENT}")]) == (("game_agent_mismatch",), ())
    assert judged([joins(OTHER_AGENT), event(groupId=f"T:C:{TASK}:{AGENT}")]) == OK
    for not_legacy in (f"T:{TASK}", f"T:C:X:{TASK}:{OTHER_AGENT}", f"T:C:{OTHER_AGENT}:task",
                       f"{OTHER_AGENT}:C:{TASK}:x", None, 42):
        assert judged([event(groupId=not_legacy)]) == ((), ("agent_unverified",)), not_legacy


def test_no_evidence_of_the_agent_warns_and_a_slot_without_agent_asks_for_none():
    assert judged([event()]) == ((), ("agent_unverified",))
    assert judged([event()], Expectation(TASK, None)) == OK
    assert judged([joins(OTHER_AGENT)], Expectation(TASK, None)) == OK
    assert judged([joins(OTHER_AGENT)], Expectation(TASK, "")) == OK


# -- the play-time window and its clock skew --------------------------------------------------
def window(accepted: float | None = T0, submitted: float | None = T0 + 3600, **kw: Any) -> Expectation:
    return Expectation(TASK, AGENT, accepted, submitted, **kw)


def played(start: float, end: float) -> list[dict[str, Any]]:
    first = datetime.fromtimestamp(start, timezone.utc)
    last = datetime.fromtimestamp(end, timezone.utc)
    return [joins(at=first), event(at=first + (last - first) / 2), event(at=last)]


def test_the_default_clock_skew_is_two_minutes():
    assert DEFAULT_CLOCK_SKEW_SECONDS == 120.0
    assert Expectation(TASK, AGENT).clock_skew_seconds == 120.0


@pytest.mark.parametrize(("early", "verdict"), [
    (0, OK), (119, OK), (120, OK), (121, (("played_outside_assignment",), ())),
])
def test_a_game_may_start_up_to_the_skew_before_acceptance(early, verdict):
    assert judged(played(T0 - early, T0 + 600), window()) == verdict
    assert judged(played(T0 - early, T0 + 600), window(submitted=None)) == verdict


@pytest.mark.parametrize(("late", "verdict"), [
    (0, OK), (119, OK), (120, OK), (121, (("played_outside_assignment",), ())),
])
def test_a_game_may_end_up_to_the_skew_after_submission(late, verdict):
    end = T0 + 3600 + late
    assert judged(played(T0 + 60, end), window()) == verdict
    assert judged(played(T0 + 60, end), window(accepted=None)) == verdict


def test_the_skew_is_the_expectations_own():
    assert judged(played(T0 - 10, T0 + 60), window(clock_skew_seconds=10)) == OK
    assert judged(played(T0 - 11, T0 + 60), window(clock_skew_seconds=10)) == (("played_outside_assignment",), ())
    assert judged(played(T0 + 60, T0 + 3611), window(clock_skew_seconds=10)) == (("played_outside_assignment",), ())


def test_a_game_outside_the_window_is_rejected_before_its_agent_is_looked_at():
    events = [joins(OTHER_AGENT, at=START - timedelta(days=1))]
    assert judged(events, window()) == (("played_outside_assignment",), ())


def test_a_game_without_timestamps_is_unverified_in_time_not_rejected():
    assert judged([joins(at=None)], window()) == ((), ("time_unverified",))
    assert judged([joins(at=None)], window(accepted=None)) == ((), ("time_unverified",))
    assert judged([joins(at=None)], window(submitted=None)) == ((), ("time_unverified",))
    assert judged([joins(at=None)], window(None, None)) == OK, "no window known: nothing to verify"
    assert judged([event(at=None)], window()) == ((), ("time_unverified", "agent_unverified"))
    assert judged([joins(OTHER_AGENT, at=None)], window()) == (("game_agent_mismatch",), ())


def test_half_known_play_times_are_unverified():
    for start, end in ((T0, None), (None, T0)):
        evidence = GameEvidence(frozenset({GAME}), frozenset({TASK}), frozenset({AGENT}), start, end)
        assert evidence.check(GAME, window()) == ((), ("time_unverified",))


def test_the_window_is_read_from_the_first_and_last_timestamps():
    events = [joins(at=START + timedelta(minutes=5)), event(at=START - timedelta(minutes=3)),
              event(at=START + timedelta(minutes=1))]
    evidence = GameEvidence.of({"id": GAME}, events, ARCHITECT)
    assert (evidence.started_at, evidence.ended_at) == (T0 - 180, T0 + 300)
    assert evidence.game_ids == {GAME} and evidence.task_ids == {TASK} and evidence.agent_ids == {AGENT}


def test_timestamps_in_other_zones_and_forms_are_read_as_the_moment_they_name():
    plus_two = (START + timedelta(hours=2)).replace(tzinfo=timezone(timedelta(hours=2))).isoformat()
    assert GameEvidence.of({}, [event(at=plus_two)], ARCHITECT).started_at == T0
    assert GameEvidence.of({}, [event(at="2026-03-01T12:00:00Z")], ARCHITECT).started_at == T0


def test_a_timestamp_without_zone_is_utc(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert GameEvidence.of({}, [event(at="2026-03-01T12:00:00")], ARCHITECT).started_at == T0
    finally:
        monkeypatch.undo()
        time.tzset()


def test_timestamps_longer_than_40_characters_or_not_text_are_ignored():
    forty = "2026-03-01T12:00:00.0000+00:00:00.000000"
    forty_one = "2026-03-01T12:00:00.00000+00:00:00.000000"
    assert (len(forty), len(forty_one)) == (40, 41)
    assert GameEvidence.of({}, [event(at=forty)], ARCHITECT).started_at == T0
    assert GameEvidence.of({}, [event(at=forty_one)], ARCHITECT).started_at is None
    for hostile in ("yesterday", 1772366400, ["2026-03-01"], ""):
        assert GameEvidence.of({}, [event(at=hostile)], ARCHITECT).started_at is None, hostile
