"""Settings notice a bad secret URL when they load, for every command, by the variable's
name only; and a webhook is https://, or plain http:// only to this machine."""

import pytest

from lse_assets import settings as lse_settings
from lse_assets.settings import SecretConfigError, SettingsError, check_webhook_url

TOKEN = "XsEcReTtOkEn42"


@pytest.mark.parametrize(
    "url",
    [
        f"https://hooks.slack.com/services/T0/B0/{TOKEN}",
        f"HTTPS://hooks.slack.com/services/T0/B0/{TOKEN}",
        f"http://127.0.0.1:8080/services/{TOKEN}",
        f"http://localhost/services/{TOKEN}",
        f"http://[::1]:9000/services/{TOKEN}",
    ],
)
def test_webhooks_accepted(url):
    check_webhook_url(url)


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        (f"alerts.example.org/services/T0/B0/{TOKEN}", "https://"),
        (f"http://alerts.example.org/services/T0/B0/{TOKEN}", "in the clear"),
        (f"http://127.0.0.1.evil.example/services/{TOKEN}", "in the clear"),
        (f"http://localhost@alerts.example.org/{TOKEN}", "in the clear"),
        (f"ftp://alerts.example.org/services/{TOKEN}", "https://"),
        ("https://alerts.example.org", "host and a path"),
    ],
)
def test_webhooks_refused_by_name_never_by_value(url, fix):
    with pytest.raises(SecretConfigError) as refused:
        check_webhook_url(url)
    message = str(refused.value)
    assert "LSE_ALERT_WEBHOOK_URL" in message and fix in message
    assert TOKEN not in message and "alerts.example.org" not in message


def _load(monkeypatch, tmp_path, **env):
    monkeypatch.chdir(tmp_path)  # no developer's ./.env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    lse_settings.load_settings.cache_clear()
    try:
        return lse_settings.load_settings()
    finally:
        lse_settings.load_settings.cache_clear()


def test_loading_settings_refuses_a_webhook_without_a_scheme(monkeypatch, tmp_path):
    with pytest.raises(SettingsError) as refused:
        _load(monkeypatch, tmp_path, LSE_ALERT_WEBHOOK_URL=f"hooks.slack.com/x/{TOKEN}")
    message = str(refused.value)
    assert "LSE_ALERT_WEBHOOK_URL must start with https://" in message
    assert "\n" not in message and TOKEN not in message


def test_the_demo_profile_ignores_secrets_it_does_not_use(monkeypatch, tmp_path):
    loaded = _load(
        monkeypatch,
        tmp_path,
        LSE_PROFILE="demo",
        LSE_ALERT_WEBHOOK_URL=f"hooks.slack.com/x/{TOKEN}",
        LSE_DATABASE_URL="postgresql://u:p@x@host/db",
    )
    assert loaded.is_demo
