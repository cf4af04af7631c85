"""What notebook 06 calls: its inputs loaded in one call, and the feedback terms side by side."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from iglu_lib.analysis.breakdowns import feedback_term_matrix
from iglu_lib.analysis.loading import AnalysisInputError, default_input, load_games, load_input


@pytest.fixture
def export(tmp_path):
    """The bundled export, copied under a root, with the first game named and summarised."""
    frame = pd.read_csv(default_input(), dtype=str, keep_default_na=False)
    named = frame.index[frame["GameMinecraftId"] != "NA"][0]
    shutil.copy(default_input(), tmp_path / "export.csv")
    pd.DataFrame({"GameMinecraftId": [frame.at[named, "GameMinecraftId"]], "structure_f1": [0.75]}).to_csv(
        tmp_path / "summaries.csv", index=False)
    return frame.at[named, "GameMinecraftId"]


def test_an_export_and_its_summaries_are_read_relative_to_the_root(tmp_path, export):
    games = load_input("export.csv", summaries_file="summaries.csv", root=tmp_path)
    assert len(games) == len(load_games())
    scored = games.loc[games["structure_f1"].notna(), "GameMinecraftId"]
    assert list(scored.unique()) == [export]


def test_without_inputs_the_bundled_export_is_loaded():
    games = load_input()
    assert "structure_f1" not in games.columns
    assert games["HitId"].tolist() == load_games()["HitId"].tolist()


def test_a_campaign_and_a_file_at_once_is_an_error(tmp_path):
    with pytest.raises(AnalysisInputError, match="both campaign 'c' and input file 'export.csv'"):
        load_input("export.csv", campaign="c", root=tmp_path)


def test_missing_summaries_name_the_file_and_the_stage(tmp_path):
    with pytest.raises(AnalysisInputError, match=r"summaries.csv: per-game summaries not found.*notebook 05"):
        load_input(summaries_file="summaries.csv", root=tmp_path)


def test_term_matrix_puts_agents_side_by_side_in_their_order():
    terms = pd.DataFrame({
        "agent": ["A", "A", "B", "B"], "term": ["blocks", "slow", "blocks", "great"],
        "count": [5, 2, 3, 9], "feedbacks": [4, 4, 6, 6],
    })
    matrix = feedback_term_matrix(terms, ["A", "B", "C"], top=2)
    assert list(matrix.columns) == ["A", "B", "C"]
    assert list(matrix.index) == ["blocks", "slow"]  # sorted by A, then B
    assert matrix.loc["slow"].tolist() == [2, 0, 0] and matrix["C"].dtype.kind == "i"
