"""The game-data client: from completion codes to each game's events, task and summary.

The platform stores a game's events at
`<game container>/tournaments/T/groupId/G/tasks/TASK/games/GAME.json` and the task at
`<task container>/TASK/initialGameState.json` and `targetGameChanges.json`. The client
reads them through the profile's connection string (or container URLs with a SAS), many
games at once with a bounded pool. A code that is not a code, an absent blob or a blob that
is not JSON gives the game a reason; storage that stays unreachable after the retries
raises `GameDataError`, because an outage must never turn into a rejected worker.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from iglu_lib.errors import IgluError
from iglu_lib.platform.codes import CodeError, CompletionCode, parse_completion_code
from iglu_lib.platform.events import GameSummary, TaskTarget, events_frame, summarize

if TYPE_CHECKING:
    import pandas as pd
    from azure.storage.blob import ContainerClient

    from iglu_lib.config import Profile

T = TypeVar("T")

logger = logging.getLogger(__name__)
TASK_FILES = ("initialGameState", "targetGameChanges")
#: HTTP statuses worth another try: the service is busy or briefly broken.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class GameDataError(IgluError):
    """Game storage cannot be reached; the message says where and what to do.

    `transient` tells an outage (worth another turn) from a refusal that will not heal by
    waiting (access denied, a missing container), which must stop a campaign loop."""


    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class Game:
    """One game as fetched: the code, its fields, the stored document and the task data."""

    code: str
    parsed: CompletionCode | None = None
    reason: str | None = None
    document: Any = None
    task: dict[str, Any] | None = None
    target: TaskTarget | None = field(default=None, repr=False)
    join_code: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reason is None

    @property
    def game_id(self) -> str | None:
        return self.parsed.game_id if self.parsed else None

    @property
    def events(self) -> list[Any]:
        """The events whatever the document's shape (`{"id", "events"}` or a bare list)."""
        document = self.document
        if isinstance(document, Mapping):
            document = document.get("events")
        return list(document) if isinstance(document, list) else []

    def events_frame(self) -> pd.DataFrame:
        return events_frame(self.events)

    def summary(self) -> GameSummary:
        role = self.parsed.role_id if self.parsed else None
        return summarize(self.events, architect_role_id=role, task=self.target or self.task)

    def summary_row(self) -> dict[str, Any]:
        """A flat row for tables: the code's ids, the reason, and the summary's numbers."""
        row: dict[str, Any] = {"game_id": self.game_id, "reason": self.reason}
        if self.parsed:
            row.update(task_id=self.parsed.task_id, agent_service_id=self.parsed.agent_service_id)
        if self.ok:
            summary = self.summary().as_dict()
            summary.pop("architect_messages")
            row.update({k: v for k, v in summary.items() if k not in row or row[k] is None})
        row["problems"] = ";".join(self.problems)
        return row


class GameSource(Protocol):
    """Where a campaign, its review and the review desk read games from: the game of a
    completion code (with the join code the HIT gave, to check it), alone or many at once.
    `GameDataClient` reads the platform's blob storage; anything else with these two methods (a
    replay of stored games, a test's own source) can stand in for it."""

    def fetch(self, code: str, join_code: str | None = None) -> Game:
        """The game of one code; a bad code or blob gives the game a reason, an outage raises."""
        ...

    def fetch_many(self, codes: Sequence[str], *, join_codes: Sequence[str | None] | None = None,
                   workers: int = 16, progress: bool = True) -> list[Game]:
        """The games of many codes, in order."""
        ...


class GameDataClient:
    """Reads games and tasks from two blob containers: the profile's (`open`) or container
    URLs with a SAS (`from_urls`). The client's own retries (`attempts`, with backoff) replace
    the SDK's, so an outage is told from a missing blob."""

    def __init__(self, games: ContainerClient, tasks: ContainerClient, *, attempts: int = 3,
                 backoff_seconds: float = 0.2) -> None:
        #: Azure `ContainerClient`s of the game data and the task data.
        self.games = games
        self.tasks = tasks
        self.attempts = max(1, attempts)
        self.backoff_seconds = backoff_seconds
        self._task_cache: dict[str, tuple[dict[str, Any] | None, TaskTarget | None]] = {}
        self._task_lock = threading.Lock()

    @classmethod
    def open(cls, profile: Profile, *, pool_size: int = 32, attempts: int = 3,
             backoff_seconds: float = 0.2) -> GameDataClient:
        """The client of a profile's `storage.game_container` and `storage.task_container`,
        through its backend's blob service (one attempt per call, `pool_size` connections)."""
        service = profile.backend.blob_service(retry=False, transport=_transport(pool_size), retry_total=0)
        return cls(service.get_container_client(profile.storage.game_container),
                   service.get_container_client(profile.storage.task_container), attempts=attempts,
                   backoff_seconds=backoff_seconds)

    @classmethod
    def from_urls(cls, game_container_url: str, task_container_url: str, *, pool_size: int = 32,
                  attempts: int = 3, backoff_seconds: float = 0.2) -> GameDataClient:
        """The client of two container URLs (with a SAS when the containers are private)."""
        from azure.storage.blob import ContainerClient

        transport = _transport(pool_size)
        games, tasks = (ContainerClient.from_container_url(url, transport=transport, retry_total=0)
                        for url in (game_container_url, task_container_url))
        return cls(games, tasks, attempts=attempts, backoff_seconds=backoff_seconds)

    # -- one game -----------------------------------------------------------------------
    def fetch(self, code: str, join_code: str | None = None) -> Game:
        """The game of one completion code; a bad code or blob gives the game a reason."""
        game = Game(code=code, join_code=join_code)
        try:
            game.parsed = parse_completion_code(code)
        except CodeError as err:
            game.reason = err.reason
            return game
        text = self._download(self.games, game.parsed.game_blob_path)
        if text is None:
            game.reason = "game_data_missing"
            return game
        try:
            game.document = json.loads(text)
        except ValueError:
            game.reason = "game_data_unreadable"
            return game
        if not isinstance(game.document, Mapping | list):
            game.reason = "game_data_unreadable"
            return game
        game.task, game.target = self._task_and_target(game.parsed.task_id)
        if game.task is None:
            game.problems.append("task_data_missing")
        elif game.target is None:
            game.problems.append("task_data_undecodable")
        return game

    def task(self, task_id: str) -> dict[str, Any] | None:
        """The task's stored game state and target (read once per client), or None if absent."""
        return self._task_and_target(task_id)[0]

    def _task_and_target(self, task_id: str) -> tuple[dict[str, Any] | None, TaskTarget | None]:
        """The task's data and its decoded target, read and decoded once per client."""
        with self._task_lock:
            if task_id in self._task_cache:
                return self._task_cache[task_id]
        task = self._read_task(task_id)
        entry = (task, _target(task))
        with self._task_lock:
            self._task_cache[task_id] = entry
        return entry

    def _read_task(self, task_id: str) -> dict[str, Any] | None:
        task: dict[str, Any] = {"name": task_id}
        for name in TASK_FILES:
            text = self._download(self.tasks, f"{task_id}/{name}.json")
            if text is None:
                return None
            try:
                task[name] = json.loads(text)
            except ValueError:
                return None
        return task

    # -- many games ---------------------------------------------------------------------
    def fetch_many(
        self,
        codes: Sequence[str],
        *,
        join_codes: Sequence[str | None] | None = None,
        workers: int = 16,
        progress: bool = True,
    ) -> list[Game]:
        """Fetch the games of many codes with at most `workers` downloads at a time, in order."""
        joins = list(join_codes) if join_codes is not None else [None] * len(codes)
        if len(joins) != len(codes):
            raise ValueError(
                f"{len(codes)} codes but {len(joins)} join codes; give one join code per code"
            )
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [
                pool.submit(self.fetch, code, join) for code, join in zip(codes, joins, strict=True)
            ]
            return [future.result() for future in _progress(futures, progress)]

    # -- transport ----------------------------------------------------------------------
    def _download(self, container: ContainerClient, path: str) -> str | None:
        """A blob's text, None when it does not exist; transient errors are retried."""
        from azure.core.exceptions import ResourceNotFoundError

        def read() -> str | None:
            try:
                data = container.download_blob(path).readall()
            except ResourceNotFoundError:
                return None
            return data.decode("utf-8", errors="replace")

        return self._retrying(read, f"{container.url}/{path}")

    def _retrying(self, action: Callable[[], T], where: str) -> T:
        from azure.core.exceptions import (
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        for attempt in range(1, self.attempts + 1):
            try:
                return action()
            except (ServiceRequestError, ServiceResponseError) as err:
                failure = f"{type(err).__name__}"
            except HttpResponseError as err:
                if err.status_code not in TRANSIENT_STATUSES:
                    raise GameDataError(
                        f"{_public(where)}: storage answered {err.status_code} ({err.reason}); "
                        "check the profile's storage credentials and container names",
                        transient=False,
                    ) from None
                failure = f"HTTP {err.status_code}"
            if attempt < self.attempts:
                logger.warning("%s: %s on attempt %d of %d; trying again", _public(where), failure,
                               attempt, self.attempts)
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise GameDataError(
            f"{_public(where)}: unreachable after {self.attempts} attempts ({failure}); "
            "check that storage is running (`iglu stack up` for the local profile) and retry"
        )


def _target(task: dict[str, Any] | None) -> TaskTarget | None:
    if task is None:
        return None
    try:
        return TaskTarget.from_task(task)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _public(url: str) -> str:
    """A URL without its query (a SAS token is a secret)."""
    return url.split("?", 1)[0]


def _transport(pool_size: int) -> Any:
    """One HTTP transport with a connection pool large enough for the worker pool."""
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RequestsTransport(session=session, session_owner=False)


def _progress(futures: list[Any], enabled: bool) -> list[Any]:
    """The futures in order, with a progress bar advancing as they finish."""
    from concurrent.futures import as_completed

    from tqdm.auto import tqdm

    with tqdm(total=len(futures), desc="games", unit="game", disable=not enabled) as bar:
        for _ in as_completed(futures):
            bar.update(1)
    return futures
