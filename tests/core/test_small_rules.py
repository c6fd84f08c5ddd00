"""Small rules of the domain that mutation testing found unpinned (issue 18): a copy that is
not there compares as absent (no digest of nothing), and a member that cannot be read is
named whether it was given by name or by its ZipInfo."""

import zipfile

import pytest

from lse_assets.core import remote_copy, zipsafe


def test_a_missing_local_copy_has_no_digest_and_no_size(tmp_path):
    comparison = remote_copy.compare(tmp_path / "gone.zip", "abc", 3)
    assert (comparison.local_md5, comparison.local_bytes) == (None, None)
    assert not comparison.identical


def test_an_unreadable_member_given_by_its_zipinfo_is_named(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("runs/r1.json", b"{}" * 1000)
    raw = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo("runs/r1.json")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start : start + 8] = b"\xff" * 8  # the deflated data, damaged
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("runs/r1.json")
        with pytest.raises(zipsafe.UnsafeZipError, match=r"a\.zip: member runs/r1\.json cannot"):
            zipsafe.read_member(archive, member, "a.zip")


@pytest.mark.parametrize(("option", "what"), [("run_ids", "run id"), ("trace_ids", "trace id")])
def test_forget_names_which_id_is_not_a_uuid(tmp_path, option, what):
    from lse_assets.core.forget import forget
    from lse_assets.core.runfiles import PartitionPaths

    ids = {"run_ids": [], "trace_ids": [], option: ["not-a-uuid"]}
    with pytest.raises(ValueError, match=rf"^{what} 'not-a-uuid' is not a UUID$"):
        forget(
            "proj-a",
            **ids,
            paths_for=lambda day: PartitionPaths(tmp_path, "proj-a", day),
            store=None,
            parquet=None,
            rows=None,
        )


def test_a_tick_out_of_time_before_any_message_says_it_alerted_none():
    from lse_assets.core.alerting import AlertCursor, TickOutcome, tick_summary

    outcome = TickOutcome(AlertCursor(), failures_waiting=[1, 2], out_of_time=True)
    assert tick_summary(outcome, webhook=True, budget_seconds=40.0) == (
        "alerted none; 2 failed checks waiting for the next tick (this tick's 40 s budget is used)"
    )


def test_runs_langsmith_stopped_returning_are_counted_as_vanished_not_archived(tmp_path):
    from datetime import date

    from lse_assets.core import completeness, runfiles
    from lse_assets.core.runfiles import PartitionPaths
    from resources.langsmith.sample import SampleLangSmithResource

    day = date(2025, 9, 13)
    paths = PartitionPaths(tmp_path, "p", day)
    runs = list(SampleLangSmithResource().fetch_day("p", day).runs)
    runfiles.write_partition(paths, iter(runs), {})
    runfiles.write_partition(paths, iter(runs[:6]), {})  # the rest vanished, kept on file
    counted = completeness.inspect_partition(paths).counted
    assert (counted.archived_runs, counted.vanished_runs) == (6, len(runs) - 6)
    roots = {run["id"] for run in runs[:6] if run["id"] == run["trace_id"]}
    assert counted.archived_traces == len(roots)


@pytest.mark.parametrize(("syncfs", "falls_back"), [(0, False), (-1, True), (None, True)])
def test_a_failed_or_missing_syncfs_falls_back_to_sync(tmp_path, monkeypatch, syncfs, falls_back):
    from lse_assets.core import durable

    synced = []
    monkeypatch.setattr(durable, "_syncfs", None if syncfs is None else lambda fd: syncfs)
    monkeypatch.setattr(durable.os, "sync", lambda: synced.append(True))
    durable.sync_filesystem(tmp_path)
    assert synced == ([True] if falls_back else [])


def test_syncfs_is_asked_for_the_file_system_of_the_partition_not_another(tmp_path, monkeypatch):
    """syncfs flushes the file system its descriptor is on: it must be the staged folder's."""
    import os

    from lse_assets.core import durable

    asked = []

    def syncfs(fd):
        asked.append(os.fstat(fd).st_ino if isinstance(fd, int) else fd)
        return 0

    monkeypatch.setattr(durable, "_syncfs", syncfs)
    durable.sync_filesystem(tmp_path)
    assert asked == [os.stat(tmp_path).st_ino]


def test_a_file_written_to_replace_another_is_fsynced_unless_told_otherwise(tmp_path, monkeypatch):
    """forgotten.json and the manifest are written with the default: on disk before they
    replace the old copy (durable.py's rule)."""
    import os

    from lse_assets.core import durable

    synced = []
    real_fsync = durable.os.fsync
    monkeypatch.setattr(
        durable.os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_ino), real_fsync(fd))
    )
    durable.write_file(tmp_path / "forgotten.json.tmp", b"{}")
    assert synced == [os.stat(tmp_path / "forgotten.json.tmp").st_ino]


def test_the_parquet_findings_carry_the_names_operations_md_gives_them():
    from lse_assets.core.parquet_verify import ParquetReport

    report = ParquetReport()
    assert list(report.kinds()) == [
        "missing_in_parquet",
        "missing_in_files",
        "differing",
        "unreadable",
        "wrong_schema",
        "missing_file",
    ]
    assert report.kinds()["unreadable"] is report.unreadable


def test_a_run_file_that_is_not_json_is_named_when_children_are_indexed(tmp_path):
    from datetime import date

    from lse_assets.core import bulk_export, runfiles
    from lse_assets.core.runfiles import PartitionPaths

    paths = PartitionPaths(tmp_path, "p", date(2025, 9, 13))
    run_id = "11111111-1111-4111-8111-111111111111"
    runfiles.write_partition(paths, iter([{"id": run_id, "trace_id": run_id}]), {})
    (paths.runs_dir / f"{run_id}.json").write_bytes(b"{not json")
    with pytest.raises(
        bulk_export.BulkExportError, match=f"^run file {run_id}.json is not readable"
    ):
        bulk_export.child_index(paths, [run_id])


def test_every_stray_beside_a_readable_manifest_is_counted(tmp_path):
    from datetime import date

    from lse_assets.core import runfiles
    from lse_assets.core.runfiles import PartitionPaths
    from resources.langsmith.sample import SampleLangSmithResource

    paths = PartitionPaths(tmp_path, "p", date(2025, 9, 13))
    runs = list(SampleLangSmithResource().fetch_day("p", paths.day).runs)
    runfiles.write_partition(paths, iter(runs), {})
    for name in ("stray.json", "notes.txt", "also-stray.json"):
        (paths.runs_dir / name).write_bytes(b"{}")
    stats = runfiles.write_partition(paths, iter(runs), {})
    assert stats.strays_dropped == 3  # each left out, and said so
    assert sorted(p.name for p in paths.runs_dir.iterdir()) == sorted(
        f"{run['id']}.json" for run in runs
    )
