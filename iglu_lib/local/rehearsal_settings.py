"""The `rehearsal` section of a local profile: the simulated crowd that works a campaign.

The crowd belongs to the rehearsal, not to the researcher's campaign, so its settings live in
the profile that names the local backend (`params/profiles/local.yaml`) rather than in notebook
03's parameters; a run may change some of them (`rehearsal_overrides` of notebook 03, tests).
Read with pydantic, so a wrong type, a share outside 0..1 or an unknown behaviour is one
sentence naming the profile file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from iglu_lib import paths
from iglu_lib.settings import ConfigError


class ParticipantRehearsal(BaseModel):
    """The simulated participants of a `provider: prolific` campaign. Each takes a study once
    (Prolific's rule), so a campaign of N good submissions needs well over N of them; their
    choices follow the crowd's `seed`, `first_shown_bias` and `tie_margin`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    size: int = Field(default=300, ge=1, le=5000, description="simulated participants (each submits once per study)")
    mix: dict[str, float] = Field(default_factory=dict, description="fractions of misbehaving participants by "
                                  "behaviour: the MTurk crowd's, and returns, times_out, skips_page")

    @field_validator("mix")
    @classmethod
    def _known_shares(cls, mix: dict[str, float]) -> dict[str, float]:
        from iglu_lib.local.prolific_crowd import PROLIFIC_ONLY
        from iglu_lib.local.workers import BEHAVIOURS

        return _checked_mix(mix, (*BEHAVIOURS, *PROLIFIC_ONLY))


class CrowdRehearsal(BaseModel):
    """How the simulated crowd of a local campaign behaves."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    crowd: bool = Field(True, description="a simulated crowd works beside the loop (false: the local "
                                          "MTurk server's pages wait for a person)")
    platform_dir: str = Field("outputs/demo/platform", description="where the simulated platform step "
                              "(notebook 01b) wrote the agent instances and true skills; relative to the project")
    size: int = Field(20, ge=1, le=500, description="simulated workers")
    seed: int = Field(0, ge=0, description="seed of the crowd's behaviours and choices")
    first_shown_bias: float = Field(0.3, ge=-5, le=5, description="extra utility of the agent shown first")
    tie_margin: float = Field(0.0, ge=0, le=10, description="a worker answers a tie when the two games "
                              "felt this close (0: never); only where the page offers ties")
    mix: dict[str, float] = Field(default_factory=dict, description="fractions of misbehaving workers "
                                  "by behaviour (the rest diligent)")
    prolific: ParticipantRehearsal = Field(ParticipantRehearsal(),
                                           description="the participants of `provider: prolific` campaigns")

    @field_validator("mix")
    @classmethod
    def _known_shares(cls, mix: dict[str, float]) -> dict[str, float]:
        from iglu_lib.local.workers import BEHAVIOURS

        return _checked_mix(mix, tuple(BEHAVIOURS))

    def folder(self) -> Path:
        folder = Path(self.platform_dir)
        return folder if folder.is_absolute() else paths.project_root() / folder


def _checked_mix(mix: dict[str, float], known: tuple[str, ...]) -> dict[str, float]:
    unknown = sorted(set(mix) - set(known))
    if unknown:
        raise ValueError(f"unknown behaviour(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if any(not 0 <= share <= 1 for share in mix.values()) or sum(mix.values()) > 1:
        raise ValueError("each share is between 0 and 1 and together they are at most 1")
    return mix


def crowd_rehearsal(profile_path: Path, document: Mapping[str, Any],
                    overrides: Mapping[str, Any] | None = None) -> CrowdRehearsal:
    """The profile's `rehearsal` section with `overrides` applied, validated."""
    section = document.get("rehearsal") or {}
    if not isinstance(section, Mapping):
        raise ConfigError(f"{profile_path}: 'rehearsal' must be a mapping of crowd settings")
    try:
        return CrowdRehearsal.model_validate({**section, **(overrides or {})})
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in ("rehearsal", *first["loc"]))
        raise ConfigError(f"{profile_path}: {key}: {first['msg']}") from None
