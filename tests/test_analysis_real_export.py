"""The issue's numbers on the bundled real export, through the CLI and the records path."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from iglu_lib.analysis.loading import AnalysisInputError, default_input, load_games
from iglu_lib.analysis.report import analyze, write_outputs
from iglu_lib.cli import main


def test_iglu_analyze_json_reports_the_published_evaluation(tmp_path, capsys):
    out = tmp_path / "analysis"
    assert main(["analyze", "--out", str(out), "--json", "--replicates", "300"]) == 0
    summary = json.loads(capsys.readouterr().out)
    counts = summary["counts"]
    assert (counts["hits"], counts["complete_comparisons"], counts["decisive"], counts["no_decision"]) == (
        211, 69, 64, 5)
    assert counts["malformed_annotations"] == 1
    assert counts["malformed_annotation_hits"] == ["3D17ECOUPNZD6LJRJRAQZ2W0M2813D"]
    assert counts["excluded_hits"] == {"not annotated": 141, "malformed annotation (not JSON)": 1}
    wins = {row["agent"]: (row["wins"], row["decisive"]) for row in summary["per_agent"]}
    assert wins == {"Happy": (24, 39), "MHB": (21, 42), "Felipe": (19, 47)}
    assert summary["ranking"]["order"] == ["Happy", "MHB", "Felipe"]
    best = {row["agent"]: row["p_best"] for row in summary["ranking"]["agents"]}
    assert sum(best.values()) == pytest.approx(1.0) and best["Happy"] > best["MHB"] > best["Felipe"]
    assert summary["position_bias"]["known_order"] == 0 and summary["position_bias"]["note"]
    assert summary["workers"] == {"workers": 0, "hits": 64, "hits_without_worker": 64, "most_hits_by_one_worker": 0}
    sensitivity = summary["sensitivity"]
    assert sensitivity["counts"]["complete_comparisons"] < 69
    assert set(sensitivity["ranking"]["order"]) == {"Happy", "MHB", "Felipe"}
    for name in ("win_matrix.png", "strengths.png", "win_rates_per_task.png", "ranking.csv", "ranking.md",
                 "sensitivity.csv", "per_agent.md", "worker_quality.csv", "feedback_terms.csv"):
        assert (out / name).stat().st_size > 0, name
    matrix = pd.read_csv(out / "win_matrix.csv").set_index("winner")
    assert matrix.loc["Happy", "Felipe"] + matrix.loc["MHB", "Felipe"] == 28
    malformed = pd.read_csv(out / "malformed_annotations.csv")
    assert malformed["HitId"].tolist() == ["3D17ECOUPNZD6LJRJRAQZ2W0M2813D"]


def test_the_same_games_as_campaign_records_give_the_same_answer():
    raw = pd.read_csv(default_input(), dtype=str, keep_default_na=False)
    records = raw.assign(PartitionKey="campaign", RowKey=raw.index.astype(str), JoinCode="",
                         WorkerId=[f"A{i // 2:012d}XYZ" for i in range(len(raw))])
    games = load_games(records=records, salt="test-salt")
    analysis = analyze(games, replicates=50)
    counts = analysis.comparisons.counts()
    assert (counts["complete_comparisons"], counts["decisive"]) == (69, 64)
    assert analysis.ranking.order == ["Happy", "MHB", "Felipe"]
    assert games["worker"].str.fullmatch(r"worker-[0-9a-f]{16}").all()  # hashed, never raw
    assert games["worker"].nunique() == 211
    with pytest.raises(AnalysisInputError, match="AgentName"):
        load_games(records=records.drop(columns=["AgentName"]), salt="test-salt")
    with pytest.raises(AnalysisInputError, match="salt"):
        load_games(records=records)
    with pytest.raises(AnalysisInputError, match="not both"):
        load_games(default_input(), records=records, salt="test-salt")


def test_hostile_text_cannot_change_the_markdown_tables(tmp_path):
    raw = pd.read_csv(default_input(), dtype=str, keep_default_na=False)
    hostile = 'bad | cell\n| injected | row | <script>alert("x")</script> &amp; \\'
    first = raw.index[raw["Annotation"].str.contains("was_chosen_best")][0]
    raw.loc[first, "Annotation"] = json.dumps({"was_chosen_best": True, "agent_performance": hostile})
    games = load_games(records=raw, salt="test-salt")
    write_outputs(analyze(games, replicates=20), tmp_path)
    table = (tmp_path / "feedback_texts.md").read_text()
    lines = table.splitlines()
    assert all(line.count("|") - line.count("\\|") == lines[0].count("|") for line in lines)
    assert "<script>" not in table and "&lt;script&gt;" in table


def test_missing_input_file_is_a_one_line_error(tmp_path, capsys):
    assert main(["analyze", "--input", str(tmp_path / "nope.csv"), "--out", str(tmp_path)]) == 2
    assert "nope.csv" in capsys.readouterr().err


FORMULAS = ['=HYPERLINK("http://evil.test","click")', "@SUM(A1:A9)", "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "\t=1+1"]


def _formula_leading(cell: str) -> bool:
    """A cell a spreadsheet would run: formula-leading and not a plain number."""
    try:
        float(cell)
        return False
    except ValueError:
        return cell[:1] in ("=", "+", "-", "@", "\t", "\r")


def test_no_formula_from_workers_reaches_the_csv_tables_unescaped(tmp_path):
    """Workers' feedback and a hostile agent name start like formulas; every CSV table holds
    them with a leading quote, negative numbers stay numbers, and `raw` keeps them as they are."""
    import csv

    raw = pd.read_csv(default_input(), dtype=str, keep_default_na=False)
    chosen = raw.index[raw["Annotation"].str.contains("was_chosen_best")][: len(FORMULAS)]
    for row, formula in zip(chosen, FORMULAS, strict=True):
        raw.loc[row, "Annotation"] = json.dumps({"was_chosen_best": True, "agent_performance": formula})
    raw.loc[raw["AgentName"] == raw.loc[chosen[0], "AgentName"], "AgentName"] = "=EVIL()"
    analysis = analyze(load_games(records=raw, salt="test-salt"), replicates=20)
    write_outputs(analysis, tmp_path / "safe")
    write_outputs(analysis, tmp_path / "raw", raw=True)
    found, negative = set(), 0
    for path in sorted((tmp_path / "safe").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert not [c for c in cells if _formula_leading(c)], path.name
        found |= {c[1:] for c in cells if c.startswith("'")}
        negative += sum(1 for c in cells if c.startswith("-"))
    for formula in (*FORMULAS, "=EVIL()"):  # as the analysis keeps them: stripped, links scrubbed
        assert any(cell.startswith(formula.strip()[:6]) for cell in found), formula
    assert negative > 0  # e.g. strengths below zero, written as numbers
    texts = pd.read_csv(tmp_path / "raw" / "feedback_texts.csv", dtype=str, keep_default_na=False)
    kept = {cell for column in texts.columns for cell in texts[column]}
    assert {"@SUM(A1:A9)", "+cmd|' /C calc'!A0"} <= kept


def test_the_terminal_says_how_many_workers_the_ranking_rests_on(tmp_path, capsys):
    from iglu_lib.analysis.cli import workers_line

    assert main(["analyze", "--out", str(tmp_path), "--replicates", "50"]) == 0
    assert "the ranking rests on 64 HITs whose workers the input does not name" in capsys.readouterr().out
    assert workers_line({"workers": 7, "hits": 40, "hits_without_worker": 0, "most_hits_by_one_worker": 9}) == \
        "the ranking rests on 7 workers (40 HITs, at most 9 by one worker)"
    assert workers_line({"workers": 0, "hits": 0, "hits_without_worker": 0, "most_hits_by_one_worker": 0}) == \
        "the ranking rests on no judgement"
