"""Run the workbench's notebooks headless with papermill, one at a time or as a batch.

A notebook receives its parameters from a YAML file (and overrides) through its cell
tagged `parameters`. The runner injects nothing else: secrets stay in the environment,
where the library reads them, so an executed notebook never holds one.
"""

from __future__ import annotations

import concurrent.futures
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iglu_lib import paths
from iglu_lib.config import SECRETS, ConfigError, environment, read_yaml
from iglu_lib.errors import IgluError


class NotebookFailed(IgluError):
    """A cell of an executed notebook raised; the message names the notebook, cell and error."""



def resolve_notebook(notebook: str | Path) -> Path:
    """A path, or a bare name such as `01_encode_tasks`, looked up in `notebooks/`."""
    candidate = Path(notebook)
    if candidate.is_file():
        return candidate.resolve()
    folder = paths.project_root() / "notebooks"
    for name in (candidate.name, f"{candidate.name}.ipynb"):
        if (folder / name).is_file():
            return (folder / name).resolve()
    raise ConfigError(f"notebook '{notebook}' not found (looked in {folder}); `ls notebooks/` lists them")


def read_parameters(params_file: str | Path | None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Parameters from a YAML mapping plus overrides; refuses anything that looks like a secret."""
    parameters: dict[str, Any] = {}
    if params_file:
        loaded = read_yaml(Path(params_file))
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{params_file}: expected a mapping of parameter names to values")
        parameters.update(loaded or {})
    parameters.update(overrides or {})
    _refuse_secrets(parameters, params_file)
    return parameters


def checked_parameters(notebook: Path, params_file: str | Path | None,
                       overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The parameters of a run, refused in one line (`ParameterError`) when the notebook does not
    declare one or its model refuses a value: papermill itself would only warn and run on."""
    from iglu_lib.notebook_params import check_parameters

    values = read_parameters(params_file, overrides)
    check_parameters(notebook, values, str(params_file or "parameters"))
    return values


def _refuse_secrets(parameters: Mapping[str, Any], source: Any) -> None:
    secret_values = {v for k, v in environment().items() if k in SECRETS and v}
    for key, value in parameters.items():
        if key.upper() in SECRETS or (isinstance(value, str) and value in secret_values):
            raise ConfigError(
                f"{source or 'parameters'}: parameter '{key}' holds a secret; secrets come from the "
                "environment or .env, never from parameters"
            )


def default_output(notebook: Path) -> Path:
    return paths.outputs_dir() / "notebooks" / notebook.name


def run_notebook(
    notebook: str | Path,
    params_file: str | Path | None = None,
    *,
    parameters: Mapping[str, Any] | None = None,
    output: str | Path | None = None,
    progress: bool = True,
    timeout_seconds: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Path:
    """Execute a notebook with papermill and return the executed copy's path. `env` is added
    to the kernel's environment only (e.g. `IGLU_STACK_DIR` of the demo's own stack), so this
    process's environment never changes."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = resolve_notebook(notebook)
    values = checked_parameters(source, params_file, parameters)
    target = Path(output) if output else default_output(source)
    if not target.is_absolute() and target.parts[:1] != ("outputs",):
        target = paths.outputs_dir() / target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters=values,
            # the kernel starts in the notebook's folder; papermill's own `cwd` would chdir this
            # process, which races when a batch runs notebooks in threads
            resources={"metadata": {"path": str(source.parent)}},
            kernel_name="python3",
            progress_bar=progress,
            log_output=False,
            execution_timeout=timeout_seconds,
            kernel_manager_class=_kernel_manager_with(env or {}),
        )
    except PapermillExecutionError as err:
        raise NotebookFailed(
            f"{source.name} failed in cell {err.exec_count}: {err.ename}: {err.evalue} "
            f"(executed copy: {target})"
        ) from None
    return target


def _kernel_manager_with(env: Mapping[str, str]) -> type:
    """A Jupyter kernel manager whose kernels start with `env` over this process's environment.

    Its kernels talk over local sockets (IPC) rather than loopback TCP: nothing of the run is
    reachable by other users through a port, and the kernel has no "running over TCP without
    encryption" warning to print into every headless run.
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir

    extra = dict(env)

    class KernelManagerWithEnv(AsyncKernelManager):
        def __init__(self, **kw: Any) -> None:
            # an absolute socket path: the kernel starts in the notebook's folder, not ours
            kw.setdefault("transport", "ipc")
            kw.setdefault("ip", str(Path(jupyter_runtime_dir()) / f"kernel-{uuid.uuid4().hex}-ipc"))
            super().__init__(**kw)

        # jupyter_client declares the async manager's start_kernel with the sync signature.
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw["env"] = {**os.environ, **(kw.get("env") or {}), **extra}
            await super().start_kernel(**kw)

    return KernelManagerWithEnv


@dataclass(frozen=True)
class BatchRun:
    """One (notebook, parameters) pair of a batch file and how it ended."""

    notebook: str
    parameters: str | None
    output: str
    ok: bool = False
    error: str | None = None


def read_batch(batch_file: str | Path) -> tuple[list[BatchRun], int]:
    """The runs of a batch file and how many may run at once (the file checked by its model)."""
    from iglu_lib.notebook_params import BatchFile
    from iglu_lib.schema import validate

    batch = validate(BatchFile, read_yaml(Path(batch_file)), str(batch_file))
    runs = []
    for index, item in enumerate(batch.runs, start=1):
        notebook = resolve_notebook(item.notebook)
        output = item.output or str(paths.outputs_dir() / "batch" / f"{index:02d}_{notebook.name}")
        runs.append(BatchRun(str(notebook), item.parameters, str(output)))
    return runs, batch.workers


def run_batch(batch_file: str | Path, workers: int | None = None) -> list[BatchRun]:
    """Run every pair of a batch file, several at once, with a progress bar."""
    from tqdm.auto import tqdm

    runs, default_workers = read_batch(batch_file)
    for run in runs:  # every run's parameters first: a bad one refuses the batch before any runs
        checked_parameters(Path(run.notebook), run.parameters)
    results: list[BatchRun] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers or default_workers) as pool:
        futures = {pool.submit(_run_one, run): run for run in runs}
        for future in tqdm(concurrent.futures.as_completed(futures), total=len(futures), desc="notebooks"):
            results.append(future.result())
    order = {run.output: i for i, run in enumerate(runs)}
    return sorted(results, key=lambda r: order[r.output])


def _run_one(run: BatchRun) -> BatchRun:
    try:
        run_notebook(run.notebook, run.parameters, output=run.output, progress=False)
    except (NotebookFailed, ConfigError) as err:
        return BatchRun(run.notebook, run.parameters, run.output, ok=False, error=str(err))
    return BatchRun(run.notebook, run.parameters, run.output, ok=True)


def summary_table(results: list[BatchRun]) -> str:
    """A plain-text table of a batch: what passed, failed and where the outputs are."""
    from tabulate import tabulate

    rows = [
        (Path(r.notebook).name, r.parameters or "-", "passed" if r.ok else "FAILED", r.output, r.error or "")
        for r in results
    ]
    return tabulate(rows, headers=["notebook", "parameters", "result", "output", "error"])
