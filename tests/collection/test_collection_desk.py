"""The review desk of notebook 04: workers filtered, a pressed decision held until confirmed,
then carried out through the same door as `iglu campaign review` (records first, the service
after), and each HIT's games drawn from their game data."""

from __future__ import annotations

import pytest

from iglu_lib.collection.desk import DeskError, ReviewDesk, game_figure
from iglu_lib.collection.review import Review
from iglu_lib.platform.privacy import pseudonym
from iglu_lib.storage import RecordStatus

from .test_collection_review import _submit


def _desk(attacker) -> ReviewDesk:
    campaign = attacker.campaign
    return ReviewDesk(Review(campaign.params, profile=campaign.profile, records=campaign.records))


def _shown_with(desk: ReviewDesk, kind: str) -> list[str]:
    desk.filter = kind
    return [w.shown for w in desk.shown_workers()]


def test_filters_pick_the_workers_a_person_looks_for(attack):
    attacker = attack()
    honest, cheat = attacker.prefix + "OK", attacker.prefix + "JK"
    for worker, kind in ((honest, "honest"), (cheat, "junk")):
        attacker.settle(_submit(attacker, worker, kind))
    desk = _desk(attacker)
    salt = attacker.campaign.profile.backend.worker_id_salt()
    shown = {kind: _shown_with(desk, kind) for kind in ("all", "flagged", "pending", "reversed")}
    assert sorted(shown["all"]) == sorted([pseudonym(honest, salt), pseudonym(cheat, salt)])
    assert shown["flagged"] == [pseudonym(cheat, salt)], "a rejected worker is flagged, an honest one is not"
    assert shown["pending"] == [] and shown["reversed"] == []


def test_a_decision_waits_for_its_confirmation_then_acts_through_the_review(attack):
    attacker = attack()
    worker = attacker.prefix + "BN"
    hit_id = _submit(attacker, worker, "honest")
    attacker.settle(hit_id)
    desk = _desk(attacker)
    shown = desk.workers[0].shown
    with pytest.raises(DeskError, match="needs a reason"):
        desk.ask(shown, "bonus", hit=hit_id, reason="  ", amount="0.25")
    with pytest.raises(DeskError, match="needs an amount"):
        desk.ask(shown, "bonus", hit=hit_id, reason="Great instructions")
    question = desk.ask(shown, "bonus", hit=hit_id, reason="Great instructions", amount="0.25")
    assert "bonus $0.25" in question.sentence() and hit_id in question.sentence()
    manager = attacker.campaign.manager
    assignment_id = attacker.campaign.records.by_hit(hit_id)[0].assignment_id
    assert manager.bonus_payments(assignment_id=assignment_id) == [], "nothing paid before the confirmation"
    desk.cancel()
    with pytest.raises(DeskError, match="nothing to confirm"):
        desk.confirm()
    desk.ask(shown, "bonus", hit=hit_id, reason="Great instructions", amount="0.25")
    result = desk.confirm()
    assert result["action"] == "bonus" and worker not in str(result)
    assert [p["BonusAmount"] for p in manager.bonus_payments(assignment_id=assignment_id)] == ["0.25"]
    decisions = attacker.campaign.records.by_hit(hit_id)[0].manual_decisions
    assert [(d["action"], d["done"]) for d in decisions] == [("bonus", True)], "written to the records"
    desk.ask(shown, "soft-block", reason="Enough HITs from this worker")
    desk.confirm()
    assert desk.worker(shown).blocked == "soft", "the desk reads the records again after acting"


def test_each_game_is_drawn_target_beside_built(attack):
    attacker = attack()
    hit_id = _submit(attacker, attacker.prefix + "DR", "honest")
    attacker.settle(hit_id)
    desk = _desk(attacker)
    submission = desk.workers[0].submissions[0]
    games = desk.games_of(submission)
    assert len(games) == 2 and all(g.status is RecordStatus.APPROVED for g in games)
    figure = game_figure(desk.game_client(), games)
    titles = [axes.get_title() for axes in figure.axes]
    assert any(t.endswith("target") for t in titles) and any(t.endswith("built") for t in titles)
    assert len(figure.axes) == 4, "two pictures per game"


def test_the_widget_buttons_ask_then_act(attack):
    """The widgets as a person uses them (buttons clicked in Python, as the browser's clicks
    arrive in the kernel): pick the worker, type a reason and an amount, press bonus, confirm."""
    from iglu_lib.collection.desk import DeskView

    attacker = attack()
    hit_id = _submit(attacker, attacker.prefix + "WG", "honest")
    attacker.settle(hit_id)
    view = DeskView(_desk(attacker))
    view.list.value = view.list.options[0][1]
    view.reason.value = "Thanks for the clear instructions"
    view.amount.value = "0.15"
    submission = view.panel.children[2]
    bonus = next(b for b in submission.children[1].children if b.description == "bonus")
    bonus.click()
    assert view.confirmation.layout.display == "flex" and "Confirm?" in view.question.value
    view.yes.click()
    assert view.status.value.startswith("<b>done</b>"), view.status.value
    assert view.list.value == view.list.options[0][1] and "0.15" in view.panel.children[2].children[0].value, \
        "the desk stays on the worker and shows the bonus paid"
    assignment_id = attacker.campaign.records.by_hit(hit_id)[0].assignment_id
    paid = attacker.campaign.manager.bonus_payments(assignment_id=assignment_id)
    assert [p["BonusAmount"] for p in paid] == ["0.15"]
