"""A campaign's parameters, from a YAML file in `params/` (never a secret among them).

`CampaignParams` is a pydantic model: every key has a type, a range or a list of choices, and
a file that breaks them is refused with one line naming the file, the key and what is allowed
(`iglu_lib.schema`), at load time, before preflight or the loop spends anything. The model is
also the documentation: `iglu params reference` writes docs/parameters.md from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator, with_config
from pydantic.dataclasses import dataclass
from typing_extensions import TypedDict

from iglu_lib import paths
from iglu_lib.config import ConfigError, read_yaml
from iglu_lib.platform.validation import Reason, Validation
from iglu_lib.schema import (
    ALLOWED,
    Amount,
    Flag,
    Name,
    Number,
    Whole,
    between,
    fail,
    null_is,
    validate,
    words,
)

if TYPE_CHECKING:
    from iglu_lib.scheduling.evidence import EvidenceRules

#: Agents per HIT by mode; `multi` takes `agents_per_hit` from the parameters.
MODES = {"single": 1, "pairwise": 2, "multi": None}
#: Tie answers of a two-game page and whether a campaign offers them unless told otherwise:
#: `both_good` ("both equally good") and `both_bad` ("both bad").
DEFAULT_TIES = {"both_good": True, "both_bad": True}
#: The largest target a campaign may set: more good HITs than any study collects (a typo guard).
MAX_TARGET = 100_000
FORBID = ConfigDict(extra="forbid")


def _only_reasons(text: str) -> str:
    """A message template may use `{reasons}` and nothing else (it is formatted with it)."""
    try:
        text.format(reasons="")
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(f"a message may use only {{reasons}} ({err})") from None
    return text


Template = Annotated[str, AfterValidator(_only_reasons),
                     Field(json_schema_extra={ALLOWED: "text that may use {reasons}"})]


@with_config(FORBID)
class SanctionSettings(TypedDict, total=False):
    """Who is kept out and how (`iglu_lib.collection.sanctions`)."""

    soft_block: Annotated[Flag, Field(description="block_after_disqualified_games keeps a worker out of this campaign only (default true)")]
    hard_block_reasons: Annotated[tuple[Reason, ...], Field(description="reasons that block account-wide (default: the fraud reasons)")]


@with_config(FORBID)
class Messages(TypedDict, total=False):
    """What a worker is told per verdict (NotifyWorkers)."""

    send: Annotated[Flag, Field(description="send messages at all (default false)")]
    subject: Template
    warning: Template
    rejection: Template
    block: Template


@with_config(FORBID)
class Bonus(TypedDict, total=False):
    """A bonus per game that earns it (`iglu_lib.collection.rewards.BonusRule`)."""

    amount: Annotated[Amount, between("0.01", "100"), words('dollars from "0.01" to "100", such as "0.25"'),
                      Field(description="dollars per earning game")]
    min_architect_turns: Annotated[Whole, Field(ge=0, le=1000, description="turns a game needs to earn it")]
    reason: Annotated[str, Field(description="what the worker reads")]


@with_config(FORBID)
class Scheduling(TypedDict, total=False):
    """Which task x combination comes next (`iglu_lib.scheduling.strategy`)."""

    strategy: Literal["balanced", "scanning", "adaptive"]
    max_lead: Annotated[Whole, Field(ge=1, description="balanced/scanning: how far a cell may lead")]
    floor: Annotated[Number, Field(ge=0, le=1, description="adaptive: each pair keeps this share")]
    level: Annotated[Number, Field(gt=0, lt=1, description="adaptive: the confidence aimed at")]
    prior_sd: Annotated[Number | None, Field(gt=0, description="adaptive: prior spread of strengths")]
    focus: Annotated[Number, Field(gt=0, description="adaptive: how sharply settled pairs lose weight")]


@with_config(FORBID)
class StopWhen(TypedDict, total=False):
    """Stop early when the ranking is settled (`iglu_lib.scheduling.stopping`)."""

    ranking_confident: Annotated[Number, Field(ge=0.5, lt=1, description="the simultaneous level, e.g. 0.95")]


@with_config(FORBID)
class Evidence(TypedDict, total=False):
    """How many workers the stopping rule and the adaptive strategy need, and how much one
    weighs (`iglu_lib.scheduling.evidence`)."""

    min_workers: Annotated[Whole, Field(ge=1, le=10_000, description="distinct workers before the ranking may settle")]
    max_judgements_per_worker: Annotated[Whole | None, Field(ge=1, description=(
        "one worker's judgements count at most this much (null: no cap)"))]
    leave_out_flagged: Annotated[Flag, Field(description="workers the annotator check flags do not count")]
    count_beyond_worker_cap: Annotated[Flag, Field(description=(
        "judgements beyond max_hits_per_worker (concurrent accepts) count in the ranking"))]


@with_config(FORBID)
class OfferTies(TypedDict, total=False):
    """The pairwise form's tie answers (each offered unless switched off)."""

    both_good: Flag
    both_bad: Flag


@with_config(FORBID)
class QualificationRequirement(TypedDict):
    """A qualification a worker must hold with at least `min_score`."""

    type: Annotated[Name, Field(description="QualificationTypeId or name")]
    min_score: Whole


@dataclass(frozen=True, config=FORBID)
class CampaignParams:
    """What a campaign collects, from which files, within which limits."""

    campaign: Annotated[Name, Field(description="the records' partition: a new name starts a new campaign")]
    join_codes: Annotated[Name, Field(description="join-code file (relative to the project root)")]
    agent_instances: Annotated[Name, Field(description="agent-instances file (relative to the project root)")]
    mode: Annotated[Literal["single", "pairwise", "multi"],
                    Field(description="agents per HIT: 1, 2, or agents_per_hit")] = "pairwise"
    profile: Annotated[Name, Field(description="params/profiles/<profile>.yaml")] = "local"
    agents_per_hit: Annotated[Whole | None, Field(ge=2, le=10, description="mode multi only")] = None
    target_approved_hits: Annotated[Whole, Field(ge=1, le=MAX_TARGET, description="good HITs to collect")] = 10
    budget: Annotated[Amount, between("0.01", "1000000"), words('dollars from "0.01" to "1000000", such as "60.00"'),
                      Field(description="cap on reward plus platform fee")] = "100.00"
    fee_rate: Annotated[Amount, between("0", "1"), words('a rate from "0" to "1", such as "0.20"'),
                        Field(description="MTurk's commission on rewards")] = "0.20"
    validation: Annotated[Validation, null_is({})] = field(default_factory=lambda: Validation())
    block_after_disqualified_games: Annotated[Whole, Field(ge=1, le=1000, description=(
        "rejected games after which a worker is blocked"))] = 3
    never_block: Annotated[tuple[Name, ...], null_is(()), Field(description="worker ids that are never blocked")] = ()
    join_code_expiry: Annotated[Flag, Field(description=(
        "join codes stop working when the HIT can no longer be worked"))] = True
    poll_interval_seconds: Annotated[Number, Field(gt=0, le=3600, description=(
        "pause between turns while there is work (real campaigns: 30 or more)"))] = 2.0
    max_poll_interval_seconds: Annotated[Number, Field(gt=0, le=3600, description=(
        "the longest pause while nothing happens (at least poll_interval_seconds)"))] = 30.0
    max_turns: Annotated[Whole | None, Field(ge=1, description="stop after this many turns (null: until the target)")] = None
    seed: Annotated[Whole, Field(description="seeds the scheduler's tie-breaks")] = 0
    fetch_workers: Annotated[Whole, Field(ge=1, le=256, description="parallel game downloads")] = 16
    max_failed_turns: Annotated[Whole, Field(ge=1, description="this many failed turns in a row stop the loop (exit code 2)")] = 30
    reconcile_every_turns: Annotated[Whole, Field(ge=0, description=(
        "compare open records with the service every N turns (0: only at start)"))] = 10
    game_data_grace_seconds: Annotated[Number, Field(ge=0, description=(
        "a game not in storage yet is looked for again this long"))] = 1800.0
    sanctions: Annotated[SanctionSettings, null_is({})] = field(default_factory=lambda: SanctionSettings())
    messages: Annotated[Messages, null_is({})] = field(default_factory=lambda: Messages())
    bonus: Annotated[Bonus, null_is({})] = field(default_factory=lambda: Bonus())
    max_hits_per_worker: Annotated[Whole | None, Field(ge=1, description=(
        "a worker who did this many HITs is not offered more (null: no cap)"))] = None
    one_judgement_per_task: Annotated[Flag, Field(description="a worker judges each task at most once")] = False
    allow_list: Annotated[tuple[Name, ...], null_is(()), Field(description=(
        "a pilot: only these workers are offered the HITs (a list, even of one)"))] = ()
    hit_template: Annotated[Name | None, Field(description=(
        "own HIT pages: a template folder (relative to the project root)"))] = None
    hit_variables: Annotated[dict[str, Any], null_is({}), Field(description="its variables (minecraft_server, ...)")] = \
        field(default_factory=dict)
    qualification_requirements: Annotated[tuple[QualificationRequirement, ...], null_is(())] = ()
    scheduling: Annotated[Scheduling, null_is({})] = field(default_factory=lambda: Scheduling())
    stop_when: Annotated[StopWhen, null_is({})] = field(default_factory=lambda: StopWhen())
    pairs: Annotated[tuple[Annotated[tuple[Name, ...], Field(min_length=2)], ...], null_is(()), Field(description=(
        "only these agent sets, such as [[Happy, MHB]] (a follow-up from `iglu analyze --follow-up`); "
        "empty: every combination"))] = ()
    # the pairwise form's tie answers beside "assistant 1" and "assistant 2" (each can be switched off)
    offer_ties: OfferTies = field(default_factory=lambda: OfferTies(**DEFAULT_TIES))  # type: ignore[typeddict-item]
    count_unusable_choices: Annotated[Flag, Field(description=(
        "a HIT whose choice of the best game cannot be used (choice_unusable) is paid; true: it also "
        "counts toward the target (default: its slot runs again)"))] = False
    evidence: Annotated[Evidence, null_is({})] = field(default_factory=lambda: Evidence())
    provider: Annotated[Literal["mturk", "prolific"], Field(description=(
        "the crowd: mturk (a HIT per slot) or prolific (one study; a slot per session)"))] = "mturk"
    study_url: Annotated[str | None, Field(pattern=r"^https?://\S+$", description=(
        "prolific: address of `iglu crowd serve` the study sends participants to (default: hit.external_url)"))] = None
    study_minutes: Annotated[Whole, Field(ge=1, le=600, description=(
        "prolific: the study's estimated minutes (the reward must reach Prolific's hourly minimum)"))] = 3

    @model_validator(mode="after")
    def _across_keys(self) -> CampaignParams:
        """Checks that need two keys, or a part of the library (the scheduling strategy)."""
        if self.mode == "multi" and self.agents_per_hit is None:
            raise fail("agents_per_hit", "mode multi needs agents_per_hit (a whole number from 2 to 10)")
        if self.max_poll_interval_seconds < self.poll_interval_seconds:
            raise fail("max_poll_interval_seconds", "must be at least poll_interval_seconds")
        if self.provider == "prolific":
            self._prolific_keys()
        from iglu_lib.scheduling.model import SchedulingError
        from iglu_lib.scheduling.stopping import check_scheduling

        try:
            check_scheduling(self.scheduling, "scheduling", self.stop_when, self.evidence_rules)
        except SchedulingError as err:
            raise fail("scheduling", str(err).removeprefix("scheduling: ")) from None
        return self

    def _prolific_keys(self) -> None:
        """Keys a Prolific campaign cannot honour yet, named rather than ignored."""
        for key, value in (("one_judgement_per_task", self.one_judgement_per_task),
                           ("qualification_requirements", self.qualification_requirements),
                           ("hit_template", self.hit_template)):
            if value:
                raise fail(key, "is not available with provider: prolific (MTurk qualifications and HIT templates)")

    @property
    def k(self) -> int:
        """Agents per HIT."""
        return MODES[self.mode] or int(self.agents_per_hit or 0)

    @property
    def hit_type(self) -> str:
        """The HIT template: `single`, `pairwise` or `multi`."""
        return self.mode

    @property
    def tie_variables(self) -> dict[str, bool]:
        """The page variables that show or hide each tie answer (`offer_both_good`, `offer_both_bad`)."""
        ties = {**DEFAULT_TIES, **self.offer_ties}
        return {f"offer_{name}": bool(ties[name]) for name in DEFAULT_TIES}

    @property
    def page_variables(self) -> dict[str, Any]:
        """What an own template folder's page is checked and rendered with: `hit_variables` and
        the tie switches."""
        return {**self.hit_variables, **self.tie_variables}

    @property
    def ties_offered(self) -> tuple[str, ...]:
        """The tie answers (`best_agent` values) this campaign's two-game pages offer."""
        from iglu_lib.pages.templates import offered_ties

        return offered_ties(self.tie_variables) if self.k == 2 else ()

    @property
    def evidence_rules(self) -> EvidenceRules:
        """The `evidence` parameters as `scheduling.evidence.EvidenceRules` (defaults filled in)."""
        from iglu_lib.scheduling.evidence import EvidenceRules

        return EvidenceRules.from_params(self.evidence)

    def cost_per_hit(self, reward: str) -> Decimal:
        return Decimal(reward) * (1 + Decimal(self.fee_rate))

    def path(self, value: str) -> Path:
        """A file parameter, relative to the project root unless absolute."""
        candidate = Path(value)
        return candidate if candidate.is_absolute() else paths.project_root() / candidate

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "parameters") -> CampaignParams:
        """The parameters of `values` (a file's mapping), checked against the model."""
        return validate(cls, dict(values), source)

    @classmethod
    def from_file(cls, path: str | Path, overrides: Mapping[str, Any] | None = None) -> CampaignParams:
        values = read_yaml(Path(path))
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: expected a mapping of campaign parameters")
        return cls.from_mapping({**values, **(overrides or {})}, source=str(path))
