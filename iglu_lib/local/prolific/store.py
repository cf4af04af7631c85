"""The emulator's state: JSON documents by kind and id in one SQLite file, and a movable clock.

Every request runs under one lock (`Store.lock`), reads the documents it needs and writes back
those it changed, each write committed at once, so a killed server restarts with every
acknowledged change and none half-made.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

from iglu_lib.sqlite_file import SqliteFile

Document = dict[str, Any]


def new_id() -> str:
    """Prolific's ids: 24 hexadecimal characters."""
    return secrets.token_hex(12)


class Store(SqliteFile):
    SCHEMA = """
    CREATE TABLE IF NOT EXISTS documents (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (kind, id)
    );
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self.lock = threading.RLock()

    def get(self, kind: str, doc_id: str) -> Document | None:
        with self._connect() as conn:
            row = conn.execute("SELECT body FROM documents WHERE kind = ? AND id = ?", (kind, doc_id)).fetchone()
        return json.loads(row["body"]) if row else None

    def all(self, kind: str) -> list[Document]:
        """Every document of a kind, oldest first."""
        with self._connect() as conn:
            rows = conn.execute("SELECT body FROM documents WHERE kind = ? ORDER BY rowid", (kind,)).fetchall()
        return [json.loads(row["body"]) for row in rows]

    def where(self, kind: str, **fields: Any) -> Iterator[Document]:
        return (doc for doc in self.all(kind) if all(doc.get(k) == v for k, v in fields.items()))

    def put(self, kind: str, doc: Document) -> Document:
        with self._connect() as conn:
            conn.execute("INSERT INTO documents (kind, id, body) VALUES (?, ?, ?) "
                         "ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body",
                         (kind, doc["id"], json.dumps(doc)))
        return doc

    def delete(self, kind: str, doc_id: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM documents WHERE kind = ? AND id = ?", (kind, doc_id))

    # -- the clock ------------------------------------------------------------------------
    def offset(self) -> float:
        with self._connect() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'clock_offset'").fetchone()
        return float(row["value"]) if row else 0.0

    def now(self) -> float:
        """Seconds since the epoch on the emulator's clock (moved by the control API)."""
        return time.time() + self.offset()

    def advance(self, seconds: float) -> float:
        with self._connect() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('clock_offset', ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(self.offset() + seconds),))
        return self.now()
