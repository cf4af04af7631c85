"""Evidence from many workers: which judgements the stopping rule and the adaptive strategy
may rest on.

One worker's judgements are not independent evidence: a worker who always prefers the agent
shown second, or who has a stake in the result, can answer 27 HITs in one direction and, read
as 27 independent choices, settle an inverted order at 95%. So a decision about the ranking
(`stop_when: ranking_confident`, the adaptive strategy's focus) rests on the crowd:

- it needs judgements from at least `min_workers` distinct workers (default 5);
- no worker weighs more than `max_judgements_per_worker` judgements (default 10): a worker
  with n > K judgements has each weighted K / n, so the decision never depends on which of
  their judgements came first, and a restore decides as the run that wrote the records;
- workers the annotator safeguard flags (`analysis.annotators`: agreement with the other
  workers' consensus far below the crowd's) are left out (`leave_out_flagged`, default on).

A judgement without a worker id (a simulation) counts as a worker of its own; the collection
loop always knows the worker. Whether judgements beyond `max_hits_per_worker` (a worker who
accepted several HITs at once) count at all is decided when they are judged
(`count_beyond_worker_cap`, default off: paid, not counted); see `collection.evidence`.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iglu_lib.scheduling.model import SchedulingError

#: The `evidence` parameters and their defaults.
DEFAULT_MIN_WORKERS = 5
DEFAULT_MAX_JUDGEMENTS_PER_WORKER = 10


@dataclass(frozen=True)
class EvidenceRules:
    """How many workers a decision needs and how much one worker may weigh in it."""

    min_workers: int = DEFAULT_MIN_WORKERS
    max_judgements_per_worker: int | None = DEFAULT_MAX_JUDGEMENTS_PER_WORKER  # None: no cap
    leave_out_flagged: bool = True
    count_beyond_worker_cap: bool = False  # judgements beyond max_hits_per_worker count (read by the loop)

    @classmethod
    def from_params(cls, values: object, source: str = "parameters") -> EvidenceRules:
        """The campaign's `evidence` mapping, checked (left out: the defaults)."""
        if values in (None, {}):
            return cls()
        if not isinstance(values, Mapping):
            raise SchedulingError(f"{source}: evidence must be a mapping such as {{min_workers: 5}}")
        known = {"min_workers", "max_judgements_per_worker", "leave_out_flagged", "count_beyond_worker_cap"}
        unknown = sorted(set(map(str, values)) - known)
        if unknown:
            raise SchedulingError(f"{source}: unknown evidence option(s) {', '.join(unknown)}; "
                                  f"known: {', '.join(sorted(known))}")
        rules = cls(**{str(key): value for key, value in values.items()})
        rules.check(source)
        return rules

    def check(self, source: str = "parameters") -> None:
        if not _is_int(self.min_workers) or self.min_workers < 1:
            raise SchedulingError(f"{source}: evidence.min_workers must be a whole number of at least 1, "
                                  f"not {self.min_workers!r}")
        cap = self.max_judgements_per_worker
        if cap is not None and (not _is_int(cap) or cap < 1):
            raise SchedulingError(f"{source}: evidence.max_judgements_per_worker must be a whole number of at "
                                  f"least 1 (or null: no cap), not {cap!r}")
        for name in ("leave_out_flagged", "count_beyond_worker_cap"):
            if not isinstance(getattr(self, name), bool):
                raise SchedulingError(f"{source}: evidence.{name} must be true or false")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class WorkerPreference:
    """A valid slot's preference: the agents in shown order, the one chosen best, and who chose."""

    agents: tuple[str, ...]
    winner: str
    worker: str | None = None


@dataclass(frozen=True)
class Evidence:
    """What a decision may rest on: the counted preferences with their weights, and why the rest
    weighs less or nothing."""

    weighted: tuple[tuple[WorkerPreference, float], ...]
    workers: int                        # distinct workers counted
    judgements: int                     # preferences before any rule
    flagged_workers: tuple[str, ...]    # left out by the annotator safeguard
    capped_workers: int                 # workers weighted down to the cap
    rules: EvidenceRules

    @property
    def weight(self) -> float:
        """The counted preferences' total weight (at most the number of counted judgements)."""
        return sum(weight for _, weight in self.weighted)

    @property
    def enough_workers(self) -> bool:
        return self.workers >= self.rules.min_workers

    def as_dict(self) -> dict[str, Any]:
        return {"workers": self.workers, "min_workers": self.rules.min_workers,
                "enough_workers": self.enough_workers, "judgements": self.judgements,
                "counted_judgements": len(self.weighted), "weight": round(self.weight, 3),
                "max_judgements_per_worker": self.rules.max_judgements_per_worker,
                "capped_workers": self.capped_workers, "flagged_workers": len(self.flagged_workers),
                "summary": self.summary()}

    def summary(self) -> str:
        """One sentence: how many workers the ranking's confidence rests on."""
        cap = self.rules.max_judgements_per_worker
        parts = [f"{len(self.weighted)} judgements"]
        if self.capped_workers:
            parts.append(f"{self.capped_workers} worker{'s' if self.capped_workers != 1 else ''} weighted down "
                         f"to {cap} judgements")
        if self.flagged_workers:
            parts.append(f"{len(self.flagged_workers)} flagged worker{'s' if len(self.flagged_workers) != 1 else ''}"
                         " left out")
        need = "" if self.enough_workers else f"; the stopping rule needs {self.rules.min_workers}"
        return f"the ranking rests on {self.workers} worker{'s' if self.workers != 1 else ''} " \
               f"({', '.join(parts)}){need}"


def weigh(preferences: Iterable[WorkerPreference], rules: EvidenceRules | None = None) -> Evidence:
    """The evidence a decision may use from these preferences (see the module docstring)."""
    rules = rules or EvidenceRules()
    everything = tuple(preferences)
    flagged = flagged_workers(everything) if rules.leave_out_flagged else frozenset()
    kept = [p for p in everything if p.worker is None or p.worker not in flagged]
    per_worker = Counter(p.worker for p in kept if p.worker is not None)
    cap = rules.max_judgements_per_worker
    scale = {w: (min(1.0, cap / n) if cap else 1.0) for w, n in per_worker.items()}
    weighted = tuple((p, 1.0 if p.worker is None else scale[p.worker]) for p in kept)
    anonymous = sum(p.worker is None for p in kept)
    return Evidence(weighted, len(per_worker) + anonymous, len(everything), tuple(sorted(flagged)),
                    sum(s < 1.0 for s in scale.values()), rules)


def flagged_workers(preferences: Sequence[WorkerPreference]) -> frozenset[str]:
    """Workers the annotator safeguard flags on these preferences (`annotators.worker_agreement`:
    agreement with the other workers' consensus on the same agents far below the crowd's)."""
    return _flagged(tuple(preferences))


@functools.lru_cache(maxsize=16)
def _flagged(preferences: tuple[WorkerPreference, ...]) -> frozenset[str]:
    named = [p for p in preferences if p.worker is not None]
    if len({p.worker for p in named}) < 2:
        return frozenset()
    import pandas as pd

    from iglu_lib.analysis.annotators import worker_agreement
    from iglu_lib.analysis.preferences import DECISIVE, Comparisons

    hits = pd.DataFrame({"HitId": [f"h{i}" for i in range(len(named))], "outcome": DECISIVE,
                         "worker": [p.worker for p in named], "agents": [tuple(sorted(p.agents)) for p in named],
                         "winner": [p.winner for p in named]})
    agents = sorted({a for p in named for a in p.agents})
    agreement = worker_agreement(Comparisons(hits, pd.DataFrame(columns=["winner", "loser", "first"]), agents))
    return frozenset(str(w) for w in agreement.loc[agreement["flagged"].astype(bool), "worker"])


def ranking_settled(evidence: Evidence, agents: Sequence[str], level: float) -> bool:
    """Whether the evidence settles the full order of `agents` at `level`: enough distinct
    workers, and the order settled by the weighted choice model (`stopping.order_settled`)."""
    if len(agents) < 2 or not evidence.enough_workers:
        return False
    return _settled(tuple((p.agents, p.winner, w) for p, w in evidence.weighted), tuple(agents), level)


@functools.lru_cache(maxsize=16)
def _settled(rows: tuple[tuple[tuple[str, ...], str, float], ...], agents: tuple[str, ...], level: float) -> bool:
    """The fit behind `ranking_settled`, remembered: the loop asks again until a slot settles."""
    from iglu_lib.analysis import choice
    from iglu_lib.scheduling.stopping import order_settled

    index = {agent: i for i, agent in enumerate(agents)}
    weighted = [([index[a] for a in shown], list(shown).index(winner), weight) for shown, winner, weight in rows]
    return order_settled(choice.fit(choice.Choices.from_weighted_rows(weighted, len(agents))), level)
