"""A campaign's parameters, from a YAML file in `params/` (never a secret among them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from iglu_lib import paths
from iglu_lib.config import ConfigError, read_yaml

#: Agents per HIT by mode; `multi` takes `agents_per_hit` from the parameters.
MODES = {"single": 1, "pairwise": 2, "multi": None}
#: Tie answers of a two-game page and whether a campaign offers them unless told otherwise:
#: `both_good` ("both equally good") and `both_bad` ("both bad").
DEFAULT_TIES = {"both_good": True, "both_bad": True}


@dataclass(frozen=True)
class CampaignParams:
    """What a campaign collects, from which files, within which limits."""

    campaign: str
    join_codes: str
    agent_instances: str
    mode: str = "pairwise"
    profile: str = "local"
    agents_per_hit: int | None = None
    target_approved_hits: int = 10
    budget: str = "100.00"                  # cap on reward plus platform fee, in dollars
    fee_rate: str = "0.20"                  # MTurk's commission on rewards
    validation: Mapping[str, Any] = field(default_factory=dict)
    block_after_disqualified_games: int = 3
    never_block: tuple[str, ...] = ()
    join_code_expiry: bool = True           # join codes stop working when the HIT can no longer be worked
    poll_interval_seconds: float = 2.0
    max_poll_interval_seconds: float = 30.0
    max_turns: int | None = None            # stop after this many turns (None: until the target)
    seed: int = 0
    fetch_workers: int = 16
    max_failed_turns: int = 30             # this many failed turns in a row stop the loop (exit code 2)
    reconcile_every_turns: int = 10         # compare open records with the service every N turns
    game_data_grace_seconds: float = 1800.0  # a game not in storage yet is looked for again this long
    sanctions: Mapping[str, Any] = field(default_factory=dict)  # soft_block, hard_block_reasons
    messages: Mapping[str, Any] = field(default_factory=dict)   # send, subject, warning, rejection, block
    bonus: Mapping[str, Any] = field(default_factory=dict)      # amount, min_architect_turns, reason
    max_hits_per_worker: int | None = None  # a worker who did this many HITs is not offered more
    one_judgement_per_task: bool = False    # a worker judges each task at most once
    allow_list: tuple[str, ...] = ()        # a pilot: only these workers are offered the HITs
    hit_template: str | None = None         # own HIT pages: a template folder (relative to the project root)
    hit_variables: Mapping[str, Any] = field(default_factory=dict)  # its variables (minecraft_server, ...)
    qualification_requirements: tuple[Mapping[str, Any], ...] = ()  # [{type: id or name, min_score: N}]
    scheduling: Mapping[str, Any] = field(default_factory=dict)  # {strategy: balanced|adaptive, options}
    stop_when: Mapping[str, Any] = field(default_factory=dict)   # {ranking_confident: 0.95}
    pairs: tuple[tuple[str, ...], ...] = ()  # only these agent sets (a follow-up, `iglu analyze --follow-up`); () all
    # the pairwise form's tie answers beside "assistant 1" and "assistant 2" (each can be switched off)
    offer_ties: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_TIES))

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
        from iglu_lib.mturk.templates import offered_ties

        return offered_ties(self.tie_variables) if self.k == 2 else ()

    def cost_per_hit(self, reward: str) -> Decimal:
        return Decimal(reward) * (1 + Decimal(self.fee_rate))

    def path(self, value: str) -> Path:
        """A file parameter, relative to the project root unless absolute."""
        candidate = Path(value)
        return candidate if candidate.is_absolute() else paths.project_root() / candidate

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "parameters") -> CampaignParams:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown campaign parameter(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(known))}")
        missing = [name for name in ("campaign", "join_codes", "agent_instances") if not values.get(name)]
        if missing:
            raise ConfigError(f"{source}: missing {', '.join(missing)}")
        params = dict(values)
        if "never_block" in params:
            params["never_block"] = tuple(params["never_block"] or ())
        if "allow_list" in params:
            params["allow_list"] = tuple(str(worker) for worker in params["allow_list"] or ())
        if "pairs" in params:
            params["pairs"] = _agent_sets(params["pairs"], source)
        if "qualification_requirements" in params:
            params["qualification_requirements"] = tuple(params["qualification_requirements"] or ())
        for money in ("budget", "fee_rate"):
            if money in params:
                params[money] = str(params[money])
        result = cls(**params)
        result._check(source)
        return result

    @classmethod
    def from_file(cls, path: str | Path, overrides: Mapping[str, Any] | None = None) -> CampaignParams:
        values = read_yaml(Path(path))
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: expected a mapping of campaign parameters")
        return cls.from_mapping({**values, **(overrides or {})}, source=str(path))

    def _check(self, source: str) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"{source}: mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.mode == "multi" and (self.agents_per_hit or 0) < 2:
            raise ConfigError(f"{source}: mode multi needs agents_per_hit of at least 2")
        if self.target_approved_hits < 1:
            raise ConfigError(f"{source}: target_approved_hits must be at least 1")
        if self.max_failed_turns < 1 or self.reconcile_every_turns < 0:
            raise ConfigError(f"{source}: max_failed_turns must be at least 1 and reconcile_every_turns "
                              "at least 0 (0: only at start)")
        if Decimal(self.budget) <= 0:
            raise ConfigError(f"{source}: budget must be positive (dollars, reward plus fee)")
        self._check_hit_page(source)
        from iglu_lib.scheduling.stopping import check_scheduling, check_stop_when

        try:
            check_scheduling(self.scheduling, source)
            check_stop_when(self.stop_when, source)
        except ValueError as err:
            raise ConfigError(str(err)) from None

    def _check_hit_page(self, source: str) -> None:
        """The own-page and qualification parameters have the shapes the loop reads."""
        if self.hit_template is not None and not str(self.hit_template).strip():
            raise ConfigError(f"{source}: hit_template must name a template folder (or be left out)")
        if not isinstance(self.hit_variables, Mapping):
            raise ConfigError(f"{source}: hit_variables must be a mapping of template variables")
        ties = self.offer_ties
        if (not isinstance(ties, Mapping) or set(ties) - set(DEFAULT_TIES)
                or not all(isinstance(value, bool) for value in ties.values())):
            raise ConfigError(f"{source}: offer_ties must be {{both_good: true|false, both_bad: true|false}} "
                              "(both offered when left out)")
        for index, entry in enumerate(self.qualification_requirements):
            score = entry.get("min_score") if isinstance(entry, Mapping) else None
            if (not isinstance(entry, Mapping) or not str(entry.get("type") or "").strip()
                    or isinstance(score, bool) or not isinstance(score, int) or set(entry) - {"type", "min_score"}):
                raise ConfigError(f"{source}: qualification_requirements[{index}] must be "
                                  "{type: <QualificationTypeId or name>, min_score: <integer>}")


def _agent_sets(value: Any, source: str) -> tuple[tuple[str, ...], ...]:
    """`pairs: [[A, B], ...]` as tuples (the scheduler checks the names against the instances)."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, list | tuple) for v in value):
        raise ConfigError(f"{source}: pairs must be a list of agent lists such as [[Happy, MHB]]")
    return tuple(tuple(str(agent) for agent in agents) for agents in value)
