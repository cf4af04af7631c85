"""IGLU task -> the platform's task JSON, through a Jinja2 template shipped with the package.

The template only lays out the document; this module computes what goes in it (block keys
and wool ids by the rules of `platform_world`, the visible dialogue, the player states) and
checks the rendered text is valid JSON before anyone uploads it, so a broken user template
fails here with the offending line rather than on the platform.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from iglu_lib.encoding.platform_world import (
    GENERATOR_NAME,
    IGLU_TO_WOOL,
    START_Y_SHIFT,
    block_key,
    default_player_states,
    scenery,
)
from iglu_lib.errors import IgluError
from iglu_lib.tasks.model import Task, as_task

TASK_STATES = ("Published", "Draft")
TEMPLATE_NAME = "task.json.j2"


class EncodingError(IgluError, ValueError):
    """The task or the encoding options cannot make a valid platform task; says which."""



def encode_task(
    task: Any,
    *,
    name: str,
    architect_role_id: str,
    builder_role_id: str,
    task_state: str = "Published",
    world_size_x: int = 160,
    world_size_z: int = 160,
    max_duration_seconds: int = 3600,
    max_turns: int | None = None,
    turn_limits: Mapping[str, int] | None = None,
    player_states: Mapping[str, Any] | None = None,
    template: str | Path | None = None,
) -> str:
    """The platform task JSON (pretty-printed) of an IGLU task.

    `turn_limits` maps a role id (or `architect` / `builder`) to the most seconds a turn may
    last; `player_states` replaces the default spawn points and movement region; `template`
    is the path of a Jinja2 template to use instead of the packaged one.
    """
    task = as_task(task)
    roles = {"architect": _required_text(architect_role_id, "architect_role_id"),
             "builder": _required_text(builder_role_id, "builder_role_id")}
    if roles["architect"] == roles["builder"]:
        raise EncodingError("architect_role_id and builder_role_id must differ")
    if task_state not in TASK_STATES:
        raise EncodingError(f"task_state {task_state!r} must be one of {', '.join(TASK_STATES)}")
    context = {
        "name": _required_text(name, "name"),
        "instructions": visible_dialogue(task),
        "generator_name": GENERATOR_NAME,
        "initial_blocks": initial_block_changes(task),
        "target_blocks": target_block_changes(task),
        "player_states": dict(player_states) if player_states else default_player_states(**_role_args(roles)),
        "state": task_state,
        "world_size_x": _positive(world_size_x, "world_size_x"),
        "world_size_z": _positive(world_size_z, "world_size_z"),
        "max_duration_seconds": _positive(max_duration_seconds, "max_duration_seconds"),
        "max_turns": None if max_turns is None else _positive(max_turns, "max_turns"),
        "turn_limits": _turn_limits(turn_limits or {}, roles),
    }
    text, source = _render(template, context)
    return json.dumps(parse_rendered(text, source), indent=4, ensure_ascii=False)


def visible_dialogue(task: Task) -> str:
    """The chat shown on the platform: without its last line when that line is the last instruction.

    Lines are split on `\\n` only: a carriage return inside a line is part of the utterance.
    """
    lines = task.chat.split("\n")
    if task.last_instruction and lines and lines[-1] == task.last_instruction:
        lines = lines[:-1]
    return "\n".join(lines)


def initial_block_changes(task: Task) -> list[tuple[str, int]]:
    """Floor, letters and the starting structure as sorted (block key, material id) pairs."""
    blocks = {block_key(*position): material for position, material in scenery().items()}
    for x, y, z, colour in task.starting_grid:
        blocks[block_key(x, y + START_Y_SHIFT, z)] = IGLU_TO_WOOL[colour]
    return sorted(blocks.items())


def target_block_changes(task: Task) -> list[tuple[str, int]]:
    """The target structure as sorted (block key, material id) pairs."""
    return sorted(
        (block_key(x, y + START_Y_SHIFT, z), IGLU_TO_WOOL[colour]) for x, y, z, colour in task.target_blocks
    )


def parse_rendered(text: str, source: str) -> Any:
    """The rendered document, or an error that quotes the line where the JSON breaks."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        lines = text.splitlines()
        line = lines[err.lineno - 1] if 0 < err.lineno <= len(lines) else ""
        raise EncodingError(
            f"template {source} rendered invalid JSON at line {err.lineno}, column {err.colno} "
            f"({err.msg}): {line.strip()[:200]!r}"
        ) from None


def _render(template: str | Path | None, context: dict[str, Any]) -> tuple[str, str]:
    import jinja2

    environment = jinja2.Environment(
        autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    environment.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False)
    if template is None:
        source = "iglu_lib/encoding/templates/" + TEMPLATE_NAME
        text = resources.files("iglu_lib.encoding").joinpath("templates", TEMPLATE_NAME).read_text("utf-8")
    else:
        source = str(template)
        try:
            text = Path(template).read_text(encoding="utf-8")
        except OSError as err:
            raise EncodingError(f"template {source}: cannot be read ({err.strerror})") from None
    try:
        return environment.from_string(text).render(**context), source
    except jinja2.TemplateError as err:
        line = getattr(err, "lineno", None)
        raise EncodingError(f"template {source}{f' line {line}' if line else ''}: {err}") from None


def _turn_limits(limits: Mapping[str, int], roles: dict[str, str]) -> dict[str, dict[str, int]]:
    result = {}
    for role, seconds in limits.items():
        role_id = roles.get(role, role)
        if role_id not in roles.values():
            raise EncodingError(
                f"turn limit for unknown role {role!r}: use architect, builder or one of the role ids"
            )
        result[role_id] = {"maxTimeOutSeconds": _positive(seconds, f"turn limit of {role}")}
    return result


def _role_args(roles: dict[str, str]) -> dict[str, str]:
    return {"architect_role_id": roles["architect"], "builder_role_id": roles["builder"]}


def _required_text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise EncodingError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _positive(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise EncodingError(f"{what} must be a positive whole number, got {value!r}")
    return value
