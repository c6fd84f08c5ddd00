#!/usr/bin/env python3
"""Set up and run LSE with nothing but Python >= 3.11.

    python3 run.py demo        archive 3 sample days x 2 projects through Dagster
    python3 run.py ui          open the Dagster UI on the LSE_HOME instance
    python3 run.py lse ARGS    any `lse` command (python3 run.py lse --help)
    python3 run.py test        run the test suite (extra arguments go to pytest)

The first call creates `.venv` and installs the runtime's pinned, hash-checked dependencies
(requirements.lock); `test` adds the development tools (requirements-dev.lock) on top.
Later calls reinstall only when a lock file or pyproject.toml changed. The installer is
uv when it is on the PATH or can be fetched for the install, else pip (LSE_INSTALLER=pip
forces pip); either shows its progress.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("LSE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".lse-installed"
RUNTIME = ["requirements.lock"]
DEV = [*RUNTIME, "requirements-dev.lock"]
# The installer's own pin: fetched for the install only when no uv is on the PATH.
UV = "uv==0.13.9"


def _fingerprint(locks: list[str]) -> str:
    digest = hashlib.sha256()
    for name in (*locks, "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


@contextmanager
def _installer() -> Iterator[list[str]]:
    """The command that installs into the venv: uv (parallel downloads, several times faster
    than pip) when it is on the PATH or can be fetched for this install, else pip. A fetched
    uv lives in a temporary folder, not in the venv."""
    python = str(BIN / "python")
    uv = None if os.environ.get("LSE_INSTALLER") == "pip" else shutil.which("uv")
    with tempfile.TemporaryDirectory(prefix="lse-uv-") as tools:
        if uv is None and os.environ.get("LSE_INSTALLER") != "pip" and _has_pip(sys.executable):
            print(f"Fetching the installer {UV} ...", flush=True)
            fetch = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", tools]
            if subprocess.run([*fetch, UV], check=False).returncode == 0:
                uv = shutil.which("uv", path=str(Path(tools, "bin")))
        if uv is not None:
            yield [uv, "pip", "install", "--python", python]
            return
        print("Installing with pip (uv is not available).", flush=True)
        if not _has_pip(python):
            subprocess.run([python, "-m", "ensurepip", "--upgrade"], check=True)
        yield [python, "-m", "pip", "install", "--disable-pip-version-check"]


def _has_pip(python: str) -> bool:
    return subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0


def _prune_discovery_documents() -> None:
    """google-api-python-client ships the discovery document of every Google API (~110 MB);
    LSE builds its client from Drive v3's alone (resources/drive/client.py)."""
    for documents in VENV.glob("[Ll]ib/*/site-packages/googleapiclient/discovery_cache/documents"):
        for document in documents.glob("*.json"):
            if document.name != "drive.v3.json":
                document.unlink()


def installed(locks: list[str]) -> bool:
    """Whether the venv holds what `locks` pin now (a dev install serves the runtime too:
    its stamp names both lock sets)."""
    return STAMP.exists() and _fingerprint(locks) in STAMP.read_text().split()


def ensure_env(locks: list[str]) -> None:
    """A venv holding exactly what `locks` pin, plus this project (editable)."""
    if sys.version_info < (3, 11):  # noqa: UP036 (say so on an older Python)
        sys.exit(f"LSE needs Python >= 3.11; this is {sys.version.split()[0]}.")
    if installed(locks):
        return
    if not (BIN / "python").exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.create(VENV, with_pip=False)  # pip only if uv is not available (_installer)
    what = "development" if locks == DEV else "runtime"
    requirements = [arg for lock in locks for arg in ("-r", str(ROOT / lock))]
    with _installer() as install:
        print(f"Installing the pinned {what} dependencies ({', '.join(locks)}) ...", flush=True)
        subprocess.run([*install, "--no-deps", "--require-hashes", *requirements], check=True)
        subprocess.run([*install, "--no-deps", "-e", str(ROOT)], check=True)
    _prune_discovery_documents()
    done = [_fingerprint(RUNTIME)] + ([_fingerprint(DEV)] if locks == DEV else [])
    STAMP.write_text("\n".join(done))


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "test":
        cmd = [str(BIN / "python"), "-m", "pytest", *rest]
    elif command in {"demo", "ui"}:
        cmd = [str(BIN / "lse"), command, *rest]
    elif command == "lse":
        cmd = [str(BIN / "lse"), *rest]
    else:
        print(__doc__)
        return 2
    ensure_env(DEV if command == "test" else RUNTIME)
    os.chdir(ROOT)
    if os.name == "nt":
        return subprocess.call(cmd)
    # Become the command, so a signal to this process (Ctrl-C, SIGTERM) reaches it directly
    # and nothing is left behind when it stops.
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
