"""Where a running campaign's log goes: a file per campaign under `outputs/campaigns/`, and the
warnings (each turn's errors, parked HITs, stops) on standard error as they happen."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from iglu_lib import paths

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_path(campaign: str) -> Path:
    """The log file of a campaign (its name is a checked table key, so it is a safe file name)."""
    return paths.outputs_dir() / "campaigns" / campaign / "collect.log"


class _OneLine(logging.Formatter):
    """One line per record on the console; tracebacks go only to the file."""

    def __init__(self, program: str = "iglu collect") -> None:
        super().__init__()
        self.program = program

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.program}: {record.levelname.lower()}: {record.getMessage()}"


@contextmanager
def campaign_logging(campaign: str, *, console_level: int = logging.WARNING,
                     program: str = "iglu collect") -> Iterator[Path]:
    """Log the library at INFO to the campaign's file, and warnings to standard error, while the
    block runs; the handlers are removed afterwards."""
    from iglu_lib.storage.record import check_key

    path = log_path(check_key(campaign, "campaign name"))
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger("iglu_lib")
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter(FORMAT))
    to_console = logging.StreamHandler()
    to_console.setLevel(console_level)
    to_console.setFormatter(_OneLine(program))
    previous = root.level
    root.setLevel(logging.INFO)
    root.addHandler(to_file)
    root.addHandler(to_console)
    try:
        yield path
    finally:
        root.removeHandler(to_file)
        root.removeHandler(to_console)
        root.setLevel(previous)
        to_file.close()
