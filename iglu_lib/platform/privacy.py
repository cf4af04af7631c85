"""Personal data: placeholders for contact details, keyed pseudonyms for worker ids.

Chat messages and free text can hold what a worker should never have typed (their worker
id, e-mail address, phone number, links). `scrub` replaces these with placeholders; worker
ids in exported records become keyed pseudonyms (HMAC-SHA256 under a secret salt), so that
the same worker keeps one name across exports without anyone being able to look it up.
Moving game data between containers lives in `iglu_lib.platform.storage`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from iglu_lib.errors import IgluError
from iglu_lib.platform.codes import PSEUDONYM, WORKER_ID

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

    from iglu_lib.platform.client import Game
    from iglu_lib.settings import StorageSettings

URL = re.compile(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"'\\]+")
EMAIL = re.compile(r"(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
#: A run of digits, spaces, dots, dashes and parentheses that may be a phone number.
_PHONE_CANDIDATE = re.compile(r"(?<![\w/.:+-])\+?\(?\d[\d ().-]{5,20}\d(?![\w:-])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
_DECIMAL = re.compile(r"-?\d+\.\d+")

PLACEHOLDERS = {"url": "[url]", "email": "[email]", "phone": "[phone]", "worker_id": "[worker_id]"}


class PrivacyError(IgluError):
    """Personal data cannot be protected as asked (no salt for pseudonyms)."""



def pseudonym(worker_id: str, salt: str) -> str:
    """The keyed pseudonym of a worker id: `worker-` and 16 hex digits of HMAC-SHA256."""
    if not salt:
        raise PrivacyError(
            "no salt for worker pseudonyms: set IGLU_WORKER_ID_SALT in the environment or .env"
        )
    digest = hmac.new(salt.encode("utf-8"), worker_id.strip().encode("utf-8"), hashlib.sha256)
    return "worker-" + digest.hexdigest()[:16]


def _is_phone(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    if not 7 <= digits <= 15:
        return False
    if candidate.isdigit() and not 10 <= digits <= 12:
        return False  # a bare run of digits is a phone number only at phone length
    return not (_DATE.fullmatch(candidate.strip()) or _DECIMAL.fullmatch(candidate.strip()))


def _phones(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        return PLACEHOLDERS["phone"] if _is_phone(match.group(0)) else match.group(0)

    return _PHONE_CANDIDATE.sub(replace, text)


def scrub(text: str, *, salt: str | None = None) -> str:
    """Replace URLs, e-mail addresses, phone numbers and worker ids in free text.

    Worker ids become `[worker_id]`, or their keyed pseudonym when a `salt` is given (the
    export of game records keeps workers apart without naming them).
    """
    if not isinstance(text, str) or not text:
        return text
    worker: Callable[[re.Match[str]], str] = (
        (lambda m: pseudonym(m.group(0), salt)) if salt else (lambda m: PLACEHOLDERS["worker_id"])
    )
    text = URL.sub(PLACEHOLDERS["url"], text)
    text = EMAIL.sub(PLACEHOLDERS["email"], text)
    text = WORKER_ID.sub(worker, text)
    return _phones(text)


def find_worker_ids(text: str) -> list[str]:
    """The worker ids (raw, not pseudonyms) that occur in `text`."""
    return WORKER_ID.findall(text) if isinstance(text, str) else []


def is_pseudonym(text: str) -> bool:
    return bool(PSEUDONYM.fullmatch(text or ""))


#: Event fields that hold identifiers, enums or timestamps the platform writes, never free text.
STRUCTURAL_FIELDS = frozenset(
    {
        "eventType",
        "id",
        "gameId",
        "taskId",
        "tournamentId",
        "source",
        "roleId",
        "groupId",
        "agentSubscriptionFilterValue",
        "producedAtDatetime",
        "reason",
        "nextActiveRoleId",
        "previousActiveRoleId",
        "playerId",
        "completionType",
        "challengeId",
    }
)


def scrub_value(value: Any, key: str | None = None) -> Any:
    """Scrub every free-text string inside a JSON value; ids and enums lose only worker ids."""
    if isinstance(value, str):
        if key in STRUCTURAL_FIELDS:
            return WORKER_ID.sub(PLACEHOLDERS["worker_id"], value)
        return scrub(value)
    if isinstance(value, list):
        return [scrub_value(item, key) for item in value]
    if isinstance(value, dict):
        return {k: scrub_value(v, k) for k, v in value.items()}
    return value


def store_game_data(game: Game, storage: StorageSettings, blob_service: BlobServiceClient) -> str:
    """Copy a fetched game's raw document to the private container and its scrubbed copy to
    the results container (`storage.*` of the profile), at the platform's path; returns the
    record's `ResultGameDataPath` (`<results container>/<path>`).
    """
    import json

    from azure.core.exceptions import ResourceExistsError

    if game.parsed is None or game.document is None:
        raise PrivacyError(
            f"game of code {game.code[:20]!r}... has no data to store ({game.reason})"
        )
    service = blob_service
    path = game.parsed.game_blob_path
    copies = {
        storage.private_container: game.document,
        storage.results_container: scrub_value(game.document),
    }
    for container_name, document in copies.items():
        container = service.get_container_client(container_name)
        try:
            container.create_container()
        except ResourceExistsError:
            pass
        container.upload_blob(path, json.dumps(document).encode("utf-8"), overwrite=True)
    return f"{storage.results_container}/{path}"
