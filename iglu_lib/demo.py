"""`make demo`: the whole rehearsal on the local stack, through the notebooks.

Starts the stack when it is not running, runs each stage of `params/demo.yaml` with papermill
in order, prints where the executed notebooks and artefacts are, and stops the stack it
started (a stack that was already running is left running)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from iglu_lib import paths
from iglu_lib.config import ConfigError, read_yaml


@dataclass(frozen=True)
class Stage:
    notebook: str
    parameters: str | None


def read_stages(demo_file: Path) -> list[Stage]:
    plan = read_yaml(demo_file)
    if not isinstance(plan, dict) or not isinstance(plan.get("stages"), list):
        raise ConfigError(f"{demo_file}: expected a mapping with a list 'stages' of {{notebook, parameters}}")
    return [Stage(item["notebook"], item.get("parameters")) for item in plan["stages"]]


def run_demo(demo_file: Path | None = None, keep_stack: bool = False) -> list[Path]:
    """Run every stage; returns the executed notebooks."""
    from tqdm.auto import tqdm

    from iglu_lib.local import stack
    from iglu_lib.notebooks import run_notebook

    stages = read_stages(demo_file or paths.params_dir() / "demo.yaml")
    started_here = not stack.is_running()
    if started_here:
        print("starting the local stack ...", flush=True)
    stack.up()
    executed = []
    try:
        for stage in tqdm(stages, desc="demo stages", unit="notebook"):
            output = paths.outputs_dir() / "demo" / "notebooks" / f"{Path(stage.notebook).stem}.ipynb"
            executed.append(run_notebook(stage.notebook, stage.parameters, output=output, progress=False))
    finally:
        if started_here and not keep_stack:
            stack.down()
    return executed
