"""`collection.judge` at its edges: every branch of judging an assignment reached without a stack.

The judge turns a worker's answers into the record changes that decide pay: which code was
submitted for which game, whether the HIT counts (`is_hit_qualified`), the reasons stored, what
is cut to fit a record. Each rule is asserted by its stored reasons and values; the games are
real completion codes with event data in the platform's shape, fetched by a function here.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from iglu_lib.collection import judge as judging
from iglu_lib.collection.judge import (
    CHOICE_UNUSABLE,
    GOOD_VERDICTS,
    MAX_ANNOTATION_CHARS,
    MAX_STORED_CODE_CHARS,
    annotation_of,
    game_id_of,
    hit_outcome,
    judge,
    submitted_code,
)
from iglu_lib.pages.answers import ParsedAnswers
from iglu_lib.platform.client import Game
from iglu_lib.platform.codes import JOIN_COMMAND, make_completion_code, parse_completion_code
from iglu_lib.platform.validation import Thresholds
from iglu_lib.storage import GameRecord


def uid(n: int) -> str:
    return str(uuid.UUID(int=(0xBEEF << 112) + (0xCAFE << 64) + n))


TOURNAMENT, CHALLENGE, ARCHITECT, BUILDER, TASK = uid(1), uid(2), uid(3), uid(4), uid(5)
AGENTS = (uid(7), uid(8), uid(9))
START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
ENGLISH = ["Put four blue blocks in a row along the north edge of the floor.",
           "Now stack two red blocks on top of the blue block in the east corner.",
           "Finally remove the green block next to the letter S and you are done."]


def join_code(position: int) -> str:
    return f"{JOIN_COMMAND} {TOURNAMENT}:{CHALLENGE}:{TASK}:{AGENTS[position]}"


def record(position: int, *, agent_id: str | None = None) -> GameRecord:
    return GameRecord(campaign="c", row_key=f"s-{position}", slot_id="s", shown_position=position,
                      agent_name=f"agent{position}", join_code=join_code(position), task_name="t",
                      task_minecraft_id=TASK, agent_minecraft_id=AGENTS[position] if agent_id is None else agent_id,
                      hit_type="pairwise", unique_request_token="tok", etag="e")


def game_code(position: int, *, turns: int = 3, played_at: datetime = START) -> tuple[str, Game]:
    """A real completion code for the game at `position` and the game the client would fetch."""
    game_id = str(uuid.uuid4())
    code = make_completion_code(tournament_id=TOURNAMENT, challenge_id=CHALLENGE, task_id=TASK, game_id=game_id,
                                role_id=ARCHITECT, agent_service_id=AGENTS[position])
    moment = iter(played_at + timedelta(seconds=10 * n) for n in range(100))

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        return {"eventType": kind, "gameId": game_id, "taskId": TASK, "roleId": ARCHITECT,
                "producedAtDatetime": next(moment).isoformat(), **fields}

    events = [event("PlatformPlayerJoinsGameEvent", roleId=BUILDER, playerId=AGENTS[position])]
    for number, text in enumerate(ENGLISH):
        events.append(event("PlayerChatEvent", message=text))
        if number < turns:
            events.append(event("PlatformPlayerTurnChangeEvent", reason="PLAYER_COMMAND",
                                previousActiveRoleId=ARCHITECT, nextActiveRoleId=BUILDER))
    return code, Game(code, parse_completion_code(code), None, {"id": game_id, "events": events},
                      join_code=join_code(position))


class Platform:
    """The games behind codes, fetched as the client does (a code it does not know: no data)."""

    def __init__(self, *games: Game) -> None:
        self.games = {g.code.strip(): g for g in games}
        self.fetched: list[tuple[list[str], list[str]]] = []
        self.asked: list[list[str]] = []
        self.stored: dict[str, str] = {}

    def fetch(self, codes: list[str], joins: list[str]) -> list[Game]:
        self.fetched.append((codes, joins))
        found = []
        for code, join in zip(codes, joins, strict=True):
            game = self.games.get(code.strip())
            if game is None:
                try:
                    game = Game(code, parse_completion_code(code), "game_data_missing", join_code=join)
                except Exception as err:  # noqa: BLE001 - a CodeError carries its reason
                    game = Game(code, None, getattr(err, "reason", "not_base64"), join_code=join)
            found.append(game)
        return found

    def stored_elsewhere(self, game_ids: list[str]) -> dict[str, str]:
        self.asked.append(game_ids)
        return {gid: owner for gid, owner in self.stored.items() if gid in game_ids}


def assignment(fields: dict[str, Any], problems: tuple[str, ...] = (), *, accepted: datetime | None = None,
               submitted: datetime | None = None) -> SimpleNamespace:
    return SimpleNamespace(assignment_id="A-NEW", worker_id="W1", accept_time=accepted, submit_time=submitted,
                           answers=ParsedAnswers(fields, problems), raw={})


def judged(platform: Platform, fields: dict[str, Any], *, records: list[GameRecord] | None = None,
           k: int = 2, **kw: Any) -> tuple[judging.Judgement, list[dict[str, Any]]]:
    problems = kw.pop("problems", ())
    ties = kw.pop("ties", ("both_good_option", "both_bad_option"))
    thresholds = kw.pop("thresholds", Thresholds())
    options = {"count_unusable_choices": kw.pop("count_unusable_choices")} if "count_unusable_choices" in kw else {}
    games = records if records is not None else [record(p) for p in range(k)]
    result = judge(assignment(fields, problems, **kw), games, k=k, fetch=platform.fetch,
                   stored_elsewhere=platform.stored_elsewhere, thresholds=thresholds, ties=ties, **options)
    return result, [changes for _, changes in result.changes]


def pair(**turns: int) -> tuple[Platform, dict[str, Any], list[str]]:
    """Two good games (or with fewer turns) and the answers of a worker who chose the first."""
    (one, first), (two, second) = game_code(0, turns=turns.get("first", 3)), game_code(1, turns=turns.get("second", 3))
    fields = {"completionCode1": one, "completionCode2": two,
              "best_agent": {"agent1_option": True, "agent2_option": False},
              "agent1_performance": "good", "agent2_performance": "slow"}
    return Platform(first, second), fields, [one, two]


# -- what is stored for a good HIT ------------------------------------------------------------
def test_a_good_pair_is_stored_as_submitted_and_qualified():
    platform, fields, codes = pair()
    result, changes = judged(platform, fields)
    assert (result.verdict.verdict, result.truncated) == ("approve", False)
    assert platform.fetched == [(codes, [join_code(0), join_code(1)])]
    for position, change in enumerate(changes):
        assert change == {
            "status": "submitted", "assignment_id": "A-NEW", "worker_id": "W1",
            "completion_code": codes[position], "game_minecraft_id": game_id_of(codes[position]),
            "annotation": {"was_chosen_best": position == 0,
                           "agent_performance": ["good", "slow"][position], "outcome": "decisive"},
            "verdict": "approve", "reasons": (), "is_hit_qualified": True,
        }
    assert [g for g, _ in result.changes] == [record(0), record(1)]


def test_codes_are_read_by_shown_position():
    platform, fields, codes = pair()
    records = [record(1), record(0)]
    _, changes = judged(platform, fields, records=records)
    assert [c["completion_code"] for c in changes] == [codes[1], codes[0]]
    assert platform.fetched[0][1] == [join_code(1), join_code(0)]


def test_a_single_game_hit_reads_its_own_fields():
    code, game = game_code(0)
    fields = {"completionCode": code, "agent_performance": "fine", "build_rating": 4, "understanding_rating": None,
              "best_agent": {"agent1_option": True}}
    result, changes = judged(Platform(game), fields, records=[record(0)], k=1)
    assert (result.verdict.verdict, changes[0]["completion_code"]) == ("approve", code)
    assert changes[0]["annotation"] == {"agent_performance": "fine", "build_rating": 4, "understanding_rating": None}


# -- is_hit_qualified: the HIT counts only with a good verdict --------------------------------
def test_good_verdicts_are_approve_and_approve_with_warning():
    assert GOOD_VERDICTS == ("approve", "approve_with_warning")


@pytest.mark.parametrize(("first", "second", "verdict", "qualified"), [
    (3, 3, "approve", True), (3, 0, "partial", False), (0, 0, "reject", False),
])
def test_the_hit_is_qualified_only_when_every_game_is_good(first, second, verdict, qualified):
    platform, fields, _ = pair(first=first, second=second)
    result, changes = judged(platform, fields)
    assert result.verdict.verdict == verdict
    assert [c["is_hit_qualified"] for c in changes] == [qualified, qualified]


def test_the_campaigns_thresholds_are_the_ones_applied():
    platform, fields, _ = pair(first=1, second=1)
    assert judged(platform, fields)[0].verdict.verdict == "reject"
    assert judged(platform, fields, thresholds=Thresholds(min_architect_turns=1))[0].verdict.verdict == "approve"


def test_a_cut_in_any_game_marks_the_judgement_truncated():
    platform, fields, _ = pair()
    fields["agent1_performance"] = "y" * 2001
    result, changes = judged(platform, fields)
    assert result.truncated and [c["reasons"] for c in changes] == [("answer_truncated",), ()]


@pytest.mark.parametrize("count_unusable", [False, True])
def test_a_hit_without_a_choice_is_warned_paid_and_counted_only_when_the_campaign_says(count_unusable):
    platform, fields, _ = pair()
    del fields["best_agent"]
    result, changes = judged(platform, fields, count_unusable_choices=count_unusable)
    assert result.verdict.verdict == "approve"
    assert [(c["verdict"], c["reasons"], c["is_hit_qualified"]) for c in changes] == [
        ("approve_with_warning", (CHOICE_UNUSABLE,), count_unusable)] * 2


# -- the choice of the best game --------------------------------------------------------------
@pytest.mark.parametrize("best", [
    None, {"agent1_option": True, "agent2_option": True}, {"agent1_option": False, "agent2_option": False},
    {"both_good_option": True}, "agent1",
])
def test_an_unusable_choice_warns_pays_and_counts_only_when_the_campaign_says(best):
    platform, fields, _ = pair()
    fields["best_agent"] = best
    for count_unusable in (False, True):
        _, changes = judged(platform, fields, ties=("both_bad_option",), count_unusable_choices=count_unusable)
        for change in changes:
            assert change["annotation"]["outcome"] == "no_decision" and change["annotation"]["choice_problem"]
            assert (change["verdict"], change["reasons"], change["is_hit_qualified"]) == (
                "approve_with_warning", (CHOICE_UNUSABLE,), count_unusable)


def test_an_unusable_choice_never_raises_a_rejected_game():
    platform, fields, _ = pair(second=0)
    fields["best_agent"] = None
    _, changes = judged(platform, fields)
    assert [(c["verdict"], c["reasons"]) for c in changes] == [
        ("approve_with_warning", (CHOICE_UNUSABLE,)), ("reject", ("too_few_turns", CHOICE_UNUSABLE))]


def test_a_tie_is_stored_as_its_outcome_without_a_winner():
    platform, fields, _ = pair()
    fields["best_agent"] = {"agent1_option": False, "agent2_option": False, "both_good_option": True}
    _, changes = judged(platform, fields)
    assert [(c["annotation"]["was_chosen_best"], c["annotation"]["outcome"], c["verdict"]) for c in changes] == [
        (False, "tie_good", "approve")] * 2
    assert "choice_problem" not in changes[0]["annotation"]


# -- unreadable answers -----------------------------------------------------------------------
def test_an_unreadable_answer_without_a_code_says_so_instead_of_its_other_reasons():
    platform, fields, codes = pair()
    del fields["completionCode2"], fields["best_agent"]
    _, changes = judged(platform, fields, problems=("taskAnswers is not JSON",))
    assert [(c["verdict"], c["reasons"]) for c in changes] == [
        ("approve_with_warning", (CHOICE_UNUSABLE,)), ("reject", ("answer_unreadable",))], (
        "a readable code still counts (warned: the choice is missing too); the game without a code "
        "says only that the answer was unreadable")
    assert changes[1]["completion_code"] == ""


def test_a_blank_code_of_a_readable_answer_keeps_its_own_reason():
    platform, fields, _ = pair()
    fields["completionCode2"] = "   "
    _, changes = judged(platform, fields)
    assert changes[1]["verdict"] == "reject" and "answer_unreadable" not in changes[1]["reasons"]


@pytest.mark.parametrize(("value", "text"), [(None, ""), (12345, "12345"), (["x"], "['x']"), ("abc ", "abc ")])
def test_a_submitted_code_is_text_whatever_the_form_sent(value, text):
    assert submitted_code({"completionCode2": value}, 1, 2) == text
    assert submitted_code({"completionCode": value}, 0, 1) == text
    assert submitted_code({}, 0, 2) == ""


# -- what is cut to fit a record --------------------------------------------------------------
@pytest.mark.parametrize(("extra", "cut"), [(0, False), (1, True)])
def test_a_code_is_stored_up_to_600_characters(extra, cut):
    platform, fields, _ = pair()
    fields["completionCode1"] = "x" * (MAX_STORED_CODE_CHARS + extra)
    _, changes = judged(platform, fields)
    assert MAX_STORED_CODE_CHARS == 600
    assert changes[0]["completion_code"] == "x" * 600
    assert changes[0]["verdict"] == "reject" and changes[0]["reasons"] in (("not_base64",), ("not_gzip",))
    assert changes[0]["game_minecraft_id"] == ""


@pytest.mark.parametrize(("extra", "cut"), [(-1, False), (0, False), (1, True)])
def test_feedback_is_stored_up_to_2000_characters(extra, cut):
    platform, fields, _ = pair()
    fields["agent2_performance"] = "y" * (MAX_ANNOTATION_CHARS + extra)
    result, changes = judged(platform, fields)
    assert MAX_ANNOTATION_CHARS == 2000
    assert changes[1]["annotation"]["agent_performance"] == "y" * min(2000, 2000 + extra)
    assert changes[1]["reasons"] == (("answer_truncated",) if cut else ())
    assert changes[0]["reasons"] == () and result.truncated is cut


def test_annotation_values_are_kept_by_kind():
    fields = {"best_agent": {"agent1_option": "yes", "agent2_option": True}, "agent1_performance": ["a" * 3000],
              "agent2_performance": 3.5}
    first, cut = annotation_of(fields, 0, 2)
    assert first["was_chosen_best"] is None and first["agent_performance"] == repr(["a" * 3000])[:2000] and cut
    assert "choice_problem" in first
    second, cut = annotation_of(fields, 1, 2)
    assert (second["was_chosen_best"], second["agent_performance"], cut) == (True, 3.5, False)
    assert annotation_of({}, 0, 2)[0] == {"was_chosen_best": None, "agent_performance": "",
                                          "outcome": "no_decision",
                                          "choice_problem": annotation_of({}, 1, 2)[0]["choice_problem"]}
    assert annotation_of({"build_rating": True, "other": 1}, 0, 1) == ({"build_rating": True}, False)


# -- reuse is looked up by game id ------------------------------------------------------------
def test_reuse_is_looked_up_by_the_normalised_game_id():
    platform, fields, codes = pair()
    fields["completionCode1"] = "  " + codes[0] + "  "
    ids = [game_id_of(code) for code in codes]
    platform.stored[ids[0]] = "A-OLD"
    _, changes = judged(platform, fields)
    assert platform.asked == [ids]
    assert (changes[0]["verdict"], changes[0]["reasons"]) == ("reject", ("code_reused",))
    assert "code_reused" not in changes[1]["reasons"]
    assert game_id_of(codes[0] + " ") == game_id_of(codes[0]) == ids[0] and game_id_of("nonsense") is None


def test_reuse_lookup_skips_what_is_not_a_code_and_a_restart_finds_its_own():
    platform, fields, codes = pair()
    fields["completionCode2"] = "not a code"
    platform.stored[game_id_of(codes[0])] = "A-NEW"
    _, changes = judged(platform, fields)
    assert platform.asked == [[game_id_of(codes[0])]]
    assert changes[0]["verdict"] == "approve", "the assignment re-judged after a restart owns its stored code"


# -- the slot's expectation: task, agent, assignment window -----------------------------------
def test_each_game_is_checked_against_its_records_task_agent_and_the_assignment_window():
    platform, fields, _ = pair()
    inside = {"accepted": START - timedelta(minutes=5), "submitted": START + timedelta(hours=1)}
    assert [c["verdict"] for c in judged(platform, fields, **inside)[1]] == ["approve", "approve"]
    late = {"accepted": START + timedelta(minutes=10), "submitted": START + timedelta(hours=1)}
    assert [c["reasons"] for c in judged(platform, fields, **late)[1]] == [("played_outside_assignment",)] * 2
    early = {"accepted": START - timedelta(hours=2), "submitted": START - timedelta(minutes=10)}
    assert [c["reasons"] for c in judged(platform, fields, **early)[1]] == [("played_outside_assignment",)] * 2
    swapped = [record(0, agent_id=AGENTS[2]), record(1)]
    assert judged(platform, fields, records=swapped)[1][0]["reasons"] == ("game_agent_mismatch",)
    unknown = [record(0, agent_id=""), record(1)]
    assert [c["verdict"] for c in judged(platform, fields, records=unknown)[1]] == ["approve", "approve"]


def test_an_assignment_without_times_leaves_the_window_unchecked():
    platform, fields, _ = pair()
    assert [c["reasons"] for c in judged(platform, fields, accepted=None, submitted=None)[1]] == [(), ()]
    assert judging._epoch(None) is None and judging._epoch("2026") is None
    assert judging._epoch(START) == START.timestamp()


# -- the HIT's outcome as the records say it ----------------------------------------------------
@pytest.mark.parametrize(("annotations", "outcome"), [
    ([{"outcome": "decisive"}, {"outcome": "decisive"}], "decisive"),
    ([{"outcome": "tie_good"}, {"outcome": "tie_good"}], "tie_good"),
    ([{"outcome": "tie_bad"}, {"outcome": "tie_bad"}], "tie_bad"),
    ([{"outcome": "no_decision"}, {"outcome": "no_decision"}], "no_decision"),
    ([{"outcome": "decisive"}, {"outcome": "tie_good"}], "no_decision"),
    ([{"outcome": "won"}, {"outcome": "won"}], "no_decision"),
    ([{"outcome": "decisive"}, {"was_chosen_best": True}], "no_decision"),
    ([{"was_chosen_best": True}, {"was_chosen_best": False}], "decisive"),
    ([{"was_chosen_best": True}, {"was_chosen_best": True}], "no_decision"),
    ([{"was_chosen_best": False}, {"was_chosen_best": False}], "no_decision"),
    ([{"was_chosen_best": True}, {"was_chosen_best": None}], "no_decision"),
    ([{"was_chosen_best": True}, {"was_chosen_best": 0}], "no_decision"),
    ([{"was_chosen_best": True}, {"was_chosen_best": False}, {"was_chosen_best": False}], "decisive"),
    ([{"outcome": "decisive"}], None),
    ([{"outcome": "decisive"}, {}], None),
    ([{"outcome": "decisive"}, "decisive"], None),
    ([], None),
])
def test_the_hit_outcome_from_its_games_annotations(annotations, outcome):
    assert hit_outcome(annotations) == outcome


# -- fraud is not partial ------------------------------------------------------------------------
def _change(verdict: str, *reasons: str) -> dict[str, Any]:
    return {"verdict": verdict, "reasons": reasons, "is_hit_qualified": verdict != "reject"}


def test_one_fraud_game_rejects_the_whole_hit_unpaid_and_unqualified():
    games = [record(0), record(1)]
    changes = [(games[0], _change("approve")), (games[1], _change("reject", "code_reused"))]
    whole = judging.reject_whole_if_fraud(changes, judging.FRAUD_REASONS)
    assert [(c["verdict"], c["reasons"], c["is_hit_qualified"]) for _, c in whole] == [
        ("reject", (judging.FRAUD_IN_HIT,), False), ("reject", ("code_reused",), False)]
    assert [g for g, _ in whole] == games


@pytest.mark.parametrize("second", [_change("reject", "too_few_turns"), _change("approve_with_warning", "code_reused")])
def test_an_honest_shortfall_or_a_fraud_word_on_a_good_game_leaves_the_hit_partial(second):
    changes = [(record(0), _change("approve")), (record(1), second)]
    assert judging.reject_whole_if_fraud(changes, judging.FRAUD_REASONS) == changes


def test_the_campaigns_fraud_reasons_are_the_ones_applied():
    changes = [(record(0), _change("approve")), (record(1), _change("reject", "too_few_turns"))]
    whole = judging.reject_whole_if_fraud(changes, ("too_few_turns",))
    assert [c["verdict"] for _, c in whole] == ["reject", "reject"]


def test_an_unusable_choice_does_not_count_unless_the_campaign_says_so():
    platform, fields, _ = pair()
    del fields["best_agent"]
    _, changes = judged(platform, fields)  # the default of judge() itself
    assert [c["is_hit_qualified"] for c in changes] == [False, False]
