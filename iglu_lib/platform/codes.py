"""Completion codes and join codes of the Minecraft data-collection platform.

A completion code is base64 of gzip of `T:ac:C:TASK:GAME:ROLE:AGENT_SERVICE` (a legacy form
has an unused eighth field before the agent service; `hc` marks a game with a human partner).
Crowd workers paste all sorts of things into the code field, so parsing never crashes: it
returns the fields or raises `CodeError` carrying one reason of `reasons.CODE_REASONS`.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import time
import zlib
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from iglu_lib.errors import IgluError
from iglu_lib.platform.reasons import CODE_REASONS

JOIN_COMMAND = "/plaiground:join-task-with-agent"

#: Cells a table uses for "no value" (the published export writes R's `NA`).
MISSING_CELLS = frozenset({"", "NA"})
#: What workers type when they have no code; a reason, not a missing cell.
PLACEHOLDERS = frozenset({"n/a", "na", "none", "null", "nan", "-", "--", "no", "no code", "nocode"})

#: An MTurk worker id: `A`, then upper-case letters and digits (at least one digit).
WORKER_ID = re.compile(r"\bA(?=[A-Z]*[0-9])[A-Z0-9]{9,20}\b")
#: The keyed pseudonym that replaces a worker id in exports (see `privacy.pseudonym`).
PSEUDONYM = re.compile(r"\bworker-[0-9a-f]{16}\b")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_WHITESPACE = re.compile(r"\s+")
#: Decompressed codes are a few hundred bytes; more is not a code (and bounds gzip bombs).
MAX_DECODED_BYTES = 4096
#: A real code is about 300 characters of base64; longer text is refused before decoding, so
#: a pasted essay never reaches a decoder, a blob path or a query.
MAX_CODE_CHARS = 2000
#: Digits an expiry may have (epoch milliseconds have 13); longer numbers are not parsed.
MAX_EXPIRY_DIGITS = 16
#: The platform's ids (tournament, challenge, task, game, agent service) are UUIDs.
UUID_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: Role ids are UUIDs on the real platform; rehearsal tasks may use short names
#: (`architect-role`). Either way they hold no path or query syntax.
ROLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Epoch values above this are milliseconds (the form the HIT pages append to join codes).
_MILLISECONDS_FROM = 10**11


class CodeError(IgluError, ValueError):
    """A completion or join code cannot be used; `reason` is one word of the vocabulary."""


    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class CompletionCode:
    """The fields of a completion code, and the raw text it was parsed from."""

    tournament_id: str
    kind: str
    challenge_id: str
    task_id: str
    game_id: str
    role_id: str
    agent_service_id: str
    legacy: bool = False
    raw: str = field(default="", compare=False)

    @property
    def group_id(self) -> str:
        """The game-data folder's group: `T:ac:C`, or `T:C:TASK:AGENT_SERVICE` for legacy codes."""
        if self.legacy:
            return (
                f"{self.tournament_id}:{self.challenge_id}:{self.task_id}:{self.agent_service_id}"
            )
        return f"{self.tournament_id}:{self.kind}:{self.challenge_id}"

    @property
    def game_blob_path(self) -> str:
        """Where the platform stores this game's events inside the game container."""
        return (
            f"tournaments/{self.tournament_id}/groupId/{self.group_id}"
            f"/tasks/{self.task_id}/games/{self.game_id}.json"
        )

    def fields(self) -> dict[str, Any]:
        """The fields as a plain dict (without the raw text)."""
        values = asdict(self)
        values.pop("raw")
        return values


@dataclass(frozen=True)
class JoinCode:
    """A game's join code: the task join code, an agent instance id and an optional expiry."""

    tournament_id: str
    challenge_id: str
    task_id: str
    agent_instance_id: str | None = None
    expires_at: float | None = None  # epoch seconds

    @property
    def task_join_code(self) -> str:
        return f"{JOIN_COMMAND} {self.tournament_id}:{self.challenge_id}:{self.task_id}"

    def text(self) -> str:
        """The join command as a worker pastes it into Minecraft (with the expiry in ms if any)."""
        parts = [self.task_join_code]
        if self.agent_instance_id:
            parts.append(self.agent_instance_id)
        if self.expires_at is not None:
            parts.append(str(int(self.expires_at * 1000)))
        return ":".join(parts)

    def expired(self, now: float | None = None) -> bool:
        return (
            self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at
        )


@dataclass(frozen=True)
class CodeCheck:
    """The verdict on one submitted code: usable or not, why, and the fields it decodes to."""

    ok: bool
    reason: str | None
    fields: dict[str, Any]
    code: CompletionCode | None = field(default=None, compare=False)

    @property
    def message(self) -> str | None:
        return CODE_REASONS.get(self.reason) if self.reason else None

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "fields": self.fields}


# -- completion codes -------------------------------------------------------------------


def make_completion_code(
    *,
    tournament_id: str,
    challenge_id: str,
    task_id: str,
    game_id: str,
    role_id: str,
    agent_service_id: str,
    kind: str = "ac",
    legacy: bool = False,
) -> str:
    """The code the platform shows at a game's end (deterministic: gzip mtime is 0)."""
    fields = [tournament_id, kind, challenge_id, task_id, game_id, role_id]
    if legacy:
        fields.append("")
    fields.append(agent_service_id)
    packed = gzip.compress(":".join(fields).encode("utf-8"), mtime=0)
    return base64.b64encode(packed).decode("ascii")


def parse_completion_code(code: str | None) -> CompletionCode:
    """Decode a pasted code into its fields, or raise `CodeError` saying what it is instead."""
    text = (code or "").strip()
    if len(text) > MAX_CODE_CHARS:
        raise CodeError(
            "malformed_code", f"the text is {len(text):,} characters; a code has a few hundred"
        )
    _reject_non_codes(text)
    payload = _decompress(_base64_bytes(text))
    return _fields(payload, raw=text)


def _reject_non_codes(text: str) -> None:
    if not text or text.lower() in PLACEHOLDERS:
        raise CodeError("empty_code", f"no completion code given ({text!r})")
    if JOIN_COMMAND.lstrip("/") in text or _looks_like_join_code(text):
        raise CodeError("join_command_pasted", "the text is a join command, not a completion code")
    if WORKER_ID.fullmatch(text) or PSEUDONYM.fullmatch(text):
        raise CodeError("worker_id_pasted", "the text is an MTurk worker id, not a completion code")


def _looks_like_join_code(text: str) -> bool:
    parts = text.split(":")
    return 3 <= len(parts) <= 5 and all(UUID_ID.fullmatch(p) for p in parts[:3])


def _base64_bytes(text: str) -> bytes:
    compact = _WHITESPACE.sub("", text)
    if not _BASE64.fullmatch(compact) or len(compact.rstrip("=")) % 4 == 1:
        raise CodeError("not_base64", f"the code is not base64 text ({len(compact)} characters)")
    padded = compact.rstrip("=") + "=" * (-len(compact.rstrip("=")) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise CodeError("not_base64", "the code is not valid base64") from None


def _decompress(data: bytes) -> str:
    if not data.startswith(b"\x1f\x8b"):
        raise CodeError("not_gzip", "the decoded code is not gzip data (truncated or altered code)")
    inflater = zlib.decompressobj(wbits=31)
    try:
        payload = inflater.decompress(data, MAX_DECODED_BYTES)
    except zlib.error:
        raise CodeError("not_gzip", "the code's gzip data is damaged (truncated code)") from None
    if not inflater.eof:
        raise CodeError("not_gzip", "the code's gzip data is incomplete or too long")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise CodeError("not_gzip", "the code's gzip data is not text") from None


def _fields(payload: str, *, raw: str) -> CompletionCode:
    parts = payload.split(":")
    if len(parts) not in (7, 8):
        raise CodeError(
            "wrong_field_count", f"the code holds {len(parts)} fields, expected 7 (or legacy 8)"
        )
    legacy = len(parts) == 8
    tournament, kind, challenge, task, game, role = parts[:6]
    agent_service = parts[-1]
    if kind == "hc":
        raise CodeError("human_challenge", "the code is of a game with a human partner (hc)")
    if kind != "ac" or not all((tournament, challenge, task, game, role, agent_service)):
        raise CodeError(
            "wrong_field_count", "the code's fields are not those of an agent challenge game"
        )
    ids = {"tournament": tournament, "challenge": challenge, "task": task, "game": game,
           "agent service": agent_service}
    bad = [name for name, value in ids.items() if not UUID_ID.fullmatch(value)]
    if not ROLE_ID.fullmatch(role):
        bad.append("role")
    if bad:
        raise CodeError(
            "malformed_code", f"the code's {', '.join(bad)} id is not a platform id (a UUID)"
        )
    tournament, challenge, task, game, agent_service = (
        value.lower() for value in (tournament, challenge, task, game, agent_service)
    )
    return CompletionCode(tournament, kind, challenge, task, game, role, agent_service, legacy, raw)


def code_status(cell: str | float | None) -> str:
    """`ok`, `missing` for an empty table cell (`NA`), or the reason the cell is not a code."""
    if cell is None or (isinstance(cell, float) and cell != cell):
        return "missing"
    if str(cell).strip() in MISSING_CELLS:
        return "missing"
    try:
        parse_completion_code(str(cell))
    except CodeError as err:
        return err.reason
    return "ok"


def check_code(
    code: str | None,
    join_code: str | JoinCode | None = None,
    seen: Mapping[str, str] | Collection[str] = (),
    *,
    owner: str | None = None,
    hit_codes: Collection[str] = (),
) -> CodeCheck:
    """Whether a submitted code can be accepted for the game of `join_code`.

    `seen` holds codes (or game ids) already stored; as a mapping it names the HIT or
    assignment that stored each, and an entry owned by `owner` is this submission's own
    (a restart re-checking it). `hit_codes` are the codes of the HIT's other games.
    """
    try:
        parsed = parse_completion_code(code)
    except CodeError as err:
        return CodeCheck(False, err.reason, {})
    fields = parsed.fields()
    # reuse first: a game submitted before is the stronger finding, whatever it claims to be
    reason = _reuse(parsed, seen, owner, hit_codes) or _mismatch(parsed, join_code)
    return CodeCheck(reason is None, reason, fields, parsed)


def _mismatch(parsed: CompletionCode, join_code: str | JoinCode | None) -> str | None:
    if join_code is None:
        return None
    join = join_code if isinstance(join_code, JoinCode) else parse_join_code(join_code)
    if (join.tournament_id.lower(), join.challenge_id.lower()) != (parsed.tournament_id, parsed.challenge_id):
        return "tournament_mismatch"
    if join.task_id.lower() != parsed.task_id:
        return "task_mismatch"
    if join.agent_instance_id and join.agent_instance_id.lower() != parsed.agent_service_id:
        return "agent_mismatch"
    return None


def _reuse(
    parsed: CompletionCode,
    seen: Mapping[str, str] | Collection[str],
    owner: str | None,
    hit_codes: Collection[str],
) -> str | None:
    for key in (parsed.raw, parsed.game_id):
        if key in seen and not (
            isinstance(seen, Mapping) and owner is not None and seen[key] == owner
        ):
            return "code_reused"
    for other in hit_codes:
        if other.strip() == parsed.raw or _game_id_of(other) == parsed.game_id:
            return "same_code_twice"
    return None


def _game_id_of(code: str) -> str | None:
    try:
        return parse_completion_code(code).game_id
    except CodeError:
        return None


# -- join codes -------------------------------------------------------------------------


def parse_join_code(text: str) -> JoinCode:
    """Parse `/plaiground:join-task-with-agent T:C:TASK[:AGENT[:EXPIRY]]` (the command is optional).

    The expiry is an epoch timestamp, in milliseconds as the HIT pages append it (seconds
    are accepted too).
    """
    body = (text or "").strip()
    if len(body) > MAX_CODE_CHARS:
        raise CodeError("join_code_malformed", f"the join code is {len(body):,} characters long")
    if body.startswith(JOIN_COMMAND):
        body = body[len(JOIN_COMMAND) :].strip()
    parts = body.split(":")
    if not 3 <= len(parts) <= 5 or not all(parts[:3]):
        raise CodeError(
            "join_code_malformed",
            f"expected '{JOIN_COMMAND} TOURNAMENT:CHALLENGE:TASK[:AGENT[:EXPIRY]]', got {text[:200]!r}",
        )
    agent = parts[3] or None if len(parts) > 3 else None
    expires = _expiry(parts[4], text) if len(parts) == 5 else None
    return JoinCode(parts[0], parts[1], parts[2], agent, expires)


def _expiry(value: str, text: str) -> float:
    if not value.isascii() or not value.isdigit() or len(value) > MAX_EXPIRY_DIGITS:
        raise CodeError(
            "join_code_malformed",
            f"the expiry of join code {text[:200]!r} is not an epoch timestamp "
            f"(at most {MAX_EXPIRY_DIGITS} digits)",
        )
    number = int(value)
    return number / 1000 if number >= _MILLISECONDS_FROM else float(number)
