"""game_fetch_validate: games fetched from Azurite and validated per second, with the
client's bounded pool of 16 workers against the same work done one game after another.

A fresh local stack (in a temporary folder) holds games played by the platform simulator.
Azurite on loopback answers in about a millisecond, so there the work is all Python CPU and
a thread pool cannot do much on a small machine; real blob storage is a network round trip
away, and hiding that round trip is what the pool is for. The main entry therefore reaches
Azurite through a TCP relay that holds each request for `ROUND_TRIP_SECONDS` (a typical
round trip to a cloud region); `game_fetch_validate_loopback` reports the direct numbers for
information only: with no round trip to hide, pool and loop do the same CPU work and their
ratio sits around 1.0 with a noise of about 20% (1.01 and 0.82 in two runs on one machine),
so no target could tell a regression from noise. Each round runs both ways with a fresh
client, alternating the order; the median round counts.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

GAMES = 160
ROUNDS = 3
WORKERS = 16
TARGET = 4.0
ROUND_TRIP_SECONDS = 0.03


def run() -> list[dict]:
    from iglu_lib.local import stack as local_stack

    with tempfile.TemporaryDirectory(prefix="bench-games-") as folder:
        state = local_stack.up(Path(folder))
        try:
            pairs = _play_games(_profile(state))
            with _relay(state["azure_blob_endpoint"], ROUND_TRIP_SECONDS) as relayed_endpoint:
                relayed = _measure(_profile(state, relayed_endpoint), pairs)
            loopback = _measure(_profile(state), pairs)
        finally:
            local_stack.down(Path(folder))
    return [
        _entry("game_fetch_validate", relayed, TARGET),
        _entry("game_fetch_validate_loopback", loopback, None),  # report only: see the docstring
    ]


def _entry(name: str, rates: tuple[float, float], target: float | None) -> dict:
    sequential, pooled = rates
    return {
        "name": name,
        "value": pooled,
        "unit": "games/s",
        "baseline": sequential,
        "ratio": pooled / sequential,
        "target": target,
        "better": "higher",
    }


def _profile(state: dict, blob_endpoint: str | None = None):
    from iglu_lib.config import load_profile

    if blob_endpoint:
        connection = state["azure_storage_connection_string"].replace(
            state["azure_blob_endpoint"], blob_endpoint
        )
        state = {**state, "azure_storage_connection_string": connection}
    return load_profile("local", stack_state=state)


def _measure(profile, pairs: list[tuple[str, str]]) -> tuple[float, float]:
    from concurrent.futures import ThreadPoolExecutor

    from iglu_lib.platform.client import GameDataClient
    from iglu_lib.platform.validation import Thresholds, validate_assignment

    thresholds = Thresholds()

    def judge(client: GameDataClient, code: str, join: str) -> str:
        return validate_assignment([client.fetch(code, join)], thresholds).verdict

    def one_by_one() -> None:
        client = GameDataClient.open(profile)
        for code, join in pairs:
            judge(client, code, join)

    def pooled() -> None:
        client = GameDataClient.open(profile, pool_size=WORKERS)
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(lambda pair: judge(client, *pair), pairs))

    judge(GameDataClient.open(profile), *pairs[0])  # load the language model, open connections
    rates: dict[str, list[float]] = {"one_by_one": [], "pooled": []}
    for round_number in range(ROUNDS):
        order = [("one_by_one", one_by_one), ("pooled", pooled)]
        for name, work in order if round_number % 2 == 0 else reversed(order):
            rates[name].append(len(pairs) / _seconds(work))
    return statistics.median(rates["one_by_one"]), statistics.median(rates["pooled"])


def _play_games(profile) -> list[tuple[str, str]]:
    from iglu_lib.encoding import encode_task
    from iglu_lib.tasks import load_sample

    simulator = profile.backend.rehearsal().platform(tournament_id="bench-game-fetch-validate")
    tasks = {
        f"task-{i}": encode_task(
            t, name=f"task-{i}", architect_role_id="architect", builder_role_id="builder"
        )
        for i, t in enumerate(load_sample()[:8])
    }
    task_ids = list(simulator.upload_tasks(tasks).values())
    instances = simulator.register_agent("Bench", 4, 0.7)
    pairs = []
    for number in range(GAMES):
        instance = instances[number % len(instances)]["agent_instance_id"]
        join = simulator.join_code(task_ids[number % len(task_ids)], instance)
        pairs.append((simulator.play(join, "diligent", seed=number), join))
    return pairs


def _seconds(work: Callable[[], None]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


@contextmanager
def _relay(endpoint: str, delay: float) -> Iterator[str]:
    """A loopback TCP relay to `endpoint` that holds every request chunk for `delay` seconds."""
    host_port, _, path = endpoint.removeprefix("http://").partition("/")
    host, port = host_port.split(":")
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def pipe(source: socket.socket, sink: socket.socket, hold: float) -> None:
        with source, sink:
            while chunk := _receive(source):
                time.sleep(hold)
                sink.sendall(chunk)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((host, int(port)))
            threading.Thread(target=pipe, args=(client, upstream, delay), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client, 0.0), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/{path}"
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


def _receive(connection: socket.socket) -> bytes:
    try:
        return connection.recv(65536)
    except OSError:
        return b""
