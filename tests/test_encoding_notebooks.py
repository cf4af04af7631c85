"""Notebooks 01 (encode tasks) and 02 (join codes) run headless, one after the other."""

from __future__ import annotations

import json

import nbformat

from iglu_lib.encoding import decode_task
from iglu_lib.encoding.agents import load_agent_instances
from iglu_lib.encoding.join_codes import read_join_codes
from iglu_lib.notebooks import run_notebook
from iglu_lib.tasks import load_sample


def test_encode_then_join_codes_notebooks_run_headless(test_outputs):
    demo = test_outputs / "encoding_demo"
    selected = ["4-c92/step-22", "13-c71/step-2"]
    executed = run_notebook(
        "01_encode_tasks", "params/01_encode_tasks.yaml",
        parameters={"select": selected, "empty_start_copies": True, "pictures": 1, "out_dir": str(demo / "tasks")},
        output=test_outputs / "01_encode_tasks.ipynb", progress=False,
    )
    files = sorted((demo / "tasks").glob("*.json"))
    assert len(files) == 6  # three tasks and their empty-start copies
    sample = {t.task_id: t for t in load_sample()}
    decoded = decode_task(json.loads((demo / "tasks" / "4-c92_step-22.json").read_text()))
    assert decoded.starting_grid == sample["4-c92/step-22"].starting_grid
    assert _all_text(executed).count("wrote 6 task files") == 1

    executed = run_notebook(
        "02_join_codes", "params/02_join_codes.yaml",
        parameters={"tasks_dir": str(demo / "tasks"), "exports_dir": str(demo / "exports"),
                    "join_codes_out": str(demo / "join_codes.json"), "agents_out": str(demo / "agents.json")},
        output=test_outputs / "02_join_codes.ipynb", progress=False,
    )
    join_codes = read_join_codes(demo / "join_codes.json")
    assert set(join_codes) == {json.loads(f.read_text())["name"] for f in files}
    assert set(load_agent_instances(demo / "agents.json")) == {"MHB", "Felipe", "Happy"}
    assert (demo / "exports" / "task_id_mapping.json").is_file()
    assert "join codes of 6 tasks" in _all_text(executed)


def _all_text(path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return "\n".join(
        str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )
