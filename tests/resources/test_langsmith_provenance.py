"""What a LangSmith fetch records about itself (the manifest's `source`), against the fake
LangSmith in process: when it was fetched (UTC, microseconds), the paging it used and the
server it asked (issue 18: the field names were not pinned)."""

from datetime import UTC, date, datetime

from resources.langsmith.resource import LangSmithResource
from tests.fakes.fake_langsmith import DayMaker, FakeLangSmith

KEY = "lsv2_pt_0123456789abcdef_secretsecret"
PROJECT = "support-bot"
DAY = date(2025, 9, 13)


def test_a_fetch_records_when_and_how_it_fetched():
    fake = FakeLangSmith(api_key=KEY)
    project_id = fake.add_project(PROJECT)
    DayMaker(project_id, seed=1).day(DAY, traces=2).install(fake)
    with fake.serve() as server:
        before = datetime.now(UTC)
        resource = LangSmithResource(api_key=KEY, endpoint=server.url, page_size=7)
        fetch = resource.fetch_day(PROJECT, DAY)
        runs = list(fetch.runs)
        after = datetime.now(UTC)
    source = fetch.source
    assert runs
    fetched = datetime.strptime(source["fetched_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before <= fetched <= after
    assert source["paging"]["max_page_size"] == 7
    assert source["project_id"] == project_id
    assert "project_ids" not in source["query"]


def test_the_days_counts_are_recorded_after_the_last_run_with_when():
    from resources.langsmith.run_source import with_source_counts

    runs = [{"id": "a", "trace_id": "a"}, {"id": "b", "trace_id": "a"}]
    source: dict = {}
    before = datetime.now(UTC)
    stream = with_source_counts(iter(runs), source, lambda: (3, 1))
    assert list(stream) == runs
    after = datetime.now(UTC)
    counts = source["counts"]
    counted = datetime.strptime(counts.pop("counted_at"), "%Y-%m-%dT%H:%M:%S.%fZ")
    assert before <= counted.replace(tzinfo=UTC) <= after
    assert counts == {
        "source_runs": 3,
        "source_traces": 1,
        "returned_runs": 2,
        "returned_traces": 1,
    }
