"""A local stack of its own for a benchmark that runs a campaign: started in a temporary folder,
named to the process through `IGLU_STACK_DIR` (the local profile reads it), stopped after."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def fresh_stack() -> Iterator[Path]:
    """The temporary folder (its `stack` subfolder holds the stack's state) while the stack runs."""
    from iglu_lib.local import stack

    with tempfile.TemporaryDirectory() as folder:
        state_dir = Path(folder) / "stack"
        os.environ["IGLU_STACK_DIR"] = str(state_dir)
        stack.up(state_dir)
        try:
            yield Path(folder)
        finally:
            stack.down(state_dir)
            os.environ.pop("IGLU_STACK_DIR", None)
