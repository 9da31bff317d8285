"""Settings from the environment or a .env file (pydantic-settings)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

UserIds = Annotated[frozenset[int], NoDecode]
Access = Literal["open", "signed", "off"]


def db_location(text: str | Path) -> str | Path:
    """DEPOSIT_DB / --db: a postgresql:// (or postgres://) URL stays text, else a file path."""
    if isinstance(text, str) and text.startswith(("postgresql://", "postgres://")):
        return text
    return Path(text)


DbLocation = Annotated[str | Path, BeforeValidator(db_location)]


def default_db_path() -> Path:
    """$XDG_DATA_HOME/deposit-bot/deposit.db, else ~/.local/share/deposit-bot/deposit.db."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "deposit-bot" / "deposit.db"


class Settings(BaseSettings):
    """Every setting of the bot; README lists them."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore")

    db: DbLocation = Field(default_factory=default_db_path, validation_alias="DEPOSIT_DB")
    policy: Path | None = Field(default=None, validation_alias="DEPOSIT_POLICY")
    telegram_bot_token: str | None = Field(default=None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str | None = Field(default=None,
                                              validation_alias="TELEGRAM_API_BASE_URL")
    telegram_bot_username: str | None = Field(default=None,
                                              validation_alias="TELEGRAM_BOT_USERNAME")
    default_language: str = Field(default="en", validation_alias="DEPOSIT_DEFAULT_LANGUAGE")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    log_file: Path | None = Field(default=None, validation_alias="DEPOSIT_LOG_FILE")
    job_interval_seconds: int = Field(default=30, validation_alias="DEPOSIT_JOB_INTERVAL")
    push_rate: float = Field(default=30, gt=0, le=1000, validation_alias="DEPOSIT_PUSH_RATE")
    flood_retries: int = Field(default=2, ge=0, le=10, validation_alias="DEPOSIT_FLOOD_RETRIES")
    # The Bot API's HTTP client (bot/transport.py): aiohttp costs a fifth of httpx's CPU per
    # call; httpx is PTB's own HTTPXRequest
    http_client: Literal["aiohttp", "httpx"] = Field(default="aiohttp",
                                                     validation_alias="DEPOSIT_HTTP_CLIENT")
    # The service's event loop (bot/runner.py run_loop): uvloop, or asyncio's own
    event_loop: Literal["uvloop", "asyncio"] = Field(default="uvloop",
                                                     validation_alias="DEPOSIT_EVENT_LOOP")
    # Reminder waves with Bot API allow_paid_broadcast (issue #16.3): off by default; each
    # message above Telegram's free 30/s is billed 0.1 Telegram Star to the bot's balance
    paid_broadcast: bool = Field(default=False, validation_alias="DEPOSIT_PAID_BROADCAST")
    paid_broadcast_rate: float = Field(default=1000, gt=0, le=1000,
                                       validation_alias="DEPOSIT_PAID_BROADCAST_RATE")
    paid_broadcast_daily_limit: int = Field(default=10_000, ge=0,
                                            validation_alias="DEPOSIT_PAID_BROADCAST_DAILY_LIMIT")

    def paid(self) -> Any:
        """The sender's PaidBroadcast when it is on, else None."""
        if not self.paid_broadcast:
            return None
        from bot.notify.sender import PaidBroadcast

        return PaidBroadcast(self.paid_broadcast_rate, self.paid_broadcast_daily_limit)
    support_chat_id: int | None = Field(default=None, validation_alias="SUPPORT_CHAT_ID")
    support_language: str | None = Field(default=None,
                                         validation_alias="DEPOSIT_SUPPORT_LANGUAGE")
    support_topics: bool = Field(default=True, validation_alias="DEPOSIT_SUPPORT_TOPICS")
    support_agent_names: bool = Field(default=False,
                                      validation_alias="DEPOSIT_SUPPORT_AGENT_NAMES")
    operators: UserIds = Field(default=frozenset(), validation_alias="DEPOSIT_OPERATORS")
    agents: UserIds = Field(default=frozenset(), validation_alias="DEPOSIT_AGENTS")

    @field_validator("operators", "agents", mode="before")
    @classmethod
    def _user_ids(cls, value: Any) -> Any:
        """'111, 222' → {111, 222}; an empty setting means nobody."""
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(";", ",").split(",")
                             if part.strip())
        return value
    http_secret: str | None = Field(default=None, validation_alias="DEPOSIT_HTTP_SECRET")
    http_max_body: int = Field(default=1 << 20, gt=0, validation_alias="DEPOSIT_HTTP_MAX_BODY")
    telegram_webhook_secret: str | None = Field(default=None,
                                                validation_alias="TELEGRAM_WEBHOOK_SECRET")
    # the closure's one-time code: "webhook" (signed POST to the platform), "email" (SMTP to
    # the shop's contact_email), "log" (development only), unset: identity checks are
    # unavailable and /close says so
    verification: Literal["webhook", "email", "log"] | None = Field(
        default=None, validation_alias="DEPOSIT_VERIFICATION")
    verification_url: str | None = Field(default=None,
                                         validation_alias="DEPOSIT_VERIFICATION_URL")
    verification_secret: str | None = Field(default=None,
                                            validation_alias="DEPOSIT_VERIFICATION_SECRET")
    # DEPOSIT_VERIFICATION=email: the mail server; the port defaults by security (587 starttls,
    # 465 ssl, 25 none); a user and password only over TLS
    smtp_host: str | None = Field(default=None, validation_alias="DEPOSIT_SMTP_HOST")
    smtp_port: int | None = Field(default=None, gt=0, lt=65536,
                                  validation_alias="DEPOSIT_SMTP_PORT")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", validation_alias="DEPOSIT_SMTP_SECURITY")
    smtp_user: str | None = Field(default=None, validation_alias="DEPOSIT_SMTP_USER")
    smtp_password: str | None = Field(default=None, validation_alias="DEPOSIT_SMTP_PASSWORD")
    smtp_from: str | None = Field(default=None, validation_alias="DEPOSIT_SMTP_FROM")

    def email_problem(self) -> str | None:
        """Why DEPOSIT_VERIFICATION=email cannot work as configured (one line), or None."""
        from domain.events import is_email

        missing = [name for name, value in (("DEPOSIT_SMTP_HOST", self.smtp_host),
                                            ("DEPOSIT_SMTP_FROM", self.smtp_from)) if not value]
        if missing:
            return f"DEPOSIT_VERIFICATION=email needs {' and '.join(missing)}"
        if not is_email(self.smtp_from):
            return "DEPOSIT_SMTP_FROM must be an e-mail address such as deposit@example.com"
        if bool(self.smtp_user) != bool(self.smtp_password):
            return "DEPOSIT_SMTP_USER and DEPOSIT_SMTP_PASSWORD go together (both or neither)"
        if self.smtp_user and self.smtp_security == "none":
            return ("DEPOSIT_SMTP_USER needs DEPOSIT_SMTP_SECURITY starttls or ssl (the password "
                    "would cross the network unencrypted)")
        if self.verification_url and len((self.verification_secret or "").encode()) < 32:
            return ("DEPOSIT_VERIFICATION_URL (for shops without contact_email) needs a "
                    "DEPOSIT_VERIFICATION_SECRET of at least 32 bytes")
        return None

    def smtp(self) -> Any:
        """The mail server settings as bot.channels.Smtp (None when no host is set)."""
        from bot.channels import Smtp

        if not self.smtp_host or not self.smtp_from:
            return None
        port = self.smtp_port or {"starttls": 587, "ssl": 465, "none": 25}[self.smtp_security]
        return Smtp(self.smtp_host, port, self.smtp_security, self.smtp_from, self.smtp_user,
                    self.smtp_password)
    # /metrics and /openapi.json: open (default), signed (the /v1/ signature) or off
    http_metrics: Access = Field(default="open", validation_alias="DEPOSIT_HTTP_METRICS")
    http_openapi: Access = Field(default="open", validation_alias="DEPOSIT_HTTP_OPENAPI")
