"""Free text, related questions, /faq browsing and Contact support on the real Application."""

from __future__ import annotations

import json

from bot.storage.faq_misses import FaqMisses
from tests.bot.conftest import Chat, register


def _markup(raw: object) -> dict:  # type: ignore[type-arg]
    return json.loads(raw) if isinstance(raw, str) else raw  # type: ignore[return-value]


def keyboards(chat: Chat) -> list[list[list[dict[str, str]]]]:
    """The inline keyboards of every sendMessage so far."""
    return [_markup(c["reply_markup"])["inline_keyboard"]
            for c in chat.calls("sendMessage") if c.get("reply_markup")]


async def test_a_question_gets_the_answer_with_related_questions_and_support(chat: Chat) -> None:
    out = await chat.say("!as 42 en", "How long does it take to get my withdrawal?")

    assert "Where does a withdrawal go and how long does it take?" in out
    assert "3–5 business days" in out
    rows = keyboards(chat)[-1]
    assert 2 <= len(rows) <= 3
    assert all(r[0]["callback_data"].startswith("faq:a:") for r in rows[:-1])
    assert rows[-1][0] == {"text": "Contact support", "callback_data": "faq:s"}


async def test_pressing_a_related_question_shows_its_answer(chat: Chat) -> None:
    await chat.say("!as 42 en", "How is the payable amount in CNY calculated?")
    related = keyboards(chat)[-1][0][0]["text"]

    out = await chat.say(f"!press {related}")

    assert related in out
    assert "Contact support" in out


async def test_an_off_topic_question_is_not_guessed_and_offers_support(chat: Chat) -> None:
    out = await chat.say("!as 42 en", "Tell me a joke about cats")

    assert "I'm not sure I understood" in out
    assert "[Contact support]" in out
    support = await chat.say("!press Contact support")
    assert "#1" in support  # the question itself opened the ticket


async def test_a_chinese_question_is_answered_in_chinese(chat: Chat) -> None:
    hans = await chat.say("!as 42 zh-hans", "充值码转账要几天才能到账？")
    hant = await chat.say("!as 43 zh-hant", "保證金提現會退到哪裡？")

    assert "充值码" in hans and "1-7个工作日" in hans
    assert "對公" in hant
    assert "[联系客服]" in hans and "[聯繫客服]" in hant


async def test_faq_browses_topics_questions_and_answers_with_back(chat: Chat) -> None:
    topics = await chat.say("!as 42 en", "/faq")
    questions = await chat.say("!press Withdrawals")
    answer = await chat.say("!press My deposit is below 20 — can I still withdraw it?")
    back = await chat.say("!press « Back")
    home = await chat.say("!press « Back")

    assert "[Deposit basics]" in topics and "[Closing the shop and refunds]" in topics
    assert "[Where does a withdrawal go and how long does it take?]" in questions
    assert "minimum withdrawal is 20" in answer and "[« Back]" in answer
    assert "[My deposit is below 20 — can I still withdraw it?]" in back
    assert "[Withdrawals]" in home
    assert len(chat.calls("editMessageText")) == 4


async def test_the_answer_adds_the_sellers_own_required_amount(chat: Chat) -> None:
    await register(chat, scope=("apparel",))
    await chat.event(type="order.updated", event_id="o1", shop_id="S-GB", order_id="O-9",
                     category="electronics", status="completed",
                     after_sales_ends_at="2026-12-15T00:00:00+08:00")

    out = await chat.say("!as 501 en", "how is the required amount calculated")

    assert "For your shop Acme Trading Ltd · United Kingdom shop (S-GB)" in out
    assert "Your required amount is £2,000.00, set by Electronics (high risk tier)." in out
    assert ("pinned by 1 unfinished order until Dec 15, 2026, then expected to drop to £500.00"
            in out)


async def test_the_answer_adds_the_sellers_own_withdrawable_amount(chat: Chat) -> None:
    await register(chat)
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                     payment_ref="REF-1", amount="512", currency="GBP")

    out = await chat.say("!as 501 en", "what's the minimum withdrawal amount")

    assert "minimum withdrawal is 20" in out
    assert "Withdrawable: £12.00" in out


async def test_a_user_without_a_shop_gets_the_general_answer_only(chat: Chat) -> None:
    out = await chat.say("!as 42 en", "how is the required amount calculated")

    assert "highest tier" in out
    assert "For your shop" not in out
    assert "No shop is linked" not in out


async def test_a_forged_faq_button_is_refused(chat: Chat) -> None:
    await chat.say("!as 42 en", "/faq")
    update = {"update_id": 999, "callback_query": {
        "id": "cb1", "chat_instance": "x", "data": "faq:b:no-such-entry",
        "from": {"id": 42, "is_bot": False, "first_name": "U", "language_code": "en"}}}

    from telegram import Update

    await chat.box.app.process_update(Update.de_json(update, chat.box.app.bot))

    answers = chat.calls("answerCallbackQuery")
    assert answers[-1].get("text") == "That button is no longer valid."


async def test_asking_for_a_person_is_a_handoff_at_once_in_any_language(chat: Chat) -> None:
    english = await chat.say("!as 42 en", "i want to talk to a human")
    question = await chat.say("my withdrawal failed twice")
    cantonese = await chat.say("!as 43 zh-hant", "我要搵真人客服")

    assert "A person from our support team will answer" in english
    assert "not sure" not in english
    assert "Ticket #1 is open" in question
    assert "I'm not sure" not in cantonese and "#" not in cantonese
    assert "support" not in cantonese.lower()  # answered in Chinese


async def test_a_request_for_a_person_with_a_question_opens_the_ticket_with_it(
        chat: Chat) -> None:
    out = await chat.say("!as 42 en", "connect me to a real person, my deposit withdrawal "
                         "has been pending for 9 days")

    assert "Ticket #1 is open" in out


async def test_not_sure_offers_the_two_closest_questions_and_logs_the_miss(chat: Chat) -> None:
    out = await chat.say("!as 42 en", "deposit zebra quantum")
    rows = keyboards(chat)[-1]

    assert "I'm not sure I understood" in out
    assert [r[0]["callback_data"][:6] for r in rows[:-2]] in (["faq:a:"] * 2, ["faq:a:"], [])
    assert rows[-2][0]["callback_data"] == "sup:new"
    misses = await FaqMisses(chat.box.deps.db).recent()
    assert [(m.kind, m.question, m.language) for m in misses] == [
        ("unsure", "deposit zebra quantum", "en")]


async def test_contact_support_after_an_answer_is_logged_then_opens_the_ticket(
        chat: Chat) -> None:
    await chat.say("!as 42 en", "How long does it take to get my withdrawal?")

    out = await chat.say("!press Contact support")

    assert "Ticket #1 is open" in out
    misses = await FaqMisses(chat.box.deps.db).recent()
    assert misses[0].kind == "support_after_answer"
    assert misses[0].candidates[0][0] == "withdrawal_destination"


async def test_a_method_asked_by_name_is_judged_for_the_askers_company(chat: Chat) -> None:
    await register(chat, region="CN", rep="CN")

    out = await chat.say("!as 501 zh-hant", "可以用PayPal嗎")

    assert "您的公司可用的付款方式" in out
    assert "PayPal：您的公司不能使用。" in out


async def test_an_amount_the_seller_quotes_is_priced_at_the_latest_rate(chat: Chat) -> None:
    await register(chat, region="CN", rep="CN")
    await chat.event(type="fx.rate", event_id="fx1", base="GBP", quote="CNY", rate="9.00")

    out = await chat.say("!as 501 en", "how much do i pay for a 100 pounds top up")

    assert "fee £1.00, so £101.00 is converted" in out
    assert "CN¥909.00 to pay" in out
