"""Settings: one validated pydantic-settings class, environment prefix ``BOOMERANG_``."""

from __future__ import annotations

import os
import re
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from boomerang.errors import ConfigError

WEAK_SECRETS = frozenset(
    {"changeme", "change-me", "secret", "password", "boomerang", "dev", "test"}
)
MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class SmtpSecurity(StrEnum):
    none = "none"
    starttls = "starttls"
    tls = "tls"


class Settings(BaseSettings):
    """Every setting Boomerang reads; each one is documented in the README."""

    model_config = SettingsConfigDict(env_prefix="BOOMERANG_", extra="ignore")

    env: Environment = Field(
        default=Environment.development,
        description="development, test or production; production refuses unsafe defaults.",
    )
    data_dir: Path = Field(
        default=Path("./var"),
        description="Directory holding every embedded file (SQLite database, event Parquet, "
        "secret key).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the operational store; default a SQLite file in the data "
        "dir. PostgreSQL: postgresql+psycopg://user:pass@host/db.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs session cookies, CSRF tokens and emailed links; 32+ characters in "
        "every environment. Generated and kept in the data dir when unset (not allowed in "
        "production).",
    )
    host: str = Field(default="127.0.0.1", description="Address `boomerang serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `boomerang serve` uses.")
    session_max_age: int = Field(
        default=12 * 3600,
        ge=60,
        description="Seconds a UI login lasts at most, however active (the absolute timeout).",
    )
    session_idle_timeout: int = Field(
        default=2 * 3600,
        ge=60,
        description="Seconds without a request after which a UI login ends (the idle timeout).",
    )
    login_failures_per_account: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Failed logins to one email (within 15 minutes of each other) after which "
        "each further attempt must wait, twice as long each time; twice as many lock the "
        "email for BOOMERANG_LOGIN_LOCK_MINUTES and email its user.",
    )
    login_failures_per_address: int = Field(
        default=20,
        ge=1,
        le=10000,
        description="The same limit per client address, whatever the emails tried (and for "
        "API requests with a wrong bearer token).",
    )
    login_lock_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="Minutes an email or an address stays locked after too many failed logins.",
    )
    log_level: str = Field(default="info", description="Server log level.")
    ingest_flush_seconds: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="How often the server moves accepted tracking events from the durable "
        "inbox to the event store and applies identify/group/alias to contacts and accounts.",
    )
    ingest_max_pending: int = Field(
        default=200_000,
        ge=1000,
        description="Accepted events waiting in the inbox above which the tracking API answers "
        "429 with Retry-After instead of accepting more.",
    )
    ingest_dedup_hours: int = Field(
        default=72,
        ge=24,
        description="Hours a tracking messageId is remembered, so that client retries are "
        "stored once (across restarts).",
    )

    scorecards_dir: Path | None = Field(
        default=None,
        description="A directory of scorecard YAML files (for example in your git); empty: "
        "the scorecard shipped with Boomerang.",
    )
    health_schedule: bool = Field(
        default=True,
        description="Whether the server runs the scheduler, which queues periodic work: the "
        "day's health (with vectors), segments and journey once a day (and at start when the "
        "day's scores are missing), and every other periodic job.",
    )
    worker_in_server: bool = Field(
        default=True,
        description="Whether the server runs a worker thread that runs queued jobs; false when "
        "separate `boomerang worker` processes do the work.",
    )
    health_hour: int = Field(
        default=2,
        ge=0,
        le=23,
        description="UTC hour from which the day's health computation is due.",
    )
    reporting_currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description="The currency revenue metrics are reported in (ISO 4217); other "
        "currencies convert at the rates of `boomerang fx`.",
    )
    chat_webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description="The Slack-compatible incoming webhook that playbook chat steps post to "
        "when the step gives no url.",
    )
    outbound_allow: str = Field(
        default="",
        description="Hosts, addresses and networks (CIDR) that webhooks and chat steps may "
        "send to although they are not public, comma separated: 127.0.0.1,10.0.0.0/8,"
        "hooks.internal. Empty: public addresses only.",
    )
    playbooks_dir: Path | None = Field(
        default=None,
        description="A directory of playbook YAML files (for example in your git); empty: "
        "the playbooks shipped with Boomerang.",
    )
    clv_discount_rate: float = Field(
        default=0.10,
        gt=0,
        le=1,
        description="Yearly discount rate of account lifetime values (0.10 = 10%).",
    )
    churn_horizon_days: int = Field(
        default=90,
        ge=7,
        le=730,
        description="The churn risk model predicts churn or contraction within this many days.",
    )
    expansion_seat_utilisation: float = Field(
        default=0.8,
        gt=0,
        le=2,
        description="Active users per seat (30 days) from which an account gets a seat "
        "expansion opportunity.",
    )
    advocacy_cooldown_days: int = Field(
        default=90,
        ge=1,
        le=730,
        description="Days after an advocacy ask before the same contact may be asked again.",
    )

    public_url: str | None = Field(
        default=None,
        description="The address people reach Boomerang at, used in links sent by email "
        "(unsubscribe); empty: http://BOOMERANG_HOST:BOOMERANG_PORT.",
    )
    smtp_host: str = Field(default="localhost", description="SMTP server email is sent through.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP server port.")
    smtp_security: SmtpSecurity = Field(
        default=SmtpSecurity.none,
        description="none, starttls (upgrade a plain connection, usually port 587) or tls "
        "(implicit TLS, usually port 465).",
    )
    smtp_username: str | None = Field(
        default=None, description="SMTP login; empty: no authentication."
    )
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    email_from: str = Field(
        default="boomerang@localhost",
        pattern=r"^[^@\s<>]+@[^@\s<>]+$",
        description="Sender address of customer email (the display name is the account "
        "owner's); also the envelope sender that receives bounces.",
    )
    email_cap_per_contact: int = Field(
        default=3,
        ge=1,
        description="At most this many emails to one contact per BOOMERANG_EMAIL_CAP_DAYS, "
        "across every playbook and source (sent plus waiting to be sent).",
    )
    email_cap_days: int = Field(
        default=7, ge=1, le=365, description="The window of the per-contact email cap, in days."
    )
    digest_hour: int = Field(
        default=7,
        ge=0,
        le=23,
        description="Hour (UTC) from which the daily job sends value digests due (weekly ones "
        "for the last Monday-Sunday week, monthly ones for the last calendar month) and "
        "refreshes success plan KPIs bound to measures or value metrics.",
    )
    plan_link_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Days a shared (read-only, signed) success plan link stays valid.",
    )

    events_source: str | None = Field(
        default=None,
        description="Warehouse mode: read events from an existing table instead of the "
        "embedded store. A DuckDB file (duckdb:///path/to/file.duckdb), PostgreSQL "
        "(postgresql://user:password@host:5432/db), or the URL of another installed Ibis "
        "backend. Empty: the embedded store.",
    )
    events_table: str = Field(
        default="events",
        description="Warehouse mode: the events table (or view), optionally schema.table.",
    )
    events_columns: str | None = Field(
        default=None,
        description="Warehouse mode: which column holds each field, as field=column pairs: "
        "account_id, user_id, event, timestamp (required), properties (optional). "
        "Unlisted fields read the column of the same name.",
    )
    company_name: str = Field(
        default="Boomerang",
        min_length=1,
        max_length=100,
        description="Your company's name, printed on customer-facing documents such as "
        "business review decks.",
    )
    review_cadence: str = Field(
        default="enterprise=3,*=12",
        description="Business review cadence in months (1, 3, 6 or 12) by account tier or "
        "segment name, as key=months pairs; `*` is everyone else. An account in several "
        "takes the most frequent.",
    )
    review_due_days: int = Field(
        default=30,
        ge=1,
        le=180,
        description="Days after the end of the period under review by which the external "
        "business review meeting is due (the internal review a week before).",
    )

    @field_validator("events_source")
    @classmethod
    def _known_source(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not re.fullmatch(r"[a-z][a-z0-9+]*://.*", value):
            raise ValueError(
                "must be a URL: duckdb:///path/to/file.duckdb, "
                "postgresql://user@host:5432/db, or another Ibis backend's URL"
            )
        if value.startswith("duckdb://") and not value.removeprefix("duckdb://").strip("/"):
            raise ValueError("duckdb:// needs a file path: duckdb:///path/to/file.duckdb")
        return value

    @field_validator("outbound_allow")
    @classmethod
    def _outbound_allow(cls, value: str) -> str:
        from boomerang.egress import allow_list

        allow_list(value)
        return value.strip()

    @field_validator("events_table")
    @classmethod
    def _table_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?", value):
            raise ValueError(f"{value!r} is not a table name (name or schema.name)")
        return value

    @field_validator("review_cadence")
    @classmethod
    def _review_cadence(cls, value: str) -> str:
        parse_review_cadence(value)
        return value

    @field_validator("events_columns")
    @classmethod
    def _column_mapping(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_event_columns(value)
        return value

    @property
    def event_columns(self) -> dict[str, str]:
        """Warehouse field -> column, every field present."""
        return parse_event_columns(self.events_columns or "")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        levels = {"critical", "error", "warning", "info", "debug", "trace"}
        if value.lower() not in levels:
            raise ValueError(f"must be one of {', '.join(sorted(levels))}")
        return value.lower()

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not (value.startswith("sqlite") or value.startswith("postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        if self.env is Environment.production:
            key = self.secret_key
            if not key:
                raise ValueError("BOOMERANG_SECRET_KEY is required when BOOMERANG_ENV=production")
            if len(key) < MIN_SECRET_LENGTH or key.lower() in WEAK_SECRETS or len(set(key)) < 8:
                raise ValueError(
                    f"BOOMERANG_SECRET_KEY is too weak for production: use {MIN_SECRET_LENGTH}+ "
                    "random characters (python -c 'import secrets; print(secrets.token_urlsafe())')"
                )
        if self.secret_key is not None and _key_bytes(self.secret_key) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"BOOMERANG_SECRET_KEY is too short ({_key_bytes(self.secret_key)} bytes): a "
                f"signing key needs {MIN_SECRET_LENGTH}+ random characters (python -c 'import "
                "secrets; print(secrets.token_urlsafe())'), or unset it to have one generated "
                "in the data dir"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The operational store URL, defaulting to a SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'boomerang.sqlite3').resolve()}"

    @property
    def public_base_url(self) -> str:
        """Where people reach the web app, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def events_dir(self) -> Path:
        """Where the embedded event store keeps its Parquet files."""
        return self.data_dir / "events"

    @property
    def inbox_path(self) -> Path:
        """The tracking API's durable inbox (a SQLite file), see ``boomerang.ingest.inbox``."""
        return self.data_dir / "ingest" / "inbox.sqlite3"

    def resolved_secret_key(self) -> str:
        """The configured key, or the one generated once and kept in the data dir."""
        if self.secret_key is not None:  # checked by the validator
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            key = path.read_text().strip()
            if _key_bytes(key) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    f"the secret key in {path} is too short ({_key_bytes(key)} bytes): a "
                    f"signing key needs {MIN_SECRET_LENGTH}+ random characters. Delete the file "
                    "to have a new one generated (logins and signed links made with it stop "
                    "working), or set BOOMERANG_SECRET_KEY"
                )
            return key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key


def _key_bytes(key: str) -> int:
    """A signing key's length as the signer sees it: UTF-8 bytes, surrounding blanks ignored."""
    return len(key.strip().encode())


EVENT_FIELDS = ("account_id", "user_id", "event", "timestamp", "properties")


def parse_event_columns(text: str) -> dict[str, str]:
    """``"account_id=org_id,timestamp=ts"`` -> every field's column; ValueError naming the item."""
    mapping = {name: name for name in EVENT_FIELDS}
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        field, sep, column = (part.strip() for part in item.partition("="))
        if not sep or not field or not column:
            raise ValueError(f"{item!r} is not field=column")
        if field not in EVENT_FIELDS:
            raise ValueError(f"{field!r} is not one of {', '.join(EVENT_FIELDS)}")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", column):
            raise ValueError(f"{column!r} is not a column name")
        mapping[field] = column
    return mapping


REVIEW_CADENCE_MONTHS = (1, 3, 6, 12)


def parse_review_cadence(text: str) -> dict[str, int]:
    """``"enterprise=3,*=12"`` -> months by tier or segment name; ValueError naming the item."""
    cadence: dict[str, int] = {}
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        key, sep, months = (part.strip() for part in item.rpartition("="))
        if not sep or not key or not months:
            raise ValueError(f"{item!r} is not tier=months")
        if not months.isdigit() or int(months) not in REVIEW_CADENCE_MONTHS:
            raise ValueError(f"{item!r}: months must be one of 1, 3, 6, 12")
        if key in cadence:
            raise ValueError(f"{key!r} is listed twice")
        cadence[key] = int(months)
    return cadence


def load_settings() -> Settings:
    """Read and validate settings from the environment, raising ConfigError on bad values."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            (f"BOOMERANG_{'_'.join(str(p) for p in err['loc']).upper()}: " if err["loc"] else "")
            + err["msg"].removeprefix("Value error, ")
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return load_settings()
