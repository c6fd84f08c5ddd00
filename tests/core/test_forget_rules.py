"""`lse forget` in process, on real partitions, a local-folder archive store and a local
Parquet store (docs/operations.md, "Forgetting runs"): a run id takes every run below it,
ids found on several days are all found, the tombstones carry a whole-second UTC time, and
the store is asked to delete the older revisions of the day's own zip."""

import json
import re
from datetime import date, timedelta

import pytest

from lse_assets.core import runfiles, tombstones
from lse_assets.core.forget import forget
from lse_assets.core.runfiles import PartitionPaths
from resources.drive.local_folder import LocalFolderDriveResource
from resources.langsmith.sample import SampleLangSmithResource
from resources.object_store.resource import ParquetStoreResource
from tests.conftest import PROJECT_A

DAY = date(2025, 9, 13)
NEXT = DAY + timedelta(days=1)


class NoRows:
    def forget_runs(self, project, run_ids, trace_ids, *, dry_run=False) -> int:
        return 0


class RevisionsRecorded:
    """The local-folder store, recording which file's older revisions forget deletes (a
    local folder keeps none; Drive keeps them, and they hold the forgotten runs)."""

    def __init__(self, store: LocalFolderDriveResource) -> None:
        self.store, self.deleted = store, []

    def __getattr__(self, name):
        return getattr(self.store, name)

    def delete_older_revisions(self, project: str, name: str) -> int:
        self.deleted.append((project, name))
        return 2


def _runs(day: date) -> list[dict]:
    return list(SampleLangSmithResource().fetch_day(PROJECT_A, day).runs)


@pytest.fixture
def archive(tmp_path):
    data = tmp_path / "data"
    for day in (DAY, NEXT):
        runfiles.write_partition(PartitionPaths(data, PROJECT_A, day), iter(_runs(day)), {})
    return data


def _forget(data, tmp_path, run_ids=(), trace_ids=(), store=None):
    return forget(
        PROJECT_A,
        list(run_ids),
        list(trace_ids),
        paths_for=lambda day: PartitionPaths(data, PROJECT_A, day),
        store=store or LocalFolderDriveResource(folder=str(tmp_path / "drive")),
        parquet=ParquetStoreResource(url=str(tmp_path / "parquet")),
        rows=NoRows(),
    )


def test_a_run_id_forgets_every_run_below_it_and_nothing_above(archive, tmp_path):
    runs = _runs(DAY)
    below = {}
    for run in runs:
        for ancestor in run.get("parent_run_ids") or []:
            below.setdefault(ancestor, set()).add(run["id"])
    middle = next(run for run in runs if run.get("parent_run_ids") and below.get(run["id"], set()))
    # Grandchildren too: the sample's children name every ancestor in parent_run_ids.
    expected = sorted({middle["id"]} | below[middle["id"]])

    report = _forget(archive, tmp_path, run_ids=[middle["id"]])

    assert [(d.day, d.run_ids) for d in report.days] == [(DAY, expected)]
    on_disk = set(runfiles.run_ids_on_disk(PartitionPaths(archive, PROJECT_A, DAY)))
    assert not on_disk & set(expected)
    assert middle["trace_id"] in on_disk  # its root stays


def test_ids_found_on_several_days_are_all_found(archive, tmp_path):
    first = next(r["id"] for r in _runs(DAY) if r["id"] == r["trace_id"])
    second = next(r["id"] for r in _runs(NEXT) if r["id"] == r["trace_id"])
    missing = "00000000-0000-4000-8000-00000000dead"

    report = _forget(archive, tmp_path, trace_ids=[first, second, missing])

    assert [d.day for d in report.days] == [DAY, NEXT]
    assert report.not_found == [missing]


def test_tombstones_and_the_manifest_carry_the_whole_second_utc_time(archive, tmp_path):
    root = next(r["id"] for r in _runs(DAY) if r["id"] == r["trace_id"])

    _forget(archive, tmp_path, trace_ids=[root])

    paths = PartitionPaths(archive, PROJECT_A, DAY)
    when = tombstones.read(paths.project_dir).trace_ids[root]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", when)
    assert json.loads(paths.manifest.read_bytes())["source"]["forgotten_at"] == when


def test_the_older_revisions_of_the_days_own_zip_are_deleted(archive, tmp_path):
    store = RevisionsRecorded(LocalFolderDriveResource(folder=str(tmp_path / "drive")))
    root = next(r["id"] for r in _runs(DAY) if r["id"] == r["trace_id"])

    report = _forget(archive, tmp_path, trace_ids=[root], store=store)

    zip_name = PartitionPaths(archive, PROJECT_A, DAY).zip_name
    assert store.deleted == [(PROJECT_A, zip_name)]
    assert report.days[0].revisions_deleted == 2


def test_forget_without_any_id_says_what_to_name(tmp_path):
    with pytest.raises(ValueError, match=r"^name at least one --run-id or --trace-id to forget$"):
        _forget(tmp_path / "data", tmp_path)
