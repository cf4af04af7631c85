"""Profiles (local, sandbox, production) and secrets.

A profile is a YAML file in `params/profiles/` holding everything that is not secret:
endpoints, container and table names, HIT settings. Secrets (AWS keys, the Azure
connection string, the salt for worker pseudonyms) come only from the environment or a
`.env` file at the project root, so that parameter files, executed notebooks and logs never
carry them.

`load_profile` parses the file once into frozen, validated sections (`iglu_lib.settings`)
and builds the backend the file names (`iglu_lib.backends`), which makes the clients. The
local backend takes its endpoints and emulator credentials from the running stack's state.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iglu_lib import paths
from iglu_lib.backends import SECRETS
from iglu_lib.settings import (
    ConfigError,
    HitSettings,
    S3Settings,
    Settings,
    StorageSettings,
    parse_settings,
)

if TYPE_CHECKING:
    from iglu_lib.backends import Backend

__all__ = ["SECRETS", "ConfigError", "Profile", "environment", "load_profile", "read_yaml"]


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
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not a text file (byte 0x{err.object[err.start]:02x} at position {err.start} "
                          "is not UTF-8); a parameter file is YAML text") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(err, "problem", None) or err).split())  # one line
        raise ConfigError(f"{path}:{where} malformed YAML: {problem}; fix the file and retry") from None


def environment(root: Path | None = None) -> dict[str, str]:
    """The process environment over the values of `.env` (the environment wins)."""
    from dotenv import dotenv_values

    dotenv_file = (root or paths.project_root()) / ".env"
    values = {k: v for k, v in dotenv_values(dotenv_file).items() if v is not None} if dotenv_file.is_file() else {}
    values.update(os.environ)
    return values


def mask(value: str) -> str:
    """Show that a secret is set without showing it."""
    return "****" if len(value) < 12 else f"{value[:2]}****{value[-2:]}"


@dataclass(frozen=True)
class Profile:
    """A loaded profile: its typed settings, the environment its secrets come from, and the
    backend that builds its clients. Services take the sections and clients they need."""

    settings: Settings
    env: Mapping[str, str] = field(repr=False)
    backend: Backend = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def hit(self) -> HitSettings:
        return self.settings.hit

    @property
    def storage(self) -> StorageSettings:
        return self.settings.storage

    @property
    def s3(self) -> S3Settings:
        return self.settings.s3

    @property
    def region(self) -> str:
        return self.settings.region

    @property
    def spend_money(self) -> bool:
        """False in production: calls that pay must then be allowed explicitly."""
        return self.settings.spend_money

    def with_hit(self, **changes: Any) -> Profile:
        """This profile with some `hit.*` settings changed (the backend is shared)."""
        from dataclasses import replace

        return replace(self, settings=replace(self.settings, hit=replace(self.hit, **changes)))

    def shown(self) -> dict[str, Any]:
        """The resolved configuration with every secret masked, for `iglu config show`."""
        resolved: dict[str, Any] = {"profile": self.name, **json.loads(json.dumps(dict(self.settings.document)))}
        extra = self.backend.shown()
        if extra.get("endpoints"):
            resolved["endpoints"] = extra["endpoints"]
        secrets = {}
        for variable in SECRETS:
            value = self.env.get(variable)
            secrets[variable] = (mask(value) if value else "(not set)") + extra.get("secret_notes", {}).get(variable, "")
        resolved["secrets"] = secrets
        return resolved


def load_profile(
    name: str = "local",
    *,
    env: Mapping[str, str] | None = None,
    **backend_options: Any,
) -> Profile:
    """Load `params/profiles/<name>.yaml` into typed settings (checked once, here) and its
    backend; nothing is contacted yet. `backend_options` go to the backend (the local one
    takes `stack_dir`, or `stack_state` in place of the running stack's state file)."""
    from iglu_lib.backends import create_backend

    path = profiles_dir() / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(available_profiles()) or "none"
        raise ConfigError(f"unknown profile '{name}' (no {path}); known profiles: {known}")
    document = read_yaml(path)
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    leaked = [k for k in _walk_keys(document) if k.upper() in SECRETS]
    if leaked:
        raise ConfigError(f"{path}: secrets do not belong in profiles ({', '.join(leaked)}); move them to .env")
    settings = parse_settings(name, path, document)
    environment_values = dict(env if env is not None else environment())
    return Profile(settings, environment_values, create_backend(settings, environment_values, **backend_options))


def _walk_keys(node: Any) -> list[str]:
    if not isinstance(node, Mapping):
        return []
    keys = []
    for key, value in node.items():
        keys.append(str(key))
        keys.extend(_walk_keys(value))
    return keys
