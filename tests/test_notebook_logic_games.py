"""What notebook 05 calls: which codes to fetch, the events of one game with messages
scrubbed, and the figure of structure and effort."""

from __future__ import annotations

import pandas as pd
import pytest

from iglu_lib.backends import NoRehearsal
from iglu_lib.collection.games import select_codes
from iglu_lib.config import load_profile
from iglu_lib.platform.client import Game, GameDataClient
from iglu_lib.platform.games import EVENT_COLUMNS, NoCodesError, scrubbed_events
from iglu_lib.platform.plots import structure_and_effort


def test_a_codes_file_is_read_relative_to_the_root_and_wins_over_codes(local_profile, tmp_path):
    (tmp_path / "codes.txt").write_text("code-1\n\nNA\ncode-2\n", encoding="utf-8")
    selection = select_codes(local_profile, codes_file="codes.txt", codes=["ignored"],
                             simulate=lambda: pytest.fail("simulated despite a codes file"),
                             root=tmp_path)
    assert selection.codes == ["code-1", "code-2"] and selection.join_codes is None
    assert selection.note == f"2 completion codes from {tmp_path / 'codes.txt'}"


def test_given_codes_win_over_simulated_games(local_profile):
    selection = select_codes(local_profile, codes=["a", "b"],
                             simulate=lambda: pytest.fail("simulated despite codes"))
    assert selection.codes == ["a", "b"] and selection.join_codes is None


def test_a_campaign_without_submitted_games_names_the_campaign(local_profile, unique_name):
    campaign = unique_name("nocodes")
    with pytest.raises(NoCodesError, match=f"campaign '{campaign}'"):
        select_codes(local_profile, campaign=campaign, codes=["a"])


def test_nothing_to_fetch_says_what_to_set(local_profile):
    with pytest.raises(NoCodesError, match="set `codes`, `codes_file` or `campaign`"):
        select_codes(local_profile, simulate=None)


def test_simulation_only_on_the_local_profile():
    with pytest.raises(NoRehearsal, match="profile 'sandbox' runs against real services"):
        load_profile("sandbox", env={}).backend.rehearsal().simulate_games(games=3)


def test_simulated_games_are_selected_with_their_join_codes_and_shown_scrubbed(local_profile):
    selection = select_codes(
        local_profile,
        simulate=lambda: local_profile.backend.rehearsal().simulate_games(games=2, architects=["oversharing"], seed=3),
    )
    assert len(selection.codes) == len(selection.join_codes) == 2
    assert "simulated games" in selection.note
    games = GameDataClient.open(local_profile).fetch_many(
        selection.codes, join_codes=selection.join_codes, progress=False
    )
    raw = " ".join(games[0].events_frame()["message"].dropna())
    assert "jane.doe@example.com" in raw  # the oversharing architect gives it away
    events = scrubbed_events(games)
    assert list(events.columns) == list(EVENT_COLUMNS) and len(events) == len(games[0].events)
    shown = " ".join(events["message"].dropna())
    assert "jane.doe@example.com" not in shown and "555-201-7788" not in shown


def test_no_usable_game_gives_an_empty_events_table():
    events = scrubbed_events([Game(code="nonsense", reason="not_a_code")])
    assert events.empty and list(events.columns) == list(EVENT_COLUMNS)


def test_figure_compares_agents_by_distribution_of_usable_games():
    summaries = pd.DataFrame({
        "GameMinecraftId": ["g1", "g2", "g3", "g4"],
        "reason": [None, "game_not_found", None, None],
        "agent_service_id": ["inst-mhb-1", "inst-mhb-1", "inst-happy-2", "0123456789abcdef"],
        "structure_f1": [0.5, None, None, 0.25],
        "architect_turns": [4, 0, 1, 2],
        "duration_seconds": [120.0, None, 60.0, 30.0],
    })
    f1, turns, duration = structure_and_effort(summaries, {"inst-mhb-1": "MHB", "inst-happy-2": "Happy"}).axes
    labels = [label.get_text() for label in f1.get_xticklabels()]
    assert labels == ["Happy\n(1 games)", "MHB\n(1 games)", "instance 01234567\n(1 games)"]
    # one dot per usable game, a game without a target scores 0, duration in minutes
    dots = [sorted(c.get_offsets()[:, 1]) for c in f1.collections]
    assert dots == [[0.0], [0.5], [0.25]]
    assert [sorted(c.get_offsets()[:, 1]) for c in duration.collections] == [[1.0], [2.0], [0.5]]
    assert [sorted(c.get_offsets()[:, 1]) for c in turns.collections] == [[1], [4], [2]]


def test_agent_names_come_from_the_agents_file_or_the_records():
    from types import SimpleNamespace

    from iglu_lib.platform.plots import instance_agents, record_agents

    agents = {"MHB": [{"agent_instance_id": "i1", "agent_instance_name": "mhb-1"}], "Happy": []}
    assert instance_agents(agents) == {"i1": "MHB"}
    records = [SimpleNamespace(agent_minecraft_id="i2", agent_name="Felipe"),
               SimpleNamespace(agent_minecraft_id="", agent_name="nobody")]
    assert record_agents(records) == {"i2": "Felipe"}


def test_figure_without_any_usable_game_says_so():
    summaries = pd.DataFrame({"GameMinecraftId": ["x"], "reason": ["not_a_code"]})
    axes = structure_and_effort(summaries).axes
    assert all(not a.collections and a.texts[0].get_text() == "no usable game" for a in axes)
