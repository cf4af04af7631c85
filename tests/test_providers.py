"""Crowd providers as peers: the registry, and the MTurk adapter doing the interface's
operations on the local MTurk server (the Prolific provider's are in test_prolific_provider.py)."""

from __future__ import annotations

import secrets
from decimal import Decimal

import pytest

from iglu_lib.mturk.provider import MTurkProvider
from iglu_lib.prolific.provider import ProlificProvider
from iglu_lib.providers import (
    PROVIDERS,
    Bonus,
    CrowdProvider,
    UnknownProvider,
    WorkSpec,
    open_provider,
    provider_class,
)

WORKER_PREFIX = "AW"


def test_the_registry_names_both_providers_and_refuses_others(local_profile):
    assert provider_class("mturk") is MTurkProvider and provider_class("prolific") is ProlificProvider
    assert set(PROVIDERS) == {"mturk", "prolific"}
    for name in PROVIDERS:
        assert isinstance(open_provider(name, local_profile), CrowdProvider)
    with pytest.raises(UnknownProvider, match="unknown crowd provider 'upwork' \\(known: mturk, prolific\\)"):
        open_provider("upwork", local_profile)


@pytest.fixture
def mturk_provider(local_profile, unique_name) -> MTurkProvider:
    return MTurkProvider.open(local_profile, campaign=unique_name("camp"))


def test_the_mturk_adapter_posts_reviews_pays_and_sanctions(mturk_provider, control, unique_name):
    from iglu_lib.mturk.qualifications import find_type_by_name

    capability = unique_name("cap")
    mturk_provider.manager.call("create_qualification_type", Name=capability, Description="d",
                                QualificationTypeStatus="Active")
    key = unique_name("campaign") + "-batch1"
    spec = WorkSpec(key, "Build", "Play one game.", "http://127.0.0.1:9/hit", Decimal("0.50"), places=2)
    checks = {c.name: c for c in mturk_provider.preflight(spec)}
    assert checks["credentials"].ok and checks["balance"].ok and "$1.20" in checks["balance"].detail
    posted = mturk_provider.post_work(spec)
    assert posted.open and posted.places == 2 and posted.key == key
    assert mturk_provider.post_work(spec).work_id == posted.work_id  # found again by its key
    assert [w.work_id for w in mturk_provider.reconcile(key[:-1])] == [posted.work_id]

    worker = WORKER_PREFIX + secrets.token_hex(6).upper()
    control.set_worker(worker)
    accepted = control.accept(posted.work_id, worker)
    control.submit(accepted["assignment_id"], {"answer": "x"})
    [submitted] = mturk_provider.submitted(posted.work_id)
    assert submitted.worker_id == worker and submitted.needs_review
    mturk_provider.approve(submitted.submission_id)
    assert not mturk_provider.submitted(posted.work_id)[0].needs_review
    bonus = Bonus(worker, submitted.submission_id, posted.work_id, Decimal("0.25"), "thanks", unique_name("tok"))
    assert mturk_provider.send_bonus(bonus) == bonus.token
    mturk_provider.send_bonus(bonus)  # the same token: MTurk pays once
    assert len(mturk_provider.manager.bonus_payments(assignment_id=submitted.submission_id)) == 1

    mturk_provider.message(worker, "Your bonus is paid.", work_id=posted.work_id, subject="Thanks")
    assert [m["text"] for m in control.messages(worker)] == ["Your bonus is paid."]
    mturk_provider.grant(capability, worker)
    type_id = find_type_by_name(mturk_provider.manager, capability)
    from iglu_lib.mturk.qualifications import score

    assert score(mturk_provider.manager, type_id, worker) == 1
    mturk_provider.revoke(capability, worker)
    held = mturk_provider.manager.call("get_qualification_score", QualificationTypeId=type_id, WorkerId=worker)
    assert held["Qualification"]["Status"] == "Revoked"
    mturk_provider.block(worker, "hostile")
    assert worker in {b["WorkerId"] for b in mturk_provider.manager.blocked_workers()}
    mturk_provider.unblock(worker, "appeal")
    assert worker not in {b["WorkerId"] for b in mturk_provider.manager.blocked_workers()}
