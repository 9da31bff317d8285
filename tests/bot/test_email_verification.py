"""Issue #13 item 7, the e-mail channel: DEPOSIT_VERIFICATION=email sends the closure's
one-time code to the shop's contact_email (shop.registered, an addition to SPEC §9) through a
real SMTP server (aiosmtpd on 127.0.0.1), in the seller's language; the seller is told where
it went; a shop without an address, or a mail server that fails, is said as it is."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from bot.channels import EmailChannel, Smtp, WebhookChannel, channel_for
from bot.clock import ManualClock
from bot.config import Settings
from bot.context import Deps
from bot.i18n import translator
from bot.sandbox.chat import Sandbox
from bot.startup import CONFIG
from bot.storage.db import Database
from bot.storage.uow import SqliteUnitOfWork
from domain.policy import load_policy
from tests.bot.conftest import START, Chat, shop_events
from tests.bot.test_close import ready_shop

SENDER = "deposit@bot.example.com"
ADDRESS = "alice.finance@acme.example.com"
SHOWN = "a***@acme.example.com"
SIX_DIGITS = re.compile(r"\b(\d{6})\b")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps every message, or answers DATA with `refuse`."""

    refuse: str | None = None
    received: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return self.refuse
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((envelope, parsed))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1 (in aiosmtpd's own thread and loop)."""
    box, port = Mailbox(), free_port()
    server = Controller(box, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield box, port
    finally:
        server.stop()


def smtp_to(port: int) -> Smtp:
    return Smtp("127.0.0.1", port, "none", SENDER, timeout=5)


async def closing_chat(db_target: Path | str, channel_of: Any) -> AsyncIterator[Chat]:
    """The real Application in the sandbox, with the channel `channel_of(db)` builds."""
    db = await Database.open(db_target)
    out = io.StringIO()
    clock = ManualClock(START)
    box = Sandbox(Deps(db, load_policy(), clock, channel_of(db)), clock, out)
    async with box.app:
        yield Chat(box, out)
    await db.close()


async def with_contact(chat: Chat, address: Any, shop_id: str = "S-GB") -> str:
    """The platform registers the shop again, now with a contact_email."""
    registered = shop_events(shop_id)[0]
    return await chat.event(**{**registered, "event_id": f"reg2-{shop_id}",
                               "contact_email": address})


async def stored_closure_code(chat: Chat, shop_id: str = "S-GB") -> str | None:
    async with SqliteUnitOfWork(chat.box.deps.db) as uow:
        current = await uow.closures.current(shop_id)
    return None if current is None else current.code_digest


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def test_the_code_goes_by_email_and_the_seller_is_told_where(
        db_target: Path | str, mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    async for chat in closing_chat(db_target, lambda db: EmailChannel(smtp_to(port), db)):
        await ready_shop(chat)
        assert ": applied" in await with_contact(chat, ADDRESS)

        out = await chat.say("!as 501 en", "/close", "!press Continue")

        assert f"A one-time code was sent by e-mail to {SHOWN}." in out
        assert ADDRESS not in out
        [(envelope, message)] = box.received
        assert (envelope.mail_from, envelope.rcpt_tos) == (SENDER, [ADDRESS])
        assert message["To"] == ADDRESS and message["From"] == SENDER
        assert message["Subject"] == "Your one-time code for closing S-GB"
        text = body_of(message)
        code = SIX_DIGITS.findall(text)[0]
        assert "Acme Trading Ltd · United Kingdom shop (S-GB)" in text
        assert "Send it to the bot before Nov 21, 2026 10:10 (UTC+08:00)" in text
        assert "If this was not you" in text and "/support" in text

        answer = await chat.say(code)  # the code from the e-mail is the one the bot checks

        assert "The code is right" in answer and "why you are closing" in answer, answer


async def test_the_email_is_in_the_sellers_language(
        db_target: Path | str, mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    t = translator("zh_Hant")
    async for chat in closing_chat(db_target, lambda db: EmailChannel(smtp_to(port), db)):
        await ready_shop(chat)
        await with_contact(chat, ADDRESS)

        out = await chat.say("!as 501 zh-hant", "/close", f"!press {t.gettext('Continue')}")

        assert f"一次性驗證碼已透過電子郵件傳送至 {SHOWN}" in out
        [(_, message)] = box.received
        assert message["Subject"] == "關閉店鋪S-GB的一次性驗證碼"
        assert message["Content-Language"] == "zh-Hant"
        text = body_of(message)
        assert "您的一次性驗證碼：" in text and "如果這不是您本人的操作" in text
        title = t.gettext("{entity} · {market} shop ({shop_id})").format(
            entity="Acme Trading Ltd", market=t.gettext("United Kingdom"), shop_id="S-GB")
        assert title in text and "店鋪" in title


async def test_a_failing_mail_server_is_told_and_no_code_is_left(
        db_target: Path | str, mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    box.refuse = "451 4.3.0 Mail system temporarily unavailable"
    async for chat in closing_chat(db_target, lambda db: EmailChannel(smtp_to(port), db)):
        await ready_shop(chat)
        await with_contact(chat, ADDRESS)

        out = await chat.say("!as 501 en", "/close", "!press Continue")

        assert f"The e-mail with your one-time code could not be sent to {SHOWN}" in out
        assert "/support" in out and "code was sent" not in out
        assert box.received == []
        assert await stored_closure_code(chat) is None  # no code is considered sent
        box.refuse = None  # the mail server is back: /close sends a fresh code
        again = await chat.say("/close")
        assert f"A one-time code was sent by e-mail to {SHOWN}." in again, again
        assert len(box.received) == 1


async def test_an_unreachable_mail_server_is_told_in_the_sellers_language(
        db_target: Path | str) -> None:
    t = translator("zh_Hans")
    unreachable = smtp_to(free_port())  # nothing listens there
    async for chat in closing_chat(db_target, lambda db: EmailChannel(unreachable, db)):
        await ready_shop(chat)
        await with_contact(chat, ADDRESS)

        out = await chat.say("!as 501 zh-hans", "/close", f"!press {t.gettext('Continue')}")

        assert f"含一次性验证码的电子邮件无法发送至 {SHOWN}" in out, out
        assert "/support" in out and "已通过电子邮件发送" not in out
        assert await stored_closure_code(chat) is None


async def test_a_shop_without_contact_email_says_identity_checks_are_unavailable(
        db_target: Path | str, mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    async for chat in closing_chat(db_target, lambda db: EmailChannel(smtp_to(port), db)):
        await ready_shop(chat)

        out = await chat.say("!as 501 en", "/close", "!press Continue")

        assert "Identity checks for closing are not available for this shop" in out
        assert "no contact e-mail address" in out and "/support" in out
        assert "code was sent" not in out and box.received == []
        assert await stored_closure_code(chat) is None


async def test_a_shop_without_contact_email_falls_back_to_the_platform_webhook(
        db_target: Path | str, mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    posted: list[dict[str, Any]] = []

    def platform(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(202)

    webhook = WebhookChannel("https://platform.example/verify", "w" * 32,
                             httpx.AsyncClient(transport=httpx.MockTransport(platform)))
    async for chat in closing_chat(db_target, lambda db: EmailChannel(smtp_to(port), db,
                                                                      fallback=webhook)):
        await ready_shop(chat)

        out = await chat.say("!as 501 en", "/close", "!press Continue")

        assert "A one-time code was sent to the shop's registered contact." in out
        assert [p["shop_id"] for p in posted] == ["S-GB"] and box.received == []


async def test_the_log_channel_says_it_went_to_the_log(db_target: Path | str) -> None:
    async for chat in closing_chat(db_target, lambda db: channel_for("log", None, None)):
        await ready_shop(chat)

        out = await chat.say("!as 501 en", "/close", "!press Continue")

        assert "Development mode: the one-time code was written to the operator log" in out
        assert "code was sent" not in out


@pytest.mark.parametrize("address", [
    "alice", "alice@", "@acme.example.com", "alice@acme", "alice@@acme.example.com",
    " alice@acme.example.com", "alice@acme.example.com ", "al ice@acme.example.com",
    "alice@acme..example.com", "alice@-acme.example.com", "alice.@acme.example.com",
    "alice@acme.example.c0m", "用户@例子.中国", "alice@acme.example.com\n", "", 42, True,
    ["alice@acme.example.com"], "a" * 65 + "@acme.example.com",
])
async def test_a_bad_contact_email_is_refused_naming_the_field(
        db_target: Path | str, address: Any) -> None:
    async for chat in closing_chat(db_target, lambda db: channel_for(None, None, None)):
        registered = shop_events("S-BAD")[0]

        out = await chat.event(**{**registered, "contact_email": address})

        assert "rejected (contact_email:" in out, out
        async with SqliteUnitOfWork(chat.box.deps.db) as uow:
            assert await uow.shops.get("S-BAD") is None  # nothing of it applied


async def test_contact_email_is_stored_kept_when_absent_and_removed_by_null(
        db_target: Path | str) -> None:
    async def stored(chat: Chat) -> str | None:
        async with SqliteUnitOfWork(chat.box.deps.db) as uow:
            shop = await uow.shops.get("S-GB")
        assert shop is not None
        return shop.contact_email

    async for chat in closing_chat(db_target, lambda db: channel_for(None, None, None)):
        registered = shop_events("S-GB")[0]
        await chat.event(**{**registered, "contact_email": ADDRESS})
        first = await stored(chat)
        await chat.event(**{**registered, "event_id": "reg-again"})  # no contact_email
        kept = await stored(chat)
        await chat.event(**{**registered, "event_id": "reg-null", "contact_email": None})
        removed = await stored(chat)

    assert (first, kept, removed) == (ADDRESS, ADDRESS, None)


@pytest.mark.parametrize(("env", "line"), [
    ({}, "DEPOSIT_VERIFICATION=email needs DEPOSIT_SMTP_HOST and DEPOSIT_SMTP_FROM"),
    ({"DEPOSIT_SMTP_HOST": "mail.example.com"},
     "DEPOSIT_VERIFICATION=email needs DEPOSIT_SMTP_FROM"),
    ({"DEPOSIT_SMTP_HOST": "mail.example.com", "DEPOSIT_SMTP_FROM": "not an address"},
     "DEPOSIT_SMTP_FROM must be an e-mail address"),
    ({"DEPOSIT_SMTP_HOST": "mail.example.com", "DEPOSIT_SMTP_FROM": SENDER,
      "DEPOSIT_SMTP_USER": "bot"}, "DEPOSIT_SMTP_USER and DEPOSIT_SMTP_PASSWORD go together"),
    ({"DEPOSIT_SMTP_HOST": "mail.example.com", "DEPOSIT_SMTP_FROM": SENDER,
      "DEPOSIT_SMTP_USER": "bot", "DEPOSIT_SMTP_PASSWORD": "pw", "DEPOSIT_SMTP_SECURITY": "none"},
     "DEPOSIT_SMTP_USER needs DEPOSIT_SMTP_SECURITY starttls or ssl"),
])
def test_an_incomplete_email_channel_refuses_to_start_with_one_line(
        tmp_path: Path, env: dict[str, str], line: str) -> None:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DEPOSIT_SMTP_", "DEPOSIT_VERIFICATION"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--db", str(tmp_path / "d.db")],
        env={**clean, "TELEGRAM_BOT_TOKEN": "123:abc", "DEPOSIT_VERIFICATION": "email", **env},
        capture_output=True, text=True, timeout=30, cwd=tmp_path)

    assert done.returncode == CONFIG, done.stderr
    [said] = done.stderr.strip().splitlines()
    assert said.startswith(f"deposit-bot: cannot start: {line}"), done.stderr


def test_complete_email_settings_build_the_email_channel(tmp_path: Path) -> None:
    settings = Settings(DEPOSIT_VERIFICATION="email", DEPOSIT_SMTP_HOST="mail.example.com",
                        DEPOSIT_SMTP_FROM=SENDER, DEPOSIT_SMTP_USER="bot",
                        DEPOSIT_SMTP_PASSWORD="pw", DEPOSIT_SMTP_SECURITY="ssl",
                        _env_file=None)

    assert settings.email_problem() is None
    smtp = settings.smtp()
    assert (smtp.host, smtp.port, smtp.security, smtp.sender) == (
        "mail.example.com", 465, "ssl", SENDER)
    channel = channel_for("email", None, None, smtp, db=object())  # type: ignore[arg-type]
    assert isinstance(channel, EmailChannel) and channel.fallback is None


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_the_code_goes_over_tls_with_a_login(tmp_path: Path, security: str) -> None:
    """The production settings' path: TLS (STARTTLS or implicit) with the server's certificate
    checked, then AUTH; the server refuses mail without both."""
    cert, key = certificate(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      data: Any) -> AuthResult:
        logins.append((data.login, data.password))
        return AuthResult(success=(data.login, data.password) == (b"bot", b"secret-pw"))

    box, port = Mailbox(), free_port()
    # aiosmtpd offers AUTH only after its own STARTTLS; on implicit TLS (the whole session is
    # encrypted) it must be told not to wait for one
    tls: dict[str, Any] = {"tls_context": served, "require_starttls": True}
    if security == "ssl":
        tls = {"ssl_context": served, "auth_require_tls": False}
    server = Controller(box, hostname="127.0.0.1", port=port, authenticator=authenticator,
                        auth_required=True, **tls)
    server.start()
    trusted = ssl.create_default_context(cafile=str(cert))
    smtp = Smtp("127.0.0.1", port, security, SENDER, "bot", "secret-pw",  # type: ignore[arg-type]
                timeout=5, tls=trusted)
    try:
        async for chat in closing_chat(tmp_path / "t.db", lambda db: EmailChannel(smtp, db)):
            await ready_shop(chat)
            await with_contact(chat, ADDRESS)

            out = await chat.say("!as 501 en", "/close", "!press Continue")
    finally:
        server.stop()

    assert f"A one-time code was sent by e-mail to {SHOWN}." in out
    assert logins == [(b"bot", b"secret-pw")] and len(box.received) == 1


async def test_an_address_with_braces_is_shown_as_sent_not_formatted(
        db_target: Path | str, mailbox: tuple[Mailbox, int]) -> None:
    """RFC 5322 allows { } & in the local part: the masked address is text, never a template."""
    box, port = mailbox
    async for chat in closing_chat(db_target, lambda db: EmailChannel(smtp_to(port), db)):
        await ready_shop(chat)
        assert ": applied" in await with_contact(chat, "{time}&co@acme.example.com")

        out = await chat.say("!as 501 en", "/close", "!press Continue")

        assert "A one-time code was sent by e-mail to {***@acme.example.com." in out, out
        assert len(box.received) == 1
