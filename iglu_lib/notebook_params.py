"""The parameters each notebook declares, as pydantic models: names, types, ranges and choices.

`iglu run` and `iglu batch` check a notebook's parameters against its model before papermill
starts a kernel, because papermill only warns about a name the notebook does not declare and
then runs with the notebook's default: `input_csv:` for `input_file:` would analyse the bundled
data instead of the researcher's file. A model's field names and defaults are those of the
notebook's `parameters` cell and of `params/<notebook>.yaml` (tests/test_notebook_parameters.py
holds them together); a notebook without a model is checked against its `parameters` cell.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from iglu_lib.errors import ParameterError
from iglu_lib.platform.validation import Validation
from iglu_lib.schema import Flag, Name, Number, Whole, suggestion, validate

Profile = Annotated[Name, Field(description="params/profiles/<profile_name>.yaml")]
Share = Annotated[Number, Field(ge=0, le=1)]
Workers = Annotated[Whole, Field(ge=1, le=256, description="how many run at once")]


class NotebookParameters(BaseModel):
    """A notebook's parameters: every key must be one the notebook declares."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Stack(NotebookParameters):
    """00_stack: start the local stack, or check a cloud profile."""

    profile_name: Profile = "local"


class EncodeTasks(NotebookParameters):
    """01_encode_tasks: choose IGLU tasks, look at them, encode them."""

    source: Annotated[Name, Field(description="'sample' (bundled, offline) or a single-turn dataset folder")] = \
        "sample"
    csv_name: Annotated[Name, Field(description="CSV of a dataset folder (ignored for the sample)")] = \
        "clarifying_questions_train.csv"
    select: Annotated[str | list[str | Whole], Field(description=(
        "'all', comma-separated task ids, a file of ids, or a list"))] = "all"
    architect_role_id: Name = "63ae6b21-8e62-597f-b2e2-238f870c7eaa"
    builder_role_id: Name = "5a5d6c9a-29c4-506e-ad9e-36f1cc34c8ff"
    empty_start_copies: Annotated[Flag, Field(description="also write each target from an empty world")] = False
    task_state: Literal["Published", "Draft"] = "Published"
    max_duration_seconds: Annotated[Whole | None, Field(ge=1)] = 3600
    max_turns: Annotated[Whole | None, Field(ge=1, description="null: no limit on turns")] = None
    turn_limits: Annotated[dict[str, Annotated[Whole, Field(ge=1)]], Field(description=(
        "{architect|builder|role id: seconds per turn}"))] = {}
    template: Annotated[str | None, Field(description="a Jinja2 task template instead of the packaged one")] = None
    pictures: Annotated[Whole, Field(ge=0, le=100, description="how many tasks to draw")] = 3
    out_dir: Annotated[Name, Field(description="where the task files go (inside outputs/)")] = "outputs/demo/tasks"


class SimulatedAgent(BaseModel):
    """A simulated builder: its pool of instances and true skill."""

    model_config = ConfigDict(extra="forbid")
    instances: Annotated[Whole, Field(ge=1, le=100)]
    skill: Share


class SimulatedPlatform(NotebookParameters):
    """01b_simulated_platform: the rehearsal platform (local profile only)."""

    profile_name: Profile = "local"
    tasks_dir: Name = "outputs/demo/tasks"
    task_limit: Annotated[Whole, Field(ge=1, description="the first N encoded tasks (file-name order)")] = 12
    agents: Annotated[dict[str, SimulatedAgent], Field(description="agent: {instances, skill (0..1)}")] = {
        "MHB": SimulatedAgent(instances=3, skill=0.55), "Felipe": SimulatedAgent(instances=3, skill=0.25),
        "Happy": SimulatedAgent(instances=3, skill=0.85)}
    out_dir: Name = "outputs/demo/platform"


class JoinCodes(NotebookParameters):
    """02_join_codes: the platform's exports -> join codes and agents."""

    tasks_dir: Annotated[Name, Field(description="encoded tasks (notebook 01), for rehearsal exports")] = \
        "outputs/demo/tasks"
    task_id_mapping: Annotated[str, Field(description="export one (empty: make rehearsal exports)")] = ""
    join_commands: Annotated[str, Field(description="export two (empty: make rehearsal exports)")] = ""
    agents: Annotated[list[Name], Field(description="agents of the rehearsal exports")] = ["MHB", "Felipe", "Happy"]
    campaign: Annotated[Name, Field(description="seeds the rehearsal ids")] = "rehearsal"
    architect_role_id: Name = "63ae6b21-8e62-597f-b2e2-238f870c7eaa"
    exports_dir: Name = "outputs/demo/exports"
    join_codes_out: Name = "outputs/demo/join_codes.json"
    agents_out: Name = "outputs/demo/agent_instances.json"


class Collect(NotebookParameters):
    """03_collect: run a campaign (the local profile's rehearsal section describes its simulated crowd)."""

    campaign_params: Annotated[Name, Field(description="a campaign parameter file (params/campaigns/...)")] = \
        "params/campaigns/demo-pairwise.yaml"
    overrides: Annotated[dict[str, Any], Field(description="campaign parameters to change for this run")] = {}
    rehearsal_overrides: Annotated[dict[str, Any], Field(description=(
        "local profile only: changes to its `rehearsal` crowd for this run"))] = {}
    export_csv: Name = "outputs/demo/campaign_feedback.csv"
    summary_json: Name = "outputs/demo/campaign_summary.json"


class Review(NotebookParameters):
    """04_review: review submitted assignments, and a campaign's submissions by worker."""

    profile_name: Profile = "local"
    hit_type: Annotated[Name, Field(description="single | pairwise | multi (or a custom tag)")] = "pairwise"
    campaign: Name = "default"
    agents: Annotated[Whole, Field(ge=1, le=10, description="games per HIT")] = 2
    act: Annotated[Flag, Field(description="false only lists; true applies the decisions")] = False
    decisions: Annotated[list[dict[str, Any]], Field(description=(
        "[{assignment_id, action: approve|reject|block, reason}]"))] = []
    allow_spending: Annotated[Flag, Field(description="production: approvals pay only when true")] = False
    output_dir: Name = "outputs/04_review"
    campaign_params: Annotated[str | None, Field(description="adds the by-worker review of its records")] = None
    worker: Annotated[str | None, Field(description="only this worker (raw id or pseudonym worker-...)")] = None
    manual_decisions: Annotated[list[dict[str, Any]], Field(description=(
        "[{worker, action, reason, hit, amount}] (applied when act is true)"))] = []
    reverse_rejections: Annotated[dict[str, Any], Field(description="{reasons: [...], reason: ..., most: N}")] = {}


class GameData(NotebookParameters):
    """05_game_data: fetch, inspect, validate, scrub and store games."""

    profile_name: Profile = "local"
    codes: Annotated[list[str], Field(description="completion codes to fetch")] = []
    codes_file: Annotated[str | None, Field(description="a file of codes or an export")] = None
    campaign: Annotated[str | None, Field(description="fetch a campaign's submitted games instead")] = None
    simulate_games: Annotated[Whole, Field(ge=0, le=10_000, description="local: play this many games first")] = 6
    architects: Annotated[list[Name], Field(description="simulated architects (diligent, lazy, ...)")] = [
        "diligent", "lazy", "oversharing"]
    seed: Whole = 0
    workers: Workers = 16
    validation: Annotated[Validation, Field(description="thresholds; empty: the defaults")] = Validation()
    store: Annotated[Flag, Field(description="copy raw and scrubbed games to their containers")] = True
    out_dir: Name = "outputs/games"


class Analysis(NotebookParameters):
    """06_analysis: preferences, rankings, plots (iglu analyze does the same)."""

    input_file: Annotated[str | None, Field(description=(
        "an export in the published format; null: the bundled real IGLU human evaluation"))] = None
    campaign: Annotated[str | None, Field(description="read a campaign's game records instead")] = None
    profile_name: Profile = "local"
    summaries_file: Annotated[str | None, Field(description="per-game summaries keyed by GameMinecraftId")] = None
    agents: Annotated[list[Name] | None, Field(description="the agents under evaluation; null: all")] = None
    replicates: Annotated[Whole, Field(ge=1, le=100_000, description="bootstrap replicates")] = 1000
    seed: Whole = 0
    ties_as_half_wins: Annotated[Flag, Field(description="a tie counts as half a win each")] = True
    out_dir: Name = "outputs/analysis"
    paper_dir: Annotated[Name | None, Field(description=(
        "also write the leaderboard and sensitivity tables as LaTeX and Markdown and the figures as "
        "PDF and 300-dpi PNG here; null: none"))] = None
    explorer_replicates: Annotated[Whole, Field(ge=1, le=100_000)] = 200
    task_filter: str = "all"
    worker_quality_filter: str = "all"
    code_status_filter: list[str] = []


class SimulatedCrowdWorker(BaseModel):
    """A simulated worker of a crowd task."""

    model_config = ConfigDict(extra="forbid")
    worker_id: Name
    onboarding_answer: str
    answers: dict[str, str]


class CrowdTask(NotebookParameters):
    """07_crowd_task: a droidlet-style static task with onboarding."""

    profile_name: Profile = "local"
    task_dir: Name = "crowd_tasks/craftassist"
    conf: Name = "craftassist"
    onboarding_qualification: Annotated[str | None, Field(description="null: the task's own")] = None
    output_dir: Name = "outputs/crowd/07_crowd_task"
    min_commands: Annotated[Whole, Field(ge=0, le=1000)] = 3
    min_average_words: Annotated[Number, Field(ge=0, le=1000)] = 2.0
    simulate_workers: Annotated[Flag, Field(description="only on the local profile")] = True
    simulated_workers: list[SimulatedCrowdWorker] = [
        SimulatedCrowdWorker(worker_id="SIMWORKERRICH01", onboarding_answer=(
            "build a red tower next to the tree\nmove the blue block two steps left\ndestroy the green wall"),
            answers={"commands": "build a tower; make it taller; paint it red", "rating": "4",
                     "feedback": "it got most of it"}),
        SimulatedCrowdWorker(worker_id="SIMWORKERSHORT02", onboarding_answer="go\nhi",
                             answers={"commands": "go", "rating": "1", "feedback": ""}),
        SimulatedCrowdWorker(worker_id="SIMWORKERRICH03", onboarding_answer=(
            "dig a hole under me\r\ncopy the house to the left\r\nfill the pool with water"),
            answers={"commands": "dig a hole; copy the house", "rating": "5", "feedback": "great"}),
    ]


class S3Logs(NotebookParameters):
    """08_s3_logs: sync droidlet interaction logs from S3 and collate one CSV kind."""

    profile_name: Profile = "local"
    bucket: Annotated[str, Field(description="empty: the profile's s3.logs_bucket")] = ""
    prefix: str = "turk_logs/"
    kind: Annotated[Name, Field(description="which CSV of each log to collate (nsp_outputs, error_details, ...)")] \
        = "nsp_outputs"
    output_dir: Name = "outputs/s3_logs"
    date: Annotated[str, Field(description="date in the output names; empty: today (UTC)")] = ""
    sync_workers: Workers = 8
    process_workers: Workers = 2
    generate: Annotated[Flag, Field(description="local profile only: generate dirty logs first")] = True
    batches: Annotated[Whole, Field(ge=0, le=1000)] = 2
    logs_per_batch: Annotated[Whole, Field(ge=0, le=10_000)] = 4
    rows_per_log: Annotated[Whole, Field(ge=0, le=1_000_000)] = 40
    seed: Whole = 0


class Design(NotebookParameters):
    """09_design: plan a campaign's size by simulation (iglu simulate does the same)."""

    agents: Annotated[Whole, Field(ge=2, le=50)] = 6
    spacing: Annotated[Number, Field(ge=0, le=10, description="true strengths this many log-odds apart")] = 0.35
    clickers: Annotated[Share, Field(description="share of random clickers")] = 0.15
    first_shown_bias: Share = 0.3
    confidence: Annotated[Number, Field(ge=0.5, lt=1, description="the stopping rule's level")] = 0.95
    max_hits: Annotated[Whole, Field(ge=1, le=1_000_000)] = 6000
    seeds: Annotated[Whole, Field(ge=1, le=10_000, description="campaigns per strategy")] = 20
    workers: Workers = 2
    plot_seed: Whole = 0


class BatchRun(BaseModel):
    """One run of a batch file: a notebook and its parameters."""

    model_config = ConfigDict(extra="forbid")
    notebook: Annotated[Name, Field(description="path or name in notebooks/ (e.g. 01_encode_tasks)")]
    parameters: Annotated[str | None, Field(description="its parameter file (YAML)")] = None
    output: Annotated[str | None, Field(description="executed copy (default outputs/batch/NN_NAME.ipynb)")] = None


class BatchFile(NotebookParameters):
    """A batch file of `iglu batch`: notebooks with their parameters, several at once."""

    workers: Annotated[Whole, Field(ge=1, le=64, description="how many notebooks run at once")] = 2
    runs: Annotated[list[BatchRun], Field(min_length=1, description="[{notebook, parameters, output}]")]


#: The model of each bundled notebook, by its name in `notebooks/`.
MODELS: dict[str, type[NotebookParameters]] = {
    "00_stack": Stack, "01_encode_tasks": EncodeTasks, "01b_simulated_platform": SimulatedPlatform,
    "02_join_codes": JoinCodes, "03_collect": Collect, "04_review": Review, "05_game_data": GameData,
    "06_analysis": Analysis, "07_crowd_task": CrowdTask, "08_s3_logs": S3Logs, "09_design": Design,
}


def declared_parameters(notebook: Path) -> list[str]:
    """The names the notebook's cell tagged `parameters` assigns (papermill's convention)."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    names: list[str] = []
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = cell.get("source", "")
            for node in ast.parse("".join(source) if isinstance(source, list) else source).body:
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, ast.AnnAssign) else []
                names += [target.id for target in targets if isinstance(target, ast.Name)]
    return names


def check_parameters(notebook: Path, values: Mapping[str, Any], source: str) -> None:
    """Refuse, in one line, a parameter the notebook does not declare or a value its model refuses."""
    model = MODELS.get(notebook.stem)
    where = f"{source} (parameters of {notebook.stem})"
    if model is not None:
        validate(model, dict(values), where)
        return
    declared = declared_parameters(notebook)
    for name in values:
        if name not in declared:
            raise ParameterError(f"{where}: unknown key {name}{suggestion(name, declared)}; "
                                 f"known keys: {', '.join(sorted(declared)) or 'none (no parameters cell)'}")
