"""World-state files of the IGLU datasets (VoxelWorld coordinates and colour ids).

VoxelWorld puts the ground at y = 63 (a block there is IGLU y = -1) and used two palettes
over time (the second after a "freeze" of the game); both map to the same IGLU colours.
The `tape` field (the builder's action log) is not needed for tasks and is ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from iglu_lib.tasks.model import Block, TaskError, check_block

VOXELWORLD_GROUND_Y = 63
#: VoxelWorld colour id -> IGLU colour id, both palettes.
VOXELWORLD_COLOURS = {
    57: 1, 86: 1,  # blue
    59: 2, 88: 2,  # green
    60: 3, 91: 3,  # red
    47: 4, 89: 4,  # orange
    56: 5, 90: 5,  # purple
    50: 6, 87: 6,  # yellow
}  # fmt: skip


class WorldStateError(TaskError):
    """A world-state file that cannot be read as IGLU blocks; the message names file and element."""


def read_world_state(path: Path) -> list[Block]:
    """The blocks of `worldEndingState` in a world-state file, in IGLU coordinates and colours."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise WorldStateError(f"{path}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None
    except UnicodeDecodeError:
        raise WorldStateError(f"{path}: not UTF-8 text") from None
    blocks = _ending_blocks(document, path)
    return [from_voxelworld(block, where=f"{path}: worldEndingState.blocks[{i}]") for i, block in enumerate(blocks)]


def _ending_blocks(document: Any, path: Path) -> list[Any]:
    state = document.get("worldEndingState") if isinstance(document, dict) else None
    blocks = state.get("blocks") if isinstance(state, dict) else None
    if not isinstance(blocks, list):
        raise WorldStateError(f"{path}: no list 'worldEndingState.blocks' (is this a world-state file?)")
    return blocks


def from_voxelworld(block: Any, *, where: str) -> Block:
    """One VoxelWorld `[x, y, z, colour id]` as an IGLU `(x, y, z, colour)`."""
    if not isinstance(block, list | tuple) or len(block) != 4:
        raise WorldStateError(f"{where}: {block!r} is not an [x, y, z, colour id] block")
    x, y, z, voxel_colour = block
    if voxel_colour not in VOXELWORLD_COLOURS:
        raise WorldStateError(
            f"{where}: colour id {voxel_colour!r} is in neither VoxelWorld palette "
            f"(known: {sorted(VOXELWORLD_COLOURS)})"
        )
    try:
        return check_block((x, y - VOXELWORLD_GROUND_Y - 1, z, VOXELWORLD_COLOURS[voxel_colour]), where=where)
    except TaskError as err:
        raise WorldStateError(str(err)) from None
