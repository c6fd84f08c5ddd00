"""`lse sql` as a user runs it: the demo archives two days (a subprocess, real Dagster runs,
the sample source), then `lse --demo sql` queries its Parquet copy in each format.

The README's example queries are read from the README (each follows an `<!-- lse-sql: NAME
-->` marker), so the README and this test cannot drift; every expected value is computed
from the run files with the json module, not with the code that wrote the Parquet files.
"""

import csv
import io
import json
import re
import shlex
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from lse_assets.cli.main import main
from lse_assets.cli.sql import LSE
from lse_assets.settings import load_settings
from resources.object_store.resource import ParquetStoreResource
from tests.cli.test_cli import run_lse
from tests.conftest import PROJECT_A
from tests.e2e.test_parquet_recipes import recipes as parquet_recipes
from tests.fakes.helpers import local_resources, materialize
from tests.fakes.s3_server import KEY_ID, SECRET

README = Path(__file__).resolve().parents[2] / "README.md"
_QUERY = re.compile(r"<!-- lse-sql: (\w+) -->\s*```sql\n(.*?)```", re.DOTALL)
DEMO_PROJECTS = ("demo-chatbot", "demo-rag-agent")


def readme_queries() -> dict[str, str]:
    found = _QUERY.findall(README.read_text(encoding="utf-8"))
    assert len({name for name, _ in found}) == len(found)
    return dict(found)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    """LSE_HOME after `lse demo --days 2`, and what the demo printed."""
    home = tmp_path_factory.mktemp("lse-sql")
    result = run_lse("demo", "--days", "2", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    return home, result.stdout


@pytest.fixture(scope="module")
def runs(demo) -> list[dict]:
    """Every run of the demo, read from its file, with its project and partition day."""
    home, _ = demo
    found = []
    for project in DEMO_PROJECTS:
        for path in sorted((home / "demo" / "data" / project).glob("*/runs/*.json")):
            found.append({**json.loads(path.read_bytes()), "_project": project})
            found[-1]["_day"] = path.parent.parent.name
    assert len({run["_day"] for run in found}) == 2 and len(found) > 300
    return found


def lse_sql(home: Path, query: str, output: str = "csv", *options: str):
    return run_lse("--demo", "sql", "--format", output, *options, query, home=home)


def as_csv(stdout: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(stdout)))


def _seconds(run: dict) -> float:
    start, end = (
        datetime.fromisoformat(run[k].replace("Z", "+00:00")) for k in ("start_time", "end_time")
    )
    return (end - start).total_seconds()


def expected(name: str, runs: list[dict]) -> list[dict]:
    """What each README query must answer, from the run files."""
    roots = [run for run in runs if run["id"] == run["trace_id"]]  # LangSmith's invariant
    if name == "runs_per_day":
        counts: Counter = Counter((run["_day"], run["_project"]) for run in runs)
        traces: Counter = Counter((run["_day"], run["_project"]) for run in roots)
        return [
            {"day": day, "project": project, "runs": str(n), "traces": str(traces[day, project])}
            for (day, project), n in sorted(counts.items())
        ]
    if name == "tokens_by_model":
        totals: dict[str, Counter] = defaultdict(Counter)
        for run in runs:
            if run["run_type"].lower() == "llm":
                model = totals[run["metadata"]["ls_model_name"]]
                model["llm_calls"] += 1
                for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
                    model[key] += run[key]
        rows = [
            {"model": model, **{key: str(value) for key, value in sums.items()}}
            for model, sums in totals.items()
        ]
        return sorted(rows, key=lambda row: (-int(row["total_tokens"]), row["model"]))
    if name == "slowest_traces":
        slowest = sorted(roots, key=lambda run: (-round(_seconds(run), 3), run["trace_id"]))[:5]
        return [
            {
                "trace_id": run["trace_id"],
                "project": run["_project"],
                "name": run["name"],
                "seconds": f"{round(_seconds(run), 3):g}",
                "total_tokens": str(run["total_tokens"]),
            }
            for run in slowest
        ]
    raise AssertionError(f"README query {name!r} has no expected answer in this test")


def test_every_readme_query_has_an_expected_answer():
    assert set(readme_queries()) == {"runs_per_day", "tokens_by_model", "slowest_traces"}


@pytest.mark.parametrize("name", sorted(readme_queries()))
def test_readme_query_answers_from_the_run_files_in_csv_json_and_table(demo, runs, name):
    home, _ = demo
    query = readme_queries()[name]
    want = expected(name, runs)
    assert len(want) >= 2  # a one-row answer would prove little about grouping or order

    as_text = lse_sql(home, query, "csv")
    as_json = lse_sql(home, query, "json")
    as_table = lse_sql(home, query, "table")

    assert as_text.returncode == as_json.returncode == as_table.returncode == 0, as_text.stderr
    found = as_csv(as_text.stdout)
    text = [list(row.values()) for row in found]  # DuckDB's text of each value
    if name == "slowest_traces":  # DuckDB prints a DOUBLE its own way (21.0 vs 21): as numbers
        for row in (*found, *want):
            row["seconds"] = float(row["seconds"])
    assert found == want
    objects = json.loads(as_json.stdout)
    assert [{key: str(value) for key, value in row.items()} for row in objects] == [
        {key: str(value) for key, value in row.items()} for row in want
    ]
    assert all(
        isinstance(row["total_tokens" if "total_tokens" in row else "runs"], int) for row in objects
    )
    lines = as_table.stdout.splitlines()
    header = next(line for line in lines if "┃" in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == list(want[0])
    body = [
        [cell.strip() for cell in line.strip("│ ").split("│")]
        for line in lines
        if line.startswith("│")
    ]
    assert body == text and f"{len(want)} rows" in as_table.stdout


def test_the_demo_prints_an_lse_sql_command_that_answers_from_the_files(demo, runs):
    home, printed = demo
    line = next(line for line in printed.splitlines() if f"{LSE} --demo sql " in line)
    command = shlex.split(line[line.index(LSE) :])[len(shlex.split(LSE)) :]

    result = run_lse(*command[:2], "--format", "csv", *command[2:], home=home)

    assert result.returncode == 0, result.stderr
    assert {row["project"]: int(row["runs"]) for row in as_csv(result.stdout)} == Counter(
        run["_project"] for run in runs
    )
    assert "read_parquet" not in printed  # no command for a `duckdb` CLI that isn't installed


def test_docs_parquet_recipes_run_in_lse_sql_as_written(demo, runs):
    home, _ = demo
    deepest = max(runs, key=lambda run: run["dotted_order"].count("."))
    for name, query in parquet_recipes().items():
        if name == "setup":  # `lse sql` made the view already
            continue
        if name == "trace_tree":
            query = f"SET VARIABLE trace_id = '{deepest['trace_id']}';\n{query}"
        result = lse_sql(home, query, "json")
        assert result.returncode == 0, (name, result.stderr)
        assert json.loads(result.stdout), name


def test_invalid_sql_is_duckdbs_message_on_one_line_and_exit_1(demo):
    home, _ = demo

    result = lse_sql(home, "SELEC count(*) FROM runs", "table")
    missing = lse_sql(home, "SELECT * FROM no_such_table", "table")

    assert result.returncode == missing.returncode == 1
    assert result.stdout == missing.stdout == ""
    assert result.stderr == 'Error: Parser Error: syntax error at or near "SELEC"\n'
    assert missing.stderr.startswith("Error: Catalog Error: Table with name no_such_table")
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr


def test_an_empty_copy_names_lse_parquet_url_and_the_fix(tmp_path):
    empty = tmp_path / "nothing-here"

    result = run_lse("sql", "SELECT 1", home=tmp_path, LSE_PARQUET_URL=str(empty))

    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"no Parquet files under {empty} (LSE_PARQUET_URL)" in result.stderr
    assert "materialize parquet_runs" in result.stderr


def _invoke(monkeypatch: pytest.MonkeyPatch, parquet_url: str, *args: str):
    """`lse ARGS` in this process (click's runner) with LSE_PARQUET_URL set."""
    monkeypatch.setenv("LSE_PARQUET_URL", parquet_url)
    load_settings.cache_clear()
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        load_settings.cache_clear()


def test_on_s3_through_the_writers_credentials_and_no_secret_is_printed(
    tmp_path, postgres, s3_bucket, monkeypatch
):
    url = f"{s3_bucket.url}/warehouse"
    resources = {**local_resources(tmp_path, postgres), "parquet": ParquetStoreResource(url=url)}
    assert materialize(PROJECT_A, date(2025, 9, 13), resources).success
    files = list((tmp_path / "data").glob("*/*/runs/*.json"))
    roots = sum(
        1 for path in files if (run := json.loads(path.read_bytes()))["id"] == run["trace_id"]
    )
    query = (
        "SELECT project, count(*) AS runs, count(*) FILTER (WHERE is_root) AS traces "
        "FROM runs GROUP BY project"
    )

    found = _invoke(monkeypatch, url, "sql", "--format", "json", query)
    empty = _invoke(monkeypatch, f"{url}-empty", "sql", "SELECT 1")

    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout) == [{"project": PROJECT_A, "runs": len(files), "traces": roots}]
    assert empty.exit_code == 1
    assert f"no Parquet files under {url}-empty (LSE_PARQUET_URL)" in empty.output
    assert KEY_ID not in found.output + empty.output and SECRET not in found.output + empty.output
