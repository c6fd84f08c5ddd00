"""An archived run that cannot be read as the checks read it (issue 18): the merge fails
once, naming the run and the way out, and changes nothing; a tombstone is that way out.
And the temporaries a killed writer leaves are cleared by the next holder of the lock."""

import hashlib
import json
import zipfile
from datetime import date

import pytest

from lse_assets.core import archive, jsondoc, runfiles, tombstones
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource

DAY = date(2025, 9, 13)
DEPTH = 100_000


def _runs() -> list[dict]:
    return list(SampleLangSmithResource().fetch_day("p", DAY).runs)


def _poison(run_id: str) -> bytes:
    return b'{"id":"' + run_id.encode() + b'","deep":' + b"[" * DEPTH + b"]" * DEPTH + b"}\n"


def _snapshot(root) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".locks" not in p.parts
    }


@pytest.fixture
def poisoned(tmp_path):
    """A partition whose manifest vouches (sha256) for a run nested 100,000 deep: what
    `lse restore` accepted before this fix. Returns the paths, the runs and the victim."""
    paths = PartitionPaths(tmp_path, "p", DAY)
    runs = _runs()
    runfiles.write_partition(paths, iter(runs), {})
    victim = next(run["id"] for run in runs if run["id"] != run["trace_id"])
    data = _poison(victim)
    paths.run_file(victim).write_bytes(data)
    manifest = json.loads(paths.manifest.read_bytes())
    manifest["files"][victim] = hashlib.sha256(data).hexdigest()
    paths.manifest.write_bytes(jsondoc.canonical_bytes(manifest))
    return paths, runs, victim


def test_read_run_holds_a_file_to_the_checks_limits():
    run_id = "00000000-0000-4000-8000-000000000001"
    assert runfiles.read_run(b'{"id":"' + run_id.encode() + b'"}', run_id) == {"id": run_id}
    for data, reason in [
        (_poison(run_id), "nested deeper"),
        (b'{"id": "', "not readable JSON"),
        (b'{"id": "00000000-0000-4000-8000-000000000002"}', "does not hold run"),
        (b"[1]", "does not hold run"),
    ]:
        with pytest.raises(runfiles.UnreadableRunError, match=reason):
            runfiles.read_run(data, run_id)


def test_an_unreadable_archived_run_on_disk_fails_the_merge_naming_it(poisoned):
    paths, runs, victim = poisoned
    before = _snapshot(paths.data_dir)
    returned = [run for run in runs if run["id"] != victim]  # LangSmith no longer has it

    with pytest.raises(runfiles.UnreadableArchiveError) as caught:
        runfiles.write_partition(paths, iter(returned), {})

    message = str(caught.value)
    assert "\n" not in message and str(paths.run_file(victim)) in message
    assert "nested deeper" in message and "nothing was changed" in message
    assert f"run.py lse forget --project 'p' --run-id {victim}" in message
    assert "lse restore --force" in message
    assert " more" not in message  # one run: nothing left unnamed
    assert _snapshot(paths.data_dir) == before


def test_many_unreadable_runs_are_named_three_at_a_time_and_the_rest_counted(poisoned):
    """The one-line message stays short: three runs named (and three `--run-id`s in the
    forget command), the others counted; still nothing changed."""
    paths, runs, _ = poisoned
    victims = sorted(run["id"] for run in runs if run["id"] != run["trace_id"])[:5]
    manifest = json.loads(paths.manifest.read_bytes())
    for victim in victims:
        paths.run_file(victim).write_bytes(_poison(victim))
        manifest["files"][victim] = hashlib.sha256(_poison(victim)).hexdigest()
    paths.manifest.write_bytes(jsondoc.canonical_bytes(manifest))
    unreadable = sorted(set(victims) | {poisoned[2]})
    before = _snapshot(paths.data_dir)

    with pytest.raises(runfiles.UnreadableArchiveError) as caught:
        runfiles.write_partition(paths, iter(r for r in runs if r["id"] not in unreadable), {})

    message = str(caught.value)
    assert message.startswith(f"{len(unreadable)} archived run file(s) of 'p' 2025-09-13 ")
    assert [run_id for run_id in unreadable if str(paths.run_file(run_id)) in message] == (
        unreadable[:3]
    )
    assert f"; and {len(unreadable) - 3} more; nothing was changed" in message
    shown = " ".join(f"--run-id {run_id}" for run_id in unreadable[:3])
    assert f"forget --project 'p' {shown}`" in message
    assert _snapshot(paths.data_dir) == before


def test_an_unreadable_run_in_the_zip_merged_from_fails_naming_it(poisoned, tmp_path):
    paths, runs, victim = poisoned
    saved = tmp_path / "saved.zip"
    saved.write_bytes(archive.build_archive(paths).path.read_bytes())
    paths.zip_path.unlink()
    paths.run_file(victim).unlink()  # the local copy is gone: only the zip holds the run
    before = _snapshot(paths.data_dir)
    returned = [run for run in runs if run["id"] != victim]

    with pytest.raises(runfiles.UnreadableArchiveError) as caught:
        runfiles.write_partition(paths, iter(returned), {}, previous_zips=lambda _: [saved])

    message = str(caught.value)
    assert f"saved.zip:runs/{victim}.json" in message and "nested deeper" in message
    assert f"--run-id {victim}" in message
    assert _snapshot(paths.data_dir) == before


def test_a_returned_or_forgotten_run_replaces_its_unreadable_copy(poisoned):
    paths, runs, victim = poisoned

    stats = runfiles.write_partition(paths, iter(runs), {})  # LangSmith returns it again
    assert not stats.unchanged
    assert json.loads(paths.run_file(victim).read_bytes())["id"] == victim

    _, _, victim = poisoned  # poison it again, then take the way out the message names
    paths.run_file(victim).write_bytes(_poison(victim))
    manifest = json.loads(paths.manifest.read_bytes())
    manifest["files"][victim] = hashlib.sha256(paths.run_file(victim).read_bytes()).hexdigest()
    paths.manifest.write_bytes(jsondoc.canonical_bytes(manifest))
    tombstones.add(paths.project_dir, "p", [victim], [], "2025-10-01T00:00:00Z")
    runfiles.write_partition(paths, iter([r for r in runs if r["id"] != victim]), {})
    assert not paths.run_file(victim).exists()


def test_the_zip_build_clears_a_killed_builds_temporary(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runfiles.write_partition(paths, iter(_runs()), {})
    leftover = paths.project_dir / f"{paths.zip_name}.{'f' * 32}.zip.tmp"
    leftover.write_bytes(b"PK" + bytes(1000))

    info = archive.build_archive(paths)

    assert info.leftovers_cleared == 1 and not leftover.exists()
    assert paths.temporaries() == []


def test_the_merge_opens_an_earlier_zip_with_the_caps_of_a_zip_from_elsewhere(tmp_path):
    """The local zip and the store's copy lie outside the partition's lock: a copy that
    declares a zip bomb's ratio is refused unread, not mined for runs."""
    paths = PartitionPaths(tmp_path, "p", DAY)
    runs = _runs()
    runfiles.write_partition(paths, iter(runs), {})
    victim = next(run["id"] for run in runs if run["id"] != run["trace_id"])
    good = tmp_path / "good.zip"
    good.write_bytes(archive.build_archive(paths).path.read_bytes())
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info, source.read(info))
        out.writestr("padding.bin", bytes(2 * 1024 * 1024))  # 2 MiB of zeros: > 100:1
    paths.zip_path.unlink()
    paths.manifest.write_bytes(paths.manifest.read_bytes()[:20])  # the manifest is damaged
    paths.run_file(victim).unlink()
    returned = [run for run in runs if run["id"] != victim]

    refused = runfiles.write_partition(paths, iter(returned), {}, previous_zips=lambda _: [bomb])
    assert refused.recovered_from_archive == 0 and not paths.run_file(victim).exists()

    paths.manifest.write_bytes(paths.manifest.read_bytes()[:20])
    taken = runfiles.write_partition(paths, iter(returned), {}, previous_zips=lambda _: [good])
    assert taken.recovered_from_archive == 1 and paths.run_file(victim).exists()


@pytest.fixture
def unvouched(tmp_path):
    """A partition whose manifest is damaged, no zip, and one run file (a trace's root)
    truncated: the surviving files are all the evidence there is."""
    paths = PartitionPaths(tmp_path, "p", DAY)
    runs = _runs()
    runfiles.write_partition(paths, iter(runs), {})  # no zip built
    paths.manifest.write_bytes(paths.manifest.read_bytes()[:20])
    root = next(run["id"] for run in runs if run["id"] == run["trace_id"])
    paths.run_file(root).write_bytes(paths.run_file(root).read_bytes()[:30])
    returned = [run for run in runs if run["trace_id"] != root]  # its trace vanished
    return paths, returned, root


def test_without_a_manifest_a_file_that_does_not_parse_fails_the_merge_naming_it(unvouched):
    paths, returned, root = unvouched
    before = _snapshot(paths.data_dir)

    with pytest.raises(runfiles.UnreadableArchiveError) as caught:
        runfiles.write_partition(paths, iter(returned), {})

    message = str(caught.value)
    assert f"{paths.run_file(root)}: " in message and "not readable JSON" in message
    assert f"--run-id {root}" in message
    assert _snapshot(paths.data_dir) == before


def test_without_a_manifest_an_unreadable_file_of_a_forgotten_trace_is_a_counted_stray(
    unvouched,
):
    paths, returned, root = unvouched
    tombstones.add(paths.project_dir, "p", [], [root], "2025-10-01T00:00:00Z")

    stats = runfiles.write_partition(paths, iter(returned), {})

    assert stats.strays_dropped == 1 and not paths.run_file(root).exists()
    assert set(runfiles.run_ids_on_disk(paths)) == {run["id"] for run in returned}
