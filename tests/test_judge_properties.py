"""Property-based tests: whatever a worker submits, judging it never raises, and every bad input
becomes a reason of the vocabulary with a sentence the worker reads."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import datetime, timezone
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iglu_lib.collection.judge import MAX_ANNOTATION_CHARS, MAX_STORED_CODE_CHARS, judge
from iglu_lib.mturk.answers import parse_answers
from iglu_lib.platform.client import Game
from iglu_lib.platform.codes import code_status, parse_completion_code, parse_join_code
from iglu_lib.platform.reasons import REASONS
from iglu_lib.platform.validation import Thresholds, validate_assignment
from iglu_lib.storage import GameRecord

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
code_like = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: base64.b64encode(gzip.compress(b, mtime=0)).decode()),
    st.lists(st.text(alphabet="abc-0123456789/.:", max_size=40), min_size=6, max_size=9).map(
        lambda parts: base64.b64encode(gzip.compress(":".join(parts).encode(), mtime=0)).decode()),
)


def _answer_xml(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ('<QuestionFormAnswers><Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier>'
            f'<FreeText>{escaped}</FreeText></Answer></QuestionFormAnswers>')


@given(st.one_of(st.text(max_size=2000), json_values.map(json.dumps),
                 st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
                 st.integers(1, 9000).map(lambda n: "[" + "9" * n + "]")))
@settings(max_examples=200, deadline=None)
def test_any_task_answers_text_parses_or_names_its_problem(text):
    parsed = parse_answers(_answer_xml(text), required=("completionCode1",))
    assert isinstance(parsed.fields, dict)
    assert parsed.ok or all(isinstance(p, str) and p for p in parsed.problems)


@given(code_like)
@settings(max_examples=300, deadline=None)
def test_any_code_parses_or_gets_a_reason_with_a_sentence(code):
    status = code_status(code)
    assert status in ("ok", "missing") or status in REASONS
    if status == "ok":
        parsed = parse_completion_code(code)
        assert "/" not in parsed.game_blob_path.split("/games/")[1][:-5], "ids never climb folders"


@given(st.text(max_size=6000))
@settings(max_examples=200, deadline=None)
def test_any_join_code_text_parses_or_raises_a_code_error(text):
    from iglu_lib.platform.codes import CodeError

    try:
        parse_join_code(text)
    except CodeError as err:
        assert err.reason == "join_code_malformed" and len(str(err)) < 600


def _record(position: int) -> GameRecord:
    return GameRecord(campaign="c", row_key=f"s-{position}", slot_id="s", shown_position=position,
                      agent_name=f"agent{position}", join_code="/plaiground:join-task-with-agent a:b:c:d",
                      task_name="t", task_minecraft_id="c", agent_minecraft_id="d", hit_type="pairwise",
                      unique_request_token="tok", etag="e")


@given(st.dictionaries(st.sampled_from(["completionCode1", "completionCode2", "agent1_performance",
                                        "agent2_performance", "best_agent", "joinCode1"]),
                       st.one_of(json_values, code_like, st.text(min_size=2000, max_size=9000)), max_size=6))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_judging_any_answers_never_raises_and_stores_only_bounded_values(answers):
    now = datetime.now(timezone.utc)
    assignment = SimpleNamespace(assignment_id="A1", worker_id="W1", accept_time=now, submit_time=now,
                                 answers=parse_answers(_answer_xml(json.dumps([answers]))), raw={})
    games = [_record(0), _record(1)]

    def fetch(codes, joins):  # the codes' games as the client sees them without any storage
        fetched = []
        for code, join in zip(codes, joins, strict=True):
            game = Game(code=code, join_code=join)
            try:
                game.parsed = parse_completion_code(code)
                game.reason = "game_data_missing"
            except Exception as err:  # noqa: BLE001 - CodeError carries the reason
                game.reason = getattr(err, "reason", "not_base64")
            fetched.append(game)
        return fetched

    judgement = judge(assignment, games, k=2, fetch=fetch, stored_elsewhere=lambda ids: {},
                      thresholds=Thresholds())
    for _, changes in judgement.changes:
        assert len(changes["completion_code"]) <= MAX_STORED_CODE_CHARS
        assert all(not isinstance(v, str) or len(v) <= MAX_ANNOTATION_CHARS for v in changes["annotation"].values())
        assert all(reason in REASONS for reason in changes["reasons"]), changes["reasons"]
        assert changes["verdict"] == "reject", "no game without data is ever accepted"
    assert validate_assignment([]).verdict == "reject"
