"""`make demo`: the whole rehearsal on a fresh local stack, through the notebooks.

Starts a stack of its own (under `outputs/demo/stack`, wiped first, so every demo starts from
nothing), runs each stage of `params/demo.yaml` with papermill in order, stops the stack, and
prints, for each of its two campaigns (the same agents on MTurk, then on Prolific), the
campaign summary and the agents ranked by the collected preferences beside the simulator's
true order, and where the executed notebooks and files are."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iglu_lib import paths
from iglu_lib.config import ConfigError, read_yaml


@dataclass(frozen=True)
class Stage:
    notebook: str
    parameters: str | None
    name: str = ""  # the executed notebook's name (default the notebook's): a notebook may run twice

    @property
    def output_name(self) -> str:
        return self.name or Path(self.notebook).stem


#: The demo's campaigns: the folder under the demo's outputs their notebooks 03 and 04 write to,
#: and their parameter file.
@dataclass(frozen=True)
class DemoCampaign:
    provider: str
    folder: str
    params: str


CAMPAIGNS = (DemoCampaign("mturk", "", "params/campaigns/demo-pairwise.yaml"),
             DemoCampaign("prolific", "prolific", "params/campaigns/demo-prolific.yaml"))


def demo_dir() -> Path:
    return paths.outputs_dir() / "demo"


def read_stages(demo_file: Path) -> list[Stage]:
    plan = read_yaml(demo_file)
    if not isinstance(plan, dict) or not isinstance(plan.get("stages"), list):
        raise ConfigError(f"{demo_file}: expected a mapping with a list 'stages' of {{notebook, parameters}}")
    return [Stage(item["notebook"], item.get("parameters"), item.get("name", "")) for item in plan["stages"]]


def run_demo(demo_file: Path | None = None, *, keep_stack: bool = False) -> list[Path]:
    """Run every stage on a fresh stack (left running with `keep_stack`, to look around
    with `IGLU_STACK_DIR=outputs/demo/stack`); returns the executed notebooks."""
    from tqdm.auto import tqdm

    from iglu_lib.local import stack
    from iglu_lib.notebooks import run_notebook

    stages = read_stages(demo_file or paths.params_dir() / "demo.yaml")
    state_dir = demo_dir() / "stack"
    stack.down(state_dir)
    shutil.rmtree(demo_dir(), ignore_errors=True)
    forget_study_slots()
    kernel_env = {"IGLU_STACK_DIR": str(state_dir)}  # the notebooks' kernels only; this process keeps its own
    executed = []
    try:
        print("starting a fresh local stack ...", flush=True)
        stack.up(state_dir)
        for stage in tqdm(stages, desc="demo stages", unit="notebook"):
            output = demo_dir() / "notebooks" / f"{stage.output_name}.ipynb"
            executed.append(run_notebook(stage.notebook, stage.parameters, output=output, progress=False,
                                         env=kernel_env))
        write_report(executed)
    finally:
        if not keep_stack:
            stack.down(state_dir)
    return executed


def forget_study_slots() -> None:
    """The demo's Prolific campaign starts from nothing, as its stack does: the slots an earlier
    demo left in the profile's slot file (beside `hit.external_store`) are dropped."""
    from iglu_lib.config import load_profile
    from iglu_lib.crowd.study_slots import StudySlotStore, store_path

    path = store_path(load_profile("local").hit)
    if path.is_file():
        for campaign in CAMPAIGNS:
            if campaign.provider == "prolific":
                StudySlotStore(path).forget(read_yaml(paths.project_root() / campaign.params)["campaign"])


#: What each hostile behaviour of the rehearsal crowd leaves in the records when it is caught.
HOSTILE_REASONS = {
    "forged agent field": "game_agent_mismatch",
    "reused games": "code_reused",
    "malformed code": "malformed_code",
    "oversized answer (kept whole, cut in the record)": "answer_truncated",
}


#: The hostile behaviours a Prolific participant can show in the records: one takes a study once, so
#: has no earlier games to reuse, and the study page refuses an answer over 64 KiB before it is kept.
PROLIFIC_HOSTILE = ("forged agent field", "malformed code")


def hostile_caught(games_by_reason: dict[str, int], provider: str = "mturk") -> dict[str, int]:
    """Games caught per hostile behaviour the campaign's crowd has, from its games by reason."""
    kinds = PROLIFIC_HOSTILE if provider == "prolific" else tuple(HOSTILE_REASONS)
    return {what: int(games_by_reason.get(HOSTILE_REASONS[what], 0)) for what in kinds}


def report_path() -> Path:
    """The rehearsal's analysis as a page to share."""
    return demo_dir() / "report.html"


def write_report(executed: list[Path]) -> Path | None:
    """The leaderboard page the analysis notebook wrote (`iglu report`'s page, without running the
    analysis again); None when the plan has no analysis stage."""
    from iglu_lib.analysis.share import ANALYSIS_NOTEBOOK, notebook_html

    analysis = next((path for path in executed if path.stem == ANALYSIS_NOTEBOOK), None)
    if analysis is None:
        return None
    page = demo_dir() / "analysis" / "report.html"  # params/demo/06_analysis.yaml's out_dir
    if page.is_file():
        shutil.copyfile(page, report_path())
    else:  # a demo plan whose analysis writes elsewhere: the notebook itself as the page
        report_path().write_text(notebook_html(analysis, title="IGLU rehearsal: the demo campaign"), encoding="utf-8")
    return report_path()


def final_report(folder: Path | None = None, provider: str = "mturk") -> dict[str, Any]:
    """What the demo ends with for one of its campaigns (`provider`): the campaign summary and
    the collected ranking beside the truth."""
    from iglu_lib.analysis import analyze, load_games

    folder = folder or demo_dir()
    files = folder / campaign_of(provider).folder
    summary = json.loads((files / "campaign_summary.json").read_text(encoding="utf-8"))
    skills = json.loads((folder / "platform" / "true_skills.json").read_text(encoding="utf-8"))
    analysis = analyze(load_games(files / "campaign_feedback.csv"), replicates=200, seed=0)
    ranking = analysis.ranking
    collected = [] if ranking.problem else list(ranking.table["agent"])
    return {
        "campaign": {k: v for k, v in summary.items() if k not in ("status", "on_service")},
        "cell_spread": summary["status"]["cell_spread"],
        "games_by_reason": summary["status"]["games_by_reason"],
        "hostile_caught": hostile_caught(summary["status"]["games_by_reason"], provider),
        "choices": summary["status"].get("choices", {}),
        "analysis_counts": {k: v for k, v in analysis.comparisons.counts().items() if not isinstance(v, dict)},
        "collected_order": collected,
        "true_order": sorted(skills, key=skills.__getitem__, reverse=True),
        "ranking_problem": ranking.problem,
        "workers_at_cap": summary["status"].get("workers_at_cap", 0),
        "on_service": summary.get("on_service", {}),
        "manual_decisions": manual_decisions(files),
    }


def campaign_of(provider: str) -> DemoCampaign:
    """The demo's campaign on `provider` (mturk or prolific)."""
    found = [c for c in CAMPAIGNS if c.provider == provider]
    if not found:
        raise ConfigError(f"the demo runs no campaign on {provider!r}; it runs one on each of "
                          f"{', '.join(c.provider for c in CAMPAIGNS)}")
    return found[0]


def campaigns_run(folder: Path | None = None) -> list[DemoCampaign]:
    """The demo's campaigns whose summary the run wrote (a plan may leave one out)."""
    folder = folder or demo_dir()
    return [c for c in CAMPAIGNS if (folder / c.folder / "campaign_summary.json").is_file()]


def manual_decisions(folder: Path) -> list[dict[str, Any]]:
    """What the demo's review stage (notebook 04) decided by hand, e.g. a reversed rejection."""
    path = folder / "review" / "manual_decisions.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
