"""The simulated platform's own join codes and completion codes.

The simulator writes codes with this module and never with the client's
(`iglu_lib.platform.codes`, the module that judges them): a misreading shared by the platform and
the workbench would pass every rehearsal and fail on the real platform. Tests check both
directions: the simulator's codes decode with the client's decoder, and the real platform's
codes from the published IGLU export decode with `decode_completion_code` here.

Formats (the platform's, see DESIGN.md "Formats"):
- join code: `/plaiground:join-task-with-agent T:C:TASK[:AGENT_INSTANCE[:EXPIRY]]`, the expiry
  in epoch milliseconds as the HIT pages append it (seconds are read too);
- completion code: base64 of gzip of `T:ac:C:TASK:GAME:ROLE:AGENT_SERVICE` (a legacy form has an
  empty field before the agent service).
"""

from __future__ import annotations

import base64
import gzip
import io
import re
import time
import zlib
from dataclasses import dataclass

from iglu_lib.errors import IgluError

JOIN_COMMAND = "/plaiground:join-task-with-agent"
#: The platform's ids are UUIDs.
PLATFORM_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
#: A decoded completion code is a few hundred bytes; reading stops well beyond that.
_MOST_DECODED = 8192
#: Expiries at or above this are epoch milliseconds, below it epoch seconds.
_MILLISECONDS = 10**11


class UnreadableCode(IgluError, ValueError):
    """A join or completion code the simulated platform cannot read."""


@dataclass(frozen=True)
class GameJoinCode:
    """What a join code names: a task of a tournament's challenge, an agent instance, an expiry."""

    tournament_id: str
    challenge_id: str
    task_id: str
    agent_instance_id: str = ""
    expires_at: float | None = None  # epoch seconds

    def text(self) -> str:
        """The command a worker pastes into Minecraft (the expiry in epoch milliseconds)."""
        fields = [self.tournament_id, self.challenge_id, self.task_id]
        if self.agent_instance_id:
            fields.append(self.agent_instance_id)
            if self.expires_at is not None:
                fields.append(str(int(self.expires_at * 1000)))
        return f"{JOIN_COMMAND} {':'.join(fields)}"

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at


def read_join_code(text: str) -> GameJoinCode:
    """The fields of a join code (the command in front is optional)."""
    body = (text or "").strip()
    if body.startswith(JOIN_COMMAND):
        body = body[len(JOIN_COMMAND):].strip()
    fields = body.split(":") if body else []
    if len(fields) not in (3, 4, 5) or not all(fields[:3]) or len(body) > 1000:
        raise UnreadableCode(f"{text[:200]!r} is not '{JOIN_COMMAND} TOURNAMENT:CHALLENGE:TASK[:AGENT[:EXPIRY]]'")
    agent = fields[3] if len(fields) > 3 else ""
    expires_at = _expiry(fields[4], text) if len(fields) == 5 else None
    return GameJoinCode(fields[0], fields[1], fields[2], agent, expires_at)


def _expiry(field: str, text: str) -> float:
    if not (field.isascii() and field.isdigit()) or len(field) > 16:
        raise UnreadableCode(f"the expiry of join code {text[:200]!r} is not an epoch timestamp")
    number = int(field)
    return number / 1000 if number >= _MILLISECONDS else float(number)


@dataclass(frozen=True)
class GameCode:
    """The fields of a completion code, and where the platform stores the game's events."""

    tournament_id: str
    challenge_id: str
    task_id: str
    game_id: str
    role_id: str
    agent_service_id: str
    kind: str = "ac"
    legacy: bool = False

    @property
    def group_id(self) -> str:
        if self.legacy:
            return f"{self.tournament_id}:{self.challenge_id}:{self.task_id}:{self.agent_service_id}"
        return f"{self.tournament_id}:{self.kind}:{self.challenge_id}"

    @property
    def game_blob_path(self) -> str:
        """`tournaments/T/groupId/G/tasks/TASK/games/GAME.json` in the game container."""
        return (f"tournaments/{self.tournament_id}/groupId/{self.group_id}"
                f"/tasks/{self.task_id}/games/{self.game_id}.json")

    def encoded(self) -> str:
        """The code the platform shows at the game's end (gzip's timestamp 0: deterministic)."""
        fields = [self.tournament_id, self.kind, self.challenge_id, self.task_id, self.game_id, self.role_id]
        fields += ["", self.agent_service_id] if self.legacy else [self.agent_service_id]
        return base64.b64encode(gzip.compress(":".join(fields).encode(), mtime=0)).decode("ascii")


def decode_completion_code(code: str) -> GameCode:
    """The fields of a completion code as the platform wrote them (its base64, its gzip)."""
    compact = "".join((code or "").split())
    try:
        packed = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
        with gzip.GzipFile(fileobj=io.BytesIO(packed)) as stream:
            text = stream.read(_MOST_DECODED).decode("utf-8")
    except (ValueError, OSError, EOFError, zlib.error) as error:
        raise UnreadableCode(f"not a completion code ({type(error).__name__})") from None
    fields = text.split(":")
    if len(fields) not in (7, 8):
        raise UnreadableCode(f"a completion code holds 7 (or legacy 8) fields, this one {len(fields)}")
    tournament, kind, challenge, task, game, role = fields[:6]
    return GameCode(tournament, challenge, task, game, role, fields[-1], kind, legacy=len(fields) == 8)

