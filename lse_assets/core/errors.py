"""Errors whose message names the cause and the fix, and say whether a later retry may help.

Raised by the domain and by the resources; turned into `dg.Failure(allow_retries=...)` only
at the Dagster boundary (lse_assets/defs/boundary.py), so the CLI catches these, never a
Dagster type.
"""

from __future__ import annotations


class LseError(Exception):
    """A failure explained for the user. `retryable`: may the same step succeed later?"""

    retryable = True

    @property
    def description(self) -> str:
        return str(self)


class PermanentError(LseError):
    """No retry can fix it (bad key, unknown project, data the API should never send)."""

    retryable = False


class TransientError(LseError):
    """It may pass (an outage, a rate limit): the step may be tried again later."""

    retryable = True
