"""The registry of requester operations: each handler registers under the API's name."""

from __future__ import annotations

import base64
import binascii
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from iglu_lib.local.mturk.errors import RequestError

DEFAULT_PAGE_SIZE = 100
TOKEN_LIFETIME_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Context:
    """What a handler works with: the open transaction and the server clock's time."""

    db: sqlite3.Connection
    now: float


Handler = Callable[[Context, dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        OPERATIONS[name] = handler
        return handler

    return register


def page(
    ctx: Context, params: dict[str, Any], sql: str, args: tuple[Any, ...]
) -> tuple[list[sqlite3.Row], str | None]:
    """One page of `sql` (a SELECT with a WHERE clause over a table with `seq`) in `seq` order,
    at most `MaxResults` (1-100) rows, and the `NextToken` of the next page if there is one."""
    size = params.get("MaxResults", DEFAULT_PAGE_SIZE)
    after = _decode_token(params["NextToken"]) if "NextToken" in params else 0
    rows = ctx.db.execute(f"{sql} AND seq > ? ORDER BY seq LIMIT ?", (*args, after, size + 1)).fetchall()
    if len(rows) > size:
        return rows[:size], _encode_token(rows[size - 1]["seq"])
    return rows, None


def _encode_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def _decode_token(token: str) -> int:
    try:
        kind, _, seq = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "seq" and seq.isascii() and seq.isdigit() and len(seq) <= 18:
            return int(seq)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise RequestError(f"The pagination token {token!r} is not valid", "AWS.ParameterOutOfRange")


def claim_request_token(ctx: Context, token: str | None, operation_name: str) -> None:
    """Refuse a `UniqueRequestToken` seen within 24 hours, as the service does."""
    if token is None:
        return
    ctx.db.execute("DELETE FROM request_tokens WHERE created <= ?", (ctx.now - TOKEN_LIFETIME_SECONDS,))
    if ctx.db.execute("SELECT 1 FROM request_tokens WHERE token = ?", (token,)).fetchone():
        raise RequestError(
            f'The idempotency token "{token}" has already been processed.',
            "AWS.MechanicalTurk.DuplicateRequest",
        )
    ctx.db.execute(
        "INSERT INTO request_tokens (token, operation, created) VALUES (?, ?, ?)",
        (token, operation_name, ctx.now),
    )
