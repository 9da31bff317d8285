"""What every handler reaches through context.bot_data: the application's collaborators."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import Translator, resolve_language, translator
from bot.storage.db import Database
from bot.storage.uow import SqliteUnitOfWork
from bot.storage.users import Users
from bot.storage.visits import visit_of
from domain.ids import RANDOM_IDS, Ids
from domain.policy import Policy
from domain.ports import Clock, VerificationChannel


@dataclass
class Deps:
    """The composition root's products, shared by handlers, jobs and the sandbox."""

    db: Database
    policy: Policy
    clock: Clock
    channel: VerificationChannel
    default_language: str = "en"
    ids: Ids = RANDOM_IDS
    support_chat_id: int | None = None  # the support group (SUPPORT_CHAT_ID)
    support_language: str | None = None  # language of posts in that group; default_language
    support_topics: bool = True  # a forum topic per ticket when the group is a forum
    support_agent_names: bool = False  # sellers see the agent's first name, not "Support"
    operators: frozenset[int] = frozenset()  # DEPOSIT_OPERATORS (also agents)
    agents: frozenset[int] = frozenset()  # DEPOSIT_AGENTS

    def uow(self) -> SqliteUnitOfWork:
        """A fresh unit of work on the one database."""
        return SqliteUnitOfWork(self.db)

    @property
    def users(self) -> Users:
        return Users(self.db)


def deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    """The Deps the composition root put in bot_data."""
    found = context.bot_data["deps"]
    assert isinstance(found, Deps)
    return found


async def user_translator(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Translator:
    """The language the user chose, else their Telegram language, else the default.

    Telegram sends language_code optionally: an update without it keeps the language
    remembered for the user instead of falling back to the default mid-flow."""
    d = deps(context)
    user = update.effective_user
    if user is None:
        return translator(d.default_language)
    visit = visit_of(update, user.id)
    chosen, remembered = (visit.languages if visit is not None
                          else await d.users.languages(user.id))
    if not user.language_code:
        return translator(chosen or remembered or d.default_language)
    seen = resolve_language(user.language_code, d.default_language)
    if chosen is None and seen != remembered:
        await d.users.seen(user.id, seen)  # written only when it changed
    return translator(chosen or seen)
