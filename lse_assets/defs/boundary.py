"""Where domain errors become Dagster's: `LseError` -> `dg.Failure(allow_retries=...)`.

Every asset and check body runs inside `dagster_failures`, so a resource or domain module
never raises a Dagster type and the step's RetryPolicy still skips what no retry can fix.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import dagster as dg

from lse_assets.core.errors import LseError

P = ParamSpec("P")
R = TypeVar("R")


def dagster_failures(body: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(body)  # Dagster reads the parameters (context, resources) through it
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return body(*args, **kwargs)
        except LseError as error:
            # The original cause stays the cause (or none, where the source hid it).
            raise dg.Failure(
                description=error.description, allow_retries=error.retryable
            ) from error.__cause__

    return run
