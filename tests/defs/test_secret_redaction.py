"""Secrets stay secret when misconfigured: a database URL with an unescaped '@' in its
password (a real Dagster run on a real instance) and a webhook URL without a scheme (a real
sensor tick evaluated by Dagster's sensor daemon code, recorded on a real instance) leave
no part of the secret in the event log, run storage, tick records, logs or errors."""

import logging
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.sensor import execute_sensor_iteration
from dagster_shared.serdes import serialize_value

from lse_assets.core import redaction
from lse_assets.defs.checks import CHECK_KEYS, FILES_MATCH_DB
from lse_assets.settings import SecretConfigError
from resources.notifier import WebhookNotifier
from resources.postgres.resource import PostgresResource
from tests.conftest import PROJECT_A
from tests.fakes.helpers import local_resources, materialize

DAY = date(2025, 9, 13)
BAD_DATABASE_URL = "postgresql://lse:s3cr3tW0rd@pa55phrase@127.0.0.1:5432/lse"
DATABASE_PARTS = ["s3cr3tW0rd", "pa55phrase"]
BAD_WEBHOOK_URL = "hooks.example.com/services/T0001/B0001/XsEcReTtOkEn42"
WEBHOOK_PARTS = ["XsEcReTtOkEn42", "hooks.example.com"]
REPOSITORY = Path(__file__).resolve().parents[2]


def _assert_nowhere(parts, texts):
    for name, text in texts.items():
        for part in parts:
            assert part not in text, f"{part!r} found in {name}"


def _files(directory: Path) -> dict[str, str]:
    """Every file Dagster wrote (SQLite storage, compute logs), as text."""
    return {
        str(path): path.read_bytes().decode("latin-1")
        for path in directory.rglob("*")
        if path.is_file()
    }


def test_parts_of_a_secret_url():
    assert set(DATABASE_PARTS) <= set(redaction.parts(BAD_DATABASE_URL))
    assert "XsEcReTtOkEn42" in redaction.parts("https://" + BAD_WEBHOOK_URL)
    text = 'could not translate host name "pa55phrase@127.0.0.1" (password s3cr3tW0rd)'
    _assert_nowhere(DATABASE_PARTS, {"scrubbed": redaction.scrub(text, [BAD_DATABASE_URL])})


@pytest.mark.parametrize(
    ("resource", "variable"),
    [
        (WebhookNotifier(webhook_url=BAD_WEBHOOK_URL), "LSE_ALERT_WEBHOOK_URL"),
        (PostgresResource(database_url=BAD_DATABASE_URL, embedded_dir="x"), "LSE_DATABASE_URL"),
    ],
)
def test_validation_names_the_variable_and_never_the_value(resource, variable):
    with pytest.raises(SecretConfigError) as raised:
        resource.validate()
    assert variable in str(raised.value)
    _assert_nowhere(DATABASE_PARTS + WEBHOOK_PARTS, {"message": str(raised.value)})


def test_a_database_url_with_an_unescaped_at_leaks_nothing_from_a_real_run(
    tmp_path, monkeypatch, capfd, caplog
):
    # Settings refuse this URL when they load (tests/test_settings.py); the resource's own
    # check is the guard for whoever builds it otherwise, so it gets the URL under another name.
    monkeypatch.setenv("LSE_TEST_BAD_DATABASE_URL", BAD_DATABASE_URL)
    bad = PostgresResource(
        database_url=dg.EnvVar("LSE_TEST_BAD_DATABASE_URL"), embedded_dir=str(tmp_path / "pg")
    )
    home = tmp_path / "dagster"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        result = materialize(PROJECT_A, DAY, local_resources(tmp_path, bad), instance=instance)
        assert not result.success
        records = instance.all_logs(result.run_id)
        failures = [r for r in records if r.is_dagster_event and r.dagster_event.is_failure]
        texts = {f"event {i}": serialize_value(r) for i, r in enumerate(records)}
        texts["run"] = serialize_value(instance.get_run_by_id(result.run_id))
        texts.update(_files(home))
    captured = capfd.readouterr()
    texts.update(stdout=captured.out, stderr=captured.err, logs=caplog.text)
    _assert_nowhere(DATABASE_PARTS, texts)
    # The failure names the variable and the fix.
    assert any(
        "LSE_DATABASE_URL" in serialize_value(f) and "%40" in serialize_value(f) for f in failures
    )


def test_a_webhook_url_without_a_scheme_leaks_nothing_into_sensor_ticks(
    tmp_path, monkeypatch, capfd, caplog
):
    monkeypatch.setenv("LSE_ALERT_WEBHOOK_URL", BAD_WEBHOOK_URL)
    key = next(key for key in CHECK_KEYS if key.name == FILES_MATCH_DB)
    home = tmp_path / "dagster"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        instance.report_runless_asset_event(  # a failure to announce: the sensor must send
            dg.AssetCheckEvaluation(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"differing": 1},
            )
        )
        target = ModuleTarget(
            module_name="tests.fakes.secret_defs",
            attribute="defs",
            working_directory=str(REPOSITORY),
            location_name="secrets",
        )
        with create_test_daemon_workspace_context(target, instance) as workspace:
            list(execute_sensor_iteration(workspace, logging.getLogger("sensor"), None, None))
        ticks = [
            tick
            for state in instance.all_instigator_state()
            for tick in instance.get_ticks(state.instigator_origin_id, state.selector_id)
        ]
        assert ticks, "the sensor daemon recorded no tick"
        texts = {f"tick {i}": serialize_value(tick) for i, tick in enumerate(ticks)}
        texts.update(_files(home))
    captured = capfd.readouterr()
    texts.update(stdout=captured.out, stderr=captured.err, logs=caplog.text)
    _assert_nowhere(WEBHOOK_PARTS, texts)
    # The tick says what is wrong, by the variable's name.
    assert any("LSE_ALERT_WEBHOOK_URL" in text for name, text in texts.items() if "tick" in name)
