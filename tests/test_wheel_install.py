"""The library installs as a researcher would install it: `pip install iglu-workbench` into an
environment of their own, with the runtime dependencies `pyproject.toml` declares and nothing
from this checkout's `.venv`, then `iglu analyze` on the bundled real export works there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{command[:4]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _clean_environment(home: Path) -> dict[str, str]:
    """This process's environment less whatever points Python at this checkout."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"PYTHONPATH", "VIRTUAL_ENV", "IGLU_PROJECT_ROOT", "IGLU_OUTPUTS_DIR", "IGLU_STACK_DIR"}}
    env["HOME"] = os.environ.get("HOME", str(home))
    return env


def _package_source(target: Path) -> Path:
    """What a source distribution holds, copied out, so building leaves no `build/` here."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    shutil.copytree(ROOT / "iglu_lib", target / "iglu_lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the wheel built from this checkout and its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    source = _package_source(work / "source")
    wheels = work / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(source)],
         cwd=work)
    (wheel,) = wheels.glob("iglu_workbench-*.whl")
    target = work / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    python = target / "bin" / "python"
    # requirements.txt pins the versions `make` tested; they constrain, they do not add packages.
    _run([str(python), "-m", "pip", "install", "--quiet", "-c", str(ROOT / "requirements.txt"), str(wheel)],
         cwd=work, env=_clean_environment(work))
    return target


def test_declared_dependencies_are_pinned_in_requirements() -> None:
    """Every runtime dependency and extra is in requirements.txt, so `make` tests what users get."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in ("lab", "local", "dev"):
        declared += project["optional-dependencies"][extra]
    pinned = {line.split("==")[0].split("[")[0].strip().lower().replace("_", "-")
              for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    names = {entry.split(">=")[0].split("[")[0].strip().lower().replace("_", "-") for entry in declared}
    assert names - pinned == set()


def test_wheel_analyses_the_bundled_export_in_a_fresh_environment(installed: Path, tmp_path: Path) -> None:
    env = _clean_environment(tmp_path)
    python = installed / "bin" / "python"
    # The installed package, not this checkout, answers the import.
    where = _run([str(python), "-c", "import iglu_lib; print(iglu_lib.__file__)"], cwd=tmp_path, env=env)
    assert str(installed) in where.stdout
    result = _run([str(installed / "bin" / "iglu"), "analyze", "--out", str(tmp_path / "out"), "--json",
                   "--replicates", "50"], cwd=tmp_path, env=env)
    summary = json.loads(result.stdout)
    assert summary["ranking"]["order"] == ["Happy", "MHB", "Felipe"]
    assert any((tmp_path / "out").glob("*.csv"))


def test_runtime_install_leaves_out_the_extras(installed: Path) -> None:
    """The runtime set stays lean: JupyterLab, moto and pytest come only with their extras."""
    listing = subprocess.run([str(installed / "bin" / "python"), "-m", "pip", "list", "--format=json"],
                             capture_output=True, text=True, check=True).stdout
    names = {entry["name"].lower() for entry in json.loads(listing)}
    assert "iglu-workbench" in names
    assert {"jupyterlab", "moto", "pytest"} & names == set()
