"""The qualification types MTurk itself maintains for every worker, as the local server knows them.

These are the service's documented ids (MTurk API reference, QualificationRequirement), kept
here rather than imported from the client (`iglu_lib.mturk.system_qualifications`) so that the
emulator reads no client code; tests check that both lists hold the same ids.
"""

from __future__ import annotations

APPROVAL_RATE = "000000000000000000L0"  # Worker_PercentAssignmentsApproved
APPROVED_HITS = "00000000000000000040"  # Worker_NumberHITsApproved
LOCALE = "00000000000000000071"  # Worker_Locale
ADULT = "00000000000000000060"  # Worker_Adult
MASTERS = ("2F1QJWKUDD8XADTFD2Q0G6UTO95ALH", "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6")  # production, sandbox
SYSTEM_TYPES = (APPROVAL_RATE, APPROVED_HITS, LOCALE, ADULT, *MASTERS)
