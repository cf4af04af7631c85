"""The requester contract's target: the local MTurk server (`make test`), or MTurk's requester
sandbox (`make contract`, which sets IGLU_CONTRACT_TARGET=sandbox).

The same tests run against both, so the day someone runs `make contract` with credentials, any
difference between the emulator and the service is a failing test. Without AWS credentials the
sandbox run skips with one line saying why. Nothing here accepts or approves work: no money moves.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

TARGET_VARIABLE = "IGLU_CONTRACT_TARGET"
TARGETS = ("local", "sandbox")
SANDBOX_HOST = "mturk-requester-sandbox."


def contract_target() -> str:
    target = os.environ.get(TARGET_VARIABLE, "local")
    if target not in TARGETS:
        raise pytest.UsageError(f"{TARGET_VARIABLE} must be one of {', '.join(TARGETS)}, not {target!r}")
    return target


@dataclass
class Requester:
    """A requester client of the contract's target, and what the tests created there, so that
    teardown expires and deletes it (HITs first, then the qualification types they name)."""

    target: str
    client: Any
    #: The service's "now" in epoch seconds: the wall clock on MTurk; the local server's own clock,
    #: which other tests of the session may have moved forward (a day, to forget tokens).
    now: Callable[[], float] = time.time
    hits: list[str] = field(default_factory=list)
    qualification_types: list[str] = field(default_factory=list)

    def cleanup(self) -> None:
        from datetime import datetime, timezone

        from botocore.exceptions import ClientError

        for hit_id in self.hits:
            try:
                self.client.update_expiration_for_hit(HITId=hit_id, ExpireAt=datetime(2015, 1, 1, tzinfo=timezone.utc))
                self.client.delete_hit(HITId=hit_id)
            except ClientError:
                pass  # deleted by the test already
        for type_id in self.qualification_types:
            try:
                self.client.delete_qualification_type(QualificationTypeId=type_id)
            except ClientError:
                pass


def _missing_credentials() -> str | None:
    """Why the sandbox cannot be reached (one line), or None when the credentials are there."""
    from iglu_lib.config import load_profile

    env = load_profile("sandbox").backend.env
    missing = [name for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not env.get(name)]
    if not missing:
        return None
    return f"requester sandbox contract skipped: {' and '.join(missing)} not set (environment or .env)"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The one line saying why a sandbox run skipped (pytest -q shows no skip reasons)."""
    if contract_target() == "sandbox" and (reason := _missing_credentials()):
        terminalreporter.write_line(reason)


def _sandbox_client() -> Any:
    """The sandbox profile's client, or a skip naming the missing credentials."""
    from iglu_lib.config import load_profile

    reason = _missing_credentials()
    if reason:
        pytest.skip(reason)
    client = load_profile("sandbox").backend.mturk_client()
    if SANDBOX_HOST not in client.meta.endpoint_url:  # never create HITs where money is real
        pytest.fail(f"profile 'sandbox' points at {client.meta.endpoint_url}, not the requester sandbox")
    return client


@pytest.fixture(params=[contract_target()])
def requester(request: pytest.FixtureRequest):
    """The requester API of the contract's target; what a test creates is removed afterwards."""
    if request.param == "sandbox":
        found = Requester("sandbox", _sandbox_client())
    else:
        found = Requester("local", request.getfixturevalue("mturk"), now=request.getfixturevalue("control").now)
    yield found
    found.cleanup()
