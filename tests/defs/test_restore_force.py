"""`lse restore` says "unchanged" only after checking the files, and --force always rewrites
(issue 9, part 2), through real Dagster runs and the local-folder archive store."""

from datetime import date

from lse_assets.core.restore import restore
from lse_assets.core.runfiles import PartitionPaths
from tests.conftest import PROJECT_A
from tests.fakes.helpers import check_results, local_resources, materialize

DAY = date(2025, 9, 13)


def _snapshot(directory):
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def _damage(paths: PartitionPaths) -> None:
    victims = sorted(paths.runs_dir.iterdir())
    victims[0].unlink()
    victims[1].write_bytes(victims[1].read_bytes()[:10])


def test_force_rewrites_a_damaged_partition_that_has_the_archives_manifest(tmp_path, postgres):
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources).success
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    good = _snapshot(paths.dir)
    _damage(paths)
    damaged = _snapshot(paths.dir)

    plain = restore(resources["drive"], PROJECT_A, [DAY], lambda d: paths)
    assert plain.outcomes[0].status == "skipped" and "damaged" in plain.outcomes[0].detail
    assert _snapshot(paths.dir) == damaged

    forced = restore(resources["drive"], PROJECT_A, [DAY], lambda d: paths, force=True)

    assert forced.outcomes[0].status == "restored"
    assert _snapshot(paths.dir) == good
    checks = check_results(materialize(PROJECT_A, DAY, resources, only_checks=True))
    assert all(check.passed for check in checks.values())


def test_force_rewrites_even_an_intact_partition(tmp_path, postgres):
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources).success
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    inode = paths.dir.stat().st_ino

    plain = restore(resources["drive"], PROJECT_A, [DAY], lambda d: paths)
    forced = restore(resources["drive"], PROJECT_A, [DAY], lambda d: paths, force=True)

    assert plain.outcomes[0].status == "unchanged"
    assert forced.outcomes[0].status == "restored" and paths.dir.stat().st_ino != inode
