"""The whole analysis of one games table: every figure, the JSON summary, and the files.

`analyze` computes; `Analysis.summary()` is what `iglu analyze --json` prints;
`write_outputs` writes each table as CSV and Markdown and the plots as PNG.
"""

from __future__ import annotations

import html
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iglu_lib.analysis import agreement as agreement_module
from iglu_lib.analysis import annotators, breakdowns
from iglu_lib.analysis.next_step import NextStep
from iglu_lib.analysis.preferences import DECISIVE, TIE, ComparisonRules, Comparisons, compare
from iglu_lib.analysis.ranking import PositionBias, Ranking, position_bias, rank


@dataclass(frozen=True)
class Analysis:
    """Everything the analysis found; `sensitivity` is the ranking on games with `ok` codes,
    `annotator_sensitivity` the ranking without workers flagged by `annotators`."""

    games: pd.DataFrame
    comparisons: Comparisons
    ranking: Ranking
    sensitivity_comparisons: Comparisons
    sensitivity: Ranking
    position: PositionBias
    annotators: pd.DataFrame | None = None            # per-worker agreement and flag
    annotator_comparisons: Comparisons | None = None  # without flagged workers
    annotator_sensitivity: Ranking | None = None
    evidence_comparisons: Comparisons | None = None   # without games whose data could not be verified
    evidence_sensitivity: Ranking | None = None
    ties_in_fit: bool = True                          # ties count as half a win each (False: left out)
    alpha: agreement_module.Alpha | None = None       # Krippendorff's alpha over repeated judgements
    judges: pd.DataFrame | None = None                # per-judge test under the fitted model
    next_step: NextStep | None = None                 # unsettled pairs and the comparisons they need
    next_step_note: str | None = None                 # why there is no next-step estimate

    def flagged_workers(self) -> list[str]:
        """Workers flagged by the consensus test or by the model test (the sensitivity leaves
        out both)."""
        flagged: set[str] = set()
        if self.annotators is not None and len(self.annotators):
            flagged |= set(self.annotators.loc[self.annotators["flagged"].astype(bool), "worker"])
        if self.judges is not None and len(self.judges):
            flagged |= set(self.judges.loc[self.judges["model_flagged"].astype(bool), "worker"])
        return sorted(flagged)

    def malformed_annotations(self) -> pd.DataFrame:
        """Games whose annotation is not JSON, by HIT (listed, never repaired)."""
        bad = self.games[self.games["annotation_status"] == "invalid"]
        return bad[["HitId", "GameMinecraftId", "AgentName", "Annotation"]].reset_index(drop=True)

    def sensitivity_table(self) -> pd.DataFrame:
        """Default and ok-codes-only rankings side by side, one row per agent."""
        left = self.ranking.table.set_index("agent")
        right = self.sensitivity.table.set_index("agent")
        columns = ["rank", "interval_rank", "strength", "strength_low", "strength_high", "p_best"]
        table = left[columns].add_suffix("_all").join(right[columns].add_suffix("_ok_codes"), how="outer")
        if self.annotator_sensitivity is not None:
            clean = self.annotator_sensitivity.table.set_index("agent")[columns].add_suffix("_without_flagged")
            table = table.join(clean, how="outer")
        if self.evidence_sensitivity is not None:
            verified = self.evidence_sensitivity.table.set_index("agent")[columns].add_suffix("_verified_only")
            table = table.join(verified, how="outer")
        return table.sort_values("strength_all", ascending=False).rename_axis("agent").reset_index()

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every output table by file stem."""
        return {
            "counts": _counts_table(self.comparisons.counts()),
            "per_agent": self.comparisons.per_agent(),
            "win_matrix": self.comparisons.win_matrix().reset_index(),
            "ranking": self.ranking.table,
            "sensitivity": self.sensitivity_table(),
            "position_bias": _position_table(self.position),
            "comparisons": self.comparisons.hits.assign(agents=lambda h: h["agents"].map(" vs ".join)),
            "malformed_annotations": self.malformed_annotations(),
            "per_task": breakdowns.per_task(self.comparisons),
            "game_scores": breakdowns.game_scores(self.games),
            "agreement": breakdowns.agreement(self.comparisons),
            "annotators": self.annotators if self.annotators is not None else pd.DataFrame(columns=annotators.COLUMNS),
            "judge_test": (self.judges if self.judges is not None
                           else pd.DataFrame(columns=agreement_module.JUDGE_COLUMNS)),
            "next_step": _next_step_table(self.next_step),
            "worker_quality": breakdowns.worker_quality(self.games),
            "feedback_terms": breakdowns.feedback_terms(self.games),
            "feedback_texts": breakdowns.feedback_texts(self.games),
        }

    def summary(self) -> dict[str, Any]:
        """Counts, per-agent figures, the ranking and its sensitivity (JSON-ready)."""
        counts = self.comparisons.counts()
        return {
            "counts": {**counts, "games": int(len(self.games)),
                       "malformed_annotations": int((self.games["annotation_status"] == "invalid").sum()),
                       "malformed_annotation_hits": sorted(self.malformed_annotations()["HitId"].unique())},
            "per_agent": _records(self.comparisons.per_agent()),
            "ranking": {**_ranking_json(self.ranking), "ties": _ties_rule(self.ties_in_fit)},
            "position_bias": _position_json(self.position),
            "sensitivity": {
                "rule": "HITs with a game whose completion code is not ok are excluded",
                "counts": self.sensitivity_comparisons.counts(),
                "ranking": _ranking_json(self.sensitivity),
                "same_order": self.ranking.order == self.sensitivity.order,
            },
            "annotator_sensitivity": self._annotator_json(),
            "evidence_sensitivity": self._evidence_json(),
            "workers": self.workers(),
            "agreement": self.alpha.to_json() if self.alpha is not None else None,
            "judge_test": self._judge_json(),
            "next_step": (self.next_step.to_json() if self.next_step is not None
                          else {"unsettled_pairs": None, "note": self.next_step_note}),
        }

    def _judge_json(self) -> dict[str, Any]:
        judges = self.judges if self.judges is not None else pd.DataFrame(columns=agreement_module.JUDGE_COLUMNS)
        return {
            "rule": ("per judge, decisive two-agent votes that agree with the favourite of the model fitted "
                     "without that judge; Poisson-binomial P(so few agreements), flagged below "
                     f"{agreement_module.ALPHA}"),
            "judges_tested": int(len(judges)),
            "flagged_workers": sorted(judges.loc[judges["model_flagged"].astype(bool), "worker"]) if len(judges) else [],
            "judges": _records(judges),
            "note": None if len(judges) else "the input has no worker ids (or no decisive two-agent votes)",
        }

    def workers(self) -> dict[str, Any]:
        """How many workers the ranking rests on: distinct workers of the HITs in the fit (decisive
        and ties), and how many of those HITs name no worker (the published export names none)."""
        fitted = self.comparisons.hits[self.comparisons.hits["outcome"].isin([DECISIVE, TIE])]
        named = fitted["worker"].dropna()
        counts = named.value_counts()
        return {"workers": int(named.nunique()), "hits": int(len(fitted)),
                "hits_without_worker": int(len(fitted) - len(named)),
                "most_hits_by_one_worker": int(counts.max()) if len(counts) else 0}

    def _evidence_json(self) -> dict[str, Any] | None:
        if self.evidence_sensitivity is None or self.evidence_comparisons is None:
            return None
        return {
            "rule": (f"HITs with a game whose data could not confirm the agent or the time it was played "
                     f"({', '.join(UNVERIFIED_REASONS)}) are left out"),
            "excluded_hits": len(self.comparisons.hits) - len(self.evidence_comparisons.hits),
            "counts": self.evidence_comparisons.counts(),
            "ranking": _ranking_json(self.evidence_sensitivity),
            "same_order": self.ranking.order == self.evidence_sensitivity.order,
        }

    def _annotator_json(self) -> dict[str, Any] | None:
        if self.annotator_sensitivity is None or self.annotators is None or self.annotator_comparisons is None:
            return None
        flagged = self.annotators.loc[self.annotators["flagged"].astype(bool)]
        return {
            "rule": (f"workers whose agreement with the other workers' consensus on the same agents is below "
                     f"the crowd's (one-sided exact binomial test, alpha {annotators.ALPHA}), and judges "
                     f"flagged by the model test (judge_test), are left out"),
            "workers_tested": int((self.annotators["with_consensus"] > 0).sum()),
            "flagged_workers": sorted(flagged["worker"]),
            "left_out_workers": self.flagged_workers(),
            "counts": self.annotator_comparisons.counts(),
            "ranking": _ranking_json(self.annotator_sensitivity),
            "same_order": self.ranking.order == self.annotator_sensitivity.order,
        }


def analyze(
    games: pd.DataFrame,
    *,
    agents: Collection[str] | None = None,
    replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    ties: bool = True,
) -> Analysis:
    """Preferences, ranking, position bias and the ok-codes-only sensitivity of `games`.
    `ties`: every fit counts a tie as half a win for each agent (Arena's convention); False
    leaves ties out of the fits (they are still counted)."""
    known = frozenset(agents) if agents else None
    comparisons = compare(games, ComparisonRules(agents=known))
    strict = compare(games, ComparisonRules(agents=known, require_ok_codes=True))
    strict = Comparisons(strict.hits, strict.wins, comparisons.agents, strict.rules)
    options: dict[str, Any] = {"replicates": replicates, "seed": seed, "level": level, "ties": ties}
    agreement = annotators.worker_agreement(comparisons)
    judges = agreement_module.judge_test(comparisons, ties=ties)
    clean = annotators.without_workers(comparisons, _flagged(agreement, judges))
    step, step_note = _next_step(comparisons, ties=ties, level=level, seed=seed)
    verified_games = verified_only(games)
    verified = None if verified_games is None else compare(verified_games, ComparisonRules(agents=known))
    if verified is not None:
        verified = Comparisons(verified.hits, verified.wins, comparisons.agents, verified.rules)
    return Analysis(
        games=games,
        comparisons=comparisons,
        ranking=rank(comparisons, **options),
        sensitivity_comparisons=strict,
        sensitivity=rank(strict, **options),
        position=position_bias(comparisons, **options),
        annotators=agreement,
        annotator_comparisons=clean,
        annotator_sensitivity=rank(clean, **options),
        evidence_comparisons=verified,
        evidence_sensitivity=None if verified is None else rank(verified, **options),
        ties_in_fit=ties,
        alpha=agreement_module.krippendorff_alpha(comparisons, replicates=replicates, seed=seed, level=level),
        judges=judges,
        next_step=step,
        next_step_note=step_note,
    )


def _flagged(consensus: pd.DataFrame, judges: pd.DataFrame) -> set[str]:
    flagged = set(consensus.loc[consensus["flagged"].astype(bool), "worker"]) if len(consensus) else set()
    return flagged | (set(judges.loc[judges["model_flagged"].astype(bool), "worker"]) if len(judges) else set())


def _next_step(comparisons: Comparisons, *, ties: bool, level: float, seed: int) -> tuple[NextStep | None, str | None]:
    """The unsettled pairs with simulated further comparisons, for campaigns of two-agent HITs."""
    from iglu_lib.analysis.next_step import next_step

    complete = comparisons.complete
    if len(comparisons.agents) < 2 or complete.empty:
        return None, "fewer than two agents have complete comparisons"
    if (complete["games"] != 2).any():
        return None, "the estimate covers two-agent HITs only; this input has HITs of more agents"
    index = {agent: i for i, agent in enumerate(comparisons.agents)}
    wins = agreement_module.pair_wins(comparisons.hits, index, ties)
    return next_step(wins, comparisons.agents, level=level, seed=seed), None


def _next_step_table(step: NextStep | None) -> pd.DataFrame:
    columns = ["leader", "other", "gap", "z", "p_leader_wins", "further_decisive_comparisons",
               "quartile_low", "quartile_high"]
    if step is None:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame([[p.leader, p.other, p.gap, p.z, p.p_leader_wins, p.needed, p.needed_low, p.needed_high]
                         for p in step.pairs], columns=columns)


def _ties_rule(counted: bool) -> str:
    return ("each tie counts as half a win for each of its agents (Arena's convention)" if counted
            else "ties are left out of the fit (still counted)")


#: Warnings of games whose stored data could not confirm the claim (see `platform/evidence.py`).
UNVERIFIED_REASONS = ("agent_unverified", "time_unverified")


def verified_only(games: pd.DataFrame) -> pd.DataFrame | None:
    """The games without the HITs that hold a game with an unverified-evidence warning, or None
    when the input carries no `Reasons` column (the published export has none)."""
    if "Reasons" not in games.columns:
        return None
    flagged = games["Reasons"].map(lambda cell: any(reason in str(cell) for reason in UNVERIFIED_REASONS))
    hits = set(games.loc[flagged, "HitId"])
    return games[~games["HitId"].isin(hits)]


def write_outputs(analysis: Analysis, out_dir: str | Path, *, raw: bool = False) -> list[Path]:
    """Each table as `<name>.csv` and `<name>.md`, `summary.json`, and the plots as PNG.
    The CSVs are opened in spreadsheets, so text cells that start like a formula (a worker's
    feedback, an agent name) get a leading `'` (`iglu_lib.spreadsheet`); numbers stay
    numbers. `raw` writes the cells as they are, for machine pipelines."""
    import json

    from iglu_lib.analysis import plots
    from iglu_lib.spreadsheet import escape_frame

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in analysis.tables().items():
        (table if raw else escape_frame(table)).to_csv(out / f"{name}.csv", index=False)
        (out / f"{name}.md").write_text(_markdown(table), encoding="utf-8")
        written += [out / f"{name}.csv", out / f"{name}.md"]
    (out / "summary.json").write_text(json.dumps(analysis.summary(), indent=2, default=str), encoding="utf-8")
    written.append(out / "summary.json")
    written += plots.save_all(analysis, out)
    return written


def _markdown(table: pd.DataFrame) -> str:
    """A pipe table; cell text cannot add columns, rows or markup (pipes and backslashes
    escaped, line breaks turned to spaces, `<`, `>` and `&` written as entities)."""
    if table.empty:
        return "(no rows)\n"
    textual = [c for c in table.columns if pd.api.types.is_object_dtype(table[c])
               or pd.api.types.is_string_dtype(table[c])]
    safe = table.assign(**{str(c): table[c].map(_markdown_cell) for c in textual})
    return safe.to_markdown(index=False, floatfmt=".3f") + "\n"


def _markdown_cell(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = html.escape(" ".join(value.split()), quote=False)
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _counts_table(counts: dict[str, Any]) -> pd.DataFrame:
    rows = [{"count": key, "value": value} for key, value in counts.items() if not isinstance(value, dict)]
    for group in ("excluded_hits", "excluded_games"):
        rows += [{"count": f"{group}: {reason}", "value": n} for reason, n in counts[group].items()]
    return pd.DataFrame(rows, columns=["count", "value"])


def _position_table(bias: PositionBias) -> pd.DataFrame:
    head = pd.DataFrame([{"agent": "(shown first)", "strength": bias.gamma, "strength_low": bias.gamma_low,
                          "strength_high": bias.gamma_high}])
    return pd.concat([head, bias.adjusted], ignore_index=True)


def _ranking_json(ranking: Ranking) -> dict[str, Any]:
    return {
        "order": ranking.order,
        "agents": _records(ranking.table),
        "replicates": ranking.replicates,
        "degenerate_replicates": ranking.degenerate_replicates,
        "seed": ranking.seed,
        "level": ranking.level,
        "problem": ranking.problem,
        "scale": "natural log-odds, centred to mean 0; P(a beats b) = 1 / (1 + exp(s_b - s_a))",
        "model": ("one choice among the agents of each decisive HIT (Bradley-Terry for pairs, "
                  "Plackett-Luce first choice for more), prior N(0, sd^2) per strength; a tie HIT, "
                  "when counted, is 1/k of a choice of each of its k agents"),
        "prior_sd": ranking.fit.prior_sd if ranking.fit is not None else None,
        "interval": "normal approximation of the posterior; interval_rank = 1 + agents whose "
                    "lower bound is above this one's upper bound",
    }


def _position_json(bias: PositionBias) -> dict[str, Any]:
    return {
        "known_order": bias.known_order,
        "first_shown_wins": bias.first_wins,
        "probability_first_wins": _number(bias.probability),
        "interval": [_number(bias.low), _number(bias.high)],
        "gamma": _number(bias.gamma),
        "gamma_interval": [_number(bias.gamma_low), _number(bias.gamma_high)],
        "adjusted": _records(bias.adjusted),
        "note": bias.note,
    }


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _number(v) for k, v in row.items()} for row in table.to_dict("records")]


def _number(value: Any) -> Any:
    """JSON-friendly scalars: numpy numbers to Python, NaN to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
