"""Many CommandHandlers of one group checked as one: the command is read once per update.

PTB tries the handlers of a group one by one until one matches; each CommandHandler parses
the message's command again and compares it with its own names, so /cancel, registered
late, used to be checked by some thirty handlers first. `Commands` keeps the handlers in
their order under the command names they answer, and checks only those of the command the
message carries, each with its own check_update (arguments, filters, the bot's name): the
handler chosen is the one PTB would have chosen by trying them all in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import MessageEntity, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler


async def _unused(update: object, context: object) -> None:
    """Commands hands each update to the chosen handler's own callback."""


class _Routed(BaseHandler[Update, Any, None]):
    """Several handlers of a group as one: check_update answers the first of some of them
    whose own check passes (with its result), handle_update runs that one as PTB would."""

    @staticmethod
    def _first(handlers: Sequence[BaseHandler[Any, Any, Any]], update: Update,
               ) -> tuple[BaseHandler[Any, Any, Any], object] | None:
        for handler in handlers:
            found = handler.check_update(update)
            if found is not None and found is not False:
                return handler, found
        return None

    async def handle_update(self, update: Update, application: Any, check_result: object,
                            context: Any) -> Any:
        """Run the chosen handler as PTB would (its context arguments, its pattern's match)."""
        assert isinstance(check_result, tuple)  # what check_update returned
        handler: BaseHandler[Any, Any, Any] = check_result[0]
        return await handler.handle_update(update, application, check_result[1], context)


class Commands(_Routed):
    """One handler in the group for every CommandHandler given, checked by command name."""

    def __init__(self, handlers: Sequence[CommandHandler[Any, Any]]) -> None:
        super().__init__(_unused)
        self.handlers = list(handlers)
        self.by_name: dict[str, list[CommandHandler[Any, Any]]] = {}
        for handler in self.handlers:
            if not handler.block:  # PTB reads `block` of the handler it picked: this one's
                raise ValueError("Commands takes blocking CommandHandlers only")
            for name in sorted(handler.commands):
                self.by_name.setdefault(name, []).append(handler)

    def check_update(self, update: object) -> tuple[CommandHandler[Any, Any], object] | None:
        """The first handler of the message's command whose own check passes, with its
        result; None when none does (CommandHandler's own condition for a command first)."""
        if not isinstance(update, Update) or update.effective_message is None:
            return None
        message = update.effective_message
        entities, text = message.entities, message.text
        if not (entities and entities[0].type == MessageEntity.BOT_COMMAND
                and entities[0].offset == 0 and text):
            return None
        name = text[1:entities[0].length].split("@")[0].lower()
        return self._first(self.by_name.get(name, ()), update)  # type: ignore[return-value]


class Presses(_Routed):
    """Consecutive CallbackQueryHandlers of a group as one handler: an update without a
    button press (every message) is refused with one test instead of one check_update per
    handler; a press is checked by each handler in order, as PTB would."""

    def __init__(self, handlers: Sequence[CallbackQueryHandler[Any, Any]]) -> None:
        super().__init__(_unused)
        self.handlers = list(handlers)
        if not all(isinstance(h, CallbackQueryHandler) and h.block for h in self.handlers):
            raise TypeError("Presses takes blocking CallbackQueryHandlers only")

    def check_update(self, update: object,
                     ) -> tuple[CallbackQueryHandler[Any, Any], object] | None:
        """The first handler whose own check passes, with its result (None for no press)."""
        if not isinstance(update, Update) or update.callback_query is None:
            return None  # CallbackQueryHandler.check_update's own first condition
        return self._first(self.handlers, update)  # type: ignore[return-value]
