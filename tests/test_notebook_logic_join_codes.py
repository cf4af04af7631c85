"""What notebook 02 calls: the exports to read (given or rehearsal), the report that stops
when nothing is usable, and the tasks x agents table of join codes."""

from __future__ import annotations

import json

import pytest

from iglu_lib.encoding.agents import agent_instances_from_export
from iglu_lib.encoding.exports import export_files, make_platform_exports
from iglu_lib.encoding.join_codes import (
    ExportError,
    build_join_codes,
    join_code_matrix,
    join_codes_from_files,
    write_json_file,
)

TASKS = ["bridge", "tower"]
AGENTS = ["MHB", "Happy"]


@pytest.fixture
def tasks_dir(tmp_path):
    for name in TASKS:
        write_json_file(tmp_path / "tasks" / f"{name}.json", {"name": name})
    return "tasks"


def test_without_exports_rehearsal_exports_are_written_from_the_encoded_tasks(tmp_path, tasks_dir):
    files = export_files("", "", tasks_dir=tasks_dir, agents=AGENTS, exports_dir="exports",
                         campaign="c1", role_id="role", root=tmp_path)
    assert files.task_id_mapping == tmp_path / "exports" / "task_id_mapping.json"
    assert files.join_commands == tmp_path / "exports" / "join_commands.json"
    assert "2 tasks and 2 agents" in files.note
    join_codes, report = join_codes_from_files(files.task_id_mapping, files.join_commands)
    assert sorted(join_codes) == TASKS and report.usable
    assert json.loads(files.join_commands.read_text())["info"]["roleId"] == "role"


def test_given_exports_are_read_from_the_root_and_nothing_is_written(tmp_path, tasks_dir):
    files = export_files("platform/mapping.json", "platform/commands.json", tasks_dir=tasks_dir,
                         agents=AGENTS, exports_dir="exports", root=tmp_path)
    assert (files.task_id_mapping, files.join_commands) == (
        tmp_path / "platform" / "mapping.json", tmp_path / "platform" / "commands.json")
    assert not (tmp_path / "exports").exists()


def test_one_export_without_the_other_is_an_error_naming_the_missing_one(tmp_path, tasks_dir):
    with pytest.raises(ExportError, match="join_commands is set but task_id_mapping is empty"):
        export_files(None, "commands.json", tasks_dir=tasks_dir, agents=AGENTS,
                     exports_dir="exports", root=tmp_path)


def test_exports_of_two_tournaments_stop_with_every_problem_named():
    mapping, _ = make_platform_exports(TASKS, AGENTS, campaign="one")
    _, commands = make_platform_exports(TASKS, AGENTS, campaign="two")
    join_codes, report = build_join_codes(mapping, commands)
    assert join_codes == {} and not report.usable
    with pytest.raises(ExportError) as raised:
        report.require_usable("mapping.json and commands.json")
    message = str(raised.value)
    assert "no usable join code in mapping.json and commands.json" in message
    assert "tasks without command: 'bridge', 'tower'" in message
    assert "unknown task ids" in message and "duplicate names" not in message


def test_an_empty_mapping_is_named_as_listing_no_task():
    _, commands = make_platform_exports([], AGENTS)
    _, report = build_join_codes({"taskIdNamesList": []}, commands)
    with pytest.raises(ExportError, match="they list no task"):
        report.require_usable()


def test_a_usable_report_passes():
    _, report = build_join_codes(*make_platform_exports(TASKS, AGENTS))
    report.require_usable()


def test_matrix_has_one_row_per_task_and_one_column_per_agent():
    join_codes, report = build_join_codes(*make_platform_exports(TASKS, AGENTS))
    instances = agent_instances_from_export(report.agents)
    matrix = join_code_matrix(join_codes, instances)
    assert list(matrix.index) == TASKS and sorted(matrix.columns) == sorted(AGENTS)
    happy = instances["Happy"][0]["agent_instance_id"]
    assert matrix.loc["tower", "Happy"] == f"{join_codes['tower']['task_join_code']}:{happy}"


def test_matrix_of_nothing_is_empty():
    assert join_code_matrix({}, {}).empty
