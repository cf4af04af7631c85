"""One game record: the table row of one game of one HIT, and how it maps to table columns.

A row is written as an intention (`planned`) before its HIT exists, so its `RowKey` cannot
be the game id: it is `<slot id>-<shown position>`, fixed for the row's life (table keys are
immutable; re-keying would break ETags and idempotent retries). The game id, once a worker
has played, is the `GameMinecraftId` column, which `GameRecords.by_game` queries.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from iglu_lib.errors import IgluError


class RecordError(IgluError, ValueError):
    """A game record or campaign name is malformed; the message names the row and column."""



class RecordStatus(str, enum.Enum):
    """Where a game is in the campaign loop (`iglu_lib.collection.outcomes` says what the
    scheduler makes of it)."""

    PLANNED = "planned"  # intention written, HIT not yet created
    HIT_CREATED = "hit_created"  # HIT exists (HitId known)
    SUBMITTED = "submitted"  # assignment submitted; verdict written before approve/reject
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"  # HIT expired (or never created) without a usable assignment

    @classmethod
    def parse(cls, value: RecordStatus | str) -> RecordStatus:
        """A status by name, refused with the known names."""
        try:
            return cls(value)
        except ValueError:
            raise RecordError(
                f"unknown status {value!r} (known: {', '.join(s.value for s in cls)})"
            ) from None


#: Allowed status changes (a record may also be updated without changing its status).
TRANSITIONS: Mapping[RecordStatus, frozenset[RecordStatus]] = {
    RecordStatus.PLANNED: frozenset({RecordStatus.HIT_CREATED, RecordStatus.EXPIRED}),
    RecordStatus.HIT_CREATED: frozenset({RecordStatus.SUBMITTED, RecordStatus.EXPIRED}),
    RecordStatus.SUBMITTED: frozenset({RecordStatus.APPROVED, RecordStatus.REJECTED}),
    RecordStatus.APPROVED: frozenset(),
    RecordStatus.REJECTED: frozenset({RecordStatus.APPROVED}),  # a rejection reversed on appeal
    # an assignment accepted before the HIT expired may still be submitted after it
    RecordStatus.EXPIRED: frozenset({RecordStatus.SUBMITTED}),
}

#: Attribute -> table column, in the order of the design's game record, then the loop's fields.
COLUMNS: Mapping[str, str] = {
    "campaign": "PartitionKey",
    "row_key": "RowKey",
    "agent_name": "AgentName",
    "join_code": "JoinCode",
    "hit_id": "HitId",
    "hit_type": "HitType",
    "agent_minecraft_id": "AgentMinecraftId",
    "is_hit_qualified": "IsHITQualified",
    "worker_id": "WorkerId",
    "task_minecraft_id": "TaskMinecraftId",
    "game_minecraft_id": "GameMinecraftId",
    "result_game_data_path": "ResultGameDataPath",
    "completion_code": "CompletionCode",
    "annotation": "Annotation",
    "slot_id": "SlotId",
    "shown_position": "ShownPosition",
    "task_name": "TaskName",
    "status": "Status",
    "unique_request_token": "UniqueRequestToken",
    "assignment_id": "AssignmentId",
    "verdict": "Verdict",
    "reasons": "Reasons",
    "messages": "Messages",
    "bonus": "Bonus",
    "decisions": "Decisions",
    "created_at": "CreatedAt",
    "updated_at": "UpdatedAt",
}
_JSON_COLUMNS = {"annotation", "reasons", "messages", "bonus", "decisions"}
#: The `source` of a decision a person made (`iglu campaign review`, notebook 04): the loop
#: never overrides a game that carries one.
MANUAL = "manual"
#: The source of a decision the campaign loop took by its own rules (its sanctions).
LOOP = "loop"
#: Manual decisions that settle a HIT (the loop leaves such a HIT to the person).
SETTLING_ACTIONS = ("approve", "reject", "reverse")
#: Azure Tables holds at most 64 KiB per string cell (UTF-16): 32,767 characters.
MAX_CELL_CHARS = 32_767
#: Characters a table key may not hold (Azure Tables: / \ # ? and control characters).
_BAD_KEY = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class GameRecord:
    """One game. `etag` is the row's version as last read; updates are refused if it moved."""

    campaign: str
    row_key: str
    slot_id: str
    shown_position: int
    agent_name: str
    join_code: str
    task_name: str
    task_minecraft_id: str
    agent_minecraft_id: str
    hit_type: str
    unique_request_token: str
    status: RecordStatus = RecordStatus.PLANNED
    hit_id: str = ""
    assignment_id: str = ""
    worker_id: str = ""
    is_hit_qualified: bool | None = None
    game_minecraft_id: str = ""
    result_game_data_path: str = ""
    completion_code: str = ""
    annotation: Mapping[str, Any] = field(default_factory=dict)
    verdict: str = ""
    reasons: tuple[str, ...] = ()
    messages: tuple[Mapping[str, Any], ...] = ()  # what the worker was told: {"kind", "at", "ok"}
    bonus: Mapping[str, Any] = field(default_factory=dict)  # {"amount", "paid"} when a rule earned one
    # decisions a person made, written before acting: {"id", "source", "action", "reason", "at", "done", ...}
    decisions: tuple[Mapping[str, Any], ...] = ()
    created_at: str = ""
    updated_at: str = ""
    etag: str | None = field(default=None, compare=False)

    @property
    def manual_decisions(self) -> tuple[Mapping[str, Any], ...]:
        """The decisions a person made about this game (the loop leaves such a game alone)."""
        return tuple(d for d in self.decisions if isinstance(d, Mapping) and d.get("source") == MANUAL)

    @property
    def decided_by_person(self) -> bool:
        """Whether a person decided how this game's HIT is settled (approve, reject, reverse); a
        bonus or a decision about the worker (a block) leaves the HIT to the loop."""
        return any(d.get("hit_id") and d.get("hit_id") == self.hit_id and d.get("action") in SETTLING_ACTIONS
                   for d in self.manual_decisions)

    def to_entity(self, attributes: list[str] | None = None) -> dict[str, Any]:
        """The table entity (all columns, or the keys and `attributes` only)."""
        names = list(COLUMNS) if attributes is None else ["campaign", "row_key", *attributes]
        entity = {
            COLUMNS[name]: _to_cell(name, getattr(self, name))
            for name in names
            if getattr(self, name) is not None
        }
        for column, value in entity.items():
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                raise RecordError(
                    f"game record {self.campaign}/{self.row_key}, column {column}: "
                    f"{len(value):,} characters, a table cell holds {MAX_CELL_CHARS:,}; "
                    "refuse the submission or store the text elsewhere and keep a reference"
                )
        return entity

    @classmethod
    def from_entity(cls, entity: Mapping[str, Any], etag: str | None = None) -> GameRecord:
        where = f"game record {entity.get('PartitionKey')}/{entity.get('RowKey')}"
        values: dict[str, Any] = {}
        for name, column in COLUMNS.items():
            if column in entity and entity[column] is not None:
                values[name] = _from_cell(name, entity[column], f"{where}, column {column}")
        missing = [
            COLUMNS[f.name]
            for f in dataclasses.fields(cls)
            if f.name in COLUMNS
            and f.name not in values
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise RecordError(
                f"{where}: missing column(s) {', '.join(missing)}; the row was not written "
                "by the workbench"
            )
        return cls(**values, etag=etag)


def _to_cell(name: str, value: Any) -> Any:
    if name in _JSON_COLUMNS:
        if name in ("messages", "decisions"):
            return json.dumps([dict(item) for item in value], ensure_ascii=False)
        return json.dumps(dict(value) if name in ("annotation", "bonus") else list(value), ensure_ascii=False)
    if isinstance(value, RecordStatus):
        return value.value
    return value


def _from_cell(name: str, value: Any, where: str) -> Any:
    if name in _JSON_COLUMNS:
        try:
            parsed = json.loads(value)
        except (TypeError, ValueError):
            raise RecordError(
                f"{where}: not JSON ({str(value)[:60]!r}); fix or delete the row"
            ) from None
        return parsed if name in ("annotation", "bonus") else tuple(parsed)
    if name == "status":
        try:
            return RecordStatus.parse(value)
        except RecordError as err:
            raise RecordError(f"{where}: {err}") from None
    if name == "shown_position":
        return int(value)
    return value


def check_key(value: str, what: str) -> str:
    """A PartitionKey or RowKey value, refused with a reason when the table cannot hold it."""
    if not isinstance(value, str) or not value or len(value) > 255 or _BAD_KEY.search(value):
        raise RecordError(
            f"{what} {value!r} cannot be a table key: use 1-255 characters without "
            "/ \\ # ? or control characters"
        )
    return value


def row_key_for(slot_id: str, position: int) -> str:
    return f"{slot_id}-{position}"


def request_token(campaign: str, slot_id: str) -> str:
    """The MTurk `UniqueRequestToken` of a slot's HIT: the same on every retry, at most 64
    characters. MTurk remembers tokens for 24 hours per requester account, so campaign names
    must be unique per account."""
    digest = hashlib.sha256(f"{campaign}\n{slot_id}".encode()).hexdigest()[:40]
    return f"iglu-{slot_id}-{digest}"


#: `HitType` by the number of agents in the HIT (more than two: multi-agent).
HIT_TYPES: Mapping[int, str] = {1: "single", 2: "pairwise"}


def hit_type_for(agents: int) -> str:
    return HIT_TYPES.get(agents, "multi-agent")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
