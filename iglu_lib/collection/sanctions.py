"""What a campaign does about a worker: tell them, keep them out of this campaign, or block them.

- **Messages.** Per verdict (a warning, a rejection, a block) a message template whose `{reasons}`
  is filled with the same sentences the worker's feedback carries, sent with `NotifyWorkers` when
  the campaign parameters turn it on (`messages.send: true`).
- **Soft block** (the default sanction, as in Mephisto): the worker gets the campaign's own
  qualification `iglu-blocked-<campaign>`, and every HIT of the campaign requires it not to
  exist on `DiscoverPreviewAndAccept`, so the HIT is not even shown to them. Their standing with
  the requester elsewhere is untouched.
- **Hard block** (`CreateWorkerBlock`, account-wide): kept for fraud, i.e. when a worker's
  rejected games carry a reason of `hard_block_reasons` (forged or reused games by default).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iglu_lib.config import ConfigError
from iglu_lib.platform.reasons import worker_message

log = logging.getLogger(__name__)

#: Reasons that show intent (a forged agent field, a game submitted twice, an altered code, a
#: game of another tournament or played outside the assignment). A HIT with one such game is
#: rejected as a whole (`judge`), and such rejections hard-block by default.
FRAUD_REASONS = ("game_agent_mismatch", "code_reused", "malformed_code", "tournament_mismatch",
                 "played_outside_assignment")

DEFAULT_TEMPLATES = {
    "subject": "About your work on our Minecraft building HITs",
    "warning": "Thank you for your work. Your HIT was accepted, but please note: {reasons}",
    "rejection": "We could not accept your HIT: {reasons} Please read the instructions before the next one.",
    "block": ("Your recent HITs for this study did not meet its requirements ({reasons}), so you will "
              "not be offered more of them. Thank you for your time."),
}


@dataclass(frozen=True)
class Sanctions:
    """The campaign's `sanctions:` and `messages:` parameters."""

    send_messages: bool = False
    templates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    soft_block: bool = True
    hard_block_reasons: tuple[str, ...] = FRAUD_REASONS

    @classmethod
    def from_params(cls, sanctions: Mapping[str, Any] | None, messages: Mapping[str, Any] | None,
                    source: str = "parameters") -> Sanctions:
        sanctions, messages = dict(sanctions or {}), dict(messages or {})
        unknown = sorted(set(sanctions) - {"soft_block", "hard_block_reasons"}) + sorted(
            set(messages) - {"send", *DEFAULT_TEMPLATES})
        if unknown:
            raise ConfigError(f"{source}: unknown sanctions/messages setting(s) {', '.join(unknown)}; known: "
                              f"sanctions.soft_block, sanctions.hard_block_reasons, messages.send, "
                              f"messages.{', messages.'.join(DEFAULT_TEMPLATES)}")
        templates = {**DEFAULT_TEMPLATES, **{k: str(v) for k, v in messages.items() if k != "send"}}
        for name, text in templates.items():
            try:
                text.format(reasons="")
            except (KeyError, IndexError, ValueError) as err:
                raise ConfigError(f"{source}: messages.{name} may use only {{reasons}} ({err})") from None
        return cls(bool(messages.get("send", False)), templates, bool(sanctions.get("soft_block", True)),
                   tuple(sanctions.get("hard_block_reasons", FRAUD_REASONS)))

    def message(self, kind: str, reasons: Iterable[str]) -> str:
        """The text of a `warning`, `rejection` or `block` message for these reasons."""
        sentences = " ".join(dict.fromkeys(worker_message(r) for r in reasons))
        return self.templates[kind].format(reasons=sentences)[:4096]

    def is_fraud(self, reasons: Iterable[str]) -> bool:
        return any(reason in self.hard_block_reasons for reason in reasons)


def rejected_reasons(games: Sequence[Any]) -> list[str]:
    """The reasons of a worker's rejected games, in order of first appearance."""
    return list(dict.fromkeys(r for g in games if g.verdict == "reject" for r in g.reasons))
