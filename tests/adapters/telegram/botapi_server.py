"""A local Telegram Bot API server for tests and benchmarks: real HTTP on 127.0.0.1, recorded requests.

PTB talks to it exactly as to api.telegram.org (``base_url=server.base_url``,
``base_file_url=server.base_file_url``). Tests inject updates as Telegram JSON, script failures (429 with
``retry_after``, ``VOICE_MESSAGES_FORBIDDEN`` for a chat) and assert on what the server received. It models
Telegram's flood control (a chat sent too much gets 429 with ``retry_after`` and stays refused until then),
users who blocked the bot (403) and a second poller (409 Conflict).
Response shapes and error texts follow https://core.telegram.org/bots/api.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456789:AAH-test-SECRET-token-do-not-log-0123"
BOT_ID = 123456789
BOT_USERNAME = "vos_test_bot"
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file PTB uploaded in a multipart request."""

    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One Bot API call as the server received it (JSON-encoded fields already decoded)."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    at: float
    status: int = 200
    peer: Any = None
    """The client's (host, port): which connection, hence which bot process, made the call."""
    result: Any = None
    """What the server answered (``ok: true``), e.g. the sent message with its ``message_id``."""

    @property
    def message_id(self) -> int | None:
        """The id of the message a successful send created."""
        return (
            int(self.result["message_id"])
            if isinstance(self.result, dict) and "message_id" in self.result
            else None
        )

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None


@dataclass(slots=True)
class _Failure:
    method: str
    error_code: int
    description: str
    retry_after: int | None = None
    times: int = 1
    chat_id: int | None = None


@dataclass(slots=True)
class _StoredFile:
    content: bytes
    file_path: str
    size: int


@dataclass(slots=True)
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    requests: list[RecordedRequest] = field(default_factory=list)
    messages: dict[tuple[int, int], str] = field(default_factory=dict)
    markups: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    files: dict[str, _StoredFile] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    voice_forbidden: set[int] = field(default_factory=set)
    blocked: set[int] = field(default_factory=set)
    flood: tuple[int, float, int] | None = None
    sent_at: dict[int, list[float]] = field(default_factory=dict)
    flooded_until: dict[int, float] = field(default_factory=dict)
    conflicts: int = 0
    webhook_url: str = ""


class ApiError(Exception):
    """An ``ok: false`` answer."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class BotApiServer:
    """The server. ``async with BotApiServer() as server:`` starts it on a random port."""

    def __init__(self, *, token: str = TOKEN, username: str = BOT_USERNAME) -> None:
        self.token = token
        self.username = username
        self.state = _State()
        self._changed = asyncio.Condition()
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._closing = False
        self.on_request: Callable[[RecordedRequest], None] | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> BotApiServer:
        app = web.Application(client_max_size=60 * MB)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- what tests use -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self.state.requests)

    def calls(self, *methods: str, chat_id: int | None = None) -> list[RecordedRequest]:
        """Recorded successful-or-failed calls of ``methods`` (all when none), optionally for one chat."""
        return [
            r
            for r in self.state.requests
            if (not methods or r.method in methods) and (chat_id is None or r.chat_id == chat_id)
        ]

    @property
    def downloads(self) -> list[str]:
        return list(self.state.downloads)

    async def inject(self, update: dict[str, Any]) -> int:
        """Queue an update (its ``update_id`` is assigned here) and wake long-polling clients."""
        update = {"update_id": self.state.next_update_id, **update}
        self.state.next_update_id += 1
        self.state.updates.append(update)
        async with self._changed:
            self._changed.notify_all()
        return int(update["update_id"])

    def add_file(self, content: bytes, *, file_path: str, declared_size: int | None = None) -> str:
        """Store a file users "sent"; returns its ``file_id``. ``declared_size`` fakes a huge file."""
        file_id = f"FILE{next(self._file_ids)}"
        size = declared_size if declared_size is not None else len(content)
        self.state.files[file_id] = _StoredFile(content=content, file_path=file_path, size=size)
        return file_id

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 400,
        description: str = "Bad Request: failure",
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id`` only, when given) with an error."""
        self.state.failures.append(_Failure(method, error_code, description, retry_after, times, chat_id))

    def flood_control(self, *, max_messages: int, per_s: float, retry_after: int) -> None:
        """Telegram's flood control: a chat sent more than ``max_messages`` in ``per_s`` seconds gets 429
        with ``retry_after`` and is refused until that time has passed (other chats are not affected)."""
        self.state.flood = (max_messages, per_s, retry_after)

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: every call to their chat answers 403."""
        self.state.blocked.add(chat_id)

    def conflict_polls(self, times: int = 1) -> None:
        """The next ``times`` getUpdates answer 409: another process polls with the same token."""
        self.state.conflicts += times

    def forbid_voice(self, chat_id: int) -> None:
        """That user's privacy settings refuse voice notes."""
        self.state.voice_forbidden.add(chat_id)

    async def wait_for(self, predicate: Callable[[BotApiServer], bool], *, timeout: float = 5.0) -> None:
        """Wait until ``predicate(self)`` holds (re-checked on every request)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    async def wait_calls(
        self, method: str, count: int = 1, *, chat_id: int | None = None, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Wait for at least ``count`` calls of ``method`` and return them."""
        await self.wait_for(lambda s: len(s.calls(method, chat_id=chat_id)) >= count, timeout=timeout)
        return self.calls(method, chat_id=chat_id)

    # --- HTTP -----------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error_response(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        params, files = await _read_params(request)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        record = RecordedRequest(method=method, params=params, files=files, at=time.monotonic(), peer=peer)
        try:
            failure = self._take_failure(method, params)
            if failure is not None:
                raise ApiError(failure.error_code, failure.description, failure.retry_after)
            self._platform_limits(method, params)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params, files)
        except ApiError as exc:
            record = RecordedRequest(method, params, files, record.at, exc.code, peer)
            response = _error_response(exc)
        else:
            record = dataclasses.replace(record, result=result)
            response = web.json_response({"ok": True, "result": result})
        self.state.requests.append(record)
        if self.on_request is not None:
            self.on_request(record)
        async with self._changed:
            self._changed.notify_all()
        return response

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        for stored in self.state.files.values():
            if stored.file_path == path:
                self.state.downloads.append(path)
                return web.Response(body=stored.content, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    def _platform_limits(self, method: str, params: dict[str, Any]) -> None:
        """409 for a conflicting poll, 403 for a blocked user, 429 for a flooded chat."""
        if method == "getUpdates" and self.state.conflicts > 0:
            self.state.conflicts -= 1
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
                "is running",
            )
        if "chat_id" not in params:
            return
        chat_id = int(params["chat_id"])
        if chat_id in self.state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if self.state.flood is None or not method.startswith("send") or method == "sendChatAction":
            return
        max_messages, per_s, retry_after = self.state.flood
        now = time.monotonic()
        until = self.state.flooded_until.get(chat_id, 0.0)
        if now < until:
            raise ApiError(429, "Too Many Requests", retry_after=max(1, round(until - now)))
        recent = [at for at in self.state.sent_at.get(chat_id, []) if now - at < per_s]
        if len(recent) >= max_messages:
            self.state.flooded_until[chat_id] = now + retry_after
            raise ApiError(429, "Too Many Requests", retry_after=retry_after)
        self.state.sent_at[chat_id] = [*recent, now]

    def _take_failure(self, method: str, params: dict[str, Any]) -> _Failure | None:
        for failure in self.state.failures:
            if failure.method == method and (
                failure.chat_id is None or str(failure.chat_id) == str(params.get("chat_id"))
            ):
                failure.times -= 1
                if failure.times <= 0:
                    self.state.failures.remove(failure)
                return failure
        return None

    # --- methods --------------------------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "VOS", "username": self.username}

    def _message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        message_id = next(self._message_ids)
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": self._bot_user(),
            **content,
        }

    async def _m_getMe(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset:
            # Telegram forgets every update below the offset: they are confirmed.
            self.state.updates = [u for u in self.state.updates if u["update_id"] >= offset]
        if not self.state.updates and timeout > 0:
            async with self._changed:
                try:
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(lambda: bool(self.state.updates) or self._closing)
                except TimeoutError:
                    pass
        return self.state.updates[:limit]

    def _check_chat(self, params: dict[str, Any]) -> int:
        if "chat_id" not in params:
            raise _bad("chat_id is empty")
        return int(params["chat_id"])

    def _check_markup(self, params: dict[str, Any]) -> None:
        markup = params.get("reply_markup")
        if not markup:
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")

    async def _m_sendMessage(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._check_chat(params)
        text = str(params.get("text", "")).strip()
        if not text:
            raise _bad("message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise _bad("message is too long")
        self._check_markup(params)
        message = self._message(chat_id, text=text)
        self.state.messages[(chat_id, message["message_id"])] = text
        if params.get("reply_markup"):
            self.state.markups[(chat_id, message["message_id"])] = params["reply_markup"]
        return message

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._check_chat(params)
        key = (chat_id, int(params.get("message_id", 0)))
        if key not in self.state.messages:
            raise _bad("message to edit not found")
        self._check_markup(params)
        markup = params.get("reply_markup") or {}
        if self.state.markups.get(key, {}) == markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        if markup:
            self.state.markups[key] = markup
        else:
            self.state.markups.pop(key, None)
        return {**self._message(chat_id, text=self.state.messages[key]), "message_id": key[1]}

    async def _m_editMessageText(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._check_chat(params)
        key = (chat_id, int(params.get("message_id", 0)))
        if key not in self.state.messages:
            raise _bad("message to edit not found")
        text = str(params.get("text", "")).strip()
        if not text:
            raise _bad("message text is empty")
        if self.state.messages[key] == text:
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        self.state.messages[key] = text
        return {**self._message(chat_id, text=text), "message_id": key[1], "edit_date": int(time.time())}

    async def _m_deleteMessage(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._check_chat(params)
        key = (chat_id, int(params.get("message_id", 0)))
        if self.state.messages.pop(key, None) is None:
            raise _bad("message to delete not found")
        return True

    async def _m_sendChatAction(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self._check_chat(params)
        if params.get("action") not in {
            "typing",
            "record_voice",
            "upload_voice",
            "upload_document",
            "record_video",
            "upload_photo",
            "choose_sticker",
        }:
            raise _bad("wrong parameter action in request")
        return True

    def _upload(
        self, params: dict[str, Any], files: dict[str, UploadedFile], field_name: str
    ) -> UploadedFile:
        value = params.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = files.get(value.removeprefix("attach://"))
        upload = files.get(field_name) or value
        if not isinstance(upload, UploadedFile):
            raise _bad(f"there is no {field_name} in the request")
        if len(upload.content) > 50 * MB:
            raise ApiError(413, "Request Entity Too Large")
        return upload

    def _file_object(self, upload: UploadedFile) -> dict[str, Any]:
        file_id = self.add_file(upload.content, file_path=f"sent/{upload.filename}")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(upload.content)}

    async def _m_sendVoice(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._check_chat(params)
        upload = self._upload(params, files, "voice")
        if chat_id in self.state.voice_forbidden:
            raise _bad("VOICE_MESSAGES_FORBIDDEN")
        voice = {
            **self._file_object(upload),
            "duration": int(float(params.get("duration") or 0)),
            "mime_type": "audio/ogg",
        }
        return self._message(chat_id, voice=voice, caption=params.get("caption", ""))

    async def _m_sendAudio(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._check_chat(params)
        upload = self._upload(params, files, "audio")
        audio = {**self._file_object(upload), "duration": int(float(params.get("duration") or 0))}
        return self._message(chat_id, audio=audio, caption=params.get("caption", ""))

    async def _m_sendDocument(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._check_chat(params)
        upload = self._upload(params, files, "document")
        document = {**self._file_object(upload), "file_name": upload.filename}
        return self._message(chat_id, document=document, caption=params.get("caption", ""))

    async def _m_getFile(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        file_id = str(params.get("file_id", ""))
        stored = self.state.files.get(file_id)
        if stored is None:
            raise _bad("invalid file_id")
        if stored.size > 20 * MB:
            raise _bad("file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    async def _m_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        if not params.get("callback_query_id"):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        return True

    async def _m_setMyCommands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        for command in params.get("commands", []):
            name, description = command.get("command", ""), command.get("description", "")
            if not (1 <= len(name) <= 32 and name.replace("_", "").isalnum() and name == name.lower()):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self.state.webhook_url = ""
        return True

    async def _m_setWebhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self.state.webhook_url = str(params.get("url", ""))
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return {
            "url": self.state.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }

    async def _m_close(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return True


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Decode a Bot API request: query string, form or multipart fields (JSON values decoded), or JSON."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.content_type == "application/json":
        params.update(await request.json())
        return params, files
    if request.method == "POST":
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files[name] = UploadedFile(value.filename, value.file.read(), value.content_type)
            else:
                params[name] = value
    for name, value in list(params.items()):
        if isinstance(value, str) and value[:1] in "[{":
            with contextlib.suppress(ValueError):
                params[name] = json.loads(value)
    return params, files


def _error_response(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.retry_after is not None:
        body["parameters"] = {"retry_after": exc.retry_after}
        body["description"] = f"Too Many Requests: retry after {exc.retry_after}"
    return web.json_response(body, status=exc.code)


# --- Telegram JSON for injected updates ----------------------------------------------------------

_message_ids = itertools.count(1)


def user_json(user_id: int, *, language_code: str = "ko", first_name: str = "민수") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}


def _incoming(user_id: int, chat_id: int | None, language_code: str, **content: Any) -> dict[str, Any]:
    chat = chat_id if chat_id is not None else user_id
    chat_json: dict[str, Any] = (
        {"id": chat, "type": "private", "first_name": "민수"}
        if chat > 0
        else {"id": chat, "type": "group", "title": "family"}
    )
    return {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": chat_json,
        "from": user_json(user_id, language_code=language_code),
        **content,
    }


def text_update(
    user_id: int, text: str, *, language_code: str = "ko", chat_id: int | None = None
) -> dict[str, Any]:
    """A text message; a leading ``/command`` gets its ``bot_command`` entity like Telegram sends it."""
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        length = len(text.split(maxsplit=1)[0])
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"message": _incoming(user_id, chat_id, language_code, **content)}


def callback_update(
    user_id: int, data: str, *, language_code: str = "ko", message_id: int | None = None
) -> dict[str, Any]:
    """A button tap; ``message_id``: the bot's message the button was under (as Telegram sends it)."""
    message = _incoming(user_id, None, language_code, text="…")
    if message_id is not None:
        message["message_id"] = message_id
    message["from"] = {"id": BOT_ID, "is_bot": True, "first_name": "VOS", "username": BOT_USERNAME}
    return {
        "callback_query": {
            "id": f"cq{next(_message_ids)}",
            "from": user_json(user_id, language_code=language_code),
            "chat_instance": "ci",
            "message": message,
            "data": data,
        }
    }


def document_update(
    user_id: int,
    file_id: str,
    *,
    file_name: str,
    file_size: int,
    mime_type: str = "text/plain",
    caption: str = "",
    language_code: str = "ko",
) -> dict[str, Any]:
    document = {
        "file_id": file_id,
        "file_unique_id": f"u{file_id}",
        "file_name": file_name,
        "mime_type": mime_type,
        "file_size": file_size,
    }
    content: dict[str, Any] = {"document": document}
    if caption:
        content["caption"] = caption
    return {"message": _incoming(user_id, None, language_code, **content)}


def voice_update(
    user_id: int, file_id: str, *, file_size: int, duration: int = 2, language_code: str = "ko"
) -> dict[str, Any]:
    voice = {
        "file_id": file_id,
        "file_unique_id": f"u{file_id}",
        "duration": duration,
        "mime_type": "audio/ogg",
        "file_size": file_size,
    }
    return {"message": _incoming(user_id, None, language_code, voice=voice)}


def member_update(user_id: int, status: str, *, old_status: str = "member") -> dict[str, Any]:
    """``my_chat_member``: the user blocked (``kicked``) or unblocked (``member``) the bot."""
    bot = {"id": BOT_ID, "is_bot": True, "first_name": "VOS", "username": BOT_USERNAME}
    return {
        "my_chat_member": {
            "chat": {"id": user_id, "type": "private", "first_name": "민수"},
            "from": user_json(user_id),
            "date": int(time.time()),
            "old_chat_member": _member(bot, old_status),
            "new_chat_member": _member(bot, status),
        }
    }


def _member(user: dict[str, Any], status: str) -> dict[str, Any]:
    return {"user": user, "status": status, **({"until_date": 0} if status == "kicked" else {})}
