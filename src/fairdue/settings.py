"""Typed settings, read once at start-up from the environment or a settings file.

Names are the contract in docs/interfaces: FAIRDUE_DATABASE_URL, FAIRDUE_PROFILE, ...
A settings file (YAML, named by FAIRDUE_CONFIG) gives the same keys in lower case without
the prefix; the environment wins over the file, and a command-line flag over both.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from fairdue.domain.delinquency import DEFAULT_BUCKETS, BucketTable
from fairdue.domain.ledger import DEFAULT_ALLOCATION_ORDER, parse_allocation_order
from fairdue.errors import ConfigurationError, InvalidInput

DEFAULT_DATABASE_URL = "sqlite:///fairdue.db"


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    profile: str = "cn"
    policy: str | None = None
    sms_url: str = "file://./outbox"
    email_url: str = "file://./outbox"
    push_url: str = "file://./outbox"
    key_file: str | None = Field(
        default=None,
        description="PII and signing keys; default: beside the SQLite file, else ./fairdue.key",
    )
    lender_timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    grace_days: int = Field(default=0, ge=0, le=60)
    buckets: str = DEFAULT_BUCKETS.describe()
    allocation_order: str = ",".join(c.value for c in DEFAULT_ALLOCATION_ORDER)
    run_partitions: int = Field(default=8, ge=1, le=256)
    sms_rate: float | None = Field(default=None, gt=0, description="SMS per second, at most")
    email_rate: float | None = Field(default=None, gt=0, description="emails per second")
    push_rate: float | None = Field(default=None, gt=0, description="pushes per second")
    max_send_attempts: int = Field(default=5, ge=1, le=50)
    send_time: str = Field(
        default="09:00",
        description="local time (HH:MM) the day's messages and call tasks are scheduled for",
    )
    # What every message to a borrower tells them (docs/templates.md): who writes, how to
    # repay, how to check that a collector or a message is real (S12). Placeholders: set them.
    lender_name: str = Field(default="fairdue", min_length=1)
    app_name: str = Field(default="fairdue", min_length=1)
    hotline: str = Field(default="400-000-0000", min_length=1)
    verify_hotline: str = Field(default="400-000-0001", min_length=1)
    bank_account_name: str = Field(default="fairdue", min_length=1)
    bank_account: str = Field(default="6222 0000 0000 0000 000", min_length=1)
    opt_out_text: str | None = Field(
        default=None, description="opt-out line (US-08); default: the template language's own")
    template_dir: str | None = Field(
        default=None, description="message templates folder; default: the built-in templates")
    sms_max_segments: int = Field(default=3, ge=1, le=10)
    # Promises to pay (docs/strategy.md): how late and how short a payment may be and still
    # keep a promise, and how far ahead a promise may fall due.
    promise_tolerance_days: int = Field(default=1, ge=0, le=31)
    promise_tolerance_amount: str = Field(
        default="1.00", description="shortfall still counted as kept, in the case's currency")
    promise_max_days: int = Field(default=30, ge=0, le=366)
    # Shared secrets of the HTTP API (docs/api.md); SecretStr, so never shown in a repr or log.
    receipt_token: SecretStr | None = Field(
        default=None, description="gateways' token for POST /api/v1/receipts/...; unset: open")
    api_token: SecretStr | None = Field(
        default=None, description="integrations' bearer token (dialers); unset: the API refuses")

    @field_validator("lender_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Asia/Shanghai") from None
        return value

    @field_validator("send_time")
    @classmethod
    def _send_time(cls, value: str) -> str:
        try:
            time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day such as 09:00") from None
        return value

    @field_validator("receipt_token", "api_token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        if value == "":
            return None  # FAIRDUE_API_TOKEN= (empty) means unset
        if isinstance(value, str) and len(value) < 16:
            raise ValueError("a token must be at least 16 characters; make one with "
                             "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
        return value

    @field_validator("promise_tolerance_amount")
    @classmethod
    def _promise_tolerance_amount(cls, value: str) -> str:
        from decimal import Decimal, InvalidOperation

        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal amount such as 1.00") from None
        if not amount.is_finite() or amount < 0:
            raise ValueError(f"{value!r} must be a decimal amount of zero or more, such as 1.00")
        return str(value).strip()

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, value: str) -> str:
        BucketTable.parse(value)
        return value

    @field_validator("allocation_order")
    @classmethod
    def _order(cls, value: str) -> str:
        parse_allocation_order(value)
        return value

    @property
    def bucket_table(self) -> BucketTable:
        return BucketTable.parse(self.buckets)

    @property
    def send_time_of_day(self) -> time:
        return time.fromisoformat(self.send_time)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.lender_timezone)

    def resolved_key_file(self) -> Path:
        """Where the key file lives when none is configured: beside the embedded database."""
        if self.key_file:
            return Path(self.key_file)
        if self.database_url.startswith("sqlite:///"):
            db_path = Path(self.database_url.removeprefix("sqlite:///"))
            return db_path.with_suffix(".key")
        return Path("fairdue.key")


def load_settings(environ: dict[str, str], **overrides: Any) -> Settings:
    """Settings from a settings file (FAIRDUE_CONFIG), the environment, then overrides."""
    file_values: dict[str, Any] = {}
    config = environ.get("FAIRDUE_CONFIG")
    if config:
        path = Path(config)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigurationError(f"cannot read settings file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigurationError(f"settings file {path} is not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigurationError(f"settings file {path} must be a mapping of names to values")
        file_values = {str(k).lower().removeprefix("fairdue_"): v for k, v in loaded.items()}
    env_values = {
        key.removeprefix("FAIRDUE_").lower(): value
        for key, value in environ.items()
        if key.startswith("FAIRDUE_") and key != "FAIRDUE_CONFIG"
    }
    values = {**file_values, **env_values, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None
    except InvalidInput as exc:
        raise ConfigurationError(f"invalid settings: {exc}") from None
