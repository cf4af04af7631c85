"""A campaign's games on the platform side: their completion codes from the game records,
and the records updated after the games are fetched and stored.

The platform package fetches and stores games without knowing about records; storage keeps
records without knowing about the platform; this module joins the two for the games notebook
and `iglu games store`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from iglu_lib.platform import games as platform_games
from iglu_lib.platform.games import CodeSelection, Simulation

if TYPE_CHECKING:
    import pandas as pd

    from iglu_lib.config import Profile
    from iglu_lib.platform.client import Game
    from iglu_lib.storage import GameRecords


def select_codes(
    profile: Profile,
    *,
    campaign: str | None = None,
    codes_file: str | Path | None = None,
    codes: Sequence[str] = (),
    simulate: Simulation | None = None,
    root: Path | None = None,
) -> CodeSelection:
    """The codes of a campaign's submitted games, else of `codes_file`, else `codes`, else of
    the games `simulate` plays (`platform.games.select_codes`); the first source set wins.

    A campaign's join codes come from its records, so its games are checked against the join
    code they were played from.
    """
    if campaign:
        found, join_codes = campaign_codes(profile, campaign)
        return platform_games.code_selection(found, join_codes, f"campaign {campaign!r} (submitted games)")
    return platform_games.select_codes(codes_file=codes_file, codes=codes, simulate=simulate, root=root)


def campaign_codes(profile: Profile, campaign: str) -> tuple[list[str], list[str]]:
    """The submitted completion codes of a campaign's games, with their join codes."""
    from iglu_lib.storage import GameRecords

    submitted = [r for r in GameRecords.open(profile, campaign).all() if r.completion_code]
    return [r.completion_code for r in submitted], [r.join_code for r in submitted]


def store_games(
    games: Sequence[Game], profile: Profile, *, campaign: str | None = None
) -> pd.DataFrame:
    """Copy each fetched game (raw to private, scrubbed to results); one row per game with
    its `ResultGameDataPath`, or the reason it was not stored.

    With a `campaign`, the path is also written into the game's record (found by its
    completion code), said in the `record` column; a record the collection loop changed
    meanwhile is left for next time.
    """
    stored = platform_games.store_games(games, profile)
    if not campaign:
        return stored
    from iglu_lib.storage import GameRecords

    records = GameRecords.open(profile, campaign)
    outcomes = [
        _record_path(records, game, path) if game.ok else None
        for game, path in zip(games, stored["ResultGameDataPath"], strict=True)
    ]
    if any(outcome is not None for outcome in outcomes):
        stored["record"] = outcomes
    return stored


def _record_path(records: GameRecords, game: Game, path: str) -> str:
    """Write `path` into the records of the game's code; says what happened."""
    from iglu_lib.storage import RecordConflict

    matching = [
        r for r in records.by_completion_code(game.code.strip()) if r.join_code == game.join_code
    ]
    if not matching:
        return "no_record"
    try:
        records.update_all(matching, result_game_data_path=path)
    except RecordConflict:
        return "record_changed_meanwhile"
    return "updated"


def game_agents(profile: Profile, campaign: str | None = None) -> dict[str, str]:
    """`{agent instance id: agent name}` for the games notebook: from the campaign's records
    when the games came from a campaign, else empty (games are then labelled by instance)."""
    if not campaign:
        return {}
    from iglu_lib.platform.plots import record_agents
    from iglu_lib.storage import GameRecords

    return record_agents(GameRecords.open(profile, campaign).all())
