"""How fast `iglu --help` can answer: the CLI's import cost against importing the heavy
libraries it deliberately defers (boto3, pandas, azure), each in a fresh interpreter."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def _seconds(code: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run() -> list[dict]:
    cli = _seconds("import iglu_lib.cli as c; c.build_parser()")
    eager = _seconds("import iglu_lib.cli as c; c.build_parser(); import boto3, pandas, azure.storage.blob")
    return [{
        "name": "cli_startup",
        "value": cli,
        "unit": "s",
        "baseline": eager,
        "ratio": cli / eager,
        "target": 0.5,
        "better": "lower",
    }]
