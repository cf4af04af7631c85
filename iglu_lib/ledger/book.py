"""The ledger's entries and the one protocol every payment, sanction and message follows:
intent, service call, outcome (see the package's docstring for why)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from iglu_lib.errors import IgluError
from iglu_lib.storage.entity_table import EntityTable
from iglu_lib.storage.record import check_key, utc_now

if TYPE_CHECKING:
    from iglu_lib.config import Profile

log = logging.getLogger(__name__)

#: Where a payment outside any campaign (a HIT without the workbench's annotation) is booked.
UNFILED = "unfiled"
#: The ledger table's name: the records table's, with this suffix (the same table service).
TABLE_SUFFIX = "ledger"
INTENDED, DONE = "intended", "done"
ZERO = Decimal("0.00")


class Kind(str, Enum):
    """What an entry books."""

    REWARD = "reward"  # an assignment approved (its reward paid)
    REJECT = "reject"
    REVERSAL = "reversal"  # a rejection overridden: the reward paid after all
    RULE_BONUS = "rule_bonus"  # the campaign's bonus rule, one per game
    BONUS = "bonus"  # a bonus a person paid
    SOFT_BLOCK = "soft-block"
    HARD_BLOCK = "hard-block"
    MESSAGE = "message"


#: Kinds that move money, and the bonuses among them.
MONEY = (Kind.REWARD, Kind.REVERSAL, Kind.RULE_BONUS, Kind.BONUS)
BONUSES = (Kind.RULE_BONUS, Kind.BONUS)


class LedgerRefused(IgluError):
    """The ledger refused an action (the service's record contradicts it, or it would pay a
    game twice); nothing was sent."""


def normalise_reason(reason: str) -> str:
    """The reason as a person means it: a trailing space, a double space or capitals do not make
    another bonus."""
    return " ".join(str(reason).split()).casefold()


def money(amount: Any) -> str:
    """An amount as the service writes it ("0.50"), or `LedgerRefused`."""
    try:
        value = Decimal(str(amount).strip())
        cents = value.is_finite() and value >= 0 and value == value.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):  # not a number, or too many digits to count in cents
        cents = False  # pragma: no mutate: None refuses alike (only its truth is read)
    if not cents:
        raise LedgerRefused(f"{str(amount)[:40]!r} is not an amount of dollars and cents")
    return f"{value:.2f}"


def entry_key(campaign: str, kind: Kind, assignment_id: str, amount: str, reason: str, part: str = "") -> str:
    """The stable key of one intended action: the same intent always has the same key, whoever
    asks for it and however often (at most 64 characters, so it serves as the request token too)."""
    text = "\n".join((campaign, assignment_id, kind.value, amount, normalise_reason(reason), part))
    return f"iglu-{kind.value}-{hashlib.sha256(text.encode()).hexdigest()[:40]}"


@dataclass(frozen=True)
class Entry:
    """One row of the ledger."""

    campaign: str
    key: str
    kind: Kind
    assignment_id: str = ""
    worker_id: str = ""
    hit_id: str = ""
    amount: str = "0.00"
    reason: str = ""
    part: str = ""  # what else tells intents apart: the game of a rule bonus, a message's topic, a blocked worker
    source: str = "loop"
    token: str = ""
    state: str = INTENDED
    outcome: str = ""
    intended_at: str = ""
    done_at: str = ""
    etag: str | None = None

    @property
    def done(self) -> bool:
        return self.state == DONE

    @property
    def ok(self) -> bool:
        """Done and not failed (a message the service refused is done, not ok)."""
        return self.done and not self.outcome.startswith("failed")

    @property
    def value(self) -> Decimal:
        return Decimal(self.amount or "0")

    def to_entity(self) -> dict[str, Any]:
        return {"PartitionKey": self.campaign, "RowKey": self.key, "Kind": self.kind.value,
                "AssignmentId": self.assignment_id, "WorkerId": self.worker_id, "HitId": self.hit_id,
                "Amount": self.amount, "Reason": self.reason, "Part": self.part, "Source": self.source,
                "Token": self.token, "State": self.state, "Outcome": self.outcome,
                "IntendedAt": self.intended_at, "DoneAt": self.done_at}

    @classmethod
    def from_entity(cls, entity: Mapping[str, Any], etag: str | None = None) -> Entry:
        text = {name: str(entity.get(name) or "") for name in (
            "AssignmentId", "WorkerId", "HitId", "Amount", "Reason", "Part", "Source", "Token", "State",
            "Outcome", "IntendedAt", "DoneAt")}
        return cls(str(entity["PartitionKey"]), str(entity["RowKey"]), Kind(str(entity["Kind"])),
                   text["AssignmentId"], text["WorkerId"], text["HitId"], text["Amount"] or "0.00",
                   text["Reason"], text["Part"], text["Source"], text["Token"], text["State"] or INTENDED,
                   text["Outcome"], text["IntendedAt"], text["DoneAt"], etag)

    def shown(self) -> dict[str, str]:
        """The entry as a person reads it (no worker id)."""
        return {"kind": self.kind.value, "assignment_id": self.assignment_id, "hit_id": self.hit_id,
                "amount": self.amount, "reason": self.reason, "state": self.state, "outcome": self.outcome,
                "source": self.source, "at": self.done_at or self.intended_at}


@dataclass(frozen=True)
class Result:
    """What one call of the ledger did: `entry` as it stands now; `already` when it was done
    before this call; `found` when this call found it done on the service (a retry)."""

    entry: Entry
    already: bool = False
    found: bool = False

    @property
    def acted(self) -> bool:
        """Whether this call asked the service to act."""
        return not (self.already or self.found)


@dataclass(frozen=True)
class Spend:
    """Money booked in a campaign, by kind, without and with the platform's fee."""

    rewards: Decimal = ZERO
    reversals: Decimal = ZERO
    rule_bonuses: Decimal = ZERO
    bonuses: Decimal = ZERO
    fees: Decimal = ZERO
    pending: Decimal = ZERO  # intents without an outcome, fee included: maybe paid (counted by the budget)

    @property
    def bonuses_total(self) -> Decimal:
        return self.rule_bonuses + self.bonuses

    @property
    def total(self) -> Decimal:
        """What was paid: rewards, reversals, bonuses and the fee on all of them."""
        return self.rewards + self.reversals + self.rule_bonuses + self.bonuses + self.fees

    @property
    def committed(self) -> Decimal:
        """What the budget guard counts: paid, and intended but not known to be unpaid."""
        return self.total + self.pending

    def as_dict(self) -> dict[str, str]:
        return {"rewards": f"{self.rewards:.2f}", "reversals": f"{self.reversals:.2f}",
                "rule_bonuses": f"{self.rule_bonuses:.2f}", "manual_bonuses": f"{self.bonuses:.2f}",
                "fees": f"{self.fees:.2f}", "total": f"{self.total:.2f}", "pending": f"{self.pending:.2f}"}

    @classmethod
    def of(cls, entries: Iterable[Entry], fee_rate: Decimal | str | float = 0) -> Spend:
        fee = Decimal(str(fee_rate))
        sums = dict.fromkeys(MONEY, ZERO)
        pending = ZERO
        for entry in entries:
            if entry.kind not in sums:
                continue
            if entry.done:
                sums[entry.kind] += entry.value
            else:
                pending += entry.value
        paid = sum(sums.values(), ZERO)  # pragma: no mutate: the sums are Decimals already, whatever the start
        return cls(sums[Kind.REWARD], sums[Kind.REVERSAL], sums[Kind.RULE_BONUS], sums[Kind.BONUS],
                   (paid * fee).quantize(Decimal("0.01")), (pending * (1 + fee)).quantize(Decimal("0.01")))


def ledger_table_name(profile: Profile) -> str:
    from iglu_lib.storage import RecordError

    name = profile.storage.records_table
    if not name:
        raise RecordError(f"profile '{profile.name}' has no storage.records_table; the ledger lives beside it")
    return f"{name}{TABLE_SUFFIX}"


class PaidOnService(Protocol):
    """A bonus the service shows as paid (`providers.PaidBonus` is one): amount and reason."""

    @property
    def amount(self) -> Decimal: ...

    @property
    def reason(self) -> str: ...


class BonusService(Protocol):
    """What the ledger asks of a crowd service itself: to pay a bonus once per token, and the
    bonuses it paid for an assignment (its own record, read when an intent has no outcome).
    `HitManager` is one; a Prolific study campaign is another. Approvals, rejections, blocks and
    messages reach the service through the callables the caller hands to `settle`, `block` and
    `message`, so the ledger needs nothing more of it."""

    def send_bonus(self, worker_id: str, assignment_id: str, amount: str, reason: str, token: str, /, *,
                   allow_spending: bool = False) -> bool:
        """Pay; False when the service had this token's payment already (paid, not twice)."""
        ...

    def bonuses_paid(self, *, assignment_id: str) -> Sequence[PaidOnService]:
        """The bonuses the service shows paid (or begun) for the assignment."""
        ...


class Ledger:
    """The ledger of one campaign on one service (`manager`: None for a ledger opened only to
    be read, e.g. by `iglu campaign status`; it then refuses to pay)."""

    def __init__(self, table: EntityTable, campaign: str, manager: BonusService | None, *,
                 source: str = "loop") -> None:
        self.table = table
        self.campaign = check_key(campaign, "campaign name")
        self.manager = manager
        self.source = source

    @classmethod
    def open(cls, profile: Profile, campaign: str, manager: BonusService | None, *,
             source: str = "loop") -> Ledger:
        """The campaign's ledger in the profile's table service (the table made if missing)."""
        table = profile.backend.table_service().create_table_if_not_exists(ledger_table_name(profile))
        return cls(table, campaign, manager, source=source)

    # -- reading ----------------------------------------------------------------------------
    def entries(self, **equal: str) -> list[Entry]:
        """The campaign's entries (those whose columns equal `equal`, e.g. AssignmentId=...)."""
        clauses, params = ["PartitionKey eq @campaign"], {"campaign": self.campaign}
        for number, (column, value) in enumerate(sorted(equal.items())):
            clauses.append(f"{column} eq @v{number}")
            params[f"v{number}"] = value
        rows = self.table.query_entities(query_filter=" and ".join(clauses), parameters=params)
        return sorted((Entry.from_entity(row, row.metadata.get("etag")) for row in rows),
                      key=lambda e: (e.intended_at, e.key))

    def spend(self, fee_rate: Decimal | str | float = 0) -> Spend:
        return Spend.of(self.entries(), fee_rate)

    # -- money ------------------------------------------------------------------------------
    def pay_bonus(self, kind: Kind, *, worker_id: str, assignment_id: str, amount: Any, reason: str,
                  hit_id: str = "", part: str = "", token: str | None = None,
                  allow_spending: bool = False) -> Result:
        """The one way a bonus is paid (the loop's rule, `iglu campaign review`, `iglu workers
        bonus`, notebook 04): once per (assignment, amount, normalised reason) for a person's
        bonus, once per game for the rule's. A rule bonus for a game already paid in another
        assignment is refused."""
        if kind not in BONUSES:
            raise LedgerRefused(f"{kind.value} is not a bonus")
        service = self._service()
        value = money(amount)
        if kind is Kind.RULE_BONUS and part:
            self._refuse_second_rule_bonus(part, assignment_id)
        key = entry_key(self.campaign, kind, assignment_id, value, reason, part)
        draft = Entry(self.campaign, key, kind, assignment_id, worker_id, hit_id, value, reason.strip(), part,
                      self.source, (token or key)[:64])
        spending = {"allow_spending": True} if allow_spending else {}

        def send(entry: Entry) -> str:
            fresh = service.send_bonus(worker_id, assignment_id, value, entry.reason, entry.token, **spending)
            return "paid" if fresh else "paid before (the service knew its token)"

        return self._once(draft, send, self._bonus_on_service)

    def _service(self) -> BonusService:
        if self.manager is None:
            raise LedgerRefused(f"the ledger of {self.campaign} was opened without a crowd service, "
                                "to be read; open it with the campaign's service to pay")
        return self.manager

    def _refuse_second_rule_bonus(self, game: str, assignment_id: str) -> None:
        for entry in self.entries(Part=game):
            if entry.kind is Kind.RULE_BONUS and entry.assignment_id != assignment_id:
                raise LedgerRefused(f"the rule bonus of game {game} was booked for assignment "
                                    f"{entry.assignment_id} already; a game earns it once")

    def _bonus_on_service(self, entry: Entry) -> str | None:
        """Whether the service paid this intent: more matching payments (amount, normalised
        reason) for the assignment than the ledger's other entries explain."""
        wanted = (entry.amount, normalise_reason(entry.reason))
        payments = self._service().bonuses_paid(assignment_id=entry.assignment_id)
        paid = sum((money(p.amount), normalise_reason(p.reason)) == wanted for p in payments)
        explained = 0
        for other in self.entries(AssignmentId=entry.assignment_id):
            if other.key == entry.key or other.kind not in BONUSES:
                continue
            if (other.amount, normalise_reason(other.reason)) != wanted:
                continue
            earlier = (other.intended_at, other.key) < (entry.intended_at, entry.key)  # pragma: no mutate: keys differ here, so `<=` reads alike
            explained += other.done or earlier
        return "found paid on the service (ListBonusPayments)" if paid > explained else None

    def settle(self, kind: Kind, *, assignment_id: str, worker_id: str, hit_id: str, amount: Any,
               reason: str, status: Callable[[], str], call: Callable[[], None]) -> Result:
        """Approve (`REWARD`), reject (`REJECT`) or reverse a rejection (`REVERSAL`) once.

        `status()` gives the assignment's status on the service (the loop passes what it listed
        this turn; a person's command reads it); `call()` asks the service. A status that
        already shows the outcome is booked without a call; one that rules it out is refused."""
        wanted = {Kind.REWARD: "Approved", Kind.REVERSAL: "Approved", Kind.REJECT: "Rejected"}[kind]
        before = "Rejected" if kind is Kind.REVERSAL else "Submitted"
        known: list[str] = []

        def now() -> str:
            if not known:
                known.append(status())
            return known[0]

        def on_service(_: Entry) -> str | None:  # any case: MTurk's words or the providers' lower-case ones
            return f"found {wanted.lower()} on the service" if now().lower() == wanted.lower() else None

        def act(_: Entry) -> str:
            if now().lower() != before.lower():
                raise LedgerRefused(f"assignment {assignment_id} is {now()} on the service, not {before}: "
                                    f"it cannot be booked as {kind.value}")
            call()
            return wanted.lower()

        paid = self._reward_paid_as_the_other(kind, assignment_id)
        if paid is not None:
            return Result(paid, already=True)
        key = entry_key(self.campaign, kind, assignment_id, "", "")
        draft = Entry(self.campaign, key, kind, assignment_id, worker_id, hit_id,
                      money(amount) if kind is not Kind.REJECT else "0.00", reason.strip()[:1000], "",
                      self.source)
        return self._once(draft, act, on_service, check_first=True)

    def _reward_paid_as_the_other(self, kind: Kind, assignment_id: str) -> Entry | None:
        """An assignment's reward is paid once, as a reward or as a reversal: an approval asked
        after a reversal (the status then shows it approved) must not book the reward again."""
        other = {Kind.REWARD: Kind.REVERSAL, Kind.REVERSAL: Kind.REWARD}.get(kind)
        if other is None:
            return None
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entry = self._get(entry_key(self.campaign, other, assignment_id, "", ""))
        except ResourceNotFoundError:
            return None
        return entry if entry.done else None

    # -- sanctions and messages -------------------------------------------------------------
    def block(self, kind: Kind, *, worker_id: str, reason: str, call: Callable[[], None],
              hit_id: str = "") -> Result:
        """A soft or hard block of a worker, once (a retry asks the service again: blocking is
        idempotent there)."""
        key = entry_key(self.campaign, kind, "", "", "", worker_id)
        draft = Entry(self.campaign, key, kind, "", worker_id, hit_id, "0.00", reason.strip()[:1000], worker_id,
                      self.source)

        def act(_: Entry) -> str:
            call()
            return "blocked"

        return self._once(draft, act, lambda _: None)

    def message(self, topic: str, *, worker_id: str, about: str, text: str, send: Callable[[], bool],
                hit_id: str = "") -> Result:
        """A message of `topic` (warning, rejection, block) about `about` (an assignment, or the
        worker), at most once: an intent found without an outcome is not sent again (the
        service keeps no record of messages to ask)."""
        key = entry_key(self.campaign, Kind.MESSAGE, about, "", "", f"{topic}\n{worker_id}")
        draft = Entry(self.campaign, key, Kind.MESSAGE, about if about != worker_id else "", worker_id, hit_id,
                      "0.00", text[:1000], topic, self.source)

        def act(_: Entry) -> str:
            return "sent" if send() else "failed: the service refused the message"

        return self._once(draft, act, lambda _: "failed: unknown whether it was sent (not sent again)")

    # -- the protocol -----------------------------------------------------------------------
    def _once(self, draft: Entry, act: Callable[[Entry], str],
              on_service: Callable[[Entry], str | None], check_first: bool = False) -> Result:
        """Intent, call, outcome; a retry reads the ledger, then the service's own record
        (`check_first`: a first attempt too, where the caller has that record at hand)."""
        entry, created = self._intend(draft)
        if entry.done:
            return Result(entry, already=True)
        if check_first or not created:
            seen = on_service(entry)
            if seen is not None:
                log.info("ledger %s: %s %s %s", self.campaign, entry.kind.value, entry.assignment_id, seen)
                return Result(self._finish(entry, seen), found=True)
        try:
            outcome = act(entry)
        except LedgerRefused:
            self._forget(entry)  # nothing was asked of the service: no intent stays behind
            raise
        return Result(self._finish(entry, outcome))

    def _forget(self, entry: Entry) -> None:
        from azure.core import MatchConditions

        try:
            self.table.delete_entity(self.campaign, entry.key, etag=entry.etag,
                                     match_condition=MatchConditions.IfNotModified)
        except Exception as err:  # noqa: BLE001 - a refused intent left behind is only an intent
            log.warning("ledger %s: refused intent %s not removed: %s", self.campaign, entry.key, err)

    def _intend(self, draft: Entry) -> tuple[Entry, bool]:
        """The intent written (True), or the entry already there (False)."""
        from azure.core.exceptions import ResourceExistsError

        entry = replace(draft, intended_at=utc_now())
        try:
            result = self.table.create_entity(entry.to_entity())
        except ResourceExistsError:
            return self._get(draft.key), False
        return replace(entry, etag=(result or {}).get("etag")), True

    def _get(self, key: str) -> Entry:
        row = self.table.get_entity(self.campaign, key)
        return Entry.from_entity(row, row.metadata.get("etag"))

    def _finish(self, entry: Entry, outcome: str) -> Entry:
        """The outcome written (if another process wrote it first, theirs stands)."""
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError
        from azure.data.tables import UpdateMode

        done = replace(entry, state=DONE, outcome=outcome[:500], done_at=utc_now())
        try:
            result = self.table.update_entity(done.to_entity(), mode=UpdateMode.MERGE, etag=entry.etag,
                                              match_condition=MatchConditions.IfNotModified)
        except HttpResponseError as err:
            if getattr(err, "status_code", None) != 412:
                raise
            return self._get(entry.key)
        return replace(done, etag=(result or {}).get("etag"))
