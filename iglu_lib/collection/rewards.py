"""Bonus rules of a campaign: an amount per approved game that meets a rule (for example at
least N architect turns), decided when the game is judged, paid after the assignment is approved
through the campaign's ledger (once per game, whatever restarts), recorded with the game and
counted in the spend with the platform's fee."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from iglu_lib.config import ConfigError


@dataclass(frozen=True)
class BonusRule:
    """`bonus: {amount: "0.25", min_architect_turns: 5, reason: "..."}` in the campaign parameters."""

    amount: Decimal
    min_architect_turns: int = 0
    reason: str = "A bonus for a game with many instructions: thank you for your effort."

    @classmethod
    def from_params(cls, values: Mapping[str, Any] | None, source: str = "parameters") -> BonusRule | None:
        if not values:
            return None
        unknown = sorted(set(values) - {"amount", "min_architect_turns", "reason"})
        if unknown:
            raise ConfigError(f"{source}: unknown bonus setting(s) {', '.join(unknown)}; "
                              "known: amount, min_architect_turns, reason")
        try:
            amount = Decimal(str(values.get("amount", "")))
        except InvalidOperation:
            raise ConfigError(f"{source}: bonus.amount must be dollars such as \"0.25\"") from None
        if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise ConfigError(f"{source}: bonus.amount must be a positive amount in cents, such as \"0.25\"")
        reason = str(values.get("reason") or cls.reason).strip()
        return cls(amount, int(values.get("min_architect_turns", 0)), reason)

    def earned(self, verdict: str, summary: Mapping[str, Any]) -> bool:
        """Whether a judged game earns the bonus (never a rejected game)."""
        turns = summary.get("architect_turns")
        return verdict != "reject" and isinstance(turns, int) and turns >= self.min_architect_turns
