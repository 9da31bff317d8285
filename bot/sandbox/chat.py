"""`deposit-bot chat`: the chat transcript protocol of SPEC §10, on the real Application."""

from __future__ import annotations

import html
import itertools
import logging
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from telegram import Update
from telegram.ext import Application, CallbackContext

from bot.app import build_application
from bot.clock import ManualClock
from bot.context import Deps
from bot.handlers.desk import flag_overdue
from bot.i18n import resolve_language
from bot.ingest import BadLine, apply_one, parse_line
from bot.notify.sender import sender_of, stop_until_clock_moves
from bot.sandbox.recording import (
    EDIT_METHODS,
    MESSAGE_METHODS,
    TOPIC_METHODS,
    Call,
    RecordingRequest,
)
from bot.storage.updates import SeenUpdates
from domain.apply import EventResult
from domain.jobs import run_due

log = logging.getLogger(__name__)
TOKEN = "0:sandbox"
_STEP = re.compile(r"([0-9]+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TAGS = re.compile(r"<[^>]+>")


class LineError(ValueError):
    """A malformed `!` line: printed as `error: …`, and the script goes on."""


@dataclass
class Shown:
    """A bot message as the sandbox remembers it, for `!press`."""

    chat_id: int
    message_id: int
    keyboard: list[list[dict[str, Any]]]
    text: str = ""
    thread: int | None = None  # the forum topic it was posted in


def plain(text: str) -> str:
    """What the user sees of an HTML message."""
    return html.unescape(_TAGS.sub("", text))


def parse_clock(arg: str, now: datetime) -> datetime:
    """`+2h`, `+10d`, `+1d2h30m` or an ISO moment with an offset."""
    arg = arg.strip()
    if arg.startswith("+"):
        steps = _STEP.findall(arg[1:])
        if not steps or _STEP.sub("", arg[1:]).strip():
            raise LineError(f"cannot read clock step {arg!r} (use +30m, +2h, +10d)")
        delta = timedelta()
        for number, unit in steps:
            delta += timedelta(**{_UNITS[unit]: int(number)})
        return now + delta
    try:
        moment = datetime.fromisoformat(arg)
    except ValueError as exc:
        raise LineError(f"cannot read clock moment {arg!r}") from exc
    if moment.tzinfo is None:
        raise LineError("a clock moment needs an offset, e.g. 2026-12-01T09:00+08:00")
    if moment < now:
        raise LineError("the clock never goes back")
    return moment


@dataclass
class Sandbox:
    """One chat session: the Application, its recording request, the clock and the user."""

    deps: Deps
    clock: ManualClock
    out: TextIO
    app: Application = field(init=False)  # type: ignore[type-arg]
    request: RecordingRequest = field(init=False)
    user_id: int = 1001
    languages: dict[int, str | None] = field(default_factory=dict)
    shown: list[Shown] = field(default_factory=list)
    group: tuple[int, int | None] | None = None  # `!group`/`!topic`: (chat, thread) spoken in
    files: Path | None = None  # --files DIR: save the documents and photos the bot sends
    _update_ids: itertools.count[int] | None = None  # after the newest id the database saw
    _seen_calls: int = 0

    def __post_init__(self) -> None:
        self.request = RecordingRequest(clock=self.clock)
        self.app = build_application(self.deps, TOKEN, request=self.request, flood_retries=0,
                                     pause=stop_until_clock_moves, push_lanes=1)

    async def run(self, lines: Iterable[str]) -> None:
        """Handle every line to completion, in order."""
        async with self.app:
            for raw in lines:
                await self.handle(raw.rstrip("\n"))

    async def handle(self, line: str) -> None:
        """One input line: a directive, a comment or a message from the current user."""
        stripped = line.strip()
        if not stripped or stripped == "#" or stripped.startswith("# "):
            return
        try:
            if stripped.startswith("!"):
                await self._directive(stripped)
            else:
                await self._message(stripped)
            await sender_of(self.app.bot_data).drain(self.app.bot, wait=True)
            await self.app.update_persistence()
        except LineError as exc:
            self._print(f"error: {exc}")
        except Exception:  # the sandbox reports and goes on; details go to the log only
            log.exception("sandbox line failed: %s", stripped[:200])
            self._print("error: the line could not be handled (details in the log)")
        self._flush()

    async def _directive(self, line: str) -> None:
        name, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if name == "as":
            await self._as(arg)
        elif name == "press":
            if not arg:
                raise LineError("!press needs a button label")
            await self._press(arg)
        elif name == "event":
            self._print_result(await self._event(arg))
        elif name == "clock":
            if not arg:
                raise LineError("!clock needs +DURATION or an ISO moment")
            self.clock.advance_to(parse_clock(arg, self.clock.now()))
            await self._jobs()
        elif name == "run-jobs":
            await self._jobs()
        elif name == "echo":
            self._print(arg)
        elif name == "reply":
            await self._reply(arg)
        elif name in {"group", "topic", "forum"}:
            self._group(name, arg)
        elif name in {"photo", "document"}:
            await self._media(name, arg)
        else:
            raise LineError(f"unknown directive !{name}")

    async def _jobs(self) -> None:
        """The domain's due work, then the desk's overdue flags (as `deposit-bot run` does)."""
        await run_due(self.deps.uow(), self.clock.now(), self.deps.policy)
        await flag_overdue(CallbackContext(self.app))

    def _group(self, name: str, arg: str) -> None:
        """`!forum` (the support group is a forum), `!group [THREAD]`, `!topic THREAD`."""
        chat = self.deps.support_chat_id
        if chat is None:
            raise LineError(f"!{name} needs a support group (SUPPORT_CHAT_ID)")
        if name == "forum":
            self.request.forums.add(chat)
            return
        if (arg and not arg.isdigit()) or (name == "topic" and not arg):
            raise LineError(f"!{name} needs a topic number, e.g. !topic 12")
        if arg and (chat, int(arg)) not in self.request.topics:
            raise LineError(f"no topic {arg} in the support group (see the topic> lines)")
        self.group = (chat, int(arg) if arg else None)

    async def _media(self, kind: str, arg: str) -> None:
        """`!photo NAME [CAPTION]` / `!document NAME [CAPTION]` from the current user."""
        name, _, caption = arg.partition(" ")
        if not name:
            raise LineError(f"!{kind} needs a file name, e.g. !{kind} receipt.jpg")
        media: dict[str, Any] = (
            {"photo": [{"file_id": name, "file_unique_id": name, "width": 800, "height": 600}]}
            if kind == "photo" else
            {"document": {"file_id": name, "file_unique_id": name, "file_name": name}})
        if caption.strip():
            media["caption"] = caption.strip()
        await self._message("", extra=media)

    async def _as(self, arg: str) -> None:
        parts = arg.split()
        if not parts or not parts[0].isdigit() or int(parts[0]) <= 0:
            raise LineError("!as needs a positive Telegram user id, e.g. !as 1001 zh-hans")
        self.user_id = int(parts[0])
        self.group = None
        if len(parts) > 1:
            self.languages[self.user_id] = parts[1]
            # the client's language is known from now on, also for pushes before any message
            await self.deps.users.seen(self.user_id, resolve_language(parts[1]))

    async def _event(self, arg: str) -> EventResult:
        raw = parse_line(arg)
        if isinstance(raw, BadLine):
            raise LineError(f"!event needs one JSON object: {raw.detail}")
        return await apply_one(self.deps, raw)

    def _print_result(self, result: EventResult) -> None:
        text = f"event> {result.event_id or '?'}: {result.outcome.value}"
        if result.field:
            text += f" ({result.field}: {result.reason})"
        self._print(text)

    def _user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.user_id, "is_bot": False,
                                "first_name": f"User {self.user_id}"}
        language = self.languages.get(self.user_id)
        if language:
            user["language_code"] = language
        return user

    async def _reply(self, arg: str) -> None:
        """`!reply WORD TEXT`: answer the newest bot message containing WORD (an addition)."""
        key, _, text = arg.partition(" ")
        if not key or not text.strip():
            raise LineError("!reply needs a word to find and a text, e.g. !reply #3 Thank you")
        found = re.compile(rf"(?<!\w){re.escape(key)}(?!\w)")
        for shown in reversed(self.shown):
            if (shown.chat_id < 0 or shown.chat_id == self.user_id) and found.search(shown.text):
                await self._message(text.strip(), shown)
                return
        raise LineError(f"no message containing {key!r} in this user's or a group chat")

    async def _message(self, text: str, reply_to: Shown | None = None,
                       extra: dict[str, Any] | None = None) -> None:
        chat_id, thread = (reply_to.chat_id, reply_to.thread) if reply_to is not None else (
            self.group or (self.user_id, None))
        chat = self._chat(chat_id)
        message: dict[str, Any] = {
            "message_id": self.request.next_message_id(), "date": self._ts(),
            "chat": chat, "from": self._user(), **(extra or {"text": text})}
        if thread is not None:
            message |= {"message_thread_id": thread, "is_topic_message": True}
        if reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to.message_id, "date": self._ts(), "chat": chat,
                "from": {"id": 7000000001, "is_bot": True, "first_name": "Deposit Desk"},
                "text": reply_to.text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        await self._process({"update_id": await self._next_id(), "message": message})

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private"}
        return {"id": chat_id, "type": "supergroup", "title": "Support",
                **({"is_forum": True} if chat_id in self.request.forums else {})}

    async def _press(self, label: str) -> None:
        here = self.group or (self.user_id, None)
        for shown in reversed(self.shown):
            if shown.chat_id != here[0] or (here[1] is not None and shown.thread != here[1]):
                continue
            for row in shown.keyboard:
                for button in row:
                    if button.get("text") == label and "callback_data" in button:
                        await self._callback(shown, button["callback_data"])
                        return
        raise LineError(f"no button labelled {label!r} in this chat")

    async def _callback(self, shown: Shown, data: str) -> None:
        query = {"id": str(await self._next_id()), "from": self._user(),
                 "chat_instance": str(shown.chat_id), "data": data,
                 "message": {"message_id": shown.message_id, "date": self._ts(),
                             "chat": self._chat(shown.chat_id),
                             "from": {"id": 7000000001, "is_bot": True,
                                      "first_name": "Deposit Desk"}, "text": "…"}}
        if shown.thread is not None:
            query["message"] |= {"message_thread_id": shown.thread, "is_topic_message": True}
        await self._process({"update_id": await self._next_id(), "callback_query": query})

    async def _next_id(self) -> int:
        """Update ids go on after the newest one handled on this database (a resent id is
        dropped as a duplicate, also across sandbox sessions)."""
        if self._update_ids is None:
            newest = await SeenUpdates(self.deps.db).newest()
            self._update_ids = itertools.count(newest + 1)
        return next(self._update_ids)

    async def _process(self, data: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(data, self.app.bot))

    def _ts(self) -> int:
        return int(self.clock.now().timestamp())

    def _flush(self) -> None:
        """Print every message the bot sent or edited since the last line."""
        for call in self.request.calls[self._seen_calls:]:
            self._show(call)
        self._seen_calls = len(self.request.calls)

    def _show(self, call: Call) -> None:
        if call.method == "answerCallbackQuery" and call.params.get("text"):
            self._print(f"bot> {call.params['text']}")
            return
        if call.method in TOPIC_METHODS and isinstance(call.result, dict | bool):
            self._print_topic(call)
            return
        if call.method not in MESSAGE_METHODS | EDIT_METHODS or not isinstance(call.result,
                                                                               dict):
            return
        chat_id = int(call.params["chat_id"])
        message_id = int(call.result["message_id"])
        before = next((s for s in self.shown
                       if (s.chat_id, s.message_id) == (chat_id, message_id)), None)
        thread = call.result.get("message_thread_id") or (before.thread if before else None)
        prefix = "bot> " if chat_id == self.user_id else f"bot@{chat_id}> "
        if thread is not None:
            prefix = f"bot@{chat_id}/{thread}> "
        body = (before.text if before and call.method == "editMessageReplyMarkup"
                else self._body(call))
        if call.method in {"sendDocument", "sendPhoto"}:
            self._save(call)
        self._print(prefix + body.replace("\n", "\n  "))
        keyboard = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
        for row in keyboard:
            self._print(" ".join(f"[{b.get('text', '')}]" for b in row))
        self.shown = [s for s in self.shown if s is not before]
        self.shown.append(Shown(chat_id, message_id, keyboard, body, thread))

    def _print_topic(self, call: Call) -> None:
        """`topic> CHAT/THREAD created: NAME`, `… closed`, `… reopened` (an addition)."""
        chat = call.params.get("chat_id")
        if call.method == "createForumTopic":
            thread = call.result["message_thread_id"]
            self._print(f"topic> {chat}/{thread} created: {call.params.get('name', '')}")
        else:
            done = "closed" if call.method == "closeForumTopic" else "reopened"
            self._print(f"topic> {chat}/{call.params.get('message_thread_id')} {done}")

    def _save(self, call: Call) -> None:
        """Write each uploaded file into the --files directory (named on stderr)."""
        if self.files is None:
            return
        self.files.mkdir(parents=True, exist_ok=True)
        for name, content in call.files.values():
            target = self.files / Path(name).name
            target.write_bytes(content)
            sys.stderr.write(f"saved {target}\n")

    def _body(self, call: Call) -> str:
        result = call.result
        if call.method == "sendDocument":
            name = result.get("document", {}).get("file_name", "file")
            return f"[document: {name}]" + _caption(call)
        if call.method == "sendPhoto":
            photo = call.params.get("photo")
            name = photo if isinstance(photo, str) else call.params.get("filename", "chart.png")
            return f"[photo: {name}]" + _caption(call)
        return plain(str(call.params.get("text", call.params.get("caption", ""))))

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


def _caption(call: Call) -> str:
    caption = call.params.get("caption")
    return f"\n{plain(str(caption))}" if caption else ""


def input_lines(stream: TextIO, interactive: bool) -> Iterable[str]:
    """Lines from stdin; a prompt when a person is typing."""
    while True:
        if interactive:
            sys.stderr.write("> ")
            sys.stderr.flush()
        line = stream.readline()
        if not line:
            return
        yield line
