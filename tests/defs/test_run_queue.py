"""Both instance configs queue a second run of a partition behind the first (issue 9)."""

import shutil
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from dagster._core.instance.config import dagster_instance_config
from dagster._utils.tags import TagConcurrencyLimitsCounter

from lse_assets.core.partition import Partition
from tests.conftest import PROJECT_A, PROJECT_B

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2025, 9, 13)


def _tags(project: str, day: date) -> dict[str, str]:
    return Partition(project=project, day=day).run_tags  # as Dagster tags a partition's run


@pytest.mark.parametrize("config", ["dagster.yaml", "dagster.local.yaml"])
def test_one_run_per_partition_runs_at_a_time(tmp_path, config):
    shutil.copy(ROOT / "deploy" / config, tmp_path / "dagster.yaml")
    loaded, _ = dagster_instance_config(str(tmp_path))  # validated by Dagster's schema
    limits = loaded["concurrency"]["runs"]["tag_concurrency_limits"]
    running = SimpleNamespace(tags=_tags(PROJECT_A, DAY))

    counter = TagConcurrencyLimitsCounter(limits, [running])

    assert counter.is_blocked(SimpleNamespace(tags=_tags(PROJECT_A, DAY)))
    assert not counter.is_blocked(SimpleNamespace(tags=_tags(PROJECT_B, DAY)))
    assert not counter.is_blocked(SimpleNamespace(tags=_tags(PROJECT_A, date(2025, 9, 14))))
