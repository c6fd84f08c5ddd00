"""Domain errors become Dagster failures at the boundary, keeping whether a retry may help."""

import inspect

import dagster as dg
import pytest

from lse_assets.core.errors import LseError, PermanentError, TransientError
from lse_assets.defs.boundary import dagster_failures


def _raising(error: LseError):
    @dagster_failures
    def body(context, drive) -> str:
        """A body."""
        raise error

    return body


@pytest.mark.parametrize(("error", "retries"), [(PermanentError, False), (TransientError, True)])
def test_a_domain_error_becomes_a_failure_that_says_whether_to_retry(error, retries):
    cause = OSError("the network")
    try:
        raise error("LangSmith said no; set LANGSMITH_API_KEY") from cause
    except LseError as raised:
        domain_error = raised
    with pytest.raises(dg.Failure) as failure:
        _raising(domain_error)(None, None)
    assert failure.value.description == "LangSmith said no; set LANGSMITH_API_KEY"
    assert failure.value.allow_retries is retries
    assert failure.value.__cause__ is cause  # the original cause, not the domain wrapper


def test_the_wrapped_body_keeps_what_dagster_reads_from_it():
    body = _raising(PermanentError("x"))
    assert body.__name__ == "body" and body.__doc__ == "A body."
    assert list(inspect.signature(body).parameters) == ["context", "drive"]


def test_other_errors_pass_through_unchanged():
    @dagster_failures
    def body():
        raise KeyError("bug")

    with pytest.raises(KeyError):
        body()
