"""The game records of one campaign in Azure Table storage.

One partition per campaign, one row per game. Every query is a parameterised filter (the
SDK quotes the values), so no worker-supplied text ever becomes part of a query. Every
update carries the ETag of the row as read, so two processes (or a restarted loop and a
stale copy) can never overwrite each other silently: the loser gets `RecordConflict`.
The rows of one slot are written and changed in one transaction, all or nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from iglu_lib.errors import IgluError
from iglu_lib.storage.entity_table import EntityTable, Operation
from iglu_lib.storage.record import (
    COLUMNS,
    TRANSITIONS,
    GameRecord,
    RecordError,
    RecordStatus,
    check_key,
    hit_type_for,
    request_token,
    row_key_for,
    utc_now,
)

if TYPE_CHECKING:
    import pandas as pd

    from iglu_lib.config import Profile

log = logging.getLogger(__name__)

#: Azure Tables accepts at most 100 operations per transaction.
MAX_TRANSACTION = 100


class PlannedSlot(Protocol):
    """What `GameRecords.plan` needs of a slot, as plain values (a `scheduling.Slot` has them;
    storage does not depend on the scheduler)."""

    @property
    def slot_id(self) -> str: ...

    @property
    def task_name(self) -> str: ...

    @property
    def task_id(self) -> str: ...

    def games(self) -> Iterator[tuple[int, str, str, str]]:
        """`(shown position, agent name, instance id, join code)` for each game of the slot."""
        ...


class RecordConflict(IgluError):
    """A record changed since it was read (ETag mismatch), or a slot was planned differently."""


class RecordNotFound(IgluError, KeyError):
    """No record with that key in the campaign."""


class GameRecords:
    """The game records of one campaign (one table partition)."""

    def __init__(self, table: EntityTable, campaign: str) -> None:
        self.table = table
        self.campaign = check_key(campaign, "campaign name")

    @classmethod
    def open(cls, profile: Profile, campaign: str, *, table_name: str | None = None) -> GameRecords:
        """The campaign's records in the profile's `storage.records_table` (created if missing)."""
        name = table_name or profile.storage.records_table
        if not name:
            raise RecordError(
                f"profile '{profile.name}' has no storage.records_table; add it to the profile"
            )
        table = profile.backend.table_service().create_table_if_not_exists(name)
        return cls(table, campaign)

    # -- writing ------------------------------------------------------------------------
    def plan(self, slot: PlannedSlot, *, hit_type: str | None = None) -> list[GameRecord]:
        """Write the intention for a slot before its HIT exists: one `planned` row per game,
        in one transaction, with the HIT's `UniqueRequestToken`. Writing the same slot again
        (a retry after a crash) returns the stored rows."""
        now = utc_now()
        token = request_token(self.campaign, slot.slot_id)
        games = list(slot.games())
        records = [
            GameRecord(
                campaign=self.campaign,
                row_key=row_key_for(slot.slot_id, position),
                slot_id=slot.slot_id,
                shown_position=position,
                agent_name=agent,
                join_code=join_code,
                task_name=slot.task_name,
                task_minecraft_id=slot.task_id,
                agent_minecraft_id=instance_id,
                hit_type=hit_type or hit_type_for(len(games)),
                unique_request_token=token,
                created_at=now,
                updated_at=now,
            )
            for position, agent, instance_id, join_code in games
        ]
        try:
            results = self._transact([("create", r.to_entity()) for r in records])
        except _EntityExists:
            return self._already_planned(slot, records)
        return [
            dataclasses.replace(r, etag=res.get("etag"))
            for r, res in zip(records, results, strict=True)
        ]

    def _already_planned(self, slot: PlannedSlot, records: list[GameRecord]) -> list[GameRecord]:
        stored = self.slot_games(slot.slot_id)
        same = [(r.row_key, r.join_code, r.agent_name) for r in stored] == [
            (r.row_key, r.join_code, r.agent_name) for r in records
        ]
        if not same:
            raise RecordConflict(
                f"campaign {self.campaign!r}: slot {slot.slot_id} is already planned with other "
                "games; restore the scheduler from the records before planning again"
            )
        return stored

    def update(self, record: GameRecord, **changes: Any) -> GameRecord:
        """Change one record if nobody changed it since it was read; returns the new version."""
        return self.update_many([(record, changes)])[0]

    def update_all(self, records: Sequence[GameRecord], **changes: Any) -> list[GameRecord]:
        """The same change to several records in one transaction (e.g. every game of a HIT)."""
        return self.update_many([(record, dict(changes)) for record in records])

    def update_many(self, changes: Sequence[tuple[GameRecord, dict[str, Any]]]) -> list[GameRecord]:
        """Change several records of the campaign in one transaction (all or nothing), each
        guarded by its ETag; e.g. the games of one HIT when its assignment is judged."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        now = utc_now()
        updated = [
            self._changed(record, dict(fields, updated_at=now)) for record, fields in changes
        ]
        operations = []
        for (record, fields), new in zip(changes, updated, strict=True):
            entity = new.to_entity([*fields, "updated_at"])
            options = {
                "mode": UpdateMode.MERGE,
                "etag": record.etag,
                "match_condition": MatchConditions.IfNotModified,
            }
            operations.append(("update", entity, options))
        results = self._transact(operations)
        return [
            dataclasses.replace(r, etag=res.get("etag"))
            for r, res in zip(updated, results, strict=True)
        ]

    def _changed(self, record: GameRecord, fields: dict[str, Any]) -> GameRecord:
        where = f"game record {record.campaign}/{record.row_key}"
        if record.campaign != self.campaign:
            raise RecordError(f"{where} belongs to another campaign than {self.campaign!r}")
        if record.etag is None:
            raise RecordError(f"{where} has no ETag: update records as read from the table")
        unknown = [
            name for name in fields if name not in COLUMNS or name in ("campaign", "row_key")
        ]
        if unknown:
            raise RecordError(
                f"{where}: cannot set {', '.join(unknown)}; settable fields are "
                f"{', '.join(n for n in COLUMNS if n not in ('campaign', 'row_key'))}"
            )
        if "status" in fields:
            fields["status"] = status = RecordStatus.parse(fields["status"])
            if status != record.status and status not in TRANSITIONS[record.status]:
                raise RecordError(
                    f"{where}: status cannot go from {record.status.value} to {status.value}"
                )
        if "reasons" in fields:
            fields["reasons"] = tuple(fields["reasons"])
        return dataclasses.replace(record, **fields)

    def _transact(self, operations: Sequence[Operation]) -> list[Mapping[str, Any]]:
        from azure.data.tables import TableTransactionError

        if not operations:
            return []
        if len(operations) > MAX_TRANSACTION:
            raise RecordError(
                f"{len(operations)} changes in one transaction; "
                f"Azure Tables allows {MAX_TRANSACTION}"
            )
        try:
            return list(self.table.submit_transaction(operations))
        except TableTransactionError as err:
            keys = ", ".join(op[1]["RowKey"] for op in operations)
            code = getattr(err, "error_code", None)  # set by the SDK, not declared on the class
            if code == "EntityAlreadyExists":
                raise _EntityExists(keys) from None
            if code == "UpdateConditionNotSatisfied":
                raise RecordConflict(
                    f"campaign {self.campaign!r}: game record(s) {keys} changed since they "
                    "were read (ETag mismatch); read them again and decide again"
                ) from None
            if code == "ResourceNotFound":
                raise RecordNotFound(
                    f"campaign {self.campaign!r}: no game record among {keys}"
                ) from None
            raise

    # -- reading ------------------------------------------------------------------------
    def get(self, row_key: str) -> GameRecord:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self.table.get_entity(self.campaign, check_key(row_key, "row key"))
        except ResourceNotFoundError:
            raise RecordNotFound(
                f"campaign {self.campaign!r} has no game record {row_key!r}"
            ) from None
        return GameRecord.from_entity(entity, entity.metadata.get("etag"))

    def all(self) -> list[GameRecord]:
        return self._query()

    def slot_games(self, slot_id: str) -> list[GameRecord]:
        """The games of one slot, in shown order."""
        return sorted(self._query({"SlotId": slot_id}), key=lambda r: r.shown_position)

    def slots(self, *statuses: RecordStatus | str) -> dict[str, list[GameRecord]]:
        """Records grouped by slot id (games in shown order); only the given statuses if any.
        The loop changes a slot's games together, so a slot's rows share one status."""
        grouped: dict[str, list[GameRecord]] = {}
        for record in self.by_status(*statuses) if statuses else self.all():
            grouped.setdefault(record.slot_id, []).append(record)
        return {
            slot_id: sorted(games, key=lambda r: r.shown_position)
            for slot_id, games in grouped.items()
        }

    def by_hit(self, hit_id: str) -> list[GameRecord]:
        return self._query({"HitId": hit_id})

    def by_completion_code(self, code: str, *, every_campaign: bool = False) -> list[GameRecord]:
        """Records holding a completion code; `every_campaign` also searches the other
        campaigns of the table (a code reused from an earlier campaign)."""
        return self._query({"CompletionCode": code}, every_campaign=every_campaign)

    def by_worker(self, worker_id: str) -> list[GameRecord]:
        return self._query({"WorkerId": worker_id})

    def by_game(self, game_id: str) -> list[GameRecord]:
        return self._query({"GameMinecraftId": game_id})

    def by_status(self, *statuses: RecordStatus | str) -> list[GameRecord]:
        """Records in any of the given statuses."""
        if not statuses:
            return []
        values = [RecordStatus.parse(s).value for s in statuses]
        params = {f"s{i}": value for i, value in enumerate(values)}
        either = " or ".join(f"Status eq @s{i}" for i in range(len(values)))
        # the SDK finds @names between single spaces, hence the spaced parentheses
        return self._query(extra_filter=f"( {either} )", extra_params=params)

    def _query(
        self,
        equal: dict[str, str] | None = None,
        *,
        extra_filter: str = "",
        extra_params: dict[str, str] | None = None,
        every_campaign: bool = False,
    ) -> list[GameRecord]:
        """Records of the campaign (or of every campaign) whose columns equal the given values
        (all parameterised). Column names come from this module, never from input."""
        clauses = [] if every_campaign else ["PartitionKey eq @campaign"]
        params = {} if every_campaign else {"campaign": self.campaign}
        for i, (column, value) in enumerate((equal or {}).items()):
            clauses.append(f"{column} eq @v{i}")
            params[f"v{i}"] = value
        if extra_filter:
            clauses.append(extra_filter)
            params.update(extra_params or {})
        entities = self.table.query_entities(query_filter=" and ".join(clauses), parameters=params)
        records = []
        for entity in entities:
            try:
                records.append(GameRecord.from_entity(entity, entity.metadata.get("etag")))
            except RecordError as err:  # one odd row is reported, never blocks the campaign
                log.warning("skipped a game record the workbench cannot read: %s", err)
        return sorted(records, key=lambda r: (r.campaign, r.row_key))

    # -- views --------------------------------------------------------------------------
    def dataframe(self, records: Iterable[GameRecord] | None = None) -> pd.DataFrame:
        """The records as a table, one row per game, columns as stored."""
        from iglu_lib.storage.views import records_frame

        return records_frame(self.all() if records is None else records)

    def cells(self, *statuses: RecordStatus | str) -> pd.DataFrame:
        """HITs per task x agent combination, of the given statuses (all if none)."""
        from iglu_lib.storage.views import cell_table

        return cell_table(self.by_status(*statuses) if statuses else self.all())


class _EntityExists(IgluError):
    """A create met an existing row (the slot was planned before)."""
