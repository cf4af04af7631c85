"""Backends: where a profile's clients come from, and whether it has a rehearsal side.

A profile names its backend (`backend:` in its file). The backend builds the clients every
service takes (MTurk, S3, Azure blobs and tables) from the profile's typed settings and the
secrets of the environment, and answers the few questions that differ between real services
and the local stack (HTTPS required? which worker sites may receive a submission?).

Two backends exist: `cloud` (AWS + Azure, defined here) and `local` (the emulators of
`iglu stack up`), which lives in `iglu_lib.local.backend` and is registered through the
package entry point group `iglu_lib.backends` (see pyproject.toml), so nothing outside
`iglu_lib.local` imports the local stack. Only the local backend reads the stack's state.

Simulation (a rehearsal crowd, the platform simulator, generated logs) is reached only
through `backend.rehearsal()`; a real backend has none and refuses with `NoRehearsal`, the
one refusal policy for "simulated work must never reach a real campaign".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, ClassVar

from iglu_lib.errors import IgluError
from iglu_lib.settings import ConfigError

if TYPE_CHECKING:
    from azure.data.tables import TableServiceClient
    from azure.storage.blob import BlobServiceClient

    from iglu_lib.settings import ProlificSettings, Settings

#: Entry point group under which packages register backends (`name = "module:Class"`).
ENTRY_POINT_GROUP = "iglu_lib.backends"

#: Secret variables, what they are for, and which profiles need them from the environment.
SECRETS: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "AWS access key for MTurk and S3 (sandbox, production)",
    "AWS_SECRET_ACCESS_KEY": "AWS secret key for MTurk and S3 (sandbox, production)",
    "AZURE_STORAGE_CONNECTION_STRING": "Azure Storage connection string for game data and records (sandbox, production)",
    "IGLU_WORKER_ID_SALT": "salt of the keyed pseudonyms that replace worker ids in exports (all profiles; local falls back to the stack's)",
    "PROLIFIC_TOKEN": "Prolific researcher API token (profiles that run studies on Prolific; local uses the stack's emulator token)",
}

#: The Azure SDK's own retry policy for storage calls (exponential backoff on connection
#: failures, timeouts, 408, 429 and 5xx): a few tries over about 10 seconds, then the error
#: reaches the caller, which for the campaign loop means "try again next turn".
STORAGE_RETRY: dict[str, Any] = {
    "retry_total": 4,
    "retry_connect": 4,
    "retry_read": 4,
    "retry_status": 4,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 8,
    "connection_timeout": 10,
    "read_timeout": 60,
}

#: Secrets the cloud backend needs from the environment or `.env`.
CLOUD_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_CONNECTION_STRING",
                 "IGLU_WORKER_ID_SALT")

#: Where MTurk's `turkSubmitTo` may point for real workers.
MTURK_WORKER_SITES = ("https://www.mturk.com", "https://workersandbox.mturk.com")


class NoRehearsal(IgluError):
    """Simulated work was asked for on a backend that talks to real services."""


class Backend(ABC):
    """Builds a profile's clients. Constructing one does no I/O; clients are made on request."""

    #: The name profiles use in `backend:`.
    name: ClassVar[str]
    #: True when the clients reach real services, real money and real people.
    real_services: ClassVar[bool] = True

    def __init__(self, settings: Settings, env: Mapping[str, str]) -> None:
        self.settings = settings
        self.env = env

    # -- what differs between backends --------------------------------------------------------
    @abstractmethod
    def endpoint(self, service: str) -> str | None:
        """Endpoint URL of `mturk` or `s3` (None means the AWS default for the region)."""

    @abstractmethod
    def aws_credentials(self) -> dict[str, str]:
        """`aws_access_key_id` and `aws_secret_access_key` for boto3."""

    @abstractmethod
    def azure_connection_string(self) -> str:
        """The Azure Storage connection string of blobs and tables."""

    @abstractmethod
    def worker_id_salt(self) -> str:
        """The salt of the keyed pseudonyms that replace worker ids in exports."""

    @abstractmethod
    def check_credentials(self) -> tuple[bool, str]:
        """Whether the credentials are there (not whether they work), as a preflight line."""

    @abstractmethod
    def money(self) -> str:
        """What kind of money this backend's calls spend, in words for a person to confirm."""

    def rehearsal(self, advice: str | None = None) -> Any:
        """The simulated crowd and platform; a real backend has none and refuses. `advice` ends
        the refusal's sentence (e.g. "use the local profile")."""
        hint = f"; {advice}" if advice else ""
        raise NoRehearsal(f"profile '{self.settings.name}' runs against real services; simulated work (crowd, "
                          f"platform, generated logs) exists only in the local profile{hint}")

    def campaign_crowd(self, overrides: Mapping[str, Any] | None = None,
                       params: Any = None) -> AbstractContextManager[Any]:
        """Who works a campaign's HITs beside the loop: on a real backend, people (nothing to
        start here); the local backend starts the simulated crowd its profile's `rehearsal`
        section describes (`overrides` change that section for one run) for the crowd service
        the campaign's `params` name (`provider`)."""
        return nullcontext()

    @property
    def requires_https(self) -> bool:
        """MTurk shows external pages only over HTTPS; the local server takes plain HTTP."""
        return self.real_services

    def crowd_script_url(self) -> str | None:
        """Where pages load the crowd-form script from (None: MTurk's CDN)."""
        return None

    def worker_submit_origins(self) -> list[str]:
        """Where the platform's `turkSubmitTo` may point."""
        return list(MTURK_WORKER_SITES)

    def shown(self) -> dict[str, Any]:
        """What `iglu config show` adds for this backend: resolved endpoints, notes on secrets."""
        return {}

    # -- shared -----------------------------------------------------------------------------
    def secret(self, variable: str) -> str:
        """A secret from the environment or `.env`; the error names the variable and profile."""
        value = self.env.get(variable)
        if not value:
            purpose = SECRETS.get(variable, "a secret")
            raise ConfigError(
                f"profile '{self.settings.name}' needs {variable} ({purpose}); set it in the environment "
                "or in .env (see .env.example)"
            )
        return value

    def boto3_client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for `mturk` or `s3` at this backend's endpoint (no call is made)."""
        import boto3

        return boto3.client(service, region_name=self.settings.region, endpoint_url=self.endpoint(service),
                            **self.aws_credentials(), **kwargs)

    def mturk_client(self, **kwargs: Any) -> Any:
        return self.boto3_client("mturk", **kwargs)

    def s3_client(self, **kwargs: Any) -> Any:
        return self.boto3_client("s3", **kwargs)

    # -- Prolific (the local backend points these at the stack's emulator; the client itself
    # is made by `iglu_lib.prolific.client.ProlificClient.open`, as boto3 makes MTurk's) -------
    def prolific_settings(self) -> ProlificSettings:
        """The profile's `prolific:` section (defaults when it has none)."""
        from iglu_lib.settings import parse_prolific

        return parse_prolific(self.settings.path, self.settings.document)

    def prolific_base_url(self) -> str:
        return self.prolific_settings().base_url

    def prolific_token(self) -> str:
        """The researcher API token, from `PROLIFIC_TOKEN` in the environment or `.env`."""
        return self.secret("PROLIFIC_TOKEN")

    def blob_service(self, *, retry: bool = True, **kwargs: Any) -> BlobServiceClient:
        """An Azure `BlobServiceClient`, retrying as `STORAGE_RETRY` (`retry=False`: the SDK's
        defaults; `kwargs` go to the SDK, e.g. a transport)."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.azure_connection_string(),
                                                        **{**(STORAGE_RETRY if retry else {}), **kwargs})

    def table_service(self, **kwargs: Any) -> TableServiceClient:
        from azure.data.tables import TableServiceClient

        return TableServiceClient.from_connection_string(self.azure_connection_string(),
                                                         **{**STORAGE_RETRY, **kwargs})


class CloudBackend(Backend):
    """Real MTurk and S3 (AWS) and Azure Storage; every secret from the environment or `.env`."""

    name = "cloud"

    def endpoint(self, service: str) -> str | None:
        return getattr(self.settings.endpoints, service)

    def aws_credentials(self) -> dict[str, str]:
        return {
            "aws_access_key_id": self.secret("AWS_ACCESS_KEY_ID"),
            "aws_secret_access_key": self.secret("AWS_SECRET_ACCESS_KEY"),
        }

    def azure_connection_string(self) -> str:
        return self.secret("AZURE_STORAGE_CONNECTION_STRING")

    def worker_id_salt(self) -> str:
        return self.secret("IGLU_WORKER_ID_SALT")

    def check_credentials(self) -> tuple[bool, str]:
        missing = [name for name in CLOUD_SECRETS if not self.env.get(name)]
        if missing:
            return False, (f"{', '.join(missing)} not set; put them in the environment or .env "
                           "(see .env.example), never in a parameter file")
        return True, f"{', '.join(CLOUD_SECRETS)} are set"

    def money(self) -> str:
        if "sandbox" in str(self.endpoint("mturk")):
            return "sandbox (no real money)"
        return "REAL money on MTurk production"


#: Backends defined in this module; others come from the entry point group.
BUILT_IN: dict[str, type[Backend]] = {CloudBackend.name: CloudBackend}


def registry() -> dict[str, type[Backend]]:
    """Every known backend by name: the built-in ones and those registered by entry points
    (loaded only when asked for, so `import iglu_lib` never imports the local stack)."""
    from importlib.metadata import entry_points

    found: dict[str, Any] = dict(BUILT_IN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry)
    return found


def backend_class(name: str) -> type[Backend]:
    known = registry()
    if name not in known:
        raise ConfigError(f"unknown backend '{name}' (known: {', '.join(sorted(known))}); the local one is "
                          "registered when the package is installed (`make setup`)")
    found = known[name]
    return found if isinstance(found, type) else found.load()


def create_backend(settings: Settings, env: Mapping[str, str], **options: Any) -> Backend:
    """The backend the settings name, built without I/O; `options` go to its constructor
    (the local backend takes `stack_dir` and `stack_state`)."""
    return backend_class(settings.backend)(settings, env, **options)
