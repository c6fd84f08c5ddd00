"""The sample twin answers in LangSmith's own shape, so the demo and every test built on it
exercise the archive, the checks and the Parquet export with what a real fetch writes.

The rules come from outside the twin: the fields are the ones the real fetch selects
(the SDK's `RunSelectField`, `paging.ALL_SELECTS`) plus the `feedback_records` it adds;
feedback records are `langsmith.schemas.Feedback`; tokens and costs add up and roll up to
the root as LangSmith's do; inputs and outputs take the keys LangChain traces per run
type (the ones LangSmith's UI renders, and `docs/parquet.md`'s recipe queries).
"""

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import langsmith.schemas
import pytest

from resources.langsmith.paging import ALL_SELECTS
from resources.langsmith.sample import SampleLangSmithResource

DAY = date(2025, 9, 13)
FETCHED_FIELDS = {name.lower() for name in ALL_SELECTS} | {"feedback_records"}
FEEDBACK_FIELDS = set(langsmith.schemas.Feedback.model_fields)
RUN_TYPES = {"CHAIN", "LLM", "TOOL", "RETRIEVER"}
PREVIEW_CHARS = 120


def _runs(**options: Any) -> list[dict[str, Any]]:
    return list(SampleLangSmithResource(**options).fetch_day("support-bot", DAY).runs)


@pytest.fixture  # per test: mutmut maps a test to the code it calls while it runs
def runs() -> list[dict[str, Any]]:
    return _runs()


def _children(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    children = defaultdict(list)
    for run in runs:
        if run["parent_run_ids"]:
            children[run["parent_run_ids"][-1]].append(run)
    return children


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


@pytest.mark.parametrize(
    "options",
    [{}, {"as_of": "2025-09-13T12:00:00Z"}, {"late_feedback": True}],
    ids=["finished", "pending", "late_feedback"],
)
def test_every_run_carries_exactly_the_fields_the_real_fetch_writes(options):
    found = _runs(**options)
    assert found
    for run in found:
        assert set(run) == FETCHED_FIELDS, (run["name"], set(run) ^ FETCHED_FIELDS)


def test_runs_hold_v2_values_a_reader_of_the_archive_relies_on(runs):
    ids = {run["id"] for run in runs}
    assert len(ids) == len(runs)
    for run in runs:
        assert isinstance(run["name"], str) and run["name"], run["id"]
        assert run["run_type"] in RUN_TYPES
        assert run["status"] in {"SUCCESS", "ERROR"}
        assert (run["status"] == "ERROR") == bool(run["error"]), run["name"]
        assert run["is_root"] == (not run["parent_run_ids"])
        assert set(run["parent_run_ids"]) <= ids
        for key in ("id", "trace_id", "project_id"):
            UUID(run[key])
        took = _parse(run["end_time"]) - _parse(run["start_time"])
        assert run["latency_seconds"] == pytest.approx(took.total_seconds(), abs=0.001)
    assert {run["run_type"] for run in runs} == RUN_TYPES
    assert {run["status"] for run in runs} == {"SUCCESS", "ERROR"}


def test_tokens_and_costs_add_up_and_roll_up_to_the_root(runs):
    children = _children(runs)
    for run in runs:
        assert run["total_tokens"] == run["prompt_tokens"] + run["completion_tokens"]
        assert run["total_cost"] == pytest.approx(run["prompt_cost"] + run["completion_cost"])
        if run["run_type"] == "LLM":
            assert run["prompt_tokens"] > 0 and run["completion_tokens"] > 0
            assert run["total_cost"] > 0
        if run["id"] in children:  # a parent holds what its children spent, as LangSmith's
            for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
                assert run[key] == sum(child[key] for child in children[run["id"]]), key
            for key in ("prompt_cost", "completion_cost", "total_cost"):
                spent = sum(child[key] for child in children[run["id"]])
                assert run[key] == pytest.approx(spent, abs=1e-8), key
    roots = [run for run in runs if run["is_root"]]
    assert all(root["total_tokens"] > 0 for root in roots)


def test_feedback_records_are_langsmith_feedback_of_their_run(runs):
    records = [record for run in runs for record in run["feedback_records"]]
    assert {r["value"] for r in records if r["key"] == "user_thumbs"} == {"up", "down"}
    for run in runs:
        records = run["feedback_records"]
        for record in records:
            assert set(record) <= FEEDBACK_FIELDS, set(record) - FEEDBACK_FIELDS
            langsmith.schemas.Feedback(**record)
            assert record["run_id"] == run["id"]
            assert record["trace_id"] == run["trace_id"]
            assert record["session_id"] == run["project_id"]
            assert record["created_at"] >= run["end_time"]
            if record["key"] == "user_thumbs":  # a thumb is up exactly when it scores
                assert record["value"] == ("up" if record["score"] else "down")
        by_key = defaultdict(list)
        for record in records:
            by_key[record["key"]].append(record["score"])
        assert set(run["feedback_stats"]) == set(by_key)
        for key, scores in by_key.items():
            stats = run["feedback_stats"][key]
            assert stats["n"] == len(scores)
            assert stats["avg"] == pytest.approx(sum(scores) / len(scores))
            assert (stats["min"], stats["max"]) == (min(scores), max(scores))


def test_inputs_and_outputs_take_the_keys_langchain_traces_per_run_type(runs):
    for run in runs:
        inputs, outputs = run["inputs"], run["outputs"]
        if run["is_root"]:
            assert isinstance(inputs["question"], str)  # docs/parquet.md's json_inputs recipe
        if run["run_type"] == "LLM":
            assert [set(message) for message in inputs["messages"]] == [{"role", "content"}]
            assert all(isinstance(g["text"], str) for g in outputs["generations"])
        elif run["run_type"] == "RETRIEVER":
            assert isinstance(inputs["query"], str)
            assert all(isinstance(doc["page_content"], str) for doc in outputs["documents"])
        elif run["run_type"] == "TOOL":
            assert set(inputs) == {"input"} and isinstance(inputs["input"], str)
            assert set(outputs) <= {"output"}  # a failed tool answered nothing


def test_previews_are_short_text_taken_from_the_value(runs):
    for run in runs:
        for field in ("inputs_preview", "outputs_preview"):
            preview = run[field]
            assert isinstance(preview, str) and preview, (run["name"], field)
            assert len(preview) <= PREVIEW_CHARS, (run["name"], field)
        assert any(text.startswith(run["inputs_preview"]) for text in _strings(run["inputs"]))


def test_a_day_asked_during_it_holds_only_what_langsmith_had_by_then():
    moment = datetime(2025, 9, 13, 12, tzinfo=UTC)
    found = _runs(as_of=moment.isoformat())
    assert found
    pending = [run for run in found if run["status"] == "PENDING"]
    for run in found:
        assert run["start_time"] <= "2025-09-13T12:00:00.000000Z"
        if run in pending:
            assert run["end_time"] is None and run["outputs"] is None
        for record in run["feedback_records"]:
            assert record["created_at"] <= "2025-09-13T12:00:00.000000Z"


def test_the_counts_are_stamped_in_utc_whatever_the_machines_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        fetch = SampleLangSmithResource().fetch_day("support-bot", DAY)
        list(fetch.runs)
        stamped = _parse(fetch.source["counts"]["counted_at"])
    finally:
        monkeypatch.undo()
        time.tzset()
    assert abs((datetime.now(UTC) - stamped).total_seconds()) < 60
