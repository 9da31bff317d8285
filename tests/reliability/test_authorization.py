"""Authorization: every signed route refuses unsigned and forged requests; the buttons of one
shop act on nothing, and reveal nothing, when a member of another shop presses them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot.http.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.storage.db import Database
from tests.bot.conftest import Chat
from tests.bot.staff_chat import OPERATOR, OTHER_OWNER, OWNER, STRANGER, staff, two_shops
from tests.http.conftest import SECRET, WEBHOOK_SECRET, Api, api, paid, registered

__all__ = ["api", "staff"]
pytestmark = pytest.mark.reliability
UNSIGNED = {"/healthz", "/metrics", "/openapi.json"}  # documented: keep them internal
SHOP_A = ("S-GB", "Acme", "800", "£", "GBP")


async def routes(api: Api) -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI document, path parameters filled."""
    document = (await api.client.get("/openapi.json")).json()
    found = []
    for path, operations in document["paths"].items():
        for method in operations:
            found.append((method.upper(), path.replace("{shop_id}", "S-GB")))
    return found


def forgeries(api: Api, method: str, path: str, body: bytes) -> dict[str, dict[str, str]]:
    """Headers that must each be refused."""
    now = api.clock.now()
    stamp = str(int(now.timestamp()))
    old = str(int((now - timedelta(minutes=10)).timestamp()))
    return {
        "none": {},
        "timestamp only": {TIMESTAMP_HEADER: stamp},
        "signature only": {SIGNATURE_HEADER: sign(SECRET, stamp, method, path, body)},
        "wrong secret": {TIMESTAMP_HEADER: stamp,
                         SIGNATURE_HEADER: sign("not-the-secret", stamp, method, path, body)},
        "other method": {TIMESTAMP_HEADER: stamp,
                         SIGNATURE_HEADER: sign(SECRET, stamp, "PUT", path, body)},
        "other path": {TIMESTAMP_HEADER: stamp,
                       SIGNATURE_HEADER: sign(SECRET, stamp, method, path + "x", body)},
        "other body": {TIMESTAMP_HEADER: stamp,
                       SIGNATURE_HEADER: sign(SECRET, stamp, method, path, body + b" ")},
        "ten minutes old": {TIMESTAMP_HEADER: old,
                            SIGNATURE_HEADER: sign(SECRET, old, method, path, body)},
        "not hex": {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: "sha256=" + "zz" * 32},
        "md5": {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: "md5=abc"},
        "timestamp text": {TIMESTAMP_HEADER: "soon",
                           SIGNATURE_HEADER: sign(SECRET, "soon", method, path, body)},
    }


async def balance_of(db: Database, shop_id: str = "S-GB") -> list[Any]:
    async with db.conn.execute("SELECT count(*), coalesce(sum(amount_minor), 0) FROM transfers "
                               "WHERE shop_id = ?", (shop_id,)) as cur:
        return list(await cur.fetchone() or ())


async def test_every_signed_route_refuses_every_forgery_and_applies_nothing(api: Api) -> None:
    await registered(api)
    before = await balance_of(api.deps.db)
    body = json.dumps(paid("x1", "PX", amount="900")).encode()
    signed = [(m, p) for m, p in await routes(api) if p not in UNSIGNED]

    answers = {}
    for method, path in signed:
        payload = body if method == "POST" else b""
        for name, headers in forgeries(api, method, path, payload).items():
            answer = await api.client.request(method, path, content=payload, headers={
                "Content-Type": "application/json", **headers})
            answers[(method, path, name)] = (answer.status_code, answer.json())

    assert {p for _, p in signed} >= {"/v1/events", "/v1/shops/S-GB/status"}
    assert {p for _, p in await routes(api)} - {p for _, p in signed} == UNSIGNED - {
        "/openapi.json"}
    assert {k: v[0] for k, v in answers.items()} == {k: 401 for k in answers}
    assert all(v[1]["error"] == "unauthorized" for v in answers.values())
    assert not any("800" in str(v[1]) or "Acme" in str(v[1]) for v in answers.values())
    assert await balance_of(api.deps.db) == before


async def test_the_webhook_refuses_a_missing_or_wrong_telegram_secret(api: Api) -> None:
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/balance",
                                          "chat": {"id": 501, "type": "private"}}}

    missing = await api.client.post("/telegram/hook", json=update)
    wrong = await api.client.post("/telegram/hook", json=update,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
    right = await api.client.post("/telegram/hook", json=update,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})

    assert (missing.status_code, wrong.status_code, right.status_code) == (403, 403, 200)
    assert len(api.updates) == 1


async def test_a_signed_payment_for_a_shop_goes_to_that_shop_only(api: Api) -> None:
    await registered(api)
    await registered(api, "S-XX")

    await api.events(paid("p-a", "PAY-A", shop_id="S-GB"))

    assert (await balance_of(api.deps.db, "S-XX"))[0] == 0


async def shop_a_buttons(chat: Chat) -> list[str]:
    """Every button S-GB's owner and the operator were shown, mid-flow where it matters."""
    await chat.event(type="fx.rate", event_id="fx", base="GBP", quote="CNY", rate="9.1")
    await chat.say(f"!as {OWNER} en", "/balance", "/history", "/shops", "/faq")
    await chat.say("/topup 100", "/withdraw 30", "!press Corporate bank account",
                   "Acme Trading Ltd", "ICBC 6222000011112222")
    await chat.say(f"!as {OPERATOR} en", "/deduct S-GB 10 fraud coupon abuse")
    return [b["callback_data"] for s in chat.box.shown if s.chat_id in (OWNER, OPERATOR)
            for row in s.keyboard for b in row if "callback_data" in b]


async def shop_a(chat: Chat) -> list[Any]:
    conn = chat.box.deps.db.conn
    found = await balance_of(chat.box.deps.db)
    for sql in ("SELECT withdrawal_id, status FROM withdrawals WHERE shop_id = 'S-GB'",
                "SELECT ref, status FROM quotes WHERE shop_id = 'S-GB'",
                "SELECT count(*) FROM closures WHERE shop_id = 'S-GB'"):
        async with conn.execute(sql) as cur:
            found.append(sorted(tuple(r) for r in await cur.fetchall()))
    return found


@pytest.mark.parametrize("intruder", [OTHER_OWNER, STRANGER])
async def test_shop_a_buttons_pressed_by_someone_else_act_on_nothing_and_reveal_nothing(
        staff: Chat, intruder: int) -> None:
    await two_shops(staff)
    buttons = await shop_a_buttons(staff)
    before, seen = await shop_a(staff), len(staff.box.request.calls)

    for data in buttons:
        await staff.say(f"!as {intruder} en")
        await staff.box._callback(staff.box.shown[-1], data)
    staff.box._flush()
    told = [str(c.params.get("text", "")) for c in staff.box.request.calls[seen:]]

    assert len(buttons) >= 15, buttons
    assert any(d.startswith("wd:ok:") for d in buttons) and any(
        d.startswith("dd:ok:") for d in buttons) and any(d.startswith("tu:m:") for d in buttons)
    assert await shop_a(staff) == before
    assert [t for t in told if any(secret in t for secret in SHOP_A)] == []
    out = await staff.say(f"!as {OWNER} en", "!press Confirm withdrawal")
    assert "submitted" in out  # the owner's own flow was untouched by the presses
