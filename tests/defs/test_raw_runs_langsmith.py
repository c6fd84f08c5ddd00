"""raw_runs through real Dagster materializations, the real SDK and the fake LangSmith server."""

import json
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from lse_assets import definitions
from lse_assets.core.runfiles import PartitionPaths
from lse_assets.settings import Settings
from resources.langsmith.resource import LangSmithResource
from tests.conftest import PROJECT_A
from tests.fakes.fake_langsmith import RUNS_QUERY, DayMaker, FakeLangSmith, every_field_run
from tests.fakes.helpers import asset_metadata, check_results, local_resources, materialize

KEY = "lsv2_sk_materialize_secret_0123456789"
DAY = date(2025, 9, 13)


@pytest.fixture
def fake() -> FakeLangSmith:
    fake = FakeLangSmith(api_key=KEY)
    project_id = fake.add_project(PROJECT_A)
    DayMaker(project_id, seed=11).day(
        DAY, traces=25, runs_per_trace=6, feedback_every=5, records_per_run=2, midnight_crossers=2
    ).install(fake)
    run, feedback = every_field_run(project_id, DAY)
    fake.add_runs([run])
    fake.add_feedback(feedback)
    return fake


@pytest.fixture
def server(fake):
    with fake.serve() as running:
        yield running


@pytest.fixture
def key_in_env(monkeypatch):
    monkeypatch.setenv("LSE_TEST_LANGSMITH_KEY", KEY)


def langsmith(server, **overrides) -> LangSmithResource:
    settings = {
        "api_key": dg.EnvVar("LSE_TEST_LANGSMITH_KEY"),
        "endpoint": server.url,
        "page_size": 25,
        "backoff_seconds": 0.001,
        "max_backoff_seconds": 0.01,
        "max_attempts": 2,
    }
    return LangSmithResource(**{**settings, **overrides})


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_materializes_the_day_from_langsmith_configured_by_the_environment(
    tmp_path, postgres, fake, server, monkeypatch
):
    monkeypatch.setenv("LANGSMITH_API_KEY", KEY)
    monkeypatch.setenv("LANGSMITH_ENDPOINT", server.url)
    monkeypatch.setenv("LANGSMITH_WORKSPACE_ID", "ws-1234")
    source = definitions.run_source(Settings(source="langsmith"))
    assert isinstance(source, LangSmithResource)

    result = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres, source))

    assert result.success
    checks = check_results(result)
    assert checks["runs_complete"].passed and checks["files_match_db"].passed
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    manifest = json.loads(paths.manifest.read_text())
    runs = 27 * 6 + 1
    assert manifest["counts"]["runs"] == runs == checks["runs_complete"].metadata["runs"].value
    assert manifest["counts"]["runs_with_feedback"] > 0
    assert manifest["source"]["endpoint"] == server.url
    assert manifest["source"]["requests"]["total"] == fake.count()
    assert {(r.api_key, r.workspace) for r in fake.requests} == {(KEY, "ws-1234")}
    assert postgres.execute("SELECT count(*) FROM runs")[0][0] == runs
    events = json.dumps([str(event) for event in result.all_events]) + paths.manifest.read_text()
    assert KEY not in events


@pytest.mark.parametrize("fault", ["server errors mid-paging", "key revoked"])
def test_a_failing_fetch_leaves_the_previous_partition_exactly_as_it_was(
    tmp_path, postgres, fake, server, key_in_env, monkeypatch, fault
):
    resources = local_resources(tmp_path, postgres, langsmith(server))
    assert materialize(PROJECT_A, DAY, resources).success
    project_dir = tmp_path / "data" / PROJECT_A
    before = snapshot(project_dir)
    pages = fake.count(RUNS_QUERY)
    if fault == "key revoked":
        monkeypatch.setenv("LSE_TEST_LANGSMITH_KEY", "lsv2_sk_revoked_000000000000000")
    else:
        fake.fail(RUNS_QUERY, nth=pages + 3, status=500, times=100)

    result = materialize(PROJECT_A, DAY, resources)

    assert not result.success
    failure = next(event for event in result.all_events if event.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "raw_runs"
    message = failure.event_specific_data.error.message
    if fault == "key revoked":
        assert "HTTP 401" in message and "LANGSMITH_API_KEY" in message
    else:  # two good pages written to the temporary directory, then the failure
        assert "HTTP 500" in message and fake.count(RUNS_QUERY) == pages + 2 + 2
    assert snapshot(project_dir) == before
    assert sorted(p.name for p in project_dir.iterdir()) == sorted(
        {Path(name).parts[0] for name in before}
    )  # no temporary directory left behind


def test_pending_runs_warn_without_blocking_the_archive(tmp_path, postgres, key_in_env):
    fake = FakeLangSmith(api_key=KEY)
    DayMaker(fake.add_project(PROJECT_A), seed=12).day(
        DAY, traces=10, runs_per_trace=4, pending_every=9
    ).install(fake)
    with fake.serve() as server:
        result = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres, langsmith(server)))

    check = check_results(result)["runs_complete"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["pending_runs"].value == 40 // 9
    assert check.metadata["missing_parents"].value == 0
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"run_archive", "db_runs"} <= materialized


def test_a_cut_trace_fails_runs_complete_with_error(tmp_path, postgres, fake, server, key_in_env):
    resources = local_resources(tmp_path, postgres, langsmith(server))
    assert materialize(PROJECT_A, DAY, resources).success
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    child = next(
        run
        for run in (json.loads(p.read_bytes()) for p in sorted(paths.runs_dir.iterdir()))
        if len(run["parent_run_ids"]) >= 2
    )
    parent_id = child["parent_run_ids"][-1]
    paths.run_file(parent_id).unlink()
    manifest = json.loads(paths.manifest.read_text())
    del manifest["files"][parent_id]
    paths.manifest.write_text(json.dumps(manifest))

    check = check_results(materialize(PROJECT_A, DAY, resources, only_checks=True))["runs_complete"]

    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["missing_parents"].value >= 1
    assert child["id"] in check.metadata["missing_parents_sample"].value
    assert check.metadata["missing_files"].value == 0


def test_repeats_are_dropped_and_reported_and_conflicts_fail_without_retry(
    tmp_path, postgres, fake, server, key_in_env
):
    resources = local_resources(tmp_path, postgres, langsmith(server))
    runs = [json.loads(row.encoded) for row in fake._rows[:60:20]]  # three runs, pages apart
    fake.add_runs([dict(run) for run in runs])  # served twice, byte for byte

    result = materialize(PROJECT_A, DAY, resources)

    assert result.success
    metadata = asset_metadata(result, "raw_runs")
    assert metadata["duplicate_runs_dropped"] == 3
    assert metadata["dagster/row_count"] == 27 * 6 + 1
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    before = snapshot(paths.dir)

    fake.add_runs([{**runs[1], "status": "ERROR"}])  # the same id, other content
    result = materialize(PROJECT_A, DAY, resources)

    assert not result.success
    failure = next(event for event in result.all_events if event.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "raw_runs"
    assert runs[1]["id"] in failure.event_specific_data.error.message
    assert failure.event_specific_data.error.cls_name == "Failure"
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert not retries  # allow_retries=False: the step's RetryPolicy does not run it again
    assert snapshot(paths.dir) == before
