"""runs_complete against LangSmith's own counts: real Dagster materializations, the real SDK,
the fake LangSmith server (which counts from its own data, as /runs/stats does)."""

import json
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from lse_assets.cli import verify_report
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.resource import LangSmithResource
from tests.conftest import PROJECT_A
from tests.fakes.fake_langsmith import RUN_STATS, DayMaker, FakeLangSmith
from tests.fakes.helpers import check_results, local_resources, materialize

DAY = date(2025, 9, 13)  # long settled
RUNS, TRACES = 20 * 6, 20
PAGE = 24  # 4 whole traces: a lost page cuts no trace, only the counts can see it


def fake_for(day: date) -> FakeLangSmith:
    fake = FakeLangSmith()
    DayMaker(fake.add_project(PROJECT_A), seed=5).day(
        day, traces=TRACES - 1, runs_per_trace=6, midnight_crossers=1
    ).install(fake)
    return fake


def resources(tmp_path, postgres, server) -> dict:
    source = LangSmithResource(
        api_key="k", endpoint=server.url, page_size=PAGE, backoff_seconds=0.001, max_attempts=2
    )
    return local_resources(tmp_path, postgres, source)


def runs_complete(result: dg.ExecuteInProcessResult) -> tuple[dg.AssetCheckEvaluation, dict]:
    check = check_results(result)["runs_complete"]
    return check, {key: value.value for key, value in check.metadata.items()}


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_counts_equal_to_the_fetch_pass(tmp_path, postgres):
    fake = fake_for(DAY)
    with fake.serve() as server:
        result = materialize(PROJECT_A, DAY, resources(tmp_path, postgres, server))

    check, metadata = runs_complete(result)
    assert result.success and check.passed
    assert fake.count(RUN_STATS) == 2
    assert {k: metadata[k] for k in ("source_runs", "archived_runs", "returned_runs")} == {
        "source_runs": RUNS,
        "archived_runs": RUNS,
        "returned_runs": RUNS,
    }
    assert metadata["source_traces"] == metadata["archived_traces"] == TRACES
    assert metadata["runs_difference"] == metadata["traces_difference"] == 0
    assert metadata["runs_not_fetched"] == metadata["runs_not_fetched_yet"] == 0


def test_a_page_dropped_without_an_error_fails_with_the_gap_and_the_fix(tmp_path, postgres):
    fake = fake_for(DAY)
    fake.drop_pages = {2}  # 4 traces lost, every request answered 200
    with fake.serve() as server:
        result = materialize(PROJECT_A, DAY, resources(tmp_path, postgres, server))

    check, metadata = runs_complete(result)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert (metadata["source_runs"], metadata["returned_runs"]) == (RUNS, RUNS - PAGE)
    assert metadata["runs_difference"] == metadata["runs_not_fetched"] == PAGE
    assert metadata["traces_difference"] == 4
    # Every trace on file is whole: without the counts nothing would have noticed.
    assert metadata["missing_roots"] == metadata["missing_parents"] == 0
    assert (
        f"LangSmith counts {RUNS} runs in {TRACES} traces, the fetch returned {RUNS - PAGE} "
        f"runs in {TRACES - 4} traces: re-materialize raw_runs" in check.description
    )
    assert "re-materialize raw_runs" in check.description
    assert "run_archive" not in materialized(result)  # blocking: nothing built on the gap
    assert verify_report._differences(metadata) == [f"runs_not_fetched {PAGE}"]  # lse verify
    # The page back: the same partition re-materialized passes.
    fake.drop_pages = set()
    with fake.serve() as server:
        check, metadata = runs_complete(
            materialize(PROJECT_A, DAY, resources(tmp_path, postgres, server))
        )
    assert check.passed and metadata["archived_runs"] == metadata["source_runs"] == RUNS


def test_runs_deleted_at_the_source_after_archiving_pass_as_vanished(tmp_path, postgres):
    fake = fake_for(DAY)
    with fake.serve() as server:
        assert materialize(PROJECT_A, DAY, resources(tmp_path, postgres, server)).success
        roots = sorted({row.trace_id for row in fake._rows})[:2]
        fake.delete_traces(set(roots))  # 12 runs, 2 traces gone from LangSmith

        result = materialize(PROJECT_A, DAY, resources(tmp_path, postgres, server))

    check, metadata = runs_complete(result)
    assert result.success and check.passed
    assert metadata["runs"] == RUNS  # the archive keeps them
    assert metadata["source_runs"] == metadata["archived_runs"] == RUNS - 12
    assert (metadata["source_traces"], metadata["vanished_runs"]) == (TRACES - 2, 12)
    assert "12 fewer than archived: vanished from LangSmith" in check.description


def test_a_gap_on_yesterday_is_a_warning_not_an_error(tmp_path, postgres):
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    fake = fake_for(yesterday)
    fake.drop_pages = {1}
    with fake.serve() as server:
        result = materialize(PROJECT_A, yesterday, resources(tmp_path, postgres, server))

    check, metadata = runs_complete(result)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert metadata["runs_not_fetched_yet"] == PAGE and metadata["runs_not_fetched"] == 0
    assert "has not settled" in check.description
    assert {"run_archive", "db_runs"} <= materialized(result)  # a WARN does not block


@pytest.mark.parametrize("damage", ["no counts (archived before them)"])
def test_a_partition_without_counts_says_unknown_and_passes(tmp_path, postgres, damage):
    fake = fake_for(DAY)
    with fake.serve() as server:
        res = resources(tmp_path, postgres, server)
        assert materialize(PROJECT_A, DAY, res).success
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    manifest = json.loads(paths.manifest.read_text())
    del manifest["source"]["counts"]
    paths.manifest.write_text(json.dumps(manifest))

    check, metadata = runs_complete(materialize(PROJECT_A, DAY, res, only_checks=True))

    assert check.passed
    assert metadata["source_counts"].startswith("unknown")
    assert "source_runs" not in metadata
