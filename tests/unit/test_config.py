"""Configuration: the example runs as is; a wrong key or value is refused by name."""

from __future__ import annotations

from pathlib import Path

import holidays
import pytest

from tests.conftest import EXAMPLE
from worker.config import DeadlineSettings, config_path, load_settings
from worker.core.categories import Kind
from worker.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_example_config_has_the_four_categories() -> None:
    s = load_settings(EXAMPLE)
    kinds = {name: c.kind for name, c in s.categories.items()}
    assert kinds == {
        "account": Kind.TRANSACTIONAL,
        "receipts": Kind.TRANSACTIONAL,
        "newsletter": Kind.PROMOTIONAL,
        "offers": Kind.PROMOTIONAL,
    }
    assert s.database.url == "sqlite:///var/optout.db"
    assert (s.http.host, s.http.port) == ("127.0.0.1", 8025)
    assert s.smtp is None


def test_environment_overrides_single_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTOUT_DATABASE__URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("OPTOUT_HTTP__PORT", "9000")
    s = load_settings(EXAMPLE)
    assert s.database.url == "postgresql+psycopg://u@h/db"
    assert s.http.port == 9000
    assert s.http.host == "127.0.0.1"  # the rest of the section is kept


def test_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"http\.prot: unknown key"):
        load_settings(write(tmp_path, "[http]\nprot = 1\n"))


def test_bad_values_are_all_reported_at_once(tmp_path: Path) -> None:
    text = (
        '[deadlines]\ntimezone = "Mars/Olympus"\n'
        '[categories.news]\nkind = "promo"\n'
        '[http]\nport = "x"\n'
    )
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path, text))
    message = str(exc.value)
    assert "deadlines.timezone" in message
    assert "categories.news.kind" in message
    assert "http.port" in message
    assert "\n" not in message


def test_unknown_holiday_country_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown holiday calendar 'XX'"):
        load_settings(write(tmp_path, '[deadlines]\ncountry = "XX"\n'))


def test_calendar_check_agrees_with_the_holidays_list(tmp_path: Path) -> None:
    """The check loads one calendar, not the library's full list (start-up time); it must
    take and refuse exactly what the list does: every country and subdivision code it
    names, alpha-3 codes included, and nothing else."""
    supported = holidays.list_supported_countries()
    for country, subdivisions in supported.items():
        DeadlineSettings(country=country)
        for sub in subdivisions:
            DeadlineSettings(country=country, subdivision=sub)
    for country, sub in [("XX", None), ("us", None), ("", None), ("US", "ZZ"), ("US", "Alaska"),
                         ("DE", "CA"), ("USA", "XX")]:  # fmt: skip
        listed = country in supported and (sub is None or sub in supported[country])
        assert not listed
        with pytest.raises(ValueError, match=r"unknown holiday calendar|is not in"):
            DeadlineSettings(country=country, subdivision=sub)


def test_reserved_category_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'all' is reserved"):
        load_settings(write(tmp_path, '[categories.all]\nkind = "promotional"\n'))


def test_source_kinds_are_validated(tmp_path: Path) -> None:
    text = '[[sources]]\nname = "x"\nkind = "imap"\nport = 993\n'
    with pytest.raises(ConfigError, match=r"sources\.0\.username: Field required"):
        load_settings(write(tmp_path, text))


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"c\.toml"):
        load_settings(write(tmp_path, "[http\n"))
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "missing.toml")


def test_config_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPTOUT_CONFIG", raising=False)
    assert config_path() == Path("config/optout.example.toml")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "optout.toml").write_text("")
    assert config_path() == Path("config/optout.toml")
    monkeypatch.setenv("OPTOUT_CONFIG", "other.toml")
    assert config_path() == Path("other.toml")
    assert config_path("explicit.toml") == Path("explicit.toml")


def test_token_keys_come_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(EXAMPLE)
    monkeypatch.delenv("OPTOUT_TOKEN_KEYS", raising=False)
    dev = s.token_keys()
    assert dev is not None
    assert "development" in dev.get_secret_value()
    assert "development" not in repr(dev)
    monkeypatch.setenv("OPTOUT_TOKEN_KEYS", "k1:secret-secret-secret")
    keys = s.token_keys()
    assert keys is not None
    assert keys.get_secret_value() == "k1:secret-secret-secret"


def test_soft_bounce_escalation_is_off_unless_configured(tmp_path: Path) -> None:
    assert load_settings(EXAMPLE).effects.soft_bounce_limit == 0
    on = load_settings(write(tmp_path, "[effects]\nsoft_bounce_limit = 5\nsoft_bounce_days = 30\n"))
    assert (on.effects.soft_bounce_limit, on.effects.soft_bounce_days) == (5, 30)
    with pytest.raises(ConfigError, match="soft_bounce_limit"):
        load_settings(write(tmp_path, "[effects]\nsoft_bounce_limit = -1\n"))


def test_our_own_addresses_come_from_the_configuration(tmp_path: Path) -> None:
    text = (
        '[intake]\nown_addresses = ["Returns@Shop.Example.com"]\n'
        '[smtp]\nfrom = "Shop <no-reply@shop.example.com>"\n'
        '[tokens]\nmailto_domain = "shop.example.com"\n'
        '[[sources]]\nname = "box"\nkind = "imap"\nusername = "unsubscribe-box@shop.example.com"\n'
        '[[sources]]\nname = "box2"\nkind = "imap"\nusername = "plainlogin"\n'
    )
    assert load_settings(write(tmp_path, text)).own_addresses() == {
        "returns@shop.example.com",
        "no-reply@shop.example.com",
        "unsubscribe@shop.example.com",
        "unsubscribe-box@shop.example.com",
    }
    with pytest.raises(ConfigError, match="own_addresses"):
        load_settings(write(tmp_path, '[intake]\nown_addresses = ["not an address"]\n'))
