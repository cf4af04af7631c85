"""The onboarding check and the safe placeholder filling of pages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from iglu_lib.crowd.onboarding import OnboardingRules, check_onboarding, split_commands
from iglu_lib.crowd.pages import PlaceholderError, fill, placeholders

GOOD = "build a red tower\nmove the blue block left\ndestroy the green wall"


def test_commands_split_on_every_line_ending_and_blank_lines_drop():
    assert split_commands("build a house\r\n\r\n  move   it left \rdestroy the tower\n\n") == [
        "build a house", "move it left", "destroy the tower",
    ]


def test_a_rich_diverse_answer_passes():
    result = check_onboarding(GOOD)
    assert result.passed and result.reasons == [] and result.commands == 3


@pytest.mark.parametrize(
    ("answer", "reasons"),
    [
        ("go\nhi", ["too_few_commands", "too_short"]),
        ("build a tower\nmove it\n", ["too_few_commands"]),
        ("build\nmove\nturn right now", ["too_short"]),
        ("build a red tower\nbuild a blue wall\nbuild a green cube", ["not_diverse"]),
        ("build a red tower\nmove the cube left\nBuild  a red tower", ["duplicate_commands"]),
        ("", ["too_few_commands", "too_short"]),
    ],
)
def test_each_rule_fires_with_its_reason(answer, reasons):
    result = check_onboarding(answer)
    assert not result.passed and result.reasons == reasons


def test_thresholds_come_from_the_rules():
    assert check_onboarding("build a tower\nmove it left", OnboardingRules(min_commands=2)).passed
    assert check_onboarding(GOOD, OnboardingRules(min_average_words=5)).reasons == ["too_short"]


def test_check_onboarding_cli_prints_json_and_exits_by_verdict(tmp_path):
    answer = tmp_path / "answer.txt"
    answer.write_bytes(b"go\r\nhi\r\n")
    failed = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "crowd", "check-onboarding", "--answer-file", str(answer), "--json"],
                            capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1
    assert json.loads(failed.stdout) == {"passed": False, "reasons": ["too_few_commands", "too_short"], "commands": 2}
    answer.write_text(GOOD)
    passed = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "crowd", "check-onboarding", "--answer-file", str(answer)],
                            capture_output=True, text=True, timeout=120)
    assert passed.returncode == 0 and "3 commands, passed" in passed.stdout
    missing = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "crowd", "check-onboarding", "--answer-file", str(tmp_path / "no.txt")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "answer file not found" in missing.stderr


def test_fill_escapes_values_and_keeps_escaped_placeholders():
    page = '<a title="${name}">${name}</a> $${literal} ${count}'
    assert placeholders(page) == {"name", "count"}
    filled = fill(page, {"name": '"><script>alert(1)</script>&amp;', "count": 3})
    assert "<script>" not in filled and "&quot;&gt;&lt;script&gt;" in filled and "&amp;amp;" in filled
    assert "${literal}" in filled and filled.endswith(" 3")
    assert fill("${a}", {"a": "${b}", "b": "no"}) == "${b}"  # values are never filled again


def test_fill_names_every_missing_value():
    with pytest.raises(PlaceholderError, match=r"task page: no value for \$\{a\}, \$\{b\}"):
        fill("${a} ${b} ${c}", {"c": 1}, "task page")
