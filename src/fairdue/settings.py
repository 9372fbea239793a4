"""Typed settings, read once at start-up from the environment or a settings file.

Names are the contract in docs/interfaces: FAIRDUE_DATABASE_URL, FAIRDUE_PROFILE, ...
A settings file (YAML, named by FAIRDUE_CONFIG) gives the same keys in lower case without
the prefix; the environment wins over the file, and a command-line flag over both.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal, InvalidOperation
from itertools import pairwise
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
    run_partitions: int | None = Field(
        default=None, ge=1, le=256,
        description="partitions of a daily run; default: 8 on PostgreSQL, 1 on SQLite",
    )
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
    # Repayment plans, grace periods and waivers (docs/plans.md). Amounts in the case's
    # currency, as decimal strings.
    plan_missed_limit: int = Field(
        default=2, ge=1, le=12, description="plan installments missed at once that break a plan")
    plan_max_installments: int = Field(default=24, ge=1, le=120)
    affordability_share: str = Field(
        default="0.5", description="share of monthly disposable income a plan installment may take")
    grace_max_days: int = Field(default=30, ge=1, le=180, description="longest grace period")
    waiver_limit_agent: str = Field(default="50.00", description="largest waiver an agent approves")
    waiver_limit_supervisor: str = Field(
        default="500.00", description="largest waiver a supervisor approves; above: a manager")
    # Reports (docs/reports.md): what one unit of each channel costs, in the currency's major
    # unit (cost per unit recovered); the amount bands (in major units, ascending lower
    # bounds) that, with the DPD bucket, make the strata of equal risk the fairness test
    # compares within; and when a disparity is flagged (S18).
    channel_costs: str = Field(
        default="sms:0.05,email:0.01,push:0.00,call:1.50,visit:120.00",
        description="cost of one sent message, call attempt or field visit, per channel")
    amount_bands: str = Field(default="0,1000,3000,10000",
                              description="lower bounds of the amount bands, ascending")
    fairness_threshold: float = Field(default=0.2, gt=0, le=10,
                                      description="relative difference that is material")
    fairness_alpha: float = Field(default=0.01, gt=0, lt=1,
                                  description="p-value below which a difference is not chance")
    fairness_min_cases: int = Field(default=30, ge=1, description="smallest group judged")
    # Field visits (docs/visits.md): appointment times offered, the slot and visit lengths,
    # how far a check-in may be from the appointment before it is flagged, how long around
    # the appointment a letter of authorisation is good, when failed checks of a badge raise
    # an alert, travel estimates for routes, and where evidence files are kept.
    visit_slot_times: str = Field(default="10:00,14:00,16:30",
                                  description="local start times of the slots offered")
    visit_slot_minutes: int = Field(default=60, ge=15, le=480)
    visit_duration_minutes: int = Field(default=45, ge=5, le=480)
    visit_checkin_max_m: int = Field(default=500, ge=10, le=100_000)
    credential_margin_minutes: int = Field(default=60, ge=0, le=24 * 60)
    verify_alert_failures: int = Field(default=3, ge=1, le=1000)
    verify_alert_window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    visit_road_factor: float = Field(default=1.3, ge=1.0, le=5.0)
    visit_speed_kmh: float = Field(default=25.0, gt=0, le=200)
    evidence_dir: str | None = Field(
        default=None, description="evidence files; default: beside the SQLite file, else ./evidence")
    verify_url: str | None = Field(
        default=None, description="page the QR code on a letter opens; unset: the QR holds badge and code")
    # Shared secrets of the HTTP API (docs/api.md); SecretStr, so never shown in a repr or log.
    receipt_token: SecretStr | None = Field(
        default=None, description="gateways' token for POST /api/v1/receipts/...; unset: open")
    api_token: SecretStr | None = Field(
        default=None, description="integrations' bearer token (dialers); unset: the API refuses")
    # The web application (docs/api.md): sessions, cookies and the borrower's sign-in codes.
    session_hours: int = Field(default=8, ge=1, le=24 * 30,
                               description="staff and borrower sessions last this long")
    cookie_secure: bool = Field(
        default=True, description="session cookies only over HTTPS; false only for plain-HTTP "
                                  "development, never in production")
    otp_minutes: int = Field(default=5, ge=1, le=30, description="a sign-in code is valid this long")
    otp_max_per_window: int = Field(default=3, ge=1, le=20,
                                    description="sign-in codes sent to one phone per window")
    otp_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    otp_max_failures: int = Field(default=5, ge=1, le=20,
                                  description="wrong codes before the phone is locked")
    otp_lock_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # Where a borrower under pressure gets help (S15); China's legal-aid line and the
    # financial regulator's consumer complaint line by default.
    legal_aid_line: str = Field(default="12348", min_length=1)
    regulator_line: str = Field(default="12378", min_length=1)
    debt_advice: str | None = Field(
        default=None, description="a debt counselling service to name; default: legal aid")

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

    @field_validator("visit_slot_times")
    @classmethod
    def _slot_times(cls, value: str) -> str:
        try:
            parsed = [time.fromisoformat(t.strip()) for t in value.split(",") if t.strip()]
        except ValueError:
            raise ValueError(f"{value!r} is not a list of times such as 10:00,14:00") from None
        if not parsed:
            raise ValueError("give at least one slot start time, such as 10:00")
        return value

    @property
    def visit_slot_starts(self) -> tuple[time, ...]:
        return tuple(time.fromisoformat(t.strip()) for t in self.visit_slot_times.split(",")
                     if t.strip())

    def resolved_evidence_dir(self) -> Path:
        """Where evidence files live when none is configured: beside the embedded database."""
        if self.evidence_dir:
            return Path(self.evidence_dir)
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///")).parent / "evidence"
        return Path("evidence")

    @field_validator("receipt_token", "api_token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        if value == "":
            return None  # FAIRDUE_API_TOKEN= (empty) means unset
        if isinstance(value, str) and len(value) < 16:
            raise ValueError("a token must be at least 16 characters; make one with "
                             "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
        return value

    @field_validator("promise_tolerance_amount", "waiver_limit_agent", "waiver_limit_supervisor",
                     "affordability_share")
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

    @field_validator("channel_costs")
    @classmethod
    def _channel_costs(cls, value: str) -> str:
        parse_channel_costs(value)
        return value

    @field_validator("amount_bands")
    @classmethod
    def _amount_bands(cls, value: str) -> str:
        parse_amount_bands(value)
        return value

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


def parse_channel_costs(value: str) -> dict[str, Decimal]:
    """`sms:0.05,call:1.50,...` as {channel: cost}; refuses a malformed or negative cost."""
    costs: dict[str, Decimal] = {}
    for part in (p.strip() for p in value.split(",") if p.strip()):
        name, _, amount = part.partition(":")
        try:
            cost = Decimal(amount.strip())
        except InvalidOperation:
            cost = Decimal(-1)
        if not name.strip() or not cost.is_finite() or cost < 0:
            raise ValueError(f"{part!r} is not CHANNEL:COST with a cost of zero or more, "
                             "such as sms:0.05")
        costs[name.strip()] = cost
    return costs


def parse_amount_bands(value: str) -> tuple[Decimal, ...]:
    """`0,1000,3000` as ascending lower bounds, the first of them 0."""
    try:
        bounds = tuple(Decimal(p.strip()) for p in value.split(",") if p.strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a list of amounts such as 0,1000,3000") from None
    if not bounds or bounds[0] != 0 or any(b <= a for a, b in pairwise(bounds)):
        raise ValueError(f"{value!r}: amount bands start at 0 and ascend, such as 0,1000,3000")
    return bounds


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
