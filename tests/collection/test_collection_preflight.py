"""Preflight against the real local stack: the rehearsal is ready; a sandbox profile without
credentials, a budget above the balance, a missing qualification type, a join-code file with
too few agents each fail their own line of the checklist, and `iglu collect` refuses to start
on a paying profile that fails it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from iglu_lib.collection.preflight import preflight
from iglu_lib.config import load_profile

SECRET_PREFIXES = ("AWS_", "AZURE_", "IGLU_WORKER_ID_SALT")


def lines_of(report) -> dict[str, str]:
    return {check.name: f"{check.ok} {check.message}" for check in report.checks}


def test_the_rehearsal_passes_preflight(rehearsal, local_profile, unique_name):
    report = preflight(rehearsal.params(unique_name("pre")), profile=local_profile)
    assert report.passed, "\n".join(report.lines())
    checks = lines_of(report)
    assert checks["MTurk and balance"].startswith("True") and "covers the budget" in checks["MTurk and balance"]
    assert "play money" in checks["profile"] and local_profile.backend.endpoint("mturk") in checks["profile"]
    assert "3 agents (6 instances)" in checks["join codes and agent instances"]
    assert report.lines()[0].endswith("ready") and all(line.startswith("  ✓") or line.startswith("  -")
                                                       for line in report.lines()[1:])


def test_the_sandbox_without_credentials_fails_with_a_clear_checklist(rehearsal, unique_name):
    params = rehearsal.params(unique_name("pre"), profile="sandbox")
    report = preflight(params, profile=load_profile("sandbox", env={}))
    assert not report.passed
    checks = lines_of(report)
    assert checks["credentials"].startswith("False") and "AWS_ACCESS_KEY_ID" in checks["credentials"]
    assert "AZURE_STORAGE_CONNECTION_STRING" in checks["credentials"]
    for name in ("MTurk and balance", "storage", "qualifications"):
        assert checks[name] == "False not checked: the credentials above are missing"
    assert "sandbox (no real money)" in checks["profile"]
    assert checks["HIT page"].startswith("True"), "what needs no account is still checked"


def test_collect_on_a_paying_profile_without_credentials_stops_at_preflight(rehearsal, unique_name, tmp_path):
    """Run as a person would, in an environment without any secret (and no .env)."""
    params_file = rehearsal.params_file(unique_name("pre"), profile="sandbox")
    root = tmp_path / "project"
    (root / "params").mkdir(parents=True)
    (root / "params" / "profiles").symlink_to(_profiles_dir())
    env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_PREFIXES)}
    env["IGLU_PROJECT_ROOT"] = str(root)  # a root without .env
    check = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "campaign", "preflight", "--params",
                            str(params_file)], capture_output=True, text=True, timeout=120, env=env)
    assert check.returncode == 2, check.stdout + check.stderr
    assert "NOT ready" in check.stdout and "✗ credentials: AWS_ACCESS_KEY_ID" in check.stdout
    collect = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "collect", "--params", str(params_file)],
                             capture_output=True, text=True, timeout=120, env=env)
    assert collect.returncode == 2, collect.stdout + collect.stderr
    assert "preflight failed (credentials, MTurk and balance, qualifications, storage)" in collect.stderr
    assert "✗ credentials" in collect.stderr


def test_a_budget_above_the_balance_fails_the_balance_line(rehearsal, local_profile, unique_name):
    report = preflight(rehearsal.params(unique_name("pre"), budget="20000.00"), profile=local_profile)
    assert not report.passed
    assert [check.name for check in report.failures] == ["MTurk and balance"]
    assert "below the budget $20000.00" in report.failures[0].message


def test_a_missing_qualification_type_and_too_few_agents_fail_their_lines(rehearsal, local_profile, unique_name,
                                                                           tmp_path):
    profile = local_profile.with_hit(qualification_requirements=(
        {"QualificationTypeId": "3NOSUCHQUALIFICATIONTYPE00", "Comparator": "Exists"},
        {"QualificationTypeId": "000000000000000000L0", "Comparator": "GreaterThanOrEqualTo",
         "IntegerValues": [95]},
    ))
    one_agent = tmp_path / "one_agent.json"
    instances = json.loads(rehearsal.agent_instances.read_text())
    one_agent.write_text(json.dumps({"Alpha": instances["Alpha"]}))
    report = preflight(rehearsal.params(unique_name("pre"), agent_instances=str(one_agent)), profile=profile)
    checks = lines_of(report)
    assert checks["qualifications"].startswith("False") and "3NOSUCHQUALIFICATIONTYPE00" in checks["qualifications"]
    assert "000000000000000000L0" not in checks["qualifications"], "system types need no lookup"
    assert checks["join codes and agent instances"].startswith("False")
    assert "shows 2 agents per HIT" in checks["join codes and agent instances"]


def _profiles_dir():
    from iglu_lib.config import profiles_dir

    return profiles_dir()


def test_external_pages_without_an_address_fail_the_page_line(rehearsal, local_profile, unique_name):
    profile = local_profile.with_hit(question_mode="external")
    report = preflight(rehearsal.params(unique_name("pre")), profile=profile)
    assert [check.name for check in report.failures] == ["HIT page"]
    assert "external_url" in report.failures[0].message
