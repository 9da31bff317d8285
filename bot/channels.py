"""Verification channels: where the closure's one-time code goes."""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Any, Literal, TextIO
from urllib.parse import urlsplit

import httpx

from bot.http.auth import signed_headers
from bot.i18n import Translator, translator
from bot.render import MARKETS
from domain.errors import VerificationUnavailable
from domain.model import Shop
from domain.ports import CodeDelivery

if TYPE_CHECKING:
    from bot.storage.db import Database

log = logging.getLogger(__name__)


class PrintedChannel:
    """The sandbox's channel: the code is printed where the person at the keyboard sees it."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def send_code(self, shop_id: str, user_id: int, code: str) -> None:
        self.out.write(f"code> verification code for shop {shop_id} (user {user_id}): {code}\n")
        self.out.flush()


class LoggedChannel:
    """Development only (DEPOSIT_VERIFICATION=log): the code goes to the operator log."""

    async def send_code(self, shop_id: str, user_id: int, code: str) -> CodeDelivery:
        log.warning("DEVELOPMENT verification channel: code for shop %s (user %s): %s",
                    shop_id, user_id, code)
        return CodeDelivery("log")


class UnavailableChannel:
    """No channel configured: closing says identity checks are unavailable (never pretends
    a code was sent)."""

    async def send_code(self, shop_id: str, user_id: int, code: str) -> None:
        raise VerificationUnavailable("no verification channel is configured")


class WebhookChannel:
    """A signed POST to the platform, which owns the contact details and sends the SMS or
    e-mail: {"type": "verification.code", "shop_id", "telegram_user_id", "code"}, signed like
    the /v1/ API (X-Deposit-Timestamp, X-Deposit-Signature over TIMESTAMP.POST.PATH.BODY)
    with DEPOSIT_VERIFICATION_SECRET. Anything but a 2xx within 10 s is a failure."""

    def __init__(self, url: str, secret: str, client: httpx.AsyncClient | None = None) -> None:
        self.url, self.secret = url, secret
        self.client = client

    async def send_code(self, shop_id: str, user_id: int, code: str) -> CodeDelivery:
        body = json.dumps({"type": "verification.code", "shop_id": shop_id,
                           "telegram_user_id": user_id, "code": code}).encode()
        path = urlsplit(self.url).path or "/"
        headers = {"Content-Type": "application/json",
                   **signed_headers(self.secret, datetime.now(UTC), "POST", path, body)}
        try:
            if self.client is not None:
                answer = await self.client.post(self.url, content=body, headers=headers)
            else:
                async with httpx.AsyncClient(timeout=10) as client:
                    answer = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("verification webhook failed: %s", type(exc).__name__)
            raise VerificationUnavailable("the verification webhook cannot be reached") from None
        if not answer.is_success:
            log.warning("verification webhook answered %d", answer.status_code)
            raise VerificationUnavailable(f"the verification webhook answered "
                                          f"{answer.status_code}")
        return CodeDelivery("platform")


Security = Literal["starttls", "ssl", "none"]


@dataclass(frozen=True)
class Smtp:
    """How to reach the mail server (DEPOSIT_SMTP_*)."""

    host: str
    port: int
    security: Security
    sender: str
    user: str | None = None
    password: str | None = None
    timeout: float = 10.0
    tls: ssl.SSLContext | None = None  # None: the system's trusted CAs, host name checked


def masked(address: str) -> str:
    """finance@example.com → f***@example.com: enough for the seller to recognise it, not
    enough to hand a stranger reading over their shoulder."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def code_email(t: Translator, shop: Shop, code: str, expires_at: datetime, sender: str,
               to: str) -> EmailMessage:
    """The e-mail with the closure's one-time code, in the seller's language."""
    title = t.gettext("{entity} · {market} shop ({shop_id})").format(
        entity=shop.entity_name, market=t.gettext(MARKETS.get(shop.market, shop.market)),
        shop_id=shop.shop_id)
    message = EmailMessage()
    message["Subject"] = t.gettext("Your one-time code for closing {shop}").format(
        shop=shop.shop_id)
    message["From"], message["To"] = sender, to
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n\n".join([
        t.gettext("Someone asked in the deposit bot on Telegram to close this shop:\n{shop}")
        .format(shop=title),
        t.gettext("Your one-time code: {code}").format(code=code),
        t.gettext("Send it to the bot before {time}; after that it is no longer valid. Never "
                  "give this code to anyone, support staff included.").format(
            time=t.datetime(expires_at, shop.timezone)),
        t.gettext("If this was not you, do not send the code anywhere and contact support at "
                  "once: send /support to the deposit bot on Telegram, or ask your platform "
                  "account manager. Nothing is closed without this code."),
    ]) + "\n")
    message["Content-Language"] = t.language.replace("_", "-")  # set_content drops Content-*
    return message


class EmailChannel:
    """DEPOSIT_VERIFICATION=email: the code by e-mail to the shop's contact_email (from
    shop.registered), through the SMTP server DEPOSIT_SMTP_* names, in the seller's language.

    smtplib runs in a worker thread (asyncio.to_thread): a code is sent a few times a day,
    so the standard library's mature client beats a new dependency. A shop without a contact
    address falls back to `fallback` (the platform webhook, when it is configured too); with
    none, VerificationUnavailable(kind="no_contact"). A failed send is
    VerificationUnavailable(kind="email"): the seller is told, and the code is withdrawn."""

    def __init__(self, smtp: Smtp, db: Database, default_language: str = "en",
                 fallback: Any | None = None) -> None:
        self.smtp, self.db, self.default_language = smtp, db, default_language
        self.fallback = fallback

    async def send_code(self, shop_id: str, user_id: int, code: str) -> CodeDelivery | None:
        from bot.storage.uow import SqliteUnitOfWork
        from bot.storage.users import Users

        async with SqliteUnitOfWork(self.db) as uow:
            shop = await uow.shops.get(shop_id)
            closure = await uow.closures.current(shop_id)
        if shop is None or closure is None or closure.code_expires_at is None:
            raise VerificationUnavailable(f"no closure code is waiting for shop {shop_id}")
        if shop.contact_email is None:
            if self.fallback is not None:
                sent: CodeDelivery | None = await self.fallback.send_code(shop_id, user_id, code)
                return sent
            raise VerificationUnavailable(f"shop {shop_id} has no contact e-mail address",
                                          kind="no_contact")
        language = await Users(self.db).push_language(user_id) or self.default_language
        message = code_email(translator(language), shop, code, closure.code_expires_at,
                             self.smtp.sender, shop.contact_email)
        shown = masked(shop.contact_email)
        try:
            await asyncio.to_thread(self._send, message)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("verification e-mail for shop %s to %s failed: %s: %s", shop_id, shown,
                        type(exc).__name__, exc)
            raise VerificationUnavailable(f"the e-mail to {shown} could not be sent",
                                          kind="email", to=shown) from None
        log.info("verification e-mail for shop %s sent to %s", shop_id, shown)
        return CodeDelivery("email", shown)

    def _send(self, message: EmailMessage) -> None:
        """One SMTP session (in a worker thread): connect, secure, log in, send, quit."""
        s = self.smtp
        tls = s.tls or ssl.create_default_context()
        client = (smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=tls)
                  if s.security == "ssl" else smtplib.SMTP(s.host, s.port, timeout=s.timeout))
        with client:
            if s.security == "starttls":
                client.starttls(context=tls)
            if s.user:
                client.login(s.user, s.password or "")
            client.send_message(message)


def channel_for(mode: str | None, url: str | None, secret: str | None,
                smtp: Smtp | None = None, db: Database | None = None,
                default_language: str = "en") -> Any:
    """The production channel DEPOSIT_VERIFICATION names: webhook, email (falling back to the
    webhook for a shop without a contact address when that is configured too), log
    (development) or none."""
    webhook = WebhookChannel(url, secret) if url and secret else None
    if mode == "webhook" and webhook is not None:
        return webhook
    if mode == "email" and smtp is not None and db is not None:
        return EmailChannel(smtp, db, default_language, fallback=webhook)
    if mode == "log":
        return LoggedChannel()
    return UnavailableChannel()
