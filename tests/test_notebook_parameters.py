"""One source of notebook defaults: `params/<notebook>.yaml`. A notebook's `parameters` cell
(what a person running it by hand gets) must say the same: the same names and the same values,
so a default changed in one place and not the other fails here, not in a researcher's run."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def parameters_cell(notebook: Path) -> str:
    """The source of the notebook's one cell tagged `parameters` (papermill's convention)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{notebook.name}: {len(tagged)} cells tagged 'parameters', want one"
    source = tagged[0]["source"]
    return "".join(source) if isinstance(source, list) else source


def cell_values(source: str, where: str) -> dict[str, Any]:
    """`{name: value}` of the cell's assignments; anything but `name = literal` is refused,
    because papermill can only override plain assignments."""
    values: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        else:
            raise AssertionError(f"{where}, line {node.lineno}: not a `name = literal` assignment")
        assert name not in values, f"{where}: {name} is assigned twice"
        try:
            values[name] = ast.literal_eval(value)
        except ValueError:
            raise AssertionError(f"{where}: {name} is not a literal") from None
    return values


def check_parameters(notebook: Path, params: Path) -> None:
    """Fail, naming the names and values, when the cell and the YAML disagree."""
    assert params.is_file(), f"{notebook.name} has no params/{params.name}"
    expected = yaml.safe_load(params.read_text(encoding="utf-8")) or {}
    found = cell_values(parameters_cell(notebook), f"{notebook.name} parameters cell")
    assert sorted(found) == sorted(expected), (
        f"{notebook.name}: only in the cell {sorted(set(found) - set(expected))}, "
        f"only in {params.name} {sorted(set(expected) - set(found))}"
    )
    differing = {name: (found[name], expected[name]) for name in expected if found[name] != expected[name]}
    assert not differing, f"{notebook.name} (cell, yaml) differ; {params.name} is the source: {differing}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_parameters_cell_says_what_the_params_file_says(notebook):
    check_parameters(notebook, ROOT / "params" / f"{notebook.stem}.yaml")


def test_every_notebook_is_checked():
    assert len(NOTEBOOKS) >= 10, "the notebooks folder was not found"


def _notebook(path: Path, *lines: str) -> Path:
    cell = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": list(lines)}
    path.write_text(json.dumps({"cells": [cell]}), encoding="utf-8")
    return path


def test_a_drift_is_caught(tmp_path):
    """The check can fail: a value that differs, a name on one side only, a cell papermill
    cannot override."""
    params = tmp_path / "n.yaml"
    params.write_text("seed: 1\nworkers: [{id: A}]\n", encoding="utf-8")
    check_parameters(_notebook(tmp_path / "n.ipynb", "seed = 1\n", 'workers = [{"id": "A"}]\n'), params)
    with pytest.raises(AssertionError, match="differ.*workers"):
        check_parameters(_notebook(tmp_path / "n.ipynb", "seed = 1\n", "workers = []\n"), params)
    with pytest.raises(AssertionError, match=r"only in the cell \['extra'\]"):
        check_parameters(_notebook(tmp_path / "n.ipynb", "seed = 1\n", 'workers = [{"id": "A"}]\n',
                                   "extra = 2\n"), params)
    with pytest.raises(AssertionError, match=r"only in n.yaml \['workers'\]"):
        check_parameters(_notebook(tmp_path / "n.ipynb", "seed = 1\n"), params)
    with pytest.raises(AssertionError, match="not a literal"):
        cell_values("seed = len('ab')\n", "x")
    with pytest.raises(AssertionError, match="not a `name = literal`"):
        cell_values("import os\n", "x")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_model_declares_what_the_cell_declares_with_its_defaults(notebook):
    """The model `iglu run` checks against (iglu_lib.notebook_params) is the notebook's: the same
    names as its parameters cell, and params/<notebook>.yaml as its defaults, so the generated
    reference and the check cannot drift from the notebook."""
    from iglu_lib.notebook_params import MODELS, declared_parameters

    model = MODELS.get(notebook.stem)
    assert model is not None, f"{notebook.name} has no parameter model in iglu_lib.notebook_params.MODELS"
    assert sorted(model.model_fields) == sorted(declared_parameters(notebook))
    expected = yaml.safe_load((ROOT / "params" / f"{notebook.stem}.yaml").read_text(encoding="utf-8")) or {}
    assert json.loads(model().model_dump_json()) == expected


@pytest.mark.parametrize("params", sorted((ROOT / "params").glob("0*.yaml")) + sorted((ROOT / "params" / "demo").glob("0*.yaml"))
                         + sorted((ROOT / "params" / "demo" / "prolific").glob("0*.yaml")),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_bundled_notebook_params_file_fits_its_model(params):
    from iglu_lib.notebooks import checked_parameters

    checked_parameters(ROOT / "notebooks" / f"{params.stem}.ipynb", params)
