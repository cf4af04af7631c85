"""Encoding rules, round trips over the sample, escaping, and refusals that name the element."""

from __future__ import annotations

import json

import pytest

from iglu_lib.encoding import (
    DecodingError,
    EncodingError,
    decode_task,
    encode_task,
    visible_dialogue,
)
from iglu_lib.encoding.platform_world import FLOOR_TYPE, LETTER_TYPE
from iglu_lib.tasks import Task, load_sample, to_dense

ROLES = {"architect_role_id": "architect-role", "builder_role_id": "builder-role"}


def _task(**changes):
    values = {"chat": "<Architect> one\n<Architect> two", "last_instruction": "<Architect> two",
              "starting_grid": [(-5, -1, 5, 2)], "target_grid": to_dense([(-5, -1, 5, 2), (5, 7, -5, 6)]),
              "task_id": "t"}
    return Task(**{**values, **changes})


def test_encoding_follows_the_platform_rules():
    document = json.loads(encode_task(_task(), name="t", **ROLES))
    blocks = document["initialGameState"]["worldState"]["blockChanges"]
    assert sum(b["type"] == FLOOR_TYPE for b in blocks.values()) == 121
    assert sum(b["type"] == LETTER_TYPE for b in blocks.values()) == 49
    assert blocks["[-5.0,1.0,5.0,0.0,0.0]"] == {"type": 180}  # green start block, y + 2
    target = document["targetGameChanges"][0]["worldChanges"]["blockChanges"]
    assert target == {"[-5.0,1.0,5.0,0.0,0.0]": {"type": 180}, "[5.0,9.0,-5.0,0.0,0.0]": {"type": 171}}
    assert document["initialGameState"]["instructions"] == "<Architect> one"
    assert document["state"] == "Published" and document["worldSizeX"] == document["worldSizeZ"] == 160
    assert document["gameLimits"] == {"maxDurationSeconds": 3600}
    assert "turnLimits" not in document
    states = document["initialGameState"]["playerStates"]
    assert states["architect-role"]["spawnLocation"]["x"] == -12
    assert states["builder-role"]["movementRegion"]["size"]["y"] == 100


def test_limits_state_and_player_states_are_passed_through():
    document = json.loads(encode_task(
        _task(), name="t", **ROLES, task_state="Draft", world_size_x=64, world_size_z=32,
        max_duration_seconds=600, max_turns=12, turn_limits={"builder": 90, "architect-role": 60},
        player_states={"x": {"spawnLocation": {"x": 0, "y": 1, "z": 0, "pitch": 0, "yaw": 0}}},
    ))
    assert document["state"] == "Draft" and (document["worldSizeX"], document["worldSizeZ"]) == (64, 32)
    assert document["gameLimits"] == {"maxDurationSeconds": 600, "maxTurns": 12}
    assert document["turnLimits"] == {"builder-role": {"maxTimeOutSeconds": 90},
                                      "architect-role": {"maxTimeOutSeconds": 60}}
    assert list(document["initialGameState"]["playerStates"]) == ["x"]


def test_every_sample_task_encodes_to_valid_json_and_round_trips():
    for task in load_sample():
        text = encode_task(task, name=task.task_id, **ROLES)
        decoded = decode_task(text)
        assert decoded.starting_grid == task.starting_grid
        assert (decoded.target_grid == task.target_grid).all()
        assert decoded.chat == visible_dialogue(task) and decoded.task_id == task.task_id
        assert encode_task(decoded, name=task.task_id, **ROLES) == text


def test_decoding_an_encoded_task_gives_the_same_task():
    task = _task(last_instruction="")  # nothing hidden from the platform
    assert decode_task(encode_task(task, name="t", **ROLES)) == task


HOSTILE = 'say "hi" \\ then\r\n<script>alert(1)</script> &amp; {{ name }} {% raw %} \u2028 é'


def test_hostile_dialogue_is_json_escaped_without_html_escaping():
    task = _task(chat=HOSTILE + "\n<Architect> last", last_instruction="<Architect> last")
    text = encode_task(task, name='n "quoted" {{ x }}', **ROLES)
    document = json.loads(text)
    assert document["initialGameState"]["instructions"] == HOSTILE
    assert document["name"] == 'n "quoted" {{ x }}'
    assert "&lt;" not in text and "\\u0026" not in text
    assert decode_task(text).chat == HOSTILE


def test_a_template_that_renders_invalid_json_is_refused_with_its_line(tmp_path):
    template = tmp_path / "broken.json.j2"
    template.write_text('{\n  "name": {{ name | json }},\n  "state": {{ state }}\n}\n')
    with pytest.raises(EncodingError, match=r"broken.json.j2 rendered invalid JSON at line 3.*'\"state\": Published'"):
        encode_task(_task(), name="t", **ROLES, template=template)
    template.write_text("{{ nothing_like_this }}")
    with pytest.raises(EncodingError, match="broken.json.j2.*'nothing_like_this' is undefined"):
        encode_task(_task(), name="t", **ROLES, template=template)


def test_a_user_template_replaces_the_packaged_one(tmp_path):
    template = tmp_path / "mine.json.j2"
    template.write_text('{"name": {{ name | json }}, "blocks": {{ target_blocks | length }}}')
    assert json.loads(encode_task(_task(), name="t", **ROLES, template=template)) == {"name": "t", "blocks": 2}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": ""}, "name must be a non-empty string"),
        ({"builder_role_id": "architect-role"}, "must differ"),
        ({"task_state": "Live"}, "task_state 'Live' must be one of Published, Draft"),
        ({"max_turns": 0}, "max_turns must be a positive whole number"),
        ({"turn_limits": {"observer": 10}}, "turn limit for unknown role 'observer'"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(EncodingError, match=message):
        encode_task(_task(), **{"name": "t", **ROLES, **options})


def _document():
    return json.loads(encode_task(_task(), name="t", **ROLES))


def test_unknown_material_names_the_block():
    document = _document()
    document["targetGameChanges"][0]["worldChanges"]["blockChanges"]["[1.0,3.0,1.0,0.0,0.0]"] = {"type": 1}
    with pytest.raises(DecodingError, match=r"targetGameChanges\[0\]\['\[1.0,3.0,1.0,0.0,0.0\]'\]: material 1 is not a wool"):
        decode_task(document)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d.pop("targetGameChanges"), "'targetGameChanges' is missing or not a list"),
        (lambda d: d["initialGameState"].pop("worldState"), "initialGameState: 'worldState' is missing"),
        (lambda d: d["initialGameState"]["worldState"]["blockChanges"].update({"[a]": {"type": 178}}),
         r"block key '\[a\]' is not"),
        (lambda d: d["initialGameState"]["worldState"]["blockChanges"].update(
            {"[9.0,1.0,0.0,0.0,0.0]": {"type": 178}}), r"x=9 is outside the build zone"),
        (lambda d: d["targetGameChanges"].append({"changes": {}}),
         r"targetGameChanges\[1\]: 'worldChanges' is missing"),
    ],
)
def test_damaged_platform_tasks_name_the_element(damage, message):
    document = _document()
    damage(document)
    with pytest.raises(DecodingError, match=message):
        decode_task(document)


def test_invalid_json_text_names_line_and_column():
    with pytest.raises(DecodingError, match=r"task: not valid JSON \(line 2, column 1"):
        decode_task('{"a":\n')
    with pytest.raises(DecodingError, match="task: expected a JSON object, got list"):
        decode_task("[]")


def test_placed_wool_becomes_an_iglu_block():
    from iglu_lib.encoding import iglu_block_from_platform

    assert iglu_block_from_platform(2, 1, -2, 178) == (2, -1, -2, 1)
    assert iglu_block_from_platform(-5, 9, 5, 171) == (-5, 7, 5, 6)
    with pytest.raises(DecodingError, match="material 19 is not a wool colour"):
        iglu_block_from_platform(0, 1, 0, 19)
    with pytest.raises(DecodingError, match=r"y=8 is outside the build zone.*platform y = 10"):
        iglu_block_from_platform(0, 10, 0, 178)
