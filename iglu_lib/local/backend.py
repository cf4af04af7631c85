"""The local backend: clients of the running stack's emulators, and the rehearsal side.

Registered as backend `local` through the package entry point group `iglu_lib.backends`
(pyproject.toml). It alone reads the stack's state file (endpoints, emulator credentials, the
stack's worker-id salt), on first use, so building a profile does no I/O. `rehearsal()` gives
the simulated crowd, simulated crowd-task workers, the platform simulator and generated
interaction logs, each working against this stack only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from iglu_lib.backends import Backend
from iglu_lib.settings import ConfigError

if TYPE_CHECKING:
    from iglu_lib.local.platform.simulator import PlatformSimulator
    from iglu_lib.local.prolific_crowd import SimulatedProlificCrowd
    from iglu_lib.local.rehearsal_settings import CrowdRehearsal
    from iglu_lib.local.workers import SimulatedCrowd
    from iglu_lib.settings import Settings


class CrowdOf(Protocol):
    """What the rehearsal reads of a campaign's parameters to know which crowd works it."""

    campaign: str
    provider: str
    study_url: str | None

#: Local emulators accept any AWS credentials; these are placeholders, not secrets.
LOCAL_AWS_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


class LocalBackend(Backend):
    """The emulators of `iglu stack up` (Azurite, moto's S3 server, the local MTurk server).

    `stack_dir` is the stack's folder (default: `IGLU_STACK_DIR` of the profile's environment,
    else `paths.stack_dir()`); `stack_state` replaces reading its state file (tests)."""

    name = "local"
    real_services = False

    def __init__(self, settings: Settings, env: Mapping[str, str], *, stack_dir: str | Path | None = None,
                 stack_state: Mapping[str, Any] | None = None) -> None:
        super().__init__(settings, env)
        self._stack_dir = Path(stack_dir) if stack_dir else None
        self._state = stack_state

    @property
    def stack_dir(self) -> Path:
        from iglu_lib import paths

        configured = self._stack_dir or self.env.get("IGLU_STACK_DIR")
        return Path(configured) if configured else paths.stack_dir()

    @property
    def stack_state(self) -> Mapping[str, Any] | None:
        """The running stack's state, read once (None when no stack was started)."""
        if self._state is None:
            from iglu_lib.local.stack import read_state

            self._state = read_state(self.stack_dir)
        return self._state

    def _stack_value(self, key: str) -> str:
        state = self.stack_state
        if state is None:
            raise ConfigError(
                f"profile '{self.settings.name}' takes its endpoints from the local stack, which is not running; "
                "start it with `iglu stack up`"
            )
        if key not in state:
            raise ConfigError(f"the local stack has no '{key}'; restart it with `iglu stack down && iglu stack up`")
        return state[key]

    def endpoint(self, service: str) -> str | None:
        return self._stack_value(f"{service}_endpoint_url")

    def prolific_token(self) -> str:
        """The local Prolific emulator's API token (made once per stack, like its salt); a real
        `PROLIFIC_TOKEN` in `.env` is never sent to the emulator, which would refuse it anyway."""
        return self._stack_value("prolific_token")

    def prolific_base_url(self) -> str:
        """The stack's Prolific emulator (the profile's `prolific.base_url` is for real profiles)."""
        return self._stack_value("prolific_endpoint_url").rstrip("/")

    def aws_credentials(self) -> dict[str, str]:
        return dict(LOCAL_AWS_CREDENTIALS)

    def azure_connection_string(self) -> str:
        return self.env.get("AZURE_STORAGE_CONNECTION_STRING") or self._stack_value("azure_storage_connection_string")

    def worker_id_salt(self) -> str:
        return self.env.get("IGLU_WORKER_ID_SALT") or self._stack_value("worker_id_salt")

    def check_credentials(self) -> tuple[bool, str]:
        self.endpoint("mturk")
        self.azure_connection_string()  # from the running stack
        self.worker_id_salt()
        return True, "the local stack is running and provides its emulator credentials"

    def money(self) -> str:
        return "play money on the local stack"

    def crowd_script_url(self) -> str | None:
        return f"{str(self.endpoint('mturk')).rstrip('/')}/_local/static/crowd-html-elements.js"

    def worker_submit_origins(self) -> list[str]:
        parts = urlsplit(str(self.endpoint("mturk")))
        return [f"{parts.scheme}://{parts.netloc}"]

    def shown(self) -> dict[str, Any]:
        state = self.stack_state or {}
        endpoints = {"mturk": state.get("mturk_endpoint_url"), "s3": state.get("s3_endpoint_url")} if state else None
        return {"endpoints": endpoints, "secret_notes": {
            "AZURE_STORAGE_CONNECTION_STRING": " (local: from the stack when not set)",
            "IGLU_WORKER_ID_SALT": " (local: from the stack when not set)",
            "PROLIFIC_TOKEN": " (local: not used; the stack's emulator has its own token)",
        }}

    def rehearsal(self, advice: str | None = None) -> LocalRehearsal:
        return LocalRehearsal(self)

    def campaign_crowd(self, overrides: Mapping[str, Any] | None = None,
                       params: CrowdOf | None = None) -> AbstractContextManager[Any]:
        """The simulated crowd of the profile's `rehearsal` section, working while the block runs
        (nothing when the section says `crowd: false`): workers on the local MTurk server, or,
        for a campaign whose `params` say `provider: prolific`, participants on the Prolific
        emulator with the study page (`iglu crowd serve`) at the campaign's `study_url`."""
        from iglu_lib.local.rehearsal_settings import crowd_rehearsal

        crowd = crowd_rehearsal(self.settings.path, self.settings.document, overrides)
        if not crowd.crowd:
            return nullcontext()
        if params is not None and params.provider == "prolific":
            return self.rehearsal().participants_beside(params, crowd)
        return self.rehearsal().crowd_beside(crowd.folder(), size=crowd.size, mix=crowd.mix, seed=crowd.seed,
                                             first_shown_bias=crowd.first_shown_bias, tie_margin=crowd.tie_margin)


class LocalRehearsal:
    """Simulated work on the local stack: what tests, the demo and local notebooks rehearse with."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend

    @property
    def mturk_endpoint(self) -> str:
        return str(self.backend.endpoint("mturk"))

    def platform(self, **options: Any) -> PlatformSimulator:
        """A platform simulator writing into this stack's containers (`options`: tournament, challenge)."""
        from iglu_lib.local.platform.simulator import PlatformSimulator

        return PlatformSimulator(self.backend.settings.storage, self.backend.blob_service(), **options)

    def crowd(self, platform_dir: str | Path, *, size: int, mix: Mapping[str, float], seed: int = 0,
              first_shown_bias: float = 0.3, tie_margin: float = 0.0) -> SimulatedCrowd:
        """A started rehearsal crowd, from the files the simulated platform step wrote; workers
        answer a tie when their two games felt within `tie_margin`."""
        from iglu_lib.local.workers import rehearsal_crowd

        return rehearsal_crowd(self.mturk_endpoint, self.platform(), str(platform_dir), size=size, mix=mix,
                               seed=seed, first_shown_bias=first_shown_bias, tie_margin=tie_margin)

    @contextmanager
    def crowd_beside(self, platform_dir: str | Path, **options: Any) -> Iterator[SimulatedCrowd]:
        """A rehearsal crowd working while the block runs, stopped afterwards whatever happens."""
        crowd = self.crowd(platform_dir, **options)
        try:
            yield crowd
        finally:
            crowd.stop()

    @contextmanager
    def participants_beside(self, params: CrowdOf, crowd: CrowdRehearsal) -> Iterator[SimulatedProlificCrowd]:
        """The study page and the profile's simulated Prolific participants (`crowd.prolific`),
        taking the campaign's study only, while the block runs; both stopped afterwards."""
        from iglu_lib.local.prolific_crowd import prolific_rehearsal_crowd
        from iglu_lib.local.rehearsal_study_page import study_page

        if not params.study_url:
            raise ConfigError(f"campaign {params.campaign} runs on Prolific: its rehearsal needs study_url, the "
                              "loopback address the study page is served at (e.g. http://127.0.0.1:8790)")
        with study_page(params.study_url, profile=self.backend.settings.name, stack_dir=self.backend.stack_dir):
            participants = prolific_rehearsal_crowd(
                self.backend.prolific_base_url(), self.platform(), str(crowd.folder()), size=crowd.prolific.size,
                mix=crowd.prolific.mix, studies=[f"{params.campaign}:study"], seed=crowd.seed,
                first_shown_bias=crowd.first_shown_bias, tie_margin=crowd.tie_margin)
            try:
                yield participants
            finally:
                participants.stop()

    def simulate_workers(self, hits: list[Mapping[str, Any]], workers: list[Mapping[str, Any]],
                         progress: bool = True) -> list[Any]:
        """Simulated crowd-task workers (`workers` as for `plans_from_parameters`) work `hits`."""
        from iglu_lib.local.crowd_workers import plans_from_parameters, simulate

        return simulate(self.mturk_endpoint, plans_from_parameters(workers), hits, progress=progress)

    @staticmethod
    def outcomes_frame(outcomes: list[Any]) -> Any:
        """Simulated workers' outcomes as a DataFrame, one row per worker."""
        from iglu_lib.local.crowd_workers import outcomes_frame

        return outcomes_frame(outcomes)

    def simulate_games(self, **options: Any) -> list[tuple[str, str]]:
        """Games played on the simulated platform (`options` as for `simulate_games`)."""
        from iglu_lib.local.platform.rehearsal import simulate_games

        tournament = options.pop("tournament_id", "rehearsal")
        return simulate_games(self.platform(tournament_id=tournament), **options)

    def fill_bucket(self, bucket: str, *, prefix: str = "turk_logs/", batches: int = 2, logs_per_batch: int = 4,
                    rows_per_log: int = 30, seed: int = 0, progress: bool = False) -> Any:
        """Upload a generated interaction-log corpus under `prefix` of this stack's `bucket`;
        returns what was injected (`CorpusTruth`)."""
        from iglu_lib.local.droidlet_logs import CorpusSpec

        spec = CorpusSpec(batches=batches, logs_per_batch=logs_per_batch, rows_per_log=rows_per_log,
                          seed=seed, prefix=prefix.strip("/") or "turk_logs")
        return self.upload_logs(bucket, spec, progress=progress)

    def upload_logs(self, bucket: str, spec: Any, *, progress: bool = False) -> Any:
        """Upload the generated corpus of `spec` (`CorpusSpec`) to this stack's `bucket`."""
        from iglu_lib.local.droidlet_logs import upload_corpus

        return upload_corpus(self.backend.s3_client(), bucket, spec, progress=progress)
