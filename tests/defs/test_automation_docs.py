"""What runs by itself, said the same in the code, `lse --help`, the README and
docs/operations.md: every schedule and sensor has a row in operations.md's table, and every
text about the demo names what runs there (and that it only logs) and what starts stopped,
as the code location built for the demo profile has it."""

import re
from pathlib import Path

import dagster as dg
from click.testing import CliRunner

from lse_assets.cli.main import main
from lse_assets.definitions import build_defs
from lse_assets.settings import demo_settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
RUNNING = (dg.DefaultScheduleStatus.RUNNING, dg.DefaultSensorStatus.RUNNING)


def _automation(defs: dg.Definitions) -> dict[str, bool]:
    """Every schedule and sensor, and whether it starts running."""
    return {item.name: item.default_status in RUNNING for item in (*defs.schedules, *defs.sensors)}


def _flat(text: str) -> str:
    return " ".join(text.split())


def _demo_texts() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    return {
        "lse --help": CliRunner().invoke(main, ["--help"]).output,
        "README (The Dagster UI)": readme.split("## The Dagster UI")[1].split("\n## ")[0],
        "README (Configuration)": readme.split("## Configuration")[1].split("| variable")[0],
        "docs/operations.md": operations.split("## What runs by itself")[1].split("\n## ")[0],
    }


def test_operations_table_lists_every_schedule_and_sensor():
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = operations.split("## What runs by itself")[1].split("\n## ")[0]
    rows = set(re.findall(r"^\| `(\w+)` \| (?:schedule|sensor) \|", section, re.MULTILINE))

    assert rows == set(_automation(build_defs(load_settings())))


def test_every_text_says_what_runs_in_the_demo_and_that_it_only_logs(tmp_path, monkeypatch):
    monkeypatch.setenv("LSE_ALERT_WEBHOOK_URL", "https://hooks.example.com/services/T/B/x")
    demo = build_defs(demo_settings(tmp_path))
    automation = _automation(demo)
    running = {name for name, runs in automation.items() if runs}
    stopped_sensors = {s.name for s in demo.sensors if not automation[s.name]}
    # Only logs: the demo's notifier has no webhook even when one is configured.
    assert demo.resources["notifier"].webhook_url is None
    assert running  # else "runs and only logs" would describe nothing

    for where, text in _demo_texts().items():
        flat = _flat(text)
        for name in running:
            assert re.search(rf"`?{name}`? runs\b.*?only logs", flat), (where, name)
        for name in stopped_sensors:
            assert re.search(rf"`?{name}`?[^.;]*?start(s)? (`)?stopped", flat, re.I), (where, name)
        if any(isinstance(item, dg.ScheduleDefinition) for item in demo.schedules):
            assert re.search(r"schedules[^.;]*?start(s)? (`)?stopped", flat, re.I), where
        assert "sensors stopped" not in flat and "automation stopped" not in flat, where
