"""Fixtures of the sensor tests: a local webhook and a throw-away Dagster instance."""

import dagster as dg
import pytest

from tests.fakes.webhook import webhook_receiver


@pytest.fixture
def receiver():
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance
