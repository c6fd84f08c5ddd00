"""LangSmithResource: the real `langsmith` SDK against the fake LangSmith server."""

import base64
import json
import math
import re
import warnings
from datetime import date, timedelta
from typing import get_args

import pytest
from langsmith.types.run_select_field import RunSelectField

from lse_assets import definitions
from lse_assets.core import runfiles
from lse_assets.core.errors import LseError
from lse_assets.core.runfiles import PartitionPaths
from lse_assets.settings import Settings
from resources.langsmith.api import public_endpoint, split_endpoint
from resources.langsmith.resource import LangSmithResource
from tests.fakes.fake_langsmith import (
    FEEDBACK,
    INFO,
    RUNS_QUERY,
    SESSIONS,
    DayMaker,
    FakeLangSmith,
    every_field_run,
)

KEY = "lsv2_pt_0123456789abcdef_secretsecret"
PROJECT = "support-bot"
DAY = date(2025, 9, 13)
FIXED_REQUESTS = 4  # GET /info, GET /sessions and two POST /runs/stats (the counts), per fetch


@pytest.fixture
def fake() -> FakeLangSmith:
    return FakeLangSmith(api_key=KEY)


@pytest.fixture
def server(fake):
    with fake.serve() as running:
        yield running


def resource(server, **overrides) -> LangSmithResource:
    settings = {
        "api_key": KEY,
        "endpoint": server.url,
        "backoff_seconds": 0.001,
        "max_backoff_seconds": 0.01,
    }
    return LangSmithResource(**{**settings, **overrides})


def fetch_all(server, day=DAY, **overrides):
    fetch = resource(server, **overrides).fetch_day(PROJECT, day)
    runs = list(fetch.runs)
    return runs, fetch.source


def failure_of(server, **overrides) -> LseError:
    with pytest.raises(LseError) as caught:
        fetch_all(server, **overrides)
    assert KEY not in str(caught.value.description)
    return caught.value


def test_pages_by_cursor_with_every_field_selected(fake, server):
    project_id = fake.add_project(PROJECT)
    maker = DayMaker(project_id, seed=1)
    day = maker.day(DAY, traces=30, runs_per_trace=5)
    day.install(fake)
    maker.day(DAY - timedelta(days=1), traces=4).install(fake)
    maker.day(DAY + timedelta(days=1), traces=4).install(fake)

    runs, source = fetch_all(server, page_size=7)

    ids = [run["id"] for run in runs]
    assert len(ids) == len(set(ids)) == 150
    assert set(ids) == day.ids_for_root_day(DAY)
    queries = fake.served(RUNS_QUERY)
    assert len(queries) == math.ceil(150 / 7)
    first = queries[0].body
    assert first["selects"] == list(get_args(RunSelectField))
    assert first["project_ids"] == [project_id]
    assert first["page_size"] == 7
    assert first["min_start_time"] == "2025-09-13T00:00:00Z"
    assert first["trace_filter"] == (
        'and(gte(start_time, "2025-09-13T00:00:00Z"), lt(start_time, "2025-09-14T00:00:00Z"))'
    )
    assert "cursor" not in first and all(q.body["cursor"] for q in queries[1:])
    assert source["requests"]["total"] == fake.count() == len(queries) + FIXED_REQUESTS
    # What docs/langsmith.md says the manifest's source records of the requests and paging.
    assert set(source["requests"]) == {
        "total",
        "run_pages",
        "feedback_pages",
        "count_requests",
        "retries",
        "waited_seconds",
        "budget",
    }
    assert source["requests"]["run_pages"] == len(queries)
    assert source["requests"]["budget"] == LangSmithResource.model_fields["request_budget"].default
    paging = source["paging"]
    assert set(paging) == {
        "max_page_size",
        "page_bytes",
        "bytes",
        "largest_page_bytes",
        "oversized_pages",
        "smallest_page_size",
        "duplicate_runs_dropped",
    }
    assert paging["largest_page_bytes"] < paging["bytes"]  # many pages, the largest one of them
    assert (paging["max_page_size"], paging["smallest_page_size"]) == (7, 7)
    assert source["endpoint"] == server.url
    assert source["sdk"].startswith("langsmith 0.15")
    assert KEY not in json.dumps(source)


def test_a_trace_crossing_midnight_lands_whole_in_its_root_day(fake, server):
    maker = DayMaker(fake.add_project(PROJECT), seed=2)
    before = maker.day(DAY - timedelta(days=1), traces=2, midnight_crossers=1)
    today = maker.day(DAY, traces=3, runs_per_trace=6, midnight_crossers=2)
    after = maker.day(DAY + timedelta(days=1), traces=2)
    for day in (before, today, after):
        day.install(fake)

    fetched = {
        day: {run["id"]: run for run in fetch_all(server, day=day)[0]}
        for day in (DAY - timedelta(days=1), DAY, DAY + timedelta(days=1))
    }

    assert set(fetched[DAY]) == today.ids_for_root_day(DAY)
    crossing_children = [
        run for run in fetched[DAY].values() if run["start_time"].startswith("2025-09-14")
    ]
    assert crossing_children, "the crossers' children start after midnight"
    assert all(run["dotted_order"].startswith("20250913") for run in fetched[DAY].values())
    assert set(fetched[DAY + timedelta(days=1)]) == after.ids_for_root_day(DAY + timedelta(1))
    assert set(fetched[DAY - timedelta(days=1)]) == before.ids_for_root_day(DAY - timedelta(1))
    all_ids = [run_id for runs in fetched.values() for run_id in runs]
    assert len(all_ids) == len(set(all_ids))  # every run filed exactly once


def test_honours_retry_after_on_429(fake, server):
    maker = DayMaker(fake.add_project(PROJECT), seed=3)
    day = maker.day(DAY, traces=6, runs_per_trace=5)
    day.install(fake)
    fake.fail(RUNS_QUERY, nth=2, status=429, headers={"Retry-After": "1"})

    runs, source = fetch_all(server, page_size=10)

    assert {run["id"] for run in runs} == day.ids_for_root_day(DAY)
    queries = fake.served(RUNS_QUERY)
    assert [q.status for q in queries] == [200, 429, 200, 200]
    assert queries[2].at - queries[1].at >= 1.0
    assert queries[2].body["cursor"] == queries[1].body["cursor"]
    assert source["requests"]["retries"] == 1
    assert 1.0 <= source["requests"]["waited_seconds"] < 2.0  # the wait asked for, recorded
    assert source["requests"]["total"] == fake.count() == 4 + FIXED_REQUESTS


def test_retries_server_errors_with_backoff(fake, server):
    maker = DayMaker(fake.add_project(PROJECT), seed=4)
    day = maker.day(DAY, traces=6, runs_per_trace=5, feedback_every=3)
    day.install(fake)
    fake.fail(RUNS_QUERY, nth=1, status=503, times=2)
    fake.fail(FEEDBACK, nth=1, status=500)

    runs, source = fetch_all(server, page_size=10)

    assert {run["id"] for run in runs} == day.ids_for_root_day(DAY)
    assert sum(len(run["feedback_records"]) for run in runs) == len(day.feedback)
    assert source["requests"]["retries"] == 3


def test_a_connection_dropped_in_the_middle_of_paging_is_retried(fake, server):
    maker = DayMaker(fake.add_project(PROJECT), seed=5)
    day = maker.day(DAY, traces=8, runs_per_trace=5)
    day.install(fake)
    fake.fail(RUNS_QUERY, nth=3, status=None)

    runs, source = fetch_all(server, page_size=9)

    ids = [run["id"] for run in runs]
    assert len(ids) == len(set(ids)) and set(ids) == day.ids_for_root_day(DAY)
    assert [q.status for q in fake.served(RUNS_QUERY)][2] is None
    assert source["requests"]["retries"] == 1


def test_persistent_server_errors_fail_after_the_allowed_attempts(fake, server):
    DayMaker(fake.add_project(PROJECT)).day(DAY, traces=3).install(fake)
    fake.fail(RUNS_QUERY, nth=1, status=502, times=100)

    failure = failure_of(server, max_attempts=3)

    assert "HTTP 502" in failure.description and "3 attempts" in failure.description
    assert failure.retryable  # Dagster may try the whole step again later
    assert fake.count(RUNS_QUERY) == 3


def test_a_long_retry_after_fails_instead_of_blocking(fake, server):
    DayMaker(fake.add_project(PROJECT)).day(DAY, traces=3).install(fake)
    fake.fail(RUNS_QUERY, nth=1, status=429, headers={"Retry-After": "3600"}, times=100)

    failure = failure_of(server, max_retry_after_seconds=60)

    assert "3600" in failure.description and "`langsmith` pool" in failure.description
    assert fake.count(RUNS_QUERY) == 1


def test_a_rejected_key_fails_at_once_and_names_the_fix(fake, server):
    fake.add_project(PROJECT)

    failure = failure_of(server, api_key="lsv2_pt_wrong_key_0000000000")

    assert "HTTP 401" in failure.description and "LANGSMITH_API_KEY" in failure.description
    assert "lsv2_pt_wrong" not in failure.description
    assert not failure.retryable
    assert fake.count() == 1  # no retry


def test_a_forbidden_workspace_fails_at_once(fake, server):
    fake.add_project(PROJECT)
    fake.fail(SESSIONS, status=403, times=10)

    failure = failure_of(server)

    assert "HTTP 403" in failure.description and "LANGSMITH_WORKSPACE_ID" in failure.description
    assert not failure.retryable
    assert fake.count(SESSIONS) == 1


def test_an_unknown_project_fails_at_once_and_names_it(fake, server):
    fake.add_project("another-project")

    failure = failure_of(server)

    assert repr(PROJECT) in failure.description and "LSE_PROJECTS" in failure.description
    # Both ways out: the name as the UI shows it, or a key of the workspace that owns it.
    assert "(exact and case-sensitive, as shown in the LangSmith UI)" in failure.description
    assert failure.description.endswith(
        "or use a key of the workspace that owns the project (LANGSMITH_WORKSPACE_ID for org keys)."
    )
    assert not failure.retryable
    assert fake.count(RUNS_QUERY) == 0


def test_a_server_too_old_for_v2_fails_at_once():
    fake = FakeLangSmith(version="0.15.3")
    fake.add_project(PROJECT)
    with fake.serve() as server:
        failure = failure_of(server)
    assert "0.16" in failure.description and "0.15.3" in failure.description
    assert "404" not in failure.description  # the version said so; no request failed
    assert not failure.retryable
    assert fake.count(RUNS_QUERY) == 0


def test_a_404_on_the_v2_endpoint_means_too_old(fake, server):
    DayMaker(fake.add_project(PROJECT)).day(DAY, traces=2).install(fake)
    fake.fail(INFO, status=404)  # some deployments hide their version
    fake.fail(RUNS_QUERY, status=404)

    failure = failure_of(server)

    assert "answered 404" in failure.description and "0.16" in failure.description
    assert "server version unknown" in failure.description  # /info hid it: not made up
    assert not failure.retryable
    assert fake.count(RUNS_QUERY) == 1


def test_an_empty_day_writes_an_empty_partition(fake, server, tmp_path):
    DayMaker(fake.add_project(PROJECT)).day(DAY - timedelta(days=1), traces=3).install(fake)
    paths = PartitionPaths(tmp_path, PROJECT, DAY)

    fetch = resource(server).fetch_day(PROJECT, DAY)
    stats = runfiles.write_partition(paths, fetch.runs, fetch.source)

    manifest = runfiles.read_manifest(paths)
    assert stats.runs == 0 and manifest["files"] == {} and manifest["counts"]["runs"] == 0
    assert manifest["source"]["requests"]["total"] == fake.count() == FIXED_REQUESTS + 1


def test_fetching_an_unchanged_day_again_keeps_the_partition(fake, server, tmp_path):
    maker = DayMaker(fake.add_project(PROJECT), seed=9)
    maker.day(DAY, traces=10, feedback_every=2, records_per_run=3).install(fake)
    paths = PartitionPaths(tmp_path, PROJECT, DAY)
    first = resource(server, page_size=7).fetch_day(PROJECT, DAY)
    runfiles.write_partition(paths, first.runs, first.source)
    written = paths.manifest.read_bytes()

    again = resource(server, page_size=13).fetch_day(PROJECT, DAY)
    stats = runfiles.write_partition(paths, again.runs, again.source)

    assert stats.unchanged and paths.manifest.read_bytes() == written


def test_full_feedback_records_across_several_pages(fake, server):
    maker = DayMaker(fake.add_project(PROJECT), seed=6)
    day = maker.day(DAY, traces=40, runs_per_trace=5, feedback_every=1, records_per_run=1)
    # Feedback that arrived after the runs' stats were computed: stats announce fewer.
    busy = day.runs[7]
    late = maker.feedback(dict(busy), 230)
    day.feedback += late
    day.install(fake)

    runs, source = fetch_all(server, page_size=50)

    expected = day.records_by_run()
    assert len(runs) == 200
    for run in runs:
        assert run["feedback_records"] == sorted(expected[run["id"]], key=lambda r: r["id"])
    assert len(next(r for r in runs if r["id"] == busy["id"])["feedback_records"]) == 231
    pages = fake.served(FEEDBACK)
    assert all(len(p.query["run"]) <= 99 and p.query["limit"] == ["100"] for p in pages)
    # 200 runs announcing one record each: batches of 99, 99 and 2 runs, one short page
    # each, but the busy run's batch holds 99 + 230 records: 4 pages.
    assert len(pages) == source["requests"]["feedback_pages"] == 4 + 1 + 1


def test_a_run_with_every_field_survives_unchanged(fake, server, tmp_path):
    project_id = fake.add_project(PROJECT)
    run, feedback = every_field_run(project_id, DAY)
    fake.add_runs([run])
    fake.add_feedback(feedback)
    paths = PartitionPaths(tmp_path, PROJECT, DAY)

    fetch = resource(server).fetch_day(PROJECT, DAY)
    runfiles.write_partition(paths, fetch.runs, fetch.source)

    on_disk = json.loads(paths.run_file(run["id"]).read_bytes())
    assert on_disk == {**run, "feedback_records": feedback}
    assert on_disk["start_time"] == "2025-09-13T12:30:15.123456Z"  # the API's string
    assert on_disk["outputs"]["generations"][0]["big"] == 12345678901234567890
    assert "\x00" in on_disk["inputs"]["messages"][0]["content"]


def test_request_count_is_bounded_by_pages_plus_feedback_batches(fake, server):
    maker = DayMaker(fake.add_project(PROJECT), seed=7)
    day = maker.day(DAY, traces=200, runs_per_trace=5, feedback_every=4)
    day.install(fake)
    runs_with_feedback = len({record["run_id"] for record in day.feedback})
    assert (len(day.runs), runs_with_feedback) == (1000, 250)

    runs, source = fetch_all(server, page_size=50)

    assert len(runs) == 1000
    bound = math.ceil(1000 / 50) + math.ceil(runs_with_feedback / 100) + FIXED_REQUESTS
    assert fake.count() == source["requests"]["total"] <= bound


def test_runs_stream_one_page_at_a_time(fake, server):
    DayMaker(fake.add_project(PROJECT), seed=8).day(DAY, traces=20, runs_per_trace=5).install(fake)

    runs = resource(server, page_size=10).fetch_day(PROJECT, DAY).runs
    next(runs)
    assert fake.count(RUNS_QUERY) == 1  # nothing fetched ahead of the consumer
    for _ in range(10):
        next(runs)
    assert fake.count(RUNS_QUERY) == 2
    runs.close()


def test_the_request_budget_stops_a_runaway_fetch(fake, server):
    DayMaker(fake.add_project(PROJECT)).day(DAY, traces=20, runs_per_trace=5).install(fake)

    failure = failure_of(server, page_size=10, request_budget=5)

    assert "request_budget=5" in failure.description and not failure.retryable
    assert fake.count() == 5


def test_no_sdk_warning_reaches_the_user(fake, server, capfd, caplog):
    DayMaker(fake.add_project(PROJECT)).day(DAY, traces=5, feedback_every=2).install(fake)
    fake.fail(RUNS_QUERY, nth=1, status=429, headers={"Retry-After": "0.01"})

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs, _ = fetch_all(server)

    assert runs and caught == []
    out, err = capfd.readouterr()
    # Our one retry line reaches the terminal or pytest's log capture, depending on whether an
    # earlier test configured logging handlers; nothing else may reach either.
    shown = [line for line in (out + err).splitlines() if line.strip()]
    shown += [record.getMessage() for record in caplog.records]
    assert len(shown) == 1 and "LangSmith querying runs: HTTP 429" in shown[0]  # ours only
    assert "warn" not in (out + err).lower() and KEY not in out + err + shown[0]


@pytest.mark.parametrize(
    ("endpoint", "base", "prefix"),
    [
        ("https://api.smith.langchain.com", "https://api.smith.langchain.com", ""),
        ("https://eu.api.smith.langchain.com/", "https://eu.api.smith.langchain.com", ""),
        ("https://ls.example.com/api/v1", "https://ls.example.com", "/api/v1"),
        ("https://ls.example.com/api/", "https://ls.example.com", "/api"),  # self-hosted root
    ],
)
def test_endpoint_split_between_v2_base_and_classic_prefix(endpoint, base, prefix):
    assert split_endpoint(endpoint) == (base, prefix)


def test_public_endpoint_drops_credentials():
    assert public_endpoint("https://user:pw@ls.example.com:8443/api/v1?token=x") == (
        "https://ls.example.com:8443/api/v1"
    )


def _offsets(fake) -> list[int]:
    """Where each runs query started (the fake's cursor is a position)."""
    return [
        json.loads(base64.urlsafe_b64decode(q.body["cursor"]))["offset"]
        if "cursor" in q.body
        else 0
        for q in fake.served(RUNS_QUERY)
    ]


def test_pages_shrink_for_large_runs_and_grow_back_without_skipping_or_repeating_one(fake, server):
    maker = DayMaker(fake.add_project(PROJECT), seed=21)
    day = maker.day(DAY, traces=200, runs_per_trace=5)
    by_start = sorted(day.runs, key=lambda run: (run["start_time"], run["id"]))
    for run in by_start[300:360]:  # an abrupt stretch of 40 KB runs amid 4 KB ones
        run["inputs"] = {"document": "x" * 40_000}
    day.install(fake)

    fetch = resource(server, page_size=200, page_bytes=1_000_000).fetch_day(PROJECT, DAY)
    runs = list(fetch.runs)

    ids = [run["id"] for run in runs]
    assert len(ids) == len(set(ids)) == 1000 and set(ids) == day.ids_for_root_day(DAY)
    assert ids == [run["id"] for run in by_start]  # the API's order, nothing out of place
    asked = [q.body["page_size"] for q in fake.served(RUNS_QUERY)]
    assert asked[0] == 200
    smallest = asked.index(min(asked))
    assert min(asked) < 100 and 200 in asked[smallest:]  # shrank, then grew back
    offsets = _offsets(fake)
    assert offsets == sorted(set(offsets))  # never asked again for a position
    assert offsets[1:] == [a + min(s, 1000 - a) for a, s in zip(offsets, asked, strict=True)][:-1]
    paging = fetch.source["paging"]
    assert paging["duplicate_runs_dropped"] == fetch.duplicate_runs_dropped == 0
    assert paging["smallest_page_size"] == min(asked)
    assert paging["largest_page_bytes"] < 3 * 1_000_000


def test_a_server_capping_pages_below_the_requested_size(server, fake):
    fake.max_page_size = 40
    maker = DayMaker(fake.add_project(PROJECT), seed=22)
    day = maker.day(DAY, traces=50, runs_per_trace=5, feedback_every=7)
    day.install(fake)

    runs, _ = fetch_all(server)

    assert {run["id"] for run in runs} == day.ids_for_root_day(DAY) and len(runs) == 250
    assert all(q.body["page_size"] == 1000 for q in fake.served(RUNS_QUERY))
    assert fake.count(RUNS_QUERY) == math.ceil(250 / 40)
    records = day.records_by_run()
    assert all(
        run["feedback_records"] == sorted(records.get(run["id"], []), key=lambda r: r["id"])
        for run in runs
    )


@pytest.mark.parametrize("shape", ["server ignores the page size", "one run is huge"])
def test_a_page_above_the_budget_is_read_whole_and_its_size_logged(fake, server, caplog, shape):
    maker = DayMaker(fake.add_project(PROJECT), seed=23)
    day = maker.day(DAY, traces=30, runs_per_trace=5)
    most = 1000
    if shape == "one run is huge":
        day.runs[70]["outputs"] = {"video": "y" * 2_000_000}
        most = 10  # pages of 10 small runs fit the budget; the one with the huge run cannot
    else:
        fake.ignore_page_size = True
    day.install(fake)

    fetch = resource(server, page_size=most, page_bytes=50_000).fetch_day(PROJECT, DAY)
    runs = list(fetch.runs)

    assert {run["id"] for run in runs} == day.ids_for_root_day(DAY) and len(runs) == 150
    warnings_ = [
        r.getMessage() for r in caplog.records if "above the page budget" in r.getMessage()
    ]
    assert warnings_ and fetch.source["paging"]["oversized_pages"] == len(warnings_)
    largest = fetch.source["paging"]["largest_page_bytes"]
    size = f"{largest / 1e6:,.1f} MB" if largest >= 1e6 else f"{largest / 1e3:,.0f} KB"
    assert f"is {size}, above the page budget of 50 KB" in " ".join(warnings_)
    if shape == "one run is huge":
        assert (
            largest > 2_000_000 and min(q.body["page_size"] for q in fake.served(RUNS_QUERY)) == 1
        )
    else:
        assert fake.count(RUNS_QUERY) == 1


def test_a_run_served_twice_alike_is_archived_once_and_counted(fake, server):
    maker = DayMaker(fake.add_project(PROJECT), seed=24)
    day = maker.day(DAY, traces=10, runs_per_trace=5)
    day.install(fake)
    fake.add_runs([dict(day.runs[12]), dict(day.runs[31])])  # the same bytes again

    fetch = resource(server, page_size=7).fetch_day(PROJECT, DAY)
    ids = [run["id"] for run in fetch.runs]

    assert len(ids) == len(set(ids)) == 50
    assert fetch.duplicate_runs_dropped == 2
    assert fetch.source["paging"]["duplicate_runs_dropped"] == 2


@pytest.mark.parametrize("fault", ["two contents", "run without id", "feedback without id"])
def test_data_no_retry_can_fix_fails_without_retries_naming_the_run(fake, server, fault):
    maker = DayMaker(fake.add_project(PROJECT), seed=25)
    day = maker.day(DAY, traces=10, runs_per_trace=5, feedback_every=5)
    day.install(fake)
    victim = day.runs[12]
    if fault == "two contents":
        fake.add_runs([{**victim, "status": "ERROR"}])
        expected = f"run {victim['id']}"
    elif fault == "run without id":
        orphan = {k: v for k, v in day.runs[13].items() if k != "id"}
        fake.add_runs([orphan])
        expected = f"trace_id {orphan['trace_id']!r}"
    else:
        record = next(r for r in day.feedback if r["run_id"] == day.runs[4]["id"])
        del record["id"]
        expected = f"for run {day.runs[4]['id']}"

    failure = failure_of(server, page_size=7)

    assert not failure.retryable
    assert expected in failure.description and "Retrying will not help" in failure.description


def test_progress_lines_speak_of_runs_per_second_requests_and_page_size(fake, server, caplog):
    DayMaker(fake.add_project(PROJECT), seed=26).day(DAY, traces=10, runs_per_trace=5).install(fake)

    list(resource(server, page_size=20, progress_seconds=1e-9).fetch_day(PROJECT, DAY).runs)

    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("LangSmith: ")]
    assert len(lines) == 3  # one per page: 20 + 20 + 10 runs
    assert lines[1].startswith("LangSmith: 40 runs (")  # the page just read included
    assert "runs/s), 4 requests (0 retries)" in lines[1]
    assert all(re.search(r"page size 20 runs \(last page \d+ KB\)$", line) for line in lines)


def test_the_page_budget_comes_from_lse_fetch_page_bytes(monkeypatch):
    monkeypatch.setenv("LANGSMITH_API_KEY", KEY)
    assert definitions.run_source(Settings(source="langsmith")).page_bytes == 64 * 1024 * 1024
    monkeypatch.setenv("LSE_FETCH_PAGE_BYTES", "5000000")
    assert definitions.run_source(Settings(source="langsmith")).page_bytes == 5_000_000
    monkeypatch.setenv("LSE_FETCH_PAGE_BYTES", "12")
    with pytest.raises(ValueError, match="fetch_page_bytes"):
        Settings(source="langsmith")


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (
            {"detail": "page_size must be between 1 and 1000"},
            "page_size must be between 1 and 1000",
        ),
        (["not", "a", "detail"], "['not', 'a', 'detail']"),
        ("", "Unprocessable Entity"),  # no body: the status line's reason
    ],
)
def test_a_refused_request_quotes_what_langsmith_said_and_fails_at_once(fake, server, body, shown):
    DayMaker(fake.add_project(PROJECT)).day(DAY, traces=2).install(fake)
    fake.fail(RUNS_QUERY, status=422, body=body)

    failure = failure_of(server)

    assert f"while querying runs (HTTP 422: {shown}). Retrying will not help" in (
        failure.description
    )
    assert not failure.retryable
    assert fake.count(RUNS_QUERY) == 1


@pytest.mark.parametrize("workspace", ["3f2c1a9e-0000-4000-8000-000000000042", ""])
def test_the_workspace_id_goes_with_every_request_when_set(fake, server, workspace):
    DayMaker(fake.add_project(PROJECT)).day(DAY, traces=2).install(fake)

    fetch_all(server, workspace_id=workspace)

    assert fake.count() > 0
    assert {request.workspace for request in fake.requests} == {workspace or None}
