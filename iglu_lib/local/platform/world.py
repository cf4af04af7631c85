"""The simulated platform's own reading of a world: block changes and the build zone.

Kept apart from the client's event reader (`iglu_lib.platform.events`) so that the simulator
writes game data from its own understanding of the platform's format (DESIGN.md "Formats"):
a block key is `"[x,y,z,pitch,yaw]"` with floats, its value `{"type": <material id>}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Position = tuple[int, int, int]

#: Wool materials of the platform for the IGLU colours 1..6 (blue, green, red, orange, purple,
#: yellow); gray wool (174, colour 0) is air in IGLU and never part of a structure.
WOOLS = (178, 180, 181, 168, 177, 171)
#: The build zone in platform (world) coordinates: x, z in -5..5, y in 1..9 (0 is the floor).
WORLD_X = range(-5, 6)
WORLD_Y = range(1, 10)
WORLD_Z = range(-5, 6)


def block_position(key: str) -> Position | None:
    """`(x, y, z)` of a block key `"[x,y,z,pitch,yaw]"`; None for a key that is not one."""
    parts = key.strip().removeprefix("[").removesuffix("]").split(",") if isinstance(key, str) else []
    if len(parts) < 3:
        return None
    try:
        x, y, z = (int(round(float(part))) for part in parts[:3])
    except ValueError:
        return None
    return x, y, z


def world_blocks(block_changes: Mapping[str, Any]) -> dict[Position, int]:
    """`{(x, y, z): material}` of a `blockChanges` mapping (entries without a material skipped)."""
    blocks: dict[Position, int] = {}
    for key, change in block_changes.items():
        position = block_position(key)
        material = change.get("type") if isinstance(change, Mapping) else None
        if position is not None and isinstance(material, int) and not isinstance(material, bool):
            blocks[position] = material
    return blocks
