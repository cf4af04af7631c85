"""`iglu encode-tasks`: one file per task, empty-start copies, skipped rows, nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from iglu_lib.encoding import decode_task
from iglu_lib.encoding.batch import encode_tasks, safe_file_stem
from iglu_lib.tasks import load_sample

ROLES = ["--architect-role-id", "arch", "--builder-role-id", "build"]


def _iglu(*args, cwd):
    iglu = Path(sys.executable).parent / "iglu"  # the installed command, as a user runs it
    return subprocess.run([str(iglu), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_encode_tasks_writes_files_and_empty_start_copies(tmp_path):
    selection = tmp_path / "ids.txt"
    selection.write_text("# two games from one start, and one more\n13-c71/step-2\n4-c92/step-22\n")
    done = _iglu("encode-tasks", "--source", "sample", "--select", selection, *ROLES, "--out", "tasks",
                 "--empty-start-copies", "--max-turns", "8", "--turn-limit", "builder=120", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"written": 6, "skipped": [], "out": "tasks"}
    names = sorted(p.name for p in (tmp_path / "tasks").iterdir())
    assert names == ["13-c71_step-2_CQ-game-1278-empty-start.json", "13-c71_step-2_CQ-game-1278.json",
                     "13-c71_step-2_CQ-game-1613-empty-start.json", "13-c71_step-2_CQ-game-1613.json",
                     "4-c92_step-22-empty-start.json", "4-c92_step-22.json"]
    text = (tmp_path / "tasks" / "4-c92_step-22.json").read_text()
    assert text.startswith("{\n    \"name\": \"4-c92/step-22\"")  # pretty-printed
    document = json.loads(text)
    assert document["gameLimits"]["maxTurns"] == 8 and document["turnLimits"] == {"build": {"maxTimeOutSeconds": 120}}
    original = next(t for t in load_sample() if t.task_id == "4-c92/step-22")
    empty = decode_task((tmp_path / "tasks" / "4-c92_step-22-empty-start.json").read_text())
    assert empty.task_id == "4-c92/step-22-empty-start" and empty.starting_grid == [] and empty.chat == ""
    assert (empty.target_grid == original.target_grid).all()


def test_skipped_rows_are_reported(tmp_path):
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    (dataset / "clarifying_questions_train.csv").write_text(
        "GameId,InitializedWorldPath,InputInstruction\n"
        "CQ-game-1,initial_world_states/builder-data/1-c1/step-2,build\n"
    )
    done = _iglu("encode-tasks", "--source", dataset, *ROLES, "--out", "tasks", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["written"] == 0 and result["skipped"][0]["task"] == "CQ-game-1"
    assert result["skipped"][0]["reason"].startswith("missing file: start world state")


def test_errors_are_one_line_and_nothing_is_written(tmp_path):
    unknown = _iglu("encode-tasks", "--select", "99-c1/step-2", *ROLES, "--out", "tasks", cwd=tmp_path)
    assert unknown.returncode == 2 and "no task with id 99-c1/step-2" in unknown.stderr
    template = tmp_path / "bad.j2"
    template.write_text('{"name": {{ name | json }}, "broken": }')
    broken = _iglu("encode-tasks", *ROLES, "--out", "tasks", "--template", template, cwd=tmp_path)
    assert broken.returncode == 2 and "bad.j2 rendered invalid JSON at line 1" in broken.stderr
    limit = _iglu("encode-tasks", *ROLES, "--out", "tasks", "--turn-limit", "builder", cwd=tmp_path)
    assert limit.returncode == 2 and "expected ROLE=SECONDS" in limit.stderr
    assert not (tmp_path / "tasks").exists() or not any((tmp_path / "tasks").iterdir())


def test_a_failing_task_leaves_the_folder_untouched(tmp_path):
    tasks = load_sample()[:3]
    clash = tasks[1].__class__(chat="", target_grid=tasks[1].target_grid, task_id=tasks[0].task_id.replace("/", "?"))
    out = tmp_path / "tasks"
    try:
        encode_tasks([*tasks, clash], out, architect_role_id="a", builder_role_id="b")
    except ValueError as err:
        assert "would both be written to" in str(err)
    else:
        raise AssertionError("two tasks with one file name must be refused")
    assert not out.exists()


def test_file_stems_are_safe():
    assert safe_file_stem("2-c135/step-4") == "2-c135_step-4"
    assert safe_file_stem("../../etc/passwd") == "etc_passwd"
    assert safe_file_stem("a b<c>.json") == "a_b_c_.json"


def test_tasks_list_shows_ids_sizes_and_skipped_rows(tmp_path):
    done = _iglu("tasks", "list", "--select", "13-c71/step-2", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [t["task"] for t in listed["tasks"]] == ["13-c71/step-2/CQ-game-1278", "13-c71/step-2/CQ-game-1613"]
    assert listed["tasks"][0]["start_blocks"] == 3 and listed["report"]["rows"] == 24
    table = _iglu("tasks", "list", cwd=tmp_path)
    assert "24 tasks; 0 of 24 rows skipped" in table.stdout
