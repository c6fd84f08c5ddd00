"""Stopping the UI stops everything it started: SIGTERM or SIGINT to `python3 run.py ui`,
and SIGTERM to `lse ui`, leave no `dagster dev`, webserver, daemon or code server, within 10 s."""

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.e2e.test_deployment import _free_port, _wait_for

ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN_S = 10


def running_after(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Those still running after `timeout` s; a zombie has stopped (init reaps orphans)."""
    deadline = time.monotonic() + timeout
    while True:
        running = []
        for process in processes:
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    running.append(process)
            except psutil.NoSuchProcess:
                pass
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.1)


def _run_py():
    spec = importlib.util.spec_from_file_location("run", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stop_ui(command: list[str], home: Path, signo: int) -> tuple[float, list[psutil.Process]]:
    """Start the UI, wait for its webserver, send `signo`: seconds until every process it
    started is gone, and those still alive then (killed here)."""
    port = _free_port()
    env = {**os.environ, "LSE_HOME": str(home), "LSE_VENV": sys.prefix}
    for name in ("LSE_PROJECTS", "LSE_SOURCE", "LSE_START_DATE", "DAGSTER_HOME"):
        env.pop(name, None)
    with open(home / "ui.log", "w") as log:
        process = subprocess.Popen(
            [*command, "ui", "--demo", "-h", "127.0.0.1", "-p", str(port)],
            env=env,
            cwd=home,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    leader = psutil.Process(process.pid)
    tree: list[psutil.Process] = []
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for(lambda: requests.get(f"{url}/server_info", timeout=5).ok, "dagster dev", 180)
        # dagster dev, its webserver and daemon, and a code server each (see test_ui_runs)
        _wait_for(lambda: len(leader.children(recursive=True)) >= 4, "the code servers", 60)
        tree = [leader, *leader.children(recursive=True)]
        started = time.monotonic()
        process.send_signal(signo)
        alive = running_after(tree, STOP_WITHIN_S)
        seconds = time.monotonic() - started
        print(f"{command[-1]} {signal.Signals(signo).name}: {len(tree)} processes, {seconds:.1f} s")
        return seconds, alive
    finally:
        for member in tree or [leader]:
            if member.is_running():
                member.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_run_py_ui_stops_every_process_it_started(signo, tmp_path, monkeypatch):
    monkeypatch.setenv("LSE_VENV", sys.prefix)
    run_py = _run_py()
    if not run_py.installed(run_py.RUNTIME):
        pytest.skip("run.py would install first: its venv's stamp is not current")
    seconds, alive = _stop_ui([sys.executable, str(ROOT / "run.py")], tmp_path, signo)
    assert not alive, f"still running {seconds:.1f} s after {signo.name}: {alive}"


def test_sigterm_to_lse_ui_stops_every_process_it_started(tmp_path):
    """`dagster dev` alone, sent SIGTERM, took more than 15 s and left children behind."""
    lse = str(Path(sys.executable).with_name("lse"))
    seconds, alive = _stop_ui([lse], tmp_path, signal.SIGTERM)
    assert not alive, f"still running {seconds:.1f} s after SIGTERM: {alive}"
