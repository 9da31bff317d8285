"""Who is platform staff: support agents and operators (configured ids ∪ active grants).

Sellers (shop owners and staff) come from the shop's members; see bot/handlers/common.py.
Every staff command goes through `staff_command`, which refuses everyone else exactly like
an unknown command (nothing about any shop, whatever the arguments) and audits each call.
"""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import Deps, deps
from bot.handlers.common import reply, translator_for
from bot.i18n import Translator
from bot.storage.staff import Audit, Grants

log = logging.getLogger(__name__)


class Role(enum.StrEnum):
    AGENT = "agent"
    OPERATOR = "operator"


async def role_of(d: Deps, user_id: int) -> Role | None:
    """Operator beats agent; configuration and grants count alike."""
    granted = await Grants(d.db).active(user_id)
    if user_id in d.operators or Role.OPERATOR in granted:
        return Role.OPERATOR
    if user_id in d.agents or Role.AGENT in granted:
        return Role.AGENT
    return None


def allows(role: Role | None, needed: Role) -> bool:
    """Operators may do everything agents may."""
    return role is Role.OPERATOR or (role is not None and role is needed)


async def is_agent(d: Deps, user_id: int) -> bool:
    """Support agents and operators."""
    return allows(await role_of(d, user_id), Role.AGENT)


@dataclass(frozen=True)
class Act:
    """A staff command under way: who, as what, its audit id and the caller's language."""

    user_id: int
    role: Role
    audit_id: int
    args: list[str]
    t: Translator

    @property
    def event_id(self) -> str:
        """A platform event caused by this command is named after its audit entry."""
        return f"op-{self.audit_id}"


async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Exactly what an unknown command gets (bot/handlers/fallback.py): it names nothing."""
    t = await translator_for(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer(t.gettext("That button is no longer valid."),
                                           show_alert=True)
        return
    await reply(update, t.gettext("I don't know that command. Send /help to see what I can do."))


StaffCallback = Callable[[Update, ContextTypes.DEFAULT_TYPE, Act], Awaitable[str]]
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def staff_command(needed: Role, name: str) -> Callable[[StaffCallback], Callback]:
    """Run the command for staff holding `needed`; refuse and audit everyone else."""

    def wrap(callback: StaffCallback) -> Callback:
        @functools.wraps(callback)
        async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            d, user = deps(context), update.effective_user
            if user is None:
                return
            role = await role_of(d, user.id)
            args = " ".join(context.args or [])
            audit = Audit(d.db)
            if not allows(role, needed):
                await audit.start(user.id, role, name, args, d.clock.now(), "refused")
                await refuse(update, context)
                return
            assert role is not None
            audit_id = await audit.start(user.id, role, name, args, d.clock.now())
            act = Act(user.id, role, audit_id, list(context.args or []),
                      await translator_for(update, context))
            try:
                outcome = await callback(update, context, act)
            except Exception:
                await audit.finish(audit_id, "failed")
                raise
            await audit.finish(audit_id, outcome)

        return guarded

    return wrap
