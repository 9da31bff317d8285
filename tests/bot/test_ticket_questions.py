"""With a ticket open, an FAQ-shaped question is answered and can be added to the ticket
(issue 14.12); other text still goes to the ticket."""

from __future__ import annotations

from tests.bot.conftest import Chat
from tests.bot.staff_chat import group_posts, staff
from tests.bot.staff_chat import two_shops as shops

__all__ = ["staff"]


async def test_a_question_the_faq_answers_is_answered_with_a_button_to_add_it(
        staff: Chat) -> None:
    await shops(staff)
    await staff.say("!as 501 en", "/support My bank transfer has not arrived")
    posts = len(group_posts(staff))

    answered = await staff.say("What is the minimum withdrawal?")
    added = await staff.say("!press Add this question to ticket #1")

    assert "Added to ticket #1" not in answered
    assert "minimum" in answered.lower() and "[Add this question to ticket #1]" in answered
    assert len(group_posts(staff)) == posts + 1
    assert "What is the minimum withdrawal?" in group_posts(staff)[-1]["text"]
    assert "Added to ticket #1." in added


async def test_a_statement_or_an_off_topic_question_still_goes_to_the_ticket(
        staff: Chat) -> None:
    await shops(staff)
    await staff.say("!as 501 en", "/support Where is my refund?")

    statement = await staff.say("My bank transfer has not arrived")
    follow_up = await staff.say("Thank you, and the fee?")
    chinese = await staff.say("保证金最低提现金额是多少？")

    assert "Added to ticket #1." in statement
    assert "Added to ticket #1." in follow_up
    assert "Added to ticket #1." not in chinese
