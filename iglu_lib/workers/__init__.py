"""Acting on one worker by hand: a message (`NotifyWorkers`) or a bonus (`SendBonus`).

The researcher names the worker as MTurk does (a raw worker id) or as the published export
does (its pseudonym, `worker-` and 16 hex digits); `identity.resolve_worker` finds the raw id
behind a pseudonym among a campaign's game records or the service's assignments, and refuses
when it finds none or several. `actions` sends; `cli` is `iglu workers`.
"""

from iglu_lib.workers.identity import ResolvedWorker, WorkerNotResolved, resolve_worker

__all__ = ["ResolvedWorker", "WorkerNotResolved", "resolve_worker"]
