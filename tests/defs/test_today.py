"""Today as a partition: a day refreshed while its runs arrive and finish, through real
Dagster materializations of all five assets and their checks (the sample source answers as
LangSmith would at a given moment; the real Postgres; one Dagster instance throughout)."""

import json
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from lse_assets.core.partition import Partition
from lse_assets.core.runfiles import PartitionPaths
from lse_assets.defs.assets import build_assets
from lse_assets.defs.checks import build_checks
from lse_assets.defs.status import partition_statuses
from lse_assets.settings import load_settings
from resources.langsmith.sample import SampleLangSmithResource, _parse
from tests.conftest import PROJECT_A
from tests.fakes.helpers import check_results, local_resources, materialize

DAY = date(2025, 9, 13)  # "today" for the refreshes below: a fixed clock, not the real one


def _runs_on_disk(paths: PartitionPaths) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_bytes()) for p in sorted(paths.runs_dir.glob("*.json"))}


def _moments() -> tuple[datetime, datetime, datetime]:
    """Three refreshes of DAY: one in the middle of a trace (runs pending), one between
    traces after more have started and ended, one hours later."""
    full = SampleLangSmithResource(as_of="2030-01-01T00:00:00Z").fetch_day(PROJECT_A, DAY).runs
    roots = sorted((_parse(r["start_time"]), _parse(r["end_time"])) for r in full if r["is_root"])
    first = roots[1][0] + timedelta(seconds=2)
    between = roots[4][1] + (roots[5][0] - roots[4][1]) / 2
    later = roots[20][1] + timedelta(minutes=10)
    return first, between, later


def test_a_day_refreshed_three_times_only_grows_completes_pending_runs_and_its_copies_agree(
    tmp_path, postgres
):
    instance = dg.DagsterInstance.ephemeral()
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    settings = load_settings()
    assets, checks = build_assets(settings), build_checks(settings)
    seen: dict[str, dict] = {}  # every run archived by some refresh, as last archived
    pending_before: set[str] = set()
    for n, moment in enumerate(_moments(), start=1):
        # Refresh 3 also finds traces deleted in LangSmith meanwhile (only traces with
        # feedback are still returned): what was archived must stay archived.
        source = SampleLangSmithResource(
            as_of=moment.isoformat(), retention="base_dropped" if n == 3 else "kept"
        )
        returned = {run["id"]: run for run in source.fetch_day(PROJECT_A, DAY).runs}

        result = materialize(
            PROJECT_A, DAY, local_resources(tmp_path, postgres, source), instance=instance
        )

        assert result.success, n
        on_disk = _runs_on_disk(paths)
        assert set(seen) <= set(on_disk), f"refresh {n} lost runs"  # the archive only grows
        assert set(on_disk) == set(seen) | set(returned)
        assert set(returned) - set(seen), f"refresh {n}: no new run arrived"
        # Every returned run is archived as returned now: pending ones become finished.
        assert all(
            on_disk[run_id]["end_time"] == run["end_time"] for run_id, run in returned.items()
        )
        finished = {i for i in pending_before if on_disk[i]["end_time"] is not None}
        pending = {i for i, run in on_disk.items() if run["end_time"] is None}
        if n == 2:
            assert pending_before and finished == pending_before and not pending
        # All five copies agree (every check evaluated and passed), except runs_complete's
        # WARN while runs are pending: a WARN, never an ERROR, and the copies are made.
        evaluations = check_results(result)
        assert len(evaluations) == 5
        for name, evaluation in evaluations.items():
            if name == "runs_complete" and pending:
                assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
                assert evaluation.metadata["pending_runs"].value == len(pending)
            else:
                assert evaluation.passed, (n, name, evaluation.metadata)
        assert postgres.execute("SELECT count(*) FROM runs")[0][0] == len(on_disk)
        # `lse status` words for the day while it is today.
        [status] = partition_statuses(instance, assets, checks, [Partition(PROJECT_A, DAY)], DAY)
        assert status.summary == (
            "today (partial, warning: runs_complete)" if pending else "today (partial)"
        )
        seen, pending_before = on_disk, pending
        if n == 1:
            assert pending, "refresh 1 was meant to find runs still going"

    vanished = json.loads(paths.manifest.read_text())["vanished"]
    assert vanished  # refresh 3: LangSmith no longer returned them, the archive kept them
    [after] = partition_statuses(
        instance, assets, checks, [Partition(PROJECT_A, DAY)], DAY + timedelta(days=1)
    )
    assert after.summary == "archived"  # the day over: no longer partial


def test_todays_partition_materializes_through_dagster(tmp_path, postgres):
    # The real clock: Dagster only accepts a partition key inside the partitions, and today
    # is the last one. Were midnight (UTC) to pass meanwhile, the day is yesterday: still a
    # partition, and still settling.
    today = datetime.now(UTC).date()
    resources = local_resources(tmp_path, postgres, SampleLangSmithResource())

    result = materialize(PROJECT_A, today, resources)

    assert result.success
    check = check_results(result)["runs_complete"]
    assert check.metadata["settling"].value is True
    assert check.passed or check.severity == dg.AssetCheckSeverity.WARN
    started = [
        run
        for run in _runs_on_disk(PartitionPaths(tmp_path / "data", PROJECT_A, today)).values()
        if _parse(run["start_time"]) > datetime.now(UTC)
    ]
    assert not started  # nothing from the future: the day so far


def test_the_retention_alarm_never_counts_today_at_risk():
    from lse_assets.defs.sensors.retention_alarm import build_retention_alarm
    from lse_assets.settings import Settings
    from resources.notifier import WebhookNotifier
    from tests.fakes.webhook import webhook_receiver

    today = date(2025, 9, 20)  # a fixed clock; nothing archived at all
    settings = Settings(
        projects=[PROJECT_A], start_date=date(2025, 9, 1), retention_warn_days=1
    )  # the earliest warning the settings allow: a day old
    sensor = build_retention_alarm(settings, None, today=lambda: today)
    with dg.instance_for_test() as instance, webhook_receiver() as receiver:
        notifier = WebhookNotifier(webhook_url=receiver.url, attempts=1)
        context = dg.build_sensor_context(instance=instance, resources={"notifier": notifier})
        sensor.evaluate_tick(context)

    [message] = receiver.messages
    assert f"`2025-09-19|{PROJECT_A}`: not archived" in message["text"]  # yesterday is watched
    assert "2025-09-20" not in message["text"]  # today, a partial day, never is
