"""The on-disk layout: slugs, canonical files, atomic replacement."""

import json
from datetime import date

import pytest

from lse_assets.core import runfiles
from lse_assets.core.runfiles import PartitionPaths, project_slug
from resources.langsmith.sample import SampleLangSmithResource

DAY = date(2025, 9, 13)


def _runs(variant: int = 0) -> list[dict]:
    return list(SampleLangSmithResource(variant=variant).fetch_day("p", DAY).runs)


@pytest.mark.parametrize(
    "names",
    [
        ("a/b", "ab", "a-b", "a_b"),
        ("Prod", "prod", "PROD"),
        ("..", ".", "...", "-"),
        ("x" * 200, "x" * 201),
        ("café", "cafe", "cafe\u0301"),
        ("proj-abcdef012345", "proj"),
    ],
)
def test_slugs_are_distinct_and_path_safe(names):
    slugs = [project_slug(name) for name in names]
    assert len(set(slugs)) == len(names)
    for slug in slugs:
        assert "/" not in slug and "\\" not in slug and not slug.startswith(".")
        assert slug == slug.lower() and len(slug) <= 80


def test_plain_names_keep_their_name():
    assert project_slug("my-project_2") == "my-project_2"


def test_files_are_canonical_and_manifest_lists_their_sha256(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    stats = runfiles.write_partition(paths, iter(_runs()), {"kind": "test"})

    manifest = json.loads(paths.manifest.read_text())
    assert manifest["counts"]["runs"] == stats.runs == len(list(paths.runs_dir.iterdir()))
    assert manifest["counts"]["traces"] == stats.traces > 30
    some_id = next(iter(manifest["files"]))
    raw = paths.run_file(some_id).read_bytes()
    assert (
        raw
        == json.dumps(
            json.loads(raw), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        ).encode()
        + b"\n"
    )


def test_rewrite_merges_keeps_vanished_runs_and_replaces_returned_ones(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    first = _runs(0)
    runfiles.write_partition(paths, iter(first), {})
    changed = dict(first[0], name="renamed by a late update")
    second = [changed, *_runs(1)]

    stats = runfiles.write_partition(paths, iter(second), {})

    union = {run["id"] for run in first} | {run["id"] for run in second}
    assert {p.stem for p in paths.runs_dir.iterdir()} == union
    assert json.loads(paths.run_file(changed["id"]).read_text())["name"] == changed["name"]
    manifest = json.loads(paths.manifest.read_text())
    assert set(manifest["files"]) == union
    vanished = {run["id"] for run in first[1:]}
    assert set(manifest["vanished"]) == vanished and stats.vanished_runs == len(vanished)
    assert manifest["counts"]["runs"] == len(union) == stats.runs
    # Only the lock folder stays beside the partitions: no temporary directory.
    assert [p.name for p in paths.project_dir.iterdir() if p.name.startswith(".")] == []


def test_vanished_since_is_kept_across_later_fetches(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runs = _runs(0)
    runfiles.write_partition(paths, iter(runs), {})
    runfiles.write_partition(paths, iter(runs[:10]), {})
    since = json.loads(paths.manifest.read_text())["vanished"]

    again = runfiles.write_partition(paths, iter(runs[:10]), {})
    back = runfiles.write_partition(paths, iter(runs[:11]), {})

    assert again.unchanged and len(since) == len(runs) - 10
    assert json.loads(paths.manifest.read_text())["vanished"] == {
        k: v for k, v in since.items() if k != runs[10]["id"]
    }
    assert back.vanished_runs == len(runs) - 11


def test_damaged_files_are_rewritten_not_called_unchanged(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runs = _runs(0)
    runfiles.write_partition(paths, iter(runs), {})
    intact = {p.name: p.read_bytes() for p in paths.runs_dir.iterdir()}
    paths.run_file(runs[0]["id"]).unlink()
    paths.run_file(runs[1]["id"]).write_bytes(b'{"trunc')
    (paths.runs_dir / "stray.json").write_bytes(b"{}")

    stats = runfiles.write_partition(paths, iter(runs), {})

    assert not stats.unchanged and stats.strays_dropped == 1  # left out, and said so
    assert {p.name: p.read_bytes() for p in paths.runs_dir.iterdir()} == intact


def test_damaged_disk_takes_vanished_runs_from_an_earlier_zip(tmp_path):
    from lse_assets.core import archive

    paths = PartitionPaths(tmp_path, "p", DAY)
    runs = _runs(0)
    runfiles.write_partition(paths, iter(runs), {})
    saved = tmp_path / "saved.zip"
    saved.write_bytes(archive.build_archive(paths).path.read_bytes())
    paths.zip_path.unlink()
    paths.run_file(runs[-1]["id"]).unlink()
    paths.manifest.unlink()

    stats = runfiles.write_partition(paths, iter(runs[:5]), {}, previous_zips=lambda _: [saved])

    assert {p.stem for p in paths.runs_dir.iterdir()} == {run["id"] for run in runs}
    assert stats.vanished_runs == len(runs) - 5
    assert stats.recovered_from_archive == len(runs) - 5


def test_runs_lost_everywhere_stop_the_write(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runs = _runs(0)
    runfiles.write_partition(paths, iter(runs), {})
    paths.run_file(runs[-1]["id"]).unlink()
    before = sorted(p.name for p in paths.runs_dir.iterdir())

    with pytest.raises(runfiles.ArchiveLossError, match=runs[-1]["id"]):
        runfiles.write_partition(paths, iter(runs[:5]), {}, previous_zips=lambda _: [])

    assert sorted(p.name for p in paths.runs_dir.iterdir()) == before


def test_failure_half_way_leaves_previous_partition_exactly(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runfiles.write_partition(paths, iter(_runs(0)), {})
    before = {p.name: p.read_bytes() for p in paths.dir.rglob("*") if p.is_file()}

    def broken():
        yield from _runs(1)[:50]
        raise ConnectionError("LangSmith went away")

    with pytest.raises(ConnectionError):
        runfiles.write_partition(paths, broken(), {})

    after = {p.name: p.read_bytes() for p in paths.dir.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in paths.project_dir.iterdir() if p.name.startswith(".")] == []


def test_unchanged_content_keeps_the_existing_partition(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runfiles.write_partition(paths, iter(_runs()), {"fetched_at": "first"})
    stats = runfiles.write_partition(paths, iter(_runs()), {"fetched_at": "second"})

    assert stats.unchanged
    assert json.loads(paths.manifest.read_text())["source"]["fetched_at"] == "first"


def test_interrupted_swap_is_recovered(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runfiles.write_partition(paths, iter(_runs()), {})
    paths.dir.rename(paths.project_dir / f".{DAY}.old-deadbeef")  # crash between renames

    runfiles.recover(paths)

    assert paths.manifest.exists()


def test_recover_counts_only_the_leftovers_it_removed(tmp_path, monkeypatch):
    """`leftovers_cleared` claims no more than was cleared: a staging folder the file system
    refuses to remove stays, uncounted, for the next writer; the stray zip part is gone."""
    paths = PartitionPaths(tmp_path, "p", DAY)
    paths.project_dir.mkdir(parents=True)
    staging = paths.project_dir / f".{DAY}.tmp-dead"
    (staging / "runs").mkdir(parents=True)
    zip_part = paths.new_zip_tmp()
    zip_part.write_bytes(b"half a zip")

    def refusing_rmtree(path, ignore_errors=False):  # what a read-only mount does
        if not ignore_errors:
            raise PermissionError(f"cannot remove {path}")

    monkeypatch.setattr(runfiles.shutil, "rmtree", refusing_rmtree)
    assert runfiles.recover(paths) == 1
    assert staging.exists() and not zip_part.exists()

    monkeypatch.undo()
    assert runfiles.recover(paths) == 1
    assert paths.temporaries() == []


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ({"id": "../../etc/passwd"}, "not a UUID"),
        ({"id": "ABCDEF00-0000-4000-8000-000000000000"}, "lower-case"),
    ],
)
def test_unsafe_run_ids_are_refused(tmp_path, run, message):
    with pytest.raises(ValueError, match=message):
        runfiles.write_partition(PartitionPaths(tmp_path, "p", DAY), iter([run]), {})


def test_duplicate_run_ids_are_refused(tmp_path):
    runs = _runs()
    with pytest.raises(ValueError, match="returned twice"):
        runfiles.write_partition(PartitionPaths(tmp_path, "p", DAY), iter([*runs, runs[0]]), {})


def test_damaged_disk_without_a_local_zip_takes_runs_from_the_stores_copy(tmp_path):
    """previous_zips_from: the local zip first, then the archive store's copy (md5-checked)."""
    from lse_assets.core import archive
    from resources.drive.local_folder import LocalFolderDriveResource

    paths = PartitionPaths(tmp_path / "data", "p", DAY)
    runs = _runs(0)
    runfiles.write_partition(paths, iter(runs), {})
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))
    store.upsert("p", archive.build_archive(paths).path)
    paths.zip_path.unlink()
    paths.run_file(runs[-1]["id"]).unlink()
    paths.manifest.unlink()

    stats = runfiles.write_partition(
        paths, iter(runs[:5]), {}, previous_zips=runfiles.previous_zips_from(paths, store)
    )

    assert {p.stem for p in paths.runs_dir.iterdir()} == {run["id"] for run in runs}
    assert stats.recovered_from_archive == len(runs) - 5


def test_the_manifest_counts_runs_with_feedback_and_their_records(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runs = _runs(0)
    with_feedback = [run for run in runs if run.get("feedback_records")]

    runfiles.write_partition(paths, iter(runs), {})

    counts = json.loads(paths.manifest.read_bytes())["counts"]
    assert counts["runs_with_feedback"] == len(with_feedback) > 0
    assert counts["feedback_records"] == sum(len(r["feedback_records"]) for r in with_feedback)
