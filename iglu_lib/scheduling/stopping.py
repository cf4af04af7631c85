"""When a campaign may stop creating HITs: the target, the budget, or a settled ranking.

`stop_when: {ranking_confident: 0.95}` stops once the full order is settled at that level:
the agents are put in the order of the fitted strengths (`iglu_lib.analysis.choice`, the
model of the ranking table) and each of the n-1 differences between neighbours must have
its interval exclude zero, the intervals being simultaneous at the level (Bonferroni: each
at 1 - (1 - level) / (n - 1)). Only preferences of valid slots count, so the rule works
the same for balanced and adaptive campaigns; and only evidence from many workers
(`scheduling.evidence`: at least `min_workers` distinct workers, each weighing at most
`max_judgements_per_worker` judgements, flagged workers left out), so one worker's judgements
alone never settle it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iglu_lib.scheduling.evidence import EvidenceRules
    from iglu_lib.scheduling.scheduler import Scheduler, StrategyFactory

#: The rules `stop_when` may name, and what each needs.
STOP_RULES = {"ranking_confident": "a level between 0.5 and 1, e.g. 0.95"}


def check_stop_when(stop_when: object, source: str = "parameters") -> dict[str, float]:
    """The `stop_when` mapping, checked: known rules with usable values."""
    from iglu_lib.scheduling.model import SchedulingError

    if stop_when in (None, {}):
        return {}
    if not isinstance(stop_when, Mapping):
        raise SchedulingError(f"{source}: stop_when must be a mapping such as {{ranking_confident: 0.95}}")
    unknown = sorted(set(stop_when) - set(STOP_RULES))
    if unknown:
        raise SchedulingError(f"{source}: unknown stop_when rule(s) {', '.join(map(str, unknown))}; "
                              f"known: {', '.join(STOP_RULES)}")
    level = stop_when.get("ranking_confident")
    if not isinstance(level, (int, float)) or isinstance(level, bool) or not 0.5 <= float(level) < 1.0:
        raise SchedulingError(f"{source}: stop_when.ranking_confident must be {STOP_RULES['ranking_confident']}, "
                              f"not {level!r}")
    return {"ranking_confident": float(level)}


def check_scheduling(scheduling: object, source: str = "parameters", stop_when: object = None,
                     evidence: EvidenceRules | None = None) -> StrategyFactory:
    """The strategy factory that `scheduling: {strategy: adaptive, floor: 0.1}` names, checked
    by building it once on a tiny inventory (so a bad option fails at load, not mid-campaign).
    An adaptive strategy aims at the level of `stop_when.ranking_confident` unless it is given
    its own `level`, and follows the campaign's `evidence` rules (an `EvidenceRules`) when given."""
    from iglu_lib.scheduling.model import Inventory, SchedulingError
    from iglu_lib.scheduling.strategy import make_strategy

    if scheduling in (None, {}):
        return make_strategy("balanced")
    if not isinstance(scheduling, Mapping):
        raise SchedulingError(f"{source}: scheduling must be a mapping such as {{strategy: adaptive}}")
    options = dict(scheduling)
    name = options.pop("strategy", "balanced")
    if name == "adaptive" and "level" not in options and isinstance(stop_when, Mapping) \
            and "ranking_confident" in stop_when:
        options["level"] = stop_when["ranking_confident"]
    if name == "adaptive" and evidence is not None:
        options.setdefault("min_workers", evidence.min_workers)
        options.setdefault("max_judgements_per_worker", evidence.max_judgements_per_worker)
    factory = make_strategy(str(name), **options)
    probe = Inventory.from_content({"t": {"task_join_code": "j"}}, {"a": [{"agent_instance_id": "a1"}],
                                                                    "b": [{"agent_instance_id": "b1"}]})
    try:
        factory(probe, probe.combinations(2), 0)
    except TypeError as err:
        raise SchedulingError(f"{source}: scheduling options of {name!r}: {err}") from None
    except SchedulingError as err:
        raise SchedulingError(f"{source}: {err}") from None
    return factory


def adjacent_z(level: float, n_agents: int) -> float:
    """The z each neighbour difference must reach: two-sided Bonferroni over n-1 pairs."""
    from iglu_lib.analysis.choice import z_value

    return z_value(1.0 - (1.0 - level) / max(1, n_agents - 1))


def order_settled(fitted: Any, level: float) -> bool:
    """Whether every difference between neighbours in the fitted order excludes zero at `level`
    (simultaneously)."""
    import numpy as np

    strengths = fitted.strengths
    order = np.argsort(-strengths, kind="stable")
    sd = fitted.difference_sd()
    z = (strengths[order[:-1]] - strengths[order[1:]]) / sd[order[:-1], order[1:]]
    return bool(np.all(z > adjacent_z(level, len(strengths))))


def fit_preferences(preferences: Sequence[tuple[Sequence[str], str]], agents: Sequence[str]) -> Any:
    """The choice model fitted to `(agents in shown order, winner)` pairs."""
    from iglu_lib.analysis import choice

    index = {agent: i for i, agent in enumerate(agents)}
    rows = [([index[a] for a in shown], list(shown).index(winner)) for shown, winner in preferences]
    return choice.fit(choice.Choices.from_rows(rows, len(agents)))


def ranking_confident(preferences: Sequence[tuple[Sequence[str], str]], agents: Sequence[str],
                      level: float) -> bool:
    """Whether these preferences settle the full order of `agents` at `level`."""
    if len(agents) < 2:
        return False
    return order_settled(fit_preferences(preferences, agents), level)


def stop_rule_reached(scheduler: Scheduler, stop_when: Mapping[str, Any] | None,
                      evidence: EvidenceRules | None = None) -> str | None:
    """The name of the `stop_when` rule that says stop (`"ranking_confident"`), or None.

    Reads the preferences the scheduler was given (`close(slot_id, outcome, winner=..., worker=...)`
    or the records at `restore`), weighed by the `evidence` rules (an `EvidenceRules`; default:
    its defaults); without enough of them no rule fires.
    """
    from iglu_lib.scheduling.evidence import ranking_settled, weigh

    rules = check_stop_when(stop_when)
    level = rules.get("ranking_confident")
    if level is not None and ranking_settled(weigh(scheduler.judgements(), evidence), scheduler.inventory.agents,
                                             level):
        return "ranking_confident"
    return None
