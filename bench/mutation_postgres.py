"""Not a benchmark: mutation-tests the Postgres modules against the real embedded Postgres.

pyproject's `[tool.mutmut]` drives mutmut with the fast tier (`-m "not db"`), which never
reaches `resources/postgres/{advisory_locks,embedded,monthly_tables}.py` and reaches
`resource.py` only in part. mutmut 3.8 has no per-run override of its test selection (and
changing it in pyproject resets every earlier result), so this script keeps a second tier
apart: it copies the working tree (the files git knows, tracked or not ignored) into a
scratch folder, rewrites `[tool.mutmut]` there to mutate only `resources/postgres/*` and to
run the test files that use the database, Postgres tests included, and runs mutmut in that
folder. Its `mutants/` (results and coverage) stays there between runs; the copy is
refreshed on each run.

    python bench/mutation_postgres.py run NAME...       # e.g. "resources.postgres.*"
    python bench/mutation_postgres.py run --file bench/mutation_sample_2026.txt
    python bench/mutation_postgres.py results           # or: show NAME
    python bench/mutation_postgres.py sample            # the seed-2026 draw, 24 a module

Each mutant's tests start their own embedded Postgres (a few seconds). One worker, nice 10.
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRATCH = Path(os.environ.get("LSE_MUTATION_PG_DIR", "/tmp/lse-mutation-postgres"))

# The files whose tests use the Postgres modules, in process. Left out: test_vanished_host
# (network namespaces, root only), and everything that starts `lse` as a subprocess.
TESTS = [
    "tests/resources/test_advisory_locks.py",
    "tests/resources/test_embedded_postgres.py",
    "tests/resources/test_monthly_tables.py",
    "tests/resources/test_migrations.py",
    "tests/resources/test_rules_secrets.py",
    "tests/defs/test_db_runs.py",
]

CONFIG = f"""[tool.mutmut]
source_paths = ["lse_assets", "resources"]
only_mutate = ["resources/postgres/*"]
also_copy = ["tests", "alembic", "deploy", "docs", "README.md"]
pytest_add_cli_args = ["-p", "no:randomly", "-q"]
pytest_add_cli_args_test_selection = {TESTS!r}

"""


def refresh_copy() -> None:
    """The scratch folder gets the working tree's current files; its mutants/ is kept."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        source, target = REPO / raw.decode(), SCRATCH / raw.decode()
        if not source.is_file():
            continue  # deleted in the working tree, still in the index
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != source.read_bytes():
            target.write_bytes(source.read_bytes())
    pyproject = SCRATCH / "pyproject.toml"
    text = pyproject.read_text()
    # [tool.mutmut] runs up to the next table header or the end: replace it whole.
    text, found = re.subn(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", CONFIG, text)
    if found != 1:
        sys.exit("no [tool.mutmut] table in pyproject.toml")
    pyproject.write_text(text)
    venv = SCRATCH / ".venv"
    if not venv.exists():
        venv.symlink_to((REPO / ".venv").resolve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "results", "show", "sample"])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--file", type=Path, help="a file of mutant names to run")
    args = parser.parse_args()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    refresh_copy()
    env = {**os.environ, "PYTHONPATH": str(SCRATCH)}
    if args.command == "sample":
        command = [
            sys.executable,
            "bench/mutation_sample.py",
            "--seed",
            "2026",
            "--per",
            "14",
            "--weak",
            "24",
            "--exclude",
            "bench/mutation_sample.txt",
            "--module",
            "resources/postgres/*",
        ]
    elif args.command == "run":
        names = args.names + (args.file.read_text().split() if args.file else [])
        names = [n for n in names if n.startswith("resources.postgres.")]
        mutmut = str(SCRATCH / ".venv/bin/mutmut")
        command = ["nice", "-n", "10", mutmut, "run", "--max-children", "1", *names]
    else:
        command = [str(SCRATCH / ".venv/bin/mutmut"), args.command, *args.names]
    sys.exit(subprocess.run(command, cwd=SCRATCH, env=env).returncode)


if __name__ == "__main__":
    main()
