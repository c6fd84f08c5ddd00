"""`parquet_publish.publish` in process against a local Parquet store (fast tier): a second
publish of the same files is `unchanged` at the same place, and run files that no longer
match their manifest are refused, the Parquet file left as it was (issue 18)."""

from datetime import date

import pytest

from lse_assets.core import parquet_publish, runfiles
from lse_assets.core.errors import PermanentError
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource
from resources.object_store.resource import ParquetStoreResource
from tests.conftest import PROJECT_A

DAY = date(2025, 9, 13)


@pytest.fixture
def published(tmp_path):
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    runs = SampleLangSmithResource().fetch_day(PROJECT_A, DAY).runs
    runfiles.write_partition(paths, iter(runs), {})
    store = ParquetStoreResource(url=str(tmp_path / "parquet"))
    return paths, store, parquet_publish.publish(paths, store)


def test_the_same_files_again_are_unchanged_at_the_same_place(published):
    paths, store, first = published
    again = parquet_publish.publish(paths, store)
    assert not first.unchanged and again.unchanged
    assert (again.location, again.rows, again.size) == (first.location, first.rows, first.size)
    assert again.stale_removed == () and again.seconds >= 0


def test_run_files_that_no_longer_match_their_manifest_are_refused(published):
    paths, store, first = published
    before = store.footer(first.export.relative_path)
    victim = sorted(paths.runs_dir.glob("*.json"))[0]
    victim.write_bytes(victim.read_bytes().replace(b'"', b"'", 2))  # changed, still there
    with pytest.raises(PermanentError) as refused:
        parquet_publish.publish(paths, store)
    # The whole sentence: what is wrong, what to run and why it helps, what was kept.
    assert str(refused.value) == (
        f"the run files of {PROJECT_A!r} {DAY} do not match their manifest (missing, extra "
        "or changed files): materialize raw_runs for this partition first, it repairs them "
        "from the zip or the archive store; the Parquet file was left as it was"
    )
    assert store.footer(first.export.relative_path) == before
