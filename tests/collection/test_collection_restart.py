"""The real campaign loop dies at a chosen line and a fresh `Campaign` carries on from the
records: no HIT is made twice, no assignment is approved or rejected twice, and the records
agree with the local MTurk server.

The death is injected, not simulated: a method of the loop's HIT manager or records is wrapped
so that, once, right after (or before) the real call, it raises `Died`, a `BaseException` the
loop cannot catch, as if the process were killed on that line. Everything in memory is then
thrown away; only the records and the server remain, as after a real crash."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest

from iglu_lib.collection.campaign import Campaign
from iglu_lib.storage import RecordStatus

TARGET = 4
#: A run that has not reached its target by then is stopped, so a broken loop fails, not hangs.
RUN_SECONDS = 150
#: A crowd whose misbehaviour is caught (rejections happen) but who mostly play well; where the
#: loop is to die after a rejection, most of the crowd is lazy (both games too short), so one surely comes.
MIX = {"pastes_worker_id": 0.35}
REJECTING_MIX = {"lazy": 0.75}


class Died(BaseException):
    """The process died here (not an `Exception`: the loop's fault handling must not see it)."""


class Calls:
    """Every approve and reject the service received from any incarnation of the loop."""

    def __init__(self) -> None:
        self.settled: Counter[str] = Counter()
        self.created: list[str] = []

    def watch(self, campaign: Campaign, monkeypatch: pytest.MonkeyPatch) -> None:
        manager = campaign.manager
        approve, reject, create = manager.approve, manager.reject, manager.create_hit

        def counted_approve(assignment_id, *args, **kwargs):
            approve(assignment_id, *args, **kwargs)
            self.settled[assignment_id] += 1

        def counted_reject(assignment_id, *args, **kwargs):
            reject(assignment_id, *args, **kwargs)
            self.settled[assignment_id] += 1

        def counted_create(*args, **kwargs):
            hit = create(*args, **kwargs)
            self.created.append(hit.hit_id)
            return hit

        monkeypatch.setattr(manager, "approve", counted_approve)
        monkeypatch.setattr(manager, "reject", counted_reject)
        monkeypatch.setattr(manager, "create_hit", counted_create)


def run_at_most(campaign: Campaign, seconds: float = RUN_SECONDS) -> dict:
    """`campaign.run()`, stopped (not done) after `seconds`."""
    deadline = time.monotonic() + seconds

    def watchdog(running: Campaign, report) -> None:
        if time.monotonic() > deadline:
            running.stop()

    return campaign.run(progress=False, on_turn=watchdog)


def die_once(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, *, after: bool) -> dict:
    """Wrap `owner.name` so that its first call dies, just after the real call returned
    (`after`) or just before it was made; returns `{"died": bool}`."""
    state = {"died": False}
    real: Callable = getattr(owner, name)

    def dying(*args, **kwargs):
        if state["died"]:
            return real(*args, **kwargs)
        state["died"] = True
        if not after:
            raise Died(f"before {name}")
        real(*args, **kwargs)
        raise Died(f"after {name}")

    monkeypatch.setattr(owner, name, dying)
    return state


#: Where the loop dies: (what is wrapped, which method, after the real call?).
CRASH_POINTS = {
    "planned_before_CreateHIT": ("manager", "create_hit", False),
    "after_CreateHIT_before_the_records": ("manager", "create_hit", True),
    "after_Approve_before_the_records": ("manager", "approve", True),
    "after_Reject_before_the_records": ("manager", "reject", True),
    "verdict_written_before_acting": ("consequences", "act", False),
    # the ledger's lines: its intent written, the bonus not sent; the bonus sent, its outcome not written
    "bonus_intended_before_SendBonus": ("manager", "send_bonus", False),
    "after_SendBonus_before_the_ledger": ("manager", "send_bonus", True),
}
#: The bonus rule of the runs that die on the ledger's lines (every played game earns it).
BONUS = {"amount": "0.05", "min_architect_turns": 1}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_loop_that_dies_at_a_chosen_line_resumes_without_doing_anything_twice(
        point, rehearsal, local_profile, unique_name, crowd_factory, monitor_factory, invariants, monkeypatch):
    name = unique_name("restart")
    where, method, after = CRASH_POINTS[point]
    calls = Calls()
    extra = {"bonus": BONUS} if method == "send_bonus" else {}
    crowd_factory(size=8, mix=REJECTING_MIX if method == "reject" else MIX, seed=3)
    with monitor_factory(name) as monitor:
        first = Campaign.open(rehearsal.params(name, target_approved_hits=TARGET, **extra))
        calls.watch(first, monkeypatch)
        crash = die_once(monkeypatch, getattr(first, where), method, after=after)
        with pytest.raises(Died):
            run_at_most(first)
        monkeypatch.undo()
        assert crash["died"], f"the loop never reached {method}"
        died_with = first.records.all()
        del first  # everything in memory is gone; the records and the server remain

        restarted = Campaign.open(rehearsal.params(name, target_approved_hits=TARGET, **extra))
        calls.watch(restarted, monkeypatch)
        summary = run_at_most(restarted)

    assert summary["done"] and summary["good_hits"] == TARGET, summary
    assert monitor.violations == [], "no instance was in two open HITs"
    twice = {assignment: n for assignment, n in calls.settled.items() if n > 1}
    assert not twice, f"approved or rejected more than once: {twice}"
    found = invariants(local_profile, name, local_profile.hit.reward)
    hits = {g.hit_id for g in found["records"] if g.hit_id}
    assert set(calls.created) == hits, "every CreateHIT the loops made is one slot's HIT, none twice"
    assert len(hits) == len({g.slot_id for g in found["records"] if g.hit_id})
    _the_crash_left_the_state_it_names(point, died_with, found["records"])
    if extra:
        _every_bonus_paid_once(restarted, found["records"])


def _every_bonus_paid_once(campaign: Campaign, records: list) -> None:
    """Each game's rule bonus is paid once on the service, and the ledger's spend says so."""
    from decimal import Decimal

    earned = [g for g in records if g.bonus and g.status is RecordStatus.APPROVED]
    assert earned and all(g.bonus.get("paid") for g in earned), "every earned bonus was paid in the end"
    paid = Counter()
    for assignment_id in {g.assignment_id for g in earned}:
        paid[assignment_id] = len(campaign.manager.bonus_payments(assignment_id=assignment_id))
    assert paid == Counter(g.assignment_id for g in earned), "one payment per game, none twice"
    spend = campaign.refresh_spend()
    assert spend.rule_bonuses == Decimal(BONUS["amount"]) * len(earned) and spend.pending == 0


def _the_crash_left_the_state_it_names(point: str, died_with: list, final: list) -> None:
    """The injected death happened where it says (the test exercised the dangerous state)."""
    statuses = Counter(g.status for g in died_with)
    if point in ("planned_before_CreateHIT", "after_CreateHIT_before_the_records"):
        assert statuses[RecordStatus.PLANNED] >= 1, "a slot was planned and its HIT not recorded"
    elif "SendBonus" in point:
        assert any(g.bonus and not g.bonus.get("paid") and g.status is RecordStatus.APPROVED for g in died_with)
    else:
        assert statuses[RecordStatus.SUBMITTED] >= 1, "a verdict was written and not yet recorded as acted on"
    if point == "after_Reject_before_the_records":
        assert any(g.status is RecordStatus.REJECTED for g in final)
