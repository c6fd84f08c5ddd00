"""One way to call `lse` (lse_assets/core/invocation.py): no --help text, no string the code
prints and no doc shows a bare `lse <command>`, which is "command not found" on a machine set
up by the README. The one exception is a line labelled as in the container, where `lse` is
on the PATH."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from lse_assets.cli.main import main
from lse_assets.core.invocation import LSE

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = "demo|ui|materialize|verify|status|restore|import-legacy|db|forget|sql"
# `lse` followed by a command or a top-level option, not preceded by `run.py ` nor part of a
# longer name (lse_assets, /lse, .lse-installed).
NOT_RUN_PY = r"(?<![\w./-])(?<!run\.py )"
BARE = re.compile(
    rf"{NOT_RUN_PY}lse (?:--demo |--verbose )*(?:{COMMANDS}|COMMAND|ARGS)\b|{NOT_RUN_PY}lse --help"
)
CONTAINER = re.compile(r"container|docker|compose|kubectl", re.IGNORECASE)


def _bare(text: str) -> list[str]:
    return [line for line in text.splitlines() if BARE.search(line)]


def _help_pages(group: click.Group, path: tuple[str, ...] = ()) -> dict[str, str]:
    result = CliRunner().invoke(main, [*path, "--help"], prog_name=LSE)
    assert result.exit_code == 0, result.output
    pages = {" ".join(path) or "lse": result.output}
    for name, command in getattr(group, "commands", {}).items():
        pages.update(_help_pages(command, (*path, name)))
    return pages


def test_the_prefix_is_what_the_readme_sets_up():
    readme = (ROOT / "README.md").read_text()
    assert f"{LSE} --help" in readme or f"{LSE} " in readme
    assert BARE.search("see `lse forget --dry-run`") and BARE.search("lse --demo status")
    assert not BARE.search(f"`{LSE} forget`") and not BARE.search("lse_assets/cli ui")


def test_the_console_script_shows_the_prefix_in_its_usage_lines():
    lse = Path(sys.executable).with_name("lse")
    result = subprocess.run([lse, "ui", "--help"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith(f"Usage: {LSE} ui ")


def test_no_help_text_shows_a_bare_lse_command():
    pages = _help_pages(main)
    assert {"lse", "ui", "db", "db prune"} <= set(pages)
    bare = {name: _bare(text) for name, text in pages.items() if _bare(text)}
    assert not bare, f"use {LSE!r} (lse_assets/core/invocation.py): {bare}"


def _printed_strings(path: Path) -> list[str]:
    """Every string literal of a module but its docstrings (read by developers, not users;
    a command's docstring is its --help, checked above)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


@pytest.mark.parametrize("package", ["lse_assets", "resources"])
def test_no_message_the_code_prints_shows_a_bare_lse_command(package):
    bare = {
        str(path.relative_to(ROOT)): hits
        for path in sorted((ROOT / package).rglob("*.py"))
        if (hits := [s for s in _printed_strings(path) if BARE.search(s)])
    }
    assert not bare, f"use LSE from lse_assets/core/invocation.py: {bare}"


def test_the_docs_show_a_bare_lse_command_only_in_the_container():
    bare = {}
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = doc.read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            # the line itself, or the sentence introducing its code block, names the container
            context = " ".join(lines[max(0, number - 4) : number])
            if BARE.search(line) and not CONTAINER.search(context):
                bare.setdefault(doc.name, []).append(number)
    assert not bare, f"write `{LSE} ...` (or label the container form): {bare}"
