#!/usr/bin/env python3
"""Set up and run LSE with nothing but Python >= 3.11.

    python3 run.py demo        archive 3 sample days x 2 projects through Dagster
    python3 run.py test        run the test suite (extra arguments go to pytest)
    python3 run.py lse ARGS    any `lse` command (lse --help)
    python3 run.py ui          open the Dagster UI on the LSE_HOME instance

The first call creates `.venv` and installs the pinned dependencies of `requirements.lock`
(hash-checked). Later calls reinstall only when the lock file or pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("LSE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".lse-installed"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (say so on an older Python)
        sys.exit(f"LSE needs Python >= 3.11; this is {sys.version.split()[0]}.")
    wanted = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    print("Installing pinned dependencies (first run takes a minute or two) ...", flush=True)
    subprocess.run(
        [*pip, "--no-deps", "--require-hashes", "-r", str(ROOT / "requirements.lock")], check=True
    )
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    ensure_env()
    command, rest = argv[0], argv[1:]
    if command == "test":
        cmd = [str(BIN / "python"), "-m", "pytest", *rest]
    elif command == "demo":
        cmd = [str(BIN / "lse"), "demo", *rest]
    elif command == "ui":
        cmd = [str(BIN / "lse"), "ui", *rest]
    elif command == "lse":
        cmd = [str(BIN / "lse"), *rest]
    else:
        print(__doc__)
        return 2
    return subprocess.call(cmd, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
