"""Both instance configs let a backfill's runs start together and promptly (issue 21), while
the pools still bound the steps.

The measured bottleneck was the queue: with `langsmith` at 1 slot, a launched run counted as
holding it, so the queue started one backfill run per dequeue (every 5 s) whatever the run
limits said. These tests read each config the way the daemon does (Dagster's own schema
and classes) and ask its questions: would the queue hold back the next run of a backfill
while the previous one is launching, and how often does it look.
"""

import shutil
from pathlib import Path

import pytest
from dagster._core.instance.config import ConcurrencyConfig, dagster_instance_config
from dagster._core.run_coordinator import QueuedRunCoordinator

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ["dagster.yaml", "dagster.local.yaml"]


def _loaded(tmp_path: Path, config: str) -> dict:
    shutil.copy(ROOT / "deploy" / config, tmp_path / "dagster.yaml")
    loaded, _ = dagster_instance_config(str(tmp_path))  # validated by Dagster's schema
    return loaded


def _queue(loaded: dict) -> tuple[QueuedRunCoordinator, ConcurrencyConfig]:
    coordinator = QueuedRunCoordinator(**loaded["run_coordinator"].get("config", {}))
    concurrency = ConcurrencyConfig.from_concurrency_settings(
        loaded["concurrency"], coordinator.get_run_queue_config()
    )
    return coordinator, concurrency


def _backfill_run_limit(loaded: dict) -> int:
    limits = loaded["concurrency"]["runs"]["tag_concurrency_limits"]
    return next(limit["limit"] for limit in limits if limit["key"] == "dagster/backfill")


@pytest.mark.parametrize("config", CONFIGS)
def test_a_launching_run_does_not_hold_back_the_next_backfill_run(tmp_path, config):
    loaded = _loaded(tmp_path, config)
    _, concurrency = _queue(loaded)
    pools = concurrency.pool_config

    # The pools still bound steps (one API key's rate limit), counted per step ...
    assert pools.pool_granularity.value == "op"
    assert pools.default_pool_limit >= 1
    # ... but as many runs as a backfill may run at once can be started while an earlier
    # run holds (or is about to claim) the pool: they wait for the slot inside the run.
    buffer = concurrency.run_queue_config.op_concurrency_slot_buffer
    assert buffer >= _backfill_run_limit(loaded) - 1
    assert buffer >= 1


@pytest.mark.parametrize("config", CONFIGS)
def test_the_queue_looks_every_second(tmp_path, config):
    coordinator, _ = _queue(_loaded(tmp_path, config))
    # Dagster's default is 5 s: with runs of a few seconds, most of a backfill's time was
    # spent waiting for the next look at the queue.
    assert coordinator.dequeue_interval_seconds == 1


@pytest.mark.parametrize("config", CONFIGS)
def test_a_backfill_submits_its_runs_from_several_threads(tmp_path, config):
    backfills = _loaded(tmp_path, config)["backfills"]
    assert backfills["use_threads"] is True
    assert backfills["num_submit_workers"] >= 2


@pytest.mark.parametrize("config", CONFIGS)
def test_a_running_backfill_leaves_a_run_for_the_schedules(tmp_path, config):
    # A backfill of a year must not hold every run slot: the daily schedule's runs and
    # `lse materialize` beside the UI still start while it runs.
    loaded = _loaded(tmp_path, config)
    assert loaded["concurrency"]["runs"]["max_concurrent_runs"] > _backfill_run_limit(loaded)
