"""How fast `iglu report --html` writes the leaderboard page of the bundled real export (1000
replicates, the next-step simulation included), against the way it used to be made: executing
notebook 06 on the same export with papermill and converting it with nbconvert. Each runs in a
fresh child process, so both times include interpreter start-up and imports.

Two entries: the page against nbconvert of the notebook (target: faster), and the page against
the issue's budget of 30 seconds on these machines (target: within it)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Seconds the page of the real export may take (issue 23).
BUDGET_SECONDS = 30.0

_NOTEBOOK = """
from iglu_lib.analysis.share import render_report
render_report({html!r}, replicates=1000)
"""


def _seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-report-") as folder:
        page = _seconds([sys.executable, "-m", "iglu_lib.cli", "report", "--html", str(Path(folder) / "page.html")])
        notebook = _seconds([sys.executable, "-c", _NOTEBOOK.format(html=str(Path(folder) / "notebook.html"))])
    return [
        {"name": "report_page_vs_nbconvert", "value": page, "unit": "s", "baseline": notebook,
         "ratio": page / notebook, "target": 1.0, "better": "lower"},
        {"name": "report_page_budget", "value": page, "unit": "s", "baseline": BUDGET_SECONDS,
         "ratio": page / BUDGET_SECONDS, "target": 1.0, "better": "lower"},
    ]
