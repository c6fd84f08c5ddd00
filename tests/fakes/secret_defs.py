"""A code location for the secret-redaction tests: the real alert sensor, its webhook URL
through EnvVar as lse_assets.definitions wires it."""

import dagster as dg

from lse_assets.defs.checks import CHECK_KEYS, FILES_MATCH_DB
from lse_assets.defs.sensors.check_failures import build_check_failure_sensor
from resources.notifier import WebhookNotifier

defs = dg.Definitions(
    sensors=[
        build_check_failure_sensor(
            check_keys=[key for key in CHECK_KEYS if key.name == FILES_MATCH_DB]
        )
    ],
    resources={"notifier": WebhookNotifier(webhook_url=dg.EnvVar("LSE_ALERT_WEBHOOK_URL"))},
)
