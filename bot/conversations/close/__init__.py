"""/close: closing the shop and the full refund (SPEC §7), resumable at the step reached.

Steps: intro → code → reason → checklist (arrears) → agreement → destination → holder name →
account → confirm → submitted; the shop closes when the refund is paid out. Sending /close
again resumes: the closure's stage in the domain says where, and the draft's `step` (kept
with the conversation state) says which text the bot was waiting for. State diagram:
close.mmd beside this file. The conversation is the literal below; its callbacks live in
one module per stage:

    common.py     the states, the draft, the cl:ACTION:TOKEN buttons, refusals explained
    resume.py     /close (resume at the stage reached), Refresh checklist, Send a new code
    intro.py      step 1: steps and cautions; a failed application; a closed shop
    identity.py   step 2: Continue, the one-time code, the reason, verification
    checklist.py  steps 3–4: the closing conditions and the arrears
    agreement.py  step 5: Sign agreement, I agree and sign
    refund.py     step 6: destination, holder name, account, the held summary, submitted
    submit.py     step 6's summary: Confirm refund, Change account
    leave.py      cancel (before signing), buttons of an earlier step, /reopen
"""

from __future__ import annotations

from typing import Any

from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.conversations.close.agreement import agree, sign
from bot.conversations.close.common import FLOW, State
from bot.conversations.close.identity import code_sent, go, reason_sent
from bot.conversations.close.leave import cancel, reopen, stale
from bot.conversations.close.refund import account_sent, destination, name_sent
from bot.conversations.close.resume import close, new_code, refresh
from bot.conversations.close.submit import change, confirm
from bot.conversations.flow import ActiveFlow

__all__ = ["FLOW", "State", "build_close", "close", "reopen"]


def build_close(persistent: bool = True) -> ConversationHandler:  # type: ignore[type-arg]
    """The /close conversation (register before the app's catch-all handlers); each button
    is live only in the states that show it, any other cl: press reaches `stale`."""
    text = filters.TEXT & ~filters.COMMAND & ActiveFlow(FLOW)

    def button(callback: Any, action: str) -> CallbackQueryHandler:  # type: ignore[type-arg]
        return CallbackQueryHandler(callback, pattern=rf"^cl:{action}:")

    return ConversationHandler(
        entry_points=[CommandHandler("close", close)],
        states={
            State.INTRO: [button(go, "go")],
            State.CODE: [MessageHandler(text, code_sent), button(new_code, "code")],
            State.REASON: [MessageHandler(text, reason_sent), button(new_code, "code")],
            State.CHECKLIST: [button(refresh, "check"), button(sign, "sign")],
            State.AGREEMENT: [button(agree, "agree"), button(refresh, "check")],
            State.DESTINATION: [button(destination, "dest")],
            State.NAME: [MessageHandler(text, name_sent), button(destination, "dest")],
            State.ACCOUNT: [MessageHandler(text, account_sent), button(change, "change")],
            State.CONFIRM: [button(confirm, "ok"), button(change, "change")],
            State.SUBMITTED: [button(confirm, "ok"), button(refresh, "check")],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=ActiveFlow(FLOW)),
                   button(cancel, "cancel"),
                   CallbackQueryHandler(stale, pattern=r"^cl:")],
        name="close", persistent=persistent, per_message=False, allow_reentry=True,
    )
