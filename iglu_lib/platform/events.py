"""Game events of the platform: one table row per event, and one summary per game.

Events arrive as JSON objects with common fields (`eventType`, ids, `source`, `roleId`, ...)
and fields of their type (a chat `message`, a block `location` and `material`). The table
gets a typed column for each; an event of an unknown type, or one missing a field its type
needs, is kept and flagged (`known`, `problems`), never dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from iglu_lib.encoding.platform_world import WOOL_TO_IGLU

if TYPE_CHECKING:
    import pandas as pd

COMMON_FIELDS = (
    "eventType",
    "id",
    "gameId",
    "taskId",
    "tournamentId",
    "producedAtDatetime",
    "source",
    "roleId",
    "groupId",
)

#: Fields each known event type must carry beyond the common ones.
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "PlatformGameStartEvent": (),
    "PlatformGameEndEvent": (),
    "PlatformPlayerJoinsGameEvent": (),
    "PlatformPlayerLeavesGameEvent": (),
    "PlatformPlayerTurnChangeEvent": ("reason", "nextActiveRoleId"),
    "PlatformTaskCompletedEvent": (),
    "PlayerChatEvent": ("message",),
    "PlayerMoveEvent": ("newLocation",),
    "PlayerToggleFlightEvent": ("isFlying",),
    "BlockPlaceEvent": ("location", "material"),
    "BlockRemoveEvent": ("location",),
    "AgentIsReadyEvent": (),
}

_LOCATION_KEYS = ("x", "y", "z", "pitch", "yaw")

#: Wool materials of the platform and the IGLU colours 1..6 they stand for (gray wool, the
#: platform's colour 0, is air in IGLU and never part of a structure).
WOOL_COLOURS = {wool: colour for wool, colour in WOOL_TO_IGLU.items() if colour}
#: The build zone in platform (world) coordinates: x, z in -5..5, y in 1..9.
WORLD_X = range(-5, 6)
WORLD_Y = range(1, 10)
WORLD_Z = range(-5, 6)

PLAYER_COMMAND = "PLAYER_COMMAND"


def event_problems(event: Any) -> list[str]:
    """What is wrong with one event (empty when nothing is)."""
    if not isinstance(event, Mapping):
        return ["not_an_object"]
    kind = event.get("eventType")
    if kind not in EVENT_FIELDS:
        return [f"unknown_type:{kind}"]
    problems = []
    for name in EVENT_FIELDS[kind]:
        value = event.get(name)
        if value is None:
            problems.append(f"missing:{name}")
        elif not _FIELD_CHECKS.get(name, lambda v: True)(value):
            problems.append(f"malformed:{name}")
    return problems


def _is_location(value: Any) -> bool:
    return isinstance(value, Mapping) and all(_is_number(value.get(k)) for k in ("x", "y", "z"))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: Checks of field values, for the fields whose type matters to the summary.
_FIELD_CHECKS = {
    "location": _is_location,
    "newLocation": _is_location,
    "material": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "message": lambda v: isinstance(v, str),
    "isFlying": lambda v: isinstance(v, bool),
}


def _location(event: Mapping[str, Any]) -> Mapping[str, Any]:
    value = event.get("location") or event.get("newLocation")
    return value if isinstance(value, Mapping) else {}


def _row(position: int, event: Any) -> dict[str, Any]:
    problems = event_problems(event)
    event = event if isinstance(event, Mapping) else {}
    location = _location(event)
    row: dict[str, Any] = {"position": position}
    row.update({name: event.get(name) for name in COMMON_FIELDS})
    row.update(
        {
            "known": event.get("eventType") in EVENT_FIELDS,
            "problems": ";".join(problems),
            "message": event.get("message"),
            "reason": event.get("reason"),
            "nextActiveRoleId": event.get("nextActiveRoleId"),
            "previousActiveRoleId": event.get("previousActiveRoleId"),
            "playerId": event.get("playerId"),
            "completionType": event.get("completionType"),
            "material": event.get("material"),
            "isFlying": event.get("isFlying"),
        }
    )
    row.update({key: location.get(key) for key in _LOCATION_KEYS})
    return row


_DTYPES = {
    "position": "int64",
    "known": "bool",
    "material": "Int64",
    "isFlying": "boolean",
    **{key: "float64" for key in _LOCATION_KEYS},
}


def events_frame(events: Iterable[Any]) -> pd.DataFrame:
    """One row per event with typed columns; malformed values become missing and are flagged."""
    import pandas as pd

    frame = pd.DataFrame([_row(i, event) for i, event in enumerate(events)], columns=_columns())
    for column, dtype in _DTYPES.items():
        frame[column] = _typed(frame[column], dtype)
    frame["producedAtDatetime"] = pd.to_datetime(
        frame["producedAtDatetime"], errors="coerce", utc=True
    )
    string_columns = [c for c in frame.columns if c not in _DTYPES and c != "producedAtDatetime"]
    frame[string_columns] = frame[string_columns].astype("string")
    return frame


def _typed(series: pd.Series, dtype: str) -> pd.Series:
    """A column in its dtype; values of the wrong type become missing (the row is flagged)."""
    import pandas as pd

    if dtype == "bool":
        return series.astype(bool)
    if dtype == "boolean":
        return series.map(lambda v: v if isinstance(v, bool) else None).astype("boolean")
    numeric = pd.to_numeric(series, errors="coerce")
    if dtype == "Int64":
        numeric = numeric.where(numeric == numeric.round())
    # pandas takes any dtype name; its stubs list only literal names.
    return numeric.astype(dtype)  # type: ignore[call-overload]


def _columns() -> list[str]:
    return list(_row(0, {}).keys())


# -- the built structure ------------------------------------------------------------------


def world_blocks(block_changes: Mapping[str, Any]) -> dict[tuple[int, int, int], int]:
    """Block changes keyed `"[x,y,z,pitch,yaw]"` as `{(x, y, z): material}`."""
    blocks = {}
    for key, value in block_changes.items():
        position = parse_block_key(key)
        material = value.get("type") if isinstance(value, Mapping) else None
        if position is not None and isinstance(material, int):
            blocks[position] = material
    return blocks


def parse_block_key(key: str) -> tuple[int, int, int] | None:
    try:
        x, y, z = (round(float(v)) for v in key.strip("[] ").split(",")[:3])
    except (ValueError, AttributeError):
        return None
    return x, y, z


def _position(location: Mapping[str, Any]) -> tuple[int, int, int] | None:
    try:
        return round(float(location["x"])), round(float(location["y"])), round(float(location["z"]))
    except (KeyError, TypeError, ValueError):
        return None


def final_world(
    initial: Mapping[tuple[int, int, int], int], events: Iterable[Any]
) -> dict[tuple[int, int, int], int]:
    """The world after replaying the block events on the initial blocks."""
    world = dict(initial)
    for event in events:
        if not isinstance(event, Mapping):
            continue
        position = _position(_location(event))
        if position is None:
            continue
        if event.get("eventType") == "BlockPlaceEvent" and isinstance(event.get("material"), int):
            world[position] = event["material"]
        elif event.get("eventType") == "BlockRemoveEvent":
            world.pop(position, None)
    return world


def structure_blocks(world: Mapping[tuple[int, int, int], int]) -> list[tuple[int, int, int, int]]:
    """The coloured blocks of the build zone as sparse IGLU blocks `(x, y, z, colour)`.

    World `(x, y, z)` is IGLU `(x, y - 2, z)`: the floor is world y 0, IGLU y -1 is world y 1.
    """
    return sorted(
        (x, y - 2, z, WOOL_COLOURS[material])
        for (x, y, z), material in world.items()
        if material in WOOL_COLOURS and x in WORLD_X and y in WORLD_Y and z in WORLD_Z
    )


# -- per-game summary ---------------------------------------------------------------------


@dataclass
class GameSummary:
    """What a researcher (and validation) wants to know about one game."""

    game_id: str | None
    task_id: str | None
    events: int
    flagged_events: int
    turns_by_role: dict[str, int] = field(default_factory=dict)
    chat_by_role: dict[str, int] = field(default_factory=dict)
    architect_turns: int = 0
    architect_messages: list[str] = field(default_factory=list)
    blocks_placed: int = 0
    blocks_removed: int = 0
    duration_seconds: float | None = None
    task_completed: bool = False
    structure_f1: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(
    events: Sequence[Any],
    *,
    architect_role_id: str | None = None,
    task: Mapping[str, Any] | TaskTarget | None = None,
) -> GameSummary:
    """Summarise one game's events; with the task, score the final structure against its target.

    The architect's role is the completion code's role (the human plays the architect).
    """
    valid = [e for e in events if isinstance(e, Mapping)]
    turns = Counter(
        str(e.get("previousActiveRoleId"))
        for e in valid
        if e.get("eventType") == "PlatformPlayerTurnChangeEvent"
        and e.get("reason") == PLAYER_COMMAND
    )
    chats = [e for e in valid if e.get("eventType") == "PlayerChatEvent"]
    return GameSummary(
        game_id=_first(valid, "gameId"),
        task_id=_first(valid, "taskId"),
        events=len(events),
        flagged_events=sum(bool(event_problems(e)) for e in events),
        turns_by_role=dict(turns),
        chat_by_role=dict(Counter(str(e.get("roleId")) for e in chats)),
        architect_turns=turns.get(str(architect_role_id), 0) if architect_role_id else 0,
        architect_messages=[
            str(e.get("message") or "")
            for e in chats
            if architect_role_id and e.get("roleId") == architect_role_id
        ],
        blocks_placed=sum(e.get("eventType") == "BlockPlaceEvent" for e in valid),
        blocks_removed=sum(e.get("eventType") == "BlockRemoveEvent" for e in valid),
        duration_seconds=_duration(valid),
        task_completed=any(e.get("eventType") == "PlatformTaskCompletedEvent" for e in valid),
        structure_f1=_score_or_none(valid, task),
    )


def _score_or_none(
    events: Sequence[Mapping[str, Any]], task: Mapping[str, Any] | TaskTarget | None
) -> float | None:
    """The structure score, or None when there is no task or its data cannot be decoded."""
    if task is None:
        return None
    try:
        target = task if isinstance(task, TaskTarget) else TaskTarget.from_task(task)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return target.score(events)


@dataclass(frozen=True)
class TaskTarget:
    """A task's initial world and target, decoded once and used to score many games."""

    initial: Mapping[tuple[int, int, int], int]
    target_grid: Any

    @classmethod
    def from_task(cls, task: Mapping[str, Any]) -> TaskTarget:
        """From the task's stored parts (`initialGameState`, `targetGameChanges`)."""
        from iglu_lib.encoding import decode_task

        decoded = decode_task(dict(task))
        return cls(
            world_blocks(task["initialGameState"]["worldState"]["blockChanges"]),
            decoded.target_grid,
        )

    def score(self, events: Sequence[Any]) -> float:
        """F1 of the structure built by the end of the game against the target."""
        from iglu_lib.tasks import structure_f1

        built = structure_blocks(final_world(self.initial, events))
        return float(structure_f1(built, self.target_grid))


def _first(events: Sequence[Mapping[str, Any]], key: str) -> str | None:
    return next((str(e[key]) for e in events if e.get(key)), None)


def _duration(events: Sequence[Mapping[str, Any]]) -> float | None:
    from datetime import datetime

    stamps = []
    for event in events:
        try:
            stamps.append(
                datetime.fromisoformat(str(event["producedAtDatetime"]).replace("Z", "+00:00"))
            )
        except (KeyError, ValueError):
            continue
    if len(stamps) < 2:
        return None
    return (max(stamps) - min(stamps)).total_seconds()
