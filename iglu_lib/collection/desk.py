"""The review desk: notebook 04's place to look at a campaign's submissions and decide on them.

A person reviewing a hundred submissions wants each worker's HITs side by side with their
games drawn (the task's target beside what was built), the verdict reasons and the answers, and
a button per decision. Every button asks for a reason, then for a confirmation, and acts through
`Review.act`, the same door as `iglu campaign review`: the decision is written to the records
(and money through the ledger) before the service is called, and the loop never overrides it.

`ReviewDesk` keeps the logic (filters, the pending question, acting) apart from the widgets, so
tests drive it without a browser and the browser test presses the same buttons in JupyterLab.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iglu_lib.collection.review import (
    HIT_ACTIONS,
    WORKER_ACTIONS,
    Submission,
    WorkerReview,
    group_by_worker,
)
from iglu_lib.errors import IgluError

if TYPE_CHECKING:
    from iglu_lib.collection.review import Review
    from iglu_lib.platform.client import GameSource
    from iglu_lib.storage import GameRecord

log = logging.getLogger(__name__)

#: The filters of the worker list and what each keeps.
FILTERS: dict[str, Callable[[WorkerReview], bool]] = {
    "all": lambda worker: True,
    "flagged": lambda worker: bool(worker.blocked) or worker.counts["rejected"] > 0,
    "warned": lambda worker: worker.counts["warned"] > 0,
    "pending": lambda worker: worker.counts["open"] > 0 or any(
        not d.get("done") for s in worker.submissions for d in s.decisions),
    "reversed": lambda worker: worker.counts["reversed"] > 0,
}
#: The buttons of a submission (and of its worker), with their ipywidgets style.
BUTTONS = (("approve", "success"), ("reject", "warning"), ("reverse", "info"), ("bonus", "primary"),
           ("soft-block", "warning"), ("hard-block", "danger"))


@dataclass(frozen=True)
class Question:
    """A decision a person pressed and has not yet confirmed."""

    worker: str  # pseudonym: the only name the desk shows
    action: str
    hit: str | None
    reason: str
    amount: str | None = None

    def sentence(self) -> str:
        target = f"HIT {self.hit}" if self.action in HIT_ACTIONS else "the campaign"
        money = f" ${self.amount}" if self.amount else ""
        return f"{self.action}{money} for {self.worker} on {target}, reason: {self.reason!r}. Confirm?"


class ReviewDesk:
    """A campaign's submissions by worker, filtered, and decisions taken one confirmed click at a time."""

    def __init__(self, review: Review, *, games: GameSource | None = None) -> None:
        self.review = review
        self._games: GameSource | None = games
        self.filter = "all"
        self.question: Question | None = None
        self.last_result: dict[str, Any] | None = None
        self.refresh()

    # -- reading ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the records again (after a decision, or what the loop did meanwhile)."""
        self.records = self.review.all_records()
        self.workers = group_by_worker(self.records, salt=self.review.profile.backend.worker_id_salt())

    def shown_workers(self) -> list[WorkerReview]:
        return [w for w in self.workers if FILTERS[self.filter](w)]

    def worker(self, shown: str) -> WorkerReview:
        for worker in self.workers:
            if worker.shown == shown:
                return worker
        raise DeskError(f"no worker {shown[:80]} in campaign {self.review.params.campaign!r}")

    def game_client(self) -> GameSource:
        """The campaign's game data (opened on the first drawing)."""
        if self._games is None:
            from iglu_lib.platform.client import GameDataClient

            self._games = GameDataClient.open(self.review.profile)
        return self._games

    def games_of(self, submission: Submission) -> list[GameRecord]:
        return sorted((r for r in self.records if r.hit_id == submission.hit_id), key=lambda r: r.shown_position)

    # -- deciding ---------------------------------------------------------------------------
    def ask(self, worker: str, action: str, *, hit: str | None = None, reason: str = "",
            amount: str | None = None) -> Question:
        """Hold a pressed decision until it is confirmed; refuse at once what cannot be done."""
        if action not in (*HIT_ACTIONS, *WORKER_ACTIONS):
            raise DeskError(f"unknown action {action[:40]!r}")
        if not reason.strip():
            raise DeskError(f"a {action} needs a reason: type it in the reason box first")
        if action == "bonus" and not (amount or "").strip():
            raise DeskError("a bonus needs an amount in dollars")
        self.worker(worker)
        money = (amount or "").strip() if action == "bonus" else ""
        self.question = Question(worker, action, hit if action in HIT_ACTIONS else None, reason.strip(),
                                 money or None)
        return self.question

    def confirm(self) -> dict[str, Any]:
        """Carry out the held decision through `Review.act`, then read the records again."""
        if self.question is None:
            raise DeskError("nothing to confirm: press a decision first")
        question, self.question = self.question, None
        worker = self.worker(question.worker)
        result = self.review.act(worker.worker_id, question.action, question.reason, hit=question.hit,
                                 amount=question.amount)
        self.last_result = result
        self.refresh()
        return result

    def cancel(self) -> None:
        self.question = None

    # -- the widget -------------------------------------------------------------------------
    def widget(self) -> Any:
        """The desk as ipywidgets: filters, the worker list, the chosen worker's submissions."""
        return DeskView(self).root


class DeskError(IgluError):
    """A decision the desk cannot take as pressed; the message says what to do."""


def _table(rows: Sequence[tuple[str, Any]]) -> str:
    cells = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
                    f"<td>{html.escape(str(v))}</td></tr>" for k, v in rows if v not in (None, "", (), []))
    return f"<table>{cells}</table>"


def submission_rows(submission: Submission, games: Sequence[GameRecord]) -> list[tuple[str, Any]]:
    """What a person reads about one HIT: status, verdicts, reasons, answers, money, decisions."""
    rows: list[tuple[str, Any]] = [
        ("HIT", submission.hit_id), ("task", submission.task_name), ("agents", ", ".join(submission.agents)),
        ("status", submission.status), ("verdicts", ", ".join(submission.verdicts)),
        ("reasons", ", ".join(submission.reasons)), ("warnings", ", ".join(submission.warnings)),
        ("bonus paid", f"${submission.bonus_paid:.2f}" if submission.bonus_paid else ""),
        ("decisions", "; ".join(f"{d.get('action')}: {d.get('reason')}" for d in submission.decisions)),
    ]
    for game in games:
        said = {k: v for k, v in game.annotation.items() if k not in ("full_answer",)}
        rows.append((f"answers on {game.agent_name}", ", ".join(f"{k}={v}" for k, v in said.items())))
    return rows


class DeskView:
    """The widgets of one desk; every button calls the desk and redraws from what it says."""

    def __init__(self, desk: ReviewDesk) -> None:
        import ipywidgets as widgets

        self.desk = desk
        self.w = widgets
        self.filters = widgets.ToggleButtons(options=list(FILTERS), value=desk.filter, description="show")
        self.list = widgets.Select(options=[], rows=8, description="workers", layout=widgets.Layout(width="50%"))
        self.reason = widgets.Text(placeholder="reason (recorded; the worker reads it)",
                                   layout=widgets.Layout(width="60%"), description="reason")
        self.amount = widgets.Text(placeholder="0.50", description="bonus $", layout=widgets.Layout(width="20%"))
        self.status = widgets.HTML()
        self.status.add_class("iglu-desk-status")
        self.question = widgets.HTML()
        self.yes = widgets.Button(description="Confirm", button_style="danger")
        self.no = widgets.Button(description="Cancel")
        self.confirmation = widgets.HBox([self.question, self.yes, self.no], layout=widgets.Layout(display="none"))
        self.panel = widgets.VBox()
        self.root = widgets.VBox([self.filters, self.list, widgets.HBox([self.reason, self.amount]),
                                  self.confirmation, self.status, self.panel])
        self.root.add_class("iglu-review-desk")
        self.filters.observe(lambda _: self._filter(), names="value")
        self.list.observe(lambda _: self._show_worker(), names="value")
        self.yes.on_click(lambda _: self._confirm())
        self.no.on_click(lambda _: self._cancel())
        self._fill_list()

    def _filter(self) -> None:
        self.desk.filter = self.filters.value
        self._fill_list()

    def _fill_list(self) -> None:
        workers = self.desk.shown_workers()
        chosen = self.list.value
        self.list.options = [(f"{w.shown}  ({w.counts['hits']} HITs, {w.counts['rejected']} rejected"
                              f"{', ' + w.blocked + ' block' if w.blocked else ''})", w.shown) for w in workers]
        if chosen in {w.shown for w in workers}:  # the person stays with the worker they were reviewing
            self.list.value = chosen
        self.status.value = f"{len(workers)} worker(s) shown of {len(self.desk.workers)}"
        self._show_worker()

    def _show_worker(self) -> None:
        shown = self.list.value
        if not shown:
            self.panel.children = ()
            return
        worker = self.desk.worker(shown)
        head = self.w.HTML(f"<h4>{html.escape(worker.shown)}</h4>" + _table(list(worker.counts.items())))
        blocks = self.w.HBox([self._button(worker, action, style, None) for action, style in BUTTONS
                              if action in WORKER_ACTIONS])
        self.panel.children = (head, blocks, *(self._submission_box(worker, s) for s in worker.submissions))

    def _submission_box(self, worker: WorkerReview, submission: Submission) -> Any:
        games = self.desk.games_of(submission)
        info = self.w.HTML(_table(submission_rows(submission, games)))
        drawing = self.w.Output()
        show = self.w.Button(description="Show games", icon="cube")
        show.on_click(lambda _: self._draw(drawing, games))
        buttons = [self._button(worker, action, style, submission.hit_id) for action, style in BUTTONS
                   if action in HIT_ACTIONS]
        box = self.w.VBox([info, self.w.HBox([*buttons, show]), drawing],
                          layout=self.w.Layout(border="1px solid #ccc", padding="6px", margin="4px 0"))
        box.add_class("iglu-submission")
        return box

    def _button(self, worker: WorkerReview, action: str, style: str, hit: str | None) -> Any:
        button = self.w.Button(description=action, button_style=style, tooltip=f"{action} (asks to confirm)")
        button.on_click(lambda _: self._ask(worker.shown, action, hit))
        return button

    def _ask(self, worker: str, action: str, hit: str | None) -> None:
        try:
            question = self.desk.ask(worker, action, hit=hit, reason=self.reason.value, amount=self.amount.value)
        except IgluError as err:
            self.status.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"
            return
        self.question.value = f"<b>{html.escape(question.sentence())}</b>"
        self.confirmation.layout.display = "flex"

    def _confirm(self) -> None:
        self.confirmation.layout.display = "none"
        try:
            result = self.desk.confirm()
        except IgluError as err:
            self.status.value = f"<span style='color:#b00'>refused: {html.escape(str(err))}</span>"
            return
        except Exception as err:  # a widget callback has no caller to raise to: say it where the person looks
            log.exception("review desk: the decision failed")
            self.status.value = f"<span style='color:#b00'>failed: {html.escape(type(err).__name__)}: " \
                                f"{html.escape(str(err)[:300])}</span>"
            return
        self._fill_list()
        already = " (already done)" if result.get("already") else ""
        self.status.value = f"<b>done</b>: {html.escape(result['action'])} for {html.escape(result['worker'])}{already}"

    def _cancel(self) -> None:
        self.desk.cancel()
        self.confirmation.layout.display = "none"
        self.status.value = "cancelled"

    def _draw(self, output: Any, games: Sequence[GameRecord]) -> None:
        from IPython.display import display

        output.clear_output()
        with output:
            display(game_figure(self.desk.game_client(), games))


def game_figure(client: GameSource, games: Sequence[GameRecord]) -> Any:
    """Per game of a HIT, the task's target beside what was built by the end of the game."""
    import matplotlib.pyplot as plt

    from iglu_lib.platform.events import final_world, structure_blocks
    from iglu_lib.tasks.pictures import draw_structure

    figure = plt.figure(figsize=(9, 4 * max(1, len(games))))
    for row, record in enumerate(games):
        game = client.fetch(record.completion_code) if record.completion_code else None
        target = game.target if game is not None and game.ok else None
        title = f"{record.agent_name}: "
        if game is None or target is None:
            axes = figure.add_subplot(len(games), 1, row + 1)
            axes.axis("off")
            axes.text(0.5, 0.5, title + (game.reason if game is not None and game.reason else "no game data"),
                      ha="center")
            continue
        built = structure_blocks(final_world(target.initial, game.events))
        draw_structure(figure.add_subplot(len(games), 2, 2 * row + 1, projection="3d"), target.target_grid,
                       title=title + "target")
        draw_structure(figure.add_subplot(len(games), 2, 2 * row + 2, projection="3d"), built, title=title + "built")
    plt.close(figure)
    return figure
