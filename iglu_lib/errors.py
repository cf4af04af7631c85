"""The workbench's own errors: one root whose message says what to do, and an exit code.

The CLI prints an `IgluError` as one line and exits with its code; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class IgluError(Exception):
    """An error a person can act on; the message says what went wrong and what to do."""

    user_error = True
    exit_code = 2


class CampaignStopped(IgluError):
    """The campaign loop stopped itself; the message says why and what to do."""
