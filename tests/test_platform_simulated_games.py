"""Games on the local stack: the platform simulator writes real-format tasks, events and
codes into Azurite; the client fetches them back; validation judges them; the scrubbed
copy of a game holds none of the raw copy's personal data."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from iglu_lib.local.platform import SimulatorError
from iglu_lib.platform.client import GameDataClient, GameDataError
from iglu_lib.platform.codes import make_completion_code, parse_completion_code, parse_join_code
from iglu_lib.platform.privacy import find_worker_ids, store_game_data
from iglu_lib.platform.validation import validate_assignment

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "greenlands"
TASK_DIR = FIXTURES / "tasks" / "03794642-d5dc-40df-bd41-4cd898ae6b7c"
ARCHITECT_ROLE = "914a403c-d103-405f-a1d2-10fba7ee0a28"


def greenlands_task() -> dict:
    return {
        "name": "greenlands",
        "initialGameState": json.loads((TASK_DIR / "initialGameState.json").read_text()),
        "targetGameChanges": json.loads((TASK_DIR / "targetGameChanges.json").read_text()),
    }


def bundled_tasks() -> dict[str, str | dict]:
    """The real platform task and every task of the bundled single-turn sample, encoded."""
    from iglu_lib.encoding import encode_task
    from iglu_lib.tasks import load_sample

    tasks: dict[str, str | dict] = {"greenlands": greenlands_task()}
    for number, task in enumerate(load_sample()):
        name = f"sample-{number:02d}"
        tasks[name] = encode_task(
            task, name=name, architect_role_id=ARCHITECT_ROLE, builder_role_id="builder-role"
        )
    return tasks


@pytest.fixture(scope="module")
def profile(stack):
    from iglu_lib.config import load_profile

    return load_profile("local")


@pytest.fixture(scope="module")
def platform(profile):
    """A simulator with its own tournament, the bundled tasks and two agents."""
    simulator = profile.backend.rehearsal().platform(tournament_id="tournament-simulated-games")
    task_ids = simulator.upload_tasks(bundled_tasks())
    perfect = simulator.register_agent("Perfect", 2, 1.0)
    hopeless = simulator.register_agent("Hopeless", 1, 0.0)
    return simulator, task_ids, {"Perfect": perfect, "Hopeless": hopeless}


def join_code(simulator, task_id: str, instance: dict, expires: float | None = None) -> str:
    return simulator.join_code(task_id, instance["agent_instance_id"], expires_at=expires)


@pytest.fixture(scope="module")
def client(profile):
    return GameDataClient.open(profile)


def test_exports_have_the_platform_formats(platform):
    simulator, task_ids, agents = platform
    mapping, joins = simulator.exports(["Perfect", "Hopeless"])
    assert sorted(mapping["taskIdNamesList"], key=lambda t: t["name"]) == sorted(
        ({"id": i, "name": n} for n, i in task_ids.items()), key=lambda t: t["name"]
    )
    info = joins["info"]
    assert set(info) == {"tournamentId", "challengeId", "roleId", "taskIds", "agents"}
    assert [a["name"] for a in info["agents"]] == ["Perfect", "Hopeless"]
    assert len(joins["commands"]) == 2 * len(task_ids)
    parsed = [parse_join_code(c) for c in joins["commands"]]
    assert all(c.startswith("/plaiground:join-task-with-agent ") for c in joins["commands"])
    assert {p.task_id for p in parsed} == set(task_ids.values())
    assert {p.agent_instance_id for p in parsed} == {a["id"] for a in info["agents"]}
    assert [i["agent_instance_name"] for i in agents["Perfect"]] == ["Perfect-1", "Perfect-2"]
    assert simulator.upload_tasks({"greenlands": greenlands_task()}) == {
        "greenlands": task_ids["greenlands"]
    }


def test_a_played_game_is_stored_at_the_real_path_with_a_real_code(platform, profile, client):
    simulator, task_ids, agents = platform
    instance = agents["Perfect"][0]
    code = simulator.play(
        join_code(simulator, task_ids["greenlands"], instance), "diligent", seed=1
    )
    fields = parse_completion_code(code)
    assert (fields.tournament_id, fields.challenge_id, fields.task_id) == (
        simulator.tournament_id,
        simulator.challenge_id,
        task_ids["greenlands"],
    )
    assert (
        fields.role_id == ARCHITECT_ROLE
        and fields.agent_service_id == instance["agent_instance_id"]
    )
    blob = profile.backend.blob_service().get_container_client(profile.storage.game_container)
    stored = json.loads(blob.download_blob(fields.game_blob_path).readall())
    assert stored["id"] == fields.game_id
    kinds = [e["eventType"] for e in stored["events"]]
    assert kinds[:2] == ["PlatformGameStartEvent", "PlatformPlayerJoinsGameEvent"]
    assert kinds[-1] == "PlatformGameEndEvent" and "PlatformTaskCompletedEvent" in kinds
    common = {
        "eventType",
        "id",
        "gameId",
        "taskId",
        "tournamentId",
        "producedAtDatetime",
        "source",
        "roleId",
        "groupId",
    }
    assert all(common <= set(e) for e in stored["events"])
    game = client.fetch(code)
    assert game.ok and game.document == stored
    frame = game.events_frame()
    assert len(frame) == len(stored["events"]) and (frame["problems"] == "").all()
    summary = game.summary()
    assert summary.task_completed and summary.structure_f1 == pytest.approx(1.0)
    assert summary.architect_turns >= 1 and summary.blocks_placed == 3


def test_games_are_deterministic_for_a_seed(platform, profile):
    simulator, task_ids, agents = platform
    join = join_code(simulator, task_ids["sample-00"], agents["Perfect"][1])
    assert simulator.play(join, "diligent", seed=7) == simulator.play(join, "diligent", seed=7)
    assert simulator.play(join, "diligent", seed=7) != simulator.play(join, "diligent", seed=8)
    other = profile.backend.rehearsal().platform(tournament_id=simulator.tournament_id)
    assert other.play(join, "diligent", seed=7) == simulator.play(join, "diligent", seed=7)


def test_join_codes_with_an_expiry_are_refused_once_expired(platform):
    simulator, task_ids, agents = platform
    deadline = datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp()
    join = join_code(simulator, task_ids["greenlands"], agents["Perfect"][0], expires=deadline)
    assert parse_completion_code(simulator.play(join, seed=1, now=deadline - 60))
    with pytest.raises(SimulatorError) as expired:
        simulator.play(join, seed=1, now=deadline + 1)
    assert expired.value.reason == "join_code_expired"
    for bad, reason in [
        (
            join_code(simulator, task_ids["greenlands"], {"agent_instance_id": "nobody"}),
            "unknown_agent",
        ),
        (join_code(simulator, "no-such-task", agents["Perfect"][0]), "unknown_task"),
        (
            f"{simulator.tournament_id}:{simulator.challenge_id}:{task_ids['greenlands']}",
            "join_code_malformed",
        ),
        ("<b>not a join code</b>", "join_code_malformed"),
    ]:
        with pytest.raises(SimulatorError) as refused:
            simulator.play(bad, seed=1)
        assert refused.value.reason == reason
    with pytest.raises(ValueError, match="known profiles: diligent"):
        simulator.play(join_code(simulator, task_ids["greenlands"], agents["Perfect"][0]), "sleepy")


def test_every_bundled_task_validates_approve_when_diligent_and_reject_when_lazy(platform, client):
    simulator, task_ids, agents = platform
    instance = agents["Perfect"][0]
    joins = [join_code(simulator, task_id, instance) for task_id in task_ids.values()]
    diligent = [simulator.play(j, "diligent", seed=3) for j in joins]
    lazy = [simulator.play(j, "lazy", seed=3) for j in joins]
    games = client.fetch_many(diligent + lazy, join_codes=joins + joins, workers=8, progress=False)
    for game in games[: len(joins)]:
        verdict = validate_assignment([game])
        assert verdict.verdict == "approve", verdict.as_dict()
        assert game.summary().structure_f1 == pytest.approx(1.0)
    for game in games[len(joins) :]:
        verdict = validate_assignment([game])
        assert verdict.verdict == "reject" and "too_few_turns" in verdict.reasons
        assert "too few instructions" in verdict.worker_message


def test_the_agents_skill_decides_whether_the_target_gets_built(platform, client):
    simulator, task_ids, agents = platform
    join = join_code(simulator, task_ids["greenlands"], agents["Hopeless"][0])
    games = client.fetch_many(
        [simulator.play(join, "diligent", seed=s) for s in range(5)], progress=False
    )
    assert not any(g.summary().task_completed for g in games)
    assert all(g.summary().structure_f1 < 1.0 for g in games)


def test_assignment_verdicts_for_codes_that_do_not_fit(platform, client):
    simulator, task_ids, agents = platform
    perfect_join = join_code(simulator, task_ids["greenlands"], agents["Perfect"][0])
    other_join = join_code(simulator, task_ids["greenlands"], agents["Perfect"][1])
    code = simulator.play(perfect_join, "diligent", seed=11)
    good, wrong_agent = client.fetch_many(
        [code, code], join_codes=[perfect_join, other_join], progress=False
    )
    verdict = validate_assignment([good, wrong_agent])
    assert verdict.verdict == "reject"
    assert [g.reasons for g in verdict.games] == [("same_code_twice",), ("same_code_twice",)]
    wrong_agent_alone = validate_assignment([client.fetch(code, other_join)])
    assert wrong_agent_alone.reasons == ("agent_mismatch",)
    second = client.fetch(
        simulator.play(join_code(simulator, task_ids["sample-01"], agents["Perfect"][0]), seed=2)
    )
    assert validate_assignment([client.fetch(code, perfect_join), second]).verdict == "approve"
    reused = validate_assignment(
        [client.fetch(code, perfect_join)], seen={code: "HIT-A"}, owner="HIT-B"
    )
    assert reused.verdict == "reject" and reused.reasons == ("code_reused",)
    mixed = validate_assignment([client.fetch(code, perfect_join), client.fetch("A3SXZL66TVNQQG")])
    assert mixed.verdict == "partial" and "worker ID" in mixed.worker_message
    foreign = client.fetch(simulator.play(perfect_join, "non_english", seed=4), perfect_join)
    assert validate_assignment([foreign]).reasons == ("not_english",)
    terse = client.fetch(simulator.play(perfect_join, "terse", seed=4), perfect_join)
    assert validate_assignment([terse]).verdict == "approve_with_warning"
    strict = validate_assignment([terse], {"warn_only": []})
    assert strict.verdict == "reject" and strict.reasons == ("instruction_too_short",)
    with pytest.raises(ValueError, match="unknown validation parameter.*min_turns"):
        validate_assignment([terse], {"min_turns": 3})


def test_missing_and_unreadable_game_data_get_reasons(profile, client, platform):
    simulator = platform[0]
    fields = dict(
        tournament_id=simulator.tournament_id,
        challenge_id=simulator.challenge_id,
        task_id=str(uuid.uuid4()),
        role_id="r",
        agent_service_id=str(uuid.uuid4()),
    )
    absent = client.fetch(make_completion_code(game_id=str(uuid.uuid4()), **fields))
    assert absent.reason == "game_data_missing"
    broken_code = make_completion_code(game_id=str(uuid.uuid4()), **fields)
    container = profile.backend.blob_service().get_container_client(
        profile.storage.game_container
    )
    container.upload_blob(
        parse_completion_code(broken_code).game_blob_path, b"<xml>&not-json;</xml>", overwrite=True
    )
    broken = client.fetch(broken_code)
    assert broken.reason == "game_data_unreadable" and broken.events == []
    verdict = validate_assignment([absent, broken])
    assert [g.reasons for g in verdict.games] == [("game_data_missing",), ("game_data_unreadable",)]
    assert client.fetch("yWsnwOPMepirQ3pPKDkCuEvKVX22JZreSIPN1").reason == "not_base64"


def test_container_urls_with_a_sas_work_and_unreachable_storage_is_an_error(profile, platform):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    simulator, task_ids, agents = platform
    code = simulator.play(
        join_code(simulator, task_ids["greenlands"], agents["Perfect"][0]), seed=21
    )
    service = profile.backend.blob_service()
    urls = {}
    for setting in ("storage.game_container", "storage.task_container"):
        name = getattr(profile.storage, setting.split(".")[1])
        sas = generate_container_sas(
            service.account_name,
            name,
            account_key=service.credential.account_key,
            permission=ContainerSasPermissions(read=True),
            expiry=datetime.now(timezone.utc) + timedelta(hours=1),
        )
        urls[setting] = f"{service.url.rstrip('/')}/{name}?{sas}"
    by_sas = GameDataClient.from_urls(urls["storage.game_container"], urls["storage.task_container"])
    game = by_sas.fetch(code)
    assert game.ok and game.summary().structure_f1 == pytest.approx(1.0)
    closed = GameDataClient.from_urls(
        "http://127.0.0.1:9/nobody/games?sig=secret",
        "http://127.0.0.1:9/nobody/tasks",
        attempts=2,
        backoff_seconds=0,
    )
    with pytest.raises(GameDataError, match="unreachable after 2 attempts") as failed:
        closed.fetch(code)
    assert "secret" not in str(failed.value)


def test_the_scrubbed_copy_holds_none_of_the_raw_copys_personal_data(platform, profile, client):
    simulator, task_ids, agents = platform
    code = simulator.play(
        join_code(simulator, task_ids["greenlands"], agents["Perfect"][0]), "oversharing", seed=5
    )
    game = client.fetch(code)
    result_path = store_game_data(game, profile.storage, profile.backend.blob_service())
    results, path = result_path.split("/", 1)
    assert (
        results == profile.storage.results_container and path == game.parsed.game_blob_path
    )
    service = profile.backend.blob_service()
    raw = (
        service.get_container_client(profile.storage.private_container)
        .download_blob(path)
        .readall()
        .decode()
    )
    clean = service.get_container_client(results).download_blob(path).readall().decode()
    personal = [
        "jane.doe@example.com",
        "555-201-7788",
        "https://example.com/help",
        *find_worker_ids(raw),
    ]
    assert find_worker_ids(raw) and all(item in raw for item in personal)
    assert not any(item in clean for item in personal)
    assert "[email]" in clean and "[phone]" in clean and "[worker_id]" in clean
    cleaned = json.loads(clean)
    assert [e["id"] for e in cleaned["events"]] == [e["id"] for e in json.loads(raw)["events"]]


@contextmanager
def flaky_storage(endpoint: str, failing_connections: int):
    """A loopback relay to the blob endpoint whose first connections answer 503 and close."""
    host, port = endpoint.removeprefix("http://").split("/", 1)[0].split(":")
    listener = socket.create_server(("127.0.0.1", 0))
    connections = itertools.count()

    def pipe(source, sink):
        with source, sink:
            while chunk := source.recv(65536):
                sink.sendall(chunk)

    def serve():
        while True:
            try:
                client_socket, _ = listener.accept()
            except OSError:
                return
            if next(connections) < failing_connections:
                with client_socket:
                    client_socket.recv(65536)
                    client_socket.sendall(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                continue
            upstream = socket.create_connection((host, int(port)))
            for args in ((client_socket, upstream), (upstream, client_socket)):
                threading.Thread(target=pipe, args=args, daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield endpoint.replace(f"{host}:{port}", f"127.0.0.1:{listener.getsockname()[1]}")
    finally:
        listener.close()


def test_transient_storage_errors_are_retried(stack, platform):
    from iglu_lib.config import load_profile

    simulator, task_ids, agents = platform
    code = simulator.play(
        join_code(simulator, task_ids["greenlands"], agents["Perfect"][0]), seed=31
    )
    endpoint = stack["azure_blob_endpoint"]
    for failing, succeeds in ((2, True), (3, False)):
        with flaky_storage(endpoint, failing) as relayed:
            state = {
                **stack,
                "azure_storage_connection_string": stack["azure_storage_connection_string"].replace(
                    endpoint, relayed
                ),
            }
            client = GameDataClient.open(
                load_profile("local", stack_state=state), attempts=3, backoff_seconds=0
            )
            if succeeds:
                game = client.fetch(code)
                assert game.ok and game.summary().task_completed
            else:
                with pytest.raises(
                    GameDataError, match=r"unreachable after 3 attempts \(HTTP 503\)"
                ):
                    client.fetch(code)


CHALLENGE = "0c9e3a55-4f1d-4c5e-9d9f-2a0b6c1d7e11"
AGENT_SERVICE = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"


@pytest.mark.parametrize("legacy", [False, True], ids=["code", "legacy_code"])
def test_the_real_event_files_round_trip_through_storage(platform, profile, client, legacy):
    container = profile.backend.blob_service().get_container_client(
        profile.storage.game_container
    )
    for path in sorted((FIXTURES / "game_events").glob("*.json")):
        events = json.loads(path.read_text())
        first = events[0]
        code = make_completion_code(
            tournament_id=first["tournamentId"],
            challenge_id=CHALLENGE,
            task_id=first["taskId"],
            game_id=first["gameId"],
            role_id="4d7ee4dd-470e-403b-971a-a537de81147c",
            agent_service_id=AGENT_SERVICE,
            legacy=legacy,
        )
        blob_path = parse_completion_code(code).game_blob_path
        assert (f"{CHALLENGE}:{first['taskId']}" in blob_path) is legacy
        container.upload_blob(blob_path, path.read_bytes(), overwrite=True)
        game = client.fetch(code)
        assert game.ok and game.events == events
        assert len(game.events_frame()) == len(events)
        assert game.summary().task_completed is ("NotComplete" not in path.stem)
        assert "task_data_missing" in game.problems and game.summary().structure_f1 is None
