"""Reviewing submitted assignments by hand: a table of answers and codes, decisions applied
through the HIT manager, and an ipywidgets view for the review notebook.

Decisions are plain records (`Decision`), so the same review can be clicked through in
Jupyter or given as a parameter to the notebook run headless by papermill.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iglu_lib import paths
from iglu_lib.errors import IgluError
from iglu_lib.mturk.manager import MTurkError
from iglu_lib.providers import CampaignSubmission, SubmissionStatus

if TYPE_CHECKING:
    import pandas as pd

    from iglu_lib.ledger.book import Ledger
    from iglu_lib.providers import CampaignCrowd, ReviewedCrowd

#: HIT statuses whose assignments may still wait for review.
REVIEW_STATUSES = ("Assignable", "Unassignable", "Reviewable", "Reviewing")
#: The columns of `hits_frame`, one row per HIT.
HIT_COLUMNS = ("hit_id", "status", "available", "pending", "completed", "expiration")
#: What a review run did, written under its output folder.
DECISIONS_FILE = "decisions.json"


@dataclass(frozen=True)
class Decision:
    """What to do with one assignment: `approve`, `reject` or `block` (its worker), and why."""

    assignment_id: str
    action: str
    reason: str = ""

    @classmethod
    def from_mapping(cls, value: Mapping[str, Any], index: int = 0) -> Decision:
        missing = [k for k in ("assignment_id", "action") if not value.get(k)]
        if missing:
            raise MTurkError(f"decision {index}: missing {', '.join(missing)} (got {dict(value)})")
        if value["action"] not in ACTIONS:
            raise MTurkError(f"decision {index}: unknown action '{value['action']}'; use {', '.join(ACTIONS)}")
        return cls(str(value["assignment_id"]), str(value["action"]), str(value.get("reason") or ""))


def _approve(manager: ReviewedCrowd, assignment: CampaignSubmission, reason: str) -> None:
    manager.approve(assignment.assignment_id, reason,
                    override_rejection=assignment.state is SubmissionStatus.REJECTED)


def _reject(manager: ReviewedCrowd, assignment: CampaignSubmission, reason: str) -> None:
    manager.reject(assignment.assignment_id, reason)


def _block(manager: ReviewedCrowd, assignment: CampaignSubmission, reason: str) -> None:
    if not reason:
        raise MTurkError(f"blocking worker {assignment.worker_id} needs a reason")
    manager.block(assignment.worker_id, reason)


ACTIONS: dict[str, Callable[[ReviewedCrowd, CampaignSubmission, str], None]] = {
    "approve": _approve,
    "reject": _reject,
    "block": _block,
}


def assignment_row(assignment: CampaignSubmission, code_status: Callable[[str], str] | None = None) -> dict[str, Any]:
    """One flat row: ids, status, every answer field, and the problems found in the answers.

    `best_agent` (crowd-form radio answers) becomes the chosen option's name; with
    `code_status`, every `completionCode*` field gets a `<field>_status` column beside it.
    """
    row: dict[str, Any] = {
        "hit_id": assignment.hit_id,
        "assignment_id": assignment.assignment_id,
        "worker_id": assignment.worker_id,
        "status": assignment.status,
        "submit_time": assignment.submit_time,
    }
    for name, value in sorted(assignment.answers.fields.items()):
        row[name] = _chosen(value) if isinstance(value, Mapping) else value
        if code_status is not None and name.startswith("completionCode"):
            row[f"{name}_status"] = code_status(str(value))
    row["problems"] = "; ".join(assignment.answers.problems)
    return row


def _chosen(options: Mapping[str, Any]) -> str:
    chosen = [name for name, checked in options.items() if checked]
    return ",".join(chosen) if chosen else "(none)"


def submitted_assignments(manager: ReviewedCrowd, agents: int = 2) -> list[CampaignSubmission]:
    """Every submitted assignment of the manager's HIT type and campaign, HIT by HIT."""
    found: list[CampaignSubmission] = []
    for hit in manager.hits(REVIEW_STATUSES):
        found.extend(manager.submitted_assignments(hit.hit_id, agents=agents))
    return found


def act_on_assignments(manager: ReviewedCrowd, decisions: Iterable[Decision | Mapping[str, Any]],
                       agents: int = 2, ledger: Ledger | None = None) -> list[dict[str, Any]]:
    """Carry out decisions about single assignments; each result says `done`, `already done` or
    the error, so one failure stops nothing. With the campaign's `ledger` (notebook 04 passes
    it), every approval, rejection and block is booked there and done once, whoever repeats it.
    (The campaign's own decisions by worker: `iglu_lib.collection.review.apply_decisions`.)"""
    results = []
    for index, item in enumerate(decisions):
        decision = item if isinstance(item, Decision) else Decision.from_mapping(item, index)
        try:
            assignment = manager.get_assignment(decision.assignment_id, agents=agents)
            outcome = _carry_out(manager, assignment, decision, ledger)
        except IgluError as err:
            outcome = f"error: {err}"
        results.append({**asdict(decision), "outcome": outcome})
    return results


def _carry_out(manager: ReviewedCrowd, assignment: CampaignSubmission, decision: Decision, ledger: Ledger | None) -> str:
    """One decision, through the ledger when there is one."""
    act = ACTIONS[decision.action]
    if ledger is None:
        act(manager, assignment, decision.reason)
        return "done"
    from iglu_lib.ledger.book import Kind

    call: Callable[[], None] = lambda: act(manager, assignment, decision.reason)  # noqa: E731
    if decision.action == "block":
        result = ledger.block(Kind.HARD_BLOCK, worker_id=assignment.worker_id, reason=decision.reason, call=call,
                              hit_id=assignment.hit_id)
    else:
        kind = (Kind.REJECT if decision.action == "reject"
                else Kind.REVERSAL if assignment.state is SubmissionStatus.REJECTED else Kind.REWARD)
        result = ledger.settle(kind, assignment_id=assignment.assignment_id, worker_id=assignment.worker_id,
                               hit_id=assignment.hit_id, amount=manager.settings.reward, reason=decision.reason,
                               status=lambda: assignment.status, call=call)
    return "done" if result.acted else "already done"


def output_folder(output_dir: str | Path) -> Path:
    """`output_dir` as given when absolute, else under the project root (papermill runs the
    notebook from `notebooks/`, so a relative path must not follow the working directory);
    created if missing."""
    folder = Path(output_dir)
    folder = folder if folder.is_absolute() else paths.project_root() / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def hits_frame(manager: CampaignCrowd) -> pd.DataFrame:
    """The manager's HITs as a DataFrame with `HIT_COLUMNS` (the columns are there even when
    there is no HIT)."""
    import pandas as pd

    rows = [{name: getattr(hit, name) for name in HIT_COLUMNS} for hit in manager.hits()]
    return pd.DataFrame(rows, columns=list(HIT_COLUMNS))


def hits_by_status(hits: pd.DataFrame) -> pd.DataFrame:
    """How many HITs of a `hits_frame` are in each status, as a one-column (`HITs`) frame."""
    return hits.groupby("status").size().rename("HITs").to_frame()


def assignments_frame(assignments: Iterable[CampaignSubmission],
                      code_status: Callable[[str], str] | None = None) -> Any:
    """One `assignment_row` per assignment, as a DataFrame."""
    import pandas as pd

    return pd.DataFrame([assignment_row(a, code_status) for a in assignments])


def record_decisions(manager: ReviewedCrowd, decisions: Iterable[Decision | Mapping[str, Any]],
                     folder: Path, act: bool, agents: int = 2,
                     ledger: Ledger | None = None) -> tuple[list[dict[str, Any]], Path]:
    """Apply `decisions` only when `act` is true (a headless run lists and shows, and acts
    only when asked), and write `act` and the results to `folder/decisions.json` either way,
    so every run leaves a record of what it did; returns the results and that file."""
    results = act_on_assignments(manager, decisions, agents=agents, ledger=ledger) if act else []
    path = folder / DECISIONS_FILE
    path.write_text(json.dumps({"act": act, "results": results}, indent=2), encoding="utf-8")
    return results, path
