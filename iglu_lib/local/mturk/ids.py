"""Identifiers shaped like the real service's: 30 upper-case letters and digits."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_uppercase + string.digits


def new_id(length: int = 30) -> str:
    return "3" + "".join(secrets.choice(_ALPHABET) for _ in range(length - 1))
