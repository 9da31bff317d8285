"""Issue #13 item 2: no money step is reached except from the step before it.

Each money button of every flow is forged (its real callback data, pressed at a step where
the flow does not offer it): nothing is submitted, and the flow stays where it was.
"""

from __future__ import annotations

import pytest

from domain.errors import DepositError, IncompleteDestination
from domain.model import Destination
from domain.policy import load_policy
from domain.withdrawals import check_destination
from tests.bot.conftest import Chat, register
from tests.unit.test_withdrawals import shop

ENTITY = "Acme Trading Ltd"


async def _funded(chat: Chat) -> None:
    await register(chat, region="HK", market="US", shop_id="S-US", name=ENTITY)
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-US",
                     payment_ref="R1", amount="800", currency="USD")


async def _withdrawal_id(chat: Chat) -> str:
    async with chat.box.deps.db.lock, chat.box.deps.db.conn.execute(
            "SELECT withdrawal_id FROM withdrawals ORDER BY created_at DESC") as cur:
        row = await cur.fetchone()
    assert row is not None
    return str(row[0])


async def _statuses(chat: Chat) -> list[str]:
    db = chat.box.deps.db
    async with db.lock, db.conn.execute("SELECT status FROM withdrawals") as cur:
        return [str(r[0]) for r in await cur.fetchall()]


WITHDRAW_STEPS = {
    "destination": [],
    "name": ["!press PayPal account"],
    "account": ["!press PayPal account", ENTITY],
}


@pytest.mark.parametrize("step", list(WITHDRAW_STEPS))
async def test_a_forged_confirm_before_the_summary_submits_nothing(chat: Chat, step: str) -> None:
    await _funded(chat)
    await chat.say("!as 501 en", "/withdraw 100", *WITHDRAW_STEPS[step])
    wid = await _withdrawal_id(chat)

    await chat.box._callback(chat.box.shown[-1], f"wd:ok:{wid}")
    out = await chat.say("!echo pressed")

    assert await _statuses(chat) == ["held"]
    assert "submitted" not in out
    answers = chat.calls("answerCallbackQuery")
    assert answers[-1].get("text") == "That button is no longer valid."


@pytest.mark.parametrize("step", ["name", "account"])
async def test_a_forged_destination_button_after_its_step_changes_nothing(
        chat: Chat, step: str) -> None:
    await _funded(chat)
    await chat.say("!as 501 en", "/withdraw 100", *WITHDRAW_STEPS[step])
    wid = await _withdrawal_id(chat)

    await chat.box._callback(chat.box.shown[-1], f"wd:d:corporate_bank:{wid}")
    await chat.say("finance@acme.example" if step == "account" else ENTITY)
    out = await chat.say("!echo after")

    assert await _statuses(chat) == ["held"]
    assert "submitted" not in out


async def test_the_flow_goes_on_after_a_forged_press(chat: Chat) -> None:
    await _funded(chat)
    await chat.say("!as 501 en", "/withdraw 100", "!press PayPal account")
    wid = await _withdrawal_id(chat)
    await chat.box._callback(chat.box.shown[-1], f"wd:ok:{wid}")

    await chat.say(ENTITY, "finance@acme.example")
    done = await chat.say("!press Confirm withdrawal")

    assert "submitted" in done
    assert await _statuses(chat) == ["confirmed"]


@pytest.mark.parametrize(("kind", "name", "account", "field"), [
    ("paypal", ENTITY, "None", "account"),
    ("paypal", ENTITY, "", "account"),
    ("corporate_bank", ENTITY, "None", "account"),
    ("corporate_bank", ENTITY, "   ", "account"),
    ("None", ENTITY, "ICBC 1", "kind"),
    ("paypal", "None", "a@b.example", "account_name"),
])
def test_a_destination_without_every_field_is_invalid_in_the_domain(
        kind: str, name: str, account: str, field: str) -> None:
    hk = shop(company_region="HK").with_changes(entity_name=ENTITY)

    with pytest.raises(DepositError) as caught:
        check_destination(hk, Destination(kind, name, account), load_policy())

    if field == "account":
        assert isinstance(caught.value, IncompleteDestination)
        assert caught.value.field == "account"


CLOSE_STEPS = ["intro", "code", "reason", "checklist", "agreement", "name", "account"]
CLOSE_OFFERS = {"sign": {"checklist"}, "agree": {"agreement"}, "ok": set()}


async def _walk_close(chat: Chat, step: str) -> None:
    from tests.bot.test_close import last_code

    lines = {"intro": ["/close"], "code": ["!press Continue"], "reason": ["<code>"],
             "checklist": ["Moving to another market"], "agreement": ["!press Sign agreement"],
             "name": ["!press I agree and sign"], "account": [ENTITY_GB]}
    await chat.say("!as 501 en")
    for name in CLOSE_STEPS[:CLOSE_STEPS.index(step) + 1]:
        for line in lines[name]:
            await chat.say(last_code(chat) if line == "<code>" else line)


ENTITY_GB = "Acme Trading Ltd"


async def _closure_state(chat: Chat) -> tuple[str | None, list[str]]:
    from domain.closure_service import closure_view

    d = chat.box.deps
    view = await closure_view(d.uow(), "S-GB", d.clock.now(), d.policy)
    return (view.closure.stage.value if view else None), await _statuses(chat)


@pytest.mark.parametrize(("button", "step"), [
    (b, s) for b in CLOSE_OFFERS for s in CLOSE_STEPS if s not in CLOSE_OFFERS[b]])
async def test_a_forged_closing_button_at_a_step_that_does_not_offer_it_changes_nothing(
        chat: Chat, button: str, step: str) -> None:
    from bot.handlers.common import shop_token
    from tests.bot.test_close import ready_shop

    await ready_shop(chat)
    await _walk_close(chat, step)
    before = await _closure_state(chat)

    await chat.box._callback(chat.box.shown[-1], f"cl:{button}:{shop_token('S-GB')}")
    await chat.say("!echo pressed")

    assert await _closure_state(chat) == before
    assert "confirmed" not in before[1]


async def test_a_forged_payment_method_after_the_top_up_ended_creates_no_reference(
        chat: Chat) -> None:
    await _funded(chat)
    await chat.event(type="fx.rate", event_id="fx1", base="USD", quote="HKD", rate="7.8")
    await chat.say("!as 501 en", "/topup 100")
    quote_keyboard = chat.box.shown[-1]
    data = quote_keyboard.keyboard[0][0]["callback_data"]
    await chat.say("/cancel")

    await chat.box._callback(quote_keyboard, data)
    out = await chat.say("!echo pressed")

    assert "reference" not in out.lower()
    db = chat.box.deps.db
    async with db.lock, db.conn.execute("SELECT count(*) FROM quotes WHERE method IS NOT NULL"
                                        ) as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == 0
