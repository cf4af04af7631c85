"""Completion and join codes: real codes from the published export, and every way a pasted
code goes wrong, each with its reason."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import pytest

from iglu_lib.platform.codes import (
    CodeError,
    JoinCode,
    check_code,
    code_status,
    make_completion_code,
    parse_completion_code,
    parse_join_code,
)
from iglu_lib.platform.reasons import CODE_REASONS, worker_message

EXPORT = (
    Path(__file__).resolve().parents[1] / "iglu_lib/data/human_evaluation/human_agent_feedback.csv"
)
REAL_CODE = (
    "H4sIAAAAAAAA/xXO2w1AIQgD0IlIAFHBbeS1/wjX+9nkpO2kSpY0COUGIRW4+iKFDOtpw2ecG4cLZ7EvoNXPRTooWUI6jyjauC0Ojm2y"
    "hCFnBghmg6fQz9X01vIdZ/pGQiVQxR81gd35it/Y4JYoz2MkV3AEJOF4aDZcSgbC9rur8LIeb15rKMMOTRB+m9fMwd+NKchcNT6/q3Xr4AAAAA=="
)
TASK = "03794642-d5dc-40df-bd41-4cd898ae6b7c"
FIELDS = dict(
    tournament_id="51ed24d9-c82f-4184-a8d9-1c439f593b5c",
    challenge_id="2e05e2b6-16ff-4cdb-819d-db23ce17079c",
    task_id=TASK,
    game_id="5b701081-880c-40f1-9a56-159332f4cebd",
    role_id="914a403c-d103-405f-a1d2-10fba7ee0a28",
    agent_service_id="bf266382-7c8d-42dc-a99b-b37954022ee3",
)


def _pack(text: str) -> str:
    return base64.b64encode(gzip.compress(text.encode())).decode()


def test_a_real_code_decodes_to_its_seven_fields():
    code = parse_completion_code(REAL_CODE)
    assert code.fields() == {**FIELDS, "kind": "ac", "legacy": False}
    assert code.group_id == f"{FIELDS['tournament_id']}:ac:{FIELDS['challenge_id']}"
    assert code.game_blob_path == (
        f"tournaments/{FIELDS['tournament_id']}/groupId/{code.group_id}/tasks/{TASK}/games/{FIELDS['game_id']}.json"
    )


def test_made_codes_round_trip_and_legacy_codes_are_marked():
    assert parse_completion_code(make_completion_code(**FIELDS)).fields() == {
        **FIELDS,
        "kind": "ac",
        "legacy": False,
    }
    legacy = parse_completion_code(make_completion_code(**FIELDS, legacy=True))
    assert legacy.legacy and legacy.agent_service_id == FIELDS["agent_service_id"]
    assert legacy.group_id == (
        f"{FIELDS['tournament_id']}:{FIELDS['challenge_id']}:{TASK}:{FIELDS['agent_service_id']}"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty_code"),
        ("   ", "empty_code"),
        (None, "empty_code"),
        ("N/A", "empty_code"),
        ("A3SXZL66TVNQQG", "worker_id_pasted"),
        (" A1E20NMMEOXM0T\n", "worker_id_pasted"),
        (
            "/plaiground:join-task-with-agent 51ed24d9-c82f-4184-a8d9-1c439f593b5c:"
            "2e05e2b6-16ff-4cdb-819d-db23ce17079c:dbfebd47-63e8-44dc-8d3f-9ad403170057:"
            "b8708e5f-daf0-4e3e-9337-38f85cd71240:1677172093809",
            "join_command_pasted",
        ),
        ("yWsnwOPMepirQ3pPKDkCuEvKVX22JZreSIPN1", "not_base64"),
        ("w3M2QkAIQwA0naYoCOddoNzFH", "not_base64"),
        ("w3M2QkAIQwA0YoCOddoNzFH", "not_gzip"),
        ("<script>alert('x')</script>", "not_base64"),
        ("é" * 5000, "malformed_code"),
        (REAL_CODE[:60], "not_gzip"),
        (base64.b64encode(b"hello world").decode(), "not_gzip"),
        (_pack("a:ac:b:c"), "wrong_field_count"),
        (_pack("a:xx:b:c:d:e:f"), "wrong_field_count"),
        (_pack("a:hc:b:c:d:e:f"), "human_challenge"),
        (base64.b64encode(gzip.compress(b"\xff\xfe" * 10)).decode(), "not_gzip"),
        (base64.b64encode(gzip.compress(b"0" * 10_000_000)).decode(), "malformed_code"),
    ],
)
def test_bad_codes_raise_a_reason_of_the_vocabulary(text, reason):
    with pytest.raises(CodeError) as caught:
        parse_completion_code(text)
    assert caught.value.reason == reason
    assert reason in CODE_REASONS
    assert code_status(text) == ("missing" if text in ("", "   ", None) else reason)


def test_code_status_of_table_cells():
    assert code_status("NA") == "missing"
    assert code_status(float("nan")) == "missing"
    assert code_status(REAL_CODE) == "ok"
    assert code_status("worker-0123456789abcdef") == "worker_id_pasted"


def test_every_cell_of_the_real_export_gets_a_status():
    import pandas as pd

    cells = pd.read_csv(EXPORT, dtype=str, keep_default_na=False)["CompletionCode"]
    statuses = pd.Series([code_status(c) for c in cells]).value_counts().to_dict()
    assert statuses.pop("ok") == 113
    assert statuses.pop("missing") == 282
    assert statuses.pop("worker_id_pasted") == 20
    assert statuses.pop("join_command_pasted") == 2
    assert set(statuses) <= set(CODE_REASONS)
    assert sum(statuses.values()) == 422 - 113 - 282 - 20 - 2


def test_check_code_against_the_join_code_and_earlier_codes():
    code = make_completion_code(**FIELDS)
    join = f"/plaiground:join-task-with-agent {FIELDS['tournament_id']}:{FIELDS['challenge_id']}:{TASK}"
    ok = check_code(code, join + ":" + FIELDS["agent_service_id"])
    assert ok.ok and ok.reason is None and ok.fields["game_id"] == FIELDS["game_id"]
    assert check_code(code, join.replace(TASK, "other-task")).reason == "task_mismatch"
    assert check_code(code, join + ":another-agent").reason == "agent_mismatch"
    assert check_code(code, seen={code}).reason == "code_reused"
    assert check_code(code, seen={FIELDS["game_id"]: "HIT1"}, owner="HIT2").reason == "code_reused"
    assert check_code(code, seen={FIELDS["game_id"]: "HIT1"}, owner="HIT1").ok
    assert check_code(code, hit_codes=[code]).reason == "same_code_twice"
    assert check_code(code, hit_codes=[make_completion_code(**{**FIELDS, "game_id": "g2"})]).ok
    bad = check_code("A3SXZL66TVNQQG", join)
    assert bad.as_json() == {"ok": False, "reason": "worker_id_pasted", "fields": {}}
    assert "worker ID" in bad.message and worker_message("worker_id_pasted") == bad.message


def test_join_codes_parse_with_and_without_expiry():
    text = (
        "/plaiground:join-task-with-agent 51ed24d9-c82f-4184-a8d9-1c439f593b5c:"
        "2e05e2b6-16ff-4cdb-819d-db23ce17079c:dbfebd47-63e8-44dc-8d3f-9ad403170057:"
        "b8708e5f-daf0-4e3e-9337-38f85cd71240:1677172093809"
    )
    join = parse_join_code(text)
    assert join.agent_instance_id == "b8708e5f-daf0-4e3e-9337-38f85cd71240"
    assert join.expires_at == pytest.approx(1677172093.809)
    assert join.expired(now=1677172094) and not join.expired(now=1677172093)
    assert parse_join_code(join.text()) == join
    plain = parse_join_code("t:c:k")
    assert plain == JoinCode("t", "c", "k") and not plain.expired()
    for bad in ("", "t:c", "t:c:k:a:soon", "a:b:c:d:e:f"):
        with pytest.raises(CodeError) as caught:
            parse_join_code(bad)
        assert caught.value.reason == "join_code_malformed"


def test_codes_of_any_length_and_alphabet_get_a_reason_never_a_crash():
    import random

    rng = random.Random(5)
    alphabets = [
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
        "0123456789abcdef-:",
        "äöü€😀\x00\n\t\"'<>&;",
        "H4sI",
    ]
    for _ in range(500):
        alphabet = rng.choice(alphabets)
        text = "".join(rng.choice(alphabet) for _ in range(rng.choice([1, 3, 4, 8, 37, 200, 5000])))
        status = code_status(text)
        assert status == "missing" or status in CODE_REASONS or status == "ok"
        assert check_code(text).reason in (*CODE_REASONS, None)
