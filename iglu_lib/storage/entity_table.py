"""The table the game records and the ledger are written to, as the operations they call.

Azure's `TableClient` (what `Backend.table_service().create_table_if_not_exists` gives) is the
one implementation; mypy checks it against this protocol where the records and the ledger are
opened, so a call that the SDK does not offer, or offers with other arguments, fails the type
check rather than a campaign. The records and the ledger need nothing else of Azure but its
exceptions and conditions (imported where they are caught)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from azure.core import MatchConditions
    from azure.data.tables import TableEntity, UpdateMode

#: One row to write: its columns, `PartitionKey` and `RowKey` among them.
Entity = Mapping[str, Any]
#: One operation of a transaction: ("create" | "update" | ..., the row[, options]).
Operation = tuple[str, Entity] | tuple[str, Entity, Mapping[str, Any]]


class EntityTable(Protocol):
    """A partitioned table of rows with ETags (Azure Table storage's model)."""

    def create_entity(self, entity: Entity) -> Mapping[str, Any]:
        """Insert a row; `ResourceExistsError` when its keys are taken. Returns its metadata."""
        ...

    def get_entity(self, partition_key: str, row_key: str) -> TableEntity:
        """One row, its ETag in `metadata`; `ResourceNotFoundError` when absent."""
        ...

    def update_entity(self, entity: Entity, mode: UpdateMode = ..., *, etag: str | None = None,
                      match_condition: MatchConditions | None = None) -> Mapping[str, Any]:
        """Change a row (only if its ETag still matches, with `IfNotModified`)."""
        ...

    def delete_entity(self, partition_key: str, row_key: str, *, etag: str | None = None,
                      match_condition: MatchConditions | None = None) -> None:
        """Remove a row (only if its ETag still matches, with `IfNotModified`)."""
        ...

    def query_entities(self, query_filter: str, *,
                       parameters: dict[str, Any] | None = None) -> Iterable[TableEntity]:
        """Rows matching a parameterised filter (`@name` placeholders; the SDK quotes values)."""
        ...

    def submit_transaction(self, operations: Iterable[Operation]) -> list[Mapping[str, Any]]:
        """Operations on one partition, all or nothing (`TableTransactionError` otherwise)."""
        ...
