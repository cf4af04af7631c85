"""Retry throttled and failed MTurk calls with exponential backoff, and count the retries.

botocore's own retries are turned off for the manager's client so that every retry happens
here, where it is counted (the reliability tests and the review notebook report the count)
and where the policy is the same in every profile.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

logger = logging.getLogger(__name__)

#: Error codes that mean "slow down" (botocore's throttling codes plus MTurk's own).
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled", "SlowDown",
})

#: Error codes of a fault on the service's side, worth another try.
SERVER_FAULT_CODES = frozenset({"ServiceFault", "ServiceUnavailable", "InternalError", "InternalFailure"})


def is_retryable(error: Exception) -> bool:
    """True for throttling and server-side faults; client mistakes are never retried."""
    from botocore.exceptions import ClientError

    if not isinstance(error, ClientError):
        return False
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0
    return code in THROTTLING_CODES or code in SERVER_FAULT_CODES or status >= 500


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits up to base * 2**n (capped)."""

    max_attempts: int = 8
    base_delay: float = 0.05
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    random_fraction: Callable[[], float] = random.random
    retries: int = field(default=0, init=False)

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * 2**attempt) * self.random_fraction()

    def call(self, operation: Callable[..., T], **kwargs: Any) -> T:
        """Call `operation(**kwargs)`, retrying retryable errors; the last error is raised."""
        attempt = 0
        while True:
            try:
                return operation(**kwargs)
            except Exception as err:
                attempt += 1
                if not is_retryable(err) or attempt >= self.max_attempts:
                    raise
                self.retries += 1
                wait = self.delay(attempt - 1)
                logger.warning("%s failed (%s); retry %d of %d in %.2f s", getattr(operation, "__name__", "call"),
                               err, attempt, self.max_attempts - 1, wait)
                self.sleep(wait)
