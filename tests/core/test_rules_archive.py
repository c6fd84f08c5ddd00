"""Rules of docs/archive.md that no other test pinned exactly: the vanished map's shape and
sample, runs unchanged since the last write hard-linked (not rewritten), and a write that is
not a fetch (forget's rewrite) never calls a run vanished."""

import json
import re
from datetime import date

from lse_assets.core import runfiles
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource

DAY = date(2025, 9, 13)
MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _runs() -> list[dict]:
    return list(SampleLangSmithResource().fetch_day("p", DAY).runs)


def test_vanished_runs_are_counted_and_sampled_up_to_ten_in_id_order(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runs = _runs()
    assert len(runs) > 12
    runfiles.write_partition(paths, iter(runs), {})

    stats = runfiles.write_partition(paths, iter(runs[:1]), {})  # all but one gone

    gone = sorted(run["id"] for run in runs[1:])
    manifest = json.loads(paths.manifest.read_text())
    assert sorted(manifest["vanished"]) == gone
    assert all(MOMENT.fullmatch(since) for since in manifest["vanished"].values())
    assert manifest["counts"]["vanished_runs"] == len(gone) == stats.vanished_runs
    assert stats.vanished_sample == gone[:10]
    assert "vanished_sample" not in manifest["counts"]

    one = runfiles.write_partition(paths, iter([r for r in runs if r["id"] != gone[0]]), {})
    assert one.vanished_sample == [gone[0]] and one.vanished_runs == 1


def test_runs_unchanged_since_the_last_write_are_hard_linked_not_rewritten(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runs = _runs()
    runfiles.write_partition(paths, iter(runs), {})
    inodes = {p.stem: p.stat().st_ino for p in paths.runs_dir.iterdir()}
    changed = dict(runs[0], name="renamed by a late update")

    runfiles.write_partition(paths, iter([changed, *runs[1:]]), {})

    after = {p.stem: p.stat().st_ino for p in paths.runs_dir.iterdir()}
    assert after[changed["id"]] != inodes[changed["id"]]
    assert {k: v for k, v in after.items() if k != changed["id"]} == {
        k: v for k, v in inodes.items() if k != changed["id"]
    }


def test_a_write_that_is_not_a_fetch_keeps_runs_without_calling_them_vanished(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runs = _runs()
    runfiles.write_partition(paths, iter(runs), {})

    stats = runfiles.write_partition(paths, iter(()), {}, fetched=False)

    manifest = json.loads(paths.manifest.read_text())
    assert set(manifest["files"]) == {run["id"] for run in runs}
    assert manifest["vanished"] == {} and stats.vanished_runs == 0
