"""LangSmith's own counts of a day: the SDK's request, the fake's answer, the fetch's record."""

import warnings
from datetime import date

import langsmith
import pytest

from lse_assets.core.completeness import SourceCounts
from resources.langsmith.paging import day_count_queries
from resources.langsmith.resource import LangSmithResource
from resources.langsmith.sample import SampleLangSmithResource
from tests.fakes.fake_langsmith import (
    RUN_STATS,
    RUNS_QUERY,
    STATS_FIELDS,
    DayMaker,
    FakeLangSmith,
)

PROJECT = "support-bot"
DAY = date(2025, 9, 13)


@pytest.fixture
def fake() -> FakeLangSmith:
    fake = FakeLangSmith()
    DayMaker(fake.add_project(PROJECT), seed=3).day(
        DAY, traces=12, runs_per_trace=4, midnight_crossers=2
    ).install(fake)
    # Neighbours the counts must leave out: the day before, and the day after.
    for other in (date(2025, 9, 12), date(2025, 9, 14)):
        DayMaker(fake.projects[PROJECT], seed=other.day).day(other, traces=3).install(fake)
    return fake


@pytest.fixture
def server(fake):
    with fake.serve() as running:
        yield running


def resource(server, **overrides) -> LangSmithResource:
    settings = {"api_key": "k", "endpoint": server.url, "backoff_seconds": 0.001}
    return LangSmithResource(**{**settings, **overrides})


def fetch(server, **overrides) -> tuple[list[dict], dict]:
    day = resource(server, **overrides).fetch_day(PROJECT, DAY)
    runs = list(day.runs)
    return runs, day.source


def test_our_count_requests_are_the_sdks_get_run_stats_and_the_fake_reads_every_field(fake, server):
    project_id = fake.projects[PROJECT]
    bodies = day_count_queries(project_id, DAY, late_child_days=1)
    client = langsmith.Client(api_url=server.url, api_key="k", auto_batch_tracing=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sdk_answers = {
            name: client.get_run_stats(
                project_ids=[project_id],
                start_time=bodies[name]["start_time"],
                filter=bodies[name]["filter"],
                trace_filter=bodies[name].get("trace_filter"),
                is_root=bodies[name].get("is_root"),
            )
            for name in ("runs", "traces")  # the fetch's order
        }
    sdk_bodies = [request.body for request in fake.served(RUN_STATS)]
    fake.reset_counters()

    runs, source = fetch(server)

    ours = fake.served(RUN_STATS)
    assert len(ours) == 2 and all(request.status == 200 for request in ours)
    assert [request.body for request in ours] == sdk_bodies  # same fields, same values
    assert {key for body in sdk_bodies for key in body} <= STATS_FIELDS  # all parsed
    roots = [run for run in runs if run["id"] == run["trace_id"]]
    assert (
        (sdk_answers["runs"]["run_count"], sdk_answers["traces"]["run_count"])
        == (
            len(runs),
            len(roots),
        )
        == (14 * 4, 14)
    )  # the day's traces, children after midnight included; no neighbours
    assert source["counts"] == {**source["counts"], "source_runs": 56, "source_traces": 14}
    assert SourceCounts.of_source(source).returned_runs == 56


def test_the_fake_refuses_a_stats_filter_it_cannot_apply(fake, server):
    client = langsmith.Client(api_url=server.url, api_key="k", auto_batch_tracing=False)
    with warnings.catch_warnings(), pytest.raises(langsmith.utils.LangSmithError):
        warnings.simplefilter("ignore")
        client.get_run_stats(project_ids=[fake.projects[PROJECT]], run_type="llm")


def test_the_counts_cost_two_requests_within_the_budget_and_retry_policy(fake, server):
    fake.fail(RUN_STATS, nth=1, status=429, headers={"Retry-After": "0.01"})

    runs, source = fetch(server)

    assert fake.count(RUN_STATS) == 3  # two counts, one of them retried
    assert source["requests"]["count_requests"] == 2
    assert source["requests"]["retries"] == 1
    assert source["requests"]["total"] == fake.count()
    counts = SourceCounts.of_source(source)
    assert (counts.source_runs, counts.source_traces) == (len(runs), 14)
    # Counted after the last page, so a run the pages missed is still counted.
    last_page = max(i for i, r in enumerate(fake.requests) if r.path == RUNS_QUERY)
    assert all(i > last_page for i, r in enumerate(fake.requests) if r.path == RUN_STATS)


def test_a_silently_dropped_page_shows_only_in_the_counts(fake, server):
    fake.drop_pages = {2}

    runs, source = fetch(server, page_size=10)

    counts = SourceCounts.of_source(source)
    assert counts.returned_runs == len(runs) == 46
    assert (counts.source_runs, counts.source_traces) == (56, 14)


def test_the_sample_twin_counts_its_own_data():
    for retention in ("kept", "base_dropped"):
        day = SampleLangSmithResource(retention=retention).fetch_day(PROJECT, DAY)
        runs = list(day.runs)
        counts = SourceCounts.of_source(day.source)
        roots = sum(run["id"] == run["trace_id"] for run in runs)
        assert (counts.source_runs, counts.source_traces) == (len(runs), roots)
        assert (counts.returned_runs, counts.returned_traces) == (len(runs), roots)
