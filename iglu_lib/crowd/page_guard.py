"""What keeps the `/hit` pages cheap to attack: few requester calls, few new claims per client.

Anyone who previewed a HIT can request its page with made-up ids as often as they like. Each
such request must cost the requester account (whose throttle budget the collection loop needs)
next to nothing, so

- `HitStates` asks the service about a HIT (`GetHIT`: does it hold an accepted assignment, and
  for how long) at most once per `recheck_seconds`, and reuses an answer that showed an accepted
  assignment for `fresh_seconds`: N requests for a HIT cost at most one call per `recheck_seconds`,
  however many clients send them;
- `ClientLimiter` lets one client address try at most `limit` new assignment ids per
  `window_seconds` (reloading an existing claim, or a page waiting for the service, is not
  counted again);
- `Throttle` lets the pages settle a HIT's overdue claims (a `ListAssignmentsForHIT`) at most
  once a minute, even while the service fails.

Both live in the memory of one `iglu crowd serve` process; a restart forgets them (the claims
themselves are in the page store).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iglu_lib.errors import IgluError

if TYPE_CHECKING:
    from iglu_lib.mturk.work_checks import WorkHolding

LOG = logging.getLogger(__name__)

#: Client addresses the limiter remembers at most (the oldest are forgotten first).
MAX_CLIENTS = 10_000


class Busy(IgluError):  # noqa: N818 - a condition more than an error, under the library's root
    """The answer cannot be given now without a requester call over budget; retry later."""


@dataclass(frozen=True)
class HitState:
    """What the service said about a HIT: accepted assignments now, their duration, when asked."""

    known: bool
    pending: int
    duration_seconds: int
    asked_at: float
    failed: bool = False


class HitStates:
    """`GetHIT` answers per HIT, reused so that a flood of page requests costs a bounded number
    of calls (see the module docstring). `ask(hit_id)` returns what the service holds of the HIT
    (`MTurkProvider.holding`) or raises `Unreachable`; an unknown HIT is remembered as such."""

    def __init__(self, ask: Callable[[str], WorkHolding], *, fresh_seconds: float = 60.0,
                 recheck_seconds: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ask = ask
        self.fresh_seconds = fresh_seconds
        self.recheck_seconds = recheck_seconds
        self.clock = clock
        self._states: dict[str, HitState] = {}
        self._lock = threading.Lock()

    def state(self, hit_id: str) -> HitState:
        """The HIT's state, from memory when recent enough, else from one call (`Busy` when the
        service could not be reached)."""
        with self._lock:
            now = self.clock()
            known = self._states.get(hit_id)
            if known is None or not self._usable(known, now):
                known = self._states[hit_id] = self._asked(hit_id, now)
            if known.failed:
                raise Busy(f"the platform could not be reached about HIT {hit_id}")
            return known

    def forget(self, hit_id: str) -> None:
        with self._lock:
            self._states.pop(hit_id, None)

    def _usable(self, state: HitState, now: float) -> bool:
        age = now - state.asked_at
        return age < self.recheck_seconds or (state.pending > 0 and age < self.fresh_seconds)

    def _asked(self, hit_id: str, now: float) -> HitState:
        from iglu_lib.mturk.work_checks import Unreachable

        try:
            holding = self.ask(hit_id)
        except Unreachable as err:
            LOG.warning("could not ask the platform about HIT %s: %s", hit_id, err)
            return HitState(True, 0, 0, now, failed=True)  # no second call before recheck_seconds
        return HitState(holding.known, holding.pending, holding.duration_seconds, now)


class ClientLimiter:
    """At most `limit` distinct keys (assignment ids) per client address in any `window_seconds`
    (a sliding window). A key seen in the window passes again without counting, so a worker's
    frame reloading itself while it waits is one event, and a stranger's made-up ids are many."""

    def __init__(self, limit: int = 20, window_seconds: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
        self._seen: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, key: str = "") -> bool:
        """Count `key` for `client`; False (and not counted) when the client is over its limit."""
        with self._lock:
            now = self.clock()
            keys = {k: at for k, at in self._seen.pop(client, {}).items() if now - at < self.window_seconds}
            allowed = key in keys or len(keys) < self.limit
            if allowed:
                keys.setdefault(key, now)
            self._seen[client] = keys  # re-inserted: the dict's order is least recently seen first
            while len(self._seen) > MAX_CLIENTS:
                del self._seen[next(iter(self._seen))]
            return allowed


class Throttle:
    """At most one attempt per key every `seconds` (e.g. settling a HIT's claims)."""

    def __init__(self, seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def attempt(self, key: str) -> bool:
        with self._lock:
            now = self.clock()
            if now - self._last.get(key, -self.seconds) < self.seconds:
                return False
            self._last[key] = now
            if len(self._last) > MAX_CLIENTS:
                del self._last[next(iter(self._last))]
            return True
