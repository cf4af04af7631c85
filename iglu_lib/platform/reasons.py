"""The vocabulary of reasons why a submission or a game is not (fully) good.

One word per problem, stored in the game records and shown to researchers, and one sentence
per word for the worker, so that the reason a worker reads is the reason that was stored.
"""

from __future__ import annotations

#: Reasons a completion code cannot be used, in the order they are checked.
CODE_REASONS: dict[str, str] = {
    "empty_code": "The completion code field was empty. Paste the code the game showed at its end.",
    "worker_id_pasted": "You pasted a worker ID instead of the completion code the game showed at its end.",
    "join_command_pasted": (
        "You pasted the join command instead of the completion code the game showed at its end."
    ),
    "not_base64": (
        "The completion code is incomplete or contains characters a code never has; "
        "copy the whole code the game showed."
    ),
    "not_gzip": "The completion code is incomplete; copy the whole code the game showed.",
    "wrong_field_count": "The completion code is not one the game issues; copy the whole code the game showed.",
    "malformed_code": (
        "The completion code is not one the game issues (it was altered or is not a code); "
        "copy the whole code the game showed."
    ),
    "human_challenge": "The completion code belongs to a game with a human partner, not to this task's AI builder.",
    "tournament_mismatch": (
        "The completion code belongs to another tournament or challenge than the join code of this HIT."
    ),
    "task_mismatch": "The completion code belongs to a different task than the join code of this HIT.",
    "agent_mismatch": "The completion code belongs to a game with a different AI builder than this HIT's.",
    "code_reused": "The completion code (or its game) was already submitted for another HIT.",
    "same_code_twice": "The same completion code was submitted for two games of this HIT.",
}

#: Reasons found in the game data itself.
GAME_REASONS: dict[str, str] = {
    "game_data_missing": "We found no game for this completion code.",
    "game_data_unreadable": "The game of this completion code could not be read; we will look into it.",
    "game_data_mismatch": "The game stored for this completion code is a different game than the code names.",
    "game_task_mismatch": "The game of this completion code was played on a different task than this HIT's.",
    "game_agent_mismatch": "The game of this completion code was played with a different AI builder than this HIT's.",
    "played_outside_assignment": (
        "The game was played before you accepted this HIT or after you submitted it; only games "
        "played while working on this HIT count."
    ),
    "agent_unverified": (
        "We could not confirm from the game data which AI builder you played with; the game was "
        "accepted and will be checked by a person."
    ),
    "time_unverified": (
        "We could not confirm from the game data when the game was played; the game was accepted "
        "and will be checked by a person."
    ),
    "too_few_turns": "You gave the builder too few instructions in the game.",
    "not_english": "The instructions in the game were not written in English.",
    "instruction_too_short": "The instructions in the game were too short to describe the structure.",
}

#: Reasons found in the answers the HIT page submitted.
ANSWER_REASONS: dict[str, str] = {
    "answer_unreadable": (
        "Your answers could not be read (the form's data was missing, damaged or too large); "
        "submit the HIT's form as it is shown."
    ),
    "answer_truncated": (
        "Your written feedback was very long; we kept all of it, but only its beginning is shown "
        "beside your games."
    ),
    "choice_unusable": (
        "Your answer to which assistant was better could not be used (it was left out, or no "
        "option, several options, or one the page did not offer was chosen); your games were "
        "accepted and paid."
    ),
    "beyond_worker_cap": (
        "You had already done as many of this campaign's HITs as one worker may (this one was "
        "accepted together with others); your work is accepted and paid, but not used in the results."
    ),
    "fraud_in_hit": (
        "Another game of this HIT was not the game this HIT asked for (see its reason), so the "
        "HIT could not be accepted as a whole."
    ),
}

REASONS: dict[str, str] = {**CODE_REASONS, **GAME_REASONS, **ANSWER_REASONS}


def worker_message(reason: str) -> str:
    """The sentence a worker reads for `reason` (a generic one for reasons outside the vocabulary)."""
    return REASONS.get(reason, f"The submission could not be accepted ({reason}).")
