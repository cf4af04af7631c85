"""The secret scan of outputs/ is the session's last act (`pytest_sessionfinish` in
tests/conftest.py), not a test that must sort last: a pytest run over our conftest whose test
plants a secret in the scanned folder exits non-zero naming the file, and a clean run passes."""

from __future__ import annotations

from pathlib import Path

pytest_plugins = ("pytester",)

CONFTEST = Path(__file__).with_name("conftest.py")

PLANTING_TEST = """
import os
from pathlib import Path


def test_writes_an_artefact():
    folder = Path(os.environ["IGLU_SECRET_SCAN_DIR"]) / "notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    text = "executed cell output: " + (os.environ["IGLU_WORKER_ID_SALT"] if os.environ.get("PLANT") else "nothing")
    (folder / "run.ipynb").write_text(text)
"""


def _run(pytester, monkeypatch, tmp_path, plant: bool):
    scanned = tmp_path / f"outputs-{plant}"
    scanned.mkdir()
    monkeypatch.setenv("IGLU_SECRET_SCAN_DIR", str(scanned))
    monkeypatch.setenv("PLANT", "1" if plant else "")
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(test_planting=PLANTING_TEST)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider")


def test_a_secret_planted_in_outputs_fails_the_session(pytester, monkeypatch, tmp_path):
    result = _run(pytester, monkeypatch, tmp_path, plant=True)
    result.assert_outcomes(passed=1)  # every test passed, and yet
    assert result.ret == 1, "a leak makes pytest exit non-zero"
    result.stdout.fnmatch_lines(["*secret scan failed*", "*secret values found in outputs*notebooks/run.ipynb*"])


def test_clean_outputs_pass(pytester, monkeypatch, tmp_path):
    result = _run(pytester, monkeypatch, tmp_path, plant=False)
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    assert "secret scan failed" not in result.stdout.str()
