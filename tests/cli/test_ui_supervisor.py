"""`lse ui`'s supervisor bounds the stop: a child that ignores SIGINT and SIGTERM, and a
grandchild that does too, are gone within 10 s of SIGTERM to the supervisor."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from lse_assets.cli.ui import GRACE_S
from tests.e2e.test_ui_stop import running_after

ROOT = Path(__file__).resolve().parents[2]

STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if len(sys.argv) == 1:
    subprocess.Popen([sys.executable, __file__, "child"])
time.sleep(600)
"""

SUPERVISOR = """
import sys
from lse_assets.cli.ui import run_supervised
sys.exit(run_supervised([sys.executable, sys.argv[1]]))
"""


def test_sigterm_stops_a_stubborn_tree_after_the_grace_period(tmp_path):
    (tmp_path / "stubborn.py").write_text(STUBBORN)
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(tmp_path / "stubborn.py")],
        cwd=ROOT,
        start_new_session=True,
    )
    leader = psutil.Process(supervisor.pid)
    tree: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 30
        while len(leader.children(recursive=True)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        tree = leader.children(recursive=True)
        assert len(tree) == 2
        started = time.monotonic()
        supervisor.send_signal(signal.SIGTERM)

        assert supervisor.wait(timeout=10) == 128 + signal.SIGTERM
        alive = running_after(tree, 10 - (time.monotonic() - started))
        assert not alive
        assert time.monotonic() - started >= GRACE_S  # it did ask first, then waited
    finally:
        for process in [leader, *tree]:
            if process.is_running():
                process.kill()
        supervisor.wait(timeout=10)
