"""The platform's task JSON -> IGLU task: the inverse of `encode_task`.

Floor and letters are taken away, the structure moves back down by the shift of the encoder
and wool ids become IGLU colours. Any other material is named with its block and refused,
because guessing would silently change the task. The dialogue on the platform becomes the
chat; the platform has no last instruction (the architect writes it during the game), so it
comes back empty.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from iglu_lib.encoding.platform_world import (
    START_Y_SHIFT,
    WOOL_TO_IGLU,
    BlockKeyError,
    parse_block_key,
    scenery,
)
from iglu_lib.errors import IgluError
from iglu_lib.tasks.model import GRID_SHAPE, Task, TaskError, check_block

INITIAL_FILE = "initialGameState.json"
TARGET_FILE = "targetGameChanges.json"


class DecodingError(IgluError, ValueError):
    """A platform task that cannot be read as an IGLU task; names the element at fault."""



def decode_task(task_json: str | Mapping[str, Any], *, source: str = "task") -> Task:
    """The IGLU task of a platform task (JSON text or parsed), or of its two split files.

    The split form is a mapping with `initialGameState` and `targetGameChanges` (parsed, or
    the files' text as downloaded from the platform's task container).
    """
    document = _parsed(task_json, source)
    if not isinstance(document, Mapping):
        raise DecodingError(f"{source}: expected a JSON object, got {type(document).__name__}")
    document = dict(document)
    for key in ("initialGameState", "targetGameChanges"):
        if isinstance(document.get(key), str):
            document[key] = _parsed(document[key], f"{source}: {key}")
    initial = _member(document, "initialGameState", source, dict)
    world = _member(initial, "worldState", f"{source}: initialGameState", dict)
    changes = _member(world, "blockChanges", f"{source}: initialGameState.worldState", dict)
    target_changes = _member(document, "targetGameChanges", source, list)
    instructions = initial.get("instructions") or ""
    if not isinstance(instructions, str):
        raise DecodingError(f"{source}: initialGameState.instructions is not a string")
    try:
        return Task(
            chat=instructions,
            last_instruction="",
            starting_grid=_starting_blocks(changes, f"{source}: initialGameState.worldState.blockChanges"),
            target_grid=_target_grid(target_changes, f"{source}: targetGameChanges"),
            task_id=document.get("name") or None,
        )
    except TaskError as err:
        raise DecodingError(str(err)) from None


def load_platform_task(folder: str | Path) -> Task:
    """The task in a folder of the platform's task container (`initialGameState.json`,
    `targetGameChanges.json`); its id is the folder name (the platform's task id)."""
    folder = Path(folder)
    parts = {}
    for key, file_name in (("initialGameState", INITIAL_FILE), ("targetGameChanges", TARGET_FILE)):
        path = folder / file_name
        if not path.is_file():
            raise DecodingError(f"{path}: not found (a platform task folder holds {INITIAL_FILE} and {TARGET_FILE})")
        parts[key] = _parsed(path.read_text(encoding="utf-8"), str(path))
    return decode_task({**parts, "name": folder.name}, source=str(folder))


def split_task_files(task_json: str | Mapping[str, Any]) -> dict[str, str]:
    """The two files the platform stores per task (`initialGameState.json`,
    `targetGameChanges.json`) from a full platform task JSON."""
    document = _parsed(task_json, "task")
    parts = {
        INITIAL_FILE: _member(document, "initialGameState", "task", dict),
        TARGET_FILE: _member(document, "targetGameChanges", "task", list),
    }
    return {name: json.dumps(part, indent=4, ensure_ascii=False) for name, part in parts.items()}


def _parsed(task_json: str | Mapping[str, Any], source: str) -> Any:
    if isinstance(task_json, Mapping):
        return task_json
    try:
        document = json.loads(task_json)
    except (TypeError, json.JSONDecodeError) as err:
        where = f" (line {err.lineno}, column {err.colno}: {err.msg})" if isinstance(err, json.JSONDecodeError) else ""
        raise DecodingError(f"{source}: not valid JSON{where}") from None
    return document


def _member(parent: Any, key: str, where: str, kind: type) -> Any:
    value = parent.get(key) if isinstance(parent, Mapping) else None
    if not isinstance(value, kind):
        expected = "an object" if kind is dict else "a list"
        raise DecodingError(f"{where}: '{key}' is missing or not {expected}")
    return value


def _starting_blocks(changes: Mapping[str, Any], where: str) -> list[tuple[int, int, int, int]]:
    world_scenery = scenery()
    blocks = []
    for key, block in changes.items():
        position, material = _block(key, block, where)
        if world_scenery.get(position) == material:
            continue
        x, y, z = position
        blocks.append(iglu_block_from_platform(x, y, z, material, f"{where}[{key!r}]"))
    return [block for block in blocks if block[3] != 0]


def _target_grid(target_changes: list[Any], where: str) -> np.ndarray:
    grid = np.zeros(GRID_SHAPE, dtype=np.int64)
    for index, change in enumerate(target_changes):
        changes = _member(_member(change, "worldChanges", f"{where}[{index}]", dict),
                          "blockChanges", f"{where}[{index}].worldChanges", dict)
        for key, block in changes.items():
            (x, y, z), material = _block(key, block, f"{where}[{index}]")
            x, y, z, colour = iglu_block_from_platform(x, y, z, material, f"{where}[{index}][{key!r}]")
            grid[y + 1, x + 5, z + 5] = colour
    return grid


def _block(key: str, block: Any, where: str) -> tuple[tuple[int, int, int], Any]:
    try:
        position = parse_block_key(key)
    except BlockKeyError as err:
        raise DecodingError(f"{where}: {err}") from None
    if not isinstance(block, Mapping) or "type" not in block:
        raise DecodingError(f"{where}[{key!r}]: expected {{\"type\": <material id>}}, got {block!r}")
    return position, block["type"]


def iglu_block_from_platform(
    x: int, y: int, z: int, material: Any, where: str = "block"
) -> tuple[int, int, int, int]:
    """The IGLU `(x, y, z, colour)` of a wool block at platform position (x, y, z).

    Events of a game (`BlockPlaceEvent.location`, `.material`) use the same positions, so
    this turns what a builder placed into a structure `structure_f1` can score.
    """
    y = y - START_Y_SHIFT
    if material not in WOOL_TO_IGLU:
        raise DecodingError(
            f"{where}: material {material!r} is not a wool colour of IGLU "
            f"(known: {', '.join(f'{m}={c}' for m, c in sorted(WOOL_TO_IGLU.items()))})"
        )
    try:
        return check_block((x, y, z, WOOL_TO_IGLU[material]), where=where)
    except TaskError as err:
        raise DecodingError(f"{err} (platform y = {y + START_Y_SHIFT})") from None
