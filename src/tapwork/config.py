"""One `Settings` for the whole service, read from the environment.

Names follow the deployment seed (`DATABASE_URL`, `JWT_SECRET`, `SMTP_HOST`, `SMTP_PORT`).
Every secret may also come from a file named by `<NAME>_FILE` (Kubernetes secrets mounted as
files). In production the service refuses to start with a missing or placeholder secret.
"""

from __future__ import annotations

import os
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SECRET_FIELDS = (
    "jwt_secret",
    "badge_secret",
    "smtp_password",
    "biometric_key",
    "biometric_previous_keys",
    "biometric_secret",
)
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "secret",
        "your_jwt_secret",
        "your-jwt-secret",
        "dev",
        "development",
        "dev-insecure-secret",
        "please-change-me",
    }
)
MIN_SECRET_LENGTH = 32
DEV_SECRET = "dev-insecure-secret"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Pooler(StrEnum):
    """What sits between the service and PostgreSQL (`DATABASE_POOLER`)."""

    NONE = "none"
    SESSION = "session"
    # PgBouncer `pool_mode = transaction` (CloudNativePG's Pooler default): consecutive
    # transactions of one client connection may run on different server connections, so
    # nothing may outlive a transaction: no prepared statements, no LISTEN, no session SET.
    TRANSACTION = "transaction"


class InsecureSettings(RuntimeError):
    """Raised at start-up when production settings are unsafe; the message names the setting."""


def _read_secret_files(values: dict[str, Any]) -> dict[str, Any]:
    for name in SECRET_FIELDS:
        file_var = f"{name.upper()}_FILE"
        path = values.pop(f"{name}_file", None) or os.environ.get(file_var)
        if path and not values.get(name):
            values[name] = Path(path).read_text(encoding="utf-8").strip()
    return values


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SCHEDULE_MAX_STEPS = 50
SCHEDULE_MAX_DELAY_SECONDS = 7 * 86400


def parse_schedule(value: str) -> list[int]:
    """`OUTBOX_RETRY_SCHEDULE`: comma-separated delays such as `30s,5m,1h,1d`, in seconds.
    Raises ValueError naming the setting and the bad step (pydantic reports it at start)."""
    steps: list[int] = []
    for raw in value.split(","):
        step = raw.strip().lower()
        if not step and not value.strip():
            continue
        number, unit = step[:-1], step[-1:]
        if unit not in _UNITS or not number.isascii() or not number.isdigit():
            raise ValueError(
                f"OUTBOX_RETRY_SCHEDULE: {raw.strip()!r} is not a delay like 30s, 5m, 1h or 1d "
                f"(a comma-separated list, e.g. 1m,5m,15m,1h,3h,6h)"
            )
        seconds = int(number) * _UNITS[unit]
        if not 1 <= seconds <= SCHEDULE_MAX_DELAY_SECONDS:
            raise ValueError(f"OUTBOX_RETRY_SCHEDULE: {raw.strip()!r} must be between 1s and 7d")
        steps.append(seconds)
    if len(steps) > SCHEDULE_MAX_STEPS:
        raise ValueError(f"OUTBOX_RETRY_SCHEDULE: at most {SCHEDULE_MAX_STEPS} delays")
    return steps


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Environment = Field(Environment.DEVELOPMENT, alias="TAPWORK_ENV")
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/tapwork"
    database_pool_size: int = 10
    database_pooler: Pooler = Pooler.NONE
    jwt_secret: SecretStr = SecretStr("")
    badge_secret: SecretStr = SecretStr("")
    biometric_key: SecretStr = SecretStr("")
    # Keys that sealed older templates, comma-separated: read only, re-sealed on next use.
    biometric_previous_keys: SecretStr = SecretStr("")
    # Shared secret the API presents to the biometric service (and the service checks).
    biometric_secret: SecretStr = SecretStr("")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "TAPWORK <no-reply@tapwork.local>"
    # Printed on reports (PDF title, XLSX particulars) and scheduled-report mail.
    organisation_name: str = "TAPWORK"
    # An XLSX or PDF report above this many rows is computed by the worker (202 + an export)
    # instead of in the request; CSV always streams. Export files are kept this many hours.
    report_inline_rows: int = Field(default=20_000, ge=0)
    report_export_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)

    # Where links in emails point (the portal) and which browser origins may call the API.
    public_url: str = "http://localhost:3000"
    api_url: str = "http://localhost:8000"
    cors_origins: Annotated[list[str], NoDecode] = [
        "http://localhost:3000",
        "http://127.0.0.1:3000",
    ]
    max_body_bytes: int = 1_048_576
    max_import_bytes: int = 5_242_880

    access_token_minutes: int = 15
    refresh_token_days: int = 30
    verify_token_hours: int = 48
    reset_token_minutes: int = 60
    invite_token_hours: int = 168
    registration_enabled: bool = True
    # argon2id cost; tests lower it, production keeps the library defaults.
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    password_min_length: int = 12
    password_max_length: int = 128

    rate_limit_auth_per_minute: int = 5
    # Sign-in (auth/throttle.py, decision 0007): every attempt per client address a minute
    # (each costs an argon2 hash), and waits after failed ones only: free failures per account
    # from one client, per client over all accounts, per account from anywhere; then a wait of
    # the base, doubling per failure up to the max; counters forget after a quiet window.
    rate_limit_login_per_minute: int = Field(default=60, ge=1)
    login_free_failures_per_pair: int = Field(default=5, ge=1)
    login_free_failures_per_client: int = Field(default=30, ge=1)
    login_free_failures_per_account: int = Field(default=10, ge=1)
    login_backoff_base_seconds: int = Field(default=30, ge=1)
    login_backoff_max_seconds: int = Field(default=900, ge=1)
    login_failure_window_minutes: int = Field(default=15, ge=1)
    rate_limit_scan_per_badge_per_minute: int = 10
    rate_limit_scan_per_kiosk_per_minute: int = 600
    rate_limit_general_per_minute: int = 100
    rate_limit_reports_per_hour: int = 10

    scan_debounce_seconds: int = 5
    # Group commit: scans arriving while a batch is in flight share the next one (one
    # transaction), up to this many, on at most this many connections per API process.
    scan_batch_max: int = Field(default=64, ge=1, le=500)
    scan_batch_connections: int = Field(default=1, ge=1, le=32)
    min_rest_minutes: int = 60
    offline_max_age_hours: int = 72
    offline_future_skew_seconds: int = 120
    missing_clockout_hours: int = 4
    # Badges issued from now on expire after this many days; 0 = never.
    badge_valid_days: int = 0
    # Kiosk pairing codes are short-lived one-time secrets typed by an admin.
    kiosk_pairing_minutes: int = 15
    rate_limit_kiosk_pair_per_minute: int = 10
    # A paired kiosk not heard from (scan or the app's 5-minute refresh) for this long while
    # its location is open raises a `kiosk.silent` incident. Under 6 minutes a healthy idle
    # kiosk between two refreshes would look silent.
    kiosk_silent_minutes: int = Field(default=15, ge=6, le=1440)

    outbox_max_attempts: int = 8
    outbox_poll_seconds: float = 1.0
    outbox_batch_size: int = 50
    # A claimed mail belongs to its worker this long; after it, another worker may retry it.
    outbox_lease_seconds: int = 300
    outbox_retry_base_seconds: int = 30
    outbox_retry_max_seconds: int = 3600
    # The delays between attempts, spelled out ("1m,5m,15m,1h,3h,6h"), to ride out a relay
    # that is down for hours; replaces base/max doubling. Stored in seconds.
    outbox_retry_schedule: Annotated[list[int], NoDecode] = []
    outbox_retention_days: int = 90
    # SMTP connections each worker sends over at once; a remote relay's round trips, not CPU,
    # bound one connection.
    outbox_connections: int = 2
    # How long `tapwork worker` keeps retrying an unreachable database (restart, failover)
    # before it exits with code 1 for its supervisor to restart it.
    worker_give_up_seconds: float = 600.0

    # Prometheus scrape endpoint of `tapwork api` and `tapwork worker` (0 = none); a port of
    # its own, so the public API port (and any ingress in front of it) never serves metrics.
    metrics_port: int = Field(default=9100, ge=0, le=65535)
    metrics_host: str = "0.0.0.0"  # noqa: S104 - scraped over the pod network

    # On SIGTERM the API answers /ready 503 this long before it stops accepting (a load
    # balancer's readiness period plus margin); in-flight requests then get up to
    # shutdown_timeout_seconds. Unset: 5 s in production, 0 elsewhere (Ctrl-C stays instant).
    shutdown_drain_seconds: float | None = Field(default=None, ge=0, le=300)
    shutdown_timeout_seconds: int = Field(default=25, ge=1, le=600)
    # The interactive API docs (/docs, /redoc): "on" or "off"; unset, on except in production.
    # /openapi.json stays public either way (clients and schema tools read it).
    api_docs: bool | None = None

    # Face verification at the kiosk (issue 16): off unless this is set.
    biometric_enabled: bool = False
    biometric_url: str = "http://127.0.0.1:8100"
    # The scan waits at most this long for the service, then proceeds on the badge alone.
    biometric_timeout_seconds: float = Field(default=1.5, gt=0, le=10)
    # Euclidean distance between dlib descriptors at or under which two faces match.
    biometric_threshold: float = Field(default=0.5, gt=0, lt=2)
    # Templates unused for this long are deleted (BIPA allows at most three years).
    biometric_retention_days: int = Field(default=365, ge=1, le=1095)

    log_level: str = "INFO"
    log_json: bool = True
    # One ECS line per request (probes at debug); off only to trade the audit trail for speed.
    log_requests: bool = True
    frontend_dist: str = ""

    @model_validator(mode="before")
    @classmethod
    def _secret_files(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return _read_secret_files(values)
        return values

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        # The seed writes plain postgresql:// URLs; one driver (psycopg 3) serves everything.
        for prefix in ("postgresql://", "postgres://", "postgresql+asyncpg://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @field_validator("outbox_retry_schedule", mode="before")
    @classmethod
    def _parse_schedule(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_schedule(value)
        return value

    @model_validator(mode="after")
    def _attempts_from_schedule(self) -> Settings:
        # "1m,5m,1h" means four attempts unless OUTBOX_MAX_ATTEMPTS says otherwise (then the
        # last delay repeats, or the schedule is cut short).
        if self.outbox_retry_schedule and "outbox_max_attempts" not in self.model_fields_set:
            self.outbox_max_attempts = len(self.outbox_retry_schedule) + 1
        return self

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.shutdown_drain_seconds is None:
            self.shutdown_drain_seconds = 5.0 if self.is_production else 0.0
        if self.environment is not Environment.PRODUCTION:
            for name in ("jwt_secret", "badge_secret", "biometric_key", "biometric_secret"):
                if not getattr(self, name).get_secret_value():
                    setattr(self, name, SecretStr(f"{DEV_SECRET}-{name}-not-for-production"))
            return self
        required = ["jwt_secret", "badge_secret"]
        if self.biometric_enabled:  # the key is the face service's alone (ServiceSettings)
            required.append("biometric_secret")
        for name in required:
            value = getattr(self, name).get_secret_value()
            env_name = name.upper()
            if not value:
                raise InsecureSettings(f"{env_name} (or {env_name}_FILE) must be set in production")
            if value.lower() in PLACEHOLDER_SECRETS or value.startswith(DEV_SECRET):
                raise InsecureSettings(f"{env_name} is a placeholder value; set a real secret")
            if len(value) < MIN_SECRET_LENGTH:
                raise InsecureSettings(
                    f"{env_name} is too short: use at least {MIN_SECRET_LENGTH} characters"
                )
        if "*" in self.cors_origins:
            raise InsecureSettings("CORS_ORIGINS must list origins explicitly in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def behind_transaction_pooler(self) -> bool:
        return self.database_pooler == Pooler.TRANSACTION

    @property
    def psycopg_options(self) -> dict[str, Any]:
        """Connection options for every psycopg connection the service opens. Behind a
        transaction pooler psycopg must not prepare statements on its own (after 5 runs of a
        query it would, and the next transaction may land on a server that lacks them)."""
        return {"prepare_threshold": None} if self.behind_transaction_pooler else {}

    @property
    def docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else not self.is_production

    @cached_property
    def libpq_url(self) -> str:
        """The database URL without the SQLAlchemy driver suffix (for psycopg and procrastinate)."""
        return self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
