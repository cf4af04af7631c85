"""A simulated crowd for rehearsals: workers who take HITs on the local MTurk server, play the
games through the platform simulator, and answer as people do, misbehaviour included.

Each worker has a behaviour (diligent, lazy, pastes a worker id, reuses a code, swaps the two
codes, writes in another language, abandons the HIT) and the figures the qualification
checks read (approval rate, approved HITs, locale). Which agent a worker prefers follows the
agents' true skill with noise and a bias towards the agent shown first, so that a rehearsal
can check whether a campaign recovers the true order. Where the page offers ties and the two
games felt about as good (`tie_margin`), a worker answers "both equally good" or "both bad"
(more likely "both good" the better the two agents are).
"""

from __future__ import annotations

import html.parser
import json
import math
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iglu_lib.errors import ParameterError
from iglu_lib.local.mturk.control_client import LocalMTurkControl, WorkerRefused
from iglu_lib.local.platform.codes import decode_completion_code, read_join_code

#: The values a HIT page's `best_agent` radios carry for its two ties, as a worker reads them off
#: the page (the pages' own names; kept here, not imported from the client's answer reader, so the
#: simulated crowd reads pages with its own eyes; a test checks they match the client's).
BOTH_GOOD = "both_good_option"
BOTH_BAD = "both_bad_option"
TIE_OPTIONS = (BOTH_GOOD, BOTH_BAD)

#: What a worker does to the codes the games showed: (worker, codes, join codes) -> codes pasted.
CodeTwist = Callable[["WorkerState", list[str], list[str]], list[str]]
#: Which join codes a worker actually plays: join codes shown -> join codes played.
PlayTwist = Callable[[list[str]], list[str]]


@dataclass
class WorkerState:
    """What a simulated worker remembers between HITs."""

    worker_id: str
    behaviour: str
    past_codes: list[str] = field(default_factory=list)
    blocked: bool = False
    hits_done: int = 0


def _honest(state: WorkerState, codes: list[str], join_codes: list[str]) -> list[str]:
    return codes


def _paste_worker_id(state: WorkerState, codes: list[str], join_codes: list[str]) -> list[str]:
    return [state.worker_id, *codes[1:]]


def _reuse_code(state: WorkerState, codes: list[str], join_codes: list[str]) -> list[str]:
    return [state.past_codes[-1], *codes[1:]] if state.past_codes else codes


def _swap_codes(state: WorkerState, codes: list[str], join_codes: list[str]) -> list[str]:
    return [codes[1], codes[0], *codes[2:]] if len(codes) > 1 else codes


def _rewritten(code: str, **changes: Any) -> str:
    """A completion code with some fields rewritten (it is only gzip and base64)."""
    from dataclasses import replace

    return replace(decode_completion_code(code), **changes).encoded()


def _forge_agent(state: WorkerState, codes: list[str], join_codes: list[str]) -> list[str]:
    """Claim the games of the first agent (played every time) as games of the agents shown."""
    return [codes[0], *(_rewritten(code, agent_service_id=read_join_code(join).agent_instance_id)
                        for code, join in zip(codes[1:], join_codes[1:], strict=True))]


def _reuse_games(state: WorkerState, codes: list[str], join_codes: list[str]) -> list[str]:
    """Submit the games of an earlier HIT again, with a trailing space (another code string)."""
    if len(state.past_codes) < len(codes):
        return codes
    return [f"{code} " for code in state.past_codes[-len(codes):]]


def _malformed_code(state: WorkerState, codes: list[str], join_codes: list[str]) -> list[str]:
    """A code whose game field climbs out of the game-data folder (`x/../<game id>`)."""
    game_id = decode_completion_code(codes[0]).game_id
    return [_rewritten(codes[0], game_id=f"x/../{game_id}"), *codes[1:]]


def _first_only(join_codes: list[str]) -> list[str]:
    return [join_codes[0]] * len(join_codes)


def _oversized(answers: dict[str, Any]) -> dict[str, Any]:
    """Feedback longer than a table cell holds (70,000 characters)."""
    field = next((name for name in answers if name.endswith("performance")), "agent_performance")
    return {**answers, field: ("It built the structure well. " * 2500)[:70_000]}


def _same_answers(answers: dict[str, Any]) -> dict[str, Any]:
    return answers


@dataclass(frozen=True)
class Behaviour:
    """How a kind of worker plays (the simulator's architect profile) and answers."""

    name: str
    architect: str
    twist: CodeTwist = _honest
    abandons: bool = False
    plays: PlayTwist = list
    answers: Callable[[dict[str, Any]], dict[str, Any]] = _same_answers


BEHAVIOURS: dict[str, Behaviour] = {
    b.name: b
    for b in (
        Behaviour("diligent", "diligent"),
        Behaviour("lazy", "lazy"),
        Behaviour("pastes_worker_id", "diligent", _paste_worker_id),
        Behaviour("reuses_code", "diligent", _reuse_code),
        Behaviour("swaps_codes", "diligent", _swap_codes),
        Behaviour("other_language", "non_english"),
        Behaviour("abandons", "diligent", abandons=True),
        # hostile workers: each tries to have a forged or reused game counted, or to stop the loop
        Behaviour("forges_agent", "diligent", _forge_agent, plays=_first_only),
        Behaviour("reuses_games", "diligent", _reuse_games),
        Behaviour("malformed_code", "diligent", _malformed_code),
        Behaviour("oversized_answer", "diligent", answers=_oversized),
    )
}
#: The behaviours that attack the campaign rather than merely do poor work.
HOSTILE = ("forges_agent", "reuses_games", "malformed_code", "oversized_answer")

#: Seconds of a rehearsal game per second of a real one: a game of a few minutes takes tens of
#: milliseconds, so a simulated worker's games fall inside the assignment it holds.
GAME_TIME_SCALE = 0.0002

PRAISE = (
    "It followed my instructions well and built the structure almost exactly.",
    "The assistant understood what I asked and placed the blocks in the right spots.",
)
CRITICISM = (
    "It misunderstood several instructions and placed blocks in the wrong places.",
    "The assistant barely built anything and ignored most of what I said.",
)


class _HiddenInputs(html.parser.HTMLParser):
    """Collects the hidden inputs of a HIT page (where the join codes are), and the values of its
    `best_agent` radios (which ties it offers)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.best_agent: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.values[found["name"] or ""] = found.get("value") or ""
        if tag == "input" and found.get("type") == "radio" and found.get("name") == "best_agent":
            self.best_agent.append(found.get("value") or "")


def ties_offered(page: str) -> tuple[str, ...]:
    """The tie answers (`both_good_option`, `both_bad_option`) a HIT page offers."""
    parser = _HiddenInputs()
    parser.feed(page)
    return tuple(option for option in TIE_OPTIONS if option in parser.best_agent)


def join_codes_of(page: str) -> list[str]:
    """The join codes a HIT page shows, in shown order (`joinCode`, or `joinCode1..k`)."""
    parser = _HiddenInputs()
    parser.feed(page)
    if "joinCode" in parser.values:
        return [parser.values["joinCode"]]
    numbered = sorted((int(name[8:]), value) for name, value in parser.values.items()
                      if name.startswith("joinCode") and name[8:].isdigit())
    return [value for _, value in numbered]


def mixed_crowd(size: int, mix: Mapping[str, float], seed: int = 0) -> list[WorkerState]:
    """`size` workers whose behaviours follow the fractions of `mix` (the rest diligent)."""
    unknown = sorted(set(mix) - set(BEHAVIOURS))
    if unknown:
        raise ParameterError(f"unknown worker behaviour(s) {', '.join(unknown)}; known: {', '.join(BEHAVIOURS)}")
    behaviours = [name for name, share in mix.items() for _ in range(round(share * size))]
    behaviours = (behaviours + ["diligent"] * size)[:size]
    random.Random(seed).shuffle(behaviours)
    return [WorkerState(f"ASIM{seed:02d}{i:06d}", b) for i, b in enumerate(behaviours)]


class SimulatedCrowd:
    """Workers acting on the local MTurk server's worker API, playing through the simulator."""

    def __init__(
        self,
        mturk_url: str,
        simulator: Any,
        workers: Sequence[WorkerState],
        *,
        skill_of_instance: Mapping[str, float],
        first_shown_bias: float = 0.3,
        temperature: float = 0.25,
        tie_margin: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.control = LocalMTurkControl(mturk_url)
        self.simulator = simulator
        self.workers = list(workers)
        self.skill_of_instance = dict(skill_of_instance)
        self.first_shown_bias = first_shown_bias
        self.temperature = temperature
        #: Two games whose felt utilities differ by less than this are a tie, where the page offers one.
        self.tie_margin = tie_margin
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []
        self._register(self.workers)

    def _register(self, workers: Sequence[WorkerState]) -> None:
        """Give each worker the figures the qualification checks read."""
        for worker in workers:
            self.control.set_worker(worker.worker_id, approval_rate=98, approved_hits=500)

    def now(self) -> float:
        """The crowd service's clock (the games are played on it)."""
        return self.control.now()

    @classmethod
    def for_agents(cls, mturk_url: str, simulator: Any, agent_instances: Mapping[str, Sequence[Mapping[str, str]]],
                   skills: Mapping[str, float], *, size: int, mix: Mapping[str, float], seed: int = 0,
                   **options: Any) -> SimulatedCrowd:
        """A crowd of `size` workers mixed as `mix`, judging agents by their true `skills`."""
        skill_of_instance = {
            entry["agent_instance_id"]: float(skills[agent])
            for agent, entries in agent_instances.items() for entry in entries
        }
        return cls(mturk_url, simulator, mixed_crowd(size, mix, seed), skill_of_instance=skill_of_instance,
                   seed=seed, **options)

    # -- running ----------------------------------------------------------------------------
    def step(self) -> int:
        """Each worker (in random order) takes and works at most one HIT; returns HITs submitted."""
        submitted = 0
        for worker in self.rng.sample(self.workers, len(self.workers)):
            if self._stop.is_set():
                break
            if not worker.blocked and self._work_one(worker):
                submitted += 1
        return submitted

    def start(self, pause_seconds: float = 0.1) -> None:
        """Work in a background thread until `stop()` (what a notebook does beside the loop)."""
        def work() -> None:
            while not self._stop.is_set():
                try:
                    if not self.step():
                        self._stop.wait(pause_seconds)
                except Exception as err:  # noqa: BLE001 - a crowd keeps going; errors are kept
                    self.errors.append(f"{type(err).__name__}: {err}")
                    self._stop.wait(pause_seconds)

        self._stop.clear()
        self._thread = threading.Thread(target=work, name="simulated-crowd", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)

    # -- one HIT ----------------------------------------------------------------------------
    def _work_one(self, worker: WorkerState) -> bool:
        hits = self.control.worker_hits(worker.worker_id)
        if not hits:
            return False
        hit = self.rng.choice(hits)
        try:
            accepted = self.control.accept(hit["hit_id"], worker.worker_id)
        except WorkerRefused as refused:
            worker.blocked = refused.code == "WorkerBlocked"
            return False
        behaviour = BEHAVIOURS[worker.behaviour]
        if behaviour.abandons and self.rng.random() < 0.5:
            self.control.return_assignment(accepted["assignment_id"])
            return False
        page = accepted["question"].get("html", "")
        join_codes = join_codes_of(page)
        try:
            honest = self._play(worker, behaviour, join_codes)
        except Exception:
            self.control.return_assignment(accepted["assignment_id"])  # could not play: give it back
            raise
        codes = behaviour.twist(worker, list(honest), join_codes)
        worker.past_codes.extend(honest)
        worker.hits_done += 1
        answers = behaviour.answers(self._answers(join_codes, codes, ties_offered(page)))
        self.control.submit(accepted["assignment_id"], {"taskAnswers": json.dumps([answers])})
        return True

    def _play(self, worker: WorkerState, behaviour: Behaviour, join_codes: list[str]) -> list[str]:
        """Play the games one after another from the moment of accepting, on the server's clock,
        time-compressed so that they end before the worker submits (the loop checks that)."""
        from datetime import datetime, timedelta, timezone

        moment = datetime.fromtimestamp(self.now(), timezone.utc)
        codes = []
        for number, code in enumerate(behaviour.plays(list(join_codes))):
            codes.append(self.simulator.play(
                code, architect=behaviour.architect, seed=f"{worker.worker_id}:{worker.hits_done}:{number}",
                started_at=moment + timedelta(milliseconds=1 + 100 * number), seconds_per_event=GAME_TIME_SCALE))
        return codes

    def _answers(self, join_codes: list[str], codes: list[str], ties: Sequence[str] = ()) -> dict[str, Any]:
        skills = [self.skill_of_instance.get(read_join_code(code).agent_instance_id, 0.5)
                  for code in join_codes]
        if len(join_codes) == 1:
            rating = str(max(1, min(5, round(1 + 4 * skills[0] + self.rng.gauss(0, 0.5)))))
            return {"joinCode": join_codes[0], "completionCode": codes[0],
                    "agent_performance": self._comment(skills[0]),
                    "build_rating": rating, "understanding_rating": rating}
        best, tie = self._preferred(skills, ties)
        answers: dict[str, Any] = {}
        for number, (join_code, code, skill) in enumerate(zip(join_codes, codes, skills, strict=True), start=1):
            answers[f"joinCode{number}"] = join_code
            answers[f"completionCode{number}"] = code
            answers[f"agent{number}_performance"] = self._comment(skill)
        answers["best_agent"] = {f"agent{n}_option": tie is None and n - 1 == best
                                 for n in range(1, len(join_codes) + 1)}
        answers["best_agent"].update({option: option == tie for option in ties})  # as crowd-form sends a group
        return answers

    def _preferred(self, skills: Sequence[float], ties: Sequence[str] = ()) -> tuple[int, str | None]:
        """Which shown agent a person prefers: skill plus noise, and a pull towards the first shown;
        and the tie they answer instead (None: no tie) when two games felt within `tie_margin`
        and the page offers that tie (both good the more likely, the better the two agents)."""
        utilities = [
            skill / self.temperature + (self.first_shown_bias if i == 0 else 0.0)
            - math.log(-math.log(self.rng.random() or 1e-12))
            for i, skill in enumerate(skills)
        ]
        best = max(range(len(skills)), key=utilities.__getitem__)
        if len(skills) != 2 or not ties or abs(utilities[0] - utilities[1]) >= self.tie_margin:
            return best, None
        kind = BOTH_GOOD if self.rng.random() < sum(skills) / 2 else BOTH_BAD
        return best, kind if kind in ties else None

    def _comment(self, skill: float) -> str:
        return self.rng.choice(PRAISE if self.rng.random() < skill else CRITICISM)



def rehearsal_crowd(endpoint: str, platform: Any, platform_dir: str, *, size: int, mix: Mapping[str, float],
                    seed: int = 0, first_shown_bias: float = 0.3, tie_margin: float = 0.0) -> SimulatedCrowd:
    """The crowd of a rehearsal on the local MTurk server at `endpoint`, playing on `platform`
    (a `PlatformSimulator`), from the files the simulated platform step wrote
    (`agent_instances.json`, `true_skills.json`), working until stopped. Reached through
    `profile.backend.rehearsal().crowd(...)`."""
    from iglu_lib.local.rehearsal import EXPORT_FILES

    folder = Path(platform_dir)
    instances = json.loads((folder / EXPORT_FILES["agent_instances"]).read_text(encoding="utf-8"))
    skills = json.loads((folder / EXPORT_FILES["true_skills"]).read_text(encoding="utf-8"))
    crowd = SimulatedCrowd.for_agents(endpoint, platform,
                                      instances, skills, size=size, mix=mix, seed=seed,
                                      first_shown_bias=first_shown_bias, tie_margin=tie_margin)
    crowd.start()
    return crowd
