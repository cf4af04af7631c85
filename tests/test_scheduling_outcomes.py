"""One rule for a slot's outcome: `scheduling.slot_outcome` over its games' outcomes, and
`collection.outcomes` mapping each stored game (status and own verdict) to an outcome, so the
loop settling a slot and a restart restoring it agree."""

from __future__ import annotations

import pytest

from iglu_lib.collection.outcomes import game_outcome, scheduled_games, slot_outcome
from iglu_lib.scheduling import Outcome
from iglu_lib.scheduling import slot_outcome as rule
from iglu_lib.storage import GameRecord, RecordStatus


@pytest.mark.parametrize(("games", "slot"), [
    ((Outcome.OPEN, Outcome.VALID), Outcome.OPEN),
    ((Outcome.EXPIRED, Outcome.VALID), Outcome.EXPIRED),
    ((Outcome.EXPIRED, Outcome.OPEN), Outcome.OPEN),
    ((Outcome.VALID, Outcome.VALID), Outcome.VALID),
    ((Outcome.VALID, Outcome.REJECTED), Outcome.REJECTED),  # one bad game: the HIT does not count for balance
    ((Outcome.REJECTED, Outcome.REJECTED), Outcome.REJECTED),
    ((Outcome.VALID,), Outcome.VALID),
])
def test_the_slot_rule(games, slot):
    assert rule(games) is slot
    assert rule(reversed(games)) is slot, "order of the games does not matter"


def _game(position: int, status: RecordStatus, verdict: str = "") -> GameRecord:
    return GameRecord(campaign="c", row_key=f"00000001-{position}", slot_id="00000001", shown_position=position,
                      agent_name="AB"[position], join_code=f"/join T:C:t:i{position}", task_name="t",
                      task_minecraft_id="t", agent_minecraft_id=f"i{position}", hit_type="pairwise",
                      unique_request_token="tok", status=status, verdict=verdict)


@pytest.mark.parametrize(("status", "verdict", "outcome"), [
    (RecordStatus.PLANNED, "", Outcome.OPEN),
    (RecordStatus.HIT_CREATED, "", Outcome.OPEN),
    (RecordStatus.SUBMITTED, "reject", Outcome.OPEN),
    (RecordStatus.APPROVED, "approve", Outcome.VALID),
    (RecordStatus.APPROVED, "reject", Outcome.REJECTED),  # rejected on its own inside a paid partial HIT
    (RecordStatus.REJECTED, "reject", Outcome.REJECTED),
    (RecordStatus.EXPIRED, "", Outcome.EXPIRED),
])
def test_a_stored_game_maps_to_an_outcome(status, verdict, outcome):
    assert game_outcome(_game(0, status, verdict)) is outcome


def test_a_partial_hit_is_rejected_for_the_loop_and_for_a_restart_alike():
    games = [_game(0, RecordStatus.APPROVED, "approve"), _game(1, RecordStatus.APPROVED, "reject")]
    assert slot_outcome(games) is Outcome.REJECTED
    restored = scheduled_games(games)
    assert rule(g.outcome for g in restored) is Outcome.REJECTED
    assert [g.agent_name for g in restored] == ["A", "B"]
