"""`lse status` reads the instance as the UI does: a check whose step raised (no
evaluation, only the plan) is a failure of that check, not a pass by silence."""

from datetime import date

import dagster as dg

from lse_assets.core.partition import Partition
from lse_assets.defs.assets import build_assets
from lse_assets.defs.checks import build_checks
from lse_assets.defs.status import partition_statuses
from lse_assets.settings import load_settings
from resources.object_store.resource import ParquetStoreResource
from tests.conftest import PROJECT_A
from tests.fakes.helpers import check_results, local_resources, materialize

DAY = date(2025, 9, 13)


def _status(instance: dg.DagsterInstance):
    settings = load_settings()
    [status] = partition_statuses(
        instance, build_assets(settings), build_checks(settings), [Partition(PROJECT_A, DAY)]
    )
    return status


def test_a_check_that_raised_is_failed_and_the_day_is_not_archived(tmp_path, postgres):
    instance = dg.DagsterInstance.ephemeral()
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources, instance=instance).success
    assert _status(instance).summary == "archived"
    assert _status(instance).checked["parquet_matches_files"] == "parquet_runs"

    # The Parquet store cannot be read (its root is a file): the check's step raises.
    (tmp_path / "not-a-folder").write_text("")
    broken = {**resources, "parquet": ParquetStoreResource(url=str(tmp_path / "not-a-folder"))}
    result = materialize(PROJECT_A, DAY, broken, only_checks=True, instance=instance)
    assert not result.success and "parquet_matches_files" not in check_results(result)

    status = _status(instance)
    assert status.checks["parquet_matches_files"] == "EXECUTION_FAILED"
    assert status.checks["files_match_db"] == "SUCCEEDED"
    assert status.summary == "failed (parquet_matches_files)" and not status.archived
    assert status.copy_state("parquet_runs") == "check FAILED"
