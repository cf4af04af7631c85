"""The registry of local services that `iglu stack` starts and stops.

Each service is one process listening on one loopback port. A later part of the workbench
(the local MTurk server, for instance) joins the stack by adding its `ServiceSpec` to
`SERVICES`; `stack.py` needs no change.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from iglu_lib import paths
from iglu_lib.errors import IgluError

AZURITE_ACCOUNT = "iglulocal"


class StackError(IgluError):
    """The stack cannot start or stop; the message says what to do."""


@dataclass(frozen=True)
class Launch:
    """What a service needs to know to start: its port, data folder and the stack's shared values."""

    host: str
    port: int
    data_dir: Path
    shared: dict[str, str]


@dataclass(frozen=True)
class ServiceSpec:
    """How to start one service, how to tell that it answers, and what it adds to the state."""

    name: str
    command: Callable[[Launch], list[str]]
    probe_path: str
    state_keys: Callable[[str, Launch], dict[str, str]] = lambda url, launch: {}
    environment: Callable[[Launch], dict[str, str]] = lambda launch: {}
    requires: Callable[[], None] = lambda: None
    extra: dict[str, str] = field(default_factory=dict)
    #: The signal on which the service saves its data and exits (`down` sends it first).
    stop_signal: int = signal.SIGTERM

    def url(self, host: str, port: int) -> str:
        return f"http://{host}:{port}"

    def answers(self, url: str, timeout: float = 2.0) -> bool:
        """True when the service answers a real HTTP request (any status is an answer)."""
        try:
            with urllib.request.urlopen(url + self.probe_path, timeout=timeout):
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            return False


def shared_values() -> dict[str, str]:
    """Values made once per stack: the emulator's account key and the local salt."""
    return {
        "azurite_account_key": base64.b64encode(secrets.token_bytes(64)).decode(),
        "worker_id_salt": secrets.token_hex(16),
        "prolific_token": secrets.token_urlsafe(32),
    }


def _azurite_binary(kind: str) -> str:
    binary = paths.project_root() / "node_modules" / ".bin" / f"azurite-{kind}"
    return str(binary)


def _require_azurite() -> None:
    if shutil.which("node") is None:
        raise StackError("node is not installed: install Node.js 18 or newer, then run `npm ci`")
    if not Path(_azurite_binary("blob")).exists():
        raise StackError("Azurite is not installed in node_modules: run `npm ci` (or `make setup`)")


def _azurite_command(kind: str) -> Callable[[Launch], list[str]]:
    def command(launch: Launch) -> list[str]:
        return [
            _azurite_binary(kind),
            f"--{kind}Host", launch.host,
            f"--{kind}Port", str(launch.port),
            "--location", str(launch.data_dir),
            "--silent",
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
            # No usage data leaves the machine, and no telemetry upload holds the process
            # for seconds after it closed on `down`.
            "--disableTelemetry",
        ]

    return command


def _azurite_environment(launch: Launch) -> dict[str, str]:
    return {"AZURITE_ACCOUNTS": f"{AZURITE_ACCOUNT}:{launch.shared['azurite_account_key']}"}


def _blob_state(url: str, launch: Launch) -> dict[str, str]:
    return {"azure_blob_endpoint": f"{url}/{AZURITE_ACCOUNT}"}


def _table_state(url: str, launch: Launch) -> dict[str, str]:
    return {"azure_table_endpoint": f"{url}/{AZURITE_ACCOUNT}"}


def _moto_command(launch: Launch) -> list[str]:
    return [sys.executable, "-m", "moto.server", "-H", launch.host, "-p", str(launch.port)]


def _s3_state(url: str, launch: Launch) -> dict[str, str]:
    return {"s3_endpoint_url": url}


def _mturk_command(launch: Launch) -> list[str]:
    return [
        sys.executable, "-m", "iglu_lib.local.mturk",
        "--host", launch.host, "--port", str(launch.port), "--data-dir", str(launch.data_dir),
    ]


def _mturk_state(url: str, launch: Launch) -> dict[str, str]:
    return {"mturk_endpoint_url": url}


def _prolific_command(launch: Launch) -> list[str]:
    return [
        sys.executable, "-m", "iglu_lib.local.prolific",
        "--host", launch.host, "--port", str(launch.port), "--data-dir", str(launch.data_dir),
    ]


def _prolific_environment(launch: Launch) -> dict[str, str]:
    """The emulator's API token travels in its environment, never on a command line."""
    return {"IGLU_PROLIFIC_TOKEN": launch.shared["prolific_token"]}


def _prolific_state(url: str, launch: Launch) -> dict[str, str]:
    return {"prolific_endpoint_url": url}


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        name="azurite-blob",
        command=_azurite_command("blob"),
        probe_path=f"/{AZURITE_ACCOUNT}?comp=list",
        state_keys=_blob_state,
        environment=_azurite_environment,
        requires=_require_azurite,
        # Azurite's table service saves its database on SIGINT only (SIGTERM kills it with up
        # to five seconds of writes unsaved); the blob service saves on either.
        stop_signal=signal.SIGINT,
    ),
    ServiceSpec(
        name="azurite-table",
        command=_azurite_command("table"),
        probe_path=f"/{AZURITE_ACCOUNT}/Tables",
        state_keys=_table_state,
        environment=_azurite_environment,
        requires=_require_azurite,
        # Azurite's table service saves its database on SIGINT only (SIGTERM kills it with up
        # to five seconds of writes unsaved); the blob service saves on either.
        stop_signal=signal.SIGINT,
    ),
    ServiceSpec(
        name="s3",
        command=_moto_command,
        probe_path="/moto-api/",
        state_keys=_s3_state,
    ),
    ServiceSpec(
        name="mturk",
        command=_mturk_command,
        probe_path="/_local/health",
        state_keys=_mturk_state,
    ),
    ServiceSpec(
        name="prolific",
        command=_prolific_command,
        probe_path="/_local/health",
        state_keys=_prolific_state,
        environment=_prolific_environment,
    ),
)


def azure_connection_string(state: dict[str, str]) -> str:
    """The connection string of the emulated storage account (blobs and tables)."""
    return (
        "DefaultEndpointsProtocol=http;"
        f"AccountName={AZURITE_ACCOUNT};"
        f"AccountKey={state['azurite_account_key']};"
        f"BlobEndpoint={state['azure_blob_endpoint']};"
        f"TableEndpoint={state['azure_table_endpoint']};"
    )
