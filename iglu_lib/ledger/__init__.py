"""The ledger: the one owner of every money movement, sanction and message of a campaign.

Every reward on approval, rule bonus, manual bonus and reversal, every rejection and block and
every message is an entry in a table beside the game records (one row per entry, partition =
campaign), under a stable key: campaign, assignment, kind, amount and the reason as a person
means it (whitespace trimmed and collapsed, case folded). The intent is written first, then the
service is asked, then the outcome is written. A retry of any kind (the loop restarting a day
later, a person repeating a command, the same bonus through another command) reads the ledger
first; where an intent has no outcome it asks the service's own record (`ListBonusPayments`
for the assignment, the assignment's status) and never the request token alone, which MTurk
forgets after 24 hours. Spend is read from the ledger: rewards, fees, every bonus, reversals.

The ledger sits below the HIT manager's users and above storage: it takes a manager object
(anything with the `HitManager` methods it calls) and never imports the collection loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iglu_lib.lazy import lazy_exports

if TYPE_CHECKING:  # the checker sees the real names; at run time they load on first use
    from iglu_lib.ledger.book import Entry as Entry
    from iglu_lib.ledger.book import Kind as Kind
    from iglu_lib.ledger.book import Ledger as Ledger
    from iglu_lib.ledger.book import LedgerRefused as LedgerRefused
    from iglu_lib.ledger.book import Result as Result
    from iglu_lib.ledger.book import Spend as Spend
    from iglu_lib.ledger.book import normalise_reason as normalise_reason

_EXPORTS = {
    "Entry": "iglu_lib.ledger.book",
    "Kind": "iglu_lib.ledger.book",
    "Ledger": "iglu_lib.ledger.book",
    "LedgerRefused": "iglu_lib.ledger.book",
    "Result": "iglu_lib.ledger.book",
    "Spend": "iglu_lib.ledger.book",
    "normalise_reason": "iglu_lib.ledger.book",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
