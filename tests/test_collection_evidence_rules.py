"""The loop's side of evidence from many workers, without a stack: which HITs are beyond a
worker's cap, what marking one does to its judgement, and the evidence read from records."""

from __future__ import annotations

from typing import Any

import pytest

from iglu_lib.collection.evidence import (
    BEYOND_WORKER_CAP,
    beyond_worker_cap,
    campaign_evidence,
    mark_beyond_cap,
)
from iglu_lib.scheduling.evidence import EvidenceRules
from iglu_lib.storage import GameRecord, RecordStatus


def game(hit: str, slot: str = "s1", position: int = 0, agent: str = "A", *, worker: str = "W1",
         chosen: bool = False, status: RecordStatus = RecordStatus.APPROVED) -> GameRecord:
    return GameRecord(campaign="c", row_key=f"{hit}-{position}", slot_id=slot, shown_position=position,
                      agent_name=agent, join_code="j", task_name="t", task_minecraft_id="t",
                      agent_minecraft_id="", hit_type="pairwise", unique_request_token=slot, status=status,
                      hit_id=hit, worker_id=worker, is_hit_qualified=True, verdict="approve",
                      annotation={"was_chosen_best": chosen})


@pytest.mark.parametrize(("other_hits", "cap", "beyond"), [
    (0, 2, False), (1, 2, False), (2, 2, True), (3, 2, True), (5, None, False), (5, 0, False),
])
def test_a_hit_is_beyond_the_cap_once_the_worker_had_cap_other_hits(other_hits, cap, beyond):
    records = [game(f"H{n}") for n in range(other_hits)] + [game("THIS"), game("THIS", position=1)]
    records.append(game("", slot="unplanned"))  # a record without a HIT counts for nothing
    assert beyond_worker_cap(records, "THIS", cap) is beyond


def test_two_games_of_one_other_hit_count_once():
    assert beyond_worker_cap([game("H1"), game("H1", position=1)], "THIS", 2) is False


def test_marking_warns_pays_as_judged_and_unqualifies():
    changes: list[tuple[Any, dict[str, Any]]] = [
        (None, {"verdict": "approve", "reasons": (), "is_hit_qualified": True}),
        (None, {"verdict": "reject", "reasons": ("too_few_turns",), "is_hit_qualified": False}),
        (None, {"verdict": "approve_with_warning", "reasons": ("choice_unusable",), "is_hit_qualified": True}),
    ]
    mark_beyond_cap(changes)
    assert [(c["verdict"], c["reasons"], c["is_hit_qualified"]) for _, c in changes] == [
        ("approve_with_warning", (BEYOND_WORKER_CAP,), False),
        ("reject", ("too_few_turns", BEYOND_WORKER_CAP), False),
        ("approve_with_warning", ("choice_unusable", BEYOND_WORKER_CAP), False),
    ]


def test_evidence_is_one_preference_per_valid_slot_with_a_winner_and_its_worker():
    records = [
        game("H1", "s1", 1, "B", worker="W1", chosen=True), game("H1", "s1", 0, "A", worker="W1"),
        game("H2", "s2", 0, "A", worker="W2", chosen=True), game("H2", "s2", 1, "B", worker="W2"),
        game("H3", "s3", 0, "A", worker="W3"), game("H3", "s3", 1, "B", worker="W3"),  # no decision
        game("H4", "s4", 0, "A", worker="W4", chosen=True, status=RecordStatus.REJECTED),
        game("H4", "s4", 1, "B", worker="W4", status=RecordStatus.REJECTED),
        game("H5", "s5", 0, "A", worker="", chosen=True), game("H5", "s5", 1, "B", worker=""),
    ]
    evidence = campaign_evidence(records, EvidenceRules(min_workers=1))
    preferences = [(p.agents, p.winner, p.worker) for p, _ in evidence.weighted]
    assert preferences == [(("A", "B"), "B", "W1"), (("A", "B"), "A", "W2"), (("A", "B"), "A", None)]
    assert evidence.judgements == 3 and evidence.workers == 3


def test_the_campaigns_rules_weigh_the_evidence():
    records = [record for n in range(2) for record in (
        game(f"H{n}", f"s{n}", 0, "A", worker="W1", chosen=True), game(f"H{n}", f"s{n}", 1, "B", worker="W1"))]
    capped = campaign_evidence(records, EvidenceRules(min_workers=1, max_judgements_per_worker=1))
    assert [weight for _, weight in capped.weighted] == [0.5, 0.5] and capped.capped_workers == 1
    assert [weight for _, weight in campaign_evidence(records).weighted] == [1.0, 1.0], "the default cap is 10"
