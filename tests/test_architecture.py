"""The house rule, checked rather than remembered (docs/architecture.md).

The import-linter contracts in pyproject.toml: each floor imports only the floors below it
(settings <- core <- resources <- defs <- definitions <- cli), the pure domain never imports
Dagster, click or an outside system's SDK, and nothing imports the CLI. And `lse --help`, the
first thing a user runs, does not pay for loading Dagster.
"""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a dev dependency (pyproject.toml): pip install import-linter"
    return subprocess.run(
        [lint, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_every_import_contract_is_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("lse_assets/core/jsondoc.py", "import dagster\n"),  # core never imports Dagster
        ("lse_assets/core/verify.py", "import resources.data_dir\n"),  # nor a resource
        ("resources/notifier.py", "import lse_assets.defs.jobs\n"),  # a floor looks up
        ("lse_assets/settings.py", "import lse_assets.core.jsondoc\n"),  # settings is the ground
        ("lse_assets/defs/jobs.py", "import lse_assets.cli.selection\n"),  # nothing imports cli
    ],
)
def test_a_broken_rule_fails_the_check(tmp_path: Path, module: str, line: str) -> None:
    # A copy of the tree with one offending import: the same contracts must refuse it.
    for name in ("lse_assets", "resources"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + "\n" + line)
    result = _lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout


def test_lse_help_does_not_import_dagster() -> None:
    script = textwrap.dedent(
        """
        import sys
        from click.testing import CliRunner
        from lse_assets.cli import main
        result = CliRunner().invoke(main, ["--help"])
        assert result.exit_code == 0, result.output
        assert "materialize" in result.output
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"dagster", "langsmith"})
        print(",".join(loaded))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"`lse --help` loaded {result.stdout.strip()}"


def test_no_module_reads_the_settings_when_imported() -> None:
    # Settings are read once, by whoever runs (a command, Dagster's loader), and passed down:
    # importing every module with load_settings refusing to run must succeed.
    script = textwrap.dedent(
        """
        import importlib, pkgutil
        import lse_assets.settings as settings

        def refuse():
            raise AssertionError("settings read at import")

        settings.load_settings = refuse
        import lse_assets, resources
        for package in (lse_assets, resources):
            for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                importlib.import_module(module.name)
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
