"""A deterministic twin of LangSmith for the demo and the tests (LSE_SOURCE=sample).

For any (project, day, variant) it produces the same realistic runs, in the v2 shape the
real fetch writes: trace trees several levels deep of CHAIN/LLM/TOOL/RETRIEVER runs,
errors, token counts and costs rolled up to the root, feedback records, traces whose
children start after midnight UTC, unicode, a large payload and a string holding U+0000.
Asked during a day (today, or `as_of` a moment of a past day) it answers as LangSmith does:
only the runs started by then, those not ended yet as pending, no feedback given later.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from lse_assets.core.ports import DayFetch
from resources.langsmith.run_source import RunSourceResource, with_source_counts

_MODELS = [("gpt-4o-mini", 0.15e-6, 0.6e-6), ("claude-sonnet-4", 3e-6, 15e-6)]
_QUESTIONS = [
    "How do I rotate my API key?",
    "Résumé the refund policy in two sentences.",
    "東京の天気は？",  # noqa: RUF001 (a real Japanese question mark)
    "Why did my deployment fail with exit code 137? 🤔",
    "List three risks of the Q3 migration plan.",
]
_TOOLS = ["search_docs", "get_weather", "sql_query", "calculator"]


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


SAMPLE_TENANT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "lse-sample/tenant"))


def sample_project_id(project: str) -> str:
    """The sample project's id: one per project name, stable across days, as in LangSmith."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"lse-sample/project/{project}"))


def _dotted(moment: datetime, run_id: str) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ") + run_id


class _DayBuilder:
    def __init__(self, project: str, day: date, variant: int) -> None:
        seed = hashlib.sha256(f"{project}|{day}|{variant}".encode()).digest()
        self.rng = random.Random(seed)
        self.project_id = sample_project_id(project)
        self.day = day

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def trace_starts(self) -> list[datetime]:
        midnight = datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC)
        starts = [
            midnight + timedelta(seconds=self.rng.uniform(60, 86_000))
            for _ in range(self.rng.randint(30, 45))
        ]
        # Roots just before midnight: their children start on the next UTC day.
        starts += [midnight + timedelta(seconds=86_399.2), midnight + timedelta(seconds=86_397)]
        return sorted(starts)

    def run(
        self,
        *,
        name: str,
        run_type: str,
        start: datetime,
        trace_id: str | None,
        parents: list[str],
        dotted_parent: str | None,
        thread_id: str,
    ) -> dict[str, Any]:
        run_id = self.uuid()
        trace_id = trace_id or run_id
        dotted = _dotted(start, run_id)
        return {
            "id": run_id,
            "name": name,
            "run_type": run_type,
            "status": "SUCCESS",
            "start_time": _ts(start),
            "trace_id": trace_id,
            "parent_run_ids": parents,
            "is_root": not parents,
            "dotted_order": f"{dotted_parent}.{dotted}" if dotted_parent else dotted,
            "project_id": self.project_id,
            "thread_id": thread_id,
            "tags": ["sample", run_type.lower()],
            "metadata": {"ls_run_depth": len(parents), "app_version": "1.4.2"},
            "extra": {"runtime": {"sdk": "langsmith-py", "sdk_version": "0.15.0"}},
            "events": [{"name": "start", "time": _ts(start), "kwargs": None}],
            "reference_example_id": None,
            "reference_dataset_id": None,
            "is_in_dataset": False,
            "app_path": f"/o/sample/projects/p/{self.project_id}/r/{run_id}",
            "share_url": None,
            "attachments": {},
            "error": None,
            "error_preview": None,
            "first_token_time": None,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "total_tokens": 0,
            "prompt_cost": 0.0,
            "completion_cost": 0.0,
            "total_cost": 0.0,
            "prompt_token_details": None,
            "completion_token_details": None,
            "prompt_cost_details": None,
            "completion_cost_details": None,
            "price_model_id": None,
            "manifest": None,
            "thread_evaluation_time": None,
            "last_queued_at": None,
            "ls_user_id": None,
            "feedback_stats": {},
            "feedback_records": [],
        }


def _finish(
    run: dict[str, Any], start: datetime, seconds: float, outputs: dict[str, Any]
) -> datetime:
    end = start + timedelta(seconds=seconds)
    run["end_time"] = _ts(end)
    run["latency_seconds"] = round(seconds, 3)
    run["outputs"] = outputs
    run["outputs_preview"] = str(outputs)[:120]
    run["events"].append({"name": "end", "time": _ts(end), "kwargs": None})
    return end


def _roll_up(parent: dict[str, Any], child: dict[str, Any]) -> None:
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        parent[key] += child[key]
    for key in ("prompt_cost", "completion_cost", "total_cost"):
        parent[key] = round(parent[key] + child[key], 9)


def _feedback(b: _DayBuilder, run: dict[str, Any], end: datetime) -> None:
    records = []
    for key in b.rng.sample(["correctness", "helpfulness", "user_thumbs"], b.rng.randint(1, 2)):
        score = b.rng.choice([0, 0.5, 1])
        records.append(
            {
                "id": b.uuid(),
                "run_id": run["id"],
                "trace_id": run["trace_id"],
                "session_id": run["project_id"],
                "key": key,
                "score": score,
                "value": None if key != "user_thumbs" else ("up" if score else "down"),
                "comment": b.rng.choice([None, "Cites the right policy.", "Missed the 2nd step."]),
                "correction": None,
                "feedback_source": {
                    "type": "app" if key == "user_thumbs" else "model",
                    "metadata": {},
                },
                "feedback_group_id": None,
                "comparative_experiment_id": None,
                "extra": None,
                "created_at": _ts(end + timedelta(minutes=5)),
                "modified_at": _ts(end + timedelta(minutes=5)),
            }
        )
    run["feedback_records"] = sorted(records, key=lambda record: record["id"])
    run["feedback_stats"] = {
        record["key"]: {
            "n": 1,
            "avg": record["score"],
            "min": record["score"],
            "max": record["score"],
        }
        for record in records
    }


def _trace(b: _DayBuilder, start: datetime, index: int) -> list[dict[str, Any]]:
    question = b.rng.choice(_QUESTIONS)
    thread_id = b.uuid()
    root = b.run(
        name="support_agent",
        run_type="CHAIN",
        start=start,
        trace_id=None,
        parents=[],
        dotted_parent=None,
        thread_id=thread_id,
    )
    root["inputs"] = {"question": question, "user": {"tier": b.rng.choice(["free", "pro"])}}
    root["inputs_preview"] = question
    runs = [root]
    clock = start + timedelta(milliseconds=b.rng.randint(2, 30))

    def child(parent: dict[str, Any], name: str, run_type: str, at: datetime) -> dict[str, Any]:
        made = b.run(
            name=name,
            run_type=run_type,
            start=at,
            trace_id=root["id"],
            parents=[*parent["parent_run_ids"], parent["id"]],
            dotted_parent=parent["dotted_order"],
            thread_id=thread_id,
        )
        runs.append(made)
        return made

    def llm(parent: dict[str, Any], at: datetime, prompt: str) -> datetime:
        model, in_price, out_price = b.rng.choice(_MODELS)
        call = child(parent, "ChatModel", "LLM", at)
        call["inputs"] = {"messages": [{"role": "user", "content": prompt}]}
        call["inputs_preview"] = prompt[:120]
        call["metadata"].update({"ls_provider": "openai", "ls_model_name": model})
        call["prompt_tokens"] = b.rng.randint(200, 4000)
        call["completion_tokens"] = b.rng.randint(20, 800)
        call["total_tokens"] = call["prompt_tokens"] + call["completion_tokens"]
        call["prompt_cost"] = round(call["prompt_tokens"] * in_price, 9)
        call["completion_cost"] = round(call["completion_tokens"] * out_price, 9)
        call["total_cost"] = round(call["prompt_cost"] + call["completion_cost"], 9)
        call["prompt_token_details"] = {"raw": {"cache_read": call["prompt_tokens"] // 4}}
        call["completion_token_details"] = {"raw": {"reasoning": 0}}
        call["price_model_id"] = b.uuid()
        call["first_token_time"] = _ts(at + timedelta(milliseconds=b.rng.randint(150, 900)))
        answer = f"Answer to {prompt[:40]!r}: " + " ".join(["ok"] * b.rng.randint(5, 40))
        end = _finish(call, at, b.rng.uniform(0.4, 6.0), {"generations": [{"text": answer}]})
        _roll_up(parent, call)
        return end

    retriever = child(root, "vector_search", "RETRIEVER", clock)
    retriever["inputs"] = {"query": question}
    retriever["inputs_preview"] = question
    docs = [
        {
            "page_content": f"Doc {n} about {question[:20]}",
            "metadata": {"score": round(b.rng.random(), 4)},
        }
        for n in range(b.rng.randint(2, 5))
    ]
    if index % 17 == 3:  # a large payload, as long documents produce
        docs.append(
            {"page_content": "lorem ipsum dolor sit amet " * 6_000, "metadata": {"score": 0.1}}
        )
    clock = _finish(retriever, clock, b.rng.uniform(0.05, 0.6), {"documents": docs})

    planner = child(root, "planner", "CHAIN", clock)
    planner["inputs"] = {"question": question}
    planner["inputs_preview"] = question
    clock = llm(planner, clock, f"Plan the steps for: {question}")
    for _ in range(b.rng.randint(0, 2)):
        tool_name = b.rng.choice(_TOOLS)
        tool = child(planner, tool_name, "TOOL", clock)
        tool["inputs"] = {"input": question[:30]}
        tool["inputs_preview"] = tool["inputs"]["input"]
        if b.rng.random() < 0.12:
            tool["status"] = "ERROR"
            tool["error"] = f"TimeoutError: {tool_name} did not answer within 10s"
            tool["error_preview"] = tool["error"][:60]
            clock = _finish(tool, clock, 10.0, {})
        else:
            raw = "result\x00with NUL from a binary tool" if index % 13 == 5 else f"{tool_name} ok"
            clock = _finish(tool, clock, b.rng.uniform(0.01, 1.5), {"output": raw})
    clock = _finish(
        planner,
        planner_start := _parse(planner["start_time"]),
        (clock - planner_start).total_seconds(),
        {"plan": "done"},
    )
    _roll_up(root, planner)
    clock = llm(root, clock, f"Answer using the context: {question}")
    end = _finish(root, start, (clock - start).total_seconds() + 0.01, {"answer": "See above."})
    if index % 11 == 7:
        root["status"] = "ERROR"
        root["error"] = "OutputParserException: could not parse the final answer"
        root["error_preview"] = root["error"]
    if b.rng.random() < 0.3:
        _feedback(b, root, end)
    return runs


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class SampleLangSmithResource(RunSourceResource):
    """Deterministic sample runs; `variant` changes them (tests use it to simulate new data).

    `retention` plays LangSmith's data retention on an old day: `base_dropped` returns only
    the traces that have feedback (extended tier, kept 400 days), `all_dropped` returns
    nothing. `late_feedback` adds one more feedback record to every returned root, as a
    user's later thumbs-up would.
    """

    variant: int = Field(
        default=0, description="Another variant gives other runs for the same day."
    )
    retention: Literal["kept", "base_dropped", "all_dropped"] = Field(
        default="kept", description="Which traces LangSmith still returns for the day."
    )
    late_feedback: bool = Field(
        default=False, description="Add a later feedback record to every returned root."
    )
    as_of: str | None = Field(
        default=None,
        description="Answer as LangSmith would at this UTC moment (ISO 8601; default: now).",
    )

    def fetch_day(self, project: str, day: date) -> DayFetch:
        source: dict[str, Any] = {
            "kind": "sample",
            "variant": self.variant,
            "project_id": sample_project_id(project),
            "tenant_id": SAMPLE_TENANT_ID,
            "fetched_at": _ts(datetime.now(UTC)),
        }
        if self.as_of:
            source["as_of"] = self.as_of
        if self.retention != "kept" or self.late_feedback:
            source.update(retention=self.retention, late_feedback=self.late_feedback)
        runs = with_source_counts(
            self._runs(project, day), source, lambda: self._count(project, day)
        )
        return DayFetch(source=source, runs=runs)

    def _traces(self, project: str, day: date) -> Iterator[list[dict[str, Any]]]:
        """The day's traces LangSmith still holds (after `retention`)."""
        builder = _DayBuilder(project, day, self.variant)
        moment = _parse_iso(self.as_of) if self.as_of else datetime.now(UTC)
        for index, start in enumerate(builder.trace_starts()):
            trace = _so_far(_trace(builder, start, index), moment)
            if not trace or self.retention == "all_dropped":  # not started yet, or dropped
                continue
            if self.retention == "base_dropped" and not any(
                run["feedback_records"] for run in trace
            ):
                continue
            yield trace

    def _runs(self, project: str, day: date) -> Iterator[dict[str, Any]]:
        for trace in self._traces(project, day):
            if self.late_feedback:
                _add_late_feedback(trace[0])
            yield from trace

    def _count(self, project: str, day: date) -> tuple[int, int]:
        """LangSmith's counts, from the twin's own data (a second pass, as the real API
        counts apart from the query): (runs, traces)."""
        traces = list(self._traces(project, day))
        return sum(len(trace) for trace in traces), len(traces)


def _so_far(trace: list[dict[str, Any]], moment: datetime) -> list[dict[str, Any]]:
    """The trace as LangSmith holds it at `moment`: runs not started yet absent, runs not
    ended yet pending (no end, outputs or latency), feedback not given yet absent."""
    runs = [run for run in trace if _parse(run["start_time"]) <= moment]
    for run in runs:
        if run.get("end_time") and _parse(run["end_time"]) > moment:
            run.update(end_time=None, status="PENDING", latency_seconds=None)
            run.update(outputs=None, outputs_preview=None, events=run["events"][:1])
        given = [r for r in run["feedback_records"] if _parse(r["created_at"]) <= moment]
        if len(given) < len(run["feedback_records"]):
            run["feedback_records"] = given
            run["feedback_stats"] = {
                k: v for k, v in run["feedback_stats"].items() if any(r["key"] == k for r in given)
            }
    return runs


def _parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _add_late_feedback(root: dict[str, Any]) -> None:
    end = _parse(root["end_time"]) if root.get("end_time") else _parse(root["start_time"])
    at = _ts(end + timedelta(days=3))
    record = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"late-feedback/{root['id']}")),
        "run_id": root["id"],
        "trace_id": root["trace_id"],
        "session_id": root["project_id"],
        "key": "late_review",
        "score": 1,
        "value": None,
        "comment": "Reviewed after the fact.",
        "correction": None,
        "feedback_source": {"type": "app", "metadata": {}},
        "feedback_group_id": None,
        "comparative_experiment_id": None,
        "extra": None,
        "created_at": at,
        "modified_at": at,
    }
    root["feedback_records"] = sorted(
        [*root["feedback_records"], record], key=lambda item: item["id"]
    )
    stats = dict(root.get("feedback_stats") or {})
    stats["late_review"] = {"n": 1, "avg": 1, "min": 1, "max": 1}
    root["feedback_stats"] = stats
