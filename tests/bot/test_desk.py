"""The support desk through the real Application: forum topics, header, claim, SLA, /kb,
ratings, roles (issue #18). The stand-in plays a forum supergroup after `!forum`."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram.error import BadRequest

from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.sandbox.chat import Sandbox, Shown
from bot.sandbox.recording import Failure
from bot.storage.db import Database
from bot.storage.desk import Desk
from bot.storage.ops import gauges
from bot.storage.support import Tickets, TicketStatus
from domain.policy import load_policy
from tests.bot.conftest import START, Chat
from tests.bot.staff_chat import (
    AGENT,
    GROUP,
    OPERATOR,
    OWNER,
    STRANGER,
    UNKNOWN,
    group_posts,
    staff,
    to_user,
)
from tests.bot.staff_chat import two_shops as shops

__all__ = ["staff"]


async def _chat(tmp_path: Any, **settings: Any) -> AsyncIterator[Chat]:
    db = await Database.open(tmp_path / "bot.db")
    out = io.StringIO()
    clock = ManualClock(START)
    deps = Deps(db, load_policy(), clock, PrintedChannel(out), support_chat_id=GROUP,
                operators=frozenset({OPERATOR}), agents=frozenset({AGENT}), **settings)
    box = Sandbox(deps, clock, out)
    async with box.app:
        yield Chat(box, out)
    await db.close()


@pytest.fixture
async def forum(tmp_path: Any) -> AsyncIterator[Chat]:
    """The support group is a forum supergroup where the bot may manage topics."""
    async for chat in _chat(tmp_path):
        await chat.say("!forum")
        yield chat


@pytest.fixture
async def forum_zh(tmp_path: Any) -> AsyncIterator[Chat]:
    """A forum whose agents read Simplified Chinese (DEPOSIT_SUPPORT_LANGUAGE=zh_Hans)."""
    async for chat in _chat(tmp_path, support_language="zh_Hans",
                            support_agent_names=True):
        await chat.say("!forum")
        yield chat


def topic(chat: Chat, n: int = -1) -> int:
    """The thread id of the n-th topic the bot created."""
    made = [c for c in chat.box.request.calls if c.method == "createForumTopic"]
    return int(made[n].result["message_thread_id"])


async def press_data(chat: Chat, chat_id: int, data: str) -> str:
    """Press a button by its callback data (an old button still on screen)."""
    start = len(chat.out.getvalue())
    await chat.box._callback(Shown(chat_id, 1, []), data)
    chat.box._flush()
    return chat.out.getvalue()[start:]


def in_topic(chat: Chat, thread: int) -> list[dict[str, Any]]:
    return [c for c in group_posts(chat) if c.get("message_thread_id") == thread]


async def ticket_of(chat: Chat, ticket_id: int = 1) -> Any:
    return await Tickets(chat.box.deps.db).get(ticket_id)


async def test_a_ticket_gets_its_own_topic_and_the_conversation_is_mirrored_both_ways(
        forum: Chat) -> None:
    await shops(forum)

    await forum.say("!as 501 en", "/support My bank transfer has not arrived yet, please check")
    thread = topic(forum)
    await forum.say("It was sent on Monday")
    answered = await forum.say(f"!as {AGENT} en", f"!topic {thread}", "Found it, credited today.")
    closed = await forum.say("/resolve")

    created = forum.calls("createForumTopic")[0]
    assert int(created["chat_id"]) == GROUP
    assert created["name"] == "#1 · S-GB · My bank transfer has not arrived yet, please…"
    header, follow_up = in_topic(forum, thread)[:2]
    assert "Ticket #1" in header["text"] and "Balance £800.00" in header["text"]
    assert "The seller reads: English" in header["text"]
    assert [b["text"] for b in header["reply_markup"]["inline_keyboard"][0]] == [
        "Claim", "Refresh"]
    assert "It was sent on Monday" in follow_up["text"]
    assert "reply_parameters" not in follow_up
    assert "Found it, credited today." in to_user(forum, OWNER)[-2]
    assert "<b>Support replied</b> (ticket #1)" in to_user(forum, OWNER)[-2]
    assert "Sent to the seller (ticket #1)." in answered
    assert f"topic> {GROUP}/{thread} closed" in closed
    assert forum.calls("closeForumTopic")[0]["message_thread_id"] == thread
    assert (await ticket_of(forum)).status is TicketStatus.RESOLVED


async def test_a_chinese_seller_reads_support_in_chinese_and_agents_see_which_language(
        forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 zh-hans", "/support 我的转账还没到账")
    thread = topic(forum)

    await forum.say(f"!as {AGENT} en", f"!topic {thread}", "Credited, thanks!")

    assert "The seller reads: Simplified Chinese" in in_topic(forum, thread)[0]["text"]
    seller = to_user(forum, OWNER)[-1]
    assert "客服回复" in seller and "Credited, thanks!" in seller


async def test_the_header_is_in_the_groups_language_and_names_agents_when_opted_in(
        forum_zh: Chat) -> None:
    await shops(forum_zh)
    await forum_zh.say("!as 501 en", "/support Where is my money?")
    thread = topic(forum_zh)

    await forum_zh.say(f"!as {AGENT} zh-hans", f"!topic {thread}", "We are on it.")

    header = in_topic(forum_zh, thread)[0]
    assert "工单 #1" in header["text"] and "卖家使用的语言：英语" in header["text"]
    assert [b["text"] for b in header["reply_markup"]["inline_keyboard"][0]] == ["认领", "刷新"]
    assert "<b>User 900 from support replied</b> (ticket #1)" in to_user(forum_zh, OWNER)[-1]


async def test_a_plain_group_keeps_replies_and_the_stand_in_refuses_topics(
        staff: Chat, caplog: pytest.LogCaptureFixture) -> None:
    await shops(staff)

    with caplog.at_level(logging.WARNING):
        await staff.say("!as 501 en", "/support First question", "!as 601 en",
                        "/support Second question")

    refused = [c for c in staff.box.request.calls if c.method == "createForumTopic"]
    assert len(refused) == 1 and refused[0].result.description == (
        "Bad Request: the chat is not a forum")
    assert "no forum topic for ticket #1" in caplog.text
    assert all("message_thread_id" not in p for p in group_posts(staff))
    with pytest.raises(BadRequest, match="not a forum"):
        await staff.box.app.bot.close_forum_topic(GROUP, 5)
    with pytest.raises(BadRequest, match="thread not found"):
        await staff.box.app.bot.send_message(GROUP, "x", message_thread_id=5)


async def test_without_the_manage_topics_right_the_ticket_falls_back_to_replies(
        forum: Chat, caplog: pytest.LogCaptureFixture) -> None:
    await shops(forum)
    forum.box.request.fail_method("createForumTopic", Failure(
        400, "Bad Request: not enough rights to create a topic"))

    with caplog.at_level(logging.WARNING):
        opened = await forum.say("!as 501 en", "/support Help please")
    answered = await forum.say(f"!as {AGENT} en", "!reply #1 Here to help.")

    assert "Ticket #1 is open" in opened
    assert "Not enough rights to create a topic" in caplog.text
    assert "Help please" in group_posts(forum)[0]["text"]
    assert "Sent to the seller (ticket #1)." in answered
    assert (await ticket_of(forum)).thread_id is None


async def test_photos_and_documents_are_mirrored_both_ways(forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 en", "/support The payment page fails")
    thread = topic(forum)

    await forum.say("!photo screen.png the error")
    await forum.say(f"!as {AGENT} en", f"!topic {thread}", "!document guide.pdf Follow step 3")

    photo = forum.calls("sendPhoto")[-1]
    assert int(photo["chat_id"]) == GROUP and photo["message_thread_id"] == thread
    assert photo["photo"] == "screen.png" and "the error" in photo["caption"]
    document = forum.calls("sendDocument")[-1]
    assert int(document["chat_id"]) == OWNER and document["document"] == "guide.pdf"
    assert "Support replied" in document["caption"] and "Follow step 3" in document["caption"]
    texts = [m.text for m in await Tickets(forum.box.deps.db).messages(1)]
    assert texts[1:] == ["[photo] the error", "[document] Follow step 3"]


async def test_a_file_without_a_ticket_is_not_sent_anywhere(forum: Chat) -> None:
    await shops(forum)

    out = await forum.say("!as 501 en", "!photo screen.png")

    assert "open a ticket first" in out
    assert group_posts(forum) == [] and forum.calls("sendPhoto") == []


async def test_only_agents_act_in_the_group(forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 en", "/support Question")
    thread = topic(forum)

    words = await forum.say(f"!as {STRANGER} en", f"!topic {thread}", "I am not support")
    press = await forum.say("!press Claim")
    queue = await forum.say("/queue")
    kb = await forum.say("/kb fee")
    resolve = await forum.say("/resolve")
    listed = await forum.say("/tickets")

    assert "Only support agents can answer tickets." in words
    assert not any("I am not support" in text for text in to_user(forum, OWNER))
    assert "Only support agents can do this." in press
    assert UNKNOWN in queue
    assert UNKNOWN in kb and UNKNOWN in resolve and UNKNOWN in listed
    assert (await ticket_of(forum)).claimed_by is None


async def test_claim_assigns_one_agent_and_everyone_sees_it(forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 en", "/support Question")
    thread = topic(forum)

    claimed = await forum.say(f"!as {AGENT} en", f"!topic {thread}", "!press Claim")
    header = forum.calls("editMessageText")[-1]
    await forum.say("!as 601 en", "/support Another question")
    queue = await forum.say(f"!as {OPERATOR} en", "/queue")
    taken = await forum.say("!press Claim #2", f"!topic {thread}", "!press Refresh")

    assert "You hold ticket #1 now." in claimed
    assert "Ticket #1 claimed by User 900 (id 900)." in claimed
    assert "Claimed by: User 900 (id 900)" in header["text"]
    assert [b["text"] for b in header["reply_markup"]["inline_keyboard"][0]] == ["Refresh"]
    assert "#1 · S-GB · waiting for an agent · waiting 1 minute · held by User 900" in queue
    assert "#2 · S-US" in queue and "[Claim #2]" in queue and "[Claim #1]" not in queue
    assert "You hold ticket #2 now." in taken and "Updated." in taken
    assert (await ticket_of(forum, 2)).claimed_by == OPERATOR


async def test_a_claimed_ticket_cannot_be_taken_by_another_agent(forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 en", "/support Question")
    await forum.say(f"!as {OPERATOR} en", "/queue", "!press Claim #1")

    out = await forum.say(f"!as {AGENT} en", "/queue")
    again = await press_data(forum, AGENT, "dk:c:1")

    assert "held by User 1 (id 1)" in out
    assert "Ticket #1 is already held by User 1." in again
    assert (await ticket_of(forum)).claimed_by == OPERATOR


async def test_an_overdue_ticket_is_flagged_once_per_target(forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 en", "/support Nobody answers")
    thread = topic(forum)

    first = await forum.say("!clock +61m")
    second = await forum.say("!clock +1h", "!run-jobs")
    late = await forum.say("!clock +23h")
    queue = await forum.say(f"!as {AGENT} en", "/queue")

    assert "Ticket #1 has waited 61 minutes for a first response (target 60 minutes)" in first
    assert "first response" not in second
    assert "Ticket #1 is not resolved after 25 hours (target 24 hours)" in late
    assert "⚠ overdue" in queue
    assert len([p for p in in_topic(forum, thread) if "⚠" in p["text"]]) == 2


async def test_metrics_gauges_count_open_tickets_waits_and_times(forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 en", "/support First")
    thread = topic(forum)
    await forum.say("!clock +30m", f"!as {AGENT} en", f"!topic {thread}", "Answer", "!clock +1h",
                    "/resolve", "!as 601 en", "/support Second", "!clock +10m")

    found = await gauges(forum.box.deps.db, forum.box.deps.clock.now())

    assert found["deposit_tickets_open"][1] == 1
    assert found["deposit_tickets_oldest_wait_seconds"][1] == 600
    assert found["deposit_tickets_first_response_seconds"][1] == 1800
    assert found["deposit_tickets_resolution_seconds"][1] == 5400


async def test_an_agent_sends_a_knowledge_base_answer_in_the_sellers_language_and_figures(
        forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 zh-hans", "/support 我能提现多少")
    thread = topic(forum)

    choices = await forum.say(f"!as {AGENT} en", f"!topic {thread}", "/kb withdraw part")
    label = next(row[0]["text"] for row in forum.calls("sendMessage")[-1][
        "reply_markup"]["inline_keyboard"] if "withdraw part" in row[0]["text"])
    sent = await forum.say(f"!press {label}")

    assert "They receive it in their language" in choices
    seller = to_user(forum, OWNER)[-1]
    assert "客服回复" in seller and "£300.00" in seller
    assert "Sent to the seller in Simplified Chinese (ticket #1)" in sent
    assert "£300.00" in sent
    ticket = await ticket_of(forum)
    assert ticket.status is TicketStatus.ANSWERED and ticket.first_response_at is not None


async def test_the_header_shows_the_faq_answers_given_and_refreshes_its_figures(
        forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 en", "How is the required amount calculated?",
                    "/support Still unclear")
    thread = topic(forum)
    await forum.event(type="payment.confirmed", event_id="pay-2", shop_id="S-GB",
                      payment_ref="P-2", amount="100", currency="GBP")

    await forum.say(f"!as {AGENT} en", f"!topic {thread}", "!press Refresh")

    header = in_topic(forum, thread)[0]["text"]
    assert "FAQ answers the bot already gave:" in header
    assert "Still unclear" in header
    assert "Balance £900.00" in forum.calls("editMessageText")[-1]["text"]


async def test_a_rating_that_helped_is_stored_with_its_comment_and_shown(forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 en", "/support Question")
    thread = topic(forum)
    await forum.say(f"!as {AGENT} en", f"!topic {thread}", "Answer", "/resolve")

    rated = await forum.say("!as 501 en", "!press 👍 It helped")
    comment = await forum.say("Quick and clear")
    twice = await press_data(forum, OWNER, "rt:0:1:1")
    stats = await forum.say(f"!as {AGENT} en", "/queue stats")

    assert "write a comment" in rated
    assert "The seller rated ticket #1: it helped." in rated
    assert "Thank you for your comment." in comment
    assert "The seller's comment on ticket #1: Quick and clear" in comment
    assert "You already rated this answer." in twice
    ratings = await Desk(forum.box.deps.db).ratings(1)
    assert [(r.helped, r.comment) for r in ratings] == [(True, "Quick and clear")]
    assert "1 ticket" in stats and "helped 100% (1/1)" in stats


async def test_did_not_help_reopens_the_ticket_and_its_topic(forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 zh-hans", "/support 问题")
    thread = topic(forum)
    await forum.say(f"!as {AGENT} en", f"!topic {thread}", "Answer", "/resolve")

    out = await forum.say("!as 501 zh-hans", "!press 👎 没有帮助", "还是不行")

    assert f"topic> {GROUP}/{thread} reopened" in out
    assert "it did not help. The ticket is open again." in out
    assert "工单 #1 已重新打开" in out
    assert "还是不行" in in_topic(forum, thread)[-1]["text"]
    assert (await ticket_of(forum)).status is TicketStatus.OPEN
    ratings = await Desk(forum.box.deps.db).ratings(1)
    assert [(r.helped, r.comment) for r in ratings] == [(False, "还是不行")]


async def test_support_soon_after_a_resolve_reopens_later_opens_a_new_ticket(
        forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 en", "/support First", "/resolve")

    soon = await forum.say("/support One more thing")
    await forum.say("/resolve", "!clock +4d")
    later = await forum.say("/support A new matter")

    assert "Ticket #1 was reopened by the seller." in soon and "Added to ticket #1." in soon
    assert "Ticket #2 is open" in later
    assert len(forum.calls("createForumTopic")) == 2


async def test_account_numbers_typed_in_a_flow_never_reach_the_group(forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 en", "/support About my withdrawal")

    await forum.say("/withdraw 100", "!press Corporate bank account", "Acme Trading Ltd",
                    "ICBC 6222 1234")

    assert not any("6222" in str(p.get("text")) for p in group_posts(forum))
    assert all("6222" not in m.text for m in await Tickets(forum.box.deps.db).messages(1))


async def test_the_sandbox_names_topics_and_refuses_unknown_ones(forum: Chat) -> None:
    await shops(forum)

    opened = await forum.say("!as 501 en", "/support Hello")
    unknown = await forum.say(f"!as {AGENT} en", "!topic 999")

    assert f"topic> {GROUP}/{topic(forum)} created: #1 · S-GB · Hello" in opened
    assert f"bot@{GROUP}/{topic(forum)}> Ticket #1" in opened
    assert "error: no topic 999" in unknown


async def test_a_topic_deleted_by_hand_still_gets_the_sellers_words_in_the_group(
        forum: Chat) -> None:
    await shops(forum)
    await forum.say("!as 501 en", "/support Question")
    forum.box.request.topics.clear()  # someone deleted the topic in Telegram

    out = await forum.say("Are you there?")

    assert "Added to ticket #1." in out
    last = group_posts(forum)[-1]
    assert "Are you there?" in last["text"] and "message_thread_id" not in last


async def test_desk_messages_and_buttons_stay_within_telegrams_limits(forum: Chat) -> None:
    # PTB's AIORateLimiter paces each group at 20 requests a minute on the event loop's real
    # clock: the 21 tickets' topics and headers below would idle ~60 s of wall time for
    # nothing this test checks (sizes, not pace), so its per-group pace is off here only.
    forum.box.app.bot.rate_limiter._group_max_rate = 0  # type: ignore[union-attr]
    long = "Bitte " * 700  # a seller's message far beyond one Telegram message
    for seller in range(5001, 5022):  # one more than /queue shows
        await forum.say(f"!as {seller} en", f"/support {long}")

    await forum.say(f"!as {AGENT} en", "/queue", f"!topic {topic(forum)}", "/kb withdrawal")

    for call in forum.box.request.calls:
        text = str(call.params.get("text", ""))
        assert len(text) <= 4096, call.method
        assert len(str(call.params.get("name", ""))) <= 128
        for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
            assert all(len(b["callback_data"].encode()) <= 64 for b in row)
    queue = forum.calls("sendMessage")[-2]["text"]
    assert queue.count("\n") == 20


async def test_in_a_plain_group_the_header_keeps_its_buttons_and_kb_works_by_reply(
        staff: Chat) -> None:
    await shops(staff)
    await staff.say("!as 501 zh-hant", "/support 我可以提領多少？")

    claimed = await staff.say(f"!as {AGENT} en", "!group", "!press Claim")
    choices = await staff.say("!reply #1 /kb withdraw part")
    label = next(row[0]["text"] for row in staff.calls("sendMessage")[-1][
        "reply_markup"]["inline_keyboard"] if "withdraw part" in row[0]["text"])
    await staff.say(f"!press {label}", "!reply #1 /resolve")
    prompt = to_user(staff, OWNER)[-1]

    assert "You hold ticket #1 now." in claimed
    assert "Which answer goes to the seller of ticket #1?" in choices
    assert "客服回覆" in to_user(staff, OWNER)[-2] and "£300.00" in to_user(staff, OWNER)[-2]
    assert "這次解答對您有幫助嗎" in prompt
    assert "The seller reads: Traditional Chinese" in group_posts(staff)[0]["text"]
