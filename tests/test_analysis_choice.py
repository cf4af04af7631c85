"""The ranking model: one choice among k per HIT with a weak prior, checked against an
independent optimiser, on a small multi-agent rehearsal, and for interval ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from iglu_lib.analysis import choice
from iglu_lib.analysis.loading import prepare_games
from iglu_lib.analysis.ranking import interval_ranks
from iglu_lib.analysis.report import analyze

TASK = "03794642-d5dc-40df-bd41-4cd898ae6b7c"


def _rows(seed: int, n: int, k: int, count: int, theta: np.ndarray, gamma: float):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        members = rng.choice(n, k, replace=False)
        utility = theta[members] + gamma * (np.arange(k) == 0)
        p = np.exp(utility) / np.exp(utility).sum()
        rows.append((members.tolist(), int(rng.choice(k, p=p))))
    return rows


@pytest.mark.parametrize(("k", "position"), [(2, False), (3, False), (3, True)])
def test_posterior_mode_matches_an_independent_optimiser(k, position):
    n, theta = 4, np.array([0.9, 0.3, -0.2, -1.0])
    rows = _rows(1, n, k, 150, theta, 0.4)
    fitted = choice.fit(choice.Choices.from_rows(rows, n), position=position)

    def negative(beta):
        total = 0.0
        for members, winner in rows:
            u = beta[:n][members] + (beta[n] * (np.arange(k) == 0) if position else 0.0)
            total += u[winner] - np.log(np.exp(u).sum())
        return -(total - 0.5 * beta @ beta / choice.PRIOR_SD**2)

    reference = minimize(negative, np.zeros(n + int(position)), method="BFGS", options={"gtol": 1e-8}).x
    assert np.allclose(fitted.strengths, reference[:n] - reference[:n].mean(), atol=1e-4)
    if position:
        assert fitted.gamma == pytest.approx(reference[n], abs=1e-4)
    low, high = fitted.intervals()
    assert (low < fitted.strengths).all() and (fitted.strengths < high).all()


def test_no_data_gives_the_prior_and_more_data_narrows_the_interval():
    empty = choice.fit(choice.Choices.from_rows([], 3))
    assert np.allclose(empty.strengths, 0) and np.allclose(empty.difference_sd()[0, 1], 2 * np.sqrt(2) / np.sqrt(1))
    rows = _rows(2, 3, 2, 40, np.array([0.5, 0.0, -0.5]), 0.0)
    small = choice.fit(choice.Choices.from_rows(rows[:10], 3))
    large = choice.fit(choice.Choices.from_rows(rows, 3))
    assert (large.difference_sd()[0][1:] < small.difference_sd()[0][1:]).all()


def test_interval_ranks_follow_arenas_rule():
    low = np.array([1.0, 0.5, -0.2, -2.0])
    high = np.array([2.0, 1.5, 0.4, -1.0])
    # 0 and 1 overlap (both 1); 2's upper bound 0.4 lies below the lower bounds of 0 and 1 (3);
    # 3's upper bound lies below all three (4)
    assert interval_ranks(low, high).tolist() == [1, 1, 3, 4]


def _multi_hit(hit: str, agents: list[str], best: str, worker: str) -> list[dict]:
    return [{"HitId": hit, "GameMinecraftId": f"{hit}-{a}", "TaskMinecraftId": TASK, "AgentName": a,
             "Annotation": "", "CompletionCode": "code", "annotation_status": "valid",
             "annotation": {"was_chosen_best": a == best, "agent_performance": ""},
             "code_status": "ok", "shown_position": position + 1, "worker": worker}
            for position, a in enumerate(agents)]


def test_a_twelve_hit_multi_agent_rehearsal_where_one_agent_never_won_gets_a_ranking():
    agents = ["A", "B", "C", "D"]
    rows = []
    winners = ["A", "A", "B", "A", "C", "B", "A", "B", "C", "A", "B", "A"]
    for h, best in enumerate(winners):
        shown = [agents[(h + i) % 4] for i in range(4)][:3]
        if best not in shown:
            shown[1] = best
        rows += _multi_hit(f"h{h}", shown, best, f"w{h % 3}")
    games = prepare_games(pd.DataFrame(rows))
    result = analyze(games, replicates=200)
    assert result.ranking.problem is None
    table = result.ranking.table.set_index("agent")
    assert table.loc["D", "strength"] == table["strength"].min()  # never won
    assert table.loc["D", "strength_high"] - table.loc["D", "strength_low"] > 2  # and is uncertain
    assert result.ranking.order[0] == "A"
    per_agent = result.comparisons.per_agent().set_index("agent")
    # one comparison per HIT: never more decisive comparisons than comparisons
    assert (per_agent["decisive"] <= per_agent["comparisons"]).all()
    assert per_agent["wins"].sum() == 12 and per_agent.loc["D", "wins"] == 0
    # the model sees 12 choices among 3, not 24 loose pairs
    assert result.ranking.fit.observations == 12
    summary = result.summary()
    assert summary["ranking"]["agents"][0]["interval_rank"] == 1
