"""A live view of a running campaign for notebooks: a campaign runs for days, so the view is
something a person can leave open. Every few turns it records where the campaign stands and
redraws, in place, good HITs against the target, spend against the budget, open HITs and busy
instances over time, disqualification reasons over time, and one line saying what needs a
person (parked assignments, loop errors, a low balance, a stalled loop).

The pieces are plain functions of recorded samples (`Timeline`), so they are tested without a
notebook; `live_view` only wires them to `IPython.display`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from iglu_lib.collection.campaign import Campaign, TurnReport

log = logging.getLogger(__name__)

#: Turns in a row without anything settled, expired or created before the loop counts as stalled.
STALL_TURNS = 30
#: The balance is low when it pays for fewer than this many more HITs.
LOW_BALANCE_HITS = 5


def campaign_cells(campaign: Campaign) -> list[tuple[str, Sequence[str]]]:
    """Every (task, combination) the campaign schedules."""
    return [(task, combo) for task in campaign.scheduler.inventory.tasks for combo in campaign.scheduler.combinations]


def current_status(campaign: Campaign) -> dict[str, Any]:
    from iglu_lib.collection.status import campaign_status

    return campaign_status(campaign.records.all(), cost_per_hit=campaign.cost_per_hit, cells=campaign_cells(campaign),
                           max_hits_per_worker=campaign.params.max_hits_per_worker,
                           evidence=campaign.params.evidence_rules)


@dataclass
class Timeline:
    """Samples of a campaign over time (one per refresh), and how long the loop went without
    progress. `samples` are plain dicts so they can be saved as JSON or a DataFrame."""

    samples: list[dict[str, Any]] = field(default_factory=list)
    turns: int = 0
    quiet_turns: int = 0
    errors: list[str] = field(default_factory=list)

    def count_turn(self, report: TurnReport | None) -> None:
        """Note one turn of the loop: whether it made progress, and its errors."""
        self.turns += 1
        if report is None or report.progress:
            self.quiet_turns = 0
        else:
            self.quiet_turns += 1
        if report is not None and report.errors:
            self.errors = [*self.errors, *report.errors][-20:]
        elif report is not None and report.progress:
            self.errors = []  # the loop recovered: old transient errors need nobody

    def record(self, status: Mapping[str, Any], *, target: int, budget: Decimal | str | float | None,
               at: float | None = None) -> dict[str, Any]:
        """Add one sample from `campaign_status`'s counts; returns it."""
        sample = {
            "time": time.time() if at is None else at,
            "turn": self.turns,
            "good_hits": int(status.get("good_hits", 0)),
            "target": int(target),
            "spent": float(status.get("spent", 0) or 0),
            "budget": float(budget or 0),
            "open_hits": int(status.get("open_hits", 0)),
            "busy_instances": len(status.get("busy_instances", ())),
            "reasons": dict(status.get("games_by_reason", {})),
        }
        self.samples.append(sample)
        return sample


def attention(
    summary: Mapping[str, Any],
    timeline: Timeline,
    *,
    balance: Decimal | str | None = None,
    cost_per_hit: Decimal | str | None = None,
    stall_turns: int = STALL_TURNS,
) -> str:
    """One line saying what needs a person, or that nothing does.

    `summary` is the campaign summary (`Campaign.summary()`); its `needs_review` count (parked
    assignments) and `errors` list are read when present, so older summaries work too.
    `balance` is the account's available balance (None when unknown): it is low when it pays
    for fewer than `LOW_BALANCE_HITS` more HITs. The loop is stalled after `stall_turns` turns
    in a row without progress while the campaign is not done.
    """
    needs: list[str] = []
    parked = int(summary.get("needs_review", 0) or 0)
    if parked:
        needs.append(f"{parked} parked assignment{'s' if parked != 1 else ''} to review by hand (notebook 04)")
    errors = list(summary.get("errors", []) or []) or timeline.errors
    if errors:
        needs.append(f"{len(errors)} loop error{'s' if len(errors) != 1 else ''}, last: {str(errors[-1])[:120]}")
    low = _low_balance(balance, cost_per_hit)
    if low:
        needs.append(low)
    if summary.get("stalled"):
        needs.append(f"the loop is stalled: {summary['stalled']}")
    elif not summary.get("done") and timeline.quiet_turns >= stall_turns:
        needs.append(f"the loop is stalled: {timeline.quiet_turns} turns without a settled, expired or new HIT")
    taken = adoption_line(summary)
    if not needs:
        return "Nothing needs a person." + taken
    return "Needs a person: " + "; ".join(needs) + "." + taken


def adoption_line(summary: Mapping[str, Any]) -> str:
    """The HITs the loop found on the service without records, adopted or expired (issue 20),
    named so a researcher sees them; empty when there were none."""
    adopted = list(summary.get("adopted_hits", []) or [])
    expired = list(summary.get("expired_unrecorded_hits", []) or [])
    if not adopted and not expired:
        return ""
    parts = [f"{len(ids)} {what} ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})"
             for what, ids in (("adopted", adopted), ("expired", expired)) if ids]
    return " HITs on the service without records: " + "; ".join(parts) + " (see the log)."


def _low_balance(balance: Decimal | str | None, cost_per_hit: Decimal | str | None) -> str | None:
    if balance is None:
        return None
    try:
        available = Decimal(str(balance))
        cost = Decimal(str(cost_per_hit)) if cost_per_hit is not None else Decimal(0)
    except InvalidOperation:
        return f"the account balance is unreadable ({str(balance)[:40]!r})"
    if available <= 0 or (cost > 0 and available < cost * LOW_BALANCE_HITS):
        return f"low balance: ${available:.2f} left"
    return None


def timeline_figure(timeline: Timeline) -> Any:
    """Four panels over time (minutes since the first sample): good HITs against the target,
    spend against the budget, open HITs and busy instances, and games per reason."""
    from matplotlib.figure import Figure

    samples = timeline.samples
    figure = Figure(figsize=(11, 6))
    progress, spend, load, reasons = figure.subplots(2, 2).ravel()
    start = samples[0]["time"] if samples else 0.0
    minutes = [(s["time"] - start) / 60.0 for s in samples]
    if samples:
        progress.plot(minutes, [s["good_hits"] for s in samples], marker=".", label="good HITs")
        progress.axhline(samples[-1]["target"], color="grey", linestyle="--", label="target")
        spend.plot(minutes, [s["spent"] for s in samples], marker=".", label="spent")
        spend.axhline(samples[-1]["budget"], color="grey", linestyle="--", label="budget")
        load.plot(minutes, [s["open_hits"] for s in samples], marker=".", label="open HITs")
        load.plot(minutes, [s["busy_instances"] for s in samples], marker=".", label="busy instances")
        for reason in sorted({r for s in samples for r in s["reasons"]}):
            reasons.plot(minutes, [s["reasons"].get(reason, 0) for s in samples], marker=".", label=reason)
    progress.set(title="Good HITs against the target", ylabel="good HITs")
    spend.set(title="Spend against the budget", ylabel="$")
    load.set(title="Open HITs and busy agent instances", ylabel="count")
    reasons.set(title="Disqualified or flagged games by reason", ylabel="games")
    for axes in (progress, spend, load, reasons):
        axes.set_xlabel("minutes since the view started")
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize="small", loc="upper left")
    if not any(s["reasons"] for s in samples):
        reasons.text(0.5, 0.5, "no game flagged", ha="center", va="center", transform=reasons.transAxes)
    figure.tight_layout()
    return figure


class LiveView:
    """An `on_turn` callback for `Campaign.run` that redraws the view every `every_turns`
    turns; `show(campaign, summary)` draws it once more when the loop has ended."""

    def __init__(self, every_turns: int = 5, *, balance: Callable[[Campaign], Any] | None = None,
                 stall_turns: int = STALL_TURNS) -> None:
        from IPython.display import display

        self.every_turns = max(1, every_turns)
        self.balance = balance or account_balance
        self.stall_turns = stall_turns
        self.timeline = Timeline()
        self._line = display("starting ...", display_id=True)
        self._figure = display("", display_id=True)
        self._cells = display("", display_id=True)

    def __call__(self, campaign: Campaign, report: TurnReport) -> None:
        self.timeline.count_turn(report)
        if self.timeline.turns == 1 or self.timeline.turns % self.every_turns == 0:
            self.show(campaign)

    def show(self, campaign: Campaign, summary: Mapping[str, Any] | None = None) -> str:
        """Record a sample and redraw; returns the line that says what needs a person."""
        from IPython.display import Image

        from iglu_lib.analysis.plots import png
        from iglu_lib.collection.status import cells_frame

        status = current_status(campaign)
        params = campaign.params
        self.timeline.record(status, target=params.target_approved_hits, budget=params.budget)
        summary = summary if summary is not None else campaign.summary(self.timeline.turns)
        line = attention(summary, self.timeline, balance=self.balance(campaign),
                         cost_per_hit=campaign.cost_per_hit, stall_turns=self.stall_turns)
        caption = (f"good {status['good_hits']}/{params.target_approved_hits} · open {status['open_hits']}"
                   f" · spent ${status.get('spent', '0.00')} of ${params.budget} · turn {self.timeline.turns}")
        # plain text: Markdown or HTML would typeset the text between two dollar signs as math
        self._line.update({"text/plain": f"{caption}\n{line}\n{evidence_line(status)}"}, raw=True)
        self._figure.update(Image(png(timeline_figure(self.timeline))))
        self._cells.update(cells_frame(status).style.set_caption("good HITs per task and agent combination"))
        return line


def evidence_line(status: Mapping[str, Any]) -> str:
    """How many workers the ranking's confidence rests on (from `campaign_status`)."""
    evidence = status.get("evidence")
    return str(evidence["summary"]) if isinstance(evidence, Mapping) else "the ranking's evidence is unknown"


def account_balance(campaign: Campaign) -> str | Decimal | None:
    """The crowd account's available balance, or None when it cannot be read (the view must
    never stop the loop)."""
    try:
        return campaign.manager.balance()
    except Exception as err:  # noqa: BLE001 - a view reports, it does not fail the campaign
        log.warning("could not read the account balance: %s", err)
        return None


def live_view(every_turns: int = 5, **options: Any) -> LiveView:
    """An `on_turn` callback that redraws the campaign view in the notebook (see `LiveView`)."""
    return LiveView(every_turns, **options)


def reasons_figure(status: dict[str, Any]) -> Any:
    """Games disqualified or flagged, by reason (an empty chart says none was)."""
    import matplotlib.pyplot as plt

    counts = sorted(status["games_by_reason"].items(), key=lambda item: item[1])
    figure, axis = plt.subplots(figsize=(7, 0.4 * len(counts) + 1.2))
    axis.barh([reason for reason, _ in counts], [n for _, n in counts])
    axis.set(title="Disqualified or flagged games by reason" if counts else "No game was flagged",
             xlabel="games")
    figure.tight_layout()
    return figure
