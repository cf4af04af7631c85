"""Task folders of the droidlet kind: configuration, units and placeholders, every problem at once."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iglu_lib.crowd.config import TaskConfigError, load_config
from iglu_lib.crowd.task import load_task

EXAMPLE = Path(__file__).resolve().parents[1] / "crowd_tasks" / "craftassist"


@pytest.fixture
def task_dir(tmp_path: Path) -> Path:
    """A private copy of the example task folder to break."""
    return Path(shutil.copytree(EXAMPLE, tmp_path / "craftassist"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_example_task_loads_with_its_units_and_settings():
    task = load_task(EXAMPLE, "craftassist")
    config = task.config
    assert config.task_name == "craftassist-interaction"
    assert config.reward == "0.30" and config.tags == ("minecraft", "assistant", "voxel", "commands")
    assert config.onboarding_qualification == "craftassist_onboarding_v1"
    assert config.data_csv == EXAMPLE / "data.csv" and config.extra_source_dir.is_dir()
    assert [u.values["subdomain"] for u in task.units] == ["craftassist-a01", "craftassist-a02", "craftassist-b01"]
    assert [u.row_number for u in task.units] == [2, 3, 4]


def test_units_per_assignment_repeats_each_row(task_dir):
    _edit(task_dir / "conf" / "craftassist.yaml", "units_per_assignment: 1", "units_per_assignment: 2")
    task = load_task(task_dir, "craftassist")
    assert [(u.unit_id, u.row_number) for u in task.units] == [(0, 2), (1, 2), (2, 3), (3, 3), (4, 4), (5, 4)]


def test_env_interpolation_reads_the_environment(task_dir, monkeypatch):
    _edit(task_dir / "conf" / "craftassist.yaml", "task_name: craftassist-interaction", "task_name: ${env:H4A_TASK_NAME}")
    monkeypatch.setenv("H4A_TASK_NAME", "from-env")
    assert load_config(task_dir, "craftassist").task_name == "from-env"


def test_every_config_problem_is_reported_at_once_with_file_and_key(task_dir, monkeypatch):
    monkeypatch.delenv("H4A_UNSET_VARIABLE", raising=False)
    conf = task_dir / "conf" / "craftassist.yaml"
    _edit(conf, "task_title: Talk to an AI assistant in a voxel world", "task_title: ${env:H4A_UNSET_VARIABLE}")
    with pytest.raises(TaskConfigError, match="mephisto.task.task_title.*H4A_UNSET_VARIABLE"):
        load_config(task_dir, "craftassist")
    _edit(conf, "task_title: ${env:H4A_UNSET_VARIABLE}", "task_title: fine")
    _edit(conf, "task_reward: 0.30", "task_reward: free")
    _edit(conf, "craftassist_preview.html", "missing_preview.html")
    _edit(conf, "    task_name: craftassist-interaction\n", "")
    with pytest.raises(TaskConfigError) as raised:
        load_config(task_dir, "craftassist")
    problems = raised.value.problems
    assert len(problems) == 3, problems
    assert all(str(conf) in p for p in problems)
    joined = " | ".join(problems)
    assert "task_reward 'free'" in joined and "preview_source" in joined and "task_name is required" in joined


def test_missing_header_line_and_unknown_conf_are_named(task_dir):
    with pytest.raises(TaskConfigError, match="known in conf/: craftassist"):
        load_config(task_dir, "nope")
    conf = task_dir / "conf" / "craftassist.yaml"
    conf.write_text(conf.read_text().replace("#@package _global_\n", ""))
    with pytest.raises(TaskConfigError, match="#@package _global_"):
        load_config(task_dir, "craftassist")


def test_onboarding_source_needs_a_qualification(task_dir):
    _edit(task_dir / "conf" / "craftassist.yaml", "onboarding_qualification: craftassist_onboarding_v1", "onboarding_qualification: ''")
    with pytest.raises(TaskConfigError, match="onboarding_qualification is required"):
        load_config(task_dir, "craftassist")


def test_bad_rows_and_missing_placeholders_are_listed_together(task_dir):
    (task_dir / "data.csv").write_text("subdomain,batch\nok-1,b1\nbroken,b1,extra\n,b2\n")
    _edit(task_dir / "server_files" / "craftassist_task.html", "<h1>${task_title}</h1>", "<h1>${task_title} ${world_seed}</h1>")
    _edit(task_dir / "server_files" / "craftassist_preview.html", "<p>${task_description}</p>", "<p>${subdomain}</p>")
    with pytest.raises(TaskConfigError) as raised:
        load_task(task_dir, "craftassist")
    joined = " | ".join(raised.value.problems)
    assert "row 3 has 3 fields" in joined
    assert "craftassist_task.html: no value for ${world_seed}" in joined
    assert "craftassist_preview.html: no value for ${subdomain}" in joined
    assert "row 4: empty subdomain" in joined


def test_column_clashing_with_a_runtime_value_is_refused(task_dir):
    (task_dir / "data.csv").write_text("subdomain,batch,hit_id\na,b,c\n")
    with pytest.raises(TaskConfigError, match="column 'hit_id' clashes"):
        load_task(task_dir, "craftassist")


def test_validate_cli_prints_one_line_per_problem_set(task_dir):
    (task_dir / "data.csv").write_text("subdomain\n")
    result = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "crowd", "validate", str(task_dir), "--conf", "craftassist"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "no rows" in result.stderr and result.stderr.strip().count("\n") == 0
    ok = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "crowd", "validate", str(EXAMPLE), "--conf", "craftassist", "--json"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and '"units": 3' in ok.stdout


@pytest.mark.parametrize("secret", ["AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_CONNECTION_STRING", "IGLU_WORKER_ID_SALT",
                                    "aws_access_key_id"])
def test_a_secret_interpolated_into_a_task_setting_is_refused(task_dir, monkeypatch, secret):
    monkeypatch.setenv(secret.upper(), "s3cr3t-value-never-on-a-page")
    conf = task_dir / "conf" / "craftassist.yaml"
    _edit(conf, "task_description:", f"task_description: ${{env:{secret}}}\n    old_description:")
    with pytest.raises(TaskConfigError) as refused:
        load_config(task_dir, "craftassist")
    message = str(refused.value)
    assert "mephisto.task.task_description" in message and "names a secret" in message
    assert "s3cr3t-value-never-on-a-page" not in message


def test_a_secret_value_under_another_variable_name_is_refused(task_dir, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value-under-an-alias")
    monkeypatch.setenv("H4A_INNOCENT_NAME", "s3cr3t-value-under-an-alias")
    _edit(task_dir / "conf" / "craftassist.yaml", "task_name: craftassist-interaction", "task_name: ${env:H4A_INNOCENT_NAME}")
    with pytest.raises(TaskConfigError, match="mephisto.task.task_name holds the value of a secret") as refused:
        load_config(task_dir, "craftassist")
    assert "s3cr3t-value-under-an-alias" not in str(refused.value)
