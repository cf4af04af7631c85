"""Games of a campaign: codes come from its game records, and the stored scrubbed copy's
path goes back into each record."""

from __future__ import annotations

import pytest

from iglu_lib.collection.games import campaign_codes, store_games
from iglu_lib.platform.client import GameDataClient
from iglu_lib.platform.games import read_codes, summary_table


@pytest.fixture
def campaign(local_profile, unique_name):
    """A campaign with two planned games whose workers submitted a real code and a worker id."""
    from iglu_lib.scheduling.model import Slot
    from iglu_lib.storage import GameRecords

    played = local_profile.backend.rehearsal().simulate_games(games=1, sample_tasks=1, tournament_id="games-campaign")
    code, join = played[0]
    name = unique_name("campaign")
    records = GameRecords.open(local_profile, name)
    task_id = join.split(":")[-2]
    slot = Slot(
        "00000001",
        "greenlands",
        task_id,
        ("Steady", "Steady"),
        ("i1", "i2"),
        (join, join + "x"),
        ("Steady",),
    )
    first, second = records.plan(slot)
    records.update(first, completion_code=code)
    records.update(second, completion_code="A3SXZL66TVNQQG")
    return name, records, code


def test_campaign_games_are_fetched_stored_and_recorded(local_profile, campaign):
    name, records, code = campaign
    codes, joins = campaign_codes(local_profile, name)
    assert sorted(codes) == sorted([code, "A3SXZL66TVNQQG"])
    games = GameDataClient.open(local_profile).fetch_many(codes, join_codes=joins, progress=False)
    stored = store_games(games, local_profile, campaign=name).set_index(
        "GameMinecraftId", drop=False
    )
    good = next(g for g in games if g.ok)
    assert stored.loc[good.game_id, "record"] == "updated"
    assert stored["not_stored_because"].tolist().count("worker_id_pasted") == 1
    by_code = {r.completion_code: r for r in records.all()}
    assert by_code[code].result_game_data_path == stored.loc[good.game_id, "ResultGameDataPath"]
    assert by_code["A3SXZL66TVNQQG"].result_game_data_path == ""
    assert summary_table(games)["GameMinecraftId"].tolist() == [good.game_id]
    bad = next(g for g in games if not g.ok)
    assert summary_table([good, bad, good])["GameMinecraftId"].tolist() == [good.game_id]
    assert summary_table([bad]).empty


def test_codes_come_from_text_files_and_exports(tmp_path):
    text = tmp_path / "codes.txt"
    text.write_text("H4sIcode1\n\nNA\n  second  \n")
    assert read_codes(text) == ["H4sIcode1", "second"]
    export = tmp_path / "export.csv"
    export.write_text(
        "HitId,GameMinecraftId,TaskMinecraftId,AgentName,Annotation,CompletionCode\nH,NA,NA,A,{},NA\nH,g,t,A,{},abc\n"
    )
    assert read_codes(export) == ["abc"]
    empty = tmp_path / "empty.txt"
    empty.write_text("NA\n\n")
    with pytest.raises(ValueError, match="empty.txt: no completion codes"):
        read_codes(empty)


def test_store_command_stores_a_campaigns_games(local_profile, campaign):
    import json
    import subprocess
    import sys

    name, records, code = campaign
    result = subprocess.run(
        [sys.executable, "-m", "iglu_lib.cli", "games", "store", name, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(result.stdout)
    assert sorted(str(r["not_stored_because"]) for r in rows) == ["None", "worker_id_pasted"]
    assert [r.result_game_data_path != "" for r in records.all() if r.completion_code == code] == [
        True
    ]
