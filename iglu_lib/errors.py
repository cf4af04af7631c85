"""The workbench's own errors: one root whose message says what to do, and an exit code.

The CLI prints an `IgluError` as one line and exits with its code; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class IgluError(Exception):
    """An error a person can act on; the message says what went wrong and what to do."""

    exit_code = 2


class CampaignStopped(IgluError):
    """The campaign loop stopped itself; the message says why and what to do."""


class ConfigError(IgluError):
    """A profile, parameter file or secret is missing or malformed; the message says which."""


class ParameterError(ConfigError, ValueError):
    """A parameter (from a `params/` file or a call) is unknown or out of range; the message names
    the file, the key and what is allowed (a `ConfigError`, so every handler of a bad file sees it)."""
