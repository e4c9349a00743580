"""Settings: one declarative table, an injectable environment, errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadcache import ConfigError, Settings
from leadcache.settings import DEFAULT_FIELD_MAP, SETTINGS


def test_defaults_match_the_design() -> None:
    s = Settings.from_env({})
    assert s.db_path == Path("data/leads_cache.db")
    assert s.refresh_interval_hours == 2.0
    assert s.table_name == "Leads"
    assert s.endpoint_url == "https://api.airtable.com"
    assert s.field_map == DEFAULT_FIELD_MAP
    assert s.api_key is None


def test_database_path_alias_from_the_design_dockerfile() -> None:
    assert Settings.from_env({"DATABASE_PATH": "/app/data/x.db"}).db_path == Path("/app/data/x.db")
    both = Settings.from_env({"DATABASE_PATH": "/a.db", "LEAD_CACHE_DB_PATH": "/b.db"})
    assert both.db_path == Path("/b.db")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CACHE_REFRESH_INTERVAL", "soon"),
        ("CACHE_REFRESH_INTERVAL", "-1"),
        ("CACHE_REFRESH_INTERVAL", "nan"),
        ("AIRTABLE_BASE_ID", "base123"),
        ("AIRTABLE_ENDPOINT_URL", "ftp://x"),
        ("LEAD_CACHE_FIELD_MAP", "{not json"),
        ("LEAD_CACHE_FIELD_MAP", '{"nickname": "Nick"}'),
        ("LEAD_CACHE_FIELD_MAP", '{"name": "Email"}'),
        ("LEAD_CACHE_CONFLICT_POLICY", "coin-flip"),
        ("LEAD_CACHE_METRICS_PORT", "70000"),
        ("LEAD_CACHE_BACKUP_S3", "http://bucket"),
    ],
)
def test_invalid_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({variable: value})
    assert info.value.variable == variable
    assert variable in str(info.value)
    assert isinstance(info.value, ValueError)


def test_field_map_overrides_merge_with_defaults() -> None:
    s = Settings.from_env({"LEAD_CACHE_FIELD_MAP": '{"name": "Full Name"}'})
    assert s.field_map["name"] == "Full Name"
    assert s.field_map["company"] == "Company"


def test_api_key_never_shows() -> None:
    s = Settings.from_env({"AIRTABLE_API_KEY": "patSECRETSECRET.123"})
    assert s.api_key is not None
    assert s.api_key.reveal() == "patSECRETSECRET.123"
    for text in (repr(s), str(s), repr(s.api_key), str(s.describe())):
        assert "patSECRETSECRET" not in text
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"AIRTABLE_API_KEY": "pat SECRETSECRET"})
    assert "SECRETSECRET" not in str(info.value)


def test_every_setting_has_help_and_a_unique_variable() -> None:
    names = [s.env for s in SETTINGS]
    assert len(names) == len(set(names))
    assert all(s.help for s in SETTINGS)
    assert {s.attr for s in SETTINGS} == set(Settings.__dataclass_fields__)


def test_require_airtable_names_the_missing_variable() -> None:
    with pytest.raises(ConfigError, match="AIRTABLE_API_KEY"):
        Settings.from_env({}).require_airtable()
    with pytest.raises(ConfigError, match="AIRTABLE_BASE_ID"):
        Settings.from_env({"AIRTABLE_API_KEY": "pat1"}).require_airtable()


DURATIONS = [
    "CACHE_REFRESH_INTERVAL",
    "LEAD_CACHE_RATE_LIMIT_PENALTY",
    "LEAD_CACHE_REQUEST_TIMEOUT",
    "LEAD_CACHE_MODIFIED_SLACK",
    "LEAD_CACHE_SWEEP_INTERVAL",
    "LEAD_CACHE_LEASE_TTL",
    "LEAD_CACHE_PUSH_INTERVAL",
    "LEAD_CACHE_PULL_INTERVAL",
    "LEAD_CACHE_BACKUP_INTERVAL",
]


@pytest.mark.parametrize("variable", DURATIONS)
def test_absurd_durations_are_config_errors_not_overflows(variable: str) -> None:
    # Issue 8: CACHE_REFRESH_INTERVAL=1e11 passed validation, then is_cache_fresh() raised
    # OverflowError (timedelta). Every duration is bounded when it is read.
    with pytest.raises(ConfigError) as info:
        Settings.from_env({variable: "1e11"})
    assert info.value.variable == variable
    assert "at most" in str(info.value)


def test_the_longest_accepted_refresh_interval_works(tmp_path: Path) -> None:
    from leadcache import LeadCache
    from leadcache.settings import MAX_HOURS

    settings = Settings.from_env({"CACHE_REFRESH_INTERVAL": str(MAX_HOURS)})
    with LeadCache(tmp_path / "l.db", settings=settings) as cache:
        cache.store.set_meta("last_full_sync", "2026-01-01T00:00:00.000Z")
        assert cache.is_cache_fresh() is True


def test_choices_are_typed_and_each_default_is_declared_once() -> None:
    from typing import get_args

    from leadcache.settings import CONFLICT_POLICIES, ConflictPolicy

    assert get_args(ConflictPolicy) == CONFLICT_POLICIES
    defaults = {s.attr: s.default for s in SETTINGS}
    assert defaults["conflict_policy"] == Settings().conflict_policy == "airtable-wins"
    assert all(getattr(Settings(), name) == value for name, value in defaults.items())
