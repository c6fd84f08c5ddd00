"""The embedded Postgres in process (the `db` tier): one server per data folder, reused by
every user; a holder killed with -9 never keeps it running after the last living user left
(issue 18 §5; tests/cli/test_killed_run.py proves it through `lse`, out of mutmut's sight)."""

import json
import os
import subprocess
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa

from resources.postgres import embedded


def _servers(data_dir: Path) -> list[psutil.Process]:
    """Postgres servers (postmasters) running on `data_dir`."""
    return [
        proc
        for proc in psutil.process_iter(attrs=("name", "cmdline"))
        if proc.info["name"] == "postgres"
        and "-D" in (proc.info["cmdline"] or [])
        and str(data_dir) in proc.info["cmdline"]
    ]


def _holders(data_dir: Path) -> list[int]:
    return json.loads((data_dir / embedded.HOLDERS).read_text())


def _a_dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


@pytest.mark.db
def test_a_holder_killed_with_minus_9_does_not_keep_the_server_running(tmp_path):
    data_dir = (tmp_path / "postgres").resolve()
    dead = _a_dead_pid()
    try:
        url = embedded.embedded_url(data_dir)
        with sa.create_engine(url).connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
        assert _holders(data_dir) == [os.getpid()]
        assert len(_servers(data_dir)) == 1

        # A second user on the same folder gets the same server, never a second one.
        assert embedded.embedded_url(data_dir) == url
        assert len(_servers(data_dir)) == 1

        # A user killed with -9 leaves its id behind; the next to join drops it.
        (data_dir / embedded.HOLDERS).write_text(json.dumps([dead, os.getpid()]))
        embedded.embedded_url(data_dir)
        assert _holders(data_dir) == [os.getpid()]

        # Killed again: the last living user's stop still stops the server.
        (data_dir / embedded.HOLDERS).write_text(json.dumps([os.getpid(), dead]))
        embedded.stop(data_dir)
        assert _servers(data_dir) == []
    finally:
        for server in _servers(data_dir):  # a failed assertion must not leave it running
            server.terminate()


def test_a_holders_list_that_cannot_be_read_is_left_to_pgserver(tmp_path):
    data_dir = tmp_path / "postgres"
    data_dir.mkdir()
    (data_dir / embedded.HOLDERS).write_text("not json")
    embedded._forget_dead_holders(data_dir)  # no error: pgserver's own list, its own call
    assert (data_dir / embedded.HOLDERS).read_text() == "not json"
    embedded._forget_dead_holders(tmp_path / "nowhere")  # no list yet: nothing to drop


def test_a_holder_of_another_user_counts_as_alive(tmp_path, monkeypatch):
    # Signalling another account's process is refused (EPERM): it exists, so its hold on
    # a shared server is kept. (Tests run as root, where no signal is refused: a stub.)
    def refused(pid, signal):
        raise PermissionError(1, "Operation not permitted")

    data_dir = tmp_path / "postgres"
    data_dir.mkdir()
    (data_dir / embedded.HOLDERS).write_text(json.dumps([4242]))
    monkeypatch.setattr(embedded.os, "kill", refused)
    embedded._forget_dead_holders(data_dir)
    assert _holders(data_dir) == [4242]
