"""Issue #17 item 2: the state machine is the only door of each flow.

The states named in each flow's diagram (`*.mmd` beside its conversation) are the states
of its ConversationHandler; every button of a flow is registered inside its conversation
(no top-level handler for it); the state names stored by persistence do not change.
"""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import CallbackQueryHandler, ConversationHandler

from bot.channels import PrintedChannel
from bot.context import Deps
from bot.conversations import close, topup, withdraw
from bot.conversations.close import build_close
from bot.conversations.topup import build_topup
from bot.conversations.withdraw import build_withdraw
from bot.sandbox.chat import Sandbox
from bot.storage.db import Database
from tests.bot.conftest import Chat, register

CONVERSATIONS = Path(topup.__file__).parent
FLOWS: dict[str, tuple[Any, type[enum.Enum]]] = {
    "topup": (build_topup, topup.State),
    "withdraw": (build_withdraw, withdraw.State),
    "close": (build_close, close.State),
}
PREFIXES = {"topup": "tu:", "withdraw": "wd:", "close": "cl:"}
TRANSITION = re.compile(r"^\s*(\S+)\s*-->\s*([^\s:]+)\s*(?::.*)?$")
DECLARED = re.compile(r"^\s*state\s+(\S+)")

# Persistence stores these strings (ptb_conversations.state, under the conversation's name):
# a conversation stored before a change resumes only if they stay. Renaming one needs a
# migration of the stored rows.
PERSISTED = {
    "topup": {"topup.amount", "topup.method"},
    "withdraw": {"withdraw.amount", "withdraw.destination", "withdraw.name",
                 "withdraw.account", "withdraw.confirm"},
    "close": {"close.intro", "close.code", "close.reason", "close.checklist",
              "close.agreement", "close.destination", "close.name", "close.account",
              "close.confirm", "close.submitted"},
}


def diagram_states(path: Path) -> set[str]:
    """The state names a mermaid stateDiagram mentions ([*] is start/end, not a state)."""
    names: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("%%"):
            continue
        if found := TRANSITION.match(line):
            names.update(found.groups())
        elif found := DECLARED.match(line):
            names.add(found.group(1))
    names.discard("[*]")
    return names


def diagrams() -> dict[str, Path]:
    return {p.stem: p for p in CONVERSATIONS.rglob("*.mmd")}


def test_every_flow_has_a_diagram_and_every_diagram_a_flow() -> None:
    assert set(diagrams()) == set(FLOWS)


@pytest.mark.parametrize("name", list(FLOWS))
def test_the_diagram_names_the_states_of_the_conversation(name: str) -> None:
    build, states = FLOWS[name]
    handler: ConversationHandler[Any] = build(persistent=False)

    in_code = {states(s).name for s in handler.states}

    assert diagram_states(diagrams()[name]) == in_code
    assert in_code == {s.name for s in states}  # every state constant has its handlers


@pytest.mark.parametrize("name", list(FLOWS))
def test_the_stored_state_names_do_not_change(name: str) -> None:
    build, states = FLOWS[name]
    handler: ConversationHandler[Any] = build()

    assert handler.name == name and handler.persistent
    assert {str(s) for s in handler.states} == {str(s) for s in states} == PERSISTED[name]


def _patterns(handlers: list[Any]) -> list[str]:
    return [h.pattern.pattern for h in handlers
            if isinstance(h, CallbackQueryHandler) and h.pattern is not None]


@pytest.mark.parametrize("name", list(FLOWS))
def test_a_press_outside_the_states_that_show_it_reaches_the_fallbacks(name: str) -> None:
    build, _ = FLOWS[name]
    handler: ConversationHandler[Any] = build(persistent=False)

    assert f"^{PREFIXES[name]}" in _patterns(handler.fallbacks)  # the stale-press catch-all


async def test_no_flow_button_is_handled_outside_its_conversation(chat: Chat) -> None:
    from bot.handlers.commands import Presses

    top_level = [p for group in chat.box.app.handlers.values()
                 for p in _patterns([i for h in group if not isinstance(h, ConversationHandler)
                                     for i in (h.handlers if isinstance(h, Presses) else [h])])]
    assert top_level  # the button handlers were found (inside the Presses router)

    assert not [p for p in top_level if p.startswith(tuple(f"^{x}" for x in PREFIXES.values()))]


async def test_a_forged_destination_at_the_amount_step_is_answered_and_the_flow_goes_on(
        chat: Chat) -> None:
    await register(chat, region="HK", market="US", shop_id="S-US")
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-US",
                     payment_ref="R1", amount="800", currency="USD")
    await chat.say("!as 501 en", "/withdraw")

    await chat.box._callback(chat.box.shown[-1], "wd:d:paypal:W-FORGED")
    answer = chat.calls("answerCallbackQuery")[-1]
    out = await chat.say("100")

    assert answer.get("text") == "That button is no longer valid."
    assert "$100.00 is now held for this withdrawal" in out


async def test_a_late_confirm_after_the_withdrawal_ended_says_what_became_of_it(
        chat: Chat) -> None:
    await register(chat, region="CN", market="US", shop_id="S-US")
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-US",
                     payment_ref="R1", amount="800", currency="USD")
    await chat.say("!as 501 en", "/withdraw 100", "!press Corporate bank account",
                   "Acme Trading Ltd", "ICBC 6222 1234")
    summary = chat.box.shown[-1]
    await chat.say("/cancel")

    await chat.box._callback(summary, summary.keyboard[0][0]["callback_data"])
    out = await chat.say("!echo pressed", "/balance")

    assert "no longer open (cancelled or expired); nothing was sent" in out
    assert "In withdrawal: $0.00" in out


async def test_a_withdrawal_stored_at_its_summary_is_confirmed_after_a_restart(
        chat: Chat, db_target: Any) -> None:
    await register(chat, region="CN", market="US", shop_id="S-US")
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-US",
                     payment_ref="R1", amount="800", currency="USD")
    await chat.say("!as 501 en", "/withdraw 100", "!press Corporate bank account",
                   "Acme Trading Ltd", "ICBC 6222 1234")
    summary = chat.box.shown[-1]
    d = chat.box.deps
    db = await Database.open(db_target)
    restarted = Sandbox(Deps(db, d.policy, chat.box.clock, PrintedChannel(chat.out)),
                        chat.box.clock, chat.out)

    async with restarted.app:  # loads the stored conversation and draft, as after a restart
        await restarted.handle("!as 501 en")
        await restarted._callback(summary, summary.keyboard[0][0]["callback_data"])
        restarted._flush()

    assert "Withdrawal W" in chat.out.getvalue().rsplit("Confirm the withdrawal", 1)[1]
    assert "submitted" in chat.out.getvalue().rsplit("Confirm the withdrawal", 1)[1]


@pytest.mark.parametrize(("name", "pattern"), [("topup", "^tu:start:"),
                                               ("withdraw", "^wd:start:")])
def test_the_start_buttons_of_cards_pushes_and_digests_stay_entry_points(
        name: str, pattern: str) -> None:
    build, _ = FLOWS[name]
    handler: ConversationHandler[Any] = build(persistent=False)

    assert pattern in _patterns(handler.entry_points)
