"""The papermill runner: parameters in, executed copy out, failures named, batches summed up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from iglu_lib.config import ConfigError
from iglu_lib.notebooks import NotebookFailed, run_batch, run_notebook, summary_table

ECHO = Path(__file__).parent / "fixtures" / "echo.ipynb"


def _outputs_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_run_injects_parameters_and_writes_the_executed_copy(tmp_path, test_outputs):
    params = tmp_path / "p.yaml"
    params.write_text("greeting: bonjour\n")
    out = run_notebook(ECHO, params, output=test_outputs / "echo.ipynb", progress=False)
    text = _outputs_text(out)
    assert "bonjour" in text and "injected-parameters" in text
    assert str(ECHO.parent) in text, "the kernel runs in the notebook's folder"


def test_failing_cell_is_reported_with_its_error(test_outputs):
    with pytest.raises(NotebookFailed, match=r"echo.ipynb failed in cell \d+: ValueError: asked to fail: boom"):
        run_notebook(ECHO, parameters={"fail": True, "greeting": "boom"},
                     output=test_outputs / "echo-fail.ipynb", progress=False)


def test_a_secret_as_parameter_is_refused(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value-for-test")
    with pytest.raises(ConfigError, match="holds a secret"):
        run_notebook(ECHO, parameters={"greeting": "s3cr3t-value-for-test"}, progress=False)


def test_batch_runs_pairs_and_summarises(tmp_path, test_outputs):
    good = tmp_path / "good.yaml"
    good.write_text("greeting: one\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("fail: true\n")
    batch = tmp_path / "batch.yaml"
    batch.write_text(
        f"workers: 2\nruns:\n"
        f"  - {{notebook: {ECHO}, parameters: {good}, output: {test_outputs / 'b1.ipynb'}}}\n"
        f"  - {{notebook: {ECHO}, parameters: {bad}, output: {test_outputs / 'b2.ipynb'}}}\n"
    )
    before = Path.cwd()
    results = run_batch(batch)
    assert Path.cwd() == before, "running notebooks in threads must not move this process's cwd"
    assert [r.ok for r in results] == [True, False]
    table = summary_table(results)
    assert "passed" in table and "FAILED" in table and "b2.ipynb" in table

    cli = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "batch", str(batch)],
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 1 and "1 passed, 1 failed" in cli.stdout


def test_stack_notebook_runs_headless(stack, test_outputs):
    out = run_notebook("00_stack", "params/00_stack.yaml", output=test_outputs / "00_stack.ipynb", progress=False)
    assert "azurite-blob" in _outputs_text(out)


def test_headless_run_prints_no_kernel_transport_warning(tmp_path, test_outputs):
    """Kernels of `iglu run` talk over local sockets, so a headless run is free of ipykernel's
    "running over TCP without encryption" warning (and of a listening port)."""
    params = tmp_path / "p.yaml"
    params.write_text("greeting: hello\n")
    result = subprocess.run(
        [sys.executable, "-m", "iglu_lib.cli", "run", str(ECHO), "--params", str(params),
         "--output", str(test_outputs / "echo-quiet.ipynb")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "hello" in (test_outputs / "echo-quiet.ipynb").read_text(encoding="utf-8")
    assert "without encryption" not in result.stderr + result.stdout
