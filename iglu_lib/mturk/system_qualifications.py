"""The qualification types MTurk itself maintains for every worker (its documented ids).

A requester never creates these; a check that looks qualification types up skips them, and
the local server derives their values from a simulated worker's profile.
"""

from __future__ import annotations

APPROVAL_RATE = "000000000000000000L0"
APPROVED_HITS = "00000000000000000040"
LOCALE = "00000000000000000071"
ADULT = "00000000000000000060"
MASTERS = ("2F1QJWKUDD8XADTFD2Q0G6UTO95ALH", "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6")
SYSTEM_TYPES = (APPROVAL_RATE, APPROVED_HITS, LOCALE, ADULT, *MASTERS)
