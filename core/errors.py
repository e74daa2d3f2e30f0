"""The project's own errors: what a user gave cannot work (settings, files, data), not a bug.

Every app reports a `UserError` (and the library's `zest.ZestError`) as one plain line on stderr
and exits with status 2, without a traceback (`core.app`); `HYDRA_FULL_ERROR=1` or
`ZEST_DEBUG=1` shows the traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["OptionError", "SettingsError", "UserError"]


class UserError(Exception):
    """Base class of the errors that mean "what you gave cannot work"; the message says what to do."""


class SettingsError(UserError, ValueError):
    """A setting (a Hydra override, a plan entry, a path given on the command line) is invalid."""


class OptionError(SettingsError, TypeError):
    """An option that the component it is passed to does not take (a model, a dataset loader)."""
