"""One games table for the analysis, from the published export or a campaign's records.

Rows are games; the games of a HIT share `HitId`. On top of the published columns and the
columns `read_feedback` adds (`annotation_status`, `annotation`, `code_status`), the table
carries each game's judgement (`chosen`, `feedback_text`, `shown_position`,
`judgement_problem`, and `outcome`: the HIT's outcome where the annotation records it, e.g. a tie), its `worker` and `worker_quality`, and, when per-game summaries are
given, their columns (turns, blocks, structure F1, ...) joined on `GameMinecraftId`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, cast

import pandas as pd

from iglu_lib import paths
from iglu_lib.analysis.judgements import judge
from iglu_lib.errors import IgluError
from iglu_lib.platform.feedback import DERIVED_COLUMNS, PUBLISHED_COLUMNS

#: Columns `read_feedback` adds that the analysis uses.
USED_DERIVED_COLUMNS = ("annotation_status", "annotation", "code_status")
#: A worker whose every game has a code of status `ok`.
GOOD_WORKER = "good"
#: A worker with at least one game whose code is missing or not a code, or that was rejected.
FLAGGED_WORKER = "flagged"
#: The `Verdict` of a rejected game in campaign records (`iglu_lib.platform.validation.REJECT`).
REJECTED_VERDICT = "reject"


class AnalysisInputError(IgluError, ValueError):
    """The analysis input lacks what it needs; the message names the input and what to do."""



def default_input() -> Path:
    """The bundled copy of the published IGLU human evaluation export."""
    return Path(str(resources.files("iglu_lib") / "data" / "human_evaluation" / "human_agent_feedback.csv"))


def load_games(
    path: str | Path | None = None,
    *,
    records: pd.DataFrame | None = None,
    salt: str | None = None,
    summaries: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The games table from an export file (default: the bundled one) or game records.

    `records`: a campaign's game records (the design's game record columns, e.g.
    `GameRecords.dataframe()`), with `salt` the worker-id salt that hashes their worker ids;
    `summaries`: optional per-game summaries with a `GameMinecraftId` column, joined when given.
    """
    if records is not None and path is not None:
        raise AnalysisInputError("give either an export file or game records, not both")
    feedback = _from_records(records, salt) if records is not None else _from_file(path or default_input())
    return prepare_games(feedback, summaries)


def load_campaign(campaign: str, profile_name: str = "local", *, summaries: pd.DataFrame | None = None) -> pd.DataFrame:
    """The games table of a campaign's records in Azure Tables (`iglu_lib.storage`)."""
    from iglu_lib.config import load_profile

    try:
        from iglu_lib.storage import GameRecords
    except ImportError as err:
        raise AnalysisInputError(
            f"reading campaign {campaign!r} needs iglu_lib.storage, which is not available ({err}); "
            "export the campaign to a file and analyse that file instead"
        ) from None
    profile = load_profile(profile_name)
    records = GameRecords.open(profile, campaign).dataframe()
    if records.empty:
        raise AnalysisInputError(
            f"campaign {campaign!r} has no game records in profile {profile_name!r}; "
            "check the campaign name and the profile"
        )
    return load_games(records=records, salt=profile.backend.worker_id_salt(), summaries=summaries)


def load_input(
    input_file: str | Path | None = None,
    *,
    campaign: str | None = None,
    profile_name: str = "local",
    summaries_file: str | Path | None = None,
    root: Path | None = None,
) -> pd.DataFrame:
    """The games table from a campaign's records or an export file (default: the bundled
    one), with the per-game summaries of `summaries_file` joined when given: what the analysis
    notebook and `iglu analyze` take as their inputs.

    Relative paths are taken from `root` (default: the project root). A campaign and an
    export file at once is an error: which one was meant cannot be guessed.
    """
    root = paths.project_root() if root is None else root
    if campaign and input_file:
        raise AnalysisInputError(
            f"both campaign {campaign!r} and input file {input_file!r} are set; "
            "set one of them (the other to null)"
        )
    summaries = read_summaries(root / summaries_file) if summaries_file else None
    if campaign:
        return load_campaign(campaign, profile_name, summaries=summaries)
    return load_games(root / input_file if input_file else None, summaries=summaries)


def read_summaries(path: str | Path) -> pd.DataFrame:
    """Per-game summaries (the games stage's `summaries.csv`), ids kept as text."""
    try:
        return pd.read_csv(path, dtype={"GameMinecraftId": str, "game_id": str})
    except FileNotFoundError:
        raise AnalysisInputError(
            f"{path}: per-game summaries not found; run the games stage (notebook 05) first "
            "or leave the summaries out"
        ) from None


def prepare_games(feedback: pd.DataFrame, summaries: pd.DataFrame | None = None) -> pd.DataFrame:
    """Judgements, workers and summaries added to a frame shaped like `read_feedback`'s."""
    missing = [c for c in [*PUBLISHED_COLUMNS, *USED_DERIVED_COLUMNS] if c not in feedback.columns]
    if missing:
        raise AnalysisInputError(
            f"the games lack the column(s) {', '.join(missing)}; load them with "
            "iglu_lib.platform.feedback.read_feedback or load_games"
        )
    games = _with_workers(_with_judgements(feedback.reset_index(drop=True)))
    return _with_summaries(games, summaries)


def _from_file(path: str | Path) -> pd.DataFrame:
    from iglu_lib.platform.feedback import read_feedback

    return read_feedback(path)


def _from_records(records: pd.DataFrame, salt: str | None) -> pd.DataFrame:
    """Records take the export's own round trip: `write_feedback` (worker ids become keyed
    pseudonyms, free text is scrubbed) to a temporary file, then `read_feedback`, so both
    inputs are parsed by one reader and no raw worker id reaches the analysis outputs."""
    import json
    import tempfile

    from iglu_lib.platform.feedback import write_feedback

    missing = [c for c in PUBLISHED_COLUMNS if c not in records.columns]
    if missing:
        raise AnalysisInputError(
            f"game records lack the column(s) {', '.join(missing)}; pass the campaign's game "
            "records as iglu_lib.storage gives them (GameRecords.dataframe())"
        )
    if not salt:
        raise AnalysisInputError(
            "game records need the worker-id salt (profile.backend.worker_id_salt()) so that worker ids "
            "are hashed before the analysis writes anything"
        )
    raw = records.drop(columns=[c for c in records.columns if c in DERIVED_COLUMNS])
    raw = raw.assign(Annotation=raw["Annotation"].map(
        lambda cell: json.dumps(cell) if isinstance(cell, dict | list) else cell
    ))
    with tempfile.TemporaryDirectory(prefix="iglu-analysis-") as folder:
        export = write_feedback(raw, Path(folder) / "records.csv", salt=salt, extra_columns=True,
                                raw=True)  # read back at once: no person opens it
        return _from_file(export)


def _with_judgements(games: pd.DataFrame) -> pd.DataFrame:
    judgements = [
        judge(annotation if status == "valid" else None, game)
        for annotation, status, game in zip(
            games["annotation"], games["annotation_status"],
            cast("list[dict[str, Any]]", games.to_dict("records")), strict=True  # columns are names
        )
    ]
    return games.assign(
        chosen=pd.array([j.chosen for j in judgements], dtype="boolean"),
        feedback_text=[j.text for j in judgements],
        shown_position=pd.array([j.position for j in judgements], dtype="Int64"),
        # pandas takes None in a list of cells; its stubs do not (here and for outcome).
        judgement_problem=[j.problem for j in judgements],  # type: ignore[misc]
        outcome=[j.outcome for j in judgements],  # type: ignore[misc]
    )


def _with_workers(games: pd.DataFrame) -> pd.DataFrame:
    """`worker`: the (hashed) worker id when the input has one. `worker_quality` is judged per
    worker, or per HIT when workers are unknown (a HIT is one worker's assignment): `good`
    when every game's completion code is `ok` and no game was rejected (`Verdict`)."""
    if "WorkerId" in games.columns:
        worker = games["WorkerId"].where(games["WorkerId"].map(_present), None)
    else:
        worker = pd.Series(None, index=games.index, dtype=object)
    unit = worker.fillna(games["HitId"].map(lambda hit: f"hit:{hit}"))
    clean = games["code_status"] == "ok"
    if "Verdict" in games.columns:
        clean &= games["Verdict"] != REJECTED_VERDICT
    all_clean = clean.groupby(unit).transform("all")
    quality = all_clean.map({True: GOOD_WORKER, False: FLAGGED_WORKER})
    return games.assign(worker=worker, worker_quality=quality)


def _with_summaries(games: pd.DataFrame, summaries: pd.DataFrame | None) -> pd.DataFrame:
    if summaries is None:
        return games
    if "GameMinecraftId" not in summaries.columns and "game_id" in summaries.columns:
        summaries = summaries.rename(columns={"game_id": "GameMinecraftId"})  # GameSummary.as_dict()
    if "GameMinecraftId" not in summaries.columns:
        raise AnalysisInputError(
            "per-game summaries need a GameMinecraftId (or game_id) column to be joined to the games"
        )
    duplicated = summaries["GameMinecraftId"].duplicated()
    if duplicated.any():
        first = summaries.loc[duplicated, "GameMinecraftId"].iloc[0]
        raise AnalysisInputError(f"per-game summaries hold game {first} more than once; keep one row per game")
    clashing = [c for c in summaries.columns if c != "GameMinecraftId" and c in games.columns]
    summaries = summaries.drop(columns=clashing)
    return games.merge(summaries, on="GameMinecraftId", how="left", validate="many_to_one")


def _present(value: object) -> bool:
    return isinstance(value, str) and value.strip() not in ("", "NA")
