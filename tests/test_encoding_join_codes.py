"""Join codes from the platform's two exports, agent instances, and their commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from iglu_lib.encoding.agents import (
    AgentInstancesError,
    load_agent_instances,
    validate_agent_instances,
)
from iglu_lib.encoding.exports import make_platform_exports
from iglu_lib.encoding.join_codes import (
    ExportError,
    build_join_codes,
    parse_join_command,
    read_join_codes,
)

CMD = "/plaiground:join-task-with-agent"


def _exports():
    mapping = {"taskIdNamesList": [{"id": "task-1", "name": "first"}, {"id": "task-2", "name": "second"}]}
    commands = {
        "info": {"tournamentId": "T", "challengeId": "C", "roleId": "R", "taskIds": ["task-1", "task-2"],
                 "agents": [{"id": "agent-a", "name": "Alpha"}, {"id": "agent-b", "name": "Beta"}]},
        "commands": [f"{CMD} T:C:task-1:agent-a", f"{CMD} T:C:task-1:agent-b",
                     f"{CMD} T:C:task-2:agent-a"],
    }
    return mapping, commands


def test_join_codes_map_task_names_to_task_join_codes():
    join_codes, report = build_join_codes(*_exports())
    assert join_codes == {
        "first": {"task_join_code": f"{CMD} T:C:task-1", "task_id": "task-1"},
        "second": {"task_join_code": f"{CMD} T:C:task-2", "task_id": "task-2"},
    }
    assert report.tasks == 2 and report.usable
    assert report.agents == [{"id": "agent-a", "name": "Alpha"}, {"id": "agent-b", "name": "Beta"}]
    assert set(report.problems().values()) == {0}


def test_problems_are_counted_and_named_and_only_clean_tasks_kept():
    mapping, commands = _exports()
    mapping["taskIdNamesList"] += [{"id": "task-3", "name": "first"}, {"id": "task-4", "name": "lonely"},
                                   {"id": "task-2", "name": "second"}]  # exact repeat is harmless
    commands["commands"] += [f"{CMD} T:C:task-9:agent-a", "/plaiground:join-task T:C:task-2", f"{CMD} T:C2:task-2:agent-b"]
    join_codes, report = build_join_codes(mapping, commands)
    assert join_codes == {}
    assert report.duplicate_names == {"first": ["task-1", "task-3"]}
    assert report.unknown_task_ids == ["task-1", "task-9"]  # task-1's name is ambiguous, so unmapped
    assert report.tasks_without_command == ["lonely"]
    assert report.malformed_commands == ["/plaiground:join-task T:C:task-2"]
    assert report.conflicting_join_codes == {"second": [f"{CMD} T:C2:task-2", f"{CMD} T:C:task-2"]}
    assert report.problems() == {"duplicate_names": 1, "unknown_task_ids": 2, "tasks_without_command": 1,
                                 "malformed_commands": 1, "conflicting_join_codes": 1}
    assert not report.usable


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda m, c: m.pop("taskIdNamesList"), "task-id mapping export: no list 'taskIdNamesList'"),
        (lambda m, c: m["taskIdNamesList"].append({"id": "x"}), r"taskIdNamesList\[2\] needs a non-empty 'id' and 'name'"),
        (lambda m, c: c.pop("commands"), "join-command export: no list 'commands'"),
        (lambda m, c: c["info"].pop("agents"), "no list 'info.agents'"),
        (lambda m, c: c["info"]["agents"].append({"id": "", "name": "x"}), r"info.agents\[2\]: needs a non-empty"),
    ],
)
def test_exports_missing_keys_name_the_element(damage, message):
    mapping, commands = _exports()
    damage(mapping, commands)
    with pytest.raises(ExportError, match=message):
        build_join_codes(mapping, commands)


def test_join_command_parts():
    parsed = parse_join_command(f"{CMD} T:C:TASK:AGENT")
    assert (parsed.task_join_code, parsed.task_id, parsed.agent_id) == (f"{CMD} T:C:TASK", "TASK", "AGENT")
    for bad in ("T:C:TASK:AGENT", f"{CMD} T:C:TASK", f"{CMD} T::TASK:A", None):
        with pytest.raises(ValueError):
            parse_join_command(bad)


def test_read_join_codes_accepts_join_code_as_synonym(tmp_path):
    path = tmp_path / "codes.json"
    path.write_text(json.dumps({"a": {"join_code": "J:a", "task_id": "1"},
                                "b": {"task_join_code": "J:b", "task_id": "2"}}))
    assert read_join_codes(path) == {"a": {"task_join_code": "J:a", "task_id": "1"},
                                     "b": {"task_join_code": "J:b", "task_id": "2"}}
    path.write_text(json.dumps({"a": {"task_id": "1"}}))
    with pytest.raises(ExportError, match=r"codes.json: task 'a' needs a non-empty 'task_join_code'"):
        read_join_codes(path)


def test_agent_instances_need_unique_ids_across_agents_and_names(tmp_path):
    good = {"Alpha": [{"agent_instance_id": "i1", "agent_instance_name": "alpha-1"},
                      {"agent_instance_id": "i2", "agent_instance_name": "alpha-2"}],
            "Beta": [{"agent_instance_id": "i3", "agent_instance_name": "beta-1"}]}
    path = tmp_path / "agents.json"
    path.write_text(json.dumps(good))
    assert load_agent_instances(path) == good
    reused = {**good, "Beta": [{"agent_instance_id": "i1", "agent_instance_name": "beta-1"}]}
    with pytest.raises(AgentInstancesError, match="agent 'Beta' instance 0: agent_instance_id 'i1' is already used by agent 'Alpha'"):
        validate_agent_instances(reused)
    with pytest.raises(AgentInstancesError, match="agent 'Beta' instance 0: 'agent_instance_name' is missing or empty"):
        validate_agent_instances({**good, "Beta": [{"agent_instance_id": "i3", "agent_instance_name": " "}]})
    with pytest.raises(AgentInstancesError, match="an agent has an empty name"):
        validate_agent_instances({"": good["Beta"]})
    with pytest.raises(AgentInstancesError, match="agent 'Beta' needs a non-empty list"):
        validate_agent_instances({**good, "Beta": []})


def _iglu(*args, cwd):
    iglu = Path(sys.executable).parent / "iglu"  # the installed command, as a user runs it
    return subprocess.run([str(iglu), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_join_codes_and_agents_commands(tmp_path):
    mapping, commands = make_platform_exports(["t1", "t2", "t3"], ["Alpha", "Beta"], campaign="test")
    mapping["taskIdNamesList"].append({"id": "extra", "name": "no-command"})
    (tmp_path / "m.json").write_text(json.dumps(mapping))
    (tmp_path / "c.json").write_text(json.dumps(commands))
    done = _iglu("join-codes", "--task-id-mapping", "m.json", "--join-codes", "c.json", "--out", "out/codes.json",
                 "--agents-out", "out/agents.json", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["tasks"] == 3 and report["tasks_without_command"] == ["no-command"]
    assert set(read_join_codes(tmp_path / "out/codes.json")) == {"t1", "t2", "t3"}
    agents = load_agent_instances(tmp_path / "out/agents.json")
    assert [a["id"] for a in report["agents"]] == [agents[n][0]["agent_instance_id"] for n in ("Alpha", "Beta")]
    checked = _iglu("agents", "check", "out/agents.json", cwd=tmp_path)
    assert checked.returncode == 0 and "Alpha-1" in checked.stdout and "2 agents, 2 instances" in checked.stdout
    (tmp_path / "bad.json").write_text(json.dumps({"A": [{"agent_instance_id": "x", "agent_instance_name": "a"}],
                                                   "B": [{"agent_instance_id": "x", "agent_instance_name": "b"}]}))
    refused = _iglu("agents", "check", "bad.json", cwd=tmp_path)
    assert refused.returncode == 2 and "bad.json: agent 'B' instance 0" in refused.stderr


def test_join_codes_command_fails_only_when_nothing_is_usable(tmp_path):
    mapping, commands = make_platform_exports(["t1"], ["Alpha"], campaign="other")
    (tmp_path / "m.json").write_text(json.dumps({"taskIdNamesList": [{"id": "zzz", "name": "t1"}]}))
    (tmp_path / "c.json").write_text(json.dumps(commands))
    done = _iglu("join-codes", "--task-id-mapping", "m.json", "--join-codes", "c.json", "--out", "codes.json",
                 cwd=tmp_path)
    assert done.returncode == 1 and "nothing written" in done.stderr and "1 unknown task ids" in done.stderr
    assert not (tmp_path / "codes.json").exists()
    (tmp_path / "c.json").write_text("{not json")
    broken = _iglu("join-codes", "--task-id-mapping", "m.json", "--join-codes", "c.json", "--out", "codes.json",
                   cwd=tmp_path)
    assert broken.returncode == 2 and "c.json: join-command export is not valid JSON (line 1" in broken.stderr


def test_game_join_codes_pair_each_task_with_each_instance():
    from iglu_lib.encoding.join_codes import join_code_table

    join_codes, _ = build_join_codes(*_exports())
    instances = {"Alpha": [{"agent_instance_id": "i1", "agent_instance_name": "a1"},
                           {"agent_instance_id": "i2", "agent_instance_name": "a2"}]}
    table = join_code_table(join_codes, instances)
    assert len(table) == 4
    assert table[0] == {"task": "first", "agent": "Alpha", "agent_instance_name": "a1",
                        "join_code": f"{CMD} T:C:task-1:i1"}


def test_rehearsal_exports_read_task_names_from_encoded_files(tmp_path):
    from iglu_lib.encoding.exports import read_task_names

    with pytest.raises(ExportError, match="no task files"):
        read_task_names(tmp_path)
    (tmp_path / "a.json").write_text(json.dumps({"name": "b-task"}))
    (tmp_path / "b.json").write_text(json.dumps({"name": "a-task"}))
    assert read_task_names(tmp_path) == ["a-task", "b-task"]
    mapping, commands = make_platform_exports(["a-task"], ["Alpha"])
    again, _ = make_platform_exports(["a-task"], ["Alpha"])
    assert mapping == again  # stable ids
    assert commands["commands"][0].endswith(f":{mapping['taskIdNamesList'][0]['id']}:{commands['info']['agents'][0]['id']}")
    (tmp_path / "c.json").write_text("[1]")
    with pytest.raises(ExportError, match="c.json: not a platform task file"):
        read_task_names(tmp_path)


def test_export_agents_sharing_a_name_are_instances_of_one_agent():
    from iglu_lib.encoding.agents import agent_instances_from_export

    instances = agent_instances_from_export([{"id": "x1", "name": "MHB"}, {"id": "x2", "name": "MHB"},
                                             {"id": "y1", "name": "Happy"}])
    assert instances == {
        "MHB": [{"agent_instance_id": "x1", "agent_instance_name": "MHB-1"},
                {"agent_instance_id": "x2", "agent_instance_name": "MHB-2"}],
        "Happy": [{"agent_instance_id": "y1", "agent_instance_name": "Happy-1"}],
    }
    with pytest.raises(AgentInstancesError, match="'x1' is already used by agent 'MHB'"):
        agent_instances_from_export([{"id": "x1", "name": "MHB"}, {"id": "x1", "name": "Happy"}])
