"""The stopping rule, the design simulator and `iglu simulate`: honest intervals under both
strategies (coverage of the true strength differences over hundreds of campaigns), the
stop rule as a pure function, and the campaign parameters that switch them on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from iglu_lib import paths
from iglu_lib.cli import main
from iglu_lib.collection.params import CampaignParams
from iglu_lib.config import ConfigError
from iglu_lib.scheduling import Outcome, Scheduler, SchedulingError
from iglu_lib.scheduling.simulate import Design, effective_strengths, simulate, true_strengths
from iglu_lib.scheduling.stopping import (
    check_stop_when,
    ranking_confident,
    stop_rule_reached,
)
from tests.test_scheduling_scheduler import agent_instances, join_codes

#: Small campaigns, so hundreds of them fit in a test: 3 agents 0.6 log-odds apart, 10% clickers.
SMALL = {"agents": 3, "spacing": 0.6, "clickers": 0.1, "first_shown_bias": 0.3, "max_hits": 1500}


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["balanced", "adaptive"])
def test_intervals_cover_the_true_differences_in_200_campaigns(strategy):
    summary = simulate(Design(strategy=strategy, **SMALL), 200, workers=2)
    assert summary["seeds"] == 200
    assert summary["ci_coverage"] >= 0.93, summary
    assert summary["wrong_order_share"] <= 0.05, summary
    assert summary["stopped_by"] == {"ranking_confident": 200}


def test_a_few_campaigns_of_each_strategy_stop_confident_in_the_true_order():
    """A fast version of the test above (the saving of adaptive is measured by `make bench`)."""
    for strategy in ("balanced", "adaptive"):
        summary = simulate(Design(strategy=strategy, **SMALL), 8, first_seed=1000)
        assert summary["stopped_by"] == {"ranking_confident": 8}
        assert summary["true_order_share"] >= 0.9 and summary["ci_coverage"] >= 0.85, summary


def test_clickers_dilute_the_strengths_the_crowd_shows():
    design = Design(agents=4, spacing=0.5, clickers=0.3, first_shown_bias=0.0)
    nominal, crowd = true_strengths(design), effective_strengths(design)
    assert np.all(np.diff(crowd) < 0) and np.all(np.abs(crowd) < np.abs(nominal))
    assert np.allclose(effective_strengths(Design(agents=4, spacing=0.5, clickers=0.0, first_shown_bias=0.0)),
                       nominal, atol=1e-3)


def test_the_stop_rule_is_a_pure_function_of_the_preferences():
    agents = ["A", "B", "C"]
    clear = [(("A", "B"), "A")] * 60 + [(("B", "C"), "B")] * 60 + [(("C", "A"), "A")] * 30
    assert ranking_confident(clear, agents, 0.95)
    assert not ranking_confident(clear[:3] + clear[60:63], agents, 0.95)
    mixed = [(("A", "B"), "A")] * 30 + [(("A", "B"), "B")] * 28 + [(("B", "C"), "B")] * 60
    assert not ranking_confident(mixed, agents, 0.95)  # A and B are not separated
    assert not ranking_confident([], agents, 0.95)


def test_stop_rule_reads_the_winners_the_scheduler_was_given():
    scheduler = Scheduler.from_content(join_codes(3), agent_instances("AB", 1), 2)
    assert stop_rule_reached(scheduler, {"ranking_confident": 0.95}) is None
    for _ in range(40):
        slot = scheduler.next()
        scheduler.close(slot.slot_id, Outcome.VALID, winner="A")
    assert stop_rule_reached(scheduler, {"ranking_confident": 0.95}) == "ranking_confident"
    assert stop_rule_reached(scheduler, {}) is None


@pytest.mark.parametrize(("stop_when", "message"), [
    ({"ranking_confident": 1.2}, "between 0.5 and 1"),
    ({"ranking_confident": True}, "between 0.5 and 1"),
    ({"confident": 0.9}, "unknown stop_when rule"),
    ([0.95], "must be a mapping"),
])
def test_bad_stop_rules_are_refused(stop_when, message):
    with pytest.raises(SchedulingError, match=message):
        check_stop_when(stop_when)


def test_campaign_parameters_take_a_strategy_and_a_stop_rule():
    base = {"campaign": "c", "join_codes": "j.json", "agent_instances": "a.json"}
    params = CampaignParams.from_mapping({**base, "scheduling": {"strategy": "adaptive", "floor": 0.1},
                                          "stop_when": {"ranking_confident": 0.95}})
    assert params.scheduling["strategy"] == "adaptive"
    example = CampaignParams.from_file(paths.project_root() / "params" / "campaigns" / "demo-adaptive.yaml")
    assert example.scheduling["strategy"] == "adaptive" and example.stop_when == {"ranking_confident": 0.95}
    with pytest.raises(ConfigError, match="scheduling.strategy is 'thompson'.*allowed: one of balanced"):
        CampaignParams.from_mapping({**base, "scheduling": {"strategy": "thompson"}})
    with pytest.raises(ConfigError, match="unknown key scheduling.flor .did you mean floor"):
        CampaignParams.from_mapping({**base, "scheduling": {"strategy": "adaptive", "flor": 0.1}})
    with pytest.raises(ConfigError, match="ranking_confident"):
        CampaignParams.from_mapping({**base, "stop_when": {"ranking_confident": 2}})


def test_iglu_simulate_prints_the_planning_figures(capsys):
    args = ["simulate", "--agents", "3", "--spacing", "0.8", "--strategy", "adaptive", "--seeds", "4",
            "--clickers", "0.1", "--first-shown-bias", "0.3", "--confidence", "0.9", "--max-hits", "500"]
    assert main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seeds"] == 4 and summary["design"]["strategy"] == "adaptive"
    low, high = summary["good_hits_quartiles"]
    assert low <= summary["good_hits_median"] <= high <= 500
    assert 0 <= summary["true_order_share"] <= 1 and 0 <= summary["ci_coverage"] <= 1
    assert main(args) == 0
    assert "good HITs to stop: median" in capsys.readouterr().out
    assert main(["simulate", "--agents", "1", "--seeds", "2"]) == 2
    assert "agents must be between 2 and 12" in capsys.readouterr().err


def test_planning_table_compares_the_strategies_and_gives_adaptive_s_share():
    from iglu_lib.scheduling.simulate import planning_table

    summaries = {name: {"good_hits_median": median, "good_hits_quartiles": [1, 2], "true_order_share": 1.0,
                        "ci_coverage": 0.95, "stopped_by": {"ranking_confident": 3}}
                 for name, median in (("balanced", 200), ("adaptive", 120))}
    table = planning_table(summaries)
    assert list(table["strategy"]) == ["balanced", "adaptive"]
    assert table.attrs["adaptive_share"] == 0.6
