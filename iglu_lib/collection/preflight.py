"""Preflight: what must be ready before a campaign spends money, checked in one go.

Each check gives one line a person reads (✓ or ✗ and a sentence saying what was found and,
on a failure, what to do). Nothing here creates or changes anything: a missing table or
container is reported, not made, and no HIT is created. Secrets are only ever named, never
shown. `iglu collect` runs the checks first on a paying profile outside the local stack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iglu_lib.collection.params import CampaignParams
    from iglu_lib.config import Profile
    from iglu_lib.providers import AccountCrowd, CrowdProvider

log = logging.getLogger(__name__)

MARKS = {True: "✓", False: "✗", None: "-"}


@dataclass
class Check:
    """One line of the checklist; `ok` is None for a check that does not apply."""

    name: str
    ok: bool | None
    message: str


@dataclass
class PreflightReport:
    campaign: str
    profile: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.ok is not False for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.ok is False]

    def lines(self) -> list[str]:
        verdict = "ready" if self.passed else f"NOT ready ({len(self.failures)} problem(s))"
        head = f"preflight of campaign {self.campaign} on profile {self.profile}: {verdict}"
        return [head, *(f"  {MARKS[c.ok]} {c.name}: {c.message}" for c in self.checks)]

    def as_dict(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "profile": self.profile, "passed": self.passed,
                "checks": [asdict(check) for check in self.checks]}


def preflight(params: CampaignParams, *, profile: Profile | None = None, manager: AccountCrowd | None = None) -> PreflightReport:
    """Run every check for the campaign of `params` (on `profile`, default the file's)."""
    from iglu_lib.config import load_profile
    from iglu_lib.providers import CrowdOptions, open_account_crowd

    profile = profile or load_profile(params.profile)
    report = PreflightReport(params.campaign, profile.name)
    report.checks.append(_guarded("parameters", lambda: _parameters_check(params)))
    if params.provider == "prolific":
        report.checks.extend(_study_checks(params, profile))
    else:
        # the checks read MTurk's HIT settings and qualification types
        manager = manager or open_account_crowd(profile, CrowdOptions(params.campaign, kind=params.hit_type))
        report.checks.extend(_hit_checks(params, profile, manager))
    report.checks.append(_guarded("join codes and agent instances", lambda: _inventory_check(params)))
    credentials_ok = all(c.ok is not False for c in report.checks if c.name in ("credentials", "Prolific token"))
    report.checks.append(_needs(credentials_ok, "storage", lambda: _storage_check(profile)))
    for check in report.failures:
        log.info("preflight %s: %s: %s", params.campaign, check.name, check.message)
    return report


def _hit_checks(params: CampaignParams, profile: Profile, manager: AccountCrowd) -> list[Check]:
    """MTurk: the account, its credentials and balance, the HIT page and the qualifications."""
    checks = [_guarded("profile", lambda: _profile_check(profile))]
    credentials = _guarded("credentials", lambda: _credentials_check(profile))
    reachable = credentials.ok is not False
    return [*checks, credentials,
            _needs(reachable, "MTurk and balance", lambda: _balance_check(params, manager)),
            _guarded("HIT page", lambda: _page_check(params, manager)),
            _guarded("custom HIT template", lambda: _template_check(params)),
            _needs(reachable, "qualifications", lambda: _qualifications_check(profile, manager))]


def _study_checks(params: CampaignParams, profile: Profile) -> list[Check]:
    """Prolific: the token, workspace and project, the balance against the budget, the study's
    reward against Prolific's hourly minimum, and the study page; nothing is created."""
    from iglu_lib.providers import WorkSpec, open_provider

    checks = [_guarded("profile", lambda: (True, (
        f"'{profile.name}', Prolific at {profile.backend.prolific_base_url()}, spend_money "
        f"{str(profile.spend_money).lower()}; records table {profile.storage.records_table}")))]
    try:
        provider = open_provider("prolific", profile)
        spec = WorkSpec(f"{params.campaign}:study", params.campaign, params.campaign, str(params.study_url or ""),
                        Decimal(str(profile.hit.reward)), 1, int(params.study_minutes))
        found = provider.preflight(spec)
    except Exception as err:  # noqa: BLE001 - every failure is a line of the checklist
        return [*checks, Check("Prolific token", False, f"{type(err).__name__}: {str(err).splitlines()[0][:300]}")]
    checks += [Check(f"Prolific {c.name}", c.ok, c.detail) for c in found]
    if all(c.ok for c in found):
        checks.append(_guarded("Prolific budget", lambda: _study_budget_check(params, provider)))
    checks.append(_guarded("study page", lambda: _study_page_check(params)))
    return checks


def _study_budget_check(params: CampaignParams, provider: CrowdProvider) -> tuple[bool, str]:
    balance, budget = Decimal(str(provider.balance())), Decimal(params.budget)
    if balance < budget:
        return False, (f"the workspace's balance ${balance:.2f} is below the budget ${budget:.2f} (rewards plus the "
                       f"{Decimal(params.fee_rate) * 100:.0f}% fee); add funds or lower `budget`")
    return True, f"the workspace's balance ${balance:.2f} covers the budget ${budget:.2f} (rewards plus fee)"


def _study_page_check(params: CampaignParams) -> tuple[bool, str]:
    """The study's page: an address participants can reach, and a page with every answer field."""
    from iglu_lib.pages.templates import TEMPLATES, render_hit

    url = str(params.study_url or "")
    if not url:
        return False, "study_url is not set: give the public HTTPS address of `iglu crowd serve`"
    local = url.startswith(("http://127.0.0.1", "http://localhost"))
    if not url.startswith("https://") and not local:
        return False, f"study_url {url} is not HTTPS: Prolific's participants need a public HTTPS address"
    page = render_hit(params.hit_type, _sample_variables(params))
    fields = TEMPLATES[params.hit_type].answer_fields(params.k)
    missing = [name for name in fields if f'name="{name}"' not in page]
    if missing:
        return False, f"the '{params.hit_type}' page lacks the answer field(s) {', '.join(missing)}"
    where = "on this machine (a rehearsal)" if local else "publicly"
    return True, f"served by `iglu crowd serve` at {url} {where}; the '{params.hit_type}' page has its {len(fields)} answer fields"


def preflight_file(path: str, **options: Any) -> PreflightReport:
    """Preflight of a parameter file: the file is checked against the campaign model first, as
    `iglu collect` checks it, so whatever collect would refuse this refuses first (one line,
    `ParameterError`), then the profile's sections, then every check of `preflight`."""
    from iglu_lib.collection.params import CampaignParams

    return preflight(CampaignParams.from_file(path), **options)


def _guarded(name: str, run: Callable[[], tuple[bool | None, str]]) -> Check:
    """A check whose unexpected failure becomes its own ✗ line instead of a traceback."""
    try:
        ok, message = run()
    except Exception as err:  # noqa: BLE001 - every failure is a line of the checklist
        ok, message = False, f"{type(err).__name__}: {str(err).splitlines()[0][:300] if str(err) else ''}"
    return Check(name, ok, message)


def _needs(reachable: bool, name: str, run: Callable[[], tuple[bool | None, str]]) -> Check:
    if not reachable:
        return Check(name, False, "not checked: the credentials above are missing")
    return _guarded(name, run)


# -- the checks ------------------------------------------------------------------------------
def _parameters_check(params: CampaignParams) -> tuple[bool, str]:
    """The parameters again through the campaign model (an object made in code skips the file)."""
    from dataclasses import asdict

    from iglu_lib.collection.params import CampaignParams
    from iglu_lib.schema import validate

    validate(CampaignParams, asdict(params), f"campaign {params.campaign}")
    return True, "every key fits the campaign model (docs/parameters.md)"


def _profile_check(profile: Profile) -> tuple[bool, str]:
    """Always passes: it says which account and money the run would use, for a person to confirm."""
    endpoint = profile.backend.endpoint("mturk") or "the AWS default"
    money = profile.backend.money()
    return True, (f"'{profile.name}', MTurk at {endpoint}, spend_money {str(profile.spend_money).lower()}, "
                  f"{money}; records table {profile.storage.records_table}")


def _credentials_check(profile: Profile) -> tuple[bool, str]:
    return profile.backend.check_credentials()


def _balance_check(params: CampaignParams, manager: AccountCrowd) -> tuple[bool, str]:
    try:
        balance = Decimal(str(manager.balance()))
        budget = Decimal(params.budget)
    except InvalidOperation as err:
        raise ValueError(f"the balance or budget is not an amount: {err}") from None
    if balance < budget:
        return False, (f"balance ${balance:.2f} is below the budget ${budget:.2f} (rewards plus the "
                       f"{Decimal(params.fee_rate) * 100:.0f}% fee); add funds or lower `budget`")
    return True, f"MTurk answers; balance ${balance:.2f} covers the budget ${budget:.2f} (rewards plus fee)"


def _sample_variables(params: CampaignParams) -> dict[str, Any]:
    """Page variables as the loop would give them, from the first task and agents' instances."""
    from iglu_lib.scheduling import Inventory

    inventory = Inventory.from_files(params.path(params.join_codes), params.path(params.agent_instances))
    task = next(iter(inventory.tasks.values()))
    instances = [ids[0] for ids in list(inventory.instances.values())[: params.k]]
    return {"task_name": task.name, "task_join_code": task.task_join_code,
            "agent_instance_ids": instances, "join_code_suffix": ":4102444800000",
            **params.tie_variables}


def _page_check(params: CampaignParams, manager: AccountCrowd) -> tuple[bool, str]:
    """The bundled page renders with sample variables and carries every answer field."""
    from iglu_lib.pages.templates import render_hit

    page = render_hit(params.hit_type, {"title": manager.settings.title, **_sample_variables(params)})
    fields = manager.answer_fields(params.k)
    missing = [name for name in fields if f'name="{name}"' not in page]
    if missing:
        return False, f"the '{params.hit_type}' page lacks the answer field(s) {', '.join(missing)}"
    served = ""
    if manager.question_mode == "external":  # pages come from `iglu crowd serve`: is it addressed?
        served = f", served by `iglu crowd serve` at {manager.external_base_url()}"
    return True, f"the '{params.hit_type}' page renders with its {len(fields)} answer fields{served}"


def _template_check(params: CampaignParams) -> tuple[bool | None, str]:
    """A campaign's own template (`hit_template`), checked by the template module when it can."""
    template = params.hit_template
    if not template:
        return None, "none set: the bundled page is used"
    from iglu_lib.pages.templates import check_template

    missing = check_template(params.path(str(template)), params.hit_type, params.k,
                             params.page_variables or params.hit_variables)
    if missing:
        return False, f"'{template}' lacks: {'; '.join(missing)}"
    return True, f"'{template}' renders with every required element"


def _qualifications_check(profile: Profile, manager: AccountCrowd) -> tuple[bool, str]:
    """Every qualification type the profile's HIT settings require exists and is active."""
    wanted, custom, problems = manager.qualification_problems()
    if problems:
        return False, (f"hit.qualification_requirements names missing or inactive types: {'; '.join(problems)}; "
                       "create them (`iglu mturk qualify`) or fix the profile")
    return True, (f"{len(wanted)} requirement(s), {len(custom)} custom type(s) found and active"
                  if wanted else "no qualification required by the profile")


def _inventory_check(params: CampaignParams) -> tuple[bool, str]:
    """Both files parse, the mode's agents exist, and every join code names its instance."""
    from iglu_lib.platform.codes import parse_join_code
    from iglu_lib.scheduling import Inventory
    from iglu_lib.scheduling.model import full_join_code

    inventory = Inventory.from_files(params.path(params.join_codes), params.path(params.agent_instances))
    if len(inventory.agents) < params.k:
        return False, (f"mode {params.mode} shows {params.k} agents per HIT but {params.agent_instances} "
                       f"lists {len(inventory.agents)}")
    wrong = []
    for task in inventory.tasks.values():
        for instance in (iid for ids in inventory.instances.values() for iid in ids):
            if parse_join_code(full_join_code(task.task_join_code, instance)).agent_instance_id != instance:
                wrong.append(f"{task.name}/{instance}")
    if wrong:
        return False, f"join codes that do not name their instance: {', '.join(wrong[:5])}"
    instances = sum(len(ids) for ids in inventory.instances.values())
    return True, (f"{len(inventory.tasks)} tasks x {len(inventory.agents)} agents ({instances} instances); "
                  "every join code parses and names its instance")


def _storage_check(profile: Profile) -> tuple[bool, str]:
    """The task and game containers exist, and the records table (read only: nothing is made).
    A missing table is only noted: the first run creates it, and a typo shows in the name."""
    table = str(profile.storage.records_table)
    tables = {t.name for t in profile.backend.table_service().query_tables(f"TableName eq '{table}'")}
    blobs = profile.backend.blob_service()
    missing = [name for name in (profile.storage.task_container, profile.storage.game_container)
               if not blobs.get_container_client(name).exists()]
    if missing:
        return False, (f"storage answers but lacks the container(s) {', '.join(missing)}; upload the tasks "
                       "and check the platform writes game data there, or fix storage.* in the profile")
    table_note = f"table {table} exists" if table in tables else \
        f"table {table} does not exist yet (the first run creates it: check the name)"
    return True, f"task and game containers exist; {table_note}"
