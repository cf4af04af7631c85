"""The requester operations the local server answers, each registered by its API name."""

from iglu_lib.local.mturk.operations import account, assignments, hits, qualifications, workers
from iglu_lib.local.mturk.operations.registry import OPERATIONS, Context

__all__ = ["OPERATIONS", "Context", "account", "assignments", "hits", "qualifications", "workers"]
