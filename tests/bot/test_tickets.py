"""Support tickets through the real Application: seller → support group → agent → seller."""

from __future__ import annotations

from bot.sandbox.chat import Shown
from bot.storage.support import Tickets, TicketStatus
from tests.bot.conftest import Chat
from tests.bot.staff_chat import AGENT, GROUP, OWNER, STRANGER, group_posts, staff, to_user
from tests.bot.staff_chat import two_shops as shops

__all__ = ["staff"]


async def status_of(chat: Chat, ticket_id: int = 1) -> TicketStatus:
    ticket = await Tickets(chat.box.deps.db).get(ticket_id)
    assert ticket is not None
    return ticket.status


async def test_a_ticket_goes_from_seller_to_the_group_to_the_agent_and_back(staff: Chat) -> None:
    await shops(staff)

    asked = await staff.say("!as 501 en", "/support")
    opened = await staff.say("My bank transfer has not arrived")
    post = group_posts(staff)[-1]
    answered = await staff.say(f"!as {AGENT} en", "!reply #1 We found it; it is credited today.")
    seller_sees = to_user(staff, OWNER)[-1]
    status_after_answer = await status_of(staff)
    follow_up = await staff.say("!as 501", "Thank you, and the fee?")
    threaded = group_posts(staff)[-1]
    resolved = await staff.say(f"!as {AGENT}", "!reply #1 /resolve")
    after = await staff.say("!as 501", "/tickets", "hello again")

    assert "What do you need help with?" in asked
    assert "Ticket #1 is open" in opened
    assert "Ticket #1" in post["text"] and "My bank transfer has not arrived" in post["text"]
    assert "Acme Trading Ltd" in post["text"] and "S-GB" in post["text"]
    assert "Balance £800.00" in post["text"] and "shortfall £0.00" in post["text"]
    assert "<b>Support replied</b> (ticket #1)" in seller_sees
    assert "We found it; it is credited today." in seller_sees
    assert "Sent to the seller (ticket #1)." in answered
    assert status_after_answer is TicketStatus.ANSWERED
    assert "Added to ticket #1." in follow_up
    assert "Thank you, and the fee?" in threaded["text"]
    assert threaded["reply_parameters"]["message_id"] == _message_id(staff, post)
    assert "Support resolved ticket #1." in resolved
    assert "#1 · resolved" in after
    assert len([p for p in group_posts(staff) if "hello again" in p["text"]]) == 0
    assert await status_of(staff) is TicketStatus.RESOLVED


def _message_id(chat: Chat, params: dict[str, object]) -> int:
    call = next(c for c in chat.box.request.calls if c.params is params)
    return int(call.result["message_id"])


async def test_every_message_of_the_ticket_is_stored(staff: Chat) -> None:
    await shops(staff)

    await staff.say("!as 501 en", "/support Where is my refund?", "It was due Monday")
    await staff.say(f"!as {AGENT} en", "!reply Monday It is on its way.")

    messages = await Tickets(staff.box.deps.db).messages(1)
    assert [(m.author, m.text) for m in messages] == [
        ("seller", "Where is my refund?"), ("seller", "It was due Monday"),
        ("agent", "It is on its way.")]


async def test_support_with_a_live_ticket_shows_its_status(staff: Chat) -> None:
    await shops(staff)

    await staff.say("!as 501 en", "/support Help with /withdraw please")
    out = await staff.say("/support")

    assert "Your support ticket: #1 · open, waiting for support" in out
    assert len(group_posts(staff)) == 1


async def test_the_seller_can_close_their_own_ticket(staff: Chat) -> None:
    await shops(staff)

    await staff.say("!as 501 en", "/support Never mind")
    out = await staff.say("/resolve")
    again = await staff.say("/resolve")

    assert "Ticket #1 is closed." in out
    assert "Ticket #1 was closed by the seller." in group_posts(staff)[-1]["text"]
    assert "You have no open support ticket." in again


async def test_an_agent_resolves_by_id_from_a_private_chat(staff: Chat) -> None:
    await shops(staff)
    await staff.say("!as 501 en", "/support Question")

    out = await staff.say(f"!as {AGENT} en", "/resolve 1")
    twice = await staff.say("/resolve #1")

    assert "Ticket #1 resolved by agent 900." in out
    assert "Support resolved ticket #1." in to_user(staff, OWNER)[-1]
    assert "Ticket #1 is already resolved." in twice


async def test_agents_list_open_tickets_and_a_seller_only_their_own(staff: Chat) -> None:
    await shops(staff)
    await staff.say("!as 501 en", "/support First shop question")
    await staff.say("!as 601 en", "/support Other shop question")

    agent = await staff.say(f"!as {AGENT} en", "/tickets")
    other = await staff.say("!as 601", "/tickets")

    assert "#1 · S-GB · seller 501" in agent and "#2 · S-US · seller 601" in agent
    assert "#2 · open" in other and "#1" not in other


async def test_a_reply_from_someone_who_is_not_an_agent_is_not_delivered(staff: Chat) -> None:
    await shops(staff)
    await staff.say("!as 501 en", "/support Question")

    out = await staff.say(f"!as {STRANGER} en", "!reply #1 I am not support")

    assert "Only support agents can answer tickets." in out
    assert not any("I am not support" in text for text in to_user(staff, OWNER))


async def test_a_reply_to_a_resolved_ticket_is_not_delivered(staff: Chat) -> None:
    await shops(staff)
    await staff.say("!as 501 en", "/support Question", "/resolve")

    out = await staff.say(f"!as {AGENT} en", "!reply #1 Late answer")

    assert "Ticket #1 is resolved; nothing was sent." in out
    assert not any("Late answer" in text for text in to_user(staff, OWNER))


async def test_other_group_chatter_is_left_alone(staff: Chat) -> None:
    await shops(staff)
    await staff.say("!as 501 en", "/support Question")
    await staff.say(f"!as {AGENT} en", "!reply #1 Answer")
    sent = len(staff.calls("sendMessage"))

    out = await staff.say("!reply Sent Colleagues: this one is done")

    assert out == ""
    assert len(staff.calls("sendMessage")) == sent


async def test_someone_without_a_shop_can_still_reach_support(staff: Chat) -> None:
    out = await staff.say(f"!as {STRANGER} en", "/support I cannot find my shop")

    assert "Ticket #1 is open" in out
    assert "No shop is linked to this Telegram account." in group_posts(staff)[-1]["text"]


async def test_a_chinese_seller_reads_our_words_in_chinese_and_the_agents_as_written(
        staff: Chat) -> None:
    await shops(staff)
    await staff.say("!as 501 zh-hans", "/support 我的转账还没到账")

    await staff.say(f"!as {AGENT} en", "!reply #1 Credited, thanks!")

    text = to_user(staff, OWNER)[-1]
    assert "客服" in text and "Credited, thanks!" in text


async def test_the_contact_support_button_asks_for_the_message(staff: Chat) -> None:
    await shops(staff)
    await staff.say("!as 501 en")

    await staff.box._callback(Shown(OWNER, 1, []), "sup:new")
    staff.box._flush()
    await staff.say("The FAQ did not answer me")

    assert "What do you need help with?" in staff.out.getvalue()
    assert "The FAQ did not answer me" in group_posts(staff)[-1]["text"]


async def test_cancel_after_support_opens_nothing(staff: Chat) -> None:
    await shops(staff)

    out = await staff.say("!as 501 en", "/support", "/cancel", "just chatting")

    assert "No ticket was opened." in out
    assert group_posts(staff) == []
    assert await Tickets(staff.box.deps.db).of_seller(OWNER) == []


async def test_seller_words_cannot_inject_markup(staff: Chat) -> None:
    await shops(staff)

    await staff.say("!as 501 en", "/support <b>bold</b> & <a href='x'>link</a>")

    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;a" in group_posts(staff)[-1]["text"]


async def test_without_a_support_group_the_ticket_is_still_kept(chat: Chat) -> None:
    from tests.bot.conftest import register

    await register(chat)

    out = await chat.say("!as 501 en", "/support Anyone there?")

    assert "Ticket #1 is open" in out
    assert all(int(c["chat_id"]) != GROUP for c in chat.calls("sendMessage"))
    assert len(await Tickets(chat.box.deps.db).live()) == 1
