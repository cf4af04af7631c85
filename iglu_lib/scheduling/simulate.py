"""Simulated campaigns for planning a design: the real scheduler, the stopping rule and the
analysis model, with a simulated crowd instead of servers.

Agents have true strengths `spacing` log-odds apart (agent-1 best). A HIT's worker is a
random clicker with probability `clickers` (picks uniformly), otherwise picks agent j with
probability proportional to exp(strength_j + first_shown_bias * [j shown first]). Slots are
handed out by `Scheduler` (tasks, instances, counterbalanced orders, the chosen strategy),
`parallel` HITs at a time; each closes valid with the worker's choice as its winner. After
every `check_growth` (2%) more good HITs the stopping rule is checked (a live campaign checks
once per turn, after several HITs); the campaign ends when it fires or at `max_hits`.

What the intervals are checked against: clickers dilute every preference, so the choice
model is misspecified and no design-free "true" strength exists; the fit converges to the
pseudo-true strengths of the comparisons made (`pseudo_true_strengths`: the model fitted to
their exact choice probabilities), which equal the nominal ones without clickers. Coverage is
the share of all agent pairs whose 95% interval of the strength difference, at the stop,
contains the pseudo-true difference of that campaign. `crowd_strengths` in the summary are
those of a balanced design, for reference.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: The level of the intervals whose coverage is reported.
COVERAGE_LEVEL = 0.95


@dataclass(frozen=True)
class Design:
    """One simulated campaign design."""

    agents: int = 6
    spacing: float = 0.35
    strategy: str = "adaptive"
    clickers: float = 0.15
    first_shown_bias: float = 0.3
    confidence: float = 0.95
    max_hits: int = 3000
    k: int = 2
    parallel: int = 2
    tasks: int = 10
    floor: float = 0.3
    focus: float = 2.0
    check_growth: float = 0.02  # the stopping rule is checked whenever good HITs grew by 2%

    def check(self) -> None:
        from iglu_lib.scheduling.model import SchedulingError
        from iglu_lib.scheduling.strategy import STRATEGIES

        problems = []
        if not 2 <= self.agents <= 12:
            problems.append(f"agents must be between 2 and 12, not {self.agents}")
        if not 2 <= self.k <= self.agents:
            problems.append(f"k must be between 2 and the number of agents, not {self.k}")
        if not 0 <= self.clickers <= 1:
            problems.append(f"clickers must be a share between 0 and 1, not {self.clickers}")
        if not 0.5 <= self.confidence < 1:
            problems.append(f"confidence must lie in [0.5, 1), not {self.confidence}")
        if self.max_hits < 1 or self.parallel < 1 or self.tasks < 1:
            problems.append("max_hits, parallel and tasks must be at least 1")
        if self.strategy not in ("balanced", "adaptive"):
            problems.append(f"strategy must be balanced or adaptive, not {self.strategy!r}")
        if self.strategy not in STRATEGIES:
            problems.append(f"unknown strategy {self.strategy!r}")
        if problems:
            raise SchedulingError("; ".join(problems))

    @property
    def agent_names(self) -> list[str]:
        return [f"agent-{i + 1}" for i in range(self.agents)]


@dataclass(frozen=True)
class CampaignResult:
    seed: int
    good_hits: int
    stopped_by: str
    true_order: bool
    covered: int
    pairs: int


def true_strengths(design: Design) -> np.ndarray:
    """Nominal strengths, centred, best first."""
    values = -design.spacing * np.arange(design.agents, dtype=float)
    return values - values.mean()


def effective_strengths(design: Design) -> np.ndarray:
    """The crowd's strengths as the (position-free) choice model sees them: the model fitted to
    the exact choice probabilities, every combination and shown order weighted equally."""
    import itertools

    from iglu_lib.analysis import choice

    theta = true_strengths(design)
    counts: dict[tuple[tuple[int, ...], int], float] = {}
    for order in itertools.permutations(range(design.agents), design.k):
        for winner, p in enumerate(choice_probabilities(theta[list(order)], design)):
            counts[(order, winner)] = 1e6 * p
    return choice.fit(choice.Choices.from_counts(counts, design.agents), prior_sd=1e4).strengths


def choice_probabilities(shown: np.ndarray, design: Design) -> np.ndarray:
    """P(each shown agent is chosen), agents given by their true strengths in shown order."""
    utility = shown.astype(float).copy()
    utility[0] += design.first_shown_bias
    attentive = np.exp(utility - utility.max())
    attentive /= attentive.sum()
    return design.clickers / len(shown) + (1.0 - design.clickers) * attentive


def _scheduler(design: Design, seed: int) -> Any:
    from iglu_lib.scheduling import Scheduler, make_strategy

    names = design.agent_names
    join_codes = {f"task-{t}": {"task_join_code": f"/join T:C:t{t}", "task_id": f"t{t}"}
                  for t in range(design.tasks)}
    instances = {a: [{"agent_instance_id": f"{a}-i{j}", "agent_instance_name": f"#{j}"}
                     for j in range(design.parallel)] for a in names}
    options = {"floor": design.floor, "level": design.confidence, "focus": design.focus} \
        if design.strategy == "adaptive" else {}
    return Scheduler.from_content(join_codes, instances, design.k, seed=seed,
                                  strategy=make_strategy(design.strategy, **options))


def run_campaign(design: Design, seed: int, *, trace: list[dict] | None = None) -> CampaignResult:
    """One simulated campaign; `trace` (if given) gets the intervals after every good HIT."""
    from iglu_lib.analysis import choice
    from iglu_lib.scheduling import Outcome
    from iglu_lib.scheduling.stopping import order_settled

    rng = np.random.default_rng([seed, 7])
    theta = true_strengths(design)
    index = {name: i for i, name in enumerate(design.agent_names)}
    scheduler = _scheduler(design, seed)
    open_slots: deque = deque()
    counts: dict[tuple[tuple[int, ...], int], int] = {}
    wins = np.zeros((design.agents, design.agents))
    made: dict[tuple[int, ...], int] = {}
    fitted, good, stopped_by, next_check = None, 0, "max_hits", 1
    while good < design.max_hits:
        while len(open_slots) < design.parallel and good + len(open_slots) < design.max_hits:
            slot = scheduler.next()
            if slot is None:
                break
            open_slots.append(slot)
        slot = open_slots.popleft()
        shown = [index[a] for a in slot.agents]
        winner = int(rng.choice(len(shown), p=choice_probabilities(theta[shown], design)))
        made[tuple(shown)] = made.get(tuple(shown), 0) + 1
        scheduler.close(slot.slot_id, Outcome.VALID, winner=slot.agents[winner])
        good += 1
        if design.k == 2:
            wins[shown[winner], shown[1 - winner]] += 1
        else:
            key = (tuple(shown), winner)
            counts[key] = counts.get(key, 0) + 1
        if good < next_check and good < design.max_hits:
            continue
        next_check = good + max(1, int(good * design.check_growth))
        start = fitted.strengths if fitted is not None else None
        fitted = (choice.fit_wins(wins, start=start) if design.k == 2 else
                  choice.fit(choice.Choices.from_counts(dict(sorted(counts.items())), design.agents), start=start))
        if trace is not None:
            low, high = fitted.intervals(COVERAGE_LEVEL)
            trace.append({"good_hits": good, "strengths": fitted.strengths.tolist(),
                          "low": low.tolist(), "high": high.tolist()})
        if order_settled(fitted, design.confidence):
            stopped_by = "ranking_confident"
            break
    assert fitted is not None  # the HIT that reaches max_hits (at least 1) always fits
    covered, pairs = _coverage(fitted, pseudo_true_strengths(design, made))
    true_order = bool(np.all(np.diff(fitted.strengths) < 0))
    return CampaignResult(seed, good, stopped_by, true_order, covered, pairs)


def pseudo_true_strengths(design: Design, made: dict[tuple[int, ...], int]) -> np.ndarray:
    """What the fit converges to on the comparisons this campaign made: the choice model fitted
    to their exact choice probabilities. Without clickers it is the true strengths; with them
    the model is misspecified and its target depends on which pairs were compared, so this
    (the pseudo-true value of a misspecified model) is what intervals are checked against."""
    from iglu_lib.analysis import choice

    theta = true_strengths(design)
    counts: dict[tuple[tuple[int, ...], int], float] = {}
    for shown, count in sorted(made.items()):
        for winner, p in enumerate(choice_probabilities(theta[list(shown)], design)):
            counts[(shown, winner)] = counts.get((shown, winner), 0.0) + count * p
    return choice.fit(choice.Choices.from_counts(counts, design.agents), prior_sd=1e4).strengths


_EFFECTIVE: dict[Design, np.ndarray] = {}


def effective_strengths_cached(design: Design) -> np.ndarray:
    if design not in _EFFECTIVE:
        _EFFECTIVE[design] = effective_strengths(design)
    return _EFFECTIVE[design]


def _coverage(fitted: Any, truth: np.ndarray) -> tuple[int, int]:
    """How many of the agent pairs' 95% difference intervals contain the true difference."""
    from iglu_lib.analysis.choice import z_value

    first, second = np.triu_indices(len(truth), k=1)
    estimate = fitted.strengths[first] - fitted.strengths[second]
    sd = fitted.difference_sd()[first, second]
    miss = np.abs(estimate - (truth[first] - truth[second])) > z_value(COVERAGE_LEVEL) * sd
    return int((~miss).sum()), int(first.size)


def simulate(design: Design, seeds: int, *, first_seed: int = 0, workers: int = 1) -> dict[str, Any]:
    """Run `seeds` campaigns and summarise: good HITs to the stop (median, quartiles), share
    ending in the true order, interval coverage, and how each campaign ended. Each campaign
    depends only on its seed, so `workers` processes give the same answer as one."""
    design.check()
    seed_range = range(first_seed, first_seed + seeds)
    if workers > 1:
        import functools
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(functools.partial(run_campaign, design), seed_range, chunksize=4))
    else:
        results = [run_campaign(design, seed) for seed in seed_range]
    return summarise(design, results)


def summarise(design: Design, results: list[CampaignResult]) -> dict[str, Any]:
    hits = np.array([r.good_hits for r in results], dtype=float)
    quartiles = np.percentile(hits, [25, 50, 75]) if len(hits) else [np.nan] * 3
    ended: dict[str, int] = {}
    for r in results:
        ended[r.stopped_by] = ended.get(r.stopped_by, 0) + 1
    covered, pairs = sum(r.covered for r in results), sum(r.pairs for r in results)
    return {
        "design": asdict(design),
        "seeds": len(results),
        "good_hits_median": float(quartiles[1]),
        "good_hits_quartiles": [float(quartiles[0]), float(quartiles[2])],
        "true_order_share": float(np.mean([r.true_order for r in results])) if results else None,
        "wrong_order_share": float(np.mean([not r.true_order for r in results])) if results else None,
        "ci_coverage": covered / pairs if pairs else None,
        "coverage_level": COVERAGE_LEVEL,
        "stopped_by": ended,
        "true_strengths": true_strengths(design).round(4).tolist(),
        "crowd_strengths": effective_strengths_cached(design).round(4).tolist(),
    }


def narrowing(design: Design, seed: int = 0) -> tuple[Any, CampaignResult]:
    """One campaign's intervals as they narrow: a table (good_hits, agent, strength, low, high)
    at every check of the stopping rule, and how the campaign ended."""
    import pandas as pd

    design.check()
    trace: list[dict] = []
    result = run_campaign(design, seed, trace=trace)
    rows = [{"good_hits": step["good_hits"], "agent": agent, "strength": s, "low": lo, "high": hi}
            for step in trace
            for agent, s, lo, hi in zip(design.agent_names, step["strengths"], step["low"], step["high"],
                                        strict=True)]
    return pd.DataFrame(rows, columns=["good_hits", "agent", "strength", "low", "high"]), result


def narrowing_figure(traces: dict[str, tuple[Any, CampaignResult]]) -> Any:
    """Intervals of each agent against good HITs, one panel per strategy, with the stop marked."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5 * len(traces), 3.6))
    panels = figure.subplots(1, len(traces), sharey=True, squeeze=False)[0]
    for axes, (label, (table, result)) in zip(panels, traces.items(), strict=True):
        for agent, rows in table.groupby("agent", sort=False):
            line = axes.plot(rows["good_hits"], rows["strength"], label=agent)[0]
            axes.fill_between(rows["good_hits"], rows["low"], rows["high"], alpha=0.15, color=line.get_color())
        axes.axvline(result.good_hits, color="black", linestyle="--", linewidth=0.8)
        axes.set_title(f"{label}: stopped at {result.good_hits} good HITs ({result.stopped_by})", fontsize="small")
        axes.set_xlabel("good HITs")
        axes.set_xscale("log")
    panels[0].set_ylabel("strength (log-odds), 95% interval")
    panels[-1].legend(loc="best", fontsize="x-small")
    figure.tight_layout()
    return figure


def planning_table(summaries: dict[str, dict[str, Any]]) -> Any:
    """One row per strategy of `simulate`'s summaries, as a person compares them, and the
    adaptive strategy's median good HITs as a share of balanced's (None without both)."""
    import pandas as pd

    table = pd.DataFrame([{"strategy": name, "median good HITs": s["good_hits_median"],
                           "quartiles": s["good_hits_quartiles"], "true order": s["true_order_share"],
                           "interval coverage": s["ci_coverage"], "ended by": s["stopped_by"]}
                          for name, s in summaries.items()])
    if {"adaptive", "balanced"} <= set(summaries):
        table.attrs["adaptive_share"] = (summaries["adaptive"]["good_hits_median"]
                                         / summaries["balanced"]["good_hits_median"])
    return table
