"""Issue 11's attacks against the real local stack: a worker cannot invent a preference, be paid
twice for one game, freeze the loop or kill it; every bad submission gets a reason, honest HITs
around it are settled, and a restart does not crash."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys

from iglu_lib.collection.campaign import slot_outcome
from iglu_lib.collection.status import campaign_status
from iglu_lib.local.workers import _rewritten
from iglu_lib.platform.codes import make_completion_code, parse_completion_code, parse_join_code
from iglu_lib.scheduling import Outcome
from iglu_lib.storage import RecordStatus


def test_a_forged_agent_field_never_invents_a_preference(attack):
    attacker = attack()
    hit_id, assignment_id, joins = attacker.take()
    first = attacker.play(joins[0], "forge-a")
    again = attacker.play(joins[0], "forge-b")  # the first agent played twice
    forged = _rewritten(again, agent_service_id=parse_join_code(joins[1]).agent_instance_id)
    attacker.submit(assignment_id, attacker.pairwise(joins, [first, forged], best=2))
    games = attacker.settle(hit_id)
    assert games[1].verdict == "reject" and games[1].reasons == ("game_agent_mismatch",)
    assert not any(g.is_hit_qualified for g in games)
    assert slot_outcome(games) is Outcome.REJECTED, "the slot is scheduled again"


def test_the_games_of_a_paid_hit_resubmitted_with_a_trailing_space_are_refused(attack):
    attacker = attack()
    first_hit = attacker.honest()
    paid = attacker.settle(first_hit)
    assert {g.status for g in paid} == {RecordStatus.APPROVED}
    hit_id, assignment_id, joins = attacker.take()
    codes = [f"{g.completion_code} " for g in paid]
    attacker.submit(assignment_id, attacker.pairwise(joins, codes))
    games = attacker.settle(hit_id)
    assert [g.reasons for g in games] == [("code_reused",), ("code_reused",)]
    assert {g.status for g in games} == {RecordStatus.REJECTED}, "never paid twice for one game"
    game_ids = [g.game_minecraft_id for g in attacker.campaign.records.all() if g.is_hit_qualified]
    assert len(game_ids) == len(set(game_ids)), "a game counts for at most one HIT"


def test_every_hostile_submission_gets_a_reason_and_the_honest_ones_are_settled(attack, local_profile):
    attacker = attack()
    tournament = "5d5b1c1e-0000-4000-8000-000000000001"

    def climbing(joins, codes):  # a game field that climbs out of the game-data folder
        game = parse_completion_code(codes[0]).game_id
        return attacker.pairwise(joins, [_rewritten(codes[0], game_id=f"x/../{game}"), codes[1]])

    def foreign(joins, codes):  # a real-looking code of another tournament
        fields = parse_completion_code(codes[0]).fields()
        fields.update(tournament_id=tournament)
        fields.pop("legacy")
        return attacker.pairwise(joins, [make_completion_code(**fields), codes[1]])

    not_utf8 = base64.b64encode(gzip.compress(b"\xff\xfe\xfd" * 30, mtime=0)).decode()
    attacks = {
        "malformed_code": (climbing, None),
        "tournament_mismatch": (foreign, None),
        "same_code_twice": (lambda j, c: attacker.pairwise(j, [c[0], c[0]]), None),
        "not_gzip": (lambda j, c: attacker.pairwise(j, [not_utf8, c[1]]), None),
        "code too long": (lambda j, c: attacker.pairwise(j, ["QUFB" * 7500, c[1]]), None),
        "answer_truncated": (lambda j, c: attacker.pairwise(j, c, feedback="very long. " * 7000), None),
        "nested brackets": (None, "[" * 3000 + "]" * 3000),
        "missing answer": (None, ""),
    }
    expected_reason = {"code too long": "malformed_code", "nested brackets": "answer_unreadable",
                       "missing answer": "answer_unreadable"}
    hits = {}
    for name, (make_answers, raw) in attacks.items():
        hit_id, assignment_id, joins = attacker.take()
        codes = [attacker.play(join, f"{name}-{n}") for n, join in enumerate(joins)]
        attacker.submit(assignment_id, make_answers(joins, codes) if make_answers else None, raw=raw)
        hits[name] = hit_id
        honest = attacker.honest()
        games = attacker.settle(hit_id)
        reasons = {r for g in games for r in g.reasons}
        assert expected_reason.get(name, name) in reasons, (name, reasons)
        assert all(len(g.completion_code) <= 600 for g in games)
        assert {g.status for g in attacker.settle(honest)} == {RecordStatus.APPROVED}, name
    long_feedback = attacker.campaign.records.by_hit(hits["answer_truncated"])[0].annotation
    assert len(long_feedback["agent_performance"]) <= 2000
    private = local_profile.backend.blob_service().get_container_client(local_profile.storage.private_container)
    kept = private.download_blob(long_feedback["full_answer"]).readall().decode()
    assert kept.count("very long.") == 7000, "the whole answer is kept beside the record"
    summary = attacker.campaign.summary()
    assert summary["needs_review"] == 0 and summary["errors"] == []


def test_a_game_played_outside_the_assignment_does_not_count(attack):
    attacker = attack()
    hit_id, assignment_id, joins = attacker.take()
    codes = [attacker.play(joins[0], "old", now=False), attacker.play(joins[1], "new")]
    attacker.submit(assignment_id, attacker.pairwise(joins, codes))
    games = attacker.settle(hit_id)
    assert games[0].reasons == ("played_outside_assignment",) and games[0].verdict == "reject"
    assert games[1].verdict == "reject" and games[1].reasons[0] == "fraud_in_hit", "fraud is not partial"
    assert {g.status for g in games} == {RecordStatus.REJECTED}


def test_one_reused_code_beside_an_honest_game_rejects_the_whole_hit_unpaid_and_counts_toward_the_block(attack):
    """Issue 20: a HIT with one honest game and one reused code was approved as `partial`, paid in
    full plus a rule bonus, and the worker was not blocked."""
    attacker = attack(bonus={"amount": "0.10", "min_architect_turns": 1}, block_after_disqualified_games=2)
    paid = attacker.settle(attacker.honest())
    hit_id, assignment_id, joins = attacker.take()
    honest = attacker.play(joins[1], "honest-beside-reuse")
    attacker.submit(assignment_id, attacker.pairwise(joins, [paid[0].completion_code, honest]))
    games = attacker.settle(hit_id)
    assert [g.verdict for g in games] == ["reject", "reject"]
    assert games[0].reasons == ("code_reused",) and games[1].reasons[0] == "fraud_in_hit"
    manager = attacker.campaign.manager
    assert manager.get_assignment(assignment_id).status == "Rejected", "no reward"
    assert manager.bonus_payments(assignment_id=assignment_id) == [], "no bonus"
    assert not any(g.bonus for g in games)
    assert slot_outcome(games) is Outcome.REJECTED
    blocked = {b["WorkerId"] for b in manager.blocked_workers()}
    assert attacker.worker in blocked, "both games count toward the block; reuse is fraud: a hard block"


class FailingFor:
    """A game client that fails unexpectedly (a bug, say) for the games of one join code."""

    def __init__(self, inner, join_code: str) -> None:
        self.inner, self.instance = inner, parse_join_code(join_code).agent_instance_id

    def fetch_many(self, codes, *, join_codes, **options):
        if any(parse_join_code(join).agent_instance_id == self.instance for join in join_codes):
            raise RuntimeError("unexpected failure while fetching")
        return self.inner.fetch_many(codes, join_codes=join_codes, **options)


def test_an_unexpected_failure_parks_one_hit_and_the_turn_goes_on(attack):
    attacker = attack()
    parked_hit, assignment_id, joins = attacker.take()
    codes = [attacker.play(join, f"parked-{n}") for n, join in enumerate(joins)]
    attacker.submit(assignment_id, attacker.pairwise(joins, codes))
    real_client = attacker.campaign.games
    attacker.campaign.games = FailingFor(real_client, joins[0])
    honest = attacker.honest()
    report = attacker.campaign.turn()
    assert report.parked == 1 and report.settled >= 1
    assert {g.status for g in attacker.campaign.records.by_hit(honest)} == {RecordStatus.APPROVED}
    status = campaign_status(attacker.campaign.records.all())
    assert status["needs_review"] == [parked_hit], "shown for a person"
    assert attacker.campaign.summary()["needs_review"] == 1
    attacker.campaign.games = real_client  # the cause is gone: a later turn settles it
    games = attacker.settle(parked_hit)
    assert {g.status for g in games} == {RecordStatus.APPROVED}
    assert attacker.campaign.summary()["needs_review"] == 0


def test_a_restart_after_the_attacks_neither_exits_nor_crashes(attack, rehearsal):
    attacker = attack()
    hit_id, assignment_id, joins = attacker.take()
    attacker.submit(assignment_id, raw="[" * 3000 + "]" * 3000)
    hit2, assignment2, joins2 = attacker.take()
    attacker.submit(assignment2, attacker.pairwise(joins2, ["QUFB" * 7500, "x" * 70_000], feedback="y" * 70_000))
    params_file = rehearsal.params_file(attacker.campaign.params.campaign, target_approved_hits=30, max_turns=3)
    for _ in range(2):  # the first run settles them, the second starts over the settled records
        result = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "collect", "--params", str(params_file),
                                 "--json"], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        assert json.loads(result.stdout)["stopped_by"] == "max_turns"
    records = attacker.campaign.records
    assert {g.status for g in records.by_hit(hit_id) + records.by_hit(hit2)} == {RecordStatus.REJECTED}
    from iglu_lib.collection.logfile import log_path

    logged = log_path(attacker.campaign.params.campaign).read_text()
    assert logged.count(f"campaign {attacker.campaign.params.campaign} started") == 2, "a log file per campaign"


def test_a_game_of_another_campaign_hit_is_refused_by_its_game_id(attack):
    """The same game under a second, differently spelled code (lower-case ids) is still reused."""
    attacker = attack()
    first = attacker.honest()
    paid = attacker.settle(first)
    fields = parse_completion_code(paid[0].completion_code).fields()
    fields.pop("legacy")
    respelled = make_completion_code(**{**fields, "game_id": fields["game_id"].upper()})
    assert respelled != paid[0].completion_code
    hit_id, assignment_id, joins = attacker.take()
    fresh = attacker.play(joins[1], "fresh")
    attacker.submit(assignment_id, attacker.pairwise(joins, [respelled, fresh]))
    games = attacker.settle(hit_id)
    assert games[0].reasons == ("code_reused",) and games[0].game_minecraft_id == paid[0].game_minecraft_id


def test_a_game_stored_late_waits_within_the_grace_period_then_counts(attack, local_profile):
    from dataclasses import replace

    attacker = attack()
    container = local_profile.backend.blob_service().get_container_client(local_profile.storage.game_container)

    def submit_with_first_game_missing(tag: str) -> tuple[str, str, bytes]:
        hit_id, assignment_id, joins = attacker.take()
        codes = [attacker.play(join, f"{tag}-{n}") for n, join in enumerate(joins)]
        path = parse_completion_code(codes[0]).game_blob_path
        data = container.download_blob(path).readall()
        container.delete_blob(path)  # the platform has not stored it yet
        attacker.submit(assignment_id, attacker.pairwise(joins, codes))
        return hit_id, path, data

    hit_id, path, data = submit_with_first_game_missing("late")
    reports = [attacker.campaign.turn() for _ in range(2)]
    assert all(r.waiting == 1 for r in reports)
    assert {g.status for g in attacker.campaign.records.by_hit(hit_id)} == {RecordStatus.HIT_CREATED}, "pending"
    container.upload_blob(path, data)  # the platform caught up
    assert {g.status for g in attacker.settle(hit_id)} == {RecordStatus.APPROVED}
    attacker.campaign.params = replace(attacker.campaign.params, game_data_grace_seconds=0)
    gone, _, _ = submit_with_first_game_missing("never")
    games = attacker.settle(gone)
    assert games[0].reasons == ("game_data_missing",) and games[0].verdict == "reject"
