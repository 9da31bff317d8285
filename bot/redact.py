"""The bot token never appears in logs, tracebacks or start-up lines.

The token is a password to the bot: anyone with it can read and send as the bot. It appears
in Bot API URLs (`/bot<TOKEN>/getMe`), in PTB's own "The token `…` was rejected" and in
httpx's request logs. `install(token)` puts a filter on every handler of the root logger that
rewrites it in each record's message, arguments and traceback, at every level.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from types import TracebackType

MASK = "<bot-token>"
# the shape of a Bot API token: bot id, colon, 35 characters
_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
_known: set[str] = set()


def redact(text: str) -> str:
    """The text with every known token (and anything shaped like one) masked."""
    for token in _known:
        text = text.replace(token, MASK)
    return _SHAPE.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message and traceback with `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error path
            return True
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(token: str | None) -> None:
    """Mask `token` in every record of every root handler from now on."""
    if token:
        _known.add(token)
    install_excepthook()
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def _excepthook(kind: type[BaseException], value: BaseException,
                tb: TracebackType | None) -> None:
    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))


def install_excepthook() -> None:
    """An uncaught exception's traceback is masked too."""
    sys.excepthook = _excepthook
