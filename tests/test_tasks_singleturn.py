"""Single-turn dataset loading: the bundled sample, coordinate mapping, and skipped rows."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from iglu_lib.tasks import load_sample, load_singleturn
from iglu_lib.tasks.singleturn import SAMPLE_CSV, DatasetError, sample_folder, sample_games
from iglu_lib.tasks.voxelworld import WorldStateError, read_world_state

SAMPLE = sample_folder()


def test_sample_loads_offline_with_unique_ids():
    tasks = load_sample()
    assert len(tasks) == len(sample_games()) == 24
    ids = [t.task_id for t in tasks]
    assert len(set(ids)) == len(ids)
    assert {"4-c92/step-22", "10-c97/step-8", "23-c136/step-14", "32-c135/step-4"} <= set(ids)
    # two games start from 13-c71/step-2 (in the whole CSV), so each id names its game
    assert {"13-c71/step-2/CQ-game-1278", "13-c71/step-2/CQ-game-1613"} <= set(ids)
    for task in tasks:
        assert task.chat == task.last_instruction and task.chat.startswith("<Architect> ")
        assert task.target_grid.any()


def test_sample_is_packaged_data():
    assert SAMPLE.is_dir() and (SAMPLE / "ORIGIN.md").read_text().count("MIT") >= 1
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size < 4_000_000


def test_voxelworld_blocks_map_to_iglu_coordinates_and_colours():
    # 2-c116/step-18 holds [-4,63,-2,59] (green, on the ground) and [0,66,-1,57] (blue, 4th level)
    blocks = read_world_state(SAMPLE / "initial_world_states/builder-data/2-c116/step-18")
    assert (-4, -1, -2, 2) in blocks and (0, 2, -1, 1) in blocks
    # the target of CQ-game-1021 uses the second palette: 89 is orange
    target = read_world_state(SAMPLE / "target_world_states/builder-data/actionHit/game-1021/game-1021-step-action")
    assert (-3, -1, -2, 4) in target


def _dataset(tmp_path: Path, extra_rows: list[dict], files: dict[str, str]) -> Path:
    """A dataset folder with two real games plus crafted rows and files."""
    folder = tmp_path / "dataset"
    with (SAMPLE / SAMPLE_CSV).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, [r for r in reader if r["GameId"] in {"CQ-game-1021", "CQ-game-1042"}]
    for row in rows:
        for path in (row["InitializedWorldPath"], _target(row["GameId"])):
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(SAMPLE / path, folder / path)
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    with (folder / "clarifying_questions_train.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows + [{**rows[0], **row} for row in extra_rows])
    return folder


def _target(game_id: str) -> str:
    n = game_id.rsplit("-", 1)[1]
    return f"target_world_states/builder-data/actionHit/game-{n}/game-{n}-step-action"


def _state(*blocks) -> str:
    return json.dumps({"worldEndingState": {"blocks": [list(b) for b in blocks]}, "tape": "ignored"})


def test_rows_that_cannot_be_tasks_are_skipped_counted_and_explained(tmp_path):
    start = "initial_world_states/builder-data/99-c1/step-2"
    folder = _dataset(
        tmp_path,
        extra_rows=[
            {"GameId": "CQ-game-1021"},  # repeated
            {"GameId": "CQ-game-9001", "InitializedWorldPath": "initial_world_states/builder-data/nowhere/step-2"},
            {"GameId": "CQ-game-9002", "InitializedWorldPath": start},  # target equals start
            {"GameId": "CQ-game-9003", "InitializedWorldPath": start},  # malformed target
            {"GameId": "CQ-game-9004", "InitializedWorldPath": start},  # unknown colour
            {"GameId": "CQ-game-9005", "InitializedWorldPath": start},  # outside the zone
            {"GameId": "CQ-game-9006", "InitializedWorldPath": start, "InputInstruction": "two$$lines"},
            {"GameId": "CQ-game-9007", "InitializedWorldPath": "../../../../etc/passwd"},
        ],
        files={
            start: _state([0, 63, 0, 57]),
            _target("CQ-game-9002"): _state([0, 63, 0, 86]),
            _target("CQ-game-9003"): '{"worldEndingState": {"blocks": [[0, 63, 0, 57],',
            _target("CQ-game-9004"): _state([0, 63, 0, 57], [1, 63, 0, 12]),
            _target("CQ-game-9005"): _state([0, 63, 0, 57], [0, 63, 6, 57]),
            _target("CQ-game-9006"): _state([0, 63, 0, 57], [0, 64, 0, 60]),
        },
    )
    tasks, report = load_singleturn(folder)
    assert report.rows == 10 and report.loaded == len(tasks) == 3
    reasons = {s.game_id: s.reason for s in report.skipped}
    assert reasons["CQ-game-1021"] == "repeated game: CQ-game-1021 already read on line 2"
    assert reasons["CQ-game-9001"].startswith("missing file: start world state")
    assert "nowhere/step-2 not found" in reasons["CQ-game-9001"]
    assert reasons["CQ-game-9002"].startswith("target equals start")
    assert "game-9003-step-action: not valid JSON (line 1" in reasons["CQ-game-9003"]
    assert "worldEndingState.blocks[1]: colour id 12 is in neither VoxelWorld palette" in reasons["CQ-game-9004"]
    assert "worldEndingState.blocks[1]: z=6 is outside the build zone" in reasons["CQ-game-9005"]
    assert reasons["CQ-game-9007"].startswith("unsafe path: the start world state")
    assert report.reasons() == {"repeated game": 1, "missing file": 1, "target equals start": 1,
                                "unreadable file": 3, "unsafe path": 1}
    made = {t.task_id: t for t in tasks}
    assert made["99-c1/step-2/CQ-game-9006"].last_instruction == "<Architect> two\nlines"
    assert made["99-c1/step-2/CQ-game-9006"].target_blocks == [(0, -1, 0, 1), (0, 0, 0, 3)]


def test_strict_load_raises_the_file_error(tmp_path):
    start = "initial_world_states/builder-data/99-c1/step-2"
    folder = _dataset(tmp_path, [{"GameId": "CQ-game-9003", "InitializedWorldPath": start}],
                      {start: _state([0, 63, 0, 57]), _target("CQ-game-9003"): "[1, 2"})
    with pytest.raises(WorldStateError, match=r"game-9003-step-action: not valid JSON"):
        load_singleturn(folder, strict=True)


def test_selecting_games_keeps_ids_of_the_whole_csv():
    tasks, report = load_singleturn(SAMPLE, csv_name=SAMPLE_CSV, games=["CQ-game-1613"])
    assert [t.task_id for t in tasks] == ["13-c71/step-2/CQ-game-1613"] and report.rows == 1


def test_missing_csv_or_columns_say_what_to_do(tmp_path):
    with pytest.raises(DatasetError, match="clarifying_questions_train.csv: no such CSV"):
        load_singleturn(tmp_path)
    (tmp_path / "x.csv").write_text("GameId,Other\nCQ-game-1,a\n")
    with pytest.raises(DatasetError, match=r"x.csv: missing column\(s\) InitializedWorldPath, InputInstruction"):
        load_singleturn(tmp_path, csv_name="x.csv")
