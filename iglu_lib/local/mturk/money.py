"""Amounts of money as the service reads them: decimal strings such as "0.50".

`Decimal` alone would take "NaN", "Infinity" or "1e999999" and fail later (a NaN compares
with nothing, an infinite amount cannot be rounded), which the server would answer with a
500 that clients retry. Only plain decimal numbers with at most two places pass here.
"""

from __future__ import annotations

import re
from decimal import Decimal

from iglu_lib.local.mturk.errors import ParameterValidationError

#: Digits, an optional point and decimals: no sign, exponent, NaN or infinity.
_PLAIN = re.compile(r"(?=.*\d)\d{0,9}(\.\d{0,12})?")


def parse_amount(text: object, name: str, *, positive: bool = False) -> Decimal:
    """The amount in `text`, or a `ParameterValidationError` naming the parameter."""
    if isinstance(text, str) and _PLAIN.fullmatch(text):
        amount = Decimal(text)
        if amount == amount.quantize(Decimal("0.01")) and (amount > 0 or not positive):
            return amount
    least = "more than 0" if positive else "0 or more"
    raise ParameterValidationError(
        f"The value {str(text)[:40]!r} is not valid for the parameter {name}: give an amount in "
        f"dollars and cents, {least}, such as \"0.50\""
    )
