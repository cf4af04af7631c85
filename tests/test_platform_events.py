"""Events of the real platform become typed tables and per-game summaries; bad events are
kept and flagged."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from iglu_lib.platform.events import (
    event_problems,
    events_frame,
    final_world,
    structure_blocks,
    summarize,
    world_blocks,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "greenlands"
EVENT_FILES = sorted((FIXTURES / "game_events").glob("*.json"))
TASK_DIR = FIXTURES / "tasks" / "03794642-d5dc-40df-bd41-4cd898ae6b7c"


def _task() -> dict:
    return {
        "name": TASK_DIR.name,
        "initialGameState": json.loads((TASK_DIR / "initialGameState.json").read_text()),
        "targetGameChanges": json.loads((TASK_DIR / "targetGameChanges.json").read_text()),
    }


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.stem)
def test_the_real_event_files_parse_into_typed_tables(path):
    events = json.loads(path.read_text())
    frame = events_frame(events)
    assert len(frame) == len(events) == 25 - ("NotComplete" in path.stem)
    assert frame["known"].all() and (frame["problems"] == "").all()
    assert str(frame["material"].dtype) == "Int64" and str(frame["x"].dtype) == "float64"
    assert str(frame["isFlying"].dtype) == "boolean"
    placed = frame[frame["eventType"] == "BlockPlaceEvent"]
    assert len(placed) == 4 and placed["material"].notna().all() and placed["y"].notna().all()
    summary = summarize(events)
    assert summary.blocks_placed == 4 and summary.blocks_removed == 0
    assert summary.task_completed is ("NotComplete" not in path.stem)
    assert summary.flagged_events == 0 and summary.game_id == events[0]["gameId"]


def test_unknown_types_missing_and_malformed_fields_are_kept_and_flagged():
    events = [
        {"eventType": "SomethingNew", "id": "1"},
        {"eventType": "BlockPlaceEvent", "location": {"x": "left"}, "material": "red"},
        {"eventType": "PlayerChatEvent"},
        "not an event",
        {
            "eventType": "PlayerChatEvent",
            "message": "<script>x</script> &amp;",
            "producedAtDatetime": "yesterday",
        },
    ]
    frame = events_frame(events)
    assert list(frame["problems"]) == [
        "unknown_type:SomethingNew",
        "malformed:location;malformed:material",
        "missing:message",
        "not_an_object",
        "",
    ]
    assert list(frame["known"]) == [False, True, True, False, True]
    assert frame["material"].isna().all() and pd.isna(frame.loc[4, "producedAtDatetime"])
    assert frame.loc[4, "message"] == "<script>x</script> &amp;"
    assert summarize(events).flagged_events == 4
    assert (
        event_problems({"eventType": "BlockRemoveEvent", "location": {"x": 1, "y": 2, "z": 3}})
        == []
    )


def test_the_built_structure_is_replayed_in_iglu_coordinates():
    task = _task()
    initial = world_blocks(task["initialGameState"]["worldState"]["blockChanges"])
    assert len(initial) == 180
    start = structure_blocks(initial)
    assert len(start) == 10 and all(block[1] == -1 and block[3] == 1 for block in start)
    events = [
        {
            "eventType": "BlockPlaceEvent",
            "location": {"x": 0.0, "y": 1.0, "z": 0.0},
            "material": 181,
        },
        {"eventType": "BlockRemoveEvent", "location": {"x": -1.0, "y": 1.0, "z": -3.0}},
        {
            "eventType": "BlockPlaceEvent",
            "location": {"x": 30.0, "y": 1.0, "z": 0.0},
            "material": 178,
        },
    ]
    built = structure_blocks(final_world(initial, events))
    assert (0, -1, 0, 3) in built and (-1, -1, -3, 1) not in built and len(built) == 10


def test_the_final_structure_is_scored_against_the_task_target():
    task = _task()
    target = world_blocks(task["targetGameChanges"][0]["worldChanges"]["blockChanges"])
    initial = world_blocks(task["initialGameState"]["worldState"]["blockChanges"])
    missing = [p for p in target if p not in initial]
    complete = [
        {
            "eventType": "BlockPlaceEvent",
            "location": dict(zip("xyz", map(float, p), strict=True)),
            "material": 178,
        }
        for p in missing
    ]
    assert summarize(complete, task=task).structure_f1 == pytest.approx(1.0)
    partial = summarize(complete[:-1], task=task).structure_f1
    assert 0.8 < partial < 1.0
    assert summarize([], task=task).structure_f1 == pytest.approx(2 * 10 / 23)
    assert summarize(complete, task={"initialGameState": "broken"}).structure_f1 is None


def test_turns_chat_and_duration_by_role():
    def event(kind, **fields):
        return {
            "eventType": kind,
            "producedAtDatetime": f"2026-01-01T00:00:{len(events):02d}Z",
            **fields,
        }

    events: list[dict] = []
    for _ in range(2):
        events.append(event("PlayerChatEvent", roleId="arch", message="build a tower"))
        events.append(
            event(
                "PlatformPlayerTurnChangeEvent",
                reason="PLAYER_COMMAND",
                previousActiveRoleId="arch",
                nextActiveRoleId="bot",
            )
        )
        events.append(
            event(
                "PlatformPlayerTurnChangeEvent",
                reason="ABORT_TIME_OUT",
                previousActiveRoleId="bot",
                nextActiveRoleId="arch",
            )
        )
    summary = summarize(events, architect_role_id="arch")
    assert summary.turns_by_role == {"arch": 2} and summary.architect_turns == 2
    assert (
        summary.chat_by_role == {"arch": 2} and summary.architect_messages == ["build a tower"] * 2
    )
    assert summary.duration_seconds == 5.0
