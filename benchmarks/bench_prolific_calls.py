"""`prolific_calls_per_submission`: Prolific API requests per good (approved) submission of a
Prolific campaign on the local stack, against a loop that lists every submission of the study
on each turn.

Both are real requests of one run. The loop's are counted by its client (`ProlificClient.counts`,
retries included). The baseline makes the same writes and the same set-up reads as the loop
(workspace, project, groups, the study's creation, places, approvals, rejections, bonuses,
messages), but instead of the loop's watching reads (the study read for its counters or
places, submission lists and details) it lists every submission of the study once a turn:
that listing is really requested, on each turn, by a client of its own, and counted there.
The study page of `iglu crowd serve` reads each session it shows; it is the same for both and
counted in neither.

The ratio depends on how many turns the loop makes per good submission, since the baseline pays
one listing a turn while the writes (some five a good submission: approval, bonus set-up and
payment, a place, and the rejections, messages and blocks of the others) are the same for both;
the loop itself needs about one listing a submission to see it completed on Prolific. So the
pace is set in turns of the loop, not in seconds (which the machine's load would change):

- `prolific_calls_per_submission`: one participant at a time stays on the page for
  `SESSION_TURNS` turns of the loop before answering (as a ten-minute session does with a loop
  polling every 30 s, in a study filling one participant at a time); the target (0.5) is set here;
- `prolific_watch_requests_per_submission`: the same run, the loop's watching reads alone
  against the baseline's listings alone (what the loop's schedule of looking decides);
- `prolific_calls_per_submission_demo_pace`: `demo-prolific.yaml` as it is, the crowd answering
  at once: the loop settles several submissions a turn, the writes dominate both sides and the
  ratio stays near 1; reported without a target."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.fresh_stack import fresh_stack
from iglu_lib import paths

#: The loop's reads that the baseline replaces with its listing.
WATCHING = frozenset({"GET studies/{id}/", "GET submissions/", "GET submissions/{id}/", "GET studies/{id}/submissions/"})
#: The crowd: mostly honest, a few hostile, and each of Prolific's ways of leaving a session.
CROWD_MIX = {"lazy": 0.05, "forges_agent": 0.05, "returns": 0.05, "times_out": 0.05, "skips_page": 0.05}
#: The demo's Prolific campaign is adaptive and runs until the order settles (up to 160 good
#: HITs, more than the paced crowd's 80 participants may give); the bench measures a fixed run.
FIXED_RUN = {"target_approved_hits": 24, "scheduling": {"strategy": "balanced"}, "stop_when": None}
#: The paced run: turns of the loop a participant spends on the page, and the loop's poll.
SESSION_TURNS = 10
PACED_POLL_SECONDS = 0.05


class LoopTurns:
    """The loop's turns, counted by its `on_turn` hook, for participants who pace themselves by them."""

    def __init__(self) -> None:
        self.count = 0

    def tick(self) -> None:
        self.count += 1

    def wait(self, turns: int, stop: Any) -> None:
        until = self.count + turns
        while self.count < until and not stop.is_set():
            stop.wait(0.005)


def run() -> list[dict]:
    with fresh_stack() as folder:
        files = _platform(folder)
        paced = _campaign(files, session_turns=SESSION_TURNS,
                          overrides={"poll_interval_seconds": PACED_POLL_SECONDS,
                                     "max_poll_interval_seconds": PACED_POLL_SECONDS})
        demo = _campaign(files, session_turns=0, overrides={})
    watched = {**paced, "ours": paced["watching"], "baseline": paced["listings"]}
    return [_entry("prolific_calls_per_submission", paced, 0.5),
            _entry("prolific_watch_requests_per_submission", watched, 0.5, "reads of the study/good submission"),
            _entry("prolific_calls_per_submission_demo_pace", demo, None)]


def _entry(name: str, counts: dict[str, Any], target: float | None,
           unit: str = "requests/good submission") -> dict[str, Any]:
    good = counts["good"]
    return {"name": name, "value": counts["ours"] / good, "unit": unit,
            "baseline": counts["baseline"] / good, "ratio": counts["ours"] / counts["baseline"],
            "target": target, "better": "lower", "detail": counts}


def _platform(folder: Path) -> dict[str, Path]:
    from iglu_lib.config import load_profile, read_yaml
    from iglu_lib.encoding.batch import encode_tasks
    from iglu_lib.encoding.join_codes import build_join_codes
    from iglu_lib.local.rehearsal import prepare_simulated_platform
    from iglu_lib.tasks import load_sample

    agents = read_yaml(paths.params_dir() / "01b_simulated_platform.yaml")["agents"]
    encode_tasks(load_sample()[:12], folder / "tasks", architect_role_id="architect", builder_role_id="builder")
    files = prepare_simulated_platform(load_profile("local"), folder / "tasks", agents, folder / "platform")
    codes, _ = build_join_codes(json.loads(files["task_id_mapping"].read_text()),
                                json.loads(files["join_commands"].read_text()))
    (folder / "join_codes.json").write_text(json.dumps(codes))
    return {"join_codes": folder / "join_codes.json", "agent_instances": files["agent_instances"],
            "platform": folder / "platform"}


def _crowd(profile: Any, platform_dir: Path, study: str, session_turns: int, turns: LoopTurns) -> Any:
    """The simulated Prolific crowd; each participant stays `session_turns` turns of the loop on the page."""
    from iglu_lib.local.prolific_crowd import SimulatedProlificCrowd, participant_crowd
    from iglu_lib.local.rehearsal import EXPORT_FILES

    class PacedCrowd(SimulatedProlificCrowd):
        def _answer(self, *args: Any, **kwargs: Any) -> str:
            turns.wait(session_turns, self._stop)
            return str(super()._answer(*args, **kwargs))

    instances = json.loads((platform_dir / EXPORT_FILES["agent_instances"]).read_text(encoding="utf-8"))
    skills = json.loads((platform_dir / EXPORT_FILES["true_skills"]).read_text(encoding="utf-8"))
    skill_of_instance = {entry["agent_instance_id"]: float(skills[agent])
                         for agent, entries in instances.items() for entry in entries}
    crowd = PacedCrowd(profile.backend.prolific_base_url(), profile.backend.rehearsal().platform(),
                       participant_crowd(80, CROWD_MIX), skill_of_instance=skill_of_instance, studies=[study])
    crowd.start()
    return crowd


def _campaign(files: dict[str, Path], *, session_turns: int, overrides: dict[str, Any]) -> dict[str, Any]:
    from iglu_lib.collection import Campaign, CampaignParams
    from iglu_lib.config import load_profile
    from iglu_lib.crowd.server import TaskServer
    from iglu_lib.crowd.study_pages import study_pages
    from iglu_lib.prolific.client import ProlificClient

    profile = load_profile("local")
    name = f"bench-prolific-{secrets.token_hex(3)}"  # the slot file outlives the stack: a new campaign each run
    server = TaskServer(None, None, study_pages=study_pages(profile)).start()
    try:
        params = CampaignParams.from_file(paths.params_dir() / "campaigns" / "demo-prolific.yaml", {
            "campaign": name, "join_codes": str(files["join_codes"]),
            "agent_instances": str(files["agent_instances"]), "study_url": server.url, **FIXED_RUN, **overrides,
        })
        campaign = Campaign.open(params)
        ours = campaign.manager.provider.client
        lister = ProlificClient.open(profile.backend)
        turns = LoopTurns()

        def list_every_submission(running: Campaign, report: Any) -> None:
            turns.tick()
            study = running.manager.known_study
            if study is not None:
                lister.submissions(study.id)

        crowd = _crowd(profile, files["platform"], f"{name}:study", session_turns, turns)
        try:
            summary = campaign.run(progress=False, on_turn=list_every_submission)
        finally:
            crowd.stop()
    finally:
        server.stop()
    common = sum(n for kind, n in ours.counts.items() if kind not in WATCHING)
    return {"ours": ours.requests, "baseline": common + lister.requests, "listings": lister.requests,
            "good": summary["good_hits"],
            "turns": summary["turns"], "watching": sum(ours.counts[kind] for kind in WATCHING),
            "by_kind": dict(Counter(ours.counts).most_common()),
            "sessions": dict(Counter(t["outcome"] for t in crowd.taken))}
