"""Backfill benchmark: the same partitions through the daemon and in process, partitions/min.

    python -m bench.bench_backfill                        # 10 days x 2 demo projects = 20
    python -m bench.bench_backfill --days 100 --repeat 1  # 200 partitions
    python -m bench.bench_backfill --only daemon --timeline   # where the daemon's time went

- daemon: `dagster-webserver` + `dagster-daemon run` on the code location, the instance
  config of `lse ui` (deploy/dagster.local.yaml, or --instance-config to try others),
  the backfill launched through GraphQL as `lse materialize --backfill` does; timed from
  the launch until the backfill is finished (the servers' boot is not counted);
- in process: `lse materialize --from D1 --to D2`, timed as a user waits for it.
Each measurement on a fresh home (sample source, the demo's two projects, its own
embedded Postgres), both on the same machine in one invocation. Every partition of
every asset must be materialized, or the measurement is refused.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psutil
import requests

from lse_assets.cli.dagster_api import FINISHED_BACKFILL, DagsterApi
from lse_assets.cli.runner import MODULE
from lse_assets.core.partition import Partition
from lse_assets.defs.assets import ASSET_KEYS
from lse_assets.settings import DEMO_PROJECTS
from resources.postgres import embedded as embedded_postgres

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOCAL_CONFIG = ROOT / "deploy" / "dagster.local.yaml"


def _env(home: Path, first: date) -> dict[str, str]:
    """A fresh profile: the sample source, the demo's projects, its own home (files, embedded
    Postgres, Dagster instance under it); no variable of this shell reaches it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSE_", "DAGSTER_"))}
    env.update(
        {
            "LSE_SOURCE": "sample",
            "LSE_PROJECTS": ",".join(DEMO_PROJECTS),
            "LSE_START_DATE": first.isoformat(),
            "LSE_HOME": str(home),
            "DAGSTER_HOME": str(home / "dagster"),  # where `lse` puts it
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
    )
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _recorded(env: dict[str, str], partitions: list[Partition]) -> tuple[int, float]:
    """How many (asset, partition) pairs the instance records as materialized, and when its
    last run ended (epoch seconds)."""
    code = (
        "import dagster as dg, sys\n"
        "keys = set(sys.argv[1:])\n"
        "with dg.DagsterInstance.get() as i:\n"
        f"    n = sum(len(keys & set(i.get_materialized_partitions(dg.AssetKey(a))))"
        f" for a in {ASSET_KEYS!r})\n"
        "    ends = [r.end_time for r in i.get_run_records() if r.end_time]\n"
        "    print(n, max(ends))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *(p.label for p in partitions)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    count, last_end = done.stdout.strip().splitlines()[-1].split()
    return int(count), float(last_end)


def _location_loaded(port: int) -> bool:
    """Whether the webserver answers and has loaded every code location."""
    query = "{workspaceOrError {... on Workspace {locationEntries {loadStatus}}}}"
    try:
        answer = requests.post(
            f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=10
        )
        entries = answer.json()["data"]["workspaceOrError"]["locationEntries"]
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return False
    return bool(entries) and all(entry["loadStatus"] == "LOADED" for entry in entries)


def _tree_cpu(processes: list[subprocess.Popen]) -> float:
    """CPU seconds used so far by these processes, their descendants and reaped children."""
    total = 0.0
    for process in processes:
        try:
            root = psutil.Process(process.pid)
            for member in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    cpu = member.cpu_times()
                    total += cpu.user + cpu.system + cpu.children_user + cpu.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def in_process(home: Path, first: date, last: date) -> tuple[float, float]:
    """When the command started (epoch seconds), and the CPU seconds it used."""
    env = _env(home, first)
    cpu = _children_cpu()
    started = time.time()
    subprocess.run(
        [BIN / "lse", "materialize", "--from", str(first), "--to", str(last)],
        env=env,
        cwd=home,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return started, _children_cpu() - cpu


def through_daemon(
    home: Path, first: date, partitions: list[Partition], config: Path
) -> tuple[float, float]:
    """When the backfill was launched (epoch seconds), and the CPU seconds that the webserver,
    the daemon and what they started (code servers, runs) used from then until Dagster
    called the backfill done."""
    env = _env(home, first)
    dagster_home = Path(env["DAGSTER_HOME"])
    dagster_home.mkdir(parents=True)
    shutil.copyfile(config, dagster_home / "dagster.yaml")
    # The instance's SQLite databases made before the two servers start: both making them at
    # once can crash the daemon ("table ... already exists"), and the backfill never ends.
    subprocess.run(
        [sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get().dispose()"],
        env=env,
        check=True,
    )
    port = _free_port()
    commands = {
        "webserver": [BIN / "dagster-webserver", "-h", "127.0.0.1", "-p", str(port), "-m", MODULE],
        "daemon": [BIN / "dagster-daemon", "run", "-m", MODULE],
    }
    processes = []
    try:
        for name, command in commands.items():
            log = open(home / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
            processes.append(
                subprocess.Popen(
                    [str(part) for part in command],
                    env=env,
                    cwd=home,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        api = DagsterApi(f"http://127.0.0.1:{port}")
        # On a loaded machine the boot takes minutes, and the webserver answers before the
        # code location is loaded (a backfill launched then fails on an unknown asset key).
        deadline = time.monotonic() + 600
        while not _location_loaded(port):
            if time.monotonic() > deadline:
                raise TimeoutError(f"webserver not up; see {home / 'webserver.log'}")
            time.sleep(0.5)
        cpu = _tree_cpu(processes)
        started = time.time()
        backfill_id = api.launch_backfill(partitions, ASSET_KEYS)

        def backfill_status() -> str:
            for name, process in zip(commands, processes, strict=True):
                if process.poll() is not None:  # else a dead daemon is a two-hour wait
                    raise RuntimeError(f"the {name} exited; see {home / f'{name}.log'}")
            return api.backfill_status(backfill_id)

        status = api.wait(backfill_status, FINISHED_BACKFILL, 7200, every=0.5)
        if status not in {"COMPLETED", "COMPLETED_SUCCESS"}:
            raise RuntimeError(f"backfill {status}; see {home}")
        return started, _tree_cpu(processes) - cpu
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _spread(rates: list[float]) -> str:
    return (
        f"min {min(rates):.1f} / median {statistics.median(rates):.1f} / max {max(rates):.1f}"
        f" partitions/min ({len(rates)} run(s))"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=10, help="last complete UTC days")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["daemon", "in-process"], help="measure one way")
    parser.add_argument("--instance-config", type=Path, default=LOCAL_CONFIG)
    parser.add_argument("--logs", type=Path, help="keep the daemon's and webserver's logs here")
    parser.add_argument(
        "--timeline", action="store_true", help="where each daemon backfill's time went"
    )
    args = parser.parse_args()

    last = datetime.now(UTC).date() - timedelta(days=1)
    first = last - timedelta(days=args.days - 1)
    days = [first + timedelta(days=n) for n in range(args.days)]
    partitions = [Partition(project, day) for day in days for project in DEMO_PROJECTS]
    ways = {
        "in-process": lambda home: in_process(home, first, last),
        "daemon": lambda home: through_daemon(home, first, partitions, args.instance_config),
    }
    rates: dict[str, list[float]] = {way: [] for way in ways if args.only in (None, way)}
    work_rates: dict[str, list[float]] = {way: [] for way in rates}
    print(
        f"{len(partitions)} partitions ({first} .. {last} x {len(DEMO_PROJECTS)} projects),"
        f" instance config {args.instance_config}",
        flush=True,
    )
    for attempt in range(1, args.repeat + 1):
        for way in rates:
            home = Path(tempfile.mkdtemp(prefix=f"lse-bf-{way}-"))
            try:
                started, cpu = ways[way](home)
                seconds = time.time() - started
                archived, last_end = _recorded(_env(home, first), partitions)
                if args.timeline and way == "daemon":
                    subprocess.run(
                        [sys.executable, "-m", "bench.backfill_timeline", str(started)],
                        env=_env(home, first),
                        cwd=ROOT,
                        check=True,
                    )
                if archived != len(partitions) * len(ASSET_KEYS):
                    raise RuntimeError(f"{way}: {archived} of {len(partitions)} x 5 materialized")
            finally:
                for log in home.glob("*.log") if args.logs else ():
                    args.logs.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(log, args.logs / f"{attempt}-{log.name}")
                if (home / "postgres").exists():  # started by the first run
                    embedded_postgres.stop(home / "postgres")
                shutil.rmtree(home, ignore_errors=True)
            work = last_end - started
            rates[way].append(len(partitions) / seconds * 60)
            work_rates[way].append(len(partitions) / work * 60)
            print(
                f"[{attempt}] {way}: {seconds:.1f} s until done,"
                f" {rates[way][-1]:.1f} partitions/min"
                f" (last run ended after {work:.1f} s: {work_rates[way][-1]:.1f}/min);"
                f" {cpu / len(partitions):.2f} CPU s per partition",
                flush=True,
            )
    for way in rates:
        print(f"{way}: {_spread(rates[way])}; until its last run ended: {_spread(work_rates[way])}")
    if len(rates) == 2:
        for label, found in (("done", rates), ("last run ended", work_rates)):
            ratio = statistics.median(found["daemon"]) / statistics.median(found["in-process"])
            print(f"daemon / in process (medians, {label}): {ratio:.2f}x")


if __name__ == "__main__":
    main()
