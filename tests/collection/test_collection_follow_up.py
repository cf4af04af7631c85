"""The next step on the real local parts: a small campaign is analysed, `iglu analyze --follow-up`
writes the parameters of an adaptive follow-up of its unsettled pairs, and `iglu collect` runs
that file: every HIT of the follow-up compares one of the targeted pairs."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import yaml

from iglu_lib.cli import main
from iglu_lib.storage import GameRecords


def test_the_follow_up_file_runs_with_iglu_collect(rehearsal, local_profile, unique_name, crowd_factory, tmp_path,
                                                   capsys):
    from iglu_lib.collection.campaign import Campaign

    name = unique_name("firstround")
    crowd_factory(size=6, mix={})
    assert Campaign.open(rehearsal.params(name, target_approved_hits=6)).run(progress=False)["done"]
    page_file = tmp_path / "page.html"
    assert main(["report", "--campaign", name, "--html", str(page_file), "--replicates", "50"]) == 0
    capsys.readouterr()
    page = page_file.read_text(encoding="utf-8")  # the page of a campaign: worker ids, shown order, reasons
    assert re.search(r'<p class="headline">\w+ leads \(probability of being best \d+%\)', page)
    assert "<th>Rank (95% range)</th>" in page and "judges tested against the fitted model" in page
    assert "Position bias: " in page and "<th>Workers</th>" in page
    visible = re.sub(r'(src|href)="data:[^"]*"', "", page)
    assert not re.search(r"\bNaN\b|\bnan\b|\bNone\b|\d\.?\d*e[+-]\d\d", visible)
    assert str(tmp_path) not in page and name in page
    follow = tmp_path / "follow-up.yaml"
    assert main(["analyze", "--campaign", name, "--out", str(tmp_path / "analysis"), "--json", "--replicates", "50",
                 "--follow-up", str(follow), "--follow-up-from", str(rehearsal.params_file(name))]) == 0
    summary = json.loads(capsys.readouterr().out)
    unsettled = {tuple(p["pair"]) for p in summary["next_step"]["unsettled_pairs"]}
    assert unsettled and summary["follow_up"] == str(follow)
    values = yaml.safe_load(follow.read_text())
    assert values["campaign"] == f"{name}-follow-up" and values["scheduling"]["strategy"] == "adaptive"
    assert {tuple(pair) for pair in values["pairs"]} == unsettled
    assert values["join_codes"] == str(rehearsal.join_codes), "the campaign's own files"
    assert values["target_approved_hits"] >= len(unsettled)
    values["target_approved_hits"] = 4  # the estimate is hundreds of HITs; four show the file runs
    follow.write_text(yaml.safe_dump(values))
    result = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "collect", "--params", str(follow), "--json"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["good_hits"] == 4
    records = GameRecords.open(local_profile, f"{name}-follow-up").all()
    compared: dict[str, set[str]] = {}
    for record in records:
        compared.setdefault(record.slot_id, set()).add(record.agent_name)
    assert compared and all(any(agents == set(pair) for pair in unsettled) for agents in compared.values())
