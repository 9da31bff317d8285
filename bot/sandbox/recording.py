"""A BaseRequest that answers the Bot API in-process and records every call (no network)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.telegram_rules import refusal

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Deposit Desk",
            "username": "deposit_desk_bot", "can_join_groups": False}
MESSAGE_METHODS = {"sendMessage", "sendPhoto", "sendDocument"}
EDIT_METHODS = {"editMessageText", "editMessageReplyMarkup", "editMessageCaption"}
TOPIC_METHODS = {"createForumTopic", "closeForumTopic", "reopenForumTopic"}
NOT_A_FORUM = "Bad Request: the chat is not a forum"
NO_THREAD = "Bad Request: message thread not found"


@dataclass
class Call:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]
    result: Any = None
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # param → (name, bytes)


@dataclass
class Failure:
    """A scripted error answer: status code, description, optional retry_after."""

    status: int
    description: str
    retry_after: int | None = None


@dataclass
class RecordingRequest(BaseRequest):
    """Answers like the Bot API would; tests read `calls`, script errors with `fail`."""

    clock: Any = None
    calls: list[Call] = field(default_factory=list)
    failures: dict[int, list[Failure]] = field(default_factory=dict)
    method_failures: dict[str, list[Failure]] = field(default_factory=dict)
    forums: set[int] = field(default_factory=set)  # chats that are forum supergroups
    topics: dict[tuple[int, int], bool] = field(default_factory=dict)  # (chat, thread): closed
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    def fail(self, chat_id: int, failure: Failure) -> None:
        """The next message to chat_id gets this error instead of a result."""
        self.failures.setdefault(chat_id, []).append(failure)

    def fail_method(self, method: str, failure: Failure) -> None:
        """The next call of this Bot API method gets this error (e.g. no Manage Topics)."""
        self.method_failures.setdefault(method, []).append(failure)

    def next_message_id(self) -> int:
        return next(self._ids)

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None
                         ) -> tuple[int, bytes]:
        params = dict(request_data.parameters) if request_data is not None else {}
        status, body = self.respond(url.rsplit("/", 1)[-1], params, _uploads(request_data))
        return status, json.dumps(body).encode()

    def respond(self, api_method: str, params: dict[str, Any],
                files: dict[str, tuple[str, bytes]] | None = None) -> tuple[int, dict[str, Any]]:
        """Telegram's answer to one call: HTTP status and body; the call is recorded. (The
        HTTP stand-in, tests/standin.py, answers through this too.)"""
        params, files = dict(params), files or {}
        for key in ("reply_markup", "commands"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        for key, (name, _content) in files.items():
            params.setdefault(key, {"filename": name})
            if api_method == "sendPhoto":  # the sandbox prints a photo's name from here
                params.setdefault("filename", name)
        failure = self._refusal(api_method, params)
        chat_id = params.get("chat_id")
        queued = self.failures.get(int(chat_id)) if isinstance(chat_id, int | str) and \
            str(chat_id).lstrip("-").isdigit() else None
        if failure is None and queued and api_method in MESSAGE_METHODS:
            failure = queued.pop(0)
        described = refusal(api_method, params) if failure is None else None
        if described is not None:  # what the real Bot API answers to a message it cannot take
            failure = Failure(400, described)
        if failure is not None:
            self.calls.append(Call(api_method, params, failure, files))
            return failure.status, _error(failure)
        result = self._result(api_method, params)
        self.calls.append(Call(api_method, params, result, files))
        return 200, {"ok": True, "result": result}

    def _refusal(self, method: str, params: dict[str, Any]) -> Failure | None:
        """What Telegram refuses: scripted failures, topics outside a forum, unknown topics."""
        if self.method_failures.get(method):
            return self.method_failures[method].pop(0)
        chat = int(params["chat_id"]) if str(params.get("chat_id", "")).lstrip("-").isdigit() \
            else 0
        if method in TOPIC_METHODS and chat not in self.forums:
            return Failure(400, NOT_A_FORUM)
        thread = params.get("message_thread_id")
        if thread is None or method not in MESSAGE_METHODS | TOPIC_METHODS - {"createForumTopic"}:
            return None
        if (chat, int(thread)) not in self.topics:
            return Failure(400, NO_THREAD if method in MESSAGE_METHODS
                           else "Bad Request: TOPIC_ID_INVALID")
        closing = method == "closeForumTopic"
        if method in TOPIC_METHODS and self.topics[(chat, int(thread))] == closing:
            return Failure(400, "Bad Request: TOPIC_NOT_MODIFIED")
        return None

    def _now(self) -> int:
        return int(self.clock.now().timestamp()) if self.clock is not None else 0

    def _message(self, params: dict[str, Any], message_id: int) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        msg: dict[str, Any] = {"message_id": message_id, "date": self._now(),
                               "chat": {"id": chat_id, "type": "private" if chat_id > 0
                                        else "supergroup"}, "from": BOT_USER}
        if "text" in params:
            msg["text"] = params["text"]
        if "caption" in params:
            msg["caption"] = params["caption"]
        if isinstance(params.get("reply_markup"), dict):
            msg["reply_markup"] = params["reply_markup"]
        if params.get("message_thread_id") is not None:
            msg["message_thread_id"] = int(params["message_thread_id"])
            msg["is_topic_message"] = True
        return msg

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in MESSAGE_METHODS:
            msg = self._message(params, self.next_message_id())
            if method == "sendDocument":
                msg["document"] = {"file_id": f"doc{msg['message_id']}",
                                   "file_unique_id": f"u{msg['message_id']}",
                                   "file_name": _file_name(params.get("document"))}
            if method == "sendPhoto":
                msg["photo"] = [{"file_id": f"ph{msg['message_id']}",
                                 "file_unique_id": f"p{msg['message_id']}",
                                 "width": 800, "height": 500}]
            return msg
        if method in EDIT_METHODS and "chat_id" in params:
            return self._message(params, int(params["message_id"]))
        if method == "getUpdates":
            return []
        if method == "createForumTopic":
            thread = self.next_message_id()  # a topic's id is its service message's id
            self.topics[(int(params["chat_id"]), thread)] = False
            return {"message_thread_id": thread, "name": params.get("name", ""),
                    "icon_color": int(params.get("icon_color") or 7322096)}
        if method in {"closeForumTopic", "reopenForumTopic"}:
            self.topics[(int(params["chat_id"]), int(params["message_thread_id"]))] = (
                method == "closeForumTopic")
        return True


def _error(failure: Failure) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": failure.status,
                            "description": failure.description}
    if failure.retry_after is not None:
        body["parameters"] = {"retry_after": failure.retry_after}
    return body


def _uploads(request_data: RequestData | None) -> dict[str, tuple[str, bytes]]:
    """Files uploaded with the request (multipart), by parameter name: real name and bytes."""
    if request_data is None or not request_data.contains_files:
        return {}
    found: dict[str, tuple[str, bytes]] = {}
    for key, value in request_data.multipart_data.items():
        content = value[1] if len(value) > 1 else b""
        found[key] = (str(value[0]), content if isinstance(content, bytes) else b"")
    return found


def _file_name(value: Any) -> str:
    if isinstance(value, str):  # a file_id sent again: the sandbox names files by their id
        return value
    if isinstance(value, dict):
        return str(value.get("filename") or value.get("file_name") or "file")
    return "file"
