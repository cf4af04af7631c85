"""Where the workbench keeps its parameters and outputs.

The project root is found from the environment (`IGLU_PROJECT_ROOT`) or by walking up from
the working directory to the folder that holds `params/` and `pyproject.toml`, so that
notebooks executed by papermill (whose working directory is `notebooks/`) and the CLI agree.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout the workbench runs in (falls back to the working directory)."""
    configured = os.environ.get("IGLU_PROJECT_ROOT")
    if configured:
        return Path(configured).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "params").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    return here


def outputs_dir() -> Path:
    """Generated artefacts and executed notebooks (ignored by git)."""
    return Path(os.environ.get("IGLU_OUTPUTS_DIR") or project_root() / "outputs")


def params_dir() -> Path:
    """Parameter files per stage and per profile."""
    return project_root() / "params"


def stack_dir() -> Path:
    """State and data of the local stack; tests point `IGLU_STACK_DIR` at a temporary folder."""
    return Path(os.environ.get("IGLU_STACK_DIR") or outputs_dir() / ".stack")
