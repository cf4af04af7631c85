"""Profiles (local, sandbox, production) and secrets.

A profile is a YAML file in `params/profiles/` holding everything that is not secret:
endpoints, container and table names, HIT settings. Secrets (AWS keys, the Azure
connection string, the salt for worker pseudonyms) come only from the environment or a
`.env` file at the project root, so that parameter files, executed notebooks and logs never
carry them. The local profile takes its endpoints, and its emulator credentials, from the
running stack's state file instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iglu_lib import paths
from iglu_lib.errors import IgluError

#: Secret variables, what they are for, and which profiles need them from the environment.
SECRETS: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "AWS access key for MTurk and S3 (sandbox, production)",
    "AWS_SECRET_ACCESS_KEY": "AWS secret key for MTurk and S3 (sandbox, production)",
    "AZURE_STORAGE_CONNECTION_STRING": "Azure Storage connection string for game data and records (sandbox, production)",
    "IGLU_WORKER_ID_SALT": "salt of the keyed pseudonyms that replace worker ids in exports (all profiles; local falls back to the stack's)",
}

#: Local emulators accept any AWS credentials; these are placeholders, not secrets.
LOCAL_AWS_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


class ConfigError(IgluError):
    """A profile, parameter file or secret is missing or malformed; the message says which."""


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


def profiles_dir() -> Path:
    return paths.params_dir() / "profiles"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.yaml"))


def read_yaml(path: Path) -> Any:
    """Read a YAML file, naming the file and the line when it is malformed."""
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{path}:{where} malformed YAML: {problem}; fix the file and retry") from None


def environment(root: Path | None = None) -> dict[str, str]:
    """The process environment over the values of `.env` (the environment wins)."""
    from dotenv import dotenv_values

    dotenv_file = (root or paths.project_root()) / ".env"
    values = {k: v for k, v in dotenv_values(dotenv_file).items() if v is not None} if dotenv_file.is_file() else {}
    values.update(os.environ)
    return values


def read_stack_state(state_dir: Path | None = None) -> dict[str, Any] | None:
    """The running local stack's state, or None when no stack was started."""
    state_file = (state_dir or paths.stack_dir()) / "state.json"
    if not state_file.is_file():
        return None
    return json.loads(state_file.read_text(encoding="utf-8"))


def mask(value: str) -> str:
    """Show that a secret is set without showing it."""
    return "****" if len(value) < 12 else f"{value[:2]}****{value[-2:]}"


@dataclass(frozen=True)
class Profile:
    """A resolved profile: settings from YAML, secrets looked up on demand from `env`."""

    name: str
    settings: Mapping[str, Any]
    env: Mapping[str, str] = field(repr=False)
    stack_state: Mapping[str, Any] | None = field(default=None, repr=False)

    # -- plain settings -------------------------------------------------------------
    def get(self, dotted: str, default: Any = None) -> Any:
        """A setting by dotted path (`hit.reward`)."""
        node: Any = self.settings
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    @property
    def is_local(self) -> bool:
        return self.settings.get("endpoints") == "stack"

    @property
    def region(self) -> str:
        return self.get("region", "us-east-1")

    @property
    def spend_money(self) -> bool:
        """False in production: calls that pay must then be allowed explicitly."""
        return bool(self.get("spend_money", False))

    def _stack_value(self, key: str) -> str:
        if self.stack_state is None:
            raise ConfigError(
                f"profile '{self.name}' takes its endpoints from the local stack, which is not running; "
                "start it with `iglu stack up`"
            )
        if key not in self.stack_state:
            raise ConfigError(f"the local stack has no '{key}'; restart it with `iglu stack down && iglu stack up`")
        return self.stack_state[key]

    def endpoint(self, service: str) -> str | None:
        """Endpoint URL of `mturk` or `s3` (None means the AWS default for the region)."""
        if self.is_local:
            return self._stack_value(f"{service}_endpoint_url")
        return self.get(f"endpoints.{service}")

    # -- secrets ----------------------------------------------------------------------
    def secret(self, variable: str) -> str:
        """A secret from the environment or `.env`; the error names the variable and profile."""
        value = self.env.get(variable)
        if not value:
            purpose = SECRETS.get(variable, "a secret")
            raise ConfigError(
                f"profile '{self.name}' needs {variable} ({purpose}); set it in the environment "
                "or in .env (see .env.example)"
            )
        return value

    def aws_credentials(self) -> dict[str, str]:
        if self.is_local:
            return dict(LOCAL_AWS_CREDENTIALS)
        return {
            "aws_access_key_id": self.secret("AWS_ACCESS_KEY_ID"),
            "aws_secret_access_key": self.secret("AWS_SECRET_ACCESS_KEY"),
        }

    def azure_connection_string(self) -> str:
        if self.is_local and not self.env.get("AZURE_STORAGE_CONNECTION_STRING"):
            return self._stack_value("azure_storage_connection_string")
        return self.secret("AZURE_STORAGE_CONNECTION_STRING")

    def worker_id_salt(self) -> str:
        if self.is_local and not self.env.get("IGLU_WORKER_ID_SALT"):
            return self._stack_value("worker_id_salt")
        return self.secret("IGLU_WORKER_ID_SALT")

    # -- clients ----------------------------------------------------------------------
    def boto3_client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for `mturk` or `s3` at this profile's endpoint."""
        import boto3

        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint(service),
            **self.aws_credentials(),
            **kwargs,
        )

    def blob_service_client(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.azure_connection_string(), **STORAGE_RETRY)

    def table_service_client(self) -> Any:
        from azure.data.tables import TableServiceClient

        return TableServiceClient.from_connection_string(self.azure_connection_string(), **STORAGE_RETRY)

    # -- display ----------------------------------------------------------------------
    def shown(self) -> dict[str, Any]:
        """The resolved configuration with every secret masked, for `iglu config show`."""
        resolved: dict[str, Any] = {"profile": self.name, **json.loads(json.dumps(self.settings))}
        if self.is_local and self.stack_state:
            resolved["endpoints"] = {
                "mturk": self.stack_state.get("mturk_endpoint_url"),
                "s3": self.stack_state.get("s3_endpoint_url"),
            }
        secrets = {}
        for variable in SECRETS:
            value = self.env.get(variable)
            secrets[variable] = mask(value) if value else "(not set)"
        if self.is_local:
            secrets["AZURE_STORAGE_CONNECTION_STRING"] += " (local: from the stack when not set)"
            secrets["IGLU_WORKER_ID_SALT"] += " (local: from the stack when not set)"
        resolved["secrets"] = secrets
        return resolved


def load_profile(
    name: str = "local",
    *,
    env: Mapping[str, str] | None = None,
    stack_state: Mapping[str, Any] | None = None,
) -> Profile:
    """Load `params/profiles/<name>.yaml`; the local one also reads the stack's state."""
    path = profiles_dir() / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(available_profiles()) or "none"
        raise ConfigError(f"unknown profile '{name}' (no {path}); known profiles: {known}")
    settings = read_yaml(path)
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    leaked = [k for k in _walk_keys(settings) if k.upper() in SECRETS]
    if leaked:
        raise ConfigError(f"{path}: secrets do not belong in profiles ({', '.join(leaked)}); move them to .env")
    profile = Profile(name=name, settings=settings, env=dict(env if env is not None else environment()))
    if profile.is_local:
        profile = Profile(name, settings, profile.env, stack_state if stack_state is not None else read_stack_state())
    return profile


def _walk_keys(node: Any) -> list[str]:
    if not isinstance(node, Mapping):
        return []
    keys = []
    for key, value in node.items():
        keys.append(str(key))
        keys.extend(_walk_keys(value))
    return keys
