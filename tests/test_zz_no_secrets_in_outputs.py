"""Runs last (file name): executed notebooks and artefacts under outputs/ hold no secret.

Every secret value the session could see is looked for: the variables of
`iglu_lib.config.SECRETS` set in the environment, and the stack's own key and salt."""

from __future__ import annotations

import os
from pathlib import Path

from iglu_lib.config import SECRETS

ROOT = Path(__file__).resolve().parents[1]


def _secret_values(stack_state_dir: str | None) -> set[str]:
    values = {os.environ[name] for name in SECRETS if os.environ.get(name)}
    if stack_state_dir:
        import json

        state_file = Path(stack_state_dir) / "state.json"
        if state_file.is_file():
            state = json.loads(state_file.read_text())
            values |= {state.get("azurite_account_key", ""), state.get("worker_id_salt", "")}
    return {v for v in values if len(v) >= 8}


def test_outputs_hold_no_secret(stack):
    secrets = _secret_values(os.environ.get("IGLU_STACK_DIR"))
    assert secrets, "the session should have secrets to look for"
    leaks = []
    for path in (ROOT / "outputs").rglob("*"):
        if not path.is_file() or ".stack" in path.parts or path.stat().st_size > 50_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        leaks += [f"{path.relative_to(ROOT)}" for value in secrets if value in text]
    assert not leaks, f"secret values found in: {sorted(set(leaks))}"
