"""Settings: one TOML file, ``OPTOUT_*`` environment overrides, secrets from named variables.

The whole file is validated at start and every bad key is reported in one line, so an
operator fixes a config in one round instead of one key per restart.
"""

from __future__ import annotations

import functools
import os
import tomllib
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from worker.core.addresses import normalise
from worker.core.categories import NAME_RE, RESERVED_NAMES, Categories, Category, Kind
from worker.core.deadlines import BusinessCalendar
from worker.errors import ConfigError, InvalidAddress

DEFAULT_CONFIG = Path("config/optout.toml")
EXAMPLE_CONFIG = Path("config/optout.example.toml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite:///var/optout.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        if not v.startswith(("sqlite:", "sqlite+pysqlite:", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return v


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8025, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8025"
    max_body_bytes: int = Field(1_048_576, ge=1024)

    @field_validator("public_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")


class TokenSettings(_Section):
    keys_env: str = "OPTOUT_TOKEN_KEYS"
    dev_keys: str | None = None  # only for the example config; never in production
    max_age_days: int | None = Field(None, ge=30)
    mailto_domain: str | None = None
    mailto_local: str = "unsubscribe"


class DeadlineSettings(_Section):
    business_days: int = Field(10, ge=1, le=60)
    country: str = "US"
    subdivision: str | None = None
    timezone: str = "America/New_York"
    warn_before_business_days: int = Field(2, ge=0, le=30)
    privacy_days: int = Field(45, ge=1, le=365)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}") from None
        return v

    @model_validator(mode="after")
    def _calendar(self) -> DeadlineSettings:
        # the codes from the library's registry, not holidays.list_supported_countries():
        # that imports all 250 country modules (as building any one calendar does),
        # 50-75 ms of every `optout` command's start; a subdivision needs its calendar.
        # Same answers (a test checks every country and subdivision the list names)
        if self.country not in _country_codes():
            raise ValueError(f"country: unknown holiday calendar {self.country!r}")
        if self.subdivision is not None and self.subdivision not in (
            holidays_lib.country_holidays(self.country).subdivisions
        ):
            raise ValueError(f"subdivision: {self.subdivision!r} is not in {self.country}")
        return self


@functools.cache
def _country_codes() -> frozenset[str]:
    """The alpha-2 and alpha-3 codes holidays has a calendar for, without importing them."""
    try:
        from holidays.registry import COUNTRIES

        return frozenset(
            code
            for _cls, *codes in COUNTRIES.values()
            for code in codes
            if code.isupper() and len(code) in (2, 3)
        )
    except (ImportError, AttributeError, TypeError, ValueError):  # another layout
        return frozenset(holidays_lib.list_supported_countries())


class CategorySettings(_Section):
    kind: Kind
    description: str = ""


class EffectSettings(_Section):
    """What machine reports do; ``every`` also stops transactional mail."""

    hard_bounce: str = "every"
    complaint: str = "all"
    #: soft bounces as full or disabled after which a mailbox gets the hard-bounce
    #: effect (0: never), once the first of them is ``soft_bounce_days`` old
    soft_bounce_limit: int = Field(0, ge=0, le=1000)
    soft_bounce_days: int = Field(14, ge=0, le=3650)


class ImapSource(_Section):
    name: str
    kind: Literal["imap"]
    host: str = "127.0.0.1"
    port: int = Field(993, ge=1, le=65535)
    tls: Literal["ssl", "starttls", "none"] = "ssl"
    username: str
    password_env: str = "OPTOUT_IMAP_PASSWORD"
    mailbox: str = "INBOX"
    processed_mailbox: str = "optout/processed"
    review_mailbox: str = "optout/review"
    interval_seconds: int = Field(60, ge=1)
    idle: bool = True
    batch_size: int = Field(50, ge=1, le=100)  # messages per FETCH command


class MaildirSource(_Section):
    name: str
    kind: Literal["maildir"]
    path: Path = Path("var/inbox")
    processed_folder: str = "processed"
    review_folder: str = "review"
    interval_seconds: int = Field(60, ge=1)


class LinklogSource(_Section):
    name: str
    kind: Literal["linklog"]
    path: Path
    format: Literal["combined", "json"] = "combined"
    accept_get: bool = False
    interval_seconds: int = Field(60, ge=1)


SourceSettings = Annotated[ImapSource | MaildirSource | LinklogSource, Field(discriminator="kind")]


class SmtpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(587, ge=1, le=65535)
    tls: Literal["ssl", "starttls", "none"] = "starttls"
    username: str | None = None
    password_env: str = "OPTOUT_SMTP_PASSWORD"
    from_: str = Field("optout <no-reply@localhost>", alias="from")
    alerts_to: str | None = None
    timeout_seconds: float = Field(30.0, gt=0)


class ConfirmationSettings(_Section):
    enabled: bool = True


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class RetentionSettings(_Section):
    raw_days: int = Field(30, ge=1)


class MonitorSettings(_Section):
    interval_seconds: int = Field(300, ge=1)


class IntakeSettings(_Section):
    """How inbound mail is classified: ``workers`` processes beside the event loop
    (unset: one per core but one, at least one; 0: in a thread of the daemon itself)."""

    workers: int | None = Field(None, ge=0, le=64)
    #: addresses of ours besides those the configuration names (SMTP from, the
    #: List-Unsubscribe mailto, IMAP logins): never a bounce's failed recipient or a
    #: complainant, whatever a report repeats of our own mail
    own_addresses: list[str] = Field(default_factory=list)

    @field_validator("own_addresses")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        out = []
        for value in values:
            try:
                out.append(normalise(value))
            except InvalidAddress as exc:
                raise ValueError(f"not an e-mail address: {value!r} ({exc})") from None
        return out


class ApiSettings(_Section):
    max_bulk_addresses: int = Field(100_000, ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OPTOUT_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        populate_by_name=True,
    )

    database: DatabaseSettings = DatabaseSettings()
    http: HttpSettings = HttpSettings()
    tokens: TokenSettings = TokenSettings()
    deadlines: DeadlineSettings = DeadlineSettings()
    categories: dict[str, CategorySettings] = Field(default_factory=dict)
    effects: EffectSettings = EffectSettings()
    sources: list[SourceSettings] = Field(default_factory=list)
    smtp: SmtpSettings | None = None
    confirmations: ConfirmationSettings = ConfirmationSettings()
    logging: LoggingSettings = LoggingSettings()
    retention: RetentionSettings = RetentionSettings()
    monitor: MonitorSettings = MonitorSettings()
    api: ApiSettings = ApiSettings()
    intake: IntakeSettings = IntakeSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file arrives as init kwargs; the environment must win over it.
        return (env_settings, init_settings)

    @field_validator("categories")
    @classmethod
    def _category_names(cls, v: dict[str, CategorySettings]) -> dict[str, CategorySettings]:
        for name in v:
            if name in RESERVED_NAMES:
                raise ValueError(f"{name!r} is reserved (it names a scope)")
            if not NAME_RE.fullmatch(name):
                raise ValueError(f"{name!r}: use lower-case letters, digits, '-', '_', '.'")
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"sources: duplicate name {', '.join(dupes)}")
        cats = self.category_set()
        for key in ("hard_bounce", "complaint"):
            scope = getattr(self.effects, key)
            if scope not in RESERVED_NAMES and scope not in cats:
                raise ValueError(f"effects.{key}: unknown category {scope!r}")
        return self

    # -- derived objects -------------------------------------------------------------
    def own_addresses(self) -> frozenset[str]:
        """Our own addresses: ``[intake] own_addresses`` and those this configuration
        sends from (SMTP ``from``, the List-Unsubscribe mailto) or reads (IMAP logins)."""
        found = list(self.intake.own_addresses)
        if self.smtp is not None:
            found.append(parseaddr(self.smtp.from_)[1])
        if self.tokens.mailto_domain:
            found.append(f"{self.tokens.mailto_local}@{self.tokens.mailto_domain}")
        found += [s.username for s in self.sources if isinstance(s, ImapSource)]
        out = set()
        for value in found:
            # a login that is no address ("newsletter") is skipped before normalise,
            # which refuses it only after importing email_validator (15-35 ms of every
            # `optout poll`'s start)
            if "@" not in value:
                continue
            try:
                out.add(normalise(value))
            except InvalidAddress:
                continue  # a login that is no address ("newsletter"), a bare "localhost"
        return frozenset(out)

    def category_set(self) -> Categories:
        return Categories(
            Category(name, c.kind, c.description) for name, c in self.categories.items()
        )

    def calendar(self) -> BusinessCalendar:
        d = self.deadlines
        return BusinessCalendar(d.country, d.subdivision, d.timezone)

    def token_keys(self) -> SecretStr | None:
        """The key ring: from the variable ``tokens.keys_env`` names, else the dev keys."""
        value = os.environ.get(self.tokens.keys_env) or self.tokens.dev_keys
        return SecretStr(value) if value else None


def mailbox_entries(
    settings: Settings, only: str | None = None
) -> list[ImapSource | MaildirSource]:
    entries = [s for s in settings.sources if isinstance(s, ImapSource | MaildirSource)]
    if only is not None:
        entries = [s for s in entries if s.name == only]
        if not entries and not any(s.name == only for s in settings.sources):
            names = ", ".join(s.name for s in settings.sources) or "none"
            raise ConfigError(f"no source named {only!r} (configured: {names})")
    return entries


def secret_from_env(var: str) -> SecretStr | None:
    value = os.environ.get(var)
    return SecretStr(value) if value else None


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("OPTOUT_CONFIG")
    if env:
        return Path(env)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else EXAMPLE_CONFIG


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate the configuration; raise :class:`ConfigError` naming every bad key."""
    file = config_path(path)
    try:
        data: dict[str, Any] = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(f"{file}: {format_validation_error(exc)}") from None


def format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not _is_union_tag(p))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{loc or '(top)'}: {msg}")
    return "; ".join(parts)


def _is_union_tag(part: object) -> bool:
    return part in ("imap", "maildir", "linklog")
