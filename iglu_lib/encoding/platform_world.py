"""The platform's world around an IGLU task: floor, compass letters, wool colours, spawn points.

The numbers are those of the real platform tasks (see `tests/fixtures/greenlands/tasks/`):
a floor of 121 blocks of type 71 at y = 0 under the 11 x 11 zone, the letters N, S, E, W in
49 blocks of type 11 at y = 0 around it, and the structure in wool one block above the floor.
A block key is the string `"[x,y,z,pitch,yaw]"` with floats.
"""

from __future__ import annotations

import json
from typing import Any

from iglu_lib.errors import IgluError

FLOOR_TYPE = 71
LETTER_TYPE = 11
GENERATOR_NAME = "CleanroomGenerator:.1|minecraft:grass_block"
#: IGLU colour id -> platform wool material id (0, air, is gray wool on the platform).
IGLU_TO_WOOL = {0: 174, 1: 178, 2: 180, 3: 181, 4: 168, 5: 177, 6: 171}
WOOL_TO_IGLU = {wool: colour for colour, wool in IGLU_TO_WOOL.items()}
#: A starting block (x, y, z) of IGLU sits at (x, y + START_Y_SHIFT, z) on the platform.
START_Y_SHIFT = 2
#: (x, z) of the compass letters painted on the floor around the zone.
LETTERS = {
    "N": [(-2, -15), (-2, -14), (-2, -13), (-2, -12), (-2, -11), (-1, -14), (0, -13), (1, -12),
          (2, -15), (2, -14), (2, -13), (2, -12), (2, -11)],
    "S": [(-2, 11), (-2, 14), (-1, 10), (-1, 12), (-1, 14), (0, 10), (0, 12), (0, 14), (1, 10),
          (1, 13)],
    "E": [(10, -3), (10, -2), (10, -1), (10, 0), (10, 1), (11, -3), (11, -1), (11, 1), (12, -3),
          (12, -1), (12, 1), (13, -3), (13, 1)],
    "W": [(-14, -3), (-14, -2), (-14, -1), (-14, 0), (-13, 0), (-13, 1), (-12, -1), (-11, 0),
          (-11, 1), (-10, -3), (-10, -2), (-10, -1), (-10, 0)],
}  # fmt: skip
ARCHITECT_SPAWN = {"x": -12, "y": 1, "z": 14, "pitch": 0, "yaw": -180}
BUILDER_SPAWN = {"x": -5, "y": 1, "z": 5, "pitch": 0, "yaw": -180}
BUILDER_REGION = {
    "origin": {"x": -7, "y": 0, "z": -7, "pitch": 0, "yaw": 0},
    "size": {"x": 15, "y": 100, "z": 15, "pitch": 0, "yaw": 0},
}


class BlockKeyError(IgluError, ValueError):
    """A block key that is not `"[x,y,z,pitch,yaw]"` with whole-number coordinates."""



def block_key(x: int, y: int, z: int) -> str:
    """The platform's key of the block at (x, y, z): `"[x.0,y.0,z.0,0.0,0.0]"`."""
    return f"[{float(x)},{float(y)},{float(z)},0.0,0.0]"


def parse_block_key(key: str) -> tuple[int, int, int]:
    """(x, y, z) of a platform block key."""
    try:
        values = json.loads(key)
        x, y, z, _pitch, _yaw = (float(v) for v in values)
    except (TypeError, ValueError):
        raise BlockKeyError(f"block key {key!r} is not '[x,y,z,pitch,yaw]'") from None
    if not all(v.is_integer() for v in (x, y, z)):
        raise BlockKeyError(f"block key {key!r} has coordinates that are not whole numbers")
    return int(x), int(y), int(z)


def scenery() -> dict[tuple[int, int, int], int]:
    """Floor and letters: the blocks every task's initial world holds besides the structure."""
    blocks = {(x, 0, z): FLOOR_TYPE for x in range(-5, 6) for z in range(-5, 6)}
    for positions in LETTERS.values():
        blocks.update({(x, 0, z): LETTER_TYPE for x, z in positions})
    return blocks


def default_player_states(architect_role_id: str, builder_role_id: str) -> dict[str, Any]:
    """Spawn points of both roles and the builder's movement region, as on the real platform."""
    return {
        architect_role_id: {"spawnLocation": dict(ARCHITECT_SPAWN)},
        builder_role_id: {
            "spawnLocation": dict(BUILDER_SPAWN),
            "movementRegion": {part: dict(point) for part, point in BUILDER_REGION.items()},
        },
    }
