"""`mturk_calls_per_hit`: MTurk requests per good HIT of the demo campaign, counted by the local
server, against a loop that lists every HIT and every HIT's assignments on each turn.

Both are measured on the same run: each turn, the baseline would have made the same creating,
paying and rejecting calls as the loop, but instead of the reviewable listing and the few
assignment listings it lists all HITs (100 a page) and the assignments of every HIT so far."""

from __future__ import annotations

import json
import math
from pathlib import Path

from benchmarks.fresh_stack import fresh_stack
from iglu_lib import paths

LISTING = ("ListReviewableHITs", "ListAssignmentsForHIT")


def run() -> list[dict]:
    with fresh_stack() as folder:
        ours, baseline, good = _campaign(folder)
    return [{
        "name": "mturk_calls_per_hit",
        "value": ours / good,
        "unit": "requests/good HIT",
        "baseline": baseline / good,
        "ratio": ours / baseline,
        "target": 0.5,
        "better": "lower",
    }]


def _campaign(folder: Path) -> tuple[int, int, int]:
    from iglu_lib.collection import Campaign, CampaignParams
    from iglu_lib.config import load_profile, read_yaml
    from iglu_lib.encoding.batch import encode_tasks
    from iglu_lib.encoding.join_codes import build_join_codes
    from iglu_lib.local.mturk.control_client import LocalMTurkControl
    from iglu_lib.local.rehearsal import prepare_simulated_platform
    from iglu_lib.tasks import load_sample

    profile = load_profile("local")
    agents = read_yaml(paths.params_dir() / "01b_simulated_platform.yaml")["agents"]
    encode_tasks(load_sample()[:12], folder / "tasks", architect_role_id="architect", builder_role_id="builder")
    files = prepare_simulated_platform(profile, folder / "tasks", agents, folder / "platform")
    codes, _ = build_join_codes(json.loads(files["task_id_mapping"].read_text()),
                                json.loads(files["join_commands"].read_text()))
    (folder / "join_codes.json").write_text(json.dumps(codes))
    params = CampaignParams.from_file(paths.params_dir() / "campaigns" / "demo-pairwise.yaml", {
        "campaign": "bench", "join_codes": str(folder / "join_codes.json"),
        "agent_instances": str(files["agent_instances"]),
    })
    control = LocalMTurkControl(profile.backend.endpoint("mturk"))
    campaign = Campaign.open(params)
    crowd = profile.backend.rehearsal().crowd(folder / "platform", size=20, mix={"lazy": 0.1, "swaps_codes": 0.1})
    control.reset_stats()
    counts = {"previous": control.stats()["by_operation"], "baseline": 0, "hits": 0}

    def count_turn(campaign: Campaign, report) -> None:
        now = control.stats()["by_operation"]
        delta = {op: n - counts["previous"].get(op, 0) for op, n in now.items()}
        counts["previous"] = now
        counts["hits"] += delta.get("CreateHIT", 0)
        others = sum(n for op, n in delta.items() if op not in LISTING)
        counts["baseline"] += others + math.ceil(counts["hits"] / 100) + counts["hits"]

    try:
        summary = campaign.run(progress=False, on_turn=count_turn)
    finally:
        crowd.stop()
    ours = control.stats()["total"]
    return ours, counts["baseline"], summary["good_hits"]
