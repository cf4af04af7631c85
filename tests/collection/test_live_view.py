"""The campaign view of notebook 03: samples over time, the four panels, and the one line
that says what needs a person (works with and without `needs_review` / `errors` in the summary)."""

from __future__ import annotations

from iglu_lib.collection.campaign import TurnReport
from iglu_lib.collection.live import Timeline, attention, evidence_line, timeline_figure


def _status(good: int, spent: str, open_hits: int, busy: int, reasons: dict[str, int]) -> dict:
    return {"good_hits": good, "spent": spent, "open_hits": open_hits,
            "busy_instances": [f"i{n}" for n in range(busy)], "games_by_reason": reasons}


def test_samples_draw_progress_spend_load_and_reasons_over_time():
    timeline = Timeline()
    timeline.record(_status(0, "0.00", 3, 6, {}), target=10, budget="20.00", at=0.0)
    timeline.record(_status(4, "8.00", 2, 4, {"too_few_turns": 1}), target=10, budget="20.00", at=120.0)
    timeline.record(_status(7, "14.00", 1, 2, {"too_few_turns": 2, "not_english": 1}),
                    target=10, budget="20.00", at=300.0)
    progress, spend, load, reasons = timeline_figure(timeline).axes
    good, = [line for line in progress.get_lines() if line.get_label() == "good HITs"]
    assert list(good.get_xdata()) == [0.0, 2.0, 5.0] and list(good.get_ydata()) == [0, 4, 7]
    target, = [line for line in progress.get_lines() if line.get_label() == "target"]
    assert list(target.get_ydata()) == [10, 10]
    assert [list(line.get_ydata()) for line in spend.get_lines()] == [[0.0, 8.0, 14.0], [20.0, 20.0]]
    assert {line.get_label(): list(line.get_ydata()) for line in load.get_lines()} == {
        "open HITs": [3, 2, 1], "busy instances": [6, 4, 2]}
    assert {line.get_label(): list(line.get_ydata()) for line in reasons.get_lines()} == {
        "not_english": [0, 0, 1], "too_few_turns": [0, 1, 2]}


def test_an_empty_timeline_still_draws_four_titled_panels():
    axes = timeline_figure(Timeline()).axes
    assert [a.get_title() for a in axes][0] == "Good HITs against the target" and len(axes) == 4


def test_nothing_needs_a_person_with_an_older_summary():
    assert attention({"done": False}, Timeline(), balance="1000.00", cost_per_hit="1.50") == "Nothing needs a person."


def test_parked_assignments_errors_and_low_balance_are_named():
    line = attention({"needs_review": 3, "errors": ["ServiceFault: boom"], "done": False}, Timeline(),
                     balance="4.00", cost_per_hit="1.50")
    assert line.startswith("Needs a person: 3 parked assignments to review by hand")
    assert "1 loop error, last: ServiceFault: boom" in line
    assert "low balance: $4.00 left" in line


def test_a_loop_without_progress_is_stalled_until_it_moves_again():
    timeline = Timeline()
    for _ in range(4):
        timeline.count_turn(TurnReport(errors=["ThrottlingException: slow down"]))
    assert "the loop is stalled: 4 turns" in attention({}, timeline, stall_turns=4)
    assert "ThrottlingException" in attention({}, timeline, stall_turns=4), "turn errors count without a summary list"
    assert "stalled" not in attention({"done": True}, timeline, stall_turns=4), "a finished campaign is not stalled"
    timeline.count_turn(TurnReport(created=1))
    assert "stalled" not in attention({}, timeline, stall_turns=4)


def test_an_unreadable_balance_is_said_and_an_unknown_one_is_not():
    assert "unreadable" in attention({}, Timeline(), balance="lots")
    assert attention({}, Timeline(), balance=None) == "Nothing needs a person."


def test_the_view_says_how_many_workers_the_ranking_rests_on():
    from iglu_lib.collection.status import campaign_status

    line = evidence_line(campaign_status([]))
    assert line.startswith("the ranking rests on 0 workers") and "needs 5" in line
    assert evidence_line({}) == "the ranking's evidence is unknown"
