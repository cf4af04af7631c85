"""Our rejection reasons (`iglu_lib.platform.reasons`) in Prolific's rejection categories.

Prolific wants one of its categories with every rejection; the loop speaks only our reasons, so
the mapping lives here, beside the provider, and the study side of the loop asks `category_for`.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The category of a session that completed without any work on our page.
NO_CODE = "NO_CODE"
#: The category when no reason of the verdict is named below.
FALLBACK = "FAILED_INSTRUCTIONS"
#: Our reasons in Prolific's rejection categories, first match wins.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (NO_CODE, ("empty_code", "answer_unreadable")),
    ("BAD_CODE", ("worker_id_pasted", "join_command_pasted", "not_gzip", "wrong_field_count", "malformed_code",
                  "human_challenge", "tournament_mismatch", "task_mismatch", "agent_mismatch", "code_reused",
                  "same_code_twice", "game_data_mismatch", "game_task_mismatch", "game_agent_mismatch",
                  "fraud_in_hit")),
    ("NO_DATA", ("game_data_missing", "game_data_unreadable")),
    ("LOW_EFFORT", ("too_few_turns", "instruction_too_short")),
    (FALLBACK, ("not_english", "played_outside_assignment", "agent_unverified", "time_unverified")),
)


def category_for(reasons: Iterable[str]) -> str:
    """The Prolific rejection category of a verdict's reasons (`FAILED_INSTRUCTIONS` otherwise)."""
    given = set(reasons)
    for category, ours in CATEGORIES:
        if given & set(ours):
            return category
    return FALLBACK
