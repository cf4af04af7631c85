"""The stop request of a campaign: a file (`outputs/campaigns/<campaign>/stop-request`) rather
than a signal, because the loop may run in a notebook, a `tmux` pane or on another login. The loop
looks for it every turn; `iglu campaign stop` writes it. Its own module, so that the loop and the
wind-down (which drives the loop) import it without importing each other."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from iglu_lib import paths

log = logging.getLogger(__name__)


def stop_request_path(campaign: str) -> Path:
    """The file whose presence asks the campaign's loop to stop (campaign names are checked
    table keys, so they are safe file names)."""
    return paths.outputs_dir() / "campaigns" / campaign / "stop-request"


def request_stop(campaign: str, reason: str = "iglu campaign stop") -> Path:
    """Ask a running loop of `campaign` to stop after its current step."""
    path = stop_request_path(campaign)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{datetime.now(timezone.utc).isoformat()} {reason}\n", encoding="utf-8")
    log.info("campaign %s: stop requested (%s)", campaign, path)
    return path


def stop_requested(campaign: str) -> bool:
    """Whether someone asked the loop of `campaign` to stop (one stat per turn)."""
    return stop_request_path(campaign).is_file()


def clear_stop_request(campaign: str) -> bool:
    """Forget an earlier stop request (a new run starts); True if there was one."""
    path = stop_request_path(campaign)
    if path.is_file():
        path.unlink()
        return True
    return False
