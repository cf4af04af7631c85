"""The analysis's evidence view: HITs with a game whose stored data could not confirm its agent
or its time (`agent_unverified`, `time_unverified`) can be left out, beside the other views."""

from __future__ import annotations

import json

from iglu_lib.analysis import analyze, load_games
from iglu_lib.analysis.report import verified_only


def test_the_verified_only_view_leaves_out_the_hits_of_unverified_games():
    games = load_games()
    assert verified_only(games) is None, "the published export carries no reasons: no such view"
    decisive = games.loc[games["chosen"].notna(), "HitId"].drop_duplicates()
    unverified = set(decisive.iloc[:40])
    games = games.assign(Reasons=[json.dumps(["agent_unverified"]) if hit in unverified else "[]"
                                  for hit in games["HitId"]])
    analysis = analyze(games, replicates=50, seed=0)
    view = analysis.summary()["evidence_sensitivity"]
    assert view["excluded_hits"] == 40
    assert analysis.evidence_comparisons.counts()["hits"] == analysis.comparisons.counts()["hits"] - 40
    assert "strength_verified_only" in analysis.sensitivity_table().columns
