"""db_runs and files_match_db against the real embedded Postgres: the load's promises."""

import json
import threading
from datetime import date

import dagster as dg
import psycopg
import pytest

from lse_assets.core import dbrows, runfiles
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource
from resources.postgres.resource import (
    DELETE_SLICE,
    LoadInterruptedError,
    PostgresResource,
    SliceRejectedError,
)
from tests.conftest import PROJECT_A, PROJECT_B
from tests.fakes.dbfixtures import slice_snapshot
from tests.fakes.helpers import asset_metadata, check_results, local_resources, materialize

DAY = date(2025, 9, 13)


class NulInOutputs(SampleLangSmithResource):
    """The sample day, with U+0000 in the outputs (a value and a key) of its first LLM run."""

    def fetch_day(self, project, day):
        fetch = super().fetch_day(project, day)

        def runs():
            marked = False
            for run in fetch.runs:
                if not marked and run["run_type"] == "LLM":
                    run["outputs"] = {"generations": [{"text": "bin\x00ary"}], "k\x00ey": 1}
                    run["name"] = "NUL_MARKED"
                    marked = True
                yield run

        return type(fetch)(source=fetch.source, runs=runs())


def test_a_run_with_nul_in_its_outputs_loads_and_the_check_passes_reporting_it(tmp_path, postgres):
    result = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres, NulInOutputs()))

    assert result.success
    marked = postgres.execute(
        "SELECT run_id::text, data->'outputs' FROM runs WHERE data->>'name' = 'NUL_MARKED'"
    )
    assert len(marked) == 1
    run_id, outputs = marked[0]
    assert outputs == {"generations": [{"text": "bin\ufffdary"}], "k\ufffdey": 1}
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    assert json.loads(paths.run_file(run_id).read_bytes())["outputs"]["k\x00ey"] == 1  # file kept
    loaded = asset_metadata(result, "db_runs")
    assert loaded["rows"] == len(runfiles.run_ids_on_disk(paths))
    assert loaded["nul_normalized_runs"] >= 1 and run_id in loaded["nul_normalized_sample"]
    check = check_results(result)["files_match_db"]
    assert check.passed
    assert check.metadata["normalized"].value == loaded["nul_normalized_runs"]
    assert run_id in check.metadata["normalized_sample"].value
    assert check.metadata["differing"].value == 0


def _new_files(tmp_path, variant: int) -> tuple[PartitionPaths, list[str]]:
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    fetch = SampleLangSmithResource(variant=variant).fetch_day(PROJECT_A, DAY)
    runfiles.write_partition(paths, fetch.runs, fetch.source)
    return paths, runfiles.run_ids_on_disk(paths)


def _load(postgres, paths, run_ids, documents=None):
    documents = documents or dbrows.documents_for_load(paths, run_ids, dbrows.LoadTally())
    return postgres.replace_slice(PROJECT_A, DAY, run_ids, documents)


def test_a_load_killed_half_way_leaves_the_previous_slice_intact(tmp_path, postgres):
    paths, run_ids = _new_files(tmp_path, variant=0)
    assert _load(postgres, paths, run_ids) == len(run_ids)
    before = slice_snapshot(postgres, PROJECT_A, DAY)
    paths, new_ids = _new_files(tmp_path, variant=1)
    killed = []

    def killing(documents):
        for count, document in enumerate(documents):
            if count == len(new_ids) // 2:
                # Another session kills the loading backend in the middle of its COPY.
                killed.extend(
                    postgres.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE query LIKE 'COPY runs %' AND pid <> pg_backend_pid()"
                    )
                )
            yield document

    documents = killing(dbrows.documents_for_load(paths, new_ids, dbrows.LoadTally()))
    with pytest.raises(LoadInterruptedError, match="previous rows of the slice are unchanged"):
        _load(postgres, paths, new_ids, documents)

    assert killed == [(True,)]
    assert slice_snapshot(postgres, PROJECT_A, DAY) == before
    assert _load(postgres, paths, new_ids) == len(new_ids)  # the next load works
    assert set(slice_snapshot(postgres, PROJECT_A, DAY)) == set(new_ids)


def test_a_file_the_database_refuses_names_the_run_and_changes_nothing(tmp_path, postgres):
    paths, run_ids = _new_files(tmp_path, variant=0)
    _load(postgres, paths, run_ids)
    before = slice_snapshot(postgres, PROJECT_A, DAY)
    misfiled = run_ids[len(run_ids) // 2]
    document = json.loads(paths.run_file(misfiled).read_bytes())
    document["dotted_order"] = "20250914" + document["dotted_order"][8:]  # another day's run
    paths.run_file(misfiled).write_bytes(json.dumps(document).encode())

    with pytest.raises(SliceRejectedError) as rejected:
        _load(postgres, paths, run_ids)

    assert misfiled in str(rejected.value)
    assert "runs_run_date_matches_data" in str(rejected.value)
    assert slice_snapshot(postgres, PROJECT_A, DAY) == before


def test_a_file_that_is_not_json_is_refused_by_name(tmp_path, postgres):
    paths, run_ids = _new_files(tmp_path, variant=0)
    paths.run_file(run_ids[-1]).write_bytes(b'{"id": "truncated')
    with pytest.raises(SliceRejectedError, match=f"run {run_ids[-1]}: invalid input syntax"):
        _load(postgres, paths, run_ids)
    assert slice_snapshot(postgres, PROJECT_A, DAY) == {}


def test_a_run_that_moved_to_another_slice_is_held_once(tmp_path, postgres):
    runs = list(SampleLangSmithResource().fetch_day(PROJECT_A, DAY).runs)
    a = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    b = PartitionPaths(tmp_path / "data", PROJECT_B, DAY)
    runfiles.write_partition(a, runs[:10], {})
    runfiles.write_partition(b, runs[5:15], {})  # runs 5..9 now belong to project B
    for paths in (a, b):
        ids = runfiles.run_ids_on_disk(paths)
        documents = dbrows.documents_for_load(paths, ids, dbrows.LoadTally())
        postgres.replace_slice(paths.project, DAY, ids, documents)

    counts = postgres.execute("SELECT count(*), count(DISTINCT run_id) FROM runs")
    assert counts == [(15, 15)]
    moved = {run["id"] for run in runs[5:10]}
    assert moved <= set(slice_snapshot(postgres, PROJECT_B, DAY))
    assert not moved & set(slice_snapshot(postgres, PROJECT_A, DAY))


def test_two_loads_of_one_slice_at_once_both_succeed_and_leave_one_copy(tmp_path, postgres):
    paths, run_ids = _new_files(tmp_path, variant=0)
    errors = []

    def load():
        try:
            _load(postgres, paths, run_ids)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert postgres.execute("SELECT count(*) FROM runs") == [(len(run_ids),)]


class FirstRuns(SampleLangSmithResource):
    """The sample day cut to its first few runs: a small partition."""

    def fetch_day(self, project, day):
        fetch = super().fetch_day(project, day)
        runs = list(fetch.runs)
        keep = {run["trace_id"] for run in runs[:8]}
        return type(fetch)(source=fetch.source, runs=iter(r for r in runs if r["trace_id"] in keep))


def test_files_match_db_needs_the_same_few_statements_for_any_partition_size(
    tmp_path, postgres, monkeypatch
):
    big = local_resources(tmp_path / "big", postgres)
    small = local_resources(tmp_path / "small", postgres, FirstRuns())
    assert materialize(PROJECT_A, DAY, big).success
    assert materialize(PROJECT_B, DAY, small).success
    sizes = {
        project: len(runfiles.run_ids_on_disk(PartitionPaths(home / "data", project, DAY)))
        for project, home in ((PROJECT_A, tmp_path / "big"), (PROJECT_B, tmp_path / "small"))
    }
    assert sizes[PROJECT_A] > 10 * sizes[PROJECT_B]

    statements: list[str] = []
    for method in ("execute", "executemany", "stream", "copy"):
        original = getattr(psycopg.Cursor, method)

        def counting(self, query, *args, _original=original, **kwargs):
            statements.append(str(query))
            return _original(self, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, method, counting)

    counted = {}
    for project, resources in ((PROJECT_A, big), (PROJECT_B, small)):
        statements.clear()
        result = materialize(project, DAY, resources, only_checks=True)
        assert check_results(result)["files_match_db"].passed
        counted[project] = list(statements)

    assert len(counted[PROJECT_A]) == len(counted[PROJECT_B]) <= 3
    assert sum("FROM runs" in statement for statement in counted[PROJECT_A]) == 1


def test_a_project_and_day_lookup_uses_an_index_on_one_month(postgres):
    from tests.fakes.dbfixtures import insert_synthetic_runs

    days = [date(2025, 8, 20 + n) for n in range(5)] + [date(2025, 9, 10 + n) for n in range(5)]
    insert_synthetic_runs(postgres, [f"p{n}" for n in range(8)], days, per_slice=200)
    postgres.execute("ANALYZE runs")

    plan = postgres.execute(
        "EXPLAIN (FORMAT JSON) SELECT run_id, data FROM runs"
        " WHERE project = 'p3' AND run_date = DATE '2025-09-12'"
    )[0][0][0]["Plan"]
    nodes = []

    def walk(node):
        nodes.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    assert not [node for node in nodes if node["Node Type"] == "Seq Scan"]
    assert {node.get("Relation Name") for node in nodes} - {None} == {"runs_2025_09"}
    assert any(node.get("Index Name", "").endswith("project_run_date_idx") for node in nodes)

    # The load's delete reads that one day through indexes too, not the whole month.
    ids = ",".join(row[0] for row in postgres.execute("SELECT run_id::text FROM runs LIMIT 300"))
    delete_plan = postgres.execute(
        f"EXPLAIN (FORMAT JSON) {DELETE_SLICE}",
        run_date=date(2025, 9, 12),
        project="p3",
        run_ids=ids,
    )[0][0][0]["Plan"]
    nodes.clear()
    walk(delete_plan)
    assert not [node for node in nodes if node["Node Type"] == "Seq Scan"]
    assert {node.get("Relation Name") for node in nodes} - {None} == {"runs", "runs_2025_09"}


def test_the_sensor_and_resources_are_wired_in_the_code_location():
    from lse_assets.definitions import defs as code_location

    defs = code_location()
    dg.Definitions.validate_loadable(defs)
    repository = defs.get_repository_def()
    assert "check_failure_alerts" in {sensor.name for sensor in repository.sensor_defs}
    assert isinstance(defs.resources["postgres"], PostgresResource)
