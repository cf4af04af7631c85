"""Every bad parameter is one line naming the file, the key and what is allowed, never a traceback,
and `iglu campaign preflight` refuses whatever `iglu collect` refuses, first (issue 20, item 4).

Each case runs the real command line in a subprocess, as a researcher would: a campaign file
for `iglu collect` and `iglu campaign preflight`, a profile for both, a notebook's parameters
for `iglu run` and `iglu batch`.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE = {"campaign": "bad-params", "join_codes": "j.json", "agent_instances": "a.json"}


def iglu(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "iglu_lib.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=environment, timeout=120)


def assert_one_line(done: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit code 2, nothing on stdout, one line on stderr holding every fragment, no traceback."""
    assert "Traceback" not in done.stderr + done.stdout
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def campaign_file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "campaign.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(yaml.safe_dump(BASE) + text, encoding="utf-8")
    return path


#: (YAML added to a valid campaign file, the key named, words of what is allowed)
CAMPAIGN_CASES = {
    "a string where a list belongs": ('allow_list: "AB12"\n', "allow_list is 'AB12'", "allowed: a list, each text"),
    "a bool where a number belongs": ("target_approved_hits: true\n", "target_approved_hits is true",
                                      "allowed: a whole number from 1 to 100000"),
    "a negative cap": ("max_hits_per_worker: -1\n", "max_hits_per_worker is -1",
                       "allowed: a whole number at least 1 or null"),
    "an absurd target": ("target_approved_hits: 1000000000000\n", "target_approved_hits is 1000000000000",
                         "allowed: a whole number from 1 to 100000"),
    "an absurd target in YAML's exponent form": ("target_approved_hits: 1e12\n", "target_approved_hits is '1e12'",
                                                 "allowed: a whole number from 1 to 100000"),
    "a rate that is not a number": ("fee_rate: 'abc'\n", "fee_rate is 'abc'", 'allowed: a rate from "0" to "1"'),
    "an unknown key": ("max_hits_per_workr: 3\n", "unknown key max_hits_per_workr",
                       "did you mean max_hits_per_worker?"),
    "a typo inside a section": ("bonus: {amout: '0.10'}\n", "unknown key bonus.amout", "did you mean amount?"),
    "a choice that is not one": ("mode: triple\n", "mode is 'triple'", "allowed: one of single | pairwise | multi"),
}


@pytest.mark.parametrize("case", CAMPAIGN_CASES, ids=lambda c: c.replace(" ", "_"))
def test_a_bad_campaign_parameter_is_one_line_in_preflight_and_collect(case, tmp_path):
    added, key, allowed = CAMPAIGN_CASES[case]
    path = campaign_file(tmp_path, added)
    env = {"IGLU_OUTPUTS_DIR": str(tmp_path / "outputs")}
    refused = assert_one_line(iglu("campaign", "preflight", "--params", str(path), env=env), str(path), key, allowed)
    collected = assert_one_line(iglu("collect", "--params", str(path), env=env), str(path), key, allowed)
    assert refused.removeprefix("iglu campaign: ") == collected.removeprefix("iglu collect: ")
    assert not (tmp_path / "outputs").exists(), "collect started before refusing"


def test_undecodable_bytes_are_one_line(tmp_path):
    path = campaign_file(tmp_path, b"campaign: x\n\xff\xfe\x00binary")
    for command in (("campaign", "preflight"), ("collect",)):
        assert_one_line(iglu(*command, "--params", str(path)), str(path), "not a text file", "UTF-8")
    control = campaign_file(tmp_path, b"campaign: x\nnote: \x01\n")
    assert_one_line(iglu("collect", "--params", str(control)), str(control), "malformed YAML")


def test_a_bad_profile_section_is_one_line_in_preflight_and_collect(tmp_path):
    """The profile the campaign names is checked by its model too (a typo in `hit`, a bad name)."""
    project = tmp_path / "project"
    (project / "params" / "profiles").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    local = yaml.safe_load((ROOT / "params" / "profiles" / "local.yaml").read_text(encoding="utf-8"))
    local["hit"]["rewrd"] = local["hit"].pop("reward")
    profile = project / "params" / "profiles" / "typo.yaml"
    profile.write_text(yaml.safe_dump(local), encoding="utf-8")
    path = campaign_file(tmp_path, "profile: typo\n")
    env = {"IGLU_PROJECT_ROOT": str(project)}
    for command in (("campaign", "preflight"), ("collect",)):
        assert_one_line(iglu(*command, "--params", str(path), env=env), str(profile), "hit.rewrd",
                        "did you mean reward?")


def notebook_params(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "analysis.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_iglu_run_refuses_a_parameter_the_notebook_does_not_declare(tmp_path):
    path = notebook_params(tmp_path, "input_csv: outputs/my_export.csv\n")
    assert_one_line(iglu("run", "06_analysis", "-p", str(path), env={"IGLU_OUTPUTS_DIR": str(tmp_path / "out")}),
                    str(path), "06_analysis", "unknown key input_csv", "did you mean input_file?")
    assert not (tmp_path / "out").exists(), "the notebook ran before the refusal"


def test_iglu_run_refuses_a_value_the_notebook_model_refuses(tmp_path):
    path = notebook_params(tmp_path, "replicates: true\n")
    assert_one_line(iglu("run", "06_analysis", "-p", str(path)), str(path), "replicates is true",
                    "allowed: a whole number from 1 to 100000")


def test_iglu_batch_refuses_before_running_any_notebook(tmp_path):
    bad = notebook_params(tmp_path, "input_csv: outputs/my_export.csv\n")
    batch = tmp_path / "batch.yaml"
    batch.write_text(yaml.safe_dump({"runs": [{"notebook": "09_design", "parameters": "params/09_design.yaml"},
                                              {"notebook": "06_analysis", "parameters": str(bad)}]}))
    assert_one_line(iglu("batch", str(batch), env={"IGLU_OUTPUTS_DIR": str(tmp_path / "out")}), str(bad),
                    "unknown key input_csv", "did you mean input_file?")
    assert not (tmp_path / "out").exists(), "a notebook of the batch ran before the refusal"


def test_the_campaign_model_knows_every_section_key_the_loop_reads():
    """The sections are read again by the loop's parts (thresholds, sanctions, messages, bonus,
    scheduling): the model must accept exactly their keys, so what `Campaign.open` would refuse
    the model (and so preflight) refuses first, and nothing the model accepts is refused later."""
    from dataclasses import fields

    from iglu_lib.collection.params import Bonus, Messages, SanctionSettings, Scheduling
    from iglu_lib.collection.sanctions import DEFAULT_TEMPLATES
    from iglu_lib.platform.validation import Thresholds, Validation
    from iglu_lib.scheduling.strategy import STRATEGIES

    assert set(Validation.__annotations__) == {f.name for f in fields(Thresholds)}
    assert set(Messages.__annotations__) == {"send", *DEFAULT_TEMPLATES}
    assert set(SanctionSettings.__annotations__) == {"soft_block", "hard_block_reasons"}
    assert set(Bonus.__annotations__) == {"amount", "min_architect_turns", "reason"}
    options = {name for strategy in STRATEGIES.values()
               for name, parameter in inspect.signature(strategy).parameters.items()
               if parameter.kind is inspect.Parameter.KEYWORD_ONLY}
    # the adaptive strategy's worker rules come from the `evidence` section, not `scheduling`
    from iglu_lib.collection.params import Evidence

    from_evidence = {"min_workers", "max_judgements_per_worker"}
    assert from_evidence <= set(Evidence.__annotations__)
    assert set(Scheduling.__annotations__) == {"strategy", *(options - from_evidence)}


def test_a_typo_in_a_batch_file_is_one_line(tmp_path):
    batch = tmp_path / "batch.yaml"
    batch.write_text("workers: 2\nruns:\n  - {notebok: 00_stack}\n", encoding="utf-8")
    assert_one_line(iglu("batch", str(batch)), str(batch), "unknown key runs[0].notebok", "did you mean notebook?")
