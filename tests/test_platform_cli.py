"""`iglu games check-code` and `iglu games fetch` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_CODE = (
    "H4sIAAAAAAAA/xXO2w1AIQgD0IlIAFHBbeS1/wjX+9nkpO2kSpY0COUGIRW4+iKFDOtpw2ecG4cLZ7EvoNXPRTooWUI6jyjauC0Ojm2y"
    "hCFnBghmg6fQz9X01vIdZ/pGQiVQxR81gd35it/Y4JYoz2MkV3AEJOF4aDZcSgbC9rur8LIeb15rKMMOTRB+m9fMwd+NKchcNT6/q3Xr4AAAAA=="
)
TASK_JOIN = (
    "/plaiground:join-task-with-agent 51ed24d9-c82f-4184-a8d9-1c439f593b5c:"
    "2e05e2b6-16ff-4cdb-819d-db23ce17079c:03794642-d5dc-40df-bd41-4cd898ae6b7c"
)


def iglu(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "iglu_lib.cli", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_check_code_prints_the_fields_of_a_real_code():
    result = iglu("games", "check-code", REAL_CODE, "--json")
    assert result.returncode == 0, result.stderr
    checked = json.loads(result.stdout)
    assert checked["ok"] is True and checked["reason"] is None
    assert checked["fields"]["game_id"] == "5b701081-880c-40f1-9a56-159332f4cebd"


def test_check_code_names_the_reason_and_exits_non_zero():
    pasted = iglu("games", "check-code", "A3SXZL66TVNQQG", "--json")
    assert pasted.returncode == 1
    assert json.loads(pasted.stdout) == {"ok": False, "reason": "worker_id_pasted", "fields": {}}
    other_agent = iglu(
        "games", "check-code", REAL_CODE, "--join-code", TASK_JOIN + ":someone-else", "--json"
    )
    assert json.loads(other_agent.stdout)["reason"] == "agent_mismatch"
    same = iglu(
        "games",
        "check-code",
        REAL_CODE,
        "--join-code",
        TASK_JOIN + ":bf266382-7c8d-42dc-a99b-b37954022ee3",
    )
    assert same.returncode == 0 and same.stdout.startswith("ok: ")
    text = iglu("games", "check-code", "N/A")
    assert text.returncode == 1 and text.stdout.startswith("empty_code: ")
    malformed = iglu("games", "check-code", REAL_CODE, "--join-code", "nonsense")
    assert malformed.returncode == 2 and "join_code_malformed" in malformed.stderr
    assert "Traceback" not in malformed.stderr


def test_fetch_prints_one_row_per_game(stack, local_profile):
    played = local_profile.backend.rehearsal().simulate_games(
        games=2,
        architects=["diligent", "lazy"],
        sample_tasks=1,
        tournament_id="cli-fetch",
    )
    result = iglu("games", "fetch", *(code for code, _ in played), "A3SXZL66TVNQQG", "--json")
    assert result.returncode == 1, result.stderr  # one of the codes is not a code
    rows = json.loads(result.stdout)
    assert [row["reason"] for row in rows] == [None, None, "worker_id_pasted"]
    assert all(0 <= row["structure_f1"] <= 1 for row in rows[:2])
