"""JSON read as the service reads it: every number finite and within a 64-bit field.

Python's `json` accepts `NaN`, `Infinity` and `1e999` (read as infinity) and integers of any
length; none of them is a value the MTurk service takes, and each one, stored, would break
the server later (a NaN expiry, an infinite clock, an integer SQLite cannot hold). They are
refused here, at the door, with an error that says which value was wrong.
"""

from __future__ import annotations

import json
import math
from typing import Any

from iglu_lib.errors import IgluError

#: The widest integer the service's fields hold (Java's long).
LONG_MAX = 2**63 - 1
#: Digits of the longest integer worth converting (LONG_MAX has 19).
MAX_INTEGER_DIGITS = 20


class BadNumber(IgluError, ValueError):
    """A number in the body is not finite or does not fit a 64-bit field."""


class BadJson(IgluError, ValueError):
    """The body is not a JSON document the server reads (syntax, encoding or nesting)."""


def _refuse_constant(name: str) -> Any:
    raise BadNumber(f"The value {name} is not valid: numbers must be finite")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadNumber(f"The value {text[:40]} is not valid: it overflows a finite number")
    return value


def _bounded_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_INTEGER_DIGITS or abs(int(text)) > LONG_MAX:
        raise BadNumber(f"The value {text[:40]}{'...' if len(text) > 40 else ''} is not valid: "
                        "integers must fit in 64 bits")
    return int(text)


def loads(raw: bytes | str) -> Any:
    """Parse a request body; `BadNumber` or `BadJson` say what is wrong with it."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise BadJson(f"The request body is not UTF-8: {error}") from None
    try:
        return json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except json.JSONDecodeError as error:
        raise BadJson(f"The request body is not JSON: {error}") from None
    except RecursionError:
        raise BadJson("The request body nests too deeply") from None

