"""docs/parquet.md's DuckDB recipes, run exactly as written, against the Parquet files of a
real materialization (all five assets, the sample source, the embedded Postgres).

The SQL is read from the markdown (each block follows a `<!-- duckdb-recipe: NAME -->`
marker), so the doc and this test cannot drift: a recipe added to the doc without a check
here fails, and so does a check whose recipe left the doc. The only change made to a block
is the setup's path. Every expected value is computed from the run files with the standard
json module, not with the code that wrote the Parquet files.
"""

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from lse_assets.core.runfiles import PartitionPaths
from resources.object_store.resource import ParquetStoreResource
from resources.postgres.resource import PostgresResource
from tests.conftest import PROJECT_A, PROJECT_B
from tests.fakes.helpers import check_results, local_resources, materialize

DOC = Path(__file__).resolve().parents[2] / "docs" / "parquet.md"
DOC_PATH = "'.lse/parquet/**/*.parquet'"  # the setup block's path, replaced by the test's
DAY = date(2025, 9, 13)
PARTITIONS = [(PROJECT_A, DAY), (PROJECT_B, DAY), (PROJECT_A, DAY + timedelta(days=1))]
_RECIPE = re.compile(r"<!-- duckdb-recipe: (\w+) -->\s*```sql\n(.*?)```", re.DOTALL)


def recipes() -> dict[str, str]:
    found = _RECIPE.findall(DOC.read_text(encoding="utf-8"))
    names = [name for name, _ in found]
    assert len(names) == len(set(names)), f"recipe names repeat in {DOC.name}: {names}"
    return dict(found)


@pytest.fixture(scope="module")
def home(tmp_path_factory, postgres_url) -> Path:
    """One real materialization of three partitions, shared by the module's tests."""
    home = tmp_path_factory.mktemp("parquet-recipes")
    postgres = PostgresResource(database_url=postgres_url, embedded_dir="unused")
    postgres.execute("TRUNCATE runs")
    resources = {
        **local_resources(home, postgres),
        "parquet": ParquetStoreResource(url=str(home / "parquet")),
    }
    for project, day in PARTITIONS:
        result = materialize(project, day, resources)
        assert result.success, (project, day)
        materialized = {
            event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
        }
        assert "parquet_runs" in materialized
        checks = check_results(result)
        assert checks["parquet_matches_files"].passed
        assert all(check.passed for check in checks.values()), checks
    return home


@pytest.fixture(scope="module")
def runs(home) -> list[dict]:
    """Every run document of the three partitions, read from its file, with its partition."""
    found = []
    for project, day in PARTITIONS:
        paths = PartitionPaths(home / "data", project, day)
        for path in sorted(paths.runs_dir.glob("*.json")):
            run = json.loads(path.read_bytes())
            found.append({**run, "_project": project, "_day": day})
    assert len(found) > 300
    return found


@pytest.fixture
def con(home) -> duckdb.DuckDBPyConnection:
    """DuckDB with the doc's setup block run (the path pointed at this test's files)."""
    setup = recipes()["setup"]
    assert DOC_PATH in setup, f"the setup block no longer reads {DOC_PATH}"
    connection = duckdb.connect()
    connection.execute(setup.replace(DOC_PATH, repr(f"{home / 'parquet'}/**/*.parquet")))
    yield connection
    connection.close()


def run_recipe(con: duckdb.DuckDBPyConnection, name: str) -> tuple[list[str], list[tuple]]:
    relation = con.execute(recipes()[name])
    return [column[0] for column in relation.description], relation.fetchall()


def _is_root(run: dict) -> bool:
    return run["id"] == run["trace_id"]  # LangSmith's invariant, independent of our columns


def test_every_recipe_in_the_doc_is_checked_here():
    checked = {name[len("test_recipe_") :] for name in globals() if name.startswith("test_recipe_")}
    assert set(recipes()) == checked | {"setup"}


def test_recipe_cost_per_day(con, runs):
    columns, rows = run_recipe(con, "cost_per_day")

    cost: dict[tuple, float] = defaultdict(float)
    traces: Counter = Counter()
    for run in filter(_is_root, runs):
        cost[run["_day"], run["_project"]] += float(run["total_cost"] or 0)
        traces[run["_day"], run["_project"]] += 1
    expected = sorted(cost, key=lambda key: (key[0], -cost[key]))
    assert columns == ["day", "project", "cost", "traces"]
    assert [(day, project) for day, project, _, _ in rows] == expected
    for day, project, found_cost, found_traces in rows:
        assert found_cost == pytest.approx(cost[day, project], rel=1e-9)
        assert found_traces == traces[day, project]
    assert all(value > 0 for value in cost.values())  # a sum of zeros would prove nothing


def test_recipe_error_rate(con, runs):
    columns, rows = run_recipe(con, "error_rate")

    total: Counter = Counter(run["run_type"].lower() for run in runs)
    errors: Counter = Counter(
        run["run_type"].lower() for run in runs if run["status"].lower() == "error"
    )
    assert columns == ["run_type", "runs", "errors", "error_pct"]
    assert {row[0]: (row[1], row[2]) for row in rows} == {
        run_type: (count, errors[run_type]) for run_type, count in total.items()
    }
    for _, count, error_count, pct in rows:
        assert float(pct) == round(100.0 * error_count / count, 2)
    assert [row[3] for row in rows] == sorted((row[3] for row in rows), reverse=True)
    assert sum(errors.values()) > 0


def test_recipe_trace_tree(con, runs):
    def depth(run: dict) -> int:
        # LangSmith's dotted_order has one segment per ancestor and one for the run itself.
        return run["dotted_order"].count(".")

    # The deepest trace of the first partition, so that the tree has three levels or more.
    deepest = max(
        (run for run in runs if run["_project"] == PROJECT_A and run["_day"] == DAY),
        key=lambda run: (depth(run), run["id"]),
    )
    trace = [run for run in runs if run["trace_id"] == deepest["trace_id"]]
    assert depth(deepest) >= 2
    con.execute(f"SET VARIABLE trace_id = '{deepest['trace_id']}'")

    columns, rows = run_recipe(con, "trace_tree")

    assert columns == ["run", "run_type", "status", "depth", "id"]
    expected = sorted(trace, key=lambda run: run["dotted_order"])
    assert [row[4] for row in rows] == [run["id"] for run in expected]
    assert [row[3] for row in rows] == [depth(run) for run in expected]
    assert [row[0] for row in rows] == ["  " * depth(run) + run["name"] for run in expected]


def test_recipe_json_inputs(con, runs):
    columns, rows = run_recipe(con, "json_inputs")

    questions = Counter((run.get("inputs") or {}).get("question") for run in filter(_is_root, runs))
    expected = sorted(questions.items(), key=lambda item: (-item[1], item[0] is None, item[0]))
    assert columns == ["question", "traces"]
    assert rows == expected[:10]
    assert any("\U0001f914" in (question or "") for question, _ in rows)  # emoji intact


def test_recipe_feedback(con, runs):
    columns, rows = run_recipe(con, "feedback")

    records: dict[tuple, list] = defaultdict(list)
    for run in runs:
        for record in run.get("feedback_records") or []:
            records[run["_project"], record["key"]].append(record.get("score"))
    assert columns == ["project", "key", "records", "avg_score"]
    assert [(project, key) for project, key, _, _ in rows] == sorted(records)
    for project, key, count, average in rows:
        scores = [float(score) for score in records[project, key] if score is not None]
        assert count == len(records[project, key])
        assert average == pytest.approx(sum(scores) / len(scores))


def test_pyarrow_dataset_reads_the_hive_tree_with_the_documented_types(home, runs):
    dataset = ds.dataset(home / "parquet", format="parquet", partitioning="hive")

    # Only the committed files: the staging folder (`_lse_staging`) is skipped by pyarrow.
    assert len(dataset.files) == len(PARTITIONS)
    assert all(file.endswith(".parquet") for file in dataset.files)
    schema = dataset.schema
    utc_us = pa.timestamp("us", tz="UTC")
    for name, wanted in {
        "id": pa.string(),
        "start_time": utc_us,
        "end_time": utc_us,
        "first_token_time": utc_us,
        "is_root": pa.bool_(),
        "total_tokens": pa.int64(),
        "total_cost": pa.float64(),
        "inputs": pa.string(),
        "feedback": pa.string(),
        "root_day": pa.date32(),
        "year": pa.int32(),
        "month": pa.int32(),
        "day": pa.int32(),
    }.items():
        assert schema.field(name).type == wanted, name
    assert schema.metadata[b"lse.format"] == b"lse-parquet/1"

    table = dataset.to_table(columns=["id", "project", "start_time", "root_day", "day"])
    assert table.num_rows == len(runs)
    assert sorted(table.column("id").to_pylist()) == sorted(run["id"] for run in runs)
    by_id = {run["id"]: run for run in runs}
    for row in table.to_pylist():
        run = by_id[row["id"]]
        assert row["project"] == run["_project"]
        assert row["root_day"] == run["_day"] and row["day"] == run["_day"].day
        started = datetime.fromisoformat(run["start_time"].replace("Z", "+00:00"))
        assert row["start_time"] == started.replace(tzinfo=started.tzinfo or UTC)
