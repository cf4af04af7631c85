"""A profile's settings, parsed once into frozen, validated sections.

`params/profiles/<name>.yaml` is read into `Settings` when the profile is loaded: a missing or
malformed key is a `ConfigError` naming the file and the key there, never a bare `KeyError`
deep in a HIT call. Services receive the section they need (`HitSettings` for the HIT
manager, `StorageSettings` for records and game data, ...) and the clients of a backend,
not the whole profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

from iglu_lib.errors import IgluError


class ConfigError(IgluError):
    """A profile, parameter file or secret is missing or malformed; the message says which."""


#: Backend of a profile that names none: the local one when its endpoints come from the stack.
DEFAULT_BACKEND = "cloud"
LOCAL_BACKEND = "local"

#: The `hit.*` keys every profile must set.
REQUIRED_HIT_KEYS = (
    "title", "description", "reward", "lifetime_seconds",
    "assignment_duration_seconds", "auto_approval_delay_seconds",
)
#: The `hit.*` settings a single `CreateHIT` may override.
CREATE_HIT_FIELDS = (
    "title", "description", "reward", "keywords", "lifetime_seconds", "assignment_duration_seconds",
    "auto_approval_delay_seconds", "max_assignments", "qualification_requirements",
)
STORAGE_KEYS = ("task_container", "game_container", "private_container", "results_container", "records_table")


@dataclass(frozen=True)
class HitSettings:
    """The `hit.*` settings of a profile: `CreateHIT` arguments and how the page is shown."""

    title: str
    description: str
    reward: str
    keywords: tuple[str, ...]
    lifetime_seconds: int
    assignment_duration_seconds: int
    auto_approval_delay_seconds: int
    max_assignments: int = 1
    qualification_requirements: tuple[Mapping[str, Any], ...] = ()
    question_mode: str = "html"
    external_url: str | None = None
    external_store: str | None = None

    def create_hit_arguments(self) -> dict[str, Any]:
        return {
            "Title": self.title,
            "Description": self.description,
            "Reward": self.reward,
            "Keywords": ",".join(keyword_list(self.keywords)),
            "LifetimeInSeconds": self.lifetime_seconds,
            "AssignmentDurationInSeconds": self.assignment_duration_seconds,
            "AutoApprovalDelayInSeconds": self.auto_approval_delay_seconds,
            "MaxAssignments": self.max_assignments,
            "QualificationRequirements": [dict(q) for q in self.qualification_requirements],
        }


@dataclass(frozen=True)
class StorageSettings:
    """Blob containers and the records table (`storage.*`)."""

    task_container: str
    game_container: str
    private_container: str
    results_container: str
    records_table: str


@dataclass(frozen=True)
class S3Settings:
    """Interaction logs (`s3.*`)."""

    logs_bucket: str | None = None


@dataclass(frozen=True)
class Endpoints:
    """Service endpoints of a cloud profile (None: the AWS default for the region)."""

    mturk: str | None = None
    s3: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything a profile file says, typed; secrets are not here (they stay in the env)."""

    name: str
    path: Path
    backend: str
    region: str
    spend_money: bool
    endpoints: Endpoints
    storage: StorageSettings
    s3: S3Settings
    hit: HitSettings
    stack_ports: Mapping[str, int] = field(default_factory=dict)
    #: The file's mapping as read (for `iglu config show`), read-only.
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def keyword_list(keywords: str | Iterable[str]) -> list[str]:
    """Keywords from a list or a comma-separated string (both appear in profiles and overrides)."""
    items = keywords.split(",") if isinstance(keywords, str) else keywords
    return [str(k).strip() for k in items if str(k).strip()]


class _Section:
    """Reads one section of one file; every error names the file and the dotted key."""

    def __init__(self, path: Path, prefix: str, node: Any) -> None:
        self.path, self.prefix = path, prefix
        if node is None:
            node = {}
        if not isinstance(node, Mapping):
            raise ConfigError(f"{path}: {prefix or 'the file'} must be a mapping of settings, not {node!r}")
        self.node = node

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {self.key(name)} {problem}; fix it in the profile file")

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.node.get(name)
        if value in (None, ""):
            if required:
                raise self.fail(name, "is missing")
            return default
        if isinstance(value, (Mapping, list)):
            raise self.fail(name, f"must be text, not {value!r}")
        return str(value)

    def integer(self, name: str, default: int | None = None, *, required: bool = False) -> Any:
        value = self.node.get(name)
        if value in (None, ""):
            if required:
                raise self.fail(name, "is missing")
            return default
        try:
            number = int(str(value))
        except ValueError:
            raise self.fail(name, f"must be a whole number, not {value!r}") from None
        if number < 0:
            raise self.fail(name, f"must not be negative ({number})")
        return number

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.node.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, f"must be true or false, not {value!r}")
        return value

    def amount(self, name: str) -> str:
        value = self.text(name, required=True)
        try:
            if Decimal(value) < 0 or not Decimal(value).is_finite():
                raise InvalidOperation
        except InvalidOperation:
            raise self.fail(name, f"must be an amount in dollars such as \"0.50\", not {value!r}") from None
        return value

    def sequence(self, name: str) -> tuple[Any, ...]:
        value = self.node.get(name)
        if value in (None, ""):
            return ()
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            raise self.fail(name, f"must be a list, not {value!r}")
        return tuple(value)


def parse_settings(name: str, path: Path, document: Mapping[str, Any]) -> Settings:
    """`Settings` from the mapping of a profile file; `ConfigError` names the file and key."""
    top = _Section(path, "", document)
    return Settings(
        name=name,
        path=path,
        backend=_backend_name(top),
        region=top.text("region", "us-east-1"),
        spend_money=top.flag("spend_money"),
        endpoints=_endpoints(top),
        storage=_storage(_Section(path, "storage", document.get("storage"))),
        s3=S3Settings(logs_bucket=_Section(path, "s3", document.get("s3")).text("logs_bucket")),
        hit=parse_hit(_Section(path, "hit", document.get("hit"))),
        stack_ports=MappingProxyType(dict(_Section(path, "stack", document.get("stack")).node.get("ports") or {})),
        document=MappingProxyType(dict(document)),
    )


def _backend_name(top: _Section) -> str:
    """`backend:` of the file; older files say `endpoints: stack` for the local backend."""
    named = top.text("backend")
    if named:
        return named
    return LOCAL_BACKEND if top.node.get("endpoints") == "stack" else DEFAULT_BACKEND


def _endpoints(top: _Section) -> Endpoints:
    node = top.node.get("endpoints")
    if node in (None, "stack"):
        return Endpoints()
    section = _Section(top.path, "endpoints", node)
    return Endpoints(mturk=section.text("mturk"), s3=section.text("s3"))


def _storage(section: _Section) -> StorageSettings:
    return StorageSettings(**{key: section.text(key, required=True) for key in STORAGE_KEYS})


def parse_hit(section: _Section) -> HitSettings:
    if not section.node:
        raise ConfigError(f"{section.path}: hit is missing; add the hit settings to the profile file")
    for key in REQUIRED_HIT_KEYS:
        section.text(key, required=True)
    requirements = section.sequence("qualification_requirements")
    for index, requirement in enumerate(requirements):
        if not isinstance(requirement, Mapping) or "QualificationTypeId" not in requirement:
            raise section.fail(f"qualification_requirements[{index}]", "must be a mapping with a QualificationTypeId")
    return HitSettings(
        title=section.text("title", required=True),
        description=section.text("description", required=True),
        reward=section.amount("reward"),
        keywords=tuple(keyword_list(section.sequence("keywords") if not isinstance(section.node.get("keywords"), str)
                                    else section.node["keywords"])),
        lifetime_seconds=section.integer("lifetime_seconds", required=True),
        assignment_duration_seconds=section.integer("assignment_duration_seconds", required=True),
        auto_approval_delay_seconds=section.integer("auto_approval_delay_seconds", required=True),
        max_assignments=section.integer("max_assignments", 1) or 1,
        qualification_requirements=tuple(dict(q) for q in requirements),
        question_mode=section.text("question_mode", "html"),
        external_url=section.text("external_url"),
        external_store=section.text("external_store"),
    )


# -- Prolific ---------------------------------------------------------------------------------

#: Prolific's researcher API (the local backend uses the stack's emulator instead).
PROLIFIC_BASE_URL = "https://api.prolific.com"


@dataclass(frozen=True)
class ProlificSettings:
    """The `prolific:` section of a profile: where the API is and which workspace and project
    (by title) the workbench's studies go to. The token is a secret (`PROLIFIC_TOKEN`), never here."""

    base_url: str = PROLIFIC_BASE_URL
    workspace: str = "IGLU"
    project: str = "iglu"


def parse_prolific(path: Path, document: Mapping[str, Any]) -> ProlificSettings:
    """`ProlificSettings` from a profile's mapping (defaults when the section is absent); a
    malformed value is a `ConfigError` naming the file and the key."""
    section = _Section(path, "prolific", document.get("prolific"))
    base_url = section.text("base_url", PROLIFIC_BASE_URL).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise section.fail("base_url", f"must be an http(s) address, not {base_url!r}")
    return ProlificSettings(base_url=base_url, workspace=section.text("workspace", "IGLU"),
                            project=section.text("project", "iglu"))
