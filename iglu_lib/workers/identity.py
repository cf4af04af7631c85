"""Which worker a researcher means: a raw MTurk worker id, or the export's pseudonym.

A pseudonym is a keyed hash (`platform.privacy.pseudonym`): it cannot be reversed, only
matched. The raw ids to match come from the campaign's game records (when a campaign is
named) and else from the service's assignments, hashed with the profile's salt. What is
printed names the worker as it was given, so a pseudonym never turns into a raw id on screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iglu_lib.errors import IgluError

if TYPE_CHECKING:
    from iglu_lib.config import Profile
    from iglu_lib.mturk.manager import HitManager

#: What a raw worker id may look like here: MTurk's (`A` and capitals or digits) and the
#: local server's simulated workers' ids; at most 64 characters, as the service's field.
RAW_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


class WorkerNotResolved(IgluError):
    """The worker named cannot be found, or not unambiguously; the message says what to do."""


@dataclass(frozen=True)
class ResolvedWorker:
    """The raw id to send to the service, and how to name the worker in what is printed."""

    worker_id: str
    shown: str
    source: str


def is_pseudonym_like(text: str) -> bool:
    return text.lower().startswith("worker-")


def check_raw_id(text: str) -> str:
    if not RAW_ID.fullmatch(text):
        raise WorkerNotResolved(
            f"{text[:80]!r} is neither a worker id (letters, digits, at most 64) nor a pseudonym "
            "(worker- and 16 hex digits)"
        )
    return text


def resolve_worker(
    given: str,
    *,
    salt: Callable[[], str],
    sources: Iterable[tuple[str, Callable[[], Iterable[str]]]],
) -> ResolvedWorker:
    """The worker named by `given`: a raw id as it is, a pseudonym matched against each source
    in turn (label, raw ids) until one holds it. None or several matches are refused."""
    from iglu_lib.platform.privacy import is_pseudonym

    given = given.strip()
    if not is_pseudonym_like(given):
        return ResolvedWorker(check_raw_id(given), given, "given")
    wanted = given.lower()
    if not is_pseudonym(wanted):
        raise WorkerNotResolved(f"{given[:80]!r} is not a pseudonym: those are worker- and 16 hex digits")
    key = salt()
    searched = []
    for label, worker_ids in sources:
        searched.append(label)
        found = matches(wanted, worker_ids(), key)
        if len(found) == 1:
            return ResolvedWorker(found[0], wanted, label)
        if len(found) > 1:
            raise WorkerNotResolved(
                f"{wanted} matches {len(found)} different worker ids in {label}; "
                "give the raw worker id instead"
            )
    raise WorkerNotResolved(
        f"{wanted} matches no worker in {' nor in '.join(searched)}; check the pseudonym, that the "
        "profile is the one whose salt made the export, and --campaign"
    )


def matches(pseudonym_wanted: str, worker_ids: Iterable[str], salt: str) -> list[str]:
    """The distinct raw ids whose pseudonym under `salt` is the one wanted."""
    from iglu_lib.platform.privacy import pseudonym

    found = dict.fromkeys(
        worker_id for worker_id in worker_ids
        if worker_id and pseudonym(worker_id, salt) == pseudonym_wanted
    )
    return list(found)


def record_worker_ids(profile: Profile, campaign: str) -> Callable[[], Iterable[str]]:
    """The worker ids of a campaign's game records (read when called)."""

    def read() -> Iterable[str]:
        from iglu_lib.storage import GameRecords

        return (record.worker_id for record in GameRecords.open(profile, campaign).all())

    return read


def assignment_worker_ids(manager: HitManager) -> Callable[[], Iterable[str]]:
    """The worker ids of every assignment of the account (read when called)."""
    return lambda: (assignment.worker_id for assignment in manager.account_assignments())


def sources_for(profile: Profile, manager: HitManager, campaign: str | None) -> list[tuple[str, Callable[[], Iterable[str]]]]:
    """Where to look for a pseudonym's worker: the campaign's records first, then the service."""
    sources = []
    if campaign:
        sources.append((f"the game records of campaign {campaign!r}", record_worker_ids(profile, campaign)))
    sources.append(("the service's assignments", assignment_worker_ids(manager)))
    return sources
