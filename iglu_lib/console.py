"""What commands print, and the error a command raises for bad input.

Every package's `cli.py` uses this module rather than `iglu_lib.cli`: the entry point loads
those modules, so they must never import it back.
"""

from __future__ import annotations

import json
from typing import Any

from iglu_lib.errors import IgluError


class CommandError(IgluError):
    """A command's input is wrong; the message says which and what to do (one line, exit 2)."""


def print_json(value: Any) -> None:
    """Print one JSON document (the `--json` output of every command)."""
    print(json.dumps(value, indent=2, default=str))
