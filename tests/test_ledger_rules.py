"""The ledger's rules without a stack: its keys, amounts and spend, and the protocol every
payment, sanction and message follows (intent under a stable key, service call, outcome; a retry
reads the ledger, then the service's own record), each asserted by the values and reasons it books.

`tests/test_ledger.py` and `tests/collection/test_collection_ledger.py` hold the ledger on the
real local stack; these are its fast tests (`make mutate` runs them against `ledger/book.py`).
The table is an in-memory stand-in of exactly the table-client calls the ledger makes, with the
rules it relies on: a create refused when the row exists, etags that change on every write,
conditional (`IfNotModified`) updates and deletes refused with 412 when the row moved on, and
the SDK's own checks of those arguments. The service is a recording stand-in: bonuses paid once
per request token and listed per assignment as `ListBonusPayments` does.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import UpdateMode

from iglu_lib.ledger import book
from iglu_lib.ledger.book import (
    DONE,
    INTENDED,
    Entry,
    Kind,
    Ledger,
    LedgerRefused,
    Result,
    Spend,
    entry_key,
    ledger_table_name,
    money,
    normalise_reason,
)
from iglu_lib.storage import RecordError

CAMPAIGN = "camp"


# -- stand-ins --------------------------------------------------------------------------------
class Row(dict[str, Any]):
    """An entity as the SDK returns it: its columns, and its etag in `metadata`."""

    def __init__(self, columns: dict[str, Any], etag: str) -> None:
        super().__init__(columns)
        self.metadata = {"etag": etag}


def http_error(error: type[HttpResponseError], status: int, message: str) -> HttpResponseError:
    err = error(message=message)
    err.status_code = status
    return err


class Table:
    """The table-client methods the ledger calls, in memory, with the service's write rules."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        self.writes = itertools.count(1)

    def _condition(self, etag: str | None, match_condition: Any, key: tuple[str, str]) -> None:
        """The SDK's argument check, then the service's: 412 when the row's etag moved on."""
        if match_condition == MatchConditions.IfNotModified:
            if not etag:
                raise ValueError("IfNotModified must be specified with etag.")
            if key in self.rows and self.rows[key][1] != etag:
                raise http_error(ResourceModifiedError, 412, "The update condition specified in the request was not satisfied.")
        elif match_condition in (None, MatchConditions.Unconditionally):
            if etag:
                raise ValueError("Etag is not supported for an Unconditional operation.")
        else:
            raise ValueError(f"Unsupported match condition: {match_condition}")

    def _store(self, columns: dict[str, Any]) -> dict[str, Any]:
        etag = f'W/"datetime\'{next(self.writes)}\'"'
        self.rows[(columns["PartitionKey"], columns["RowKey"])] = (dict(columns), etag)
        return {"etag": etag}

    def create_entity(self, entity: dict[str, Any]) -> dict[str, Any]:
        if (entity["PartitionKey"], entity["RowKey"]) in self.rows:
            raise http_error(ResourceExistsError, 409, "The specified entity already exists.")
        return self._store(entity)

    def get_entity(self, partition_key: str, row_key: str) -> Row:
        if (partition_key, row_key) not in self.rows:
            raise http_error(ResourceNotFoundError, 404, "The specified resource does not exist.")
        columns, etag = self.rows[(partition_key, row_key)]
        return Row(columns, etag)

    def update_entity(self, entity: dict[str, Any], mode: UpdateMode = UpdateMode.MERGE, *,
                      etag: str | None = None, match_condition: Any = None) -> dict[str, Any]:
        key = (entity["PartitionKey"], entity["RowKey"])
        self._condition(etag, match_condition, key)
        if mode not in (UpdateMode.MERGE, UpdateMode.REPLACE):
            raise ValueError(f"Mode type '{mode}' is not supported.")
        if key not in self.rows:
            raise http_error(ResourceNotFoundError, 404, "The specified resource does not exist.")
        base = self.rows[key][0] if mode is UpdateMode.MERGE else {}
        return self._store({**base, **entity})

    def delete_entity(self, partition_key: str, row_key: str, *, etag: str | None = None,
                      match_condition: Any = None) -> None:
        key = (partition_key, row_key)
        self._condition(etag, match_condition, key)
        self.rows.pop(key, None)  # the SDK takes a missing row as deleted

    def query_entities(self, query_filter: str, *, parameters: dict[str, Any]) -> list[Row]:
        """Rows matching `Column eq @name and ...` (the only filters the ledger writes), in key order."""
        clauses = [re.fullmatch(r"(\w+) eq @(\w+)", clause) for clause in query_filter.split(" and ")]
        if not all(clauses):
            raise HttpResponseError(message=f"unsupported filter {query_filter!r}")
        wanted = [(match[1], parameters[match[2]]) for match in clauses if match]
        found = [Row(columns, etag) for (columns, etag) in self.rows.values()
                 if all(columns.get(column) == value for column, value in wanted)]
        return sorted(found, key=lambda row: (row["PartitionKey"], row["RowKey"]))

    def row(self, key: str, campaign: str = CAMPAIGN) -> dict[str, Any]:
        return self.rows[(campaign, key)][0]


class Service:
    """The HIT manager's bonus calls: paid once per token, listed per assignment."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []
        self.payments: list[dict[str, str]] = []
        self.tokens: set[str] = set()
        self.asked: list[str] = []

    def send_bonus(self, worker_id: str, assignment_id: str, amount: str, reason: str, token: str,
                   **options: bool) -> bool:
        self.sent.append((worker_id, assignment_id, amount, reason, token, options))
        if token in self.tokens:
            return False
        self.tokens.add(token)
        self.payments.append({"WorkerId": worker_id, "AssignmentId": assignment_id, "BonusAmount": amount,
                              "Reason": reason})
        return True

    def bonus_payments(self, *, assignment_id: str) -> list[dict[str, str]]:
        self.asked.append(assignment_id)
        return [dict(p) for p in self.payments if p["AssignmentId"] == assignment_id]

    def bonuses_paid(self, *, assignment_id: str) -> list[Any]:
        from iglu_lib.providers import PaidBonus

        return [PaidBonus(Decimal(p["BonusAmount"]), p.get("Reason", "")) for p in self.bonus_payments(assignment_id=assignment_id)]

    def paid_elsewhere(self, assignment_id: str, amount: str, reason: str) -> None:
        """A payment the ledger did not see go out (a crash before its outcome was written)."""
        self.payments.append({"WorkerId": "W1", "AssignmentId": assignment_id, "BonusAmount": amount, "Reason": reason})


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ledger timestamp one microsecond after the previous, so order is deterministic."""
    ticks = itertools.count(1)
    monkeypatch.setattr(book, "utc_now", lambda: f"2026-12-05T03:00:00.{next(ticks):06d}+00:00")


@pytest.fixture
def table() -> Table:
    return Table()


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
def ledger(table: Table, service: Service) -> Ledger:
    return Ledger(table, CAMPAIGN, service)


def reference_key(kind: str, *fields: str) -> str:
    """The key as the ledger's docstring defines it, computed here independently."""
    return f"iglu-{kind}-{hashlib.sha256(chr(10).join(fields).encode()).hexdigest()[:40]}"


def bonus(ledger: Ledger, kind: Kind = Kind.BONUS, **changes: Any) -> Result:
    pay = {"worker_id": "W1", "assignment_id": "A1", "amount": "0.25", "reason": "many turns"}
    return ledger.pay_bonus(kind, **{**pay, **changes})


def intent_left(ledger: Ledger, kind: Kind = Kind.BONUS, **changes: Any) -> Entry:
    """An intent without an outcome, as a process that died after writing it leaves it."""
    fields = {"assignment_id": "A1", "worker_id": "W1", "amount": "0.25", "reason": "many turns", "part": "",
              **changes}
    key = entry_key(CAMPAIGN, kind, fields["assignment_id"], fields["amount"], fields["reason"], fields["part"])
    draft = Entry(CAMPAIGN, key, kind, fields["assignment_id"], fields["worker_id"], "", fields["amount"],
                  fields["reason"], fields["part"], "loop", key)
    entry, created = ledger._intend(draft)
    assert created
    return entry


# -- pure rules -------------------------------------------------------------------------------
def test_a_reason_is_read_as_a_person_means_it() -> None:
    assert normalise_reason("  Great \t  Work\n") == "great work"
    assert normalise_reason("STRASSE") == normalise_reason("Straße") == "strasse", "case folded, not lowered"
    assert normalise_reason("") == ""


def test_an_amount_is_dollars_and_cents_or_refused() -> None:
    assert money("0.5") == "0.50" and money(" 1 ") == "1.00" and money(Decimal("2.25")) == "2.25"
    assert money(3) == "3.00" and money("0") == "0.00" and money("0.000") == "0.00"
    for wrong in ("-0.01", "0.001", "0.125", "abc", "", "NaN", "Infinity", "-Infinity", None):
        with pytest.raises(LedgerRefused, match="is not an amount of dollars and cents"):
            money(wrong)
    with pytest.raises(LedgerRefused) as refused:
        money("9" * 60 + "x")
    assert str(refused.value) == f"{'9' * 40!r} is not an amount of dollars and cents"
    with pytest.raises(LedgerRefused) as refused:
        money("1" * 30 + ".001")
    assert str(refused.value) == f"{('1' * 30 + '.001')[:40]!r} is not an amount of dollars and cents"


def test_an_intents_key_is_stable_and_tells_every_field_apart() -> None:
    key = entry_key("c", Kind.BONUS, "A1", "1.00", "  Great   WORK ", "game-1")
    assert key == reference_key("bonus", "c", "A1", "bonus", "1.00", "great work", "game-1")
    assert len(key) == len("iglu-bonus-") + 40
    assert max(len(entry_key("c", kind, "A" * 300, "1.00", "r" * 900, "p" * 300)) for kind in Kind) <= 64
    assert entry_key("c", Kind.REWARD, "A1", "", "") == reference_key("reward", "c", "A1", "reward", "", "", "")
    assert key == entry_key("c", Kind.BONUS, "A1", "1.00", "great work", "game-1")
    others = [entry_key("d", Kind.BONUS, "A1", "1.00", "great work", "game-1"),
              entry_key("c", Kind.RULE_BONUS, "A1", "1.00", "great work", "game-1"),
              entry_key("c", Kind.BONUS, "A2", "1.00", "great work", "game-1"),
              entry_key("c", Kind.BONUS, "A1", "1.01", "great work", "game-1"),
              entry_key("c", Kind.BONUS, "A1", "1.00", "great work!", "game-1"),
              entry_key("c", Kind.BONUS, "A1", "1.00", "great work", "game-2"),
              entry_key("c", Kind.BONUS, "A1", "1.00", "great work")]
    assert len({key, *others}) == 1 + len(others)


def test_an_entry_is_done_ok_and_valued_by_its_columns() -> None:
    assert not Entry("c", "k", Kind.BONUS).done and not Entry("c", "k", Kind.BONUS).ok
    assert Entry("c", "k", Kind.BONUS, state=DONE, outcome="paid").ok
    refused = Entry("c", "k", Kind.MESSAGE, state=DONE, outcome="failed: the service refused the message")
    assert refused.done and not refused.ok
    assert Entry("c", "k", Kind.MESSAGE, state=DONE, outcome="sent; failed later").ok, "only a leading 'failed'"
    assert Entry("c", "k", Kind.BONUS, amount="1.25").value == Decimal("1.25")
    assert Entry("c", "k", Kind.BONUS, amount="").value == Decimal("0")


def test_an_entry_is_one_row_of_the_table_and_read_back_whole() -> None:
    entry = Entry("c", "k", Kind.RULE_BONUS, "A1", "W1", "H1", "0.25", "why", "game-1", "manual", "tok", DONE,
                  "paid", "t1", "t2", "etag-1")
    row = entry.to_entity()
    assert row == {"PartitionKey": "c", "RowKey": "k", "Kind": "rule_bonus", "AssignmentId": "A1", "WorkerId": "W1",
                   "HitId": "H1", "Amount": "0.25", "Reason": "why", "Part": "game-1", "Source": "manual",
                   "Token": "tok", "State": "done", "Outcome": "paid", "IntendedAt": "t1", "DoneAt": "t2"}
    assert Entry.from_entity(row, "etag-1") == entry
    assert Entry.from_entity(row).etag is None
    bare = Entry.from_entity({"PartitionKey": "c", "RowKey": "k", "Kind": "message", "Reason": None})
    assert bare == Entry("c", "k", Kind.MESSAGE, amount="0.00", source="", state=INTENDED)
    assert Entry.from_entity({**row, "Amount": "", "State": ""}).amount == "0.00"
    assert Entry.from_entity({**row, "Amount": "", "State": ""}).state == INTENDED


def test_an_entry_is_shown_without_its_worker() -> None:
    entry = Entry("c", "k", Kind.BONUS, "A1", "W1", "H1", "0.25", "why", "p", "manual", "tok", DONE, "paid",
                  "t1", "t2")
    assert entry.shown() == {"kind": "bonus", "assignment_id": "A1", "hit_id": "H1", "amount": "0.25",
                             "reason": "why", "state": "done", "outcome": "paid", "source": "manual", "at": "t2"}
    assert replace_done_at(entry).shown()["at"] == "t1", "an intent is shown at when it was intended"


def replace_done_at(entry: Entry) -> Entry:
    from dataclasses import replace

    return replace(entry, done_at="")


def test_a_result_acted_only_when_it_asked_the_service() -> None:
    entry = Entry("c", "k", Kind.BONUS)
    assert Result(entry).acted
    assert not Result(entry, already=True).acted and not Result(entry, found=True).acted


def test_spend_sums_each_kind_apart_with_the_fee_and_counts_pending_intents_as_committed() -> None:
    entries = [Entry("c", "x", Kind.REJECT, amount="9.00", state=DONE),  # moves no money, even with an amount
               Entry("c", "y", Kind.MESSAGE, amount="9.00"),
               Entry("c", "k1", Kind.REWARD, amount="0.50", state=DONE),
               Entry("c", "k2", Kind.REWARD, amount="0.50", state=DONE),
               Entry("c", "k3", Kind.REVERSAL, amount="0.30", state=DONE),
               Entry("c", "k4", Kind.RULE_BONUS, amount="0.10", state=DONE),
               Entry("c", "k5", Kind.BONUS, amount="2.00", state=DONE),
               Entry("c", "k6", Kind.BONUS, amount="1.00"),
               Entry("c", "k7", Kind.REWARD, amount="0.05")]
    spend = Spend.of(entries, "0.2")
    assert (spend.rewards, spend.reversals, spend.rule_bonuses, spend.bonuses) == (
        Decimal("1.00"), Decimal("0.30"), Decimal("0.10"), Decimal("2.00"))
    assert spend.fees == Decimal("0.68") and spend.pending == Decimal("1.26")
    assert spend.total == Decimal("4.08") and spend.committed == Decimal("5.34")
    assert spend.bonuses_total == Decimal("2.10")
    assert spend.as_dict() == {"rewards": "1.00", "reversals": "0.30", "rule_bonuses": "0.10",
                               "manual_bonuses": "2.00", "fees": "0.68", "total": "4.08", "pending": "1.26"}
    assert Spend.of(entries) == Spend(Decimal("1.00"), Decimal("0.30"), Decimal("0.10"), Decimal("2.00"),
                                      Decimal("0.00"), Decimal("1.05"))
    assert Spend.of([]) == Spend() and Spend().as_dict()["total"] == "0.00"


def test_spend_rounds_fees_to_cents() -> None:
    spend = Spend.of([Entry("c", "k", Kind.BONUS, amount="0.05", state=DONE),
                      Entry("c", "i", Kind.BONUS, amount="0.05")], 0.25)
    assert spend.fees == Decimal("0.01") and spend.pending == Decimal("0.06")  # 0.0125 and 0.0625
    assert str(spend.fees) == "0.01" and str(spend.pending) == "0.06"


def test_the_ledger_lives_beside_the_records_table_and_names_a_missing_one() -> None:
    profile = SimpleNamespace(name="lab", storage=SimpleNamespace(records_table="igluRecords"))
    assert ledger_table_name(profile) == "igluRecordsledger"  # type: ignore[arg-type]
    with pytest.raises(RecordError) as missing:
        ledger_table_name(SimpleNamespace(name="lab", storage=SimpleNamespace(records_table="")))  # type: ignore[arg-type]
    assert str(missing.value) == "profile 'lab' has no storage.records_table; the ledger lives beside it"


def test_a_ledger_opens_its_table_in_the_profiles_service(table: Table, service: Service) -> None:
    made: list[str] = []

    def create_table_if_not_exists(name: str) -> Table:
        made.append(name)
        return table

    tables = SimpleNamespace(create_table_if_not_exists=create_table_if_not_exists)
    profile = SimpleNamespace(name="lab", storage=SimpleNamespace(records_table="igluRecords"),
                              backend=SimpleNamespace(table_service=lambda: tables))
    opened = Ledger.open(profile, CAMPAIGN, service, source="manual")  # type: ignore[arg-type]
    assert made == ["igluRecordsledger"] and opened.table is table and opened.manager is service
    assert (opened.campaign, opened.source) == (CAMPAIGN, "manual")
    assert Ledger.open(profile, CAMPAIGN, service).source == "loop"  # type: ignore[arg-type]
    assert Ledger(table, CAMPAIGN, service).source == "loop"
    with pytest.raises(RecordError) as refused:
        Ledger(table, "a/b", service)
    assert str(refused.value).startswith("campaign name 'a/b' cannot be a table key")


# -- reading ----------------------------------------------------------------------------------
def test_entries_are_the_campaigns_own_filtered_by_column_in_the_order_intended(ledger: Ledger, table: Table) -> None:
    late = Entry(CAMPAIGN, "a-late", Kind.BONUS, "A1", intended_at="t3")
    early = Entry(CAMPAIGN, "b-early", Kind.BONUS, "A1", intended_at="t1", part="g")
    other = Entry(CAMPAIGN, "c-other", Kind.BONUS, "A2", intended_at="t2", part="g")
    foreign = Entry("elsewhere", "d", Kind.BONUS, "A1", intended_at="t0")
    tags = {entry.key: table._store(entry.to_entity())["etag"] for entry in (late, early, other, foreign)}
    assert [e.key for e in ledger.entries()] == ["b-early", "c-other", "a-late"]
    assert [e.key for e in ledger.entries(AssignmentId="A1")] == ["b-early", "a-late"]
    assert [e.key for e in ledger.entries(Part="g", AssignmentId="A2")] == ["c-other"]
    assert [e.key for e in ledger.entries(AssignmentId="A1", Kind="reward")] == []
    assert all(e.etag == tags[e.key] for e in ledger.entries())


def test_spend_is_read_from_the_ledger_with_the_fee(ledger: Ledger, table: Table) -> None:
    table._store(Entry(CAMPAIGN, "k", Kind.REWARD, amount="1.00", state=DONE).to_entity())
    table._store(Entry("other", "k", Kind.REWARD, amount="5.00", state=DONE).to_entity())
    assert ledger.spend("0.2").total == Decimal("1.20") and ledger.spend().total == Decimal("1.00")


# -- bonuses ----------------------------------------------------------------------------------
def test_a_bonus_is_intended_then_paid_then_booked_under_its_key(ledger: Ledger, table: Table, service: Service) -> None:
    result = bonus(ledger, reason="  Many   turns ", hit_id="H1")
    key = reference_key("bonus", CAMPAIGN, "A1", "bonus", "0.25", "many turns", "")
    assert result.acted and result.entry.key == key
    assert service.sent == [("W1", "A1", "0.25", "Many   turns", key, {})]
    assert service.asked == [], "a first attempt pays without asking the service's record"
    assert table.row(key) == {"PartitionKey": CAMPAIGN, "RowKey": key, "Kind": "bonus", "AssignmentId": "A1",
                              "WorkerId": "W1", "HitId": "H1", "Amount": "0.25", "Reason": "Many   turns",
                              "Part": "", "Source": "loop", "Token": key, "State": "done", "Outcome": "paid",
                              "IntendedAt": "2026-12-05T03:00:00.000001+00:00",
                              "DoneAt": "2026-12-05T03:00:00.000002+00:00"}
    assert result.entry == Entry.from_entity(table.row(key), table.rows[(CAMPAIGN, key)][1])


def test_a_bonus_asked_again_however_spelled_is_not_paid_again(ledger: Ledger, service: Service) -> None:
    first = bonus(ledger, amount="0.5")
    again = bonus(ledger, amount=" 0.50", reason="MANY  turns")
    assert again.already and not again.found and not again.acted and again.entry == first.entry
    assert len(service.sent) == 1 and service.asked == []
    assert bonus(ledger, amount="0.51").acted and bonus(ledger, reason="many turns!").acted
    assert bonus(ledger, assignment_id="A2").acted and bonus(ledger, Kind.RULE_BONUS).acted
    assert len(service.sent) == 5


def test_a_bonus_carries_its_token_spending_permission_and_the_services_answer(ledger: Ledger, service: Service) -> None:
    token = "t" * 70
    paid = bonus(ledger, token=token, allow_spending=True)
    assert service.sent == [("W1", "A1", "0.25", "many turns", "t" * 64, {"allow_spending": True})]
    assert paid.entry.token == "t" * 64 and paid.entry.outcome == "paid"
    service.tokens.add("known")
    again = bonus(ledger, amount="0.30", token="known", allow_spending=False)
    assert service.sent[-1][4:] == ("known", {}) and again.acted
    assert again.entry.outcome == "paid before (the service knew its token)"


@pytest.mark.parametrize("kind", [Kind.REWARD, Kind.REJECT, Kind.REVERSAL, Kind.SOFT_BLOCK, Kind.HARD_BLOCK,
                                  Kind.MESSAGE])
def test_only_bonuses_are_paid_as_bonuses(ledger: Ledger, table: Table, service: Service, kind: Kind) -> None:
    with pytest.raises(LedgerRefused) as refused:
        bonus(ledger, kind)
    assert str(refused.value) == f"{kind.value} is not a bonus"
    assert service.sent == [] and table.rows == {}


def test_a_bonus_of_no_amount_is_refused_before_anything_is_written(ledger: Ledger, table: Table, service: Service) -> None:
    with pytest.raises(LedgerRefused, match="not an amount"):
        bonus(ledger, amount="0.255")
    assert service.sent == [] and table.rows == {}


def test_a_games_rule_bonus_is_paid_once_whichever_assignment_claims_it(ledger: Ledger, table: Table,
                                                                        service: Service) -> None:
    first = bonus(ledger, Kind.RULE_BONUS, part="game-1")
    assert first.entry.part == "game-1" and first.entry.key == reference_key(
        "rule_bonus", CAMPAIGN, "A1", "rule_bonus", "0.25", "many turns", "game-1")
    with pytest.raises(LedgerRefused) as refused:
        bonus(ledger, Kind.RULE_BONUS, part="game-1", assignment_id="A2", amount="0.30", reason="other")
    assert str(refused.value) == ("the rule bonus of game game-1 was booked for assignment A1 already; "
                                  "a game earns it once")
    assert len(service.sent) == 1 and len(table.rows) == 1
    assert bonus(ledger, Kind.RULE_BONUS, part="game-1", amount="0.10").acted, "the same assignment, another amount"
    assert bonus(ledger, Kind.RULE_BONUS, part="game-2", assignment_id="A2").acted
    assert bonus(ledger, Kind.BONUS, part="game-1", assignment_id="A3").acted, "a person's bonus is not the rule's"
    assert bonus(ledger, Kind.RULE_BONUS, part="", assignment_id="A4").acted
    assert bonus(ledger, Kind.RULE_BONUS, part="", assignment_id="A5").acted, "no game named, nothing to compare"


def test_a_game_claimed_by_another_kind_of_entry_does_not_block_its_rule_bonus(ledger: Ledger) -> None:
    bonus(ledger, Kind.BONUS, part="game-1", assignment_id="A9")
    ledger.message("game-1", worker_id="W1", about="A8", text="hi", send=lambda: True)
    assert bonus(ledger, Kind.RULE_BONUS, part="game-1").acted


def test_an_intent_found_paid_on_the_service_is_booked_without_paying(ledger: Ledger, service: Service,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    left = intent_left(ledger)
    service.paid_elsewhere("A1", "0.25", "Many Turns ")
    with caplog.at_level(logging.INFO, logger=book.__name__):
        result = bonus(ledger)
    assert result.found and not result.already and not result.acted and service.sent == []
    assert service.asked == ["A1"]
    assert result.entry.outcome == "found paid on the service (ListBonusPayments)" and result.entry.done
    assert result.entry.key == left.key and result.entry.intended_at == left.intended_at
    assert caplog.messages == [f"ledger {CAMPAIGN}: bonus A1 found paid on the service (ListBonusPayments)"]
    assert bonus(ledger).already and service.asked == ["A1"]


@pytest.mark.parametrize(("amount", "reason"), [("0.26", "many turns"), ("0.25", "many turns!"), ("2.50", "many turns")])
def test_an_intent_the_service_has_not_paid_is_paid(ledger: Ledger, service: Service, amount: str, reason: str) -> None:
    intent_left(ledger)
    service.paid_elsewhere("A1", amount, reason)
    service.paid_elsewhere("A2", "0.25", "many turns")
    result = bonus(ledger)
    assert result.acted and result.entry.outcome == "paid" and service.asked == ["A1"]
    assert len(service.sent) == 1


def test_a_payment_without_a_reason_matches_an_intent_without_one(ledger: Ledger, service: Service) -> None:
    intent_left(ledger, reason="")
    service.payments.append({"AssignmentId": "A1", "BonusAmount": "0.25"})
    assert bonus(ledger, reason="").found


def test_two_equal_bonuses_interrupted_are_settled_in_the_order_intended(ledger: Ledger, service: Service) -> None:
    """Two games of one assignment earn the same amount for the same reason; only the first was
    paid before the crash. The first intended is found paid, the second is paid."""
    intent_left(ledger, Kind.RULE_BONUS, part="game-b")  # intended first, though its key may sort last
    intent_left(ledger, Kind.RULE_BONUS, part="game-a")
    service.paid_elsewhere("A1", "0.25", "many turns")
    assert bonus(ledger, Kind.RULE_BONUS, part="game-b").found
    assert bonus(ledger, Kind.RULE_BONUS, part="game-a").acted and len(service.sent) == 1


def test_the_later_intent_settled_first_is_paid_when_only_one_payment_is_seen(ledger: Ledger, service: Service) -> None:
    intent_left(ledger, Kind.RULE_BONUS, part="game-b")
    intent_left(ledger, Kind.RULE_BONUS, part="game-a")
    service.paid_elsewhere("A1", "0.25", "many turns")
    assert bonus(ledger, Kind.RULE_BONUS, part="game-a").acted, "the one payment is the earlier intent's"
    assert bonus(ledger, Kind.RULE_BONUS, part="game-b").found


def test_a_payment_explained_by_a_done_entry_does_not_settle_another_intent(ledger: Ledger, service: Service) -> None:
    intent_left(ledger, Kind.RULE_BONUS, part="game-a")
    bonus(ledger, Kind.RULE_BONUS, part="game-b")  # paid and booked, after game-a's intent
    assert len(service.payments) == 1
    assert bonus(ledger, Kind.RULE_BONUS, part="game-a").acted and len(service.payments) == 2
    service.paid_elsewhere("A1", "0.25", "many turns")  # a third payment, a duplicate made elsewhere
    intent_left(ledger, Kind.RULE_BONUS, part="game-c")
    assert bonus(ledger, Kind.RULE_BONUS, part="game-c").found, "three paid, two explained"


def test_every_done_entry_explains_one_payment(ledger: Ledger, service: Service) -> None:
    bonus(ledger, Kind.RULE_BONUS, part="game-a")
    bonus(ledger, Kind.RULE_BONUS, part="game-b")
    intent_left(ledger, Kind.RULE_BONUS, part="game-c")
    assert bonus(ledger, Kind.RULE_BONUS, part="game-c").acted, "two paid, two explained"
    assert len(service.payments) == 3


def test_entries_that_are_not_equal_bonuses_explain_no_payment(ledger: Ledger, table: Table, service: Service) -> None:
    done = {"state": DONE, "outcome": "x", "intended_at": "2026-12-05T02:00:00+00:00"}
    for entry in [Entry(CAMPAIGN, "r", Kind.REWARD, "A1", amount="0.25", reason="many turns", **done),
                  Entry(CAMPAIGN, "d1", Kind.BONUS, "A1", amount="0.26", reason="many turns", **done),
                  Entry(CAMPAIGN, "d2", Kind.BONUS, "A1", amount="0.25", reason="few turns", **done),
                  Entry(CAMPAIGN, "d3", Kind.BONUS, "A2", amount="0.25", reason="many turns", **done)]:
        table._store(entry.to_entity())
    intent_left(ledger)
    service.paid_elsewhere("A1", "0.25", "many turns")
    assert bonus(ledger).found


def test_a_payment_explained_by_an_earlier_intent_of_another_kind_of_bonus(ledger: Ledger, service: Service) -> None:
    intent_left(ledger, Kind.BONUS)
    intent_left(ledger, Kind.RULE_BONUS, part="game-a")
    service.paid_elsewhere("A1", "0.25", "many turns")
    assert bonus(ledger, Kind.RULE_BONUS, part="game-a").acted
    assert bonus(ledger, Kind.BONUS).found


# -- settling an assignment -------------------------------------------------------------------
def settle(ledger: Ledger, kind: Kind, status: str, calls: list[str], **changes: Any) -> Result:
    statuses: list[str] = []

    def read() -> str:
        statuses.append(status)
        calls.append("status")
        return status

    fields = {"assignment_id": "A1", "worker_id": "W1", "hit_id": "H1", "amount": "0.50", "reason": " fine "}
    result = ledger.settle(kind, **{**fields, **changes}, status=read, call=lambda: calls.append(kind.value))
    assert len(statuses) <= 1, "the status is read once per call"
    return result


@pytest.mark.parametrize(("kind", "before", "outcome", "amount"), [
    (Kind.REWARD, "Submitted", "approved", "0.50"), (Kind.REVERSAL, "Rejected", "approved", "0.50"),
    (Kind.REJECT, "Submitted", "rejected", "0.00")])
def test_a_settlement_asks_the_service_once_from_the_status_it_needs(ledger: Ledger, table: Table, kind: Kind,
                                                                    before: str, outcome: str, amount: str) -> None:
    calls: list[str] = []
    result = settle(ledger, kind, before, calls)
    assert result.acted and calls == ["status", kind.value]
    key = reference_key(kind.value, CAMPAIGN, "A1", kind.value, "", "", "")
    assert result.entry.key == key and result.entry.outcome == outcome and result.entry.done
    assert table.row(key)["Amount"] == amount and table.row(key)["Reason"] == "fine"
    assert (result.entry.hit_id, result.entry.worker_id, result.entry.assignment_id) == ("H1", "W1", "A1")
    again = settle(ledger, kind, before, calls, reason="another reason", amount="0.70")
    assert again.already and again.entry == result.entry and calls == ["status", kind.value]


@pytest.mark.parametrize(("first", "before", "then"), [
    (Kind.REVERSAL, "Rejected", Kind.REWARD), (Kind.REWARD, "Submitted", Kind.REVERSAL)])
def test_a_reward_paid_one_way_is_not_booked_again_the_other(ledger: Ledger, table: Table, first: Kind,
                                                            before: str, then: Kind) -> None:
    calls: list[str] = []
    paid = settle(ledger, first, before, calls)
    again = settle(ledger, then, "Approved", calls)
    assert again.already and again.entry == paid.entry and calls == ["status", first.value]
    assert ledger.spend().as_dict()["total"] == "0.50" and len(table.rows) == 1


def _timed_out() -> None:
    """A service call that never answered."""
    raise RuntimeError("the service timed out")


def test_an_undone_reward_of_the_other_kind_does_not_stop_the_settlement(ledger: Ledger, table: Table) -> None:
    with pytest.raises(RuntimeError):
        ledger.settle(Kind.REVERSAL, assignment_id="A1", worker_id="W1", hit_id="H1", amount="0.50", reason="ok",
                      status=lambda: "Rejected", call=_timed_out)
    calls: list[str] = []
    assert settle(ledger, Kind.REWARD, "Submitted", calls).acted and calls == ["status", "reward"]


@pytest.mark.parametrize(("kind", "shown", "outcome"), [
    (Kind.REWARD, "Approved", "found approved on the service"),
    (Kind.REVERSAL, "Approved", "found approved on the service"),
    (Kind.REJECT, "Rejected", "found rejected on the service")])
def test_a_status_that_shows_the_outcome_is_booked_without_a_call(ledger: Ledger, kind: Kind, shown: str,
                                                                 outcome: str) -> None:
    calls: list[str] = []
    result = settle(ledger, kind, shown, calls)
    assert result.found and result.entry.outcome == outcome and calls == ["status"]


@pytest.mark.parametrize(("kind", "status", "before"), [
    (Kind.REWARD, "Rejected", "Submitted"), (Kind.REJECT, "Approved", "Submitted"),
    (Kind.REVERSAL, "Submitted", "Rejected"), (Kind.REWARD, "Unknown", "Submitted")])
def test_a_status_that_rules_the_settlement_out_is_refused_and_leaves_no_intent(
        ledger: Ledger, table: Table, kind: Kind, status: str, before: str) -> None:
    calls: list[str] = []
    with pytest.raises(LedgerRefused) as refused:
        settle(ledger, kind, status, calls)
    assert str(refused.value) == (f"assignment A1 is {status} on the service, not {before}: "
                                  f"it cannot be booked as {kind.value}")
    assert calls == ["status"] and table.rows == {}


def test_a_settlement_cuts_its_reason_and_refuses_a_wrong_amount(ledger: Ledger, table: Table) -> None:
    calls: list[str] = []
    long = settle(ledger, Kind.REWARD, "Submitted", calls, reason=" " + "r" * 1001)
    assert long.entry.reason == "r" * 1000
    with pytest.raises(LedgerRefused, match="not an amount"):
        settle(ledger, Kind.REVERSAL, "Rejected", calls, assignment_id="A3", amount="x")
    assert settle(ledger, Kind.REJECT, "Submitted", calls, assignment_id="A2", amount="x").entry.amount == "0.00"


def test_a_failed_call_leaves_its_intent_for_the_retry_to_settle(ledger: Ledger, table: Table) -> None:
    with pytest.raises(RuntimeError):
        ledger.settle(Kind.REWARD, assignment_id="A1", worker_id="W1", hit_id="", amount="0.50", reason="ok",
                      status=lambda: "Submitted", call=_timed_out)
    [left] = ledger.entries()
    assert not left.done
    calls: list[str] = []
    assert settle(ledger, Kind.REWARD, "Approved", calls).found and calls == ["status"]


# -- blocks and messages ----------------------------------------------------------------------
def test_a_block_is_booked_once_per_worker_and_kind(ledger: Ledger, table: Table) -> None:
    calls: list[str] = []
    soft = ledger.block(Kind.SOFT_BLOCK, worker_id="W1", reason=" " + "b" * 1001, call=lambda: calls.append("soft"),
                        hit_id="H1")
    key = reference_key("soft-block", CAMPAIGN, "", "soft-block", "", "", "W1")
    assert soft.acted and soft.entry.key == key and soft.entry.outcome == "blocked" and calls == ["soft"]
    assert table.row(key) | {"IntendedAt": "", "DoneAt": "", "Reason": ""} == Entry(
        CAMPAIGN, key, Kind.SOFT_BLOCK, "", "W1", "H1", "0.00", "", "W1", "loop", "", DONE, "blocked").to_entity()
    assert soft.entry.reason == "b" * 1000
    assert ledger.block(Kind.SOFT_BLOCK, worker_id="W1", reason="again", call=lambda: calls.append("soft")).already
    assert ledger.block(Kind.HARD_BLOCK, worker_id="W1", reason="x", call=lambda: calls.append("hard")).acted
    assert ledger.block(Kind.SOFT_BLOCK, worker_id="W2", reason="x", call=lambda: calls.append("soft2")).acted
    assert calls == ["soft", "hard", "soft2"]


def test_a_block_left_without_an_outcome_is_asked_again(ledger: Ledger) -> None:
    key = entry_key(CAMPAIGN, Kind.HARD_BLOCK, "", "", "", "W1")
    ledger._intend(Entry(CAMPAIGN, key, Kind.HARD_BLOCK, "", "W1", "", "0.00", "fraud", "W1"))
    calls: list[str] = []
    result = ledger.block(Kind.HARD_BLOCK, worker_id="W1", reason="fraud", call=lambda: calls.append("block"))
    assert result.acted and calls == ["block"] and result.entry.outcome == "blocked"


def test_a_message_is_sent_once_per_topic_subject_and_worker(ledger: Ledger, table: Table) -> None:
    sent: list[str] = []

    def send(ok: bool = True) -> Any:
        return lambda: sent.append("x") or ok

    first = ledger.message("warning", worker_id="W1", about="A1", text="t" * 1001, send=send(), hit_id="H1")
    key = reference_key("message", CAMPAIGN, "A1", "message", "", "", "warning\nW1")
    assert first.acted and first.entry.key == key and first.entry.outcome == "sent" and first.entry.ok
    assert (first.entry.assignment_id, first.entry.part, first.entry.hit_id) == ("A1", "warning", "H1")
    assert first.entry.reason == "t" * 1000 and first.entry.amount == "0.00"
    assert ledger.message("warning", worker_id="W1", about="A1", text="other", send=send()).already
    assert ledger.message("rejection", worker_id="W1", about="A1", text="x", send=send()).acted
    assert ledger.message("warning", worker_id="W2", about="A1", text="x", send=send()).acted
    worker = ledger.message("block", worker_id="W1", about="W1", text="x", send=send())
    assert worker.entry.assignment_id == "" and worker.entry.worker_id == "W1"
    assert len(sent) == 4


def test_a_message_the_service_refused_is_done_but_not_ok(ledger: Ledger) -> None:
    refused = ledger.message("warning", worker_id="W1", about="A1", text="x", send=lambda: False)
    assert refused.acted and refused.entry.done and not refused.entry.ok
    assert refused.entry.outcome == "failed: the service refused the message"


def test_a_message_left_without_an_outcome_is_never_sent_again(ledger: Ledger) -> None:
    key = entry_key(CAMPAIGN, Kind.MESSAGE, "A1", "", "", "warning\nW1")
    ledger._intend(Entry(CAMPAIGN, key, Kind.MESSAGE, "A1", "W1", "", "0.00", "x", "warning"))
    sent: list[str] = []
    result = ledger.message("warning", worker_id="W1", about="A1", text="x", send=lambda: sent.append("x") or True)
    assert result.found and sent == [] and not result.entry.ok
    assert result.entry.outcome == "failed: unknown whether it was sent (not sent again)"


# -- the protocol's writes --------------------------------------------------------------------
def draft(key: str = "k1") -> Entry:
    return Entry(CAMPAIGN, key, Kind.BONUS, "A1", "W1", amount="0.25", reason="r")


def test_an_outcome_is_cut_to_fit_and_written_under_the_rows_new_etag(ledger: Ledger, table: Table) -> None:
    result = ledger._once(draft(), lambda _: "o" * 501, lambda _: None)
    assert result.entry.outcome == "o" * 500 and table.row("k1")["Outcome"] == "o" * 500
    assert result.entry.etag == table.rows[(CAMPAIGN, "k1")][1] and result.entry.done_at
    exact = ledger._once(draft("k2"), lambda _: "o" * 500, lambda _: None)
    assert exact.entry.outcome == "o" * 500


def test_the_service_record_is_read_on_a_first_attempt_only_when_asked(ledger: Ledger) -> None:
    seen: list[str] = []

    def on_service(entry: Entry) -> None:
        seen.append(entry.key)

    ledger._once(draft("k1"), lambda _: "done", on_service)
    ledger._once(draft("k2"), lambda _: "done", on_service, check_first=True)
    assert seen == ["k2"]


def test_an_outcome_written_first_by_another_process_stands(ledger: Ledger, table: Table) -> None:
    def act(entry: Entry) -> str:
        ledger._finish(entry, "theirs")  # another process settled it meanwhile
        return "mine"

    result = ledger._once(draft(), act, lambda _: None)
    assert result.entry.outcome == "theirs" and table.row("k1")["Outcome"] == "theirs"
    assert result.entry.etag == table.rows[(CAMPAIGN, "k1")][1]


def test_a_lost_row_is_an_error_not_an_outcome(ledger: Ledger, table: Table) -> None:
    def act(entry: Entry) -> str:
        table.rows.clear()
        return "done"

    with pytest.raises(ResourceNotFoundError):
        ledger._once(draft(), act, lambda _: None)


def test_a_refusal_removes_only_its_own_untouched_intent(ledger: Ledger, table: Table,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    def refuse(entry: Entry) -> str:
        raise LedgerRefused("no")

    with pytest.raises(LedgerRefused):
        ledger._once(draft(), refuse, lambda _: None)
    assert table.rows == {} and caplog.messages == []

    def touch_then_refuse(entry: Entry) -> str:
        table._store(table.row(entry.key))  # another process wrote the row meanwhile
        raise LedgerRefused("no")

    with caplog.at_level(logging.WARNING, logger=book.__name__), pytest.raises(LedgerRefused):
        ledger._once(draft(), touch_then_refuse, lambda _: None)
    assert list(table.rows) == [(CAMPAIGN, "k1")]
    assert caplog.messages == [f"ledger {CAMPAIGN}: refused intent k1 not removed: "
                               "The update condition specified in the request was not satisfied."]


def test_an_intent_already_written_is_read_back_with_its_etag(ledger: Ledger, table: Table) -> None:
    entry, created = ledger._intend(draft())
    assert created and entry.intended_at and entry.etag == table.rows[(CAMPAIGN, "k1")][1]
    again, created = ledger._intend(replace_reason(draft(), "other"))
    assert not created and again == entry


def replace_reason(entry: Entry, reason: str) -> Entry:
    from dataclasses import replace

    return replace(entry, reason=reason)


def test_an_unequal_entry_before_an_explaining_one_does_not_hide_it(ledger: Ledger, table: Table,
                                                                   service: Service) -> None:
    table._store(Entry(CAMPAIGN, "z-unequal", Kind.BONUS, "A1", amount="0.30", reason="many turns", state=DONE,
                       outcome="paid", intended_at="2026-12-05T02:00:00+00:00").to_entity())
    bonus(ledger, Kind.RULE_BONUS, part="game-b")
    intent_left(ledger, Kind.RULE_BONUS, part="game-a")
    assert bonus(ledger, Kind.RULE_BONUS, part="game-a").acted, "one paid, explained by game-b"


def test_every_entry_names_its_source_and_no_hit_unless_given(table: Table, service: Service) -> None:
    ledger = Ledger(table, CAMPAIGN, service, source="manual")
    results = [bonus(ledger),
               settle(ledger, Kind.REWARD, "Submitted", []),
               ledger.block(Kind.SOFT_BLOCK, worker_id="W1", reason="r", call=lambda: None),
               ledger.message("warning", worker_id="W1", about="A1", text="x", send=lambda: True)]
    assert [(r.entry.source, r.entry.hit_id) for r in results] == [("manual", ""), ("manual", "H1"),
                                                                  ("manual", ""), ("manual", "")]
    assert [table.row(r.entry.key)["Part"] for r in results] == ["", "", "W1", "warning"]
    assert [table.row(r.entry.key)["Token"] for r in results] == [results[0].entry.key, "", "", ""]
    assert all(table.row(r.entry.key)["Source"] == "manual" for r in results)


def test_a_ledger_opened_to_be_read_refuses_to_pay_and_books_no_intent(table: Table) -> None:
    reader = Ledger(table, CAMPAIGN, None)  # as `iglu campaign status` opens it
    with pytest.raises(LedgerRefused, match="opened without a crowd service"):
        reader.pay_bonus(Kind.BONUS, worker_id="W1", assignment_id="A1", amount="0.50", reason="thanks")
    assert reader.entries() == [] and reader.spend().total == Decimal("0.00")
