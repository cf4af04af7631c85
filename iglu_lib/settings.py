"""A profile's settings, parsed once into frozen, validated sections.

`params/profiles/<name>.yaml` is read into `Settings` when the profile is loaded. Each section
is a pydantic model (`ProfileFile` and the sections it holds) with types, ranges and choices:
a missing or malformed key is a one-line `ParameterError` naming the file, the key and what is
allowed, never a bare `KeyError` deep in a HIT call. Services receive the section they need
(`HitSettings` for the HIT manager, `StorageSettings` for records and game data, ...) and the
clients of a backend, not the whole profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, with_config
from pydantic.dataclasses import dataclass as model
from typing_extensions import NotRequired, TypedDict

from iglu_lib.errors import ConfigError as ConfigError  # defined beside its subclass ParameterError
from iglu_lib.schema import Amount, Flag, Name, Whole, between, validate, words

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
FORBID = ConfigDict(extra="forbid")
#: Seconds in a year: the longest lifetime or assignment duration MTurk accepts.
YEAR = 31_536_000


def _keywords(value: Any) -> Any:
    """Keywords from a list or a comma-separated string (both appear in profiles and overrides)."""
    return tuple(keyword_list(value)) if isinstance(value, (str, list, tuple)) else value


@with_config(ConfigDict(extra="allow"))
class QualificationRequirement(TypedDict):
    """A `QualificationRequirement` of `CreateHIT`, as the service spells it."""

    QualificationTypeId: Name
    Comparator: NotRequired[Literal["LessThan", "LessThanOrEqualTo", "GreaterThan", "GreaterThanOrEqualTo",
                                    "EqualTo", "NotEqualTo", "Exists", "DoesNotExist", "In", "NotIn"]]
    IntegerValues: NotRequired[list[Whole]]
    LocaleValues: NotRequired[list[dict[str, str]]]
    RequiredToPreview: NotRequired[Flag]
    ActionsGuarded: NotRequired[Literal["Accept", "PreviewAndAccept", "DiscoverPreviewAndAccept"]]


@model(frozen=True, config=FORBID)
class HitSettings:
    """The `hit.*` settings of a profile: `CreateHIT` arguments and how the page is shown."""

    title: Annotated[Name, Field(description="the HIT's title workers see")]
    description: Annotated[Name, Field(description="the HIT's description")]
    reward: Annotated[Amount, between("0", "1000"), words('dollars from "0" to "1000", such as "0.50"'),
                      Field(description="reward per assignment")]
    lifetime_seconds: Annotated[Whole, Field(ge=0, le=YEAR, description="how long the HIT can be found")]
    assignment_duration_seconds: Annotated[Whole, Field(ge=0, le=YEAR, description="time to do one assignment")]
    auto_approval_delay_seconds: Annotated[Whole, Field(ge=0, le=2_592_000, description=(
        "submitted work is approved after this long unless judged"))]
    keywords: Annotated[tuple[str, ...], BeforeValidator(_keywords),
                        Field(description="a list, or text with commas")] = ()
    max_assignments: Annotated[Whole, Field(ge=1, le=1_000_000, description="assignments per HIT")] = 1
    qualification_requirements: Annotated[tuple[QualificationRequirement, ...], Field(
        description="required of every worker (QualificationTypeId, Comparator, ...)")] = ()
    question_mode: Annotated[Literal["html", "external"], Field(description=(
        "html: the page is the HIT's HTMLQuestion; external: served by `iglu crowd serve`"))] = "html"
    external_url: Annotated[str | None, Field(description="public HTTPS address of `iglu crowd serve`")] = None
    external_store: Annotated[str | None, Field(description="page store shared with `iglu crowd serve`")] = None

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


#: An Azure blob container name: 3 to 63 lower-case letters, digits and dashes.
Container = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", min_length=3, max_length=63),
                      words("3 to 63 lower-case letters, digits and single dashes")]


@model(frozen=True, config=FORBID)
class StorageSettings:
    """Blob containers and the records table (`storage.*`)."""

    task_container: Annotated[Container, Field(description="platform task data")]
    game_container: Annotated[Container, Field(description="platform game data")]
    private_container: Annotated[Container, Field(description="raw game data (personal data inside)")]
    results_container: Annotated[Container, Field(description="scrubbed game data")]
    records_table: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9]{2,62}$", description="the game records"),
                             words("3 to 63 letters and digits, a letter first")]


@model(frozen=True, config=FORBID)
class S3Settings:
    """Interaction logs (`s3.*`)."""

    logs_bucket: Annotated[str | None, Field(description="the droidlet logs' bucket")] = None


@model(frozen=True, config=FORBID)
class Endpoints:
    """Service endpoints of a cloud profile (None: the AWS default for the region)."""

    mturk: str | None = None
    s3: str | None = None


@with_config(FORBID)
class Stack(TypedDict, total=False):
    """The local stack (`iglu stack up`)."""

    ports: Annotated[dict[str, Annotated[Whole, Field(ge=0, le=65535)]], Field(
        description="service name -> fixed port; empty picks free loopback ports")]


#: Prolific's researcher API (the local backend uses the stack's emulator instead).
PROLIFIC_BASE_URL = "https://api.prolific.com"


@model(frozen=True, config=FORBID)
class ProlificSettings:
    """The `prolific:` section: where the API is and which workspace and project (by title) the
    workbench's studies go to. The token is a secret (`PROLIFIC_TOKEN`), never here."""

    base_url: Annotated[str, Field(pattern=r"^https?://\S+$", description="Prolific's API root"),
                        words("an http(s) address")] = PROLIFIC_BASE_URL
    workspace: Annotated[Name, Field(description="the workspace's title")] = "IGLU"
    project: Annotated[Name, Field(description="the project's title inside the workspace")] = "iglu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))


@model(frozen=True, config=FORBID)
class ProfileFile:
    """A profile file, `params/profiles/<name>.yaml`: everything but secrets (those stay in .env)."""

    storage: StorageSettings
    hit: HitSettings
    backend: Annotated[Name | None, Field(description=(
        "cloud (AWS + Azure) or local (the stack); default cloud, or local for `endpoints: stack`"))] = None
    region: Name = "us-east-1"
    spend_money: Annotated[Flag, Field(description="false: calls that pay must be allowed explicitly")] = False
    endpoints: Annotated[Endpoints | Literal["stack"] | None, Field(description=(
        "cloud endpoints (null: the AWS default); `stack` is the older spelling of backend: local"))] = None
    s3: S3Settings = field(default_factory=S3Settings)
    stack: Stack = field(default_factory=lambda: Stack())
    prolific: ProlificSettings = field(default_factory=ProlificSettings)
    rehearsal: Annotated[dict[str, Any] | None, Field(description=(
        "local backend only: the simulated crowd that works a campaign (crowd, size, mix, seed, "
        "first_shown_bias, tie_margin, platform_dir), checked by iglu_lib/local/rehearsal_settings.py"))] = None


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


def parse_settings(name: str, path: Path, document: Mapping[str, Any]) -> Settings:
    """`Settings` from the mapping of a profile file; `ParameterError` names the file and key."""
    checked = validate(ProfileFile, dict(document), str(path))
    endpoints = checked.endpoints if isinstance(checked.endpoints, Endpoints) else Endpoints()
    return Settings(
        name=name,
        path=path,
        backend=checked.backend or (LOCAL_BACKEND if checked.endpoints == "stack" else DEFAULT_BACKEND),
        region=checked.region,
        spend_money=checked.spend_money,
        endpoints=endpoints,
        storage=checked.storage,
        s3=checked.s3,
        hit=checked.hit,
        stack_ports=MappingProxyType(dict(checked.stack.get("ports") or {})),
        document=MappingProxyType(dict(document)),
    )


@model(frozen=True, config=ConfigDict(extra="ignore"))
class _ProlificSection:
    """A profile read for its `prolific:` section alone."""

    prolific: ProlificSettings = field(default_factory=ProlificSettings)


def parse_prolific(path: Path, document: Mapping[str, Any]) -> ProlificSettings:
    """The profile's `prolific:` section (defaults when absent); a malformed value is one line
    naming the file and the key."""
    return validate(_ProlificSection, dict(document), str(path)).prolific
