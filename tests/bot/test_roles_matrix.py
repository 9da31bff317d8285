"""Every staff and seller command × owner, staff, another shop's owner, stranger, agent, operator.

Refusals must be indistinguishable from an unknown command — for an existing shop and a
made-up one alike — and must name no shop, entity, balance or amount.
"""

from __future__ import annotations

import pytest

from bot.storage.staff import Audit
from bot.storage.support import Tickets
from tests.bot.conftest import Chat
from tests.bot.staff_chat import (
    AGENT,
    OPERATOR,
    OTHER_OWNER,
    OWNER,
    STAFF,
    STRANGER,
    UNKNOWN,
    balance,
    staff,
    two_shops,
)

__all__ = ["staff"]
PEOPLE = {"owner": OWNER, "staff": STAFF, "other owner": OTHER_OWNER, "stranger": STRANGER,
          "agent": AGENT, "operator": OPERATOR}
AGENTS = {"agent", "operator"}
OPERATORS = {"operator"}
STAFF_COMMANDS = {  # command → who may run it; {shop} is S-GB or a shop that does not exist
    "/lookup {shop}": AGENTS,
    "/queue": AGENTS,
    "/queue stats": AGENTS,
    "/kb {shop}": AGENTS,
    "/credit P-NEW 100 GBP": OPERATORS,
    "/deduct {shop} 10 fraud coupon abuse": OPERATORS,
    "/fx GBP CNY 8.01": OPERATORS,
    "/remind {shop}": OPERATORS,
    "/link {shop} staff": OPERATORS,
    "/grant 4242 agent": OPERATORS,
    "/revoke 4242 agent": OPERATORS,
}
SECRETS = ("S-GB", "Acme", "800", "£", "GBP", "S-NOPE")


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("command", STAFF_COMMANDS)
async def test_staff_commands_run_for_their_role_and_are_refused_like_unknown_ones(
        staff: Chat, command: str, person: str) -> None:
    await two_shops(staff)
    await staff.say(f"!as {PEOPLE[person]} en")
    unknown = await staff.say("/nosuchcommand")
    before = await balance(staff)

    real = await staff.say(command.format(shop="S-GB"))
    made_up = await staff.say(command.format(shop="S-NOPE"))

    if person in STAFF_COMMANDS[command]:
        assert real != unknown and UNKNOWN not in real
    else:
        assert real == unknown == made_up == f"bot> {UNKNOWN}\n"
        assert leaks(real) == []
        assert await balance(staff) == before  # nothing moved
        entries = await Audit(staff.box.deps.db).entries(2)
        assert [e.outcome for e in entries] == ["refused", "refused"]


@pytest.mark.parametrize("person", PEOPLE)
async def test_a_refused_deduction_button_moves_no_money(staff: Chat, person: str) -> None:
    await two_shops(staff)
    await staff.say(f"!as {OPERATOR} en", "/deduct S-GB 10 fraud coupon abuse")
    button = staff.box.shown[-1]
    before = await balance(staff)

    await staff.say(f"!as {PEOPLE[person]} en")
    await staff.box._callback(button, button.keyboard[0][0]["callback_data"])
    staff.box._flush()

    moved = before.amount - (await balance(staff)).amount
    assert moved == (10 if person == "operator" else 0)


SELLER_VIEW = {  # command → who sees S-GB's figures
    "/balance": {"owner", "staff"},
    "/history": {"owner", "staff"},
}


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("command", SELLER_VIEW)
async def test_seller_commands_show_a_shop_only_to_its_members(
        staff: Chat, command: str, person: str) -> None:
    await two_shops(staff)

    out = await staff.say(f"!as {PEOPLE[person]} en", command)

    assert ("Acme Trading Ltd" in out) is (person in SELLER_VIEW[command])


@pytest.mark.parametrize("person", PEOPLE)
async def test_only_the_owner_starts_a_withdrawal(staff: Chat, person: str) -> None:
    await two_shops(staff)

    out = await staff.say(f"!as {PEOPLE[person]} en", "/withdraw")

    assert ("Acme Trading Ltd" in out) is (person == "owner")
    assert "£" not in out or person == "owner"


@pytest.mark.parametrize("person", PEOPLE)
async def test_tickets_show_another_sellers_ticket_only_to_agents(staff: Chat,
                                                                  person: str) -> None:
    await two_shops(staff)
    await staff.say(f"!as {OWNER} en", "/support SECRET-QUESTION about my £800")

    out = await staff.say(f"!as {PEOPLE[person]} en", "/tickets")

    sees_it = "#1" in out
    assert sees_it is (person in AGENTS | {"owner"})
    if person not in AGENTS | {"owner"}:
        assert leaks(out) == [] and "SECRET" not in out


@pytest.mark.parametrize("person", PEOPLE)
async def test_resolve_closes_another_sellers_ticket_only_for_agents(staff: Chat,
                                                                     person: str) -> None:
    await two_shops(staff)
    await staff.say(f"!as {OWNER} en", "/support Question")

    out = await staff.say(f"!as {PEOPLE[person]} en", "/resolve 1")

    ticket = await Tickets(staff.box.deps.db).get(1)
    assert ticket is not None
    assert (not ticket.live) is (person in AGENTS | {"owner"})
    if person not in AGENTS | {"owner"}:
        assert "You have no open support ticket." in out and leaks(out) == []


@pytest.mark.parametrize("person", PEOPLE)
async def test_everyone_can_ask_support(staff: Chat, person: str) -> None:
    await two_shops(staff)

    out = await staff.say(f"!as {PEOPLE[person]} en", "/support Hello")

    assert "Ticket #1 is open" in out
