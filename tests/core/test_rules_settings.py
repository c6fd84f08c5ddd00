"""Every rule lse_assets/settings.py and the README's configuration table state, each side of
each bound: what is refused is refused naming the variable, what is valid is accepted as
written. (Settings are built from the environment, as every entry point builds them.)"""

from datetime import date

import pytest
from pydantic import ValidationError

from lse_assets.core.runfiles import project_slug
from lse_assets.settings import (
    DEFAULT_PAGE_BYTES,
    DEFAULT_PROJECT,
    Settings,
    check_database_url,
    check_webhook_url,
    demo_settings,
    url_holds_credentials,
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path):
    """Only what a test sets: no LSE_* of the developer's shell, no .env of the checkout."""
    import os

    for name in list(os.environ):
        if name.startswith("LSE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _from_env(monkeypatch, **variables: str) -> Settings:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return Settings()


# ---- LSE_PROJECTS --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "projects"),
    [
        ("a", ["a"]),
        ("a,b", ["a", "b"]),
        (" a , b ", ["a", "b"]),  # spaces around names are not part of them
        ("a,,b,", ["a", "b"]),  # empty entries (a stray comma) are skipped
        ("a, ,b", ["a", "b"]),  # whitespace-only entries too
        ("Prod,prod", ["Prod", "prod"]),  # LangSmith names are case-sensitive: two projects
        ("Team B/ünïcode's", ["Team B/ünïcode's"]),  # any name LangSmith allows but '|'
        ("x" * 300, ["x" * 300]),  # no length limit: the slug bounds the path
    ],
)
def test_valid_project_lists_are_accepted_as_written(monkeypatch, raw, projects):
    assert _from_env(monkeypatch, LSE_PROJECTS=raw).projects == projects


@pytest.mark.parametrize("raw", [",", " , ,", "\t"])
def test_a_project_list_with_no_name_is_refused_naming_the_variable(monkeypatch, raw):
    with pytest.raises(ValidationError, match="LSE_PROJECTS is empty"):
        _from_env(monkeypatch, LSE_PROJECTS=raw)


def test_an_empty_variable_counts_as_unset(monkeypatch):
    # docker-compose passes `LSE_PROJECTS: ${LSE_PROJECTS:-}` through as "".
    assert _from_env(monkeypatch, LSE_PROJECTS="").projects == [DEFAULT_PROJECT]
    assert Settings().projects == ["default"]


@pytest.mark.parametrize("raw", ["a,a", "a, a", "a,b,a", " a ,a"])
def test_a_project_listed_twice_is_refused(monkeypatch, raw):
    with pytest.raises(ValidationError, match="LSE_PROJECTS lists a project twice"):
        _from_env(monkeypatch, LSE_PROJECTS=raw)


@pytest.mark.parametrize("raw", ["a|b", "|", "ok,bad|name"])
def test_a_project_with_the_partition_separator_is_refused(monkeypatch, raw):
    with pytest.raises(ValidationError, match=r"contains '\|'"):
        _from_env(monkeypatch, LSE_PROJECTS=raw)


def test_a_list_given_in_code_is_checked_like_the_variable():
    with pytest.raises(ValidationError, match="twice"):
        Settings(projects=["a", "a"])
    with pytest.raises(ValidationError, match=r"'\|'"):
        Settings(projects=["a|b"])
    assert Settings(projects=["a", "b"]).projects == ["a", "b"]


def test_projects_that_differ_only_by_case_or_punctuation_never_share_a_folder():
    names = ["Prod", "prod", "a/b", "ab", "a b", "a-b", "x" * 300, "x" * 301]
    slugs = [project_slug(name) for name in names]
    assert len(set(slugs)) == len(names)
    assert all(len(slug) <= 80 for slug in slugs)


# ---- numeric bounds: each side of each --------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "attribute", "lowest", "highest", "default"),
    [
        ("LSE_REEXPORT_DAYS", "reexport_days", 0, 60, 3),
        ("LSE_RETENTION_DAYS", "retention_days", 1, None, 14),
        ("LSE_RETENTION_WARN_DAYS", "retention_warn_days", 1, None, 10),
        ("LSE_STEP_RETRIES", "step_retries", 0, 10, 3),
        ("LSE_STEP_RETRY_DELAY_SECONDS", "step_retry_delay_seconds", 0, None, 60),
        ("LSE_FETCH_PAGE_BYTES", "fetch_page_bytes", 1024, None, DEFAULT_PAGE_BYTES),
    ],
)
def test_numbers_are_accepted_up_to_their_bounds_and_refused_beyond(
    monkeypatch, variable, attribute, lowest, highest, default
):
    assert getattr(Settings(), attribute) == default
    assert getattr(_from_env(monkeypatch, **{variable: str(lowest)}), attribute) == lowest
    with pytest.raises(ValidationError, match=attribute):
        _from_env(monkeypatch, **{variable: str(lowest - 1)})
    if highest is not None:
        assert getattr(_from_env(monkeypatch, **{variable: str(highest)}), attribute) == highest
        with pytest.raises(ValidationError, match=attribute):
            _from_env(monkeypatch, **{variable: str(highest + 1)})
    with pytest.raises(ValidationError, match=attribute):
        _from_env(monkeypatch, **{variable: "three"})


def test_the_documented_defaults(monkeypatch):
    settings = Settings()
    assert settings.daily_cron == "0 2 * * *" and settings.reexport_cron == "0 3 * * *"
    assert settings.source == "langsmith" and settings.drive_scope == "drive.file"
    assert settings.alert_warnings is False and settings.profile == "production"
    assert settings.home_dir == (settings.home_dir.parent / ".lse")
    assert settings.run_files_dir == settings.home_dir / "data"
    assert settings.local_drive_dir == settings.home_dir / "drive"
    assert settings.parquet_destination == str(settings.home_dir / "parquet")


def test_the_default_start_date_is_fourteen_days_before_today(monkeypatch):
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC).date()
    start = Settings().start_date
    after = datetime.now(UTC).date()
    assert start in {before - timedelta(days=14), after - timedelta(days=14)}
    assert _from_env(monkeypatch, LSE_START_DATE="2025-01-31").start_date == date(2025, 1, 31)
    with pytest.raises(ValidationError, match="start_date"):
        _from_env(monkeypatch, LSE_START_DATE="2025-02-30")


# ---- choices -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "attribute", "valid", "invalid"),
    [
        ("LSE_SOURCE", "source", ["langsmith", "sample"], ["Sample", "fake"]),
        ("LSE_DRIVE_SCOPE", "drive_scope", ["drive.file", "drive"], ["drive.readonly"]),
        ("LSE_PROFILE", "profile", ["production"], ["prod", "Demo"]),
    ],
)
def test_choices_accept_exactly_their_words(monkeypatch, variable, attribute, valid, invalid):
    for value in valid:
        assert getattr(_from_env(monkeypatch, **{variable: value}), attribute) == value
    for value in invalid:
        with pytest.raises(ValidationError, match=attribute):
            _from_env(monkeypatch, **{variable: value})


# ---- owners, tags, the Parquet URL ----------------------------------------------------------


def test_owners_are_e_mail_addresses_or_teams(monkeypatch):
    owners = _from_env(monkeypatch, LSE_ASSET_OWNERS=" a@b.com , team:data ,").asset_owners
    assert owners == ["a@b.com", "team:data"]
    for bad in ["data", "a@b.com,data", "Team:data"]:
        with pytest.raises(ValidationError, match="LSE_ASSET_OWNERS"):
            _from_env(monkeypatch, LSE_ASSET_OWNERS=bad)


def test_tags_are_key_equals_value_pairs(monkeypatch):
    tags = _from_env(monkeypatch, LSE_ASSET_TAGS=" tier = gold ,team=data,empty=,").asset_tags
    assert tags == {"tier": "gold", "team": "data", "empty": ""}
    for bad in ["tier", "=gold", " =gold", "a=b,c"]:
        with pytest.raises(ValidationError, match="LSE_ASSET_TAGS"):
            _from_env(monkeypatch, LSE_ASSET_TAGS=bad)


@pytest.mark.parametrize(
    "url",
    [
        "s3://key:secret@bucket/prefix",
        "s3://key@bucket/prefix",
        "gs://:secret@bucket/prefix",
        "https://u:p@minio:9000/bucket",
    ],
)
def test_a_parquet_url_with_credentials_is_refused_without_echoing_them(monkeypatch, url):
    assert url_holds_credentials(url)
    with pytest.raises(ValidationError) as raised:
        _from_env(monkeypatch, LSE_PARQUET_URL=url)
    assert "LSE_PARQUET_URL" in str(raised.value)
    assert "secret" not in str(raised.value) and url not in str(raised.value)


@pytest.mark.parametrize(
    "url", ["s3://bucket/prefix", "gs://bucket", "/srv/lse/parquet", "relative/folder", "file:///x"]
)
def test_a_parquet_url_without_credentials_is_accepted(monkeypatch, url):
    assert not url_holds_credentials(url)
    settings = _from_env(monkeypatch, LSE_PARQUET_URL=url)
    assert settings.parquet_url == url and settings.parquet_destination == url


# ---- profiles -------------------------------------------------------------------------------


def test_the_demo_profile_ignores_the_environment_and_uses_no_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("LSE_PROJECTS", "prod-app")
    monkeypatch.setenv("LSE_SOURCE", "langsmith")
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2-secret")
    demo = demo_settings(tmp_path)
    assert demo.projects == ["demo-chatbot", "demo-rag-agent"] and demo.source == "sample"
    assert demo.home == tmp_path / "demo" and demo.is_demo
    assert not demo.automation_starts_running
    assert not demo.secret_is_set("LANGSMITH_API_KEY")
    production = Settings()
    assert production.automation_starts_running and production.secret_is_set("LANGSMITH_API_KEY")
    monkeypatch.setenv("LANGSMITH_API_KEY", "")
    assert not production.secret_is_set("LANGSMITH_API_KEY")


def test_dagster_home_follows_the_variable_in_production_only(monkeypatch, tmp_path):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "instance"))
    assert Settings().dagster_home == tmp_path / "instance"
    assert demo_settings(tmp_path).dagster_home == tmp_path / "demo" / "dagster"
    monkeypatch.delenv("DAGSTER_HOME")
    assert Settings().dagster_home == Settings().home_dir / "dagster"


# ---- every refusal: one line naming the variable, the entry at fault and the fix -----------


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "LSE_PROJECTS",
            " , ,",
            "LSE_PROJECTS is empty: give comma-separated LangSmith project names",
        ),
        ("LSE_PROJECTS", "a, b,a", "LSE_PROJECTS lists a project twice: ['a', 'b', 'a']"),
        (
            "LSE_PROJECTS",
            "a,x|y",
            "project 'x|y' contains '|', which Dagster reserves to join partition keys; "
            "rename the LangSmith project",
        ),
        (
            "LSE_ASSET_OWNERS",
            "a@b.com,data",
            "LSE_ASSET_OWNERS: 'data' is neither an e-mail address nor 'team:NAME'",
        ),
        ("LSE_ASSET_TAGS", "a=b, c", "LSE_ASSET_TAGS: 'c' is not KEY=VALUE (e.g. team=data)"),
        (
            "LSE_PARQUET_URL",
            "nosuch://bucket/x",
            "LSE_PARQUET_URL: nosuch:// is no storage fsspec knows; give a local folder, "
            "s3://bucket/prefix or gs://bucket/prefix (docs/parquet.md)",
        ),
    ],
)
def test_each_refusal_is_one_line_naming_the_variable_the_entry_and_the_fix(
    monkeypatch, variable, value, message
):
    with pytest.raises(ValidationError) as raised:
        _from_env(monkeypatch, **{variable: value})
    [error] = raised.value.errors()
    assert error["msg"] == f"Value error, {message}"


def test_only_the_authority_counts_for_the_one_at_rule():
    """An '@' in the path or query is no second '@' before the host."""
    check_database_url("postgresql://lse:pw@db.example:5432/lse?application_name=ops@night")
    check_webhook_url("https://hooks.example.com/services/team@ops/T1")
    with pytest.raises(ValueError, match="more than one '@' before the host"):
        check_database_url("postgresql://lse:p@ss@db.example:5432/lse")
    check_database_url("postgresql://")  # no host, no path: a Unix socket's default, in shape
