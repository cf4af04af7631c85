"""Many games at once, as tables: what the games notebook and scripts show and write.

`select_codes` decides which completion codes to fetch (a file's, a list, or freshly
simulated games; a campaign's come from `iglu_lib.collection.games`); `read_codes` takes
codes from a text file (one per line) or an export in the published format;
`summary_table`, `verdict_table` and `scrubbed_events` turn fetched games into tables;
`store_games` moves each game's raw copy to the private container and its scrubbed copy to
the results container.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iglu_lib import paths
from iglu_lib.errors import IgluError
from iglu_lib.platform.client import Game

if TYPE_CHECKING:
    import pandas as pd

    from iglu_lib.config import Profile
    from iglu_lib.platform.validation import Thresholds


#: Plays games and returns `(completion code, join code)` of each (see
#: `profile.backend.rehearsal().simulate_games`); `iglu_lib.platform` never imports the
#: local stack itself.
Simulation = Callable[[], Sequence[tuple[str, str]]]

#: The event columns a person reads first: what happened, by whom, what was said and built.
EVENT_COLUMNS = ("eventType", "source", "roleId", "message", "material", "x", "y", "z", "problems")


class NoCodesError(IgluError, ValueError):
    """Nothing to fetch; the message says which inputs were empty and what to set."""



@dataclass(frozen=True)
class CodeSelection:
    """The completion codes to fetch, their join codes when known, and where they came from."""

    codes: list[str]
    join_codes: list[str] | None
    note: str


def select_codes(
    *,
    codes_file: str | Path | None = None,
    codes: Sequence[str] = (),
    simulate: Simulation | None = None,
    root: Path | None = None,
) -> CodeSelection:
    """The codes of `codes_file`, else `codes`, else of the games `simulate` plays; the first
    source that is set wins (a campaign's codes, which come first, are chosen by
    `iglu_lib.collection.games.select_codes`, which reads the records).

    Simulated games know their join codes, so those games are checked against the join code
    they were played from. `codes_file` is taken relative to `root` (default: the project
    root). Raises `NoCodesError` when the chosen source holds no code.
    """
    if codes_file:
        path = (paths.project_root() if root is None else root) / codes_file
        return code_selection(read_codes(path), None, str(path))
    if codes:
        return code_selection(list(codes), None, "the given codes")
    if simulate is not None:
        played = list(simulate())
        return code_selection([c for c, _ in played], [j for _, j in played], "simulated games on the local stack")
    raise NoCodesError(
        "no completion codes: set `codes`, `codes_file` or `campaign`, or use the local profile "
        "with `simulate_games` above 0"
    )


def code_selection(codes: list[str], join_codes: list[str] | None, source: str) -> CodeSelection:
    """The codes of one source, refused with `NoCodesError` when it holds none."""
    if not codes:
        raise NoCodesError(f"no completion codes in {source}; check it, or choose another source of codes")
    return CodeSelection(codes, join_codes, f"{len(codes)} completion codes from {source}")


def scrubbed_events(games: Sequence[Game], columns: Sequence[str] = EVENT_COLUMNS) -> pd.DataFrame:
    """The events of the first usable game, messages scrubbed of personal data, so that a
    notebook can show what a game looks like without showing who played it.

    Empty (with the same columns) when no game is usable.
    """
    from iglu_lib.platform.events import events_frame
    from iglu_lib.platform.privacy import scrub

    first = next((game for game in games if game.ok), None)
    events = first.events_frame() if first else events_frame([])
    events["message"] = events["message"].map(scrub, na_action="ignore")
    return events[list(columns)]


def read_codes(path: str | Path) -> list[str]:
    """Completion codes from a file: a CSV with a `CompletionCode` column, or one code a line.

    Cells that are not codes are kept (their games get the reason); empty cells and `NA`
    are skipped, and the count of skipped lines is in the error when nothing is left.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        from iglu_lib.platform.feedback import read_feedback

        cells = list(read_feedback(path)["CompletionCode"])
    else:
        cells = path.read_text(encoding="utf-8").splitlines()
    codes = [c.strip() for c in cells if c.strip() and c.strip() != "NA"]
    if not codes:
        raise NoCodesError(
            f"{path}: no completion codes ({len(cells)} empty or NA cells); give a file with codes"
        )
    return codes


def summary_table(games: Sequence[Game]) -> pd.DataFrame:
    """One row per distinct game: ids from the code, the reason when unusable, the summary.

    Keyed by `GameMinecraftId` (unique) so that the analysis stage can join it to the game
    records; codes that name no game at all are left out (`verdict_table` lists them).
    """
    import pandas as pd

    first_of_game: dict[str, Game] = {}
    for game in games:
        if game.game_id:
            first_of_game.setdefault(game.game_id, game)
    rows = [game.summary_row() for game in first_of_game.values()]
    frame = pd.DataFrame(rows, columns=["game_id", "reason"] if not rows else None)
    frame.insert(0, "GameMinecraftId", frame.pop("game_id"))
    for column in ("turns_by_role", "chat_by_role"):
        if column in frame:
            frame[column] = frame[column].map(lambda v: v if isinstance(v, str) else _compact(v))
    return frame


def _compact(value: Any) -> str | None:
    import json

    return json.dumps(value, sort_keys=True) if isinstance(value, Mapping) else None


def verdict_table(games: Sequence[Game], thresholds: Thresholds | Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per game with its verdict, each game judged as its own assignment."""
    import pandas as pd

    from iglu_lib.platform.validation import validate_assignment

    rows = []
    for game in games:
        verdict = validate_assignment([game], thresholds)
        rows.append(
            {
                "GameMinecraftId": game.game_id,
                "verdict": verdict.verdict,
                "reasons": ";".join(verdict.reasons),
                "worker_message": verdict.worker_message,
            }
        )
    return pd.DataFrame(rows)


def store_games(games: Sequence[Game], profile: Profile) -> pd.DataFrame:
    """Copy each fetched game (raw to private, scrubbed to results); one row per game with
    its `ResultGameDataPath`, or the reason it was not stored (in the order of `games`).
    `iglu_lib.collection.games.store_games` also writes the path into a campaign's records.
    """
    import pandas as pd

    from iglu_lib.platform.privacy import store_game_data

    service = profile.backend.blob_service()
    rows = []
    for game in games:
        row = {
            "GameMinecraftId": game.game_id,
            "ResultGameDataPath": None,
            "not_stored_because": game.reason,
        }
        if game.ok:
            path = store_game_data(game, profile.storage, service)
            row.update(ResultGameDataPath=path, not_stored_because=None)
        rows.append(row)
    return pd.DataFrame(rows)
