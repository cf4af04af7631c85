"""The requester's account: a play-money balance, debited by approvals and bonuses."""

from __future__ import annotations

from typing import Any

from iglu_lib.local.mturk import records
from iglu_lib.local.mturk.operations.registry import Context, operation


@operation("GetAccountBalance")
def get_account_balance(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"AvailableBalance": f"{records.balance(ctx.db):.2f}", "OnHoldBalance": "0.00"}
