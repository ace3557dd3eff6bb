"""Discord without a network: real discord.py objects built from raw payload dicts, HTTP recorded.

The one seam patched is discord.py's HTTP: ``AsyncWebhookAdapter.request`` (interaction callbacks,
follow-ups, edits of the original response) and ``HTTPClient.request`` / ``get_from_cdn`` (DMs, channel
messages, attachment downloads). Each call is recorded and answered with a plausible payload.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from discord.http import HTTPClient, Route
from discord.webhook.async_ import AsyncWebhookAdapter

from core.domain.actions import Action
from core.domain.events import Event

APP_ID = 900_000_000_000_000_001
BOT_ID = 900_000_000_000_000_002
GUILD_ID = 700_000_000_000_000_001
TEXT_CHANNEL_ID = 700_000_000_000_000_010
VOICE_CHANNEL_ID = 700_000_000_000_000_020
ALICE = 500_000_000_000_000_001
BOB = 500_000_000_000_000_002
_ids = itertools.count(800_000_000_000_000_000)


def snowflake() -> int:
    """A fresh id."""
    return next(_ids)


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    """A user object."""
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
    }


def member_payload(user_id: int, name: str) -> dict[str, Any]:
    """A guild member object."""
    return {
        "user": user_payload(user_id, name),
        "roles": [],
        "joined_at": "2026-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "permissions": "0",
    }


def message_payload(
    message_id: int,
    channel_id: int,
    content: str,
    *,
    author: dict[str, Any] | None = None,
    flags: int = 0,
    components: list[Any] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A message object."""
    return {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "author": author or user_payload(BOT_ID, "VOS", bot=True),
        "content": content,
        "timestamp": "2026-01-01T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments or [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": flags,
        "components": components or [],
    }


@dataclass(slots=True)
class Call:
    """One recorded HTTP request."""

    method: str
    path: str
    payload: dict[str, Any]
    files: list[tuple[str, bytes]]
    params: dict[str, Any] = field(default_factory=dict)
    payload_list: list[Any] = field(default_factory=list)

    @property
    def content(self) -> str:
        """The message text of a send or edit (also inside an interaction callback)."""
        data = self.payload.get("data", self.payload) or {}
        return str(data.get("content") or "")

    @property
    def components(self) -> list[dict[str, Any]]:
        """Flattened components (buttons, selects) of the message."""
        data = self.payload.get("data", self.payload) or {}
        out = []
        for row in data.get("components") or []:
            out.extend(row.get("components", [row]))
        return out

    @property
    def flags(self) -> int:
        data = self.payload.get("data", self.payload) or {}
        return int(data.get("flags") or 0)


class FakeDiscordHttp:
    """Records discord.py's HTTP calls and answers them; ``cdn`` maps attachment URLs to bytes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[Call] = []
        self.cdn: dict[str, bytes] = {}
        self.dm_closed = False
        self.dm_ids: set[str] = set()
        http = self

        async def webhook_request(_adapter: Any, route: Route, session: Any = None, **kw: Any) -> Any:
            return http._answer(route, kw)

        async def http_request(_client: Any, route: Route, **kw: Any) -> Any:
            return http._answer(route, kw)

        async def get_from_cdn(_client: Any, url: str) -> bytes:
            return http.cdn[url]

        monkeypatch.setattr(AsyncWebhookAdapter, "request", webhook_request)
        monkeypatch.setattr(HTTPClient, "request", http_request)
        monkeypatch.setattr(HTTPClient, "get_from_cdn", get_from_cdn)

    def _record(self, route: Route, kw: dict[str, Any]) -> Call:
        payload = kw.get("payload") or kw.get("json") or {}
        payload_list: list[Any] = []
        if isinstance(payload, list):
            payload, payload_list = {}, payload
        for part in kw.get("multipart") or kw.get("form") or []:
            if part.get("name") == "payload_json":
                payload = json.loads(part["value"])
        files = []
        for file in kw.get("files") or []:
            file.fp.seek(0)
            files.append((file.filename, file.fp.read()))
        path = route.url.removeprefix(Route.BASE)
        call = Call(
            method=route.method,
            path=path,
            payload=payload,
            files=files,
            params=kw.get("params") or {},
            payload_list=payload_list,
        )
        self.calls.append(call)
        return call

    def _answer(self, route: Route, kw: dict[str, Any]) -> Any:
        call = self._record(route, kw)
        path, method = call.path, call.method
        if path.endswith("/callback"):
            data = call.payload.get("data") or {}
            return {
                "interaction": {
                    "id": path.split("/")[2],
                    "type": 2,
                    "response_message_loading": call.payload.get("type") == 5,
                    "response_message_ephemeral": bool(int(data.get("flags") or 0) & 64),
                },
                "resource": {"type": call.payload.get("type")},
            }
        if method == "DELETE":
            return None
        if method == "PUT" and path.endswith("/commands"):
            return [
                {
                    "description": "",
                    **c,
                    "id": str(snowflake()),
                    "application_id": str(APP_ID),
                    "version": "1",
                }
                for c in call.payload_list
            ]
        if path == "/users/@me/channels":
            recipient = call.payload.get("recipient_id")
            dm_id = str(snowflake())
            self.dm_ids.add(dm_id)
            return {
                "id": dm_id,
                "type": 1,
                "recipients": [user_payload(int(recipient), "u")],
                "last_message_id": None,
            }
        if self.dm_closed and path.startswith("/channels/") and path.split("/")[2] in self.dm_ids:
            raise _forbidden()  # 50007: the user does not accept DMs from server members
        if method in {"POST", "PATCH"} and ("/messages" in path or path.startswith("/webhooks/")):
            channel_id = path.split("/")[2] if path.startswith("/channels/") else TEXT_CHANNEL_ID
            attachments = [
                {
                    "id": str(snowflake()),
                    "filename": name,
                    "size": len(data),
                    "url": f"https://cdn/{name}",
                    "proxy_url": "",
                }
                for name, data in call.files
            ]
            return message_payload(
                snowflake(),
                int(channel_id),
                call.content,
                flags=call.flags,
                components=call.payload.get("components"),
                attachments=attachments,
            )
        return {}

    # --- queries ------------------------------------------------------------------------------

    def callbacks(self) -> list[Call]:
        """Interaction callbacks (type 5 = deferred with "thinking", 4 = message, 9 = modal)."""
        return [c for c in self.calls if c.path.endswith("/callback")]

    def messages(self) -> list[Call]:
        """Every message VOS showed: original-response edits, follow-ups, channel messages, callbacks with text."""
        return [
            c
            for c in self.calls
            if c.method in {"POST", "PATCH"}
            and (
                c.path.startswith("/webhooks/")
                or c.path.endswith("/messages")
                or (c.path.endswith("/callback") and c.content)
            )
        ]

    def texts(self) -> list[str]:
        """The text of every shown message, in order."""
        return [c.content for c in self.messages() if c.content]


def _forbidden() -> discord.Forbidden:
    class _Response:
        status = 403
        reason = "Forbidden"

    return discord.Forbidden(_Response(), {"code": 50007, "message": "Cannot send messages to this user"})  # type: ignore[arg-type]


class ScriptedEngine:
    """An engine fake: records events (and how many HTTP calls had happened) and yields scripted actions."""

    def __init__(self, http: FakeDiscordHttp, replies: dict[str, list[Action]] | None = None) -> None:
        self.http = http
        self.replies = replies or {}
        self.events: list[Event] = []
        self.calls_before: list[int] = []

    async def handle(self, event: Event) -> AsyncIterator[Action]:
        self.events.append(event)
        self.calls_before.append(len(self.http.calls))
        key = getattr(event, "command", None) or getattr(event, "key", None) or type(event).__name__
        for action in self.replies.get(key, []):
            yield action


class MemoryOptOuts:
    """The opt-out register in memory (the adapter's port); ``forgotten`` records speaker deletions."""

    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()
        self.forgotten: list[tuple[str, tuple[str, ...]]] = []
        self.loaded = False

    async def load(self) -> None:
        self.loaded = True

    def is_opted_out(self, guild_id: str, user_id: str) -> bool:
        return (guild_id, user_id) in self.pairs

    async def opt_out(self, guild_id: str, user_id: str, names: Sequence[str] = ()) -> int:
        self.pairs.add((guild_id, user_id))
        return await self.forget_speakers(guild_id, names)

    async def opt_in(self, guild_id: str, user_id: str) -> None:
        self.pairs.discard((guild_id, user_id))

    async def forget_speakers(self, guild_id: str, names: Sequence[str]) -> int:
        if names:
            self.forgotten.append((guild_id, tuple(names)))
        return 0


# --- interactions ---------------------------------------------------------------------------------


def make_client() -> discord.Client:
    """A client that never connects, with the bot user set."""
    from adapters.discord.adapter import intents

    client = discord.Client(intents=intents())
    state = client._connection
    state.user = discord.ClientUser(state=state, data=user_payload(BOT_ID, "VOS", bot=True))  # type: ignore[arg-type]
    state.application_id = APP_ID
    return client


def _base(
    kind: int,
    data: dict[str, Any],
    *,
    user_id: int,
    name: str,
    locale: str,
    guild: bool,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(snowflake()),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"interaction-token-{snowflake()}",
        "version": 1,
        "locale": locale,
        "data": data,
        "app_permissions": "0",
        "attachment_size_limit": 10 * 1024 * 1024,
        "entitlements": [],
        "authorizing_integration_owners": {},
    }
    if guild:
        channel = {
            "id": str(TEXT_CHANNEL_ID),
            "type": 0,
            "name": "general",
            "guild_id": str(GUILD_ID),
            "position": 0,
            "permission_overwrites": [],
        }
        payload |= {
            "guild_id": str(GUILD_ID),
            "channel_id": str(TEXT_CHANNEL_ID),
            "channel": channel,
            "member": member_payload(user_id, name),
            "context": 0,
        }
        payload["guild_locale"] = "ko"
    else:
        dm = {"id": str(snowflake()), "type": 1, "recipients": [user_payload(user_id, name)]}
        payload |= {"channel_id": dm["id"], "channel": dm, "user": user_payload(user_id, name), "context": 1}
    if message is not None:
        payload["message"] = message
    return payload


def interaction(client: discord.Client, payload: dict[str, Any]) -> discord.Interaction:
    """A real ``discord.Interaction`` from a payload."""
    return discord.Interaction(data=payload, state=client._connection)  # type: ignore[arg-type]


def slash(
    client: discord.Client,
    path: str,
    options: dict[str, Any] | None = None,
    *,
    user_id: int = ALICE,
    name: str = "alice",
    locale: str = "ko",
    guild: bool = True,
    attachments: dict[str, dict[str, Any]] | None = None,
) -> discord.Interaction:
    """``/group sub opt=value`` as an APPLICATION_COMMAND interaction (names are the default English ones)."""
    parts = path.split()
    leaf: list[dict[str, Any]] = [
        {
            "type": 11 if attachments and name_ in {"export", "file", "recording"} else 3,
            "name": name_,
            "value": value,
        }
        for name_, value in (options or {}).items()
    ]
    options_payload = leaf
    for part in reversed(parts[1:]):
        options_payload = [{"type": 1, "name": part, "options": options_payload}]
    data: dict[str, Any] = {"id": str(snowflake()), "name": parts[0], "type": 1, "options": options_payload}
    if attachments:
        data["resolved"] = {"attachments": attachments}
    return interaction(client, _base(2, data, user_id=user_id, name=name, locale=locale, guild=guild))


def attachment_payload(
    attachment_id: str, filename: str, data: bytes, content_type: str = "text/plain"
) -> dict[str, Any]:
    """A resolved attachment."""
    url = f"https://cdn.discordapp.com/attachments/1/{attachment_id}/{filename}"
    return {
        "id": attachment_id,
        "filename": filename,
        "size": len(data),
        "url": url,
        "proxy_url": url,
        "content_type": content_type,
    }


def click(
    client: discord.Client,
    custom_id: str,
    *,
    values: list[str] | None = None,
    user_id: int = ALICE,
    locale: str = "ko",
    guild: bool = True,
    ephemeral: bool = True,
) -> discord.Interaction:
    """A button click (or a select pick when ``values`` is given) on an earlier VOS message."""
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": 3 if values is not None else 2}
    if values is not None:
        data["values"] = values
    message = message_payload(snowflake(), TEXT_CHANNEL_ID, "…", flags=64 if ephemeral else 0)
    return interaction(
        client, _base(3, data, user_id=user_id, name="alice", locale=locale, guild=guild, message=message)
    )


def modal_submit(
    client: discord.Client, text: str, *, user_id: int = ALICE, locale: str = "ko", guild: bool = True
) -> discord.Interaction:
    """The answer modal submitted with ``text``."""
    data = {
        "custom_id": "vos:m",
        "components": [{"type": 1, "components": [{"type": 4, "custom_id": "answer", "value": text}]}],
    }
    return interaction(client, _base(5, data, user_id=user_id, name="alice", locale=locale, guild=guild))


def message_menu(
    client: discord.Client,
    target: dict[str, Any],
    *,
    user_id: int = ALICE,
    locale: str = "ko",
    guild: bool = False,
) -> discord.Interaction:
    """The "Listen in voice" message context menu on ``target``."""
    data = {
        "id": str(snowflake()),
        "name": "Listen in voice",
        "type": 3,
        "target_id": target["id"],
        "resolved": {"messages": {target["id"]: target}},
    }
    return interaction(client, _base(2, data, user_id=user_id, name="alice", locale=locale, guild=guild))
