"""The real platform task decodes to the IGLU task and re-encodes to the same block changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iglu_lib.encoding import decode_task, encode_task, load_platform_task
from iglu_lib.tasks import structure_f1

TASK_ID = "03794642-d5dc-40df-bd41-4cd898ae6b7c"
FOLDER = Path(__file__).parent / "fixtures" / "greenlands" / "tasks" / TASK_ID
ARCHITECT = "914a403c-d103-405f-a1d2-10fba7ee0a28"  # the role in the task's completion codes
BUILDER = "77d0e089-6302-496b-9844-9f3e37961464"


@pytest.fixture(scope="module")
def real():
    return {
        "initialGameState": json.loads((FOLDER / "initialGameState.json").read_text()),
        "targetGameChanges": json.loads((FOLDER / "targetGameChanges.json").read_text()),
    }


def test_real_task_decodes_to_10_start_and_13_target_blue_blocks(real):
    task = decode_task(real)
    assert len(task.starting_grid) == 10
    assert len(task.target_blocks) == 13
    assert {colour for *_, colour in task.starting_grid + task.target_blocks} == {1}
    assert {y for _, y, _, _ in task.starting_grid + task.target_blocks} == {-1}
    assert set(task.starting_grid) <= set(task.target_blocks)
    assert "\r" in task.chat and task.last_instruction == ""
    assert 0 < structure_f1(task.starting_grid, task.target_grid) < 1


def test_encoding_the_decoded_task_reproduces_the_real_block_changes(real):
    task = load_platform_task(FOLDER)
    assert task.task_id == TASK_ID
    encoded = json.loads(encode_task(task, name=TASK_ID, architect_role_id=ARCHITECT, builder_role_id=BUILDER))
    initial = encoded["initialGameState"]["worldState"]["blockChanges"]
    real_initial = real["initialGameState"]["worldState"]["blockChanges"]
    assert len(initial) == 180 and initial == real_initial
    target = encoded["targetGameChanges"][0]["worldChanges"]["blockChanges"]
    assert len(target) == 13 and target == real["targetGameChanges"][0]["worldChanges"]["blockChanges"]
    # everything else of the stored files too: player states, instructions (with their \r)
    assert encoded["initialGameState"] == real["initialGameState"]
    assert encoded["targetGameChanges"] == real["targetGameChanges"]


def test_decoding_accepts_text_and_the_full_task_document(real):
    full = json.dumps({"name": "n", **real, "state": "Draft"})
    assert decode_task(full) == decode_task({"name": "n", **real})
    assert decode_task(full).task_id == "n"


def test_an_encoded_task_splits_into_the_platform_files_and_back(real):
    from iglu_lib.encoding import split_task_files

    task = decode_task(real)
    text = encode_task(task, name=TASK_ID, architect_role_id=ARCHITECT, builder_role_id=BUILDER)
    files = split_task_files(text)
    assert sorted(files) == ["initialGameState.json", "targetGameChanges.json"]
    assert json.loads(files["initialGameState.json"]) == real["initialGameState"]
    assert json.loads(files["targetGameChanges.json"]) == real["targetGameChanges"]
    # the files' text, as downloaded from the task container, decodes too
    assert decode_task({"initialGameState": files["initialGameState.json"],
                        "targetGameChanges": files["targetGameChanges.json"]}) == task
