"""The on-disk layout: slugs, canonical files, atomic replacement."""

import json
from datetime import date

import pytest

from lse_assets import runfiles
from lse_assets.runfiles import PartitionPaths, project_slug
from resources.sample_langsmith import SampleLangSmithResource

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


def test_rewrite_replaces_and_never_adds(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runfiles.write_partition(paths, iter(_runs(0)), {})
    second = _runs(1)
    runfiles.write_partition(paths, iter(second), {})

    assert {p.stem for p in paths.runs_dir.iterdir()} == {run["id"] for run in second}
    assert [p.name for p in paths.project_dir.iterdir() if p.name.startswith(".")] == []


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
